"""Room and membership writes: create, update, archive, join, leave, invite, mute, remove.

Each function checks policy, validates, and in one transaction locks the room
row, writes its rows and appends one RoomEvent (published after commit). Joins,
leaves, removals, role changes and room updates also write a ``system`` message,
carried in the same event under ``message``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction

from chat import errors, events, policy, selectors
from chat.models import ChatMessage, ChatParticipant, ChatRoom
from chat.payloads import message_payload, participant_payload, room_payload
from chat.services import counters

if TYPE_CHECKING:
    from accounts.models import User
    from courses.models import Course

Role = ChatParticipant.Role
NAME_MAX = 200
DESCRIPTION_MAX = 2000
MAX_PARTICIPANTS_CEILING = 100_000


def _clean_name(name: object) -> str:
    if not isinstance(name, str):
        raise errors.ValidationFailed("Name must be a string.", fields={"name": ["Not a string."]})
    name = name.strip()
    if not name or len(name) > NAME_MAX or "\x00" in name:
        raise errors.ValidationFailed(
            f"Name must be 1 to {NAME_MAX} characters.", fields={"name": ["Invalid length."]}
        )
    return name


def _clean_description(description: object) -> str:
    if not isinstance(description, str) or "\x00" in description:
        raise errors.ValidationFailed("Invalid description.", fields={"description": ["Invalid."]})
    description = description.strip()
    if len(description) > DESCRIPTION_MAX:
        raise errors.ValidationFailed(
            f"Description is limited to {DESCRIPTION_MAX} characters.",
            fields={"description": ["Too long."]},
        )
    return description


def _clean_max(value: object) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (1 <= value <= MAX_PARTICIPANTS_CEILING)
    ):
        raise errors.ValidationFailed(
            f"max_participants must be between 1 and {MAX_PARTICIPANTS_CEILING}.",
            fields={"max_participants": ["Out of range."]},
        )
    return value


def system_message(room: ChatRoom, *, actor: User, content: str) -> ChatMessage:
    """Write a ``system`` message; its payload rides in the caller's event."""
    from chat.rendering import render_content

    message = ChatMessage.objects.create(
        room=room,
        sender=actor,
        message_type=ChatMessage.MessageType.SYSTEM,
        content=content,
        content_html=render_content(content),
    )
    counters.message_added(message)
    return message


def _name(user: User) -> str:
    return user.get_display_name()


def _participant_event(
    room: ChatRoom,
    event_type: str,
    participant: ChatParticipant,
    *,
    actor: User,
    sentence: str,
    details: dict[str, Any],
) -> None:
    message = system_message(room, actor=actor, content=sentence)
    events.append_room_event(
        room,
        event_type,
        {
            "participant": participant_payload(participant),
            "message": message_payload(selectors.message_load(message.pk)),
            "details": details,
        },
    )


def _room_event(room: ChatRoom, *, actor: User, sentence: str, details: dict[str, Any]) -> None:
    message = system_message(room, actor=actor, content=sentence)
    fresh = selectors.with_participant_count(ChatRoom.objects.select_related("created_by")).get(
        pk=room.pk
    )
    fresh.last_seq = room.last_seq + 1  # the seq this very event takes
    events.append_room_event(
        room,
        "room.updated",
        {
            "room": room_payload(fresh),
            "message": message_payload(selectors.message_load(message.pk)),
            "details": details,
        },
    )


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
        participant.is_active = True
        participant.role = role
        participant.save(update_fields=["is_active", "role"])
    participant.user = user
    return participant, True


@transaction.atomic
def room_create(
    *,
    actor: User,
    name: str,
    chat_type: str,
    description: str = "",
    course: Course | None = None,
    max_participants: int | None = None,
) -> ChatRoom:
    """Create a room; the creator becomes its ``admin`` participant (event seq 1)."""
    if chat_type not in ChatRoom.ChatType.values:
        raise errors.ValidationFailed(
            "Unknown chat_type.", fields={"chat_type": [f"Choose from {ChatRoom.ChatType.values}."]}
        )
    if chat_type == ChatRoom.ChatType.COURSE and course is None:
        raise errors.ValidationFailed(
            "A course room needs a course.", fields={"course": ["Required for course rooms."]}
        )
    if chat_type != ChatRoom.ChatType.COURSE and course is not None:
        raise errors.ValidationFailed(
            "Only course rooms belong to a course.", fields={"course": ["Not allowed here."]}
        )
    if not policy.can_create_room(actor, chat_type, course.pk if course else None):
        raise errors.Forbidden("Only instructors of the course or staff may open a course room.")
    room = ChatRoom(
        name=_clean_name(name),
        description=_clean_description(description),
        chat_type=chat_type,
        course=course,
        created_by=actor,
    )
    if max_participants is not None:
        room.max_participants = _clean_max(max_participants)
    room.save()
    room = selectors.lock_room(room.pk)
    participant = ChatParticipant.objects.create(room=room, user=actor, role=Role.ADMIN)
    participant.user = actor
    _participant_event(
        room,
        "participant.joined",
        participant,
        actor=actor,
        sentence=f"{_name(actor)} created the room.",
        details={"action": "created"},
    )
    return room


