"""Offline email notifications: the user's choice, the queue, the unsubscribe link.

What is queued (an ``EmailNotification`` row, written in the service's own
transaction, so a rolled-back message queues nothing):

- a **mention by name** of a user who has no live socket (``presence.live_user_ids``):
  always, even in a room whose desktop notifications they muted (a mention is
  addressed to them, as in Zulip);
- an **``@all``** of an active participant without a live socket, unless that
  participant muted the room (``notifications_muted``), as Zulip does for its
  wildcard mentions. ``@here`` means those present (as in Mattermost and Slack):
  it emails no one;
- the **answer to a private question** (``staff_question_answer``) for its asker
  when offline.

Never for the sender, a user without an email address, an inactive account, or
one whose choice is ``never``. ``manage.py send_notification_emails``
(``chat.services.email_sending``) turns the queue into one email per user and
batch, re-checking each item then.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from chat import errors
from chat.models import (
    ChatMessage,
    ChatParticipant,
    EmailNotification,
    EmailPreference,
    StaffQuestion,
)
from chat.rendering import extract_mentions
from chat.services.presence import live_user_ids

if TYPE_CHECKING:
    from accounts.models import User

Mode = EmailPreference.Mode
UNSUBSCRIBE_SALT = "chat.email.unsubscribe"
# An unsubscribe link keeps working this long after its email was sent.
UNSUBSCRIBE_MAX_AGE = 180 * 24 * 3600


# --- The user's choice -------------------------------------------------------------------------


def email_mode(user: User) -> str:
    """``never``, ``batched`` or ``immediately`` (no row: ``batched``)."""
    mode = EmailPreference.objects.filter(user=user).values_list("mode", flat=True).first()
    return mode or Mode.BATCHED


@transaction.atomic
def email_notifications_set(*, actor: User, mode: object) -> str:
    """Set ``actor``'s email choice; returns it. ``never`` also drops what is queued
    (nothing more is sent)."""
    if not isinstance(mode, str) or mode not in Mode.values:
        raise errors.ValidationFailed(
            _("email_notifications must be one of: never, batched, immediately."),
            fields={"email_notifications": [_("Choose never, batched or immediately.")]},
        )
    EmailPreference.objects.update_or_create(user=actor, defaults={"mode": mode})
    if mode == Mode.NEVER:
        EmailNotification.objects.filter(
            user=actor, status=EmailNotification.Status.PENDING
        ).update(status=EmailNotification.Status.SKIPPED)
    return mode


# --- Unsubscribe links -------------------------------------------------------------------------


def unsubscribe_token(user: User) -> str:
    """A signed, dated token naming ``user`` (django.core.signing with SECRET_KEY)."""
    return signing.dumps({"u": user.pk}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(user: User) -> str:
    path = reverse("chat-email-unsubscribe", kwargs={"token": unsubscribe_token(user)})
    return f"{settings.CHAT_PUBLIC_URL}{path}"


def unsubscribe_user(token: str) -> User:
    """The user a token names; ValidationFailed for a forged, mangled or expired one,
    or an account that is gone."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
        user_id = int(data["u"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise errors.ValidationFailed(
            _("This unsubscribe link is invalid or has expired.")
        ) from None
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise errors.ValidationFailed(_("This unsubscribe link is invalid or has expired."))
    return user


@transaction.atomic
def email_unsubscribe(*, token: str) -> User:
    """The link's one-click action: its user's choice becomes ``never``."""
    user = unsubscribe_user(token)
    email_notifications_set(actor=user, mode=Mode.NEVER)
    return user


# --- Queueing (inside the calling service's transaction) --------------------------------------


def _reachable_offline(user_ids: Collection[int]) -> set[int]:
    """Those of ``user_ids`` worth an email: active, with an address, not opted out,
    and with no live socket now."""
    if not user_ids:
        return set()
    candidates = set(
        get_user_model()
        .objects.filter(pk__in=user_ids, is_active=True)
        .exclude(email="")
        .exclude(chat_email_preference__mode=Mode.NEVER)
        .values_list("pk", flat=True)
    )
    return candidates - live_user_ids(candidates)


def mentions_enqueue(message: ChatMessage, *, direct: Collection[int], wildcard: bool) -> int:
    """Queue ``message`` for the offline users it mentions by name (``direct``) and, for
    ``@all`` (``wildcard`` and the word itself: not ``@here``), for its room's other
    active participants who did not mute the room. Returns how many rows were queued."""
    named = set(direct) - {message.sender_id}
    everyone: set[int] = set()
    if wildcard and "all" in {name.lower() for name in extract_mentions(message.content)}:
        everyone = (
            set(
                ChatParticipant.objects.filter(
                    room_id=message.room_id, is_active=True, notifications_muted=False
                ).values_list("user_id", flat=True)
            )
            - named
            - {message.sender_id}
        )
    recipients = _reachable_offline(named | everyone)
    if not recipients:
        return 0
    rows = EmailNotification.objects.bulk_create(
        [
            EmailNotification(
                user_id=user_id,
                kind=EmailNotification.Kind.MENTION,
                message=message,
                is_wildcard=user_id not in named,
            )
            for user_id in sorted(recipients)
        ],
        ignore_conflicts=True,
    )
    return len(rows)


def staff_answer_enqueue(question: StaffQuestion) -> int:
    """Queue the answer to ``question`` for its asker, if they are offline."""
    if not _reachable_offline({question.asker_id}):
        return 0
    EmailNotification.objects.bulk_create(
        [
            EmailNotification(
                user_id=question.asker_id,
                kind=EmailNotification.Kind.STAFF_ANSWER,
                staff_question=question,
            )
        ],
        ignore_conflicts=True,
    )
    return 1
