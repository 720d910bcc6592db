"""The offline-notification sender: the queue (``EmailNotification``) into emails.

One pass (``notification_emails_send``) finds the users whose pending items are
due, then for each of them:

1. **claims** their pending rows in a short transaction of its own:
   ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (another sender skips rows
   being claimed instead of waiting), then ``UPDATE … SET status = 'claimed'
   WHERE status = 'pending'`` with this pass's random key, which alone makes the
   claim exclusive on any database (SQLite included). The claim commits before
   anything is sent;
2. **re-checks** each claimed item and drops (``skipped``) what is no longer worth
   an email: the message was deleted (or hidden by a moderator) or its room
   archived, the user may no longer see the room, has read past the message
   (room read marker or, for a thread reply, the thread's), was un-mentioned by
   an edit, muted the room since (wildcard mentions), the answer is gone, the
   user has no address any more or chose ``never``;
3. **sends** what is left as one email (plain text and HTML, an unsubscribe link,
   ``List-Unsubscribe`` and ``List-Unsubscribe-Post``), and marks the rows
   ``sent`` (``failed`` if the mail server refused; the pass then stops, leaving
   the other users' batches unclaimed for the next one).

Delivery is **at most once**: several senders never mail an item twice, and a
sender that dies between its claim and the send leaves those rows ``claimed``
(visible in the admin) — that email is lost, never duplicated.

Due: ``immediately`` users at every pass; ``batched`` users once their newest
pending item is CHAT_EMAIL_BATCH_DELAY_SECONDS old (the conversation went quiet)
or their oldest is CHAT_EMAIL_BATCH_MAX_WAIT_SECONDS old (a conversation that
never pauses still gets its email); ``never`` users' rows are dropped.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Max, Min
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chat import selectors
from chat.models import (
    ChatMessage,
    ChatParticipant,
    EmailNotification,
    EmailPreference,
    ThreadRead,
)
from chat.rendering import extract_mentions
from chat.services.email_notifications import unsubscribe_url

if TYPE_CHECKING:
    from django.core.mail.backends.base import BaseEmailBackend

    from accounts.models import User

logger = logging.getLogger(__name__)

Status = EmailNotification.Status
Kind = EmailNotification.Kind
Mode = EmailPreference.Mode
EXCERPT_CHARS = 200
# How long the queue keeps what is done, for the admin (then notification_emails_prune).
KEEP_DONE = timedelta(days=30)


@dataclass
class PassReport:
    """What one pass did: emails sent, and items sent, skipped and failed."""

    emails: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    users: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Item:
    """One entry of an email, as the templates show it."""

    kind: str
    room_name: str
    sender_name: str
    excerpt: str
    url: str
    question: str = ""


def batch_delay() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "CHAT_EMAIL_BATCH_DELAY_SECONDS", 120)))


def batch_max_wait() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "CHAT_EMAIL_BATCH_MAX_WAIT_SECONDS", 900)))


def due_user_ids(now: datetime) -> list[int]:
    """Users with pending items whose email is due at ``now`` (``never`` users too:
    their items are dropped). One query for the queue, one for the choices."""
    pending = list(
        EmailNotification.objects.filter(status=Status.PENDING, created_at__lte=now)
        .values("user_id")
        .annotate(newest=Max("created_at"), oldest=Min("created_at"))
        .order_by("user_id")
    )
    modes = dict(
        EmailPreference.objects.filter(user_id__in=[row["user_id"] for row in pending]).values_list(
            "user_id", "mode"
        )
    )
    quiet_since, waited_since = now - batch_delay(), now - batch_max_wait()
    due = []
    for row in pending:
        mode = modes.get(row["user_id"], Mode.BATCHED)
        if mode != Mode.BATCHED or row["newest"] <= quiet_since or row["oldest"] <= waited_since:
            due.append(row["user_id"])
    return due


def claim(user_id: int, now: datetime) -> list[EmailNotification]:
    """Claim ``user_id``'s pending items (committed on return); [] when another
    sender holds or took them."""
    key = uuid.uuid4().hex
    with transaction.atomic():
        ids = list(
            EmailNotification.objects.select_for_update(skip_locked=True)
            .filter(user_id=user_id, status=Status.PENDING, created_at__lte=now)
            .values_list("pk", flat=True)
        )
        if not ids:
            return []
        EmailNotification.objects.filter(pk__in=ids, status=Status.PENDING).update(
            status=Status.CLAIMED, claim=key, claimed_at=now
        )
    return list(
        EmailNotification.objects.filter(pk__in=ids, claim=key)
        .select_related(
            "message__room",
            "message__sender",
            "staff_question__room",
            "staff_question__answered_by",
        )
        .order_by("created_at", "pk")
    )


def _message_url(message: ChatMessage) -> str:
    path = reverse("chat-room-page", kwargs={"room_id": message.room_id})
    return f"{settings.CHAT_PUBLIC_URL}{path}?message={message.pk}"


def _excerpt(text: str) -> str:
    return Truncator(" ".join(text.split())).chars(EXCERPT_CHARS)


@dataclass(frozen=True)
class _Now:
    """What a user's batch is checked against, read in one query each for every item:
    the rooms they may see, their participant rows, thread markers and mentions."""

    visible_rooms: set[int]
    participants: dict[int, ChatParticipant]
    thread_reads: dict[int, int | None]
    mentioned_in: set[int]

    @classmethod
    def of(cls, user: User, rows: list[EmailNotification]) -> _Now:
        messages = [row.message for row in rows if row.message is not None]
        questions = [row.staff_question for row in rows if row.staff_question is not None]
        room_ids = {message.room_id for message in messages} | {q.room_id for q in questions}
        parents = {message.reply_to_id for message in messages if message.reply_to_id}
        return cls(
            visible_rooms=selectors.visible_room_ids(user, room_ids),
            participants={
                participant.room_id: participant
                for participant in ChatParticipant.objects.filter(
                    user=user, is_active=True, room_id__in=room_ids
                )
            },
            thread_reads=dict(
                ThreadRead.objects.filter(user=user, parent_id__in=parents).values_list(
                    "parent_id", "last_read_reply_id"
                )
            )
            if parents
            else {},
            mentioned_in=set(
                ChatMessage.mentions.through.objects.filter(
                    user_id=user.pk, chatmessage_id__in=[message.pk for message in messages]
                ).values_list("chatmessage_id", flat=True)
            )
            if messages
            else set(),
        )


def _still_for_all(content: str) -> bool:
    """Whether a message's text (as edited since) still says ``@all``."""
    return "all" in {name.lower() for name in extract_mentions(content)}


