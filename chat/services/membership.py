"""Membership writes: join, leave, invite, change a participant's role or mute,
remove, and the course enrolments that drive course rooms' membership.

As in chat.services.rooms: policy, validation, then in one transaction the room
row locked, the participant row written and one RoomEvent carrying a ``system``
message (published after commit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from chat import errors, events, limits, policy, selectors, wire
from chat.errors import lazy_interpolate
from chat.models import ChatParticipant, ChatRoom, RoomBan, UserPresence
from chat.services import audit, rooms
from chat.wire import Frame

if TYPE_CHECKING:
    from accounts.models import User
    from courses.models import Course

Role = ChatParticipant.Role


def _upsert_participant(
    room: ChatRoom, user: User, role: str, *, enforce_limit: bool = True
) -> tuple[ChatParticipant, bool]:
    """Activate ``user`` in the locked ``room``; returns (participant, changed)."""
    participant = ChatParticipant.objects.filter(room=room, user=user).first()
    if participant is not None and participant.is_active:
        return participant, False
    if enforce_limit:
        active = ChatParticipant.objects.filter(room=room, is_active=True).count()
        if active >= room.max_participants:
            raise errors.RoomFull()
    if participant is None:
        participant = ChatParticipant.objects.create(room=room, user=user, role=role)
    else:
        # Back after leaving: a member since now (who has stood longest decides who
        # becomes admin). A mute stays: leaving does not lift it.
        participant.is_active = True
        participant.role = role
        participant.joined_at = timezone.now()
        participant.save(update_fields=["is_active", "role", "joined_at"])
    participant.user = user
    return participant, True


def _role_for(user: User, room: ChatRoom) -> str:
    if room.chat_type == ChatRoom.ChatType.COURSE and policy.is_course_instructor(
        user, room.course_id
    ):
        return Role.MODERATOR
    return Role.MEMBER


@transaction.atomic
def room_join(*, actor: User, room: ChatRoom) -> tuple[ChatParticipant, bool]:
    """Join a public room, one's course room, or (support staff) a support room: the
    participant, and whether this call made them one (joining again changes nothing,
    however many joins race)."""
    if not policy.can_see_room(actor, room):
        raise errors.NotFound(gettext_lazy("No such room."))
    current = policy.participant_of(actor, room)
    if current is not None:
        current.user = actor
        return current, False
    if not policy.can_join_room(actor, room):
        raise errors.Forbidden(gettext_lazy("This room is by invitation only."))
    room = selectors.lock_room(room.pk)
    if not room.is_active:
        raise errors.RoomArchived()
    participant, changed = _upsert_participant(room, actor, _role_for(actor, room))
    if changed:
        _joined(
            room,
            participant,
            actor=actor,
            sentence=f"{rooms.display(actor)} joined the room.",
            details={"action": "joined"},
        )
    return participant, changed


def _joined(
    room: ChatRoom,
    participant: ChatParticipant,
    *,
    actor: User,
    sentence: str,
    details: dict[str, Any],
) -> None:
    """Announce a new participant; their presence sockets start following the room
    (and send them the statuses of members new to them), and the members' presence
    sockets learn the newcomer's status."""
    rooms.participant_event(
        room, Frame.PARTICIPANT_JOINED, participant, actor=actor, sentence=sentence, details=details
    )
    events.publish_user_control(participant.user_id, "rooms.changed", room.pk)
    known = UserPresence.objects.filter(user_id=participant.user_id).select_related("user").first()
    if known is not None:  # none for a user who never connected: offline, as shown
        events.publish_room_ephemeral(room.pk, wire.presence(known))


def _deactivate(room: ChatRoom, participant: ChatParticipant) -> None:
    from chat.services.office_hours import place_ended  # it invites through this module

    participant.is_active = False
    participant.save(update_fields=["is_active"])
    place_ended(room, participant.user_id)


def _other_admins(participant: ChatParticipant) -> bool:
    return (
        ChatParticipant.objects.filter(room_id=participant.room_id, is_active=True, role=Role.ADMIN)
        .exclude(pk=participant.pk)
        .exists()
    )


