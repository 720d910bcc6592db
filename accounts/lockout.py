"""The answer to a sign-in refused because of repeated failures (django-axes' lockout).

429 with ``Retry-After`` (the cool-off): JSON ``{"detail", "code": "throttled"}`` for
the token endpoint and scripts, the sign-in page with the reason for browsers.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import ngettext


def cooloff_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_detail() -> str:
    minutes = max(1, round(cooloff_seconds() / 60))
    return ngettext(
        "Too many failed sign-ins; try again in %(minutes)d minute.",
        "Too many failed sign-ins; try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def _username_field() -> str:
    return str(getattr(settings, "AXES_USERNAME_FORM_FIELD", "username"))


def attempted_username(
    request: HttpRequest, credentials: dict[str, Any] | None = None
) -> str | None:
    """AXES_USERNAME_CALLABLE: the username a sign-in tried, as django-axes reads it,
    cut to the length its records keep (255; no account's name is longer than 150),
    so an overlong name is refused like any wrong one instead of failing the insert."""
    if credentials:
        username = credentials.get(_username_field())
    else:
        username = getattr(request, "data", request.POST).get(_username_field())
    return None if username is None else str(username)[:255]


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the login page (and the admin's) answer a locked-out
    username or address with the page and the reason, status 429."""
    response = render(
        request,
        "registration/login.html",
        {"locked_out": lockout_detail(), "next": request.POST.get("next", "")},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
    response["Retry-After"] = str(cooloff_seconds())
    return response
