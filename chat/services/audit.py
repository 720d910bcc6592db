"""The moderation audit log: every moderation action, by whom, when, through which channel.

Moderation services call ``record`` inside their transaction, so an action that
rolls back leaves no entry. The channel (REST, socket, admin) is not a service
argument: the REST viewsets, the socket consumers and the admin set it around
their service calls with ``via(...)``; anything else (management commands,
enrolment sync) is ``system``. Entries live in their own table
(``AuditEntry``), untouched by the pruning of the RoomEvent log.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from chat.models import AuditEntry, ChatMessage, ChatRoom

if TYPE_CHECKING:
    from accounts.models import User

Via = AuditEntry.Via


class Action(StrEnum):
    """Every kind of moderation action the log knows."""

    MUTE = "mute"
    UNMUTE = "unmute"
    ROLE_CHANGE = "role_change"
    REMOVE = "remove"
    BAN = "ban"
    UNBAN = "unban"
    ROOM_UPDATE = "room_update"
    ARCHIVE = "archive"
    HIDE = "hide"
    ENDORSE = "endorse"
    UNENDORSE = "unendorse"
    PIN = "pin"
    UNPIN = "unpin"
    REPORT_RESOLVE = "report_resolve"


_channel: ContextVar[str] = ContextVar("chat_audit_channel", default=Via.SYSTEM)


@contextmanager
def via(channel: str) -> Iterator[None]:
    """Record the actions of this block as made through ``channel`` (``Via``)."""
    token = _channel.set(Via(channel))
    try:
        yield
    finally:
        _channel.reset(token)


def current_channel() -> str:
    return _channel.get()


def record(
    actor: User,
    room: ChatRoom,
    action: str,
    *,
    target_user: User | None = None,
    message: ChatMessage | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit entry: ``actor`` did ``action`` (an ``Action``) in ``room``.

    Call it from the moderation service, inside its transaction (after the
    policy check, with the room row locked), once per action that changed
    something. ``target_user`` is the person acted upon (muted, removed,
    banned, the author of a hidden or endorsed message), ``message`` the message
    acted upon, ``details`` a small JSON object of what changed (e.g.
    ``{"changes": {"role": "moderator"}}`` or ``{"reason": "spam"}``). The channel
    comes from ``via``. The entry is never published: moderators read it with
    ``GET /chat/rooms/{id}/audit/`` and in the admin.
    """
    return AuditEntry.objects.create(
        room=room,
        actor=actor,
        action=Action(action),
        target_user=target_user,
        message=message,
        details=details or {},
        via=_channel.get(),
    )