def _keep_an_admin(room: ChatRoom, departed: ChatParticipant, *, actor: User) -> None:
    """After the room's last admin left or was removed: its longest-standing moderator
    (else, but in a course room, whose roles follow enrolment, its longest-standing
    unmuted member) becomes admin, so the room can still be managed."""
    if departed.role != Role.ADMIN or _other_admins(departed):
        return
    roles = [Role.MODERATOR]
    if room.chat_type != ChatRoom.ChatType.COURSE:
        roles.append(Role.MEMBER)
    active = ChatParticipant.objects.filter(room=room, is_active=True, is_muted=False)
    successor: ChatParticipant | None = None
    for role in roles:
        successor = (
            active.filter(role=role).select_related("user").order_by("joined_at", "pk").first()
        )
        if successor is not None:
            break
    if successor is None:
        return
    successor.role = Role.ADMIN
    successor.save(update_fields=["role"])
    changes = {"role": Role.ADMIN.value}
    audit.record(
        actor,
        room,
        audit.Action.ROLE_CHANGE,
        target_user=successor.user,
        details={"changes": changes, "by": "succession"},
    )
    rooms.participant_event(
        room,
        Frame.PARTICIPANT_UPDATED,
        successor,
        actor=actor,
        sentence=f"{rooms.display(successor.user)} is now the room's admin.",
        details={"action": "updated", "changes": changes},
    )


@transaction.atomic
def room_leave(*, actor: User, room: ChatRoom) -> None:
    """Leave a room; leaving a room one is not in does nothing."""
    room = selectors.lock_room(room.pk)
    participant = ChatParticipant.objects.filter(room=room, user=actor, is_active=True).first()
    if participant is None:
        return
    participant.user = actor
    _deactivate(room, participant)
    rooms.participant_event(
        room,
        Frame.PARTICIPANT_LEFT,
        participant,
        actor=actor,
        sentence=f"{rooms.display(actor)} left the room.",
        details={"action": "left"},
    )
    _keep_an_admin(room, participant, actor=actor)
    events.publish_user_control(actor.pk, "rooms.changed", room.pk)
    if not policy.can_see_room(actor, room):
        events.publish_user_control(actor.pk, "room.revoked", room.pk)


def _target_user(user_id: object) -> User:
    user_pk = selectors.as_id(user_id)
    user = None
    if user_pk is not None:
        user = get_user_model().objects.filter(pk=user_pk, is_active=True).first()
    if user is None:
        raise errors.ValidationFailed(
            gettext_lazy("No such user."), fields={"user": [gettext_lazy("No such user.")]}
        )
    return user


def _check_role(role: object) -> str:
    if role not in Role.values:
        raise errors.ValidationFailed(
            gettext_lazy("Unknown role."),
            fields={
                "role": [
                    lazy_interpolate(
                        gettext_lazy("Choose from %(values)s."), {"values": Role.values}
                    )
                ]
            },
        )
    return str(role)


@transaction.atomic
def participant_invite(
    *, actor: User, room: ChatRoom, user: User | int, role: str = Role.MEMBER
) -> tuple[ChatParticipant, bool]:
    """Add a user to a room (moderators; granting moderator or admin needs a room admin):
    the participant, and whether this call added them (an existing one is returned)."""
    role = _check_role(role)
    room = selectors.lock_room(room.pk)
    policy.require_moderator(actor, room, gettext_lazy("Only moderators may invite."))
    if role != Role.MEMBER:
        policy.require_admin(actor, room, gettext_lazy("Only room admins may grant that role."))
    if not room.is_active:
        raise errors.RoomArchived()
    target = user if not isinstance(user, int) else _target_user(user)
    if RoomBan.objects.filter(room=room, user=target).exists():
        raise errors.Forbidden(
            gettext_lazy("This user is banned from the room; lift the ban first.")
        )
    participant, changed = _upsert_participant(room, target, role)
    if changed:
        _joined(
            room,
            participant,
            actor=actor,
            sentence=f"{rooms.display(actor)} added {rooms.display(target)}.",
            details={"action": "invited", "user_id": target.pk},
        )
    return participant, changed


