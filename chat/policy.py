"""Who may see, join, post, edit, delete and moderate. The only home of these rules.

REST views, consumers, services and the admin all ask this module. A room the
user may not see is reported as NotFound by the callers, never as Forbidden.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q

from chat import errors
from chat.models import ChatMessage, ChatParticipant, ChatRoom
from courses.models import Enrollment

if TYPE_CHECKING:
    from accounts.models import User

SUPPORT_GROUP = "support"
MODERATOR_ROLES = frozenset({ChatParticipant.Role.MODERATOR, ChatParticipant.Role.ADMIN})


def is_support_staff(user: User) -> bool:
    """Support staff: ``is_staff`` users and members of the ``support`` group."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff:
        return True
    cached = getattr(user, "_is_support_staff", None)
    if cached is None:
        cached = user.groups.filter(name=SUPPORT_GROUP).exists()
        user._is_support_staff = cached  # type: ignore[attr-defined]
    return bool(cached)


def visible_rooms_q(user: User) -> Q:
    """A filter for ChatRoom querysets: the rooms ``user`` may see."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    q = (
        Q(chat_type=ChatRoom.ChatType.PUBLIC)
        | Q(pk__in=ChatParticipant.objects.filter(user=user, is_active=True).values("room_id"))
        | Q(
            chat_type=ChatRoom.ChatType.COURSE,
            course_id__in=Enrollment.objects.filter(user=user).values("course_id"),
        )
        | Q(chat_type=ChatRoom.ChatType.SUPPORT, created_by=user)
    )
    if user.is_staff:
        q |= Q(chat_type=ChatRoom.ChatType.COURSE)
    if is_support_staff(user):
        q |= Q(chat_type=ChatRoom.ChatType.SUPPORT)
    return q


def participant_of(user: User, room: ChatRoom) -> ChatParticipant | None:
    """The user's active participant row in the room, if any."""
    if not user.is_authenticated:
        return None
    return ChatParticipant.objects.filter(room=room, user=user, is_active=True).first()


def can_see_room(user: User, room: ChatRoom) -> bool:
    return ChatRoom.objects.filter(visible_rooms_q(user), pk=room.pk).exists()


def is_course_instructor(user: User, course_id: int | None) -> bool:
    if course_id is None or not user.is_authenticated:
        return False
    return Enrollment.objects.filter(
        course_id=course_id, user=user, role=Enrollment.Role.INSTRUCTOR
    ).exists()


def can_join_room(user: User, room: ChatRoom) -> bool:
    """Self-service joining: public rooms, one's course rooms, support rooms for staff.

    Private rooms are joined only by invitation.
    """
    if room.chat_type == ChatRoom.ChatType.PRIVATE:
        return False
    return can_see_room(user, room)


def can_moderate(user: User, room: ChatRoom, participant: ChatParticipant | None = None) -> bool:
    """Room moderators and admins, instructors of the room's course, and superusers."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if participant is None:
        participant = participant_of(user, room)
    if participant is not None and participant.role in MODERATOR_ROLES:
        return True
    return room.chat_type == ChatRoom.ChatType.COURSE and is_course_instructor(user, room.course_id)


def can_administer(user: User, room: ChatRoom, participant: ChatParticipant | None = None) -> bool:
    """Room admins (and superusers): archive the room, grant the admin role."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if participant is None:
        participant = participant_of(user, room)
    return participant is not None and participant.role == ChatParticipant.Role.ADMIN


def require_moderator(user: User, room: ChatRoom, why: str) -> None:
    """Raise Forbidden(``why``) unless ``user`` may moderate ``room``."""
    if not can_moderate(user, room):
        raise errors.Forbidden(why)


def require_admin(user: User, room: ChatRoom, why: str) -> None:
    """Raise Forbidden(``why``) unless ``user`` administers ``room``."""
    if not can_administer(user, room):
        raise errors.Forbidden(why)


def can_create_room(user: User, chat_type: str, course_id: int | None) -> bool:
    if chat_type == ChatRoom.ChatType.COURSE:
        return user.is_staff or is_course_instructor(user, course_id)
    return user.is_authenticated and user.is_active


def post_denial(room: ChatRoom, participant: ChatParticipant | None) -> errors.ChatError | None:
    """Why the holder of ``participant`` may not post in ``room``, or None if they may."""
    if not room.is_active:
        return errors.RoomArchived()
    if participant is None or not participant.is_active:
        return errors.Forbidden("Join the room to post in it.")
    if participant.is_muted:
        return errors.Muted()
    return None


def notifications_denial(participant: ChatParticipant | None) -> errors.ChatError | None:
    """Why the holder of ``participant`` may not choose the room's notifications: only
    active participants have them (an archived room keeps them; a muted one too)."""
    if participant is None or not participant.is_active:
        return errors.Forbidden("Join the room to choose its notifications.")
    return None


def edit_denial(user: User, message: ChatMessage, now: datetime) -> errors.ChatError | None:
    if message.sender_id != user.pk or message.message_type == ChatMessage.MessageType.SYSTEM:
        return errors.Forbidden("Only the sender may edit this message.")
    if message.is_deleted:
        return errors.NotFound()
    if not message.room.is_active:
        return errors.RoomArchived()
    if now - message.created_at > timedelta(seconds=settings.CHAT_MESSAGE_EDIT_TIMEOUT):
        return errors.EditWindowClosed()
    return None


def delete_denial(user: User, message: ChatMessage, now: datetime) -> errors.ChatError | None:
    """An archived room is read-only for everyone, moderators included; a muted
    sender may not delete (muted means no writes)."""
    if message.is_deleted:
        return errors.NotFound()
    if not message.room.is_active:
        return errors.RoomArchived()
    participant = participant_of(user, message.room)
    if can_moderate(user, message.room, participant):
        return None
    if message.sender_id != user.pk or message.message_type == ChatMessage.MessageType.SYSTEM:
        return errors.Forbidden("Only the sender or a moderator may delete this message.")
    if participant is not None and participant.is_muted:
        return errors.Muted()
    if now - message.created_at > timedelta(seconds=settings.CHAT_MESSAGE_DELETE_TIMEOUT):
        return errors.EditWindowClosed("The time to delete this message has passed.")
    return None


def can_mention_everyone(user: User, room: ChatRoom) -> bool:
    """``@all`` and ``@here`` are for moderators only."""
    return can_moderate(user, room)
