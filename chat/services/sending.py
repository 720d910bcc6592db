"""Sending text messages, one or many to a room in one transaction.

A busy room's socket hands over every ``message.send`` its senders queued
meanwhile, and they are written together: one row lock, one commit, and a
constant number of queries whatever their count. Each request is still
checked and answered on its own, with the same rules and the same errors as a
single send (``message_send`` in chat.services.messages uses this path for
text): access first (``not_found`` for a room the sender may not see, then
archived, not a participant, muted), then validation, then the ``client_id``
deduplication, which is scoped to the room: an id used before in another room
is refused without showing that message; then the room's slow mode (a resent
``client_id`` is answered whatever it says).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from chat import errors, events, policy, selectors, wire
from chat.compiled import CompiledQuery, insert_new
from chat.models import ChatMessage, ChatParticipant, ChatRoom
from chat.services import counters, questions, threads
from chat.services.messages import (
    Rendered,
    SendResult,
    clean_client_id,
    clean_content,
    notify_mentions,
    render_message,
)
from chat.wire import Frame, message_payload

if TYPE_CHECKING:
    from accounts.models import User

MAX_BATCH = 64


@dataclass(frozen=True)
class SendRequest:
    actor: User
    content: object
    client_id: object = None
    reply_to: object = None
    is_question: object = False
    anonymous: object = False


@dataclass
class _Draft:
    request: SendRequest
    is_question: bool = False
    is_anonymous: bool = False
    client_id: str | None = None
    content: str = ""
    parent_id: int | None = None
    rendered: Rendered = field(default_factory=lambda: Rendered("", [], False))
    invalid: errors.ChatError | None = None
    outcome: SendResult | errors.ChatError | None = None
    message: ChatMessage | None = None
    repeat_of: int | None = None


def _parent_id(room_id: int, reply_to: object) -> int | None:
    if reply_to is None:
        return None
    reply_to = selectors.as_id(reply_to)  # an id, or its text (as REST takes it)
    if reply_to is None:
        raise errors.ValidationFailed(
            gettext_lazy("reply_to must be a message id."),
            fields={"reply_to": [gettext_lazy("Not an id.")]},
        )
    if not ChatMessage.objects.filter(pk=reply_to, room_id=room_id, is_deleted=False).exists():
        if ChatMessage.objects.filter(pk=reply_to, room_id=room_id).exists():
            raise errors.ValidationFailed(
                gettext_lazy("A deleted message takes no replies."),
                fields={"reply_to": [gettext_lazy("Deleted.")]},
            )
        raise errors.ValidationFailed(
            gettext_lazy("reply_to must be a message of this room."),
            fields={"reply_to": [gettext_lazy("Not a message of this room.")]},
        )
    return reply_to


def _anonymous_flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise errors.ValidationFailed(
            gettext_lazy("anonymous must be true or false."),
            fields={"anonymous": [gettext_lazy("Not a boolean.")]},
        )
    return value


def _draft(room: ChatRoom, request: SendRequest) -> _Draft:
    """Validate and render one request, outside the room lock; a problem is kept
    and reported only once the sender's access is known."""
    draft = _Draft(request)
    try:
        draft.client_id = clean_client_id(request.client_id)
        draft.content = clean_content(request.content, allow_empty=False)
        draft.parent_id = _parent_id(room.pk, request.reply_to)
        draft.is_question = questions.question_flag(room, request.is_question)
        draft.is_anonymous = _anonymous_flag(request.anonymous)
        draft.rendered = render_message(request.actor, room, draft.content)
    except errors.ChatError as error:
        draft.invalid = error
    return draft


def _participant(room_id: int, user_id: int) -> QuerySet[ChatParticipant]:
    return ChatParticipant.objects.filter(room_id=room_id, user_id=user_id, is_active=True)


def _earlier(sender_id: int, client_id: str) -> QuerySet[ChatMessage]:
    return ChatMessage.objects.filter(sender_id=sender_id, client_id=client_id).only(
        "pk", "room_id"
    )


# Compiled once (see chat.compiled): most batches have one sender.
_PARTICIPANT = CompiledQuery(_participant, ("room_id", "user_id"))
_EARLIER = CompiledQuery(_earlier, ("sender_id", "client_id"), strings=("client_id",))


def _participants(room: ChatRoom, actor_ids: set[int]) -> dict[int, ChatParticipant]:
    if len(actor_ids) == 1:
        (actor_id,) = actor_ids
        found = _PARTICIPANT.first(room_id=room.pk, user_id=actor_id)
        return {actor_id: found} if found is not None else {}
    return {
        participant.user_id: participant
        for participant in ChatParticipant.objects.filter(
            room_id=room.pk, user_id__in=actor_ids, is_active=True
        )
    }


def _check_sight(room: ChatRoom, drafts: list[_Draft]) -> dict[int, ChatParticipant]:
    """Under the lock: a sender who may not see the room is refused; the senders'
    participant rows, for ``_check_posting``."""
    participants = _participants(room, {draft.request.actor.pk for draft in drafts})
    for draft in drafts:
        participant = participants.get(draft.request.actor.pk)
        if participant is None and not policy.can_see_room(draft.request.actor, room):
            draft.outcome = errors.NotFound(gettext_lazy("No such room."))
    return participants


