"""Who may see, join, post, edit, delete and moderate. The only home of these rules.

REST views, consumers, services and the admin all ask this module. A room the
user may not see is reported as NotFound by the callers, never as Forbidden.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy

from chat import errors
from chat.compiled import CompiledQuery
from chat.models import ChatMessage, ChatParticipant, ChatRoom, RoomBan, StaffQuestion
from courses.models import Enrollment

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

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


def user_kind(user: User) -> tuple[bool, bool, bool]:
    """What ``visible_rooms_q`` depends on besides the user's id: superuser,
    staff, support staff (for an active, signed-in user)."""
    return (user.is_superuser, user.is_staff, is_support_staff(user))


def user_of_kind(user_id: int, kind: tuple[bool, bool, bool]) -> User:
    """An active user with that id and ``user_kind``, not read from the database:
    what a filter compiled once per kind of user is built for."""
    superuser, staff, support = kind
    user = get_user_model()(pk=user_id, is_active=True, is_superuser=superuser, is_staff=staff)
    user._is_support_staff = support  # type: ignore[attr-defined]  # is_support_staff's cache
    return user


def visible_rooms_q(user: User) -> Q:
    """A filter for ChatRoom querysets: the rooms ``user`` may see."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    banned = Q(pk__in=RoomBan.objects.filter(user=user).values("room_id"))
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
    return q & ~banned


def participant_of(user: User, room: ChatRoom) -> ChatParticipant | None:
    """The user's active participant row in the room, if any."""
    if not user.is_authenticated:
        return None
    return ChatParticipant.objects.filter(room=room, user=user, is_active=True).first()


def _visible_room_of_kind(kind: tuple[bool, bool, bool]) -> CompiledQuery[ChatRoom]:
    superuser = kind[0]
    if superuser:  # every room: the filter names no user
        return CompiledQuery(lambda room_id: ChatRoom.objects.filter(pk=room_id), ("room_id",))

    def build(user_id: int, room_id: int) -> QuerySet[ChatRoom]:
        return ChatRoom.objects.filter(visible_rooms_q(user_of_kind(user_id, kind)), pk=room_id)

    return CompiledQuery(build, ("user_id", "room_id"))


# ``visible_rooms_q`` for one room, compiled once per kind of user: every frame of a
# room socket and its periodic re-check ask it (building that filter costs about a
# millisecond of Python, running it a fraction of that).
_VISIBLE_ROOM = {
    (superuser, staff, support): _visible_room_of_kind((superuser, staff, support))
    for superuser, staff, support in itertools.product((False, True), repeat=3)
}


def visible_room(user: User, room_id: int) -> ChatRoom | None:
    """The bare room ``room_id`` if ``user`` may see it (``visible_rooms_q``), else None."""
    if not user.is_authenticated or not user.is_active:
        return None
    kind = user_kind(user)
    if kind[0]:
        return _VISIBLE_ROOM[kind].first(room_id=room_id)
    return _VISIBLE_ROOM[kind].first(user_id=user.pk, room_id=room_id)


def can_see_room(user: User, room: ChatRoom) -> bool:
    return visible_room(user, room.pk) is not None


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


def require_moderator(user: User, room: ChatRoom, why: StrOrPromise) -> None:
    """Raise Forbidden(``why``) unless ``user`` may moderate ``room``."""
    if not can_moderate(user, room):
        raise errors.Forbidden(why)


def require_admin(user: User, room: ChatRoom, why: StrOrPromise) -> None:
    """Raise Forbidden(``why``) unless ``user`` administers ``room``."""
    if not can_administer(user, room):
        raise errors.Forbidden(why)


