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
A user whose last socket closed goes offline after CHAT_PRESENCE_OFFLINE_GRACE
seconds without a new one (a reload or a server restart does not flicker).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from chat import errors, events, policy, wire
from chat.compiled import CompiledQuery, CompiledUpdate
from chat.errors import lazy_interpolate
from chat.models import ChatParticipant, ChatRoom, PresenceConnection, UserPresence
from chat.wire import user_payload

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

TYPING_BROADCAST_INTERVAL = 1.0  # seconds: at most one typing frame per user and room

# Names this server process in PresenceConnection rows.
SERVER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def presence_get(user: User) -> UserPresence:
    presence, _ = UserPresence.objects.select_related("user").get_or_create(user=user)
    return presence


def publish_presence(presence: UserPresence) -> None:
    publish_presences([presence])


def publish_presences(presences: list[UserPresence]) -> None:
    """Each user's PRESENCE to each of their rooms (one query for all their rooms)."""
    if not presences:
        return
    rooms: dict[int, list[int]] = {}
    for user_id, room_id in ChatParticipant.objects.filter(
        user_id__in=[presence.user_id for presence in presences], is_active=True
    ).values_list("user_id", "room_id"):
        rooms.setdefault(user_id, []).append(room_id)
    for presence in presences:
        frame = wire.presence(presence)
        for room_id in rooms.get(presence.user_id, ()):
            events.publish_room_ephemeral(room_id, frame)