def _check_posting(
    room: ChatRoom, drafts: list[_Draft], participants: dict[int, ChatParticipant]
) -> None:
    """Under the lock, after ``_deduplicate``: who may post, and what was invalid; the
    first refusal of each draft becomes its outcome. A repeat of a stored message is
    never refused (it answers with that message, even to a sender muted since); a
    repeat within the batch shares its first's fate."""
    refused: dict[tuple[int, str | None], errors.ChatError] = {}
    for draft in drafts:
        if draft.outcome is not None or (draft.repeat_of or 0) > 0:
            continue
        actor = draft.request.actor
        key = (actor.pk, draft.client_id)
        if draft.repeat_of == -1:
            if key in refused:
                draft.outcome = refused[key]
            continue
        outcome = policy.post_denial(room, participants.get(actor.pk)) or draft.invalid
        if outcome is None and draft.is_anonymous:
            outcome = policy.anonymous_denial(actor, room)
        draft.outcome = outcome
        if outcome is not None and draft.client_id:
            refused[key] = outcome


def slow_mode_waits(room: ChatRoom, actor_ids: set[int]) -> dict[int, float]:
    """Under the lock: seconds each of ``actor_ids`` must still wait before their next
    message in ``room`` (absent: may send now). Callers leave out exempt senders."""
    seconds = room.slow_mode_seconds
    if not seconds or not actor_ids:
        return {}
    latest = (
        ChatMessage.objects.filter(room_id=room.pk, sender_id__in=actor_ids)
        .exclude(message_type=ChatMessage.MessageType.SYSTEM)
        .values("sender_id")
        .annotate(last=Max("created_at"))
    )
    now = timezone.now()
    waits = {}
    for row in latest:
        left = seconds - (now - row["last"]).total_seconds()
        if left > 0:
            waits[row["sender_id"]] = left
    return waits


def _slow_mode(room: ChatRoom, drafts: list[_Draft]) -> None:
    """A member's message sooner than the room's slow mode after their previous one
    is refused (``slow_mode`` with ``retry_after``); so is a second one in the batch."""
    if not room.slow_mode_seconds:
        return
    pending = [d for d in drafts if d.outcome is None and d.repeat_of is None]
    participants = {
        participant.user_id: participant
        for participant in ChatParticipant.objects.filter(
            room_id=room.pk, user_id__in={d.request.actor.pk for d in pending}, is_active=True
        )
    }
    held = {
        d.request.actor.pk
        for d in pending
        if not policy.slow_mode_exempt(d.request.actor, room, participants.get(d.request.actor.pk))
    }
    waits = slow_mode_waits(room, held)
    pending_ids = {id(d) for d in pending}
    refused: dict[tuple[int, str | None], errors.ChatError] = {}
    for draft in drafts:
        actor_id = draft.request.actor.pk
        if draft.repeat_of == -1 and draft.outcome is None:
            # The same client_id again in this batch shares its first's fate.
            if (actor_id, draft.client_id) in refused:
                draft.outcome = refused[(actor_id, draft.client_id)]
            continue
        if id(draft) not in pending_ids or actor_id not in held:
            continue
        if actor_id in waits:
            draft.outcome = errors.SlowMode(retry_after=math.ceil(waits[actor_id]))
            if draft.client_id:
                refused[(actor_id, draft.client_id)] = draft.outcome
        else:
            waits[actor_id] = float(room.slow_mode_seconds)


def _deduplicate(room: ChatRoom, drafts: list[_Draft]) -> None:
    """A ``client_id`` its sender used before answers with that first message."""
    pending = [draft for draft in drafts if draft.outcome is None and draft.client_id]
    if not pending:
        return
    earlier: dict[tuple[int, Any], tuple[int, int]] = {}
    if len(pending) == 1:
        sender_id, client_id = pending[0].request.actor.pk, str(pending[0].client_id)
        found = _EARLIER.first(sender_id=sender_id, client_id=client_id)
        if found is not None:
            earlier[(sender_id, client_id)] = (found.pk, found.room_id)
    else:
        earlier = {
            (sender_id, client_id): (pk, room_id)
            for pk, sender_id, client_id, room_id in ChatMessage.objects.filter(
                sender_id__in={draft.request.actor.pk for draft in pending},
                client_id__in={draft.client_id for draft in pending},
            ).values_list("pk", "sender_id", "client_id", "room_id")
        }
    in_batch: dict[tuple[int, str], _Draft] = {}
    for draft in pending:
        key = (draft.request.actor.pk, str(draft.client_id))
        if key in earlier:
            pk, room_id = earlier[key]
            if room_id != room.pk:
                draft.outcome = errors.ValidationFailed(
                    gettext_lazy("This client_id was already used for another message."),
                    fields={"client_id": [gettext_lazy("Already used.")]},
                )
            else:
                draft.repeat_of = pk
        elif key in in_batch:
            draft.repeat_of = -1  # the first of the batch, filled in once it exists
            draft.message = None
        else:
            in_batch[key] = draft


