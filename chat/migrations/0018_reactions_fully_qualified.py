"""Reactions are stored as fully qualified emoji (chat.services.messages.normal_emoji):
"❤" and "❤️" were two reactions. Rows stored before are rewritten so; a user's two
rows that become one keep the older."""

import emoji as emoji_lib
from django.db import migrations


def normal_emoji(text):
    # As chat.services.messages.normal_emoji (a migration keeps its own copy).
    return emoji_lib.emojize(emoji_lib.demojize(text))


def forwards(apps, schema_editor):
    MessageReaction = apps.get_model("chat", "MessageReaction")
    for reaction in MessageReaction.objects.order_by("id").iterator(chunk_size=1000):
        normal = normal_emoji(reaction.emoji)
        if normal == reaction.emoji:
            continue
        twin = MessageReaction.objects.filter(
            message_id=reaction.message_id, user_id=reaction.user_id, emoji=normal
        )
        if twin.exists():
            reaction.delete()
        else:
            MessageReaction.objects.filter(pk=reaction.pk).update(emoji=normal)


class Migration(migrations.Migration):

    dependencies = [
        ("chat", "0017_queue_updated_names_nobody"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