@transaction.atomic
def presence_set(*, actor: User, status: object) -> UserPresence:
    """Set the actor's status (online/away/busy/offline) and tell who shares a room."""
    if status not in UserPresence.Status.values:
        raise errors.ValidationFailed(
            gettext_lazy("Unknown status."),
            fields={
                "status": [
                    lazy_interpolate(
                        gettext_lazy("Choose from %(values)s."),
                        {"values": UserPresence.Status.values},
                    )
                ]
            },
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


def typing_set(*, actor: User, room: ChatRoom, is_typing: object, closing: bool = False) -> bool:
    """Record typing and broadcast it, at most once a second per user and room
    whatever the value (any process: the throttle lives in the cache); within that
    second nothing is written. Returns True if recorded and broadcast, False if
    refused (the room socket sends the latest refused value once the second is over).
    ``closing``: the typer's socket closed; its stop goes out whatever the throttle
    says, since no later retry will send it."""
    if not isinstance(is_typing, bool):
        raise errors.ValidationFailed(
            gettext_lazy("is_typing must be true or false."),
            fields={"is_typing": [gettext_lazy("Must be a boolean.")]},
        )
    denial = policy.post_denial(room, policy.participant_of(actor, room))
    if denial is not None:
        raise denial
    try:
        throttled = not cache.add(
            f"chat:typing:{room.pk}:{actor.pk}", 1, timeout=TYPING_BROADCAST_INTERVAL
        )
        if throttled and not (closing and is_typing is False):
            return False
    except Exception:
        logger.warning("typing not throttled: the cache is unavailable", exc_info=True)
    now = timezone.now()
    UserPresence.objects.update_or_create(
        user=actor,
        defaults={
            "is_typing": is_typing,
            "typing_at": now if is_typing else None,
            "current_room": room,
        },
    )
    events.publish_room_ephemeral(
        room.pk,
        wire.typing(room.pk, user_payload(actor), is_typing),
    )
    return True


def _live_cutoff() -> timedelta:
    return timedelta(seconds=settings.CHAT_CONNECTION_TIMEOUT)


def connection_open(*, user: User, channel_name: str, server_id: str = SERVER_ID) -> UserPresence:
    """Register one socket of ``user``; an offline user becomes online (and it is
    broadcast). ``away`` and ``busy`` are kept."""
    connections_apply(opened=[(user, channel_name)], closed=[], server_id=server_id)
    return presence_get(user)


def offline_grace() -> float:
    """Seconds a user whose last socket closed stays as they were: a page reload
    or a server restart reconnects within it, and nobody sees them flicker
    offline and online again."""
    return max(0.0, float(getattr(settings, "CHAT_PRESENCE_OFFLINE_GRACE", 2.0)))


@transaction.atomic
def connections_apply(
    *,
    opened: list[tuple[User, str]],
    closed: list[tuple[int, str]],
    server_id: str = SERVER_ID,
) -> Applied:
    """Register and forget many sockets at once (a server process writes its
    sockets' registrations in batches). Under the users' presence row locks: a
    socket beyond a user's CHAT_WS_MAX_SOCKETS_PER_USER live ones (on every
    process) is refused and not registered; an offline user with a live socket
    becomes online; a user whose last socket went becomes offline, at once when
    CHAT_PRESENCE_OFFLINE_GRACE is 0, else once the grace has passed
    (``presence_settle``; the sweep is the backstop). Each change is broadcast.
    A constant number of queries, whatever the number of sockets and users."""
    user_ids = sorted({user.pk for user, _ in opened} | {user_id for user_id, _ in closed})
    if not user_ids:
        return Applied([], set())
    presences = _locked_presences(user_ids)
    now = timezone.now()
    if closed:
        PresenceConnection.objects.filter(channel_name__in=[key for _, key in closed]).delete()
    asked = opened
    opened, refused = _within_socket_limit(opened, now)
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
    # Who opened a socket now is live: it was just written, or they already
    # have their limit of live ones. Only the others are looked up.
    live = {user.pk for user, _ in opened}
    if max_sockets_per_user() > 0:
        live |= {user.pk for user, key in asked if key in refused}
    rest = [user_id for user_id in user_ids if user_id not in live]
    if rest:
        live |= _live_users(rest, now)
    grace = offline_grace()
    changed, waiting = [], []
    for presence in presences:
        if presence.user_id in live:
            if presence.status == UserPresence.Status.OFFLINE:
                presence.status = UserPresence.Status.ONLINE
                changed.append(presence)
        elif presence.status != UserPresence.Status.OFFLINE:
            if grace:
                waiting.append(presence)
            else:
                presence.status = UserPresence.Status.OFFLINE
                presence.is_typing = False
                changed.append(presence)
    _save_statuses(changed, now)
    if waiting:
        # last_seen marks when the last socket went; the grace counts from it.
        UserPresence.objects.filter(pk__in=[presence.pk for presence in waiting]).update(
            last_seen=now
        )
    publish_presences(changed)
    return Applied([presence.user_id for presence in waiting], refused)


# Users whose UserPresence row this process has seen: the row is created on
# their first socket and kept, so later registrations need not insert it again.
# A row deleted meanwhile is noticed (the locking read misses it) and made anew.
_HAVE_PRESENCE: set[int] = set()
_HAVE_PRESENCE_MAX = 100_000


def _rows_locked() -> QuerySet[UserPresence]:
    return UserPresence.objects.select_for_update().select_related("user")


def _presence_locked(user_id: int) -> QuerySet[UserPresence]:
    return _rows_locked().filter(user_id=user_id)


# Compiled once (see chat.compiled): a socket opening or closing alone, the usual
# batch, locks one user's row.
_PRESENCE_LOCKED = CompiledQuery(_presence_locked, ("user_id",))


def _locked_presences(user_ids: list[int]) -> list[UserPresence]:
    """The users' presence rows, created if missing, locked, in user order."""
    unknown = [user_id for user_id in user_ids if user_id not in _HAVE_PRESENCE]
    for _attempt in range(2):  # once more if a row known here went
        if unknown:
            UserPresence.objects.bulk_create(
                [UserPresence(user_id=user_id) for user_id in unknown], ignore_conflicts=True
            )
        if len(user_ids) == 1:
            one = _PRESENCE_LOCKED.first(user_id=user_ids[0])
            presences = [] if one is None else [one]
        else:
            presences = list(_rows_locked().filter(user_id__in=user_ids).order_by("user_id"))
        found = {presence.user_id for presence in presences}
        if len(_HAVE_PRESENCE) > _HAVE_PRESENCE_MAX:
            _HAVE_PRESENCE.clear()
        _HAVE_PRESENCE.update(found)
        unknown = [user_id for user_id in user_ids if user_id not in found]
        if not unknown:
            break
    return presences


@dataclass(frozen=True)
class Applied:
    waiting: list[int]  # users waiting out their offline grace
    refused: set[str]  # sockets over their user's limit, not registered


def max_sockets_per_user() -> int:
    return int(getattr(settings, "CHAT_WS_MAX_SOCKETS_PER_USER", 20))


def _within_socket_limit(
    opened: list[tuple[User, str]], now: datetime
) -> tuple[list[tuple[User, str]], set[str]]:
    """The sockets that fit in their user's limit (in order), and the keys of the rest."""
    if not opened:
        return [], set()
    limit = max_sockets_per_user()
    keys = [key for _, key in opened]
    counts = dict(
        PresenceConnection.objects.filter(
            user_id__in={user.pk for user, _ in opened},
            last_heartbeat__gte=now - _live_cutoff(),
        )
        .exclude(channel_name__in=keys)
        .values_list("user_id")
        .annotate(n=Count("pk"))
        .values_list("user_id", "n")
    )
    allowed, refused = [], set()
    for user, key in opened:
        if counts.get(user.pk, 0) >= limit:
            refused.add(key)
        else:
            counts[user.pk] = counts.get(user.pk, 0) + 1
            allowed.append((user, key))
    return allowed, refused


# Compiled once (see chat.compiled): every room socket's close runs it.
_ROOM_LEFT = CompiledUpdate(
    lambda user_id, room_id: UserPresence.objects.filter(user_id=user_id, current_room_id=room_id),
    lambda **_: {"current_room": None, "is_typing": False, "typing_at": None},
    ("user_id", "room_id"),
)


def room_left(user_id: int, room_id: int) -> None:
    """The user's last socket of a room closed: they are no longer "in" it (nor
    typing there)."""
    _ROOM_LEFT.run(user_id=user_id, room_id=room_id)


def _save_statuses(presences: list[UserPresence], now: datetime) -> None:
    """Store changed statuses: one update per status, however many users."""
    by_status: dict[str, list[UserPresence]] = {}
    for presence in presences:
        presence.last_seen = now
        by_status.setdefault(presence.status, []).append(presence)
    for status, group in by_status.items():
        fields: dict[str, object] = {"status": status, "last_seen": now}
        if status == UserPresence.Status.OFFLINE:
            fields["is_typing"] = False
        UserPresence.objects.filter(pk__in=[presence.pk for presence in group]).update(**fields)


def _live_users(user_ids: list[int], now: datetime) -> set[int]:
    return set(
        PresenceConnection.objects.filter(
            user_id__in=user_ids, last_heartbeat__gte=now - _live_cutoff()
        ).values_list("user_id", flat=True)
    )


def live_user_ids(user_ids: Collection[int]) -> set[int]:
    """Those of ``user_ids`` with a live socket (room or presence, any process) now:
    who would see a notification in an open page."""
    if not user_ids:
        return set()
    return _live_users(list(user_ids), timezone.now())


@transaction.atomic
def presence_settle(user_ids: list[int]) -> list[int]:
    """Users whose grace has passed with no socket back become offline (broadcast).
    Returns them."""
    now = timezone.now()
    presences = list(
        UserPresence.objects.select_for_update()
        .select_related("user")
        .filter(
            user_id__in=sorted(user_ids), last_seen__lte=now - timedelta(seconds=offline_grace())
        )
        .exclude(status=UserPresence.Status.OFFLINE)
        .order_by("user_id")
    )
    live = _live_users([presence.user_id for presence in presences], now)
    gone = [presence for presence in presences if presence.user_id not in live]
    for presence in gone:
        presence.status = UserPresence.Status.OFFLINE
        presence.is_typing = False
    _save_statuses(gone, now)
    publish_presences(gone)
    return [presence.user_id for presence in gone]


def connections_refresh(server_id: str = SERVER_ID) -> int:
    """Refresh the heartbeat of every socket of one server process (one query)."""
    return PresenceConnection.objects.filter(server_id=server_id).update(
        last_heartbeat=timezone.now()
    )


def presence_sweep() -> list[int]:
    """Delete sockets whose heartbeat is older than CHAT_CONNECTION_TIMEOUT, then
    set offline (and broadcast) every user not offline who has no live socket
    left and whose grace has passed.

    Safe to run from every process at once. Returns the users made offline.
    """
    now = timezone.now()
    PresenceConnection.objects.filter(last_heartbeat__lt=now - _live_cutoff()).delete()
    live = PresenceConnection.objects.values("user_id")
    candidates = list(
        UserPresence.objects.exclude(status=UserPresence.Status.OFFLINE)
        .exclude(user_id__in=live)
        .filter(last_seen__lte=now - timedelta(seconds=offline_grace()))
        .values_list("user_id", flat=True)
    )
    if not candidates:
        return []
    return presence_settle(candidates)