def is_room_staff(user: User, room: ChatRoom, participant: ChatParticipant | None = None) -> bool:
    """Who runs a room's tools (pins, seen counts, closing polls, office hours): its
    moderators and admins, its course's instructors, ``is_staff`` users, and support
    staff in support rooms. Callers fetch the room through the user first, so a room
    staff may not see is still NotFound."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff or can_moderate(user, room, participant):
        return True
    return room.chat_type == ChatRoom.ChatType.SUPPORT and is_support_staff(user)


def require_room_staff(user: User, room: ChatRoom, why: StrOrPromise) -> None:
    """Raise Forbidden(``why``) unless ``user`` is staff of ``room`` (``is_room_staff``)."""
    if not is_room_staff(user, room):
        raise errors.Forbidden(why)


def poll_create_denial(
    user: User, room: ChatRoom, participant: ChatParticipant | None
) -> errors.ChatError | None:
    """Polls: whoever may post, except in course rooms, where they are the teaching
    staff's (instructors, moderators, staff) so a class is not flooded with them."""
    denial = post_denial(room, participant)
    if denial is not None:
        return denial
    if room.chat_type == ChatRoom.ChatType.COURSE and not is_room_staff(user, room, participant):
        return errors.Forbidden(gettext_lazy("In a course room only its staff create polls."))
    return None


def slow_mode_exempt(user: User, room: ChatRoom, participant: ChatParticipant | None) -> bool:
    """Slow mode holds members back; moderators, admins, the course's instructors
    and staff post freely (as Discord exempts those who manage the channel)."""
    return user.is_staff or can_moderate(user, room, participant)


# Bans apply where anyone may come back by themselves: public rooms (join) and
# support rooms (support staff). A course room's membership follows enrolment
# and a private room is by invitation only: removing is enough there.
BANNABLE_TYPES = frozenset({ChatRoom.ChatType.PUBLIC, ChatRoom.ChatType.SUPPORT})


def ban_denial(actor: User, room: ChatRoom, target: User) -> errors.ChatError | None:
    """Why ``actor`` (a moderator of ``room``) may not ban ``target`` there, or None."""
    if room.chat_type not in BANNABLE_TYPES:
        return errors.Forbidden(
            gettext_lazy("Bans apply to public and support rooms; remove the participant instead.")
        )
    if target.pk == actor.pk:
        return errors.Forbidden(gettext_lazy("You cannot ban yourself."))
    helps_here = room.chat_type == ChatRoom.ChatType.SUPPORT and is_support_staff(target)
    if target.is_staff or helps_here or can_moderate(target, room):
        return errors.Forbidden(gettext_lazy("Moderators and staff cannot be banned."))
    return None


def can_read_audit(user: User, room: ChatRoom) -> bool:
    """The room's moderation log: its moderators and admins, and staff."""
    return can_moderate(user, room) or (user.is_active and user.is_staff)


def can_review_reports(user: User, room: ChatRoom) -> bool:
    """The room's report queue: its moderators and admins, and staff (as the audit log)."""
    return can_read_audit(user, room)


def reviewable_reports_q(user: User) -> Q:
    """A filter for MessageReport querysets: never the reports on ``user``'s own
    messages, even for a moderator or staff (others review those, and the reporter
    stays unknown to the author): the REST queue, a report's page, the admin."""
    return ~Q(message__sender_id=user.pk)


def report_denial(user: User, message: ChatMessage) -> errors.ChatError | None:
    """Why ``user``, who sees the message's room, may not report it (None: they may)."""
    if message.is_deleted:
        return errors.NotFound(gettext_lazy("No such message."))
    if message.message_type == ChatMessage.MessageType.SYSTEM:
        return errors.Forbidden(gettext_lazy("System messages cannot be reported."))
    if message.sender_id == user.pk:
        return errors.Forbidden(gettext_lazy("You cannot report your own message."))
    return None


def can_create_room(user: User, chat_type: str, course_id: int | None) -> bool:
    if chat_type == ChatRoom.ChatType.COURSE:
        return user.is_staff or is_course_instructor(user, course_id)
    return user.is_authenticated and user.is_active


def post_denial(room: ChatRoom, participant: ChatParticipant | None) -> errors.ChatError | None:
    """Why the holder of ``participant`` may not post in ``room``, or None if they may."""
    if not room.is_active:
        return errors.RoomArchived()
    if participant is None or not participant.is_active:
        return errors.Forbidden(gettext_lazy("Join the room to post in it."))
    if participant.is_muted:
        return errors.Muted()
    return None


