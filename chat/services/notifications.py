"""Notification choices of a participant: muting a room's desktop notifications.

A personal setting, not a room event: nothing reaches the room's other sockets,
only the user's own presence sockets (``notifications.updated``), so their other
tabs follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext_lazy

from chat import errors, events, policy, wire
from chat.models import ChatParticipant, ChatRoom

if TYPE_CHECKING:
    from accounts.models import User


@transaction.atomic
def room_notifications_set(*, actor: User, room: ChatRoom, muted: object) -> bool:
    """Mute (or unmute) ``room``'s desktop notifications for ``actor``; returns the new
    choice. Holds a SELECT FOR UPDATE lock on the actor's participant row (as a read
    marker move does), not on the room: no room event is written."""
    if not isinstance(muted, bool):
        raise errors.ValidationFailed(
            gettext_lazy("muted must be true or false."),
            fields={"muted": [gettext_lazy("Must be a boolean.")]},
        )
    participant = (
        ChatParticipant.objects.select_for_update()
        .filter(room=room, user=actor, is_active=True)
        .first()
    )
    if denial := policy.notifications_denial(participant):
        raise denial
    assert participant is not None
    if participant.notifications_muted != muted:
        participant.notifications_muted = muted
        participant.save(update_fields=["notifications_muted"])
        events.publish_to_user(actor.pk, wire.notifications_updated(room.pk, muted))
    return muted
