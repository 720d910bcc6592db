"""Polls: a ``poll`` message carries one; members vote and change their vote, the
creator or the room's staff close it. Every change is one ``poll.updated``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy

from chat import errors, events, limits, policy, selectors
from chat.errors import lazy_interpolate
from chat.models import ChatMessage, ChatRoom, Poll, PollOption, PollVote
from chat.rendering import render_content
from chat.services import counters
from chat.services.messages import (
    SendResult,
    check_slow_mode,
    clean_client_id,
    posting_participant,
)
from chat.wire import Frame, message_payload, poll_payload

if TYPE_CHECKING:
    from accounts.models import User


def _text(value: object, field: str, limit: int) -> str:
    if not isinstance(value, str) or "\x00" in value or not value.strip():
        raise errors.ValidationFailed(
            lazy_interpolate(gettext_lazy("%(field)s must be a non-empty text."), {"field": field}),
            fields={field: [gettext_lazy("This field may not be blank.")]},
        )
    value = value.strip()
    if len(value) > limit:
        raise errors.ValidationFailed(
            lazy_interpolate(
                gettext_lazy("%(field)s is limited to %(limit)s characters."),
                {"field": field, "limit": limit},
            ),
            fields={
                field: [
                    lazy_interpolate(
                        gettext_lazy("Ensure this field has no more than %(limit)s characters."),
                        {"limit": limit},
                    )
                ]
            },
        )
    return value


def _flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise errors.ValidationFailed(
            lazy_interpolate(gettext_lazy("%(field)s must be a boolean."), {"field": field}),
            fields={field: [gettext_lazy("Not a boolean.")]},
        )
    return value


def _options(value: object) -> list[str]:
    low, high = limits.POLL_OPTIONS_MIN, limits.POLL_OPTIONS_MAX
    if not isinstance(value, list) or not low <= len(value) <= high:
        raise errors.ValidationFailed(
            lazy_interpolate(
                gettext_lazy("A poll has %(low)s to %(high)s options."), {"low": low, "high": high}
            ),
            fields={"options": [gettext_lazy("Wrong number of options.")]},
        )
    texts = [_text(item, "options", limits.POLL_OPTION_MAX) for item in value]
    if len({text.casefold() for text in texts}) != len(texts):
        raise errors.ValidationFailed(
            gettext_lazy("A poll's options must differ."),
            fields={"options": [gettext_lazy("Duplicate option.")]},
        )
    return texts


def _closes_at(value: object) -> datetime | None:
    if value is None:
        return None
    when = parse_datetime(value) if isinstance(value, str) else value
    if not isinstance(when, datetime) or timezone.is_naive(when):
        raise errors.ValidationFailed(
            gettext_lazy("closes_at must be a date and time with a time zone."),
            fields={"closes_at": [gettext_lazy("Not a date and time with a time zone.")]},
        )
    if when <= timezone.now():
        raise errors.ValidationFailed(
            gettext_lazy("closes_at must be in the future."),
            fields={"closes_at": [gettext_lazy("In the past.")]},
        )
    return when


def poll_create(
    *,
    actor: User,
    room: ChatRoom,
    question: object,
    options: object,
    allows_multiple: object = False,
    is_anonymous: object = False,
    closes_at: object = None,
    client_id: object = None,
) -> SendResult:
    """Post a ``poll`` message (its content is the question) carrying a poll of 2 to
    10 options. Who may: ``policy.poll_create_denial``. Idempotent per sender and
    ``client_id``, as ``message_send``; published as ``message.created``."""
    client_id = clean_client_id(client_id)
    if client_id is not None:
        # A repeat answers with the first poll, even to a sender muted since.
        existing = ChatMessage.objects.filter(sender=actor, client_id=client_id).first()
        if existing is not None:
            if existing.room_id != room.pk or existing.message_type != ChatMessage.MessageType.POLL:
                raise errors.ValidationFailed(
                    gettext_lazy("This client_id was already used for another message."),
                    fields={"client_id": [gettext_lazy("Already used.")]},
                )
            return SendResult(selectors.message_load(existing.pk), created=False)
    participant = posting_participant(actor, room)
    denial = policy.poll_create_denial(actor, room, participant)
    if denial is not None:
        raise denial
    text = _text(question, "question", limits.POLL_QUESTION_MAX)
    choices = _options(options)
    multiple = _flag(allows_multiple, "allows_multiple")
    anonymous = _flag(is_anonymous, "is_anonymous")
    closing = _closes_at(closes_at)
    try:
        with transaction.atomic():
            room = selectors.lock_room(room.pk)
            participant = posting_participant(actor, room)
            denial = policy.poll_create_denial(actor, room, participant)
            if denial is not None:
                raise denial
            check_slow_mode(actor, room, participant)  # a poll is a message
            message = ChatMessage.objects.create(
                room=room,
                sender=actor,
                message_type=ChatMessage.MessageType.POLL,
                content=text,
                content_html=render_content(text),
                client_id=client_id,
            )
            counters.message_added(message)
            poll = Poll.objects.create(
                message=message,
                question=text,
                allows_multiple=multiple,
                is_anonymous=anonymous,
                closes_at=closing,
            )
            PollOption.objects.bulk_create(
                PollOption(poll=poll, position=number, text=choice)
                for number, choice in enumerate(choices)
            )
            message = selectors.message_load(message.pk)
            events.append_room_event(
                room, Frame.MESSAGE_CREATED, {"message": message_payload(message)}
            )
    except IntegrityError:
        existing = ChatMessage.objects.filter(sender=actor, client_id=client_id).first()
        if client_id is None or existing is None:
            raise
        return SendResult(selectors.message_load(existing.pk), created=False)
    return SendResult(message, created=True)


def _option_ids(value: object) -> list[int]:
    """The options voted for: ids, or their text (as REST and the other frames take ids)."""
    ids = [selectors.as_id(item) for item in value] if isinstance(value, list) else [None]
    if None in ids:
        raise errors.ValidationFailed(
            gettext_lazy("option_ids must be a list of option ids."),
            fields={"option_ids": [gettext_lazy("Not a list of ids.")]},
        )
    if len(set(ids)) != len(ids):
        raise errors.ValidationFailed(
            gettext_lazy("option_ids names an option twice."),
            fields={"option_ids": [gettext_lazy("Duplicate option.")]},
        )
    return [item for item in ids if item is not None]


def _locked_poll(poll: Poll) -> tuple[ChatRoom, Poll]:
    """The poll's room under its row lock, and the poll read again; NotFound once its
    message is deleted. Call inside the service's transaction."""
    room = selectors.lock_room(poll.message.room_id)
    poll = Poll.objects.select_related("message").get(pk=poll.pk)
    if poll.message.is_deleted:
        raise errors.NotFound(gettext_lazy("No such poll."))
    return room, poll


