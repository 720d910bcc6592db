"""Presence and typing: ephemeral, never in the RoomEvent log.

A presence change is sent once to each room group the user is in (not once
per co-member); presence sockets follow the groups of their user's rooms and
drop repeats.

Online across processes: every open socket (room or presence, any process) is
a PresenceConnection row. Each server process refreshes the heartbeat of its
own rows (``connections_refresh``) and sweeps rows whose heartbeat is older than
CHAT_CONNECTION_TIMEOUT (``presence_sweep``), so the sockets of a process that
died stop counting. Opening, closing and sweeping lock the user's UserPresence
row, so "the last socket closed" and "a new socket opened" cannot interleave.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from chat import errors, events, policy, selectors
from chat.models import ChatRoom, PresenceConnection, UserPresence
from chat.payloads import user_payload

if TYPE_CHECKING:
    from accounts.models import User

TYPING_BROADCAST_INTERVAL = 1.0  # seconds: at most one typing frame per user and room

# Names this server process in PresenceConnection rows.
SERVER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


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
        raise errors.ValidationFailed(
            "is_typing must be true or false.", fields={"is_typing": ["Must be a boolean."]}
        )
    denial = policy.post_denial(room, policy.participant_of(actor, room))
    if denial is not None:
        raise denial
    now = timezone.now()
    UserPresence.objects.update_or_create(
        user=actor,
        defaults={
            "is_typing": is_typing,
            "typing_at": now if is_typing else None,
            "current_room": room,
        },
    )
    key = f"chat:typing:{room.pk}:{actor.pk}"
    if is_typing and not cache.add(key, 1, timeout=TYPING_BROADCAST_INTERVAL):
        return False
    if not is_typing:
        cache.delete(key)
    events.publish_room_ephemeral(
        room.pk,
        {"type": "typing", "room_id": room.pk, "user": user_payload(actor), "is_typing": is_typing},
    )
    return True


def _locked_presence(user_id: int) -> UserPresence:
    UserPresence.objects.get_or_create(user_id=user_id)
    return UserPresence.objects.select_for_update().select_related("user").get(user_id=user_id)


def _live_cutoff() -> timedelta:
    return timedelta(seconds=settings.CHAT_CONNECTION_TIMEOUT)


def _offline_if_no_socket(presence: UserPresence) -> bool:
    """Under the presence row lock: go offline (and broadcast) when no live socket is left."""
    if presence.status == UserPresence.Status.OFFLINE:
        return False
    cutoff = timezone.now() - _live_cutoff()
    if PresenceConnection.objects.filter(
        user_id=presence.user_id, last_heartbeat__gte=cutoff
    ).exists():
        return False
    presence.status = UserPresence.Status.OFFLINE
    presence.is_typing = False
    presence.save()
    publish_presence(presence)
    return True


@transaction.atomic
def connection_open(*, user: User, channel_name: str, server_id: str = SERVER_ID) -> UserPresence:
    """Register one socket of ``user``; an offline user becomes online (and it is
    broadcast). ``away`` and ``busy`` are kept."""
    presence = _locked_presence(user.pk)
    PresenceConnection.objects.update_or_create(
        channel_name=channel_name,
        defaults={"user": user, "server_id": server_id, "last_heartbeat": timezone.now()},
    )
    if presence.status == UserPresence.Status.OFFLINE:
        presence.status = UserPresence.Status.ONLINE
        presence.save()
        publish_presence(presence)
    return presence


@transaction.atomic
def connection_close(*, user_id: int, channel_name: str) -> bool:
    """Forget one socket; returns True if that made the user offline (broadcast)."""
    presence = _locked_presence(user_id)
    PresenceConnection.objects.filter(channel_name=channel_name).delete()
    return _offline_if_no_socket(presence)


@transaction.atomic
def connections_apply(
    *,
    opened: list[tuple[User, str]],
    closed: list[tuple[int, str]],
    server_id: str = SERVER_ID,
) -> None:
    """Register and forget many sockets at once (a server process writes its
    sockets' registrations in batches). Same rules as ``connection_open`` and
    ``connection_close``: under the users' presence row locks, an offline user
    with a live socket becomes online, a user whose last socket went becomes
    offline; each change is broadcast. A constant number of queries, plus one
    per user whose status changes."""
    user_ids = sorted({user.pk for user, _ in opened} | {user_id for user_id, _ in closed})
    if not user_ids:
        return
    UserPresence.objects.bulk_create(
        [UserPresence(user_id=user_id) for user_id in user_ids], ignore_conflicts=True
    )
    presences = list(
        UserPresence.objects.select_for_update()
        .select_related("user")
        .filter(user_id__in=user_ids)
        .order_by("user_id")
    )
    now = timezone.now()
    if opened:
        PresenceConnection.objects.bulk_create(
            [
                PresenceConnection(
                    user=user, channel_name=key, server_id=server_id, last_heartbeat=now
                )
                for user, key in opened
            ],
            update_conflicts=True,
            unique_fields=["channel_name"],
            update_fields=["user", "server_id", "last_heartbeat"],
        )
    if closed:
        PresenceConnection.objects.filter(channel_name__in=[key for _, key in closed]).delete()
    live = set(
        PresenceConnection.objects.filter(
            user_id__in=user_ids, last_heartbeat__gte=now - _live_cutoff()
        ).values_list("user_id", flat=True)
    )
    for presence in presences:
        if presence.user_id in live and presence.status == UserPresence.Status.OFFLINE:
            presence.status = UserPresence.Status.ONLINE
        elif presence.user_id not in live and presence.status != UserPresence.Status.OFFLINE:
            presence.status = UserPresence.Status.OFFLINE
            presence.is_typing = False
        else:
            continue
        presence.save()
        publish_presence(presence)


def connection_heartbeat(*, channel_name: str) -> bool:
    """Refresh one socket's heartbeat; False if its row is gone (swept)."""
    return (
        PresenceConnection.objects.filter(channel_name=channel_name).update(
            last_heartbeat=timezone.now()
        )
        > 0
    )


def connections_refresh(server_id: str = SERVER_ID) -> int:
    """Refresh the heartbeat of every socket of one server process (one query)."""
    return PresenceConnection.objects.filter(server_id=server_id).update(
        last_heartbeat=timezone.now()
    )


def presence_sweep() -> list[int]:
    """Delete sockets whose heartbeat is older than CHAT_CONNECTION_TIMEOUT, then
    set offline (and broadcast) every user not offline who has no live socket left.

    Safe to run from every process at once. Returns the users made offline.
    """
    cutoff = timezone.now() - _live_cutoff()
    PresenceConnection.objects.filter(last_heartbeat__lt=cutoff).delete()
    live = PresenceConnection.objects.values("user_id")
    candidates = list(
        UserPresence.objects.exclude(status=UserPresence.Status.OFFLINE)
        .exclude(user_id__in=live)
        .values_list("user_id", flat=True)
    )
    offline = []
    for user_id in candidates:
        with transaction.atomic():
            if _offline_if_no_socket(_locked_presence(user_id)):
                offline.append(user_id)
    return offline
