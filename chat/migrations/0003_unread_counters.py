"""Unread counters (chat.services.counters), filled from a recount of the messages."""

from django.db import migrations, models
from django.db.models import Count, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce


def recount(apps, schema_editor):
    """The rule of chat.services.counters, frozen here: a message counts when it is
    neither deleted nor ``system``."""
    ChatRoom = apps.get_model("chat", "ChatRoom")
    ChatParticipant = apps.get_model("chat", "ChatParticipant")
    ChatMessage = apps.get_model("chat", "ChatMessage")
    counted = ChatMessage.objects.filter(Q(is_deleted=False) & ~Q(message_type="system")).order_by()

    def number(messages):
        return Coalesce(
            Subquery(messages.values("room_id").annotate(n=Count("pk")).values("n")[:1]),
            Value(0),
        )

    ChatRoom.objects.update(message_count=number(counted.filter(room_id=OuterRef("pk"))))
    marker = Coalesce(OuterRef("last_read_message_id"), Value(0))
    ChatParticipant.objects.update(
        read_count=number(counted.filter(room_id=OuterRef("room_id"), id__lte=marker)),
        own_after_read_count=number(
            counted.filter(room_id=OuterRef("room_id"), sender_id=OuterRef("user_id"), id__gt=marker)
        ),
    )


class Migration(migrations.Migration):

    dependencies = [
        ("chat", "0002_message_file_preview"),
    ]

    operations = [
        migrations.AddField(
            model_name="chatroom",
            name="message_count",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="chatparticipant",
            name="read_count",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="chatparticipant",
            name="own_after_read_count",
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(recount, migrations.RunPython.noop, elidable=True),
    ]
