"""Threads: a message's reply count, its newest reply's time, and who read how far.

Replies are ordinary messages with ``reply_to`` (sent by chat.services.sending
or ``message_send``); this module keeps what a thread adds, in the same
transaction and under the room's row lock:

- ``ChatMessage.reply_count`` / ``last_reply_at`` of the parent, changed by a
  reply sent or deleted, announced by a ``thread.updated`` room event;
- each follower's ``ThreadRead``: a replier has read the thread up to their
  reply; the parent's author follows it from its first reply; a reader moves
  their marker with ``thread_mark_read`` (which tells their own sockets,
  ``thread.read``). Unread replies are ``reply_count - read_count``, never a
  count per request.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F, Max
from django.utils.translation import gettext_lazy

from chat import errors, events, selectors
from chat.models import ChatMessage, ThreadRead
from chat.selectors import ThreadState
from chat.wire import Frame, thread_read, thread_updated_body

if TYPE_CHECKING:
    from accounts.models import User


def replies_added(replies: Sequence[ChatMessage]) -> list[tuple[Frame, dict[str, Any]]]:
    """Count new ``replies`` (just inserted, any parents of one room) on their
    parents and move their senders' markers past them; the ``thread.updated``
    events to append after their ``message.created``. Call under the room lock."""
    by_parent: dict[int, list[ChatMessage]] = defaultdict(list)
    for reply in replies:
        if reply.reply_to_id is not None:
            by_parent[reply.reply_to_id].append(reply)
    if not by_parent:
        return []
    for parent_id, batch in by_parent.items():
        ChatMessage.objects.filter(pk=parent_id).update(
            reply_count=F("reply_count") + len(batch),
            last_reply_at=max(reply.created_at for reply in batch),
        )
    parents = list(
        ChatMessage.objects.filter(pk__in=by_parent).values_list(
            "pk", "sender_id", "reply_count", "last_reply_at"
        )
    )
    ThreadRead.objects.bulk_create(
        [ThreadRead(user_id=sender_id, parent_id=pk) for pk, sender_id, _, _ in parents],
        ignore_conflicts=True,
    )
    markers: dict[tuple[int, int], tuple[int, int]] = {}
    counts = {pk: count for pk, _, count, _ in parents}
    for parent_id, batch in by_parent.items():
        before = counts[parent_id] - len(batch)
        for position, reply in enumerate(batch, start=1):
            markers[(reply.sender_id, parent_id)] = (reply.pk, before + position)
    ThreadRead.objects.bulk_create(
        [
            ThreadRead(user_id=user_id, parent_id=parent_id, last_read_reply_id=pk, read_count=n)
            for (user_id, parent_id), (pk, n) in markers.items()
        ],
        update_conflicts=True,
        unique_fields=["user", "parent"],
        update_fields=["last_read_reply", "read_count", "updated_at"],
    )
    room_id = replies[0].room_id
    for (user_id, parent_id), (pk, n) in markers.items():
        # A sender's marker moved past their reply: their other tabs follow.
        state = ThreadState(parent_id, max(counts[parent_id] - n, 0), pk)
        events.publish_to_user(user_id, thread_read(room_id, state))
    return [
        (Frame.THREAD_UPDATED, thread_updated_body(pk, count, last_reply_at))
        for pk, _, count, last_reply_at in parents
    ]


def reply_deleted(reply: ChatMessage) -> tuple[Frame, dict[str, Any]] | None:
    """A reply about to be soft-deleted leaves its thread's counts: the parent's
    and those of the markers at or past it. The ``thread.updated`` event to
    append, or None for a message that is no reply. Call under the room lock,
    before the reply is marked deleted."""
    parent_id = reply.reply_to_id
    if parent_id is None or reply.is_deleted:
        return None
    ThreadRead.objects.filter(parent_id=parent_id, last_read_reply_id__gte=reply.pk).update(
        read_count=F("read_count") - 1
    )
    newest: datetime | None = (
        ChatMessage.objects.filter(reply_to_id=parent_id, is_deleted=False)
        .exclude(pk=reply.pk)
        .aggregate(at=Max("created_at"))["at"]
    )
    ChatMessage.objects.filter(pk=parent_id).update(
        reply_count=F("reply_count") - 1, last_reply_at=newest
    )
    count = ChatMessage.objects.filter(pk=parent_id).values_list("reply_count", flat=True).get()
    return Frame.THREAD_UPDATED, thread_updated_body(parent_id, count, newest)


@transaction.atomic
def thread_mark_read(*, actor: User, parent: ChatMessage, reply_id: object) -> ThreadState:
    """Move the actor's marker in ``parent``'s thread forward to ``reply_id`` (one
    of its replies), following the thread if they did not. Anyone who may see the
    message may (callers fetch it through the user); a marker never moves back."""
    reply_pk = selectors.as_id(reply_id)
    if reply_pk is None or not ChatMessage.objects.filter(pk=reply_pk, reply_to=parent).exists():
        raise errors.ValidationFailed(
            gettext_lazy("message_id must be a reply in this thread."),
            fields={"message_id": [gettext_lazy("Not a reply in this thread.")]},
        )
    selectors.lock_room(parent.room_id)
    marker, _ = ThreadRead.objects.get_or_create(user=actor, parent=parent)
    moved = marker.last_read_reply_id is None or reply_pk > marker.last_read_reply_id
    if moved:
        marker.last_read_reply_id = reply_pk
        marker.read_count = ChatMessage.objects.filter(
            reply_to=parent, is_deleted=False, id__lte=reply_pk
        ).count()
        marker.save(update_fields=["last_read_reply", "read_count", "updated_at"])
    parent.refresh_from_db(fields=["reply_count", "last_reply_at"])
    state = ThreadState(
        parent.pk, max(parent.reply_count - marker.read_count, 0), marker.last_read_reply_id
    )
    if moved:
        # The reader's other tabs and devices follow (their presence sockets and
        # their sockets of the room).
        events.publish_to_user(actor.pk, thread_read(parent.room_id, state))
    return state
