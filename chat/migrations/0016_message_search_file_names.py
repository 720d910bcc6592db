"""Message search finds files by name: the GIN index covers a message's text and
its file's name, whole and split at punctuation, on PostgreSQL only (SQLite searches by
substring). The expression is chat.selectors.SEARCH_DOCUMENT_SQL's, character for
character, so the planner can use it; it is written out here, as a migration
keeps what it did."""

from django.db import migrations

OLD_INDEX = "message_content_search"
OLD_CREATE = (
    f"CREATE INDEX IF NOT EXISTS {OLD_INDEX} ON chat_chatmessage "
    "USING gin (to_tsvector('simple'::regconfig, COALESCE(content, '')))"
)
INDEX = "message_search_document"
CREATE = (
    f"CREATE INDEX IF NOT EXISTS {INDEX} ON chat_chatmessage USING gin "
    "(to_tsvector('simple'::regconfig, COALESCE(content, '') || ' ' || "
    "COALESCE(file_name, '') || ' ' || "
    "regexp_replace(COALESCE(file_name, ''), '[^[:alnum:]]+', ' ', 'g')))"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # Over a big table this takes longer than DATABASE_STATEMENT_TIMEOUT allows a
        # request; for this migration's transaction only.
        schema_editor.execute("SET LOCAL statement_timeout = 0")
        schema_editor.execute(CREATE)
        schema_editor.execute(f"DROP INDEX IF EXISTS {OLD_INDEX}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET LOCAL statement_timeout = 0")
        schema_editor.execute(OLD_CREATE)
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("chat", "0015_offline_email"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