def _mention_item(now: _Now, row: EmailNotification) -> Item | None:
    message = row.message
    assert message is not None
    room = message.room
    if message.is_deleted or not room.is_active or room.pk not in now.visible_rooms:
        return None
    participant = now.participants.get(room.pk)
    if participant is not None:
        if participant.last_read_message_id and participant.last_read_message_id >= message.pk:
            return None
        if row.is_wildcard and participant.notifications_muted:
            return None
    if message.reply_to_id is not None:
        thread_read = now.thread_reads.get(message.reply_to_id)
        if thread_read and thread_read >= message.pk:
            return None
    if not row.is_wildcard and message.pk not in now.mentioned_in:
        return None  # an edit took the mention out
    if row.is_wildcard and not _still_for_all(message.content):
        return None  # an edit took the @all out
    # An anonymous post names nobody, in an email as everywhere (the room's staff
    # read its author on the page, not in their mailbox).
    sender = _("Anonymous classmate") if message.is_anonymous else message.sender.get_display_name()
    text = message.content or message.file_name
    return Item(
        kind=Kind.MENTION,
        room_name=room.name,
        sender_name=sender,
        excerpt=_excerpt(text),
        url=_message_url(message),
    )


def _answer_item(now: _Now, row: EmailNotification) -> Item | None:
    question = row.staff_question
    assert question is not None
    room = question.room
    if question.answered_at is None or question.asker_id != row.user_id:
        return None
    if room.pk not in now.visible_rooms:
        return None
    answered_by = question.answered_by
    path = reverse("chat-room-page", kwargs={"room_id": room.pk})
    return Item(
        kind=Kind.STAFF_ANSWER,
        room_name=room.name,
        sender_name=answered_by.get_display_name() if answered_by else _("The staff"),
        excerpt=_excerpt(question.answer),
        url=f"{settings.CHAT_PUBLIC_URL}{path}",
        question=_excerpt(question.content),
    )


def email_language(user: User) -> str:
    """The language of a user's emails: the one they chose for the page, else the
    site's (the browser's language is not known away from a request)."""
    return user.language or str(settings.LANGUAGE_CODE)


