"""Questions and endorsed answers: mark a message a question, endorse a reply to it.

A question (``is_question``) has at most one endorsed answer
(``endorsed_answer``), a reply to it whose ``is_endorsed`` is set; both rows
change together, under the room's row lock, and every message that changed is
published as a ``message.updated`` room event, so the room (and a replay) sees
the question and its answer agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext_lazy

from chat import errors, events, policy, selectors
from chat.models import ChatMessage, ChatRoom
from chat.services import audit
from chat.wire import Frame, message_payload

if TYPE_CHECKING:
    from accounts.models import User


def _locked_message(message: ChatMessage) -> ChatMessage:
    """Lock the message's room, then re-read the message (with its parent); its
    ``room`` is the locked row."""
    room = selectors.lock_room(message.room_id)
    message = ChatMessage.objects.select_related("reply_to").get(pk=message.pk)
    message.room = room
    return message


def _publish_updated(message: ChatMessage, changed: list[ChatMessage]) -> None:
    """One ``message.updated`` per changed message, in id order, after commit;
    ``message.room`` is the locked room."""
    loaded = selectors.messages_loaded(changed)
    body: list[tuple[Frame, dict[str, Any]]] = [
        (Frame.MESSAGE_UPDATED, {"message": message_payload(item)}) for item in loaded
    ]
    events.append_room_events(message.room, body)


def _withdraw(question: ChatMessage) -> ChatMessage | None:
    """Clear ``question``'s endorsed answer; the former answer, if there was one."""
    if question.endorsed_answer_id is None:
        return None
    former = ChatMessage.objects.get(pk=question.endorsed_answer_id)
    former.is_endorsed = False
    former.save(update_fields=["is_endorsed", "updated_at"])
    question.endorsed_answer = None
    question.save(update_fields=["endorsed_answer", "updated_at"])
    return former


def clean_is_question(value: object) -> bool:
    if not isinstance(value, bool):
        raise errors.ValidationFailed(
            gettext_lazy("is_question must be true or false."),
            fields={"is_question": [gettext_lazy("Not a boolean.")]},
        )
    return value


def question_flag(room: ChatRoom, is_question: object) -> bool:
    """``is_question`` of a new message: a boolean, true only where
    ``policy.takes_questions``."""
    value = clean_is_question(is_question)
    if value and not policy.takes_questions(room):
        raise errors.ValidationFailed(
            gettext_lazy("Questions are for course rooms and rooms with moderators."),
            fields={"is_question": [gettext_lazy("This room takes no questions.")]},
        )
    return value


@transaction.atomic
def question_mark(*, actor: User, message: ChatMessage, is_question: object) -> ChatMessage:
    """Mark ``message`` a question, or no longer one (which also withdraws its
    endorsed answer). Its sender, or the room's staff (``policy.can_endorse``)."""
    value = clean_is_question(is_question)
    message = _locked_message(message)
    denial = policy.question_denial(actor, message)
    if denial is not None:
        raise denial
    if message.is_question == value:
        return selectors.message_load(message.pk)
    changed = [message]
    if not value:
        former = _withdraw(message)
        if former is not None:
            changed.append(former)
    message.is_question = value
    message.save(update_fields=["is_question", "updated_at"])
    _publish_updated(message, changed)
    return selectors.message_load(message.pk)


@transaction.atomic
def answer_endorse(*, actor: User, answer: ChatMessage) -> ChatMessage:
    """Endorse ``answer``, a reply to a question, as that question's answer; an
    answer endorsed before loses it. Returns the answer."""
    answer = _locked_message(answer)
    denial = policy.endorse_denial(actor, answer)
    if denial is not None:
        raise denial
    if answer.is_endorsed:
        return selectors.message_load(answer.pk)
    question = answer.reply_to
    assert question is not None
    changed = [question, answer]
    former = _withdraw(question)
    if former is not None:
        changed.append(former)
    question.endorsed_answer = answer
    question.save(update_fields=["endorsed_answer", "updated_at"])
    answer.is_endorsed = True
    answer.save(update_fields=["is_endorsed", "updated_at"])
    _publish_updated(answer, changed)
    audit.record(
        actor,
        answer.room,
        audit.Action.ENDORSE,
        target_user=answer.sender,
        message=answer,
        details={"question_id": question.pk},
    )
    return selectors.message_load(answer.pk)


@transaction.atomic
def answer_withdraw(*, actor: User, answer: ChatMessage) -> ChatMessage:
    """Withdraw the endorsement of ``answer`` (nothing happens if it has none)."""
    answer = _locked_message(answer)
    denial = policy.endorse_denial(actor, answer)
    if denial is not None:
        raise denial
    if not answer.is_endorsed:
        return selectors.message_load(answer.pk)
    question = answer.reply_to
    assert question is not None
    _withdraw(question)
    _publish_updated(answer, [question, answer])
    audit.record(
        actor,
        answer.room,
        audit.Action.UNENDORSE,
        target_user=answer.sender,
        message=answer,
        details={"question_id": question.pk},
    )
    return selectors.message_load(answer.pk)


def answer_deleted(message: ChatMessage) -> ChatMessage | None:
    """A message is being deleted under its room's lock: if it was an endorsed
    answer, its question loses the endorsement. Returns the question to publish."""
    if not message.is_endorsed or message.reply_to_id is None:
        return None
    message.is_endorsed = False
    question = ChatMessage.objects.filter(pk=message.reply_to_id).first()
    if question is None or question.endorsed_answer_id != message.pk:
        return None
    question.endorsed_answer = None
    question.save(update_fields=["endorsed_answer", "updated_at"])
    return question
