"""The user of a request that only signed-in users reach, typed as a ``User``."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest

from accounts.models import User


def signed_in_user(request: HttpRequest) -> User:
    """``request.user`` behind a login (``login_required``, the admin site): a User,
    never ``AnonymousUser``, which those gates turn away before the view runs."""
    return cast(User, request.user)