def _published(room: ChatRoom, poll: Poll) -> Poll:
    poll = selectors.poll_load(poll.pk)
    events.append_room_event(room, Frame.POLL_UPDATED, {"poll": poll_payload(poll)})
    return poll


@transaction.atomic
def poll_vote(*, actor: User, poll: Poll, option_ids: object) -> Poll:
    """Set the actor's vote to ``option_ids`` (one unless the poll allows several;
    an empty list takes the vote back). Whoever may post in the room may vote while
    the poll is open. Publishes ``poll.updated`` when the vote changed."""
    chosen = _option_ids(option_ids)
    room, poll = _locked_poll(poll)
    posting_participant(actor, room)
    if poll.closed_at is not None or (
        poll.closes_at is not None and poll.closes_at <= timezone.now()
    ):
        raise errors.Forbidden(gettext_lazy("This poll is closed."))
    if len(chosen) > 1 and not poll.allows_multiple:
        raise errors.ValidationFailed(
            gettext_lazy("This poll takes one option."),
            fields={"option_ids": [gettext_lazy("Only one option.")]},
        )
    valid = set(PollOption.objects.filter(poll=poll).values_list("pk", flat=True))
    if not set(chosen) <= valid:
        raise errors.ValidationFailed(
            gettext_lazy("option_ids must be options of this poll."),
            fields={"option_ids": [gettext_lazy("Not an option of this poll.")]},
        )
    current = set(
        PollVote.objects.filter(poll=poll, user=actor).values_list("option_id", flat=True)
    )
    if current == set(chosen):
        return selectors.poll_load(poll.pk)
    PollVote.objects.filter(poll=poll, user=actor).exclude(option_id__in=chosen).delete()
    PollVote.objects.bulk_create(
        PollVote(poll=poll, option_id=option_id, user=actor)
        for option_id in chosen
        if option_id not in current
    )
    return _published(room, poll)


@transaction.atomic
def poll_close(*, actor: User, poll: Poll) -> Poll:
    """Close the poll: its creator or the room's staff. Publishes ``poll.updated``
    unless it was closed already."""
    room, poll = _locked_poll(poll)
    if not room.is_active:
        raise errors.RoomArchived()
    if poll.message.sender_id != actor.pk and not policy.is_room_staff(actor, room):
        raise errors.Forbidden(
            gettext_lazy("Only the poll's creator or the room's staff close it.")
        )
    if poll.closed_at is not None:
        return selectors.poll_load(poll.pk)
    poll.closed_at = timezone.now()
    poll.closed_by = actor
    poll.save(update_fields=["closed_at", "closed_by"])
    return _published(room, poll)


def polls_close_due(now: datetime | None = None, *, limit: int = 100) -> list[int]:
    """Close the polls whose ``closes_at`` has passed (``closed_at = closes_at``, no
    ``closed_by``), each with its ``poll.updated``, so the rooms' sockets learn it at
    that time and not at the next vote. Every server process's sweep runs it: each poll
    is checked again under its room's row lock, so two processes never close it
    twice. Returns the closed polls' ids."""
    now = now or timezone.now()
    due = list(
        Poll.objects.filter(closed_at__isnull=True, closes_at__lte=now, message__is_deleted=False)
        .order_by("closes_at")
        .values_list("pk", flat=True)[:limit]
    )
    closed = []
    for poll_id in due:
        with transaction.atomic():
            poll = Poll.objects.select_related("message").filter(pk=poll_id).first()
            if poll is None:
                continue
            try:
                room, poll = _locked_poll(poll)
            except errors.NotFound:
                continue
            if poll.closed_at is not None or poll.closes_at is None or poll.closes_at > now:
                continue
            poll.closed_at = poll.closes_at
            poll.save(update_fields=["closed_at"])
            _published(room, poll)
            closed.append(poll.pk)
    return closed