def subject_for(items: list[Item]) -> str:
    count = len(items)
    kinds = {item.kind for item in items}
    if kinds == {Kind.MENTION}:
        text = ngettext(
            "%(count)d new mention in Academia Chat",
            "%(count)d new mentions in Academia Chat",
            count,
        )
    elif kinds == {Kind.STAFF_ANSWER}:
        text = ngettext(
            "%(count)d answer to your private question in Academia Chat",
            "%(count)d answers to your private questions in Academia Chat",
            count,
        )
    else:
        text = ngettext(
            "%(count)d new notification in Academia Chat",
            "%(count)d new notifications in Academia Chat",
            count,
        )
    return text % {"count": count}


def compose(user: User, items: list[Item]) -> EmailMultiAlternatives:
    """The email of one batch: plain text and HTML, with the unsubscribe link in the
    body and in the RFC 2369 / RFC 8058 headers."""
    unsubscribe = unsubscribe_url(user)
    settings_url = f"{settings.CHAT_PUBLIC_URL}{reverse('chat-page')}"
    context: dict[str, Any] = {
        "user_name": user.get_display_name(),
        "items": items,
        "unsubscribe_url": unsubscribe,
        "settings_url": settings_url,
        "site_url": settings.CHAT_PUBLIC_URL,
    }
    email = EmailMultiAlternatives(
        subject=subject_for(items),
        body=render_to_string("chat/email/notifications.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    email.attach_alternative(
        render_to_string("chat/email/notifications.html", context), "text/html"
    )
    return email


def _deliver(
    user_id: int, rows: list[EmailNotification], connection: BaseEmailBackend
) -> PassReport:
    report = PassReport()
    user = get_user_model().objects.filter(pk=user_id).first()
    items: list[Item] = []
    used: list[int] = []
    if user is not None and user.is_active and user.email:
        mode = (
            EmailPreference.objects.filter(user=user).values_list("mode", flat=True).first()
            or Mode.BATCHED
        )
        if mode != Mode.NEVER:
            now = _Now.of(user, rows)
            with translation.override(email_language(user)):
                for row in rows:
                    check = _mention_item if row.kind == Kind.MENTION else _answer_item
                    item = check(now, row)
                    if item is not None:
                        items.append(item)
                        used.append(row.pk)
    skipped = [row.pk for row in rows if row.pk not in used]
    if skipped:
        EmailNotification.objects.filter(pk__in=skipped).update(status=Status.SKIPPED)
        report.skipped = len(skipped)
    if not items:
        return report
    assert user is not None
    with translation.override(email_language(user)):
        email = compose(user, items)
    email.connection = connection
    try:
        email.send()
    except Exception:
        logger.exception("notification email to user %s failed", user_id)
        EmailNotification.objects.filter(pk__in=used).update(status=Status.FAILED)
        report.failed = len(used)
        return report
    EmailNotification.objects.filter(pk__in=used).update(status=Status.SENT, sent_at=timezone.now())
    report.emails, report.sent, report.users = 1, len(used), [user_id]
    return report


def notification_emails_send(*, now: datetime | None = None) -> PassReport:
    """One pass of the sender: every due user's batch, one email each. Safe to run
    in several processes at once (see the module's docstring)."""
    now = now or timezone.now()
    total = PassReport()
    user_ids = due_user_ids(now)
    if not user_ids:
        return total
    # One SMTP session for the pass, opened before anything is claimed: while the
    # mail server is unreachable the pass fails and the queue waits, unclaimed.
    connection = get_connection()
    connection.open()
    try:
        for user_id in user_ids:
            rows = claim(user_id, now)
            if not rows:
                continue
            done = _deliver(user_id, rows, connection)
            total.emails += done.emails
            total.sent += done.sent
            total.skipped += done.skipped
            total.failed += done.failed
            total.users += done.users
            if done.failed:
                # The mail server refused (or went away): stop claiming, so one pass
                # loses at most this batch; the others wait for the next pass.
                break
    finally:
        connection.close()
    return total


def notification_emails_prune(*, now: datetime | None = None) -> int:
    """Delete the rows that are done (sent, skipped, failed, or claimed by a sender
    that died) and older than KEEP_DONE; returns how many. Pending rows stay."""
    cutoff = (now or timezone.now()) - KEEP_DONE
    deleted, _ = (
        EmailNotification.objects.exclude(status=Status.PENDING)
        .filter(created_at__lt=cutoff)
        .delete()
    )
    return deleted


__all__ = [
    "Item",
    "PassReport",
    "claim",
    "compose",
    "due_user_ids",
    "notification_emails_prune",
    "notification_emails_send",
    "subject_for",
]
