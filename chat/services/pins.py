"""Pinned messages: the room's staff pin and unpin; the room sees ``message.pinned``
and ``message.unpinned``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext_lazy

from chat import errors, events, limits, policy, selectors
from chat.errors import lazy_interpolate
from chat.models import ChatMessage, ChatRoom, PinnedMessage
from chat.services import audit
from chat.wire import Frame, pin_payload

if TYPE_CHECKING:
    from accounts.models import User


def _pin_target(actor: User, message: ChatMessage) -> ChatRoom:
    """The message's room, locked, once the actor may change its pins. Must be
    called inside the service's transaction."""
    room = selectors.lock_room(message.room_id)
    if not room.is_active:
        raise errors.RoomArchived()
    policy.require_room_staff(actor, room, gettext_lazy("Only the room's staff pin messages."))
    if not ChatMessage.objects.filter(pk=message.pk, is_deleted=False).exists():
        raise errors.NotFound(gettext_lazy("No such message."))
    return room


@transaction.atomic
def message_pin(*, actor: User, message: ChatMessage) -> tuple[PinnedMessage, bool]:
    """Pin ``message`` to its room (room staff: ``policy.is_room_staff``); the pin and
    whether it is new (and published). At most ``limits.PINS_MAX`` per room."""
    room = _pin_target(actor, message)
    existing = PinnedMessage.objects.filter(message_id=message.pk).first()
    if existing is not None:
        return selectors.pin_load(existing.pk), False
    if PinnedMessage.objects.filter(room=room).count() >= limits.PINS_MAX:
        raise errors.ValidationFailed(
            lazy_interpolate(
                gettext_lazy("A room keeps at most %(pins_max)s pinned messages; unpin one first."),
                {"pins_max": limits.PINS_MAX},
            ),
            fields={"message_id": [gettext_lazy("Too many pinned messages.")]},
        )
    pin = PinnedMessage.objects.create(message_id=message.pk, room=room, pinned_by=actor)
    pin = selectors.pin_load(pin.pk)
    events.append_room_event(room, Frame.MESSAGE_PINNED, {"pin": pin_payload(pin)})
    audit.record(actor, room, audit.Action.PIN, target_user=message.sender, message=message)
    return pin, True


@transaction.atomic
def message_unpin(*, actor: User, message: ChatMessage) -> bool:
    """Unpin ``message``; True if it was pinned (and the change published)."""
    room = _pin_target(actor, message)
    deleted, _ = PinnedMessage.objects.filter(message_id=message.pk).delete()
    if deleted:
        events.append_room_event(room, Frame.MESSAGE_UNPINNED, {"message_id": message.pk})
        audit.record(actor, room, audit.Action.UNPIN, target_user=message.sender, message=message)
    return bool(deleted)


def pin_dropped(room: ChatRoom, message: ChatMessage) -> None:
    """A pinned message was deleted: its pin goes too. Called by ``message_delete``
    under the room's lock."""
    deleted, _ = PinnedMessage.objects.filter(message_id=message.pk).delete()
    if deleted:
        events.append_room_event(room, Frame.MESSAGE_UNPINNED, {"message_id": message.pk})