def notifications_denial(participant: ChatParticipant | None) -> errors.ChatError | None:
    """Why the holder of ``participant`` may not choose the room's notifications: only
    active participants have them (an archived room keeps them; a muted one too)."""
    if participant is None or not participant.is_active:
        return errors.Forbidden(gettext_lazy("Join the room to choose its notifications."))
    return None


def edit_denial(user: User, message: ChatMessage, now: datetime) -> errors.ChatError | None:
    if message.message_type == ChatMessage.MessageType.SYSTEM:
        return errors.Forbidden(gettext_lazy("A system message cannot be edited."))
    if message.sender_id != user.pk:
        return errors.Forbidden(gettext_lazy("Only the sender may edit this message."))
    if message.is_deleted:
        return errors.NotFound()
    if message.message_type == ChatMessage.MessageType.POLL:
        return errors.Forbidden(gettext_lazy("A poll cannot be edited; close it and post another."))
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
        return errors.Forbidden(
            gettext_lazy("Only the sender or a moderator may delete this message.")
        )
    if participant is not None and participant.is_muted:
        return errors.Muted()
    if now - message.created_at > timedelta(seconds=settings.CHAT_MESSAGE_DELETE_TIMEOUT):
        return errors.EditWindowClosed(gettext_lazy("The time to delete this message has passed."))
    return None


def can_mention_everyone(user: User, room: ChatRoom) -> bool:
    """``@all`` and ``@here`` are for moderators only."""
    return can_moderate(user, room)


# --- Questions ----------------------------------------------------------------------------


def takes_questions(room: ChatRoom) -> bool:
    """Course rooms, and rooms with an active moderator or admin to endorse answers."""
    if room.chat_type == ChatRoom.ChatType.COURSE:
        return True
    return ChatParticipant.objects.filter(
        room=room, is_active=True, role__in=MODERATOR_ROLES
    ).exists()


def can_endorse(user: User, room: ChatRoom) -> bool:
    """Who speaks for a room's teaching: its moderators and admins, the instructors
    of its course, and staff (``is_staff``) in the rooms they see."""
    if can_moderate(user, room):
        return True
    return user.is_active and user.is_staff and can_see_room(user, room)


def question_denial(user: User, message: ChatMessage) -> errors.ChatError | None:
    """Why ``user`` may not mark ``message`` a question (or unmark it): its sender
    and those who endorse answers may, in an active room that takes questions."""
    if message.is_deleted or message.message_type == ChatMessage.MessageType.SYSTEM:
        return errors.ValidationFailed(
            gettext_lazy("Only a posted message can be a question."),
            fields={"message_id": [gettext_lazy("Not a post.")]},
        )
    if not message.room.is_active:
        return errors.RoomArchived()
    if not can_endorse(user, message.room):
        if message.sender_id != user.pk:
            return errors.Forbidden(
                gettext_lazy("Only the sender or the room's staff may mark a question.")
            )
        # The sender marks their own post as they would write one: a member, unmuted.
        denial = post_denial(message.room, participant_of(user, message.room))
        if denial is not None:
            return denial
    if not takes_questions(message.room):
        return errors.ValidationFailed(
            gettext_lazy("Questions are for course rooms and rooms with moderators."),
            fields={"is_question": [gettext_lazy("This room takes no questions.")]},
        )
    return None


def endorse_denial(user: User, answer: ChatMessage) -> errors.ChatError | None:
    """Why ``user`` may not endorse (or withdraw the endorsement of) ``answer``:
    a reply, not deleted, to a question, in an active room, by its staff."""
    if not answer.room.is_active:
        return errors.RoomArchived()
    if not can_endorse(user, answer.room):
        return errors.Forbidden(
            gettext_lazy("Only the room's moderators, instructors and staff endorse.")
        )
    if answer.is_deleted:
        return errors.NotFound(gettext_lazy("No such message."))
    question = answer.reply_to
    if question is None or question.is_deleted or not question.is_question:
        return errors.ValidationFailed(
            gettext_lazy("Only a reply to a question can be its endorsed answer."),
            fields={"message_id": [gettext_lazy("Not a reply to a question.")]},
        )
    return None


