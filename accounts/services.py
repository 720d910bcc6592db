"""Account writes: revoking API tokens.

A user's API tokens end when they ask (``DELETE /accounts/token/``), when their
password changes and when they are deactivated (``accounts.signals``). Sockets
opened with a revoked token close at their next credential check.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authtoken.models import Token


def tokens_revoke(*, user: Any) -> int:
    """Delete the user's API tokens; returns how many there were."""
    deleted, _ = Token.objects.filter(user_id=user.pk).delete()
    return deleted
