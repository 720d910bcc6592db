"""Event envelopes, group names, and publishing after commit. The only caller of group_send.

Channel-layer messages carry the event already encoded as JSON text, so every
socket forwards the same bytes without re-encoding (see docs/ARCHITECTURE.md):

- ``{"type": "room.event", "room_id", "seq", "text"}`` on ``room.<id>``: a persisted
  RoomEvent (seq'd, replayable).
- ``{"type": "room.ephemeral", "room_id", "text"}`` on ``room.<id>``: typing, presence.
- ``{"type": "user.event", "text"}`` on ``user.<id>``: mention notifications, unread counts.
- ``{"type": "user.control", "action", "room_id"}`` on ``user.<id>``: ``room.revoked``
  (close that room's sockets with 4403) and ``rooms.changed`` (re-read memberships).

Inside a server process the services publish through the process hub
(chat.consumers.hub): the event reaches this process's sockets at once and the
channel layer carries it to the others. Elsewhere (management commands, tests
without a running socket loop) ``send`` hands it to the channel layer directly.
The channel layer is best effort; sockets recover anything it drops from the
RoomEvent log by ``seq``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import F, Q

from academia import metrics
from chat.compiled import CompiledUpdate, insert_new
from chat.models import ChatRoom, RoomEvent
from chat.wire import Frame, room_event

logger = logging.getLogger(__name__)


def room_group(room_id: int) -> str:
    return f"room.{room_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def encode(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload).decode()


USER_SHARDS = 64


def for_layer(group: str, message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The group and message as the channel layer carries them. A user's messages
    travel on one of USER_SHARDS shared groups and name their user: a process
    subscribes to a handful of groups, not one per user it serves (each
    subscription costs memory in the layer), and hands them to that user's
    sockets."""
    if group.startswith("user."):
        user_id = int(group.removeprefix("user."))
        return user_shard_group(user_id), {**message, "user_id": user_id}
    return group, message


def user_shard_group(user_id: int) -> str:
    return f"users.{user_id % USER_SHARDS}"


def send(group: str, message: dict[str, Any]) -> None:
    """Send one message to one group, now. Failures are logged, never raised:
    the change is already committed and clients recover it through replay."""
    from chat.consumers.hub import running_hub

    hub = running_hub()
    if hub is not None:
        hub.publish_threadsafe(group, message)
        return
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(*for_layer(group, message))
    except Exception:
        metrics.broadcast_failed("layer")
        logger.warning(
            "group_send to %s failed; clients will recover by replay", group, exc_info=True
        )


def on_commit(callback: Callable[[], None]) -> None:
    transaction.on_commit(callback, robust=True)


# Compiled once (see chat.compiled): every write moves the room's ``last_seq``.
_ROOM_SEQ = CompiledUpdate(
    lambda room_id, last_seq: ChatRoom.objects.filter(pk=room_id),
    lambda room_id, last_seq: {"last_seq": last_seq},
    ("room_id", "last_seq"),
)
_ROOM_SEQ_AND_COUNT = CompiledUpdate(
    lambda room_id, last_seq, added: ChatRoom.objects.filter(pk=room_id),
    lambda room_id, last_seq, added: {
        "last_seq": last_seq,
        "message_count": F("message_count") + added,
    },
    ("room_id", "last_seq", "added"),
)


# Events that change a message: the room's earlier events of that message are
# restated with it as it is now (``restate_message``).
RESTATING = frozenset({Frame.MESSAGE_UPDATED, Frame.MESSAGE_DELETED})
CARRYING = (Frame.MESSAGE_CREATED, Frame.MESSAGE_UPDATED)  # {"message": MESSAGE}


