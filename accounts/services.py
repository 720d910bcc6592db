"""Account writes: revoking API tokens, the user's language setting.

A user's API tokens end when they ask (``DELETE /accounts/token/``), when their
password changes and when they are deactivated (``accounts.signals``). Sockets
opened with a revoked token close at their next credential check.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from rest_framework.authtoken.models import Token

from accounts.models import User
from chat import errors, events
from chat.errors import lazy_interpolate


def tokens_revoke(*, user: Any) -> int:
    """Delete the user's API tokens; returns how many there were."""
    deleted, _ = Token.objects.filter(user_id=user.pk).delete()
    return deleted


def user_language_set(*, user: User, language: object) -> User:
    """Set the language the page and the API speak to ``user`` in: a code of
    ``User.Language``, or '' to follow the browser's. Anything else is
    ``ValidationFailed`` with the accepted values."""
    if not isinstance(language, str) or language not in User.Language.values:
        choices = ", ".join(repr(value) for value in User.Language.values)
        raise errors.ValidationFailed(
            lazy_interpolate(
                gettext_lazy("Unknown language; choose one of %(choices)s."), {"choices": choices}
            ),
            fields={"language": [gettext_lazy("Not one of the available languages.")]},
        )
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
        events.publish_user_language(user.pk, language)  # open sockets speak it too
    return user