# --- Private questions to staff --------------------------------------------------------------


def staff_ask_denial(
    user: User, room: ChatRoom, participant: ChatParticipant | None
) -> errors.ChatError | None:
    """Why ``user`` may not ask ``room``'s staff privately: course rooms only, by
    a member who may post there and who is not one of its staff."""
    if room.chat_type != ChatRoom.ChatType.COURSE:
        return errors.ValidationFailed(
            gettext_lazy("Private questions to staff are for course rooms."),
            fields={"room": [gettext_lazy("Not a course room.")]},
        )
    if can_endorse(user, room):
        return errors.Forbidden(
            gettext_lazy("The room's staff answer private questions; they do not ask them.")
        )
    return post_denial(room, participant)


def can_see_staff_question(user: User, question: StaffQuestion) -> bool:
    """Its asker, and the room's staff (``can_endorse``); nobody else, not even
    other members of the room."""
    return question.asker_id == user.pk or can_endorse(user, question.room)


def staff_answer_denial(user: User, question: StaffQuestion) -> errors.ChatError | None:
    if not question.room.is_active:
        return errors.RoomArchived()
    if not can_endorse(user, question.room):
        return errors.Forbidden(
            gettext_lazy("Only the room's moderators, instructors and staff answer.")
        )
    return None


def staff_user_ids(room: ChatRoom) -> list[int]:
    """Who hears of a new private question in ``room``: its active moderators and
    admins, the instructors of its course and its ``is_staff`` members (staff who
    are not members answer from the queue)."""
    participants = ChatParticipant.objects.filter(room=room, is_active=True, user__is_active=True)
    ids = set(
        participants.filter(Q(role__in=MODERATOR_ROLES) | Q(user__is_staff=True)).values_list(
            "user_id", flat=True
        )
    )
    if room.course_id is not None:
        ids |= set(
            Enrollment.objects.filter(
                course_id=room.course_id, role=Enrollment.Role.INSTRUCTOR, user__is_active=True
            ).values_list("user_id", flat=True)
        )
    return sorted(ids)


# --- Anonymous posts -------------------------------------------------------------------------


def anonymous_denial(user: User, room: ChatRoom) -> errors.ChatError | None:
    """Why ``user`` may not post anonymously in ``room``: course rooms only, and
    only its students (its staff speak under their names)."""
    if room.chat_type != ChatRoom.ChatType.COURSE:
        return errors.ValidationFailed(
            gettext_lazy("Anonymous posts are for course rooms."),
            fields={"anonymous": [gettext_lazy("This room takes no anonymous posts.")]},
        )
    if can_endorse(user, room):
        return errors.Forbidden(gettext_lazy("The room's staff post under their names."))
    return None


def sees_anonymous_authors(user: User, room: ChatRoom) -> bool:
    """Who learns the author of any anonymous post in ``room``: its staff (moderators
    and admins, the course's instructors, ``is_staff``). Each author also sees their own."""
    return can_endorse(user, room)


def anonymous_authors_rooms_q(user: User) -> Q:
    """A filter for ChatRoom querysets: the rooms where ``user`` sees the authors of
    anonymous posts (``sees_anonymous_authors``), for reads over many rooms."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser or user.is_staff:
        return visible_rooms_q(user)
    return Q(
        pk__in=ChatParticipant.objects.filter(
            user=user, is_active=True, role__in=MODERATOR_ROLES
        ).values("room_id")
    ) | Q(
        chat_type=ChatRoom.ChatType.COURSE,
        course_id__in=Enrollment.objects.filter(user=user, role=Enrollment.Role.INSTRUCTOR).values(
            "course_id"
        ),
    )