def restate_message(room_id: int, message: dict[str, Any]) -> None:
    """Earlier events of the room that carry ``message`` (its creation, earlier
    updates, its pin) carry it as it is now: a replay (``after_seq``) never shows
    text its author edited away or a deleted message's content and file. The feeds
    of every process do the same to the events they keep (``RoomFeed.remember``)."""
    message_id = message["id"]
    rows = list(
        RoomEvent.objects.filter(room_id=room_id)
        .filter(
            Q(type__in=CARRYING, payload__message__id=message_id)
            | Q(type=Frame.MESSAGE_PINNED, payload__pin__message__id=message_id)
        )
        .only("pk", "type", "payload")
    )
    for row in rows:
        restated_frame(row.payload, message)
    if rows:
        RoomEvent.objects.bulk_update(rows, ["payload"])


def restated_frame(frame: dict[str, Any], message: dict[str, Any]) -> bool:
    """Put ``message`` in ``frame`` (an event of the same message) in place; False
    if the frame carries no such message."""
    if frame["type"] in CARRYING and frame["message"]["id"] == message["id"]:
        frame["message"] = message
    elif frame["type"] == Frame.MESSAGE_PINNED and frame["pin"]["message"]["id"] == message["id"]:
        frame["pin"] = {**frame["pin"], "message": message}
    else:
        return False
    return True


def append_room_event(room: ChatRoom, event_type: Frame, body: dict[str, Any]) -> RoomEvent:
    """Append the next event of ``room`` to its log and publish it after commit.

    Must be called inside the service's transaction while holding the room's row
    lock (``selectors.lock_room``): it takes ``seq = last_seq + 1``.
    """
    return append_room_events(room, [(event_type, body)])[0]


def append_room_events(
    room: ChatRoom,
    items: list[tuple[Frame, dict[str, Any]]],
    *,
    messages_added: int = 0,
) -> list[RoomEvent]:
    """Several events of ``room`` at once, in order (one insert and one update of
    the room row, which also adds ``messages_added`` to its ``message_count``),
    published in that order after commit. Same lock rule as ``append_room_event``."""
    rows = []
    messages = []
    for event_type, body in items:
        if event_type in RESTATING:
            restate_message(room.pk, body["message"])
        room.last_seq += 1
        payload = room_event(event_type, room.pk, room.last_seq, body)
        rows.append(RoomEvent(room=room, seq=room.last_seq, type=event_type, payload=payload))
        messages.append(
            {
                "type": "room.event",
                "room_id": room.pk,
                "seq": room.last_seq,
                "text": encode(payload),
            }
        )
    if messages_added:
        _ROOM_SEQ_AND_COUNT.run(room_id=room.pk, last_seq=room.last_seq, added=messages_added)
    else:
        _ROOM_SEQ.run(room_id=room.pk, last_seq=room.last_seq)
    created = insert_new(rows)
    group = room_group(room.pk)

    def publish() -> None:
        for message in messages:
            send(group, message)

    on_commit(publish)
    return created


def publish_room_ephemeral(room_id: int, payload: dict[str, Any]) -> None:
    """Typing and presence frames for a room's sockets: not persisted, never replayed."""
    message = {"type": "room.ephemeral", "room_id": room_id, "text": encode(payload)}
    on_commit(lambda: send(room_group(room_id), message))


def publish_to_user(user_id: int, payload: dict[str, Any]) -> None:
    """A frame for one user's presence sockets (notification, unread)."""
    message = {"type": "user.event", "text": encode(payload)}
    on_commit(lambda: send(user_group(user_id), message))


def publish_user_language(user_id: int, language: str) -> None:
    """Tell every socket of a user that their language setting changed ('' for the
    browser's): their error frames speak it from now on."""
    message = {"type": "user.control", "action": "language.changed", "language": language}
    on_commit(lambda: send(user_group(user_id), message))


def publish_user_control(user_id: int, action: str, room_id: int) -> None:
    """Tell every socket of a user that their access to a room changed."""
    message = {"type": "user.control", "action": action, "room_id": room_id}
    on_commit(lambda: send(user_group(user_id), message))