def _store(room: ChatRoom, drafts: list[_Draft]) -> list[_Draft]:
    """Insert the accepted drafts, their mentions, counters and events."""
    new = [draft for draft in drafts if draft.outcome is None and draft.repeat_of is None]
    if not new:
        return []
    messages = insert_new(
        [
            ChatMessage(
                room=room,
                sender=draft.request.actor,
                content=draft.content,
                content_html=draft.rendered.html,
                client_id=draft.client_id,
                reply_to_id=draft.parent_id,
                is_question=draft.is_question,
                is_anonymous=draft.is_anonymous,
            )
            for draft in new
        ]
    )
    through = ChatMessage.mentions.through
    links = [
        through(chatmessage_id=message.pk, user_id=user.pk)
        for draft, message in zip(new, messages, strict=True)
        for user in draft.rendered.mentioned
    ]
    if links:
        through.objects.bulk_create(links)
    added = counters.messages_added(room.pk, messages, room_row_updated=True)
    created = []
    for draft, message in zip(new, messages, strict=True):
        draft.message = message
        selectors.prime_new_message(
            message, sender=draft.request.actor, mentions=draft.rendered.mentioned
        )
        created.append((draft, message, message_payload(message)))
    events.append_room_events(
        room,
        [(Frame.MESSAGE_CREATED, {"message": payload}) for _, _, payload in created]
        + threads.replies_added(messages),
        messages_added=added,
    )
    for draft, message, payload in created:
        notify_mentions(message, payload, draft.rendered.mentioned, draft.rendered.wildcard)
    if any(message.is_anonymous for message in messages):
        _reveal_to_staff(room, [message for message in messages if message.is_anonymous])
    return new


def _reveal_to_staff(room: ChatRoom, messages: list[ChatMessage]) -> None:
    """Tell the room's staff who wrote each anonymous post (``anonymous.author``):
    the room event names no one, REST reveals it to them, and so do their sockets."""
    staff = set(policy.staff_user_ids(room))
    for message in messages:
        frame = wire.anonymous_author(message)
        for user_id in sorted(staff - {message.sender_id}):
            events.publish_to_user(user_id, frame)


def _outcomes(drafts: list[_Draft]) -> list[SendResult | errors.ChatError]:
    firsts: dict[tuple[int, str | None], ChatMessage] = {
        (draft.request.actor.pk, draft.client_id): draft.message
        for draft in drafts
        if draft.message is not None and draft.client_id
    }
    repeats = {
        draft.repeat_of
        for draft in drafts
        if draft.repeat_of and draft.repeat_of > 0 and draft.outcome is None
    }
    loaded = {message.pk: message for message in selectors.messages_loaded_by_id(repeats)}
    results: list[SendResult | errors.ChatError] = []
    for draft in drafts:
        if draft.outcome is not None:
            results.append(draft.outcome)
        elif draft.message is not None:
            results.append(SendResult(draft.message, created=True))
        elif draft.repeat_of == -1:
            first = firsts[(draft.request.actor.pk, draft.client_id)]
            results.append(SendResult(first, created=False))
        else:
            assert draft.repeat_of is not None  # refused, new or a repeat: nothing else
            results.append(SendResult(loaded[draft.repeat_of], created=False))
    return results


def message_send_many(
    *, room: ChatRoom, requests: Sequence[SendRequest], retry: bool = True
) -> list[SendResult | errors.ChatError]:
    """Send text messages to ``room``, in order, in one transaction; one outcome
    per request: its SendResult (``created=False`` for a repeated ``client_id``)
    or the ChatError that refused it. Nothing is written for a refused request,
    and a refusal never affects the others."""
    batch, rest = list(requests[:MAX_BATCH]), requests[MAX_BATCH:]
    drafts = [_draft(room, request) for request in batch]
    try:
        with transaction.atomic():
            locked = selectors.lock_room(room.pk)
            participants = _check_sight(locked, drafts)
            _deduplicate(locked, drafts)
            _check_posting(locked, drafts, participants)
            _slow_mode(locked, drafts)
            _store(locked, drafts)
    except IntegrityError:
        # Another process stored one of these client_ids a moment ago: once more,
        # one by one; each now finds its earlier message.
        if not retry:
            raise
        return [
            outcome
            for request in requests
            for outcome in message_send_many(room=room, requests=[request], retry=False)
        ]
    results = _outcomes(drafts)
    if rest:
        results += message_send_many(room=room, requests=rest, retry=retry)
    return results


def message_send_text(
    *,
    actor: User,
    room: ChatRoom,
    content: object,
    client_id: object,
    reply_to: object,
    is_question: object = False,
    anonymous: object = False,
) -> SendResult:
    """One text message (the REST path and ``message_send``); raises its refusal."""
    request = SendRequest(
        actor=actor,
        content=content,
        client_id=client_id,
        reply_to=reply_to,
        is_question=is_question,
        anonymous=anonymous,
    )
    (outcome,) = message_send_many(room=room, requests=[request])
    if isinstance(outcome, errors.ChatError):
        raise outcome
    return outcome