@transaction.atomic
def room_update(
    *,
    actor: User,
    room: ChatRoom,
    name: str | None = None,
    description: str | None = None,
    max_participants: int | None = None,
) -> ChatRoom:
    """Change a room's settings (moderators and admins); one ``room.updated`` event."""
    room = selectors.lock_room(room.pk)
    if not policy.can_moderate(actor, room):
        raise errors.Forbidden("Only moderators may change this room.")
    if not room.is_active:
        raise errors.RoomArchived()
    changes: dict[str, Any] = {}
    if name is not None and _clean_name(name) != room.name:
        changes["name"] = _clean_name(name)
    if description is not None and _clean_description(description) != room.description:
        changes["description"] = _clean_description(description)
    if max_participants is not None and _clean_max(max_participants) != room.max_participants:
        changes["max_participants"] = max_participants
    if not changes:
        return room
    for field, value in changes.items():
        setattr(room, field, value)
    room.save(update_fields=[*changes, "updated_at"])
    if "name" in changes:
        sentence = f"{_name(actor)} renamed the room to “{room.name}”."
    else:
        sentence = f"{_name(actor)} updated the room's {', '.join(sorted(changes))}."
    _room_event(
        room, actor=actor, sentence=sentence, details={"action": "updated", "changes": changes}
    )
    return room


@transaction.atomic
def room_archive(*, actor: User, room: ChatRoom) -> ChatRoom:
    """Archive (room admins): history stays readable, posting is refused."""
    room = selectors.lock_room(room.pk)
    if not policy.can_administer(actor, room):
        raise errors.Forbidden("Only the room's admins may archive it.")
    if not room.is_active:
        return room
    room.is_active = False
    room.save(update_fields=["is_active", "updated_at"])
    _room_event(
        room,
        actor=actor,
        sentence=f"{_name(actor)} archived the room.",
        details={"action": "archived"},
    )
    return room


def _role_for(user: User, room: ChatRoom) -> str:
    if room.chat_type == ChatRoom.ChatType.COURSE and policy.is_course_instructor(
        user, room.course_id
    ):
        return Role.MODERATOR
    return Role.MEMBER


@transaction.atomic
def room_join(*, actor: User, room: ChatRoom) -> ChatParticipant:
    """Join a public room, one's course room, or (support staff) a support room.
    Joining again is a no-op that returns the participant."""
    if not policy.can_see_room(actor, room):
        raise errors.NotFound("No such room.")
    current = policy.participant_of(actor, room)
    if current is not None:
        current.user = actor
        return current
    if not policy.can_join_room(actor, room):
        raise errors.Forbidden("This room is by invitation only.")
    room = selectors.lock_room(room.pk)
    if not room.is_active:
        raise errors.RoomArchived()
    participant, changed = _upsert_participant(room, actor, _role_for(actor, room))
    if changed:
        _joined(
            room,
            participant,
            actor=actor,
            sentence=f"{_name(actor)} joined the room.",
            details={"action": "joined"},
        )
    return participant


def _joined(
    room: ChatRoom,
    participant: ChatParticipant,
    *,
    actor: User,
    sentence: str,
    details: dict[str, Any],
) -> None:
    """Announce a new participant; their presence sockets start following the room."""
    _participant_event(
        room, "participant.joined", participant, actor=actor, sentence=sentence, details=details
    )
    events.publish_user_control(participant.user_id, "rooms.changed", room.pk)


def _deactivate(room: ChatRoom, participant: ChatParticipant) -> None:
    participant.is_active = False
    participant.save(update_fields=["is_active"])


@transaction.atomic
def room_leave(*, actor: User, room: ChatRoom) -> None:
    """Leave a room; leaving a room one is not in does nothing."""
    room = selectors.lock_room(room.pk)
    participant = ChatParticipant.objects.filter(room=room, user=actor, is_active=True).first()
    if participant is None:
        return
    participant.user = actor
    _deactivate(room, participant)
    _participant_event(
        room,
        "participant.left",
        participant,
        actor=actor,
        sentence=f"{_name(actor)} left the room.",
        details={"action": "left"},
    )
    events.publish_user_control(actor.pk, "rooms.changed", room.pk)
    if not policy.can_see_room(actor, room):
        events.publish_user_control(actor.pk, "room.revoked", room.pk)