@transaction.atomic
def participant_update(
    *,
    actor: User,
    room: ChatRoom,
    user_id: int,
    role: str | None = None,
    is_muted: bool | None = None,
) -> ChatParticipant:
    """Change a participant's role or mute (moderators; admins for moderators/admins)."""
    room = selectors.lock_room(room.pk)
    policy.require_moderator(actor, room, gettext_lazy("Only moderators may change participants."))
    participant = selectors.participant_get(room, user_id)
    if not room.is_active:
        raise errors.RoomArchived()
    if role is not None:
        role = _check_role(role)
    touches_staff = participant.role != Role.MEMBER or (role not in (None, Role.MEMBER))
    if touches_staff:
        policy.require_admin(
            actor, room, gettext_lazy("Only room admins may change moderators and admins.")
        )
    changes: dict[str, Any] = {}
    if role is not None and role != participant.role:
        changes["role"] = role
    if is_muted is not None and bool(is_muted) != participant.is_muted:
        changes["is_muted"] = bool(is_muted)
    if not changes:
        return participant
    if participant.role == Role.ADMIN and "role" in changes and not _other_admins(participant):
        raise errors.ValidationFailed(
            gettext_lazy("A room needs an admin: make someone else an admin first."),
            fields={"role": [gettext_lazy("The room's last admin.")]},
        )
    for field, value in changes.items():
        setattr(participant, field, value)
    participant.save(update_fields=list(changes))
    if "role" in changes:
        audit.record(
            actor,
            room,
            audit.Action.ROLE_CHANGE,
            target_user=participant.user,
            details={"changes": changes},
        )
    if "is_muted" in changes:
        action = audit.Action.MUTE if participant.is_muted else audit.Action.UNMUTE
        audit.record(actor, room, action, target_user=participant.user)
    target = rooms.display(participant.user)
    if "role" in changes:
        sentence = f"{rooms.display(actor)} made {target} a {participant.role}."
    elif participant.is_muted:
        sentence = f"{rooms.display(actor)} muted {target}."
    else:
        sentence = f"{rooms.display(actor)} unmuted {target}."
    rooms.participant_event(
        room,
        Frame.PARTICIPANT_UPDATED,
        participant,
        actor=actor,
        sentence=sentence,
        details={"action": "updated", "changes": changes},
    )
    return participant


@transaction.atomic
def participant_remove(*, actor: User, room: ChatRoom, user_id: int) -> None:
    """Remove a participant; their open sockets of the room are closed at once (4403)."""
    room = selectors.lock_room(room.pk)
    policy.require_moderator(actor, room, gettext_lazy("Only moderators may remove participants."))
    participant = selectors.participant_get(room, user_id)
    if not room.is_active:
        raise errors.RoomArchived()
    if participant.role != Role.MEMBER:
        policy.require_admin(
            actor, room, gettext_lazy("Only room admins may remove moderators and admins.")
        )
    audit.record(actor, room, audit.Action.REMOVE, target_user=participant.user)
    _remove(
        room,
        participant,
        actor=actor,
        sentence=f"{rooms.display(actor)} removed {rooms.display(participant.user)}.",
        details={"action": "removed", "user_id": participant.user_id},
    )


def _clean_reason(reason: object) -> str:
    if not isinstance(reason, str) or "\x00" in reason:
        raise errors.ValidationFailed(
            gettext_lazy("Invalid reason."), fields={"reason": [gettext_lazy("Invalid.")]}
        )
    reason = reason.strip()
    if len(reason) > limits.BAN_REASON_MAX:
        raise errors.ValidationFailed(
            lazy_interpolate(
                gettext_lazy("A reason is limited to %(ban_reason_max)s characters."),
                {"ban_reason_max": limits.BAN_REASON_MAX},
            ),
            fields={"reason": [gettext_lazy("Too long.")]},
        )
    return reason


@transaction.atomic
def room_ban(*, actor: User, room: ChatRoom, user_id: int, reason: object = "") -> RoomBan:
    """Ban a user from a public or support room (moderators). An active participant
    is removed (``participant.left`` with ``details.action`` ``banned``); either way
    the room goes out of the user's sight and their sockets of it close (4403) until
    ``room_unban``. Banning again returns the existing ban and changes nothing."""
    room = selectors.lock_room(room.pk)
    policy.require_moderator(actor, room, gettext_lazy("Only moderators may ban."))
    reason = _clean_reason(reason)
    target = _target_user(user_id)
    existing = RoomBan.objects.filter(room=room, user=target).first()
    if existing is not None:
        return existing
    denial = policy.ban_denial(actor, room, target)
    if denial is not None:
        raise denial
    ban = RoomBan.objects.create(room=room, user=target, banned_by=actor, reason=reason)
    audit.record(actor, room, audit.Action.BAN, target_user=target, details={"reason": reason})
    participant = ChatParticipant.objects.filter(room=room, user=target, is_active=True).first()
    if participant is not None:
        participant.user = target
        _remove(
            room,
            participant,
            actor=actor,
            sentence=f"{rooms.display(actor)} banned {rooms.display(target)}.",
            details={"action": "banned", "user_id": target.pk},
        )
    else:
        events.publish_user_control(target.pk, "room.revoked", room.pk)
        events.publish_user_control(target.pk, "rooms.changed", room.pk)
    return ban


