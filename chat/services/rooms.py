"""Room writes: create, update, archive, open a course room; and the room and
participant events with their ``system`` message, which membership writes too.

Each function checks policy, validates, and in one transaction locks the room
row, writes its rows and appends one RoomEvent (published after commit). Joins,
leaves, removals, role changes and room updates also write a ``system`` message,
carried in the same event under ``message``.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext_lazy

from chat import errors, events, limits, policy, selectors
from chat.errors import lazy_interpolate
from chat.models import ChatMessage, ChatParticipant, ChatRoom
from chat.services import audit, counters
from chat.wire import Frame, message_payload, participant_payload, room_payload

if TYPE_CHECKING:
    from accounts.models import User
    from courses.models import Course

Role = ChatParticipant.Role


def _clean_name(name: object) -> str:
    if not isinstance(name, str):
        raise errors.ValidationFailed(
            gettext_lazy("Name must be a string."), fields={"name": [gettext_lazy("Not a string.")]}
        )
    name = name.strip()
    if not name or len(name) > limits.ROOM_NAME_MAX or "\x00" in name:
        raise errors.ValidationFailed(
            lazy_interpolate(
                gettext_lazy("Name must be 1 to %(room_name_max)s characters."),
                {"room_name_max": limits.ROOM_NAME_MAX},
            ),
            fields={"name": [gettext_lazy("Invalid length.")]},
        )
    if not _readable(name):
        raise errors.ValidationFailed(
            gettext_lazy("Name must be visible text, without control characters."),
            fields={"name": [gettext_lazy("Not visible text.")]},
        )
    return name


# Bidirectional embeddings, overrides and isolates: they reorder what follows them,
# so a name could show as another room's.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_INVISIBLE = frozenset(("Cc", "Cf", "Zs", "Zl", "Zp"))


def _readable(name: str) -> bool:
    """No control character (a line break, a bell, a bidi override) and at least
    one character that shows (not only zero-width or spacing ones)."""
    if any(unicodedata.category(c) == "Cc" or c in _BIDI_CONTROLS for c in name):
        return False
    return any(unicodedata.category(c) not in _INVISIBLE for c in name)


def _clean_description(description: object) -> str:
    if not isinstance(description, str) or "\x00" in description:
        raise errors.ValidationFailed(
            gettext_lazy("Invalid description."), fields={"description": [gettext_lazy("Invalid.")]}
        )
    description = description.strip()
    if len(description) > limits.ROOM_DESCRIPTION_MAX:
        raise errors.ValidationFailed(
            lazy_interpolate(
                gettext_lazy("Description is limited to %(room_description_max)s characters."),
                {"room_description_max": limits.ROOM_DESCRIPTION_MAX},
            ),
            fields={"description": [gettext_lazy("Too long.")]},
        )
    return description


def _clean_max(value: object) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (1 <= value <= limits.ROOM_MAX_PARTICIPANTS_CEILING)
    ):
        raise errors.ValidationFailed(
            lazy_interpolate(
                gettext_lazy(
                    "max_participants must be between 1 and %(room_max_participants_ceiling)s."
                ),
                {"room_max_participants_ceiling": limits.ROOM_MAX_PARTICIPANTS_CEILING},
            ),
            fields={"max_participants": [gettext_lazy("Out of range.")]},
        )
    return value


def _clean_slow_mode(value: object) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (0 <= value <= limits.SLOW_MODE_MAX_SECONDS)
    ):
        raise errors.ValidationFailed(
            lazy_interpolate(
                gettext_lazy("slow_mode_seconds must be between 0 and %(slow_mode_max_seconds)s."),
                {"slow_mode_max_seconds": limits.SLOW_MODE_MAX_SECONDS},
            ),
            fields={"slow_mode_seconds": [gettext_lazy("Out of range.")]},
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


def display(user: User) -> str:
    return user.get_display_name()


def participant_event(
    room: ChatRoom,
    event_type: Frame,
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


def room_event(room: ChatRoom, *, actor: User, sentence: str, details: dict[str, Any]) -> None:
    message = system_message(room, actor=actor, content=sentence)
    fresh = selectors.with_participant_count(ChatRoom.objects.select_related("created_by")).get(
        pk=room.pk
    )
    fresh.last_seq = room.last_seq + 1  # the seq this very event takes
    events.append_room_event(
        room,
        Frame.ROOM_UPDATED,
        {
            "room": room_payload(fresh),
            "message": message_payload(selectors.message_load(message.pk)),
            "details": details,
        },
    )


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
            gettext_lazy("Unknown chat_type."),
            fields={
                "chat_type": [
                    lazy_interpolate(
                        gettext_lazy("Choose from %(values)s."),
                        {"values": ChatRoom.ChatType.values},
                    )
                ]
            },
        )
    if chat_type == ChatRoom.ChatType.COURSE and course is None:
        raise errors.ValidationFailed(
            gettext_lazy("A course room needs a course."),
            fields={"course": [gettext_lazy("Required for course rooms.")]},
        )
    if chat_type != ChatRoom.ChatType.COURSE and course is not None:
        raise errors.ValidationFailed(
            gettext_lazy("Only course rooms belong to a course."),
            fields={"course": [gettext_lazy("Not allowed here.")]},
        )
    if not policy.can_create_room(actor, chat_type, course.pk if course else None):
        raise errors.Forbidden(
            gettext_lazy("Only instructors of the course or staff may open a course room.")
        )
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
    participant_event(
        room,
        Frame.PARTICIPANT_JOINED,
        participant,
        actor=actor,
        sentence=f"{display(actor)} created the room.",
        details={"action": "created"},
    )
    # The creator's presence sockets follow the room at once (its unread counts,
    # its members' statuses), as a joiner's do.
    events.publish_user_control(actor.pk, "rooms.changed", room.pk)
    return room


@transaction.atomic
def room_update(
    *,
    actor: User,
    room: ChatRoom,
    name: str | None = None,
    description: str | None = None,
    max_participants: int | None = None,
    slow_mode_seconds: int | None = None,
) -> ChatRoom:
    """Change a room's settings (moderators and admins); one ``room.updated`` event.
    ``slow_mode_seconds``: the seconds a member waits between messages (0: off)."""
    room = selectors.lock_room(room.pk)
    policy.require_moderator(actor, room, gettext_lazy("Only moderators may change this room."))
    if not room.is_active:
        raise errors.RoomArchived()
    changes: dict[str, Any] = {}
    if name is not None and _clean_name(name) != room.name:
        changes["name"] = _clean_name(name)
    if description is not None and _clean_description(description) != room.description:
        changes["description"] = _clean_description(description)
    if max_participants is not None and _clean_max(max_participants) != room.max_participants:
        changes["max_participants"] = max_participants
    if slow_mode_seconds is not None and (
        _clean_slow_mode(slow_mode_seconds) != room.slow_mode_seconds
    ):
        changes["slow_mode_seconds"] = slow_mode_seconds
    if not changes:
        return room
    for field, value in changes.items():
        setattr(room, field, value)
    room.save(update_fields=[*changes, "updated_at"])
    audit.record(actor, room, audit.Action.ROOM_UPDATE, details={"changes": changes})
    if "name" in changes:
        sentence = f"{display(actor)} renamed the room to “{room.name}”."
    elif list(changes) == ["slow_mode_seconds"]:
        sentence = (
            f"{display(actor)} set slow mode to {room.slow_mode_seconds} seconds."
            if room.slow_mode_seconds
            else f"{display(actor)} turned slow mode off."
        )
    else:
        sentence = f"{display(actor)} updated the room's {', '.join(sorted(changes))}."
    room_event(
        room, actor=actor, sentence=sentence, details={"action": "updated", "changes": changes}
    )
    return room


@transaction.atomic
def room_archive(*, actor: User, room: ChatRoom) -> ChatRoom:
    """Archive (room admins): history stays readable, posting is refused."""
    room = selectors.lock_room(room.pk)
    policy.require_admin(actor, room, gettext_lazy("Only the room's admins may archive it."))
    if not room.is_active:
        return room
    room.is_active = False
    room.save(update_fields=["is_active", "updated_at"])
    audit.record(actor, room, audit.Action.ARCHIVE)
    room_event(
        room,
        actor=actor,
        sentence=f"{display(actor)} archived the room.",
        details={"action": "archived"},
    )
    return room


def course_room_open(*, actor: User, course: Course) -> ChatRoom:
    """Open the ``course`` room of a new course (called by courses.services)."""
    room = ChatRoom.objects.create(
        name=course.title[: limits.ROOM_NAME_MAX],
        description=f"Course room of {course.code}.",
        chat_type=ChatRoom.ChatType.COURSE,
        course=course,
        created_by=actor,
    )
    room = selectors.lock_room(room.pk)
    room_event(
        room,
        actor=actor,
        sentence=f"Course room of {course.code} opened.",
        details={"action": "created"},
    )
    return room