def _target_user(user_id: object) -> User:
    user_model = get_user_model()
    try:
        return user_model.objects.get(pk=int(user_id), is_active=True)  # type: ignore[call-overload]
    except (TypeError, ValueError, user_model.DoesNotExist):
        raise errors.ValidationFailed("No such user.", fields={"user": ["No such user."]}) from None


def _check_role(role: object) -> str:
    if role not in Role.values:
        raise errors.ValidationFailed(
            "Unknown role.", fields={"role": [f"Choose from {Role.values}."]}
        )
    return str(role)


@transaction.atomic
def participant_invite(
    *, actor: User, room: ChatRoom, user: User | int, role: str = Role.MEMBER
) -> ChatParticipant:
    """Add a user to a room (moderators; granting moderator or admin needs a room admin)."""
    role = _check_role(role)
    room = selectors.lock_room(room.pk)
    if not policy.can_moderate(actor, room):
        raise errors.Forbidden("Only moderators may invite.")
    if role != Role.MEMBER and not policy.can_administer(actor, room):
        raise errors.Forbidden("Only room admins may grant that role.")
    if not room.is_active:
        raise errors.RoomArchived()
    target = user if not isinstance(user, int) else _target_user(user)
    participant, changed = _upsert_participant(room, target, role)
    if changed:
        _joined(
            room,
            participant,
            actor=actor,
            sentence=f"{_name(actor)} added {_name(target)}.",
            details={"action": "invited", "user_id": target.pk},
        )
    return participant


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
    if not policy.can_moderate(actor, room):
        raise errors.Forbidden("Only moderators may change participants.")
    participant = selectors.participant_get(room, user_id)
    if role is not None:
        role = _check_role(role)
    touches_staff = participant.role != Role.MEMBER or (role not in (None, Role.MEMBER))
    if touches_staff and not policy.can_administer(actor, room):
        raise errors.Forbidden("Only room admins may change moderators and admins.")
    changes: dict[str, Any] = {}
    if role is not None and role != participant.role:
        changes["role"] = role
    if is_muted is not None and bool(is_muted) != participant.is_muted:
        changes["is_muted"] = bool(is_muted)
    if not changes:
        return participant
    for field, value in changes.items():
        setattr(participant, field, value)
    participant.save(update_fields=list(changes))
    target = _name(participant.user)
    if "role" in changes:
        sentence = f"{_name(actor)} made {target} a {participant.role}."
    elif participant.is_muted:
        sentence = f"{_name(actor)} muted {target}."
    else:
        sentence = f"{_name(actor)} unmuted {target}."
    _participant_event(
        room,
        "participant.updated",
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
    if not policy.can_moderate(actor, room):
        raise errors.Forbidden("Only moderators may remove participants.")
    participant = selectors.participant_get(room, user_id)
    if participant.role != Role.MEMBER and not policy.can_administer(actor, room):
        raise errors.Forbidden("Only room admins may remove moderators and admins.")
    _remove(
        room,
        participant,
        actor=actor,
        sentence=f"{_name(actor)} removed {_name(participant.user)}.",
        details={"action": "removed", "user_id": participant.user_id},
    )


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
    _participant_event(
        room, "participant.left", participant, actor=actor, sentence=sentence, details=details
    )
    events.publish_user_control(participant.user_id, "room.revoked", room.pk)
    events.publish_user_control(participant.user_id, "rooms.changed", room.pk)


# --- Courses: the platform side drives membership of course rooms ---------------------


def course_room_open(*, actor: User, course: Course) -> ChatRoom:
    """Open the ``course`` room of a new course (called by courses.services)."""
    room = ChatRoom.objects.create(
        name=course.title[:NAME_MAX],
        description=f"Course room of {course.code}.",
        chat_type=ChatRoom.ChatType.COURSE,
        course=course,
        created_by=actor,
    )
    room = selectors.lock_room(room.pk)
    _room_event(
        room,
        actor=actor,
        sentence=f"Course room of {course.code} opened.",
        details={"action": "created"},
    )
    return room


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
                continue
            participant.user = user
            _remove(
                room,
                participant,
                actor=actor,
                sentence=f"{_name(user)} left the course.",
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
            _participant_event(
                room,
                "participant.updated",
                participant,
                actor=actor,
                sentence=f"{_name(user)} is now a {wanted}.",
                details={"action": "updated", "changes": {"role": wanted}},
            )
            continue
        participant, _ = _upsert_participant(room, user, wanted, enforce_limit=False)
        _joined(
            room,
            participant,
            actor=actor,
            sentence=f"{_name(user)} joined the course.",
            details={"action": "enrolled", "user_id": user.pk},
        )