@transaction.atomic
def room_unban(*, actor: User, room: ChatRoom, user_id: int) -> None:
    """Lift a ban (moderators): the user sees the room again and may join it.
    Nothing is broadcast; the audit log keeps it."""
    room = selectors.lock_room(room.pk)
    policy.require_moderator(actor, room, gettext_lazy("Only moderators may lift bans."))
    ban = RoomBan.objects.filter(room=room, user_id=user_id).select_related("user").first()
    if ban is None:
        raise errors.NotFound(gettext_lazy("No such ban."))
    ban.delete()
    audit.record(actor, room, audit.Action.UNBAN, target_user=ban.user)
    events.publish_user_control(ban.user_id, "rooms.changed", room.pk)


def _remove(
    room: ChatRoom,
    participant: ChatParticipant,
    *,
    actor: User,
    sentence: str,
    details: dict[str, Any],
) -> None:
    """Deactivate a participant someone else removed; their sockets of the room close."""
    _deactivate(room, participant)
    rooms.participant_event(
        room, Frame.PARTICIPANT_LEFT, participant, actor=actor, sentence=sentence, details=details
    )
    _keep_an_admin(room, participant, actor=actor)
    events.publish_user_control(participant.user_id, "room.revoked", room.pk)
    events.publish_user_control(participant.user_id, "rooms.changed", room.pk)


def _audit_enrolment_role(actor: User, room: ChatRoom, user: User, role: str) -> None:
    """An enrolment that makes ``user`` a moderator of the course room, or no longer
    one, is a role change of that room like any other (``audit``)."""
    audit.record(
        actor,
        room,
        audit.Action.ROLE_CHANGE,
        target_user=user,
        details={"changes": {"role": role}, "by": "enrolment"},
    )


def course_member_sync(*, actor: User, course: Course, user: User, role: str | None) -> None:
    """Make ``user``'s membership of the course's rooms match their enrolment.

    ``role`` is the enrolment role (student/instructor), or None when it ended.
    Must run inside the enrolment's transaction. Enrolment bypasses the room's
    participant limit: a course room holds the whole course.
    """
    for room_id in ChatRoom.objects.filter(
        course=course, chat_type=ChatRoom.ChatType.COURSE
    ).values_list("pk", flat=True):
        room = selectors.lock_room(room_id)
        participant = ChatParticipant.objects.filter(room=room, user=user).first()
        if role is None:
            if participant is None or not participant.is_active:
                # Not a participant (they left), but the enrolment let them watch the
                # room: sockets they hold on it close as a participant's would.
                if not policy.can_see_room(user, room):
                    events.publish_user_control(user.pk, "room.revoked", room.pk)
                    events.publish_user_control(user.pk, "rooms.changed", room.pk)
                continue
            participant.user = user
            _remove(
                room,
                participant,
                actor=actor,
                sentence=f"{rooms.display(user)} left the course.",
                details={"action": "unenrolled", "user_id": user.pk},
            )
            continue
        wanted = Role.MODERATOR if role == "instructor" else Role.MEMBER
        if participant is not None and participant.is_active:
            if participant.role == wanted or participant.role == Role.ADMIN:
                continue
            participant.role = wanted
            participant.save(update_fields=["role"])
            participant.user = user
            _audit_enrolment_role(actor, room, user, wanted)
            rooms.participant_event(
                room,
                Frame.PARTICIPANT_UPDATED,
                participant,
                actor=actor,
                sentence=f"{rooms.display(user)} is now a {wanted}.",
                details={"action": "updated", "changes": {"role": wanted}},
            )
            continue
        participant, _ = _upsert_participant(room, user, wanted, enforce_limit=False)
        if wanted == Role.MODERATOR:
            _audit_enrolment_role(actor, room, user, wanted)
        _joined(
            room,
            participant,
            actor=actor,
            sentence=f"{rooms.display(user)} joined the course.",
            details={"action": "enrolled", "user_id": user.pk},
        )
