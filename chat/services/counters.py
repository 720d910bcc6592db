"""Unread counters, kept inside the writing transaction so unread is a subtraction.

A message *counts* when it is neither deleted nor ``system``. Three counters:

- ``ChatRoom.message_count``: the room's counted messages;
- ``ChatParticipant.read_count``: counted messages with ``id <= last_read_message``
  (whoever sent them);
- ``ChatParticipant.own_after_read_count``: the participant's own counted messages
  after the marker.

so a participant's unread count, "counted messages after the marker not sent by
them", is ``message_count - read_count - own_after_read_count``: no query over
history. The services call the hooks below while holding the room's row lock
(the read marker: the participant's row lock). Rows of inactive participants are
kept exact too: only a delete can change them while they are away, and it
adjusts every row of the room, so leaving and joining again need no hook.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import Count, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from chat.compiled import CompiledUpdate
from chat.models import ChatMessage, ChatParticipant, ChatRoom

COUNTED = Q(is_deleted=False) & ~Q(message_type=ChatMessage.MessageType.SYSTEM)
# A read marker move counts the messages after the new marker when there are at
# most this many (the usual case: a reader catching up to the newest message),
# else the messages it passes.
TAIL_PROBE = 1000


def counts(message: ChatMessage) -> bool:
    """Whether ``message`` is part of anyone's unread count (save for its sender)."""
    return not message.is_deleted and message.message_type != ChatMessage.MessageType.SYSTEM


def message_added(message: ChatMessage) -> None:
    """After inserting ``message`` under its room's lock."""
    if not counts(message):
        return
    ChatRoom.objects.filter(pk=message.room_id).update(message_count=F("message_count") + 1)
    # Ids grow within a room under its lock, so the message is after the sender's marker.
    ChatParticipant.objects.filter(room_id=message.room_id, user_id=message.sender_id).update(
        own_after_read_count=F("own_after_read_count") + 1
    )


def messages_added(
    room_id: int, messages: Iterable[ChatMessage], *, room_row_updated: bool = False
) -> int:
    """After inserting several messages of one room under its lock (one query
    for the room and one per sender, whatever their number). Returns how many
    count; with ``room_row_updated`` the caller adds that to the room's
    ``message_count`` in its own update of the room row."""
    senders: dict[int, int] = {}
    for message in messages:
        if counts(message):
            senders[message.sender_id] = senders.get(message.sender_id, 0) + 1
    added = sum(senders.values())
    if added and not room_row_updated:
        ChatRoom.objects.filter(pk=room_id).update(message_count=F("message_count") + added)
    for sender_id, count in sorted(senders.items()):
        _OWN_AFTER_READ_ADDED.run(room_id=room_id, user_id=sender_id, count=count)
    return added


# Compiled once (see chat.compiled): every send runs it for its sender.
_OWN_AFTER_READ_ADDED = CompiledUpdate(
    lambda room_id, user_id, count: ChatParticipant.objects.filter(
        room_id=room_id, user_id=user_id
    ),
    lambda room_id, user_id, count: {"own_after_read_count": F("own_after_read_count") + count},
    ("room_id", "user_id", "count"),
)


def message_deleted(message: ChatMessage) -> None:
    """Before soft-deleting ``message`` (as loaded under its room's lock)."""
    if not counts(message):
        return
    room_id = message.room_id
    ChatRoom.objects.filter(pk=room_id).update(message_count=F("message_count") - 1)
    # Wait for read markers moving right now, so the updates below see where they land.
    list(ChatParticipant.objects.select_for_update().filter(room_id=room_id).values_list("pk"))
    ChatParticipant.objects.filter(room_id=room_id, last_read_message_id__gte=message.pk).update(
        read_count=F("read_count") - 1
    )
    ChatParticipant.objects.filter(room_id=room_id, user_id=message.sender_id).filter(
        Q(last_read_message__isnull=True) | Q(last_read_message_id__lt=message.pk)
    ).update(own_after_read_count=F("own_after_read_count") - 1)


