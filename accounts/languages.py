"""Which language a user is spoken to in: their setting, else the browser's.

``user_language`` is the setting alone ('' when they follow the browser);
``socket_language`` adds the handshake's ``Accept-Language`` for consumers,
which run outside the request middleware.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import get_supported_language_variant
from django.utils.translation.trans_real import parse_accept_lang_header


def user_language(user: Any) -> str:
    """The signed-in user's chosen language code, or '' (anonymous, or following the browser)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    return getattr(user, "language", "") or ""


def accept_language(header: str) -> str:
    """The best supported language for an ``Accept-Language`` header value."""
    for code, _quality in parse_accept_lang_header(header):
        if code == "*":
            break
        try:
            return get_supported_language_variant(code)
        except LookupError:
            continue
    return str(settings.LANGUAGE_CODE)


def socket_language(user: Any, headers: list[tuple[bytes, bytes]]) -> str:
    """A socket's language: the user's setting, else its handshake's ``Accept-Language``."""
    chosen = user_language(user)
    if chosen:
        return chosen
    for name, value in headers:
        if name.lower() == b"accept-language":
            return accept_language(value.decode("latin-1"))
    return str(settings.LANGUAGE_CODE)
