"""Event envelopes, group names, and publishing after commit. The only caller of group_send.

Channel-layer messages carry the event already encoded as JSON text, so every
socket forwards the same bytes without re-encoding (see docs/ARCHITECTURE.md):

- ``{"type": "room.event", "room_id", "seq", "text"}`` on ``room.<id>``: a persisted
  RoomEvent (seq'd, replayable).
- ``{"type": "room.ephemeral", "room_id", "text"}`` on ``room.<id>``: typing, presence.
- ``{"type": "user.event", "text"}`` on ``user.<id>``: mention notifications, unread counts.
- ``{"type": "user.control", "action", "room_id"}`` on ``user.<id>``: ``room.revoked``
  (close that room's sockets with 4403) and ``rooms.changed`` (re-read memberships).

The channel layer is best effort; consumers recover anything it drops from the
RoomEvent log by ``seq``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import orjson
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from chat.models import ChatRoom, RoomEvent

logger = logging.getLogger(__name__)
_failures = threading.local()


def room_group(room_id: int) -> str:
    return f"room.{room_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def encode(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload).decode()


def failed_sends() -> int:
    """How many group sends have failed in the calling thread so far.

    A consumer compares the count before and after a service call to learn that
    the event it caused was not broadcast, and then serves it from the log.
    """
    return getattr(_failures, "count", 0)


def send(group: str, message: dict[str, Any]) -> None:
    """Send one message to one group, now. Failures are logged, never raised:
    the change is already committed and clients recover it through replay."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        _failures.count = failed_sends() + 1
        logger.warning(
            "group_send to %s failed; clients will recover by replay", group, exc_info=True
        )


def on_commit(callback: Callable[[], None]) -> None:
    transaction.on_commit(callback, robust=True)


def append_room_event(room: ChatRoom, event_type: str, body: dict[str, Any]) -> RoomEvent:
    """Append the next event of ``room`` to its log and publish it after commit.

    Must be called inside the service's transaction while holding the room's row
    lock (``selectors.lock_room``): it takes ``seq = last_seq + 1``.
    """
    room.last_seq += 1
    ChatRoom.objects.filter(pk=room.pk).update(last_seq=room.last_seq)
    payload = {"type": event_type, "room_id": room.pk, "seq": room.last_seq, **body}
    event = RoomEvent.objects.create(room=room, seq=room.last_seq, type=event_type, payload=payload)
    message = {
        "type": "room.event",
        "room_id": room.pk,
        "seq": room.last_seq,
        "text": encode(payload),
    }
    on_commit(lambda: send(room_group(room.pk), message))
    return event


def publish_room_ephemeral(room_id: int, payload: dict[str, Any]) -> None:
    """Typing and presence frames for a room's sockets: not persisted, never replayed."""
    message = {"type": "room.ephemeral", "room_id": room_id, "text": encode(payload)}
    on_commit(lambda: send(room_group(room_id), message))


def publish_to_user(user_id: int, payload: dict[str, Any]) -> None:
    """A frame for one user's presence sockets (notification, unread)."""
    message = {"type": "user.event", "text": encode(payload)}
    on_commit(lambda: send(user_group(user_id), message))


def publish_user_control(user_id: int, action: str, room_id: int) -> None:
    """Tell every socket of a user that their access to a room changed."""
    message = {"type": "user.control", "action": action, "room_id": room_id}
    on_commit(lambda: send(user_group(user_id), message))
