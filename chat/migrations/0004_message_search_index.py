"""A GIN index for message search, on PostgreSQL only (SQLite searches by substring).

The expression is the one chat.selectors.message_search filters on, character
for character, so the planner can use it.
"""

from django.db import migrations

INDEX = "message_content_search"
CREATE = (
    f"CREATE INDEX IF NOT EXISTS {INDEX} ON chat_chatmessage "
    "USING gin (to_tsvector('simple'::regconfig, COALESCE(content, '')))"
)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("chat", "0003_unread_counters"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
    ]
