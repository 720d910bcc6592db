"""Reading the RoomEvent log for sockets: replay after a reconnect, gap filling, pruning.

The log is the source of truth for live delivery (see chat.events): a socket
that missed events, for any reason, reads them back here by ``seq``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from chat import events
from chat.models import ChatMessage, RoomEvent
from chat.wire import RESYNC_REQUIRED, Frame, message_payload, room_event

REPLAY_BATCH = 500


def events_after(
    room_id: int, after_seq: int, *, upto: int | None = None, limit: int = REPLAY_BATCH
) -> list[tuple[int, str]]:
    """Up to ``limit`` events of the room with ``after_seq < seq <= upto``, in seq
    order, each as ``(seq, frame text)``."""
    rows = RoomEvent.objects.filter(room_id=room_id, seq__gt=after_seq)
    if upto is not None:
        rows = rows.filter(seq__lte=upto)
    return [
        (seq, events.encode(payload))
        for seq, payload in rows.order_by("seq").values_list("seq", "payload")[:limit]
    ]


def retention_cutoff(now: datetime | None = None) -> datetime:
    hours = getattr(settings, "CHAT_EVENT_RETENTION_HOURS", 72)
    return (now or timezone.now()) - timedelta(hours=hours)


def repeat_acknowledgement(message: ChatMessage) -> str:
    """The ``message.created`` frame of an already stored message, at its original
    seq and with the message as it is now; ``resync.required`` once its event was
    pruned (the seq is gone with it: the client reloads, and finds the message)."""
    seq = (
        RoomEvent.objects.filter(
            room_id=message.room_id, type=Frame.MESSAGE_CREATED, payload__message__id=message.pk
        )
        .values_list("seq", flat=True)
        .first()
    )
    if seq is None:
        return RESYNC_REQUIRED
    return events.encode(
        room_event(
            Frame.MESSAGE_CREATED, message.room_id, seq, {"message": message_payload(message)}
        )
    )
