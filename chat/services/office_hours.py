"""Office hours in course and support rooms: the room's staff open and close them
and take the next student from the queue, which opens a private room between
them; students join and leave the queue. Every change of the queue is one
``queue.updated`` room event (keys and positions only: it names nobody)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from chat import errors, events, limits, policy, selectors, wire
from chat.models import ChatRoom, OfficeHours, QueueEntry
from chat.services.membership import participant_invite
from chat.services.messages import posting_participant
from chat.services.rooms import display, room_create
from chat.wire import Frame

if TYPE_CHECKING:
    from accounts.models import User

QUEUE_ROOM_TYPES = frozenset({ChatRoom.ChatType.COURSE, ChatRoom.ChatType.SUPPORT})


def _queue_room(room_id: int) -> ChatRoom:
    """The room under its row lock, if it can have office hours. Call inside the
    service's transaction."""
    room = selectors.lock_room(room_id)
    if room.chat_type not in QUEUE_ROOM_TYPES:
        raise errors.ValidationFailed(
            gettext_lazy("Office hours are for course and support rooms."),
            fields={"room": [gettext_lazy("Not a course or support room.")]},
        )
    if not room.is_active:
        raise errors.RoomArchived()
    return room


def _publish(room: ChatRoom) -> None:
    """The queue as it is now, to the room. Under the room's lock."""
    is_open = selectors.office_hours_open(room)
    payload = wire.queue_payload(room.pk, is_open, selectors.room_queue(room))
    events.append_room_event(room, Frame.QUEUE_UPDATED, {"queue": payload})


@transaction.atomic
def office_hours_set(*, actor: User, room: ChatRoom, is_open: object) -> bool:
    """Open or close the room's office hours (the room's staff). Closing ends every
    waiting place. Returns whether anything changed (and was published)."""
    if not isinstance(is_open, bool):
        raise errors.ValidationFailed(
            gettext_lazy("open must be a boolean."),
            fields={"open": [gettext_lazy("Not a boolean.")]},
        )
    policy.require_room_staff(actor, room, gettext_lazy("Only the room's staff hold office hours."))
    room = _queue_room(room.pk)
    hours, _ = OfficeHours.objects.get_or_create(room=room)
    if hours.is_open == is_open:
        return False
    hours.is_open = is_open
    hours.changed_by = actor
    hours.save()
    if not is_open:
        QueueEntry.objects.filter(room=room, status=QueueEntry.Status.WAITING).update(
            status=QueueEntry.Status.CLOSED, ended_at=timezone.now()
        )
    _publish(room)
    return True


@transaction.atomic
def queue_join(*, actor: User, room: ChatRoom) -> tuple[QueueEntry, bool]:
    """Take a place at the end of the queue (whoever may post, the room's staff
    aside, while the office hours are open); the place and whether it is new."""
    participant = posting_participant(actor, room)
    room = _queue_room(room.pk)
    if policy.is_room_staff(actor, room, participant):
        raise errors.Forbidden(
            gettext_lazy("The room's staff take students from the queue; they do not join it.")
        )
    if not selectors.office_hours_open(room):
        raise errors.Forbidden(gettext_lazy("The office hours are closed."))
    existing = QueueEntry.objects.filter(
        room=room, user=actor, status=QueueEntry.Status.WAITING
    ).first()
    if existing is not None:
        return existing, False
    entry = QueueEntry.objects.create(room=room, user=actor)
    _publish(room)
    return entry, True


@transaction.atomic
def queue_leave(*, actor: User, room: ChatRoom) -> bool:
    """Give up one's place; True if there was one (and the change was published)."""
    room = selectors.lock_room(room.pk)
    left = QueueEntry.objects.filter(
        room=room, user=actor, status=QueueEntry.Status.WAITING
    ).update(status=QueueEntry.Status.LEFT, ended_at=timezone.now())
    if left:
        _publish(room)
    return bool(left)


def place_ended(room: ChatRoom, user_id: int) -> None:
    """The user is no longer in the room (left, removed, banned, unenrolled): their
    waiting place ends with it, so the staff never take them into a private room.
    Under the room's lock."""
    if room.chat_type not in QUEUE_ROOM_TYPES:
        return
    ended = QueueEntry.objects.filter(
        room=room, user_id=user_id, status=QueueEntry.Status.WAITING
    ).update(status=QueueEntry.Status.LEFT, ended_at=timezone.now())
    if ended:
        _publish(room)


@transaction.atomic
def queue_next(*, actor: User, room: ChatRoom) -> QueueEntry:
    """Take the first student of the queue (the room's staff): a private room opens
    between them (``room_create`` and ``participant_invite``, with their own
    events), the queue moves up, and the student's own stream gets
    ``queue.taken`` (``taken_frame``) with the new room."""
    policy.require_room_staff(
        actor, room, gettext_lazy("Only the room's staff take students from the queue.")
    )
    room = _queue_room(room.pk)
    entry = (
        QueueEntry.objects.select_for_update()
        .filter(room=room, status=QueueEntry.Status.WAITING)
        .select_related("user")
        .order_by("id")
        .first()
    )
    if entry is None:
        raise errors.ValidationFailed(
            gettext_lazy("Nobody is waiting."), fields={"queue": [gettext_lazy("Empty.")]}
        )
    student = entry.user
    name = f"Office hours: {display(student)} with {display(actor)}"[: limits.ROOM_NAME_MAX]
    private = room_create(
        actor=actor,
        name=name,
        chat_type=ChatRoom.ChatType.PRIVATE,
        description=f"From {room.name}.",
    )
    participant_invite(actor=actor, room=private, user=student)
    entry.status = QueueEntry.Status.TAKEN
    entry.taken_by = actor
    entry.private_room = private
    entry.ended_at = timezone.now()
    entry.save(update_fields=["status", "taken_by", "private_room", "ended_at"])
    _publish(room)
    events.publish_to_user(student.pk, taken_frame(entry))
    return entry


def taken_frame(entry: QueueEntry) -> dict[str, Any]:
    """``queue.taken`` of an entry taken from its room's queue: to the student's
    presence sockets, and the answer to the socket that took them."""
    assert entry.private_room_id is not None and entry.taken_by is not None  # taken
    private = ChatRoom.objects.select_related("created_by").get(pk=entry.private_room_id)
    return wire.queue_taken(
        entry.room_id,
        wire.room_payload(private),
        wire.user_payload(entry.taken_by),
        wire.user_payload(entry.user),
    )