def read_marker_moved(participant: ChatParticipant, message_id: int) -> None:
    """Move ``participant``'s marker forward to ``message_id`` (a message of its room)
    and save it with its counters. Call with the participant's row locked."""
    before = participant.last_read_message_id or 0
    if message_id <= before:
        return
    total, rows, counted, own = _tail(participant, message_id)
    if rows <= TAIL_PROBE:
        participant.read_count = total - counted
        participant.own_after_read_count = own
    else:
        passed = ChatMessage.objects.filter(
            room_id=participant.room_id, id__gt=before, id__lte=message_id
        ).aggregate(
            counted=Count("pk", filter=COUNTED),
            own=Count("pk", filter=COUNTED & Q(sender_id=participant.user_id)),
        )
        participant.read_count += passed["counted"]
        participant.own_after_read_count -= passed["own"]
    participant.last_read_message_id = message_id
    participant.save(update_fields=["last_read_message", "read_count", "own_after_read_count"])


def _tail(participant: ChatParticipant, after: int) -> tuple[int, int, int, int]:
    """The room's count and, over at most TAIL_PROBE + 1 messages after ``after``:
    how many there are, how many count, how many of those are the participant's.
    One statement, so the room's count and the messages agree."""
    room, message = ChatRoom._meta.db_table, ChatMessage._meta.db_table
    sql = (
        f"SELECT (SELECT message_count FROM {room} WHERE id = %s), COUNT(*),"
        " COALESCE(SUM(counted), 0),"
        " COALESCE(SUM(CASE WHEN sender_id = %s THEN counted ELSE 0 END), 0)"
        " FROM (SELECT sender_id, CASE WHEN is_deleted OR message_type = %s THEN 0 ELSE 1 END"
        f" AS counted FROM {message} WHERE room_id BETWEEN %s AND %s AND id > %s"
        " ORDER BY room_id, id LIMIT %s) AS tail"  # the (room, id) index: see selectors.KEYSET_UP
    )
    params: list[int | str] = [
        participant.room_id,
        participant.user_id,
        ChatMessage.MessageType.SYSTEM.value,
        participant.room_id,
        participant.room_id,
        after,
        TAIL_PROBE + 1,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        total, rows, counted, own = cursor.fetchone()
    return int(total), int(rows), int(counted), int(own)


def accounted_expression() -> Any:
    """For a ChatParticipant queryset: the counted messages the participant need
    not read (read, or their own after the marker). Unread is the room's
    ``message_count`` minus this, in every query that shows an unread count."""
    return F("read_count") + F("own_after_read_count")


def unread_expression() -> Any:
    """``unread_count`` for a ChatParticipant queryset."""
    return F("room__message_count") - accounted_expression()


def moves_unread(
    viewer_id: int, last_read_id: int, *, sender_id: int | None, message_type: str, message_id: int
) -> bool:
    """Whether a message created or deleted moves ``viewer_id``'s unread count:
    the rule of ``counts`` and the read marker, for a socket that follows the
    count live from MESSAGE payloads."""
    return (
        sender_id != viewer_id
        and message_type != ChatMessage.MessageType.SYSTEM
        and message_id > last_read_id
    )


def recount(room_ids: Iterable[int] | None = None) -> None:
    """Recompute the counters from the messages (after bulk loads or hard deletes)."""
    rooms = ChatRoom.objects.all()
    participants = ChatParticipant.objects.all()
    if room_ids is not None:
        ids = list(room_ids)
        rooms = rooms.filter(pk__in=ids)
        participants = participants.filter(room_id__in=ids)
    counted = ChatMessage.objects.filter(COUNTED).order_by()

    def number(messages: Any) -> Any:
        return Coalesce(
            Subquery(messages.values("room_id").annotate(n=Count("pk")).values("n")[:1]),
            Value(0),
        )

    rooms.update(message_count=number(counted.filter(room_id=OuterRef("pk"))))
    marker = Coalesce(OuterRef("last_read_message_id"), Value(0))
    participants.update(
        read_count=number(counted.filter(room_id=OuterRef("room_id"), id__lte=marker)),
        own_after_read_count=number(
            counted.filter(
                room_id=OuterRef("room_id"), sender_id=OuterRef("user_id"), id__gt=marker
            )
        ),
    )


def remember_rooms_of_user(sender: Any, instance: Any, **kwargs: Any) -> None:
    """``pre_delete`` of a user: note the rooms their messages are about to leave."""
    rooms = ChatMessage.objects.filter(sender=instance).values_list("room_id", flat=True)
    instance._chat_recount_rooms = set(rooms.order_by().distinct())


def recount_rooms_of_user(sender: Any, instance: Any, **kwargs: Any) -> None:
    """``post_delete`` of a user, in the same transaction: their messages went with
    them (a hard delete), so recount the rooms they were in."""
    room_ids = getattr(instance, "_chat_recount_rooms", None)
    if room_ids:
        recount(room_ids)
