"""Private questions to staff: a member of a course room asks its staff, who answer.

A ``StaffQuestion`` is not a message: it is kept out of the room's history,
search, unread counters and event log, so other members never learn of it. Its
frames go to single users (``events.publish_to_user``: their presence sockets and
their sockets of that room): ``staff_question.asked`` to the room's staff and the
asker, ``staff_question.answered`` to the asker, the staff and the answerer; a client that
missed one reads the queue over REST.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from chat import errors, events, policy, selectors, wire
from chat.models import ChatRoom, StaffQuestion
from chat.rendering import render_content
from chat.services import email_notifications
from chat.services.messages import clean_content

if TYPE_CHECKING:
    from accounts.models import User


def _publish(event_type: wire.Frame, question: StaffQuestion, user_ids: set[int]) -> None:
    frame = wire.staff_question(event_type, wire.staff_question_payload(question))
    for user_id in sorted(user_ids):
        events.publish_to_user(user_id, frame)


@transaction.atomic
def staff_question_ask(*, actor: User, room: ChatRoom, content: object) -> StaffQuestion:
    """``actor`` asks ``room``'s staff privately; each of them (``policy.staff_user_ids``)
    and the asker get ``staff_question.asked`` after commit. Holds the room's row lock, so an
    archive or a mute cannot slip in between the check and the write."""
    text = clean_content(content, allow_empty=False)
    room = selectors.lock_room(room.pk)
    participant = policy.participant_of(actor, room)
    if participant is None and not policy.can_see_room(actor, room):
        raise errors.NotFound(gettext_lazy("No such room."))
    denial = policy.staff_ask_denial(actor, room, participant)
    if denial is not None:
        raise denial
    # No mention resolution: a private question notifies no one but the staff.
    question = StaffQuestion.objects.create(
        room=room, asker=actor, content=text, content_html=render_content(text)
    )
    question.room = room
    question.asker = actor
    # The asker's own sockets hear of it too: their other tabs, and the answer to a
    # question asked over the room socket.
    staff_and_asker = set(policy.staff_user_ids(room)) | {actor.pk}
    _publish(wire.Frame.STAFF_QUESTION_ASKED, question, staff_and_asker)
    return question


@transaction.atomic
def staff_question_answer(
    *, actor: User, question: StaffQuestion, content: object
) -> StaffQuestion:
    """Answer ``question`` (answering again replaces the answer); its asker, the
    room's staff and the answerer get ``staff_question.answered`` after commit."""
    text = clean_content(content, allow_empty=False)
    room = selectors.lock_room(question.room_id)
    question = StaffQuestion.objects.select_related("asker").get(pk=question.pk)
    question.room = room
    denial = policy.staff_answer_denial(actor, question)
    if denial is not None:
        raise denial
    question.answer = text
    question.answer_html = render_content(text)
    question.answered_by = actor
    question.answered_at = timezone.now()
    question.save(update_fields=["answer", "answer_html", "answered_by", "answered_at"])
    # The answerer's own sockets hear of it too (their acknowledgement, and their
    # other tabs), as the asker's do of the question; so does site staff answering
    # from the queue without being a member.
    recipients = set(policy.staff_user_ids(room)) | {question.asker_id, actor.pk}
    _publish(wire.Frame.STAFF_QUESTION_ANSWERED, question, recipients)
    # An asker who is offline gets an email later (the staff read the queue).
    email_notifications.staff_answer_enqueue(question)
    return question
