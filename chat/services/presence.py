"""Presence and typing: ephemeral, never in the RoomEvent log.

A presence change is sent once to each room group the user is in (not once
per co-member); presence sockets follow the groups of their user's rooms and
drop repeats.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from chat import errors, events, policy, selectors
from chat.models import ChatRoom, UserPresence
from chat.payloads import user_payload

if TYPE_CHECKING:
    from accounts.models import User

TYPING_BROADCAST_INTERVAL = 1.0  # seconds: at most one typing frame per user and room


def presence_get(user: User) -> UserPresence:
    presence, _ = UserPresence.objects.select_related("user").get_or_create(user=user)
    return presence


def presence_frame(presence: UserPresence) -> dict[str, object]:
    return {
        "type": "presence",
        "user": user_payload(presence.user),
        "status": presence.status,
        "last_seen": presence.last_seen.isoformat().replace("+00:00", "Z"),
    }


def publish_presence(presence: UserPresence) -> None:
    frame = presence_frame(presence)
    for room_id in selectors.user_room_ids(presence.user_id):
        events.publish_room_ephemeral(room_id, frame)


@transaction.atomic
def presence_set(*, actor: User, status: object) -> UserPresence:
    """Set the actor's status (online/away/busy/offline) and tell who shares a room."""
    if status not in UserPresence.Status.values:
        raise errors.ValidationFailed(
            "Unknown status.", fields={"status": [f"Choose from {UserPresence.Status.values}."]}
        )
    presence = presence_get(actor)
    changed = presence.status != status
    presence.status = str(status)
    if status == UserPresence.Status.OFFLINE:
        presence.is_typing = False
    presence.save()
    if changed:
        publish_presence(presence)
    return presence


def typing_set(*, actor: User, room: ChatRoom, is_typing: object) -> bool:
    """Record typing and broadcast it, at most once a second per user and room
    (any process: the throttle lives in the cache). Returns True if broadcast."""
    if not isinstance(is_typing, bool):
        raise errors.ValidationFailed("is_typing must be true or false.",
                                      fields={"is_typing": ["Must be a boolean."]})
    denial = policy.post_denial(room, policy.participant_of(actor, room))
    if denial is not None:
        raise denial
    now = timezone.now()
    UserPresence.objects.update_or_create(
        user=actor,
        defaults={"is_typing": is_typing, "typing_at": now if is_typing else None,
                  "current_room": room},
    )
    key = f"chat:typing:{room.pk}:{actor.pk}"
    if is_typing and not cache.add(key, 1, timeout=TYPING_BROADCAST_INTERVAL):
        return False
    if not is_typing:
        cache.delete(key)
    events.publish_room_ephemeral(
        room.pk, {"type": "typing", "room_id": room.pk, "user": user_payload(actor),
                  "is_typing": is_typing}
    )
    return True


