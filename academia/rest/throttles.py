"""Per-user throttles of writes and of expensive reads.

Rates: ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (CHAT_WRITE_THROTTLE_RATE,
CHAT_READ_THROTTLE_RATE, CHAT_PREVIEW_THROTTLE_RATE).

Counts live in the cache (Redis in production). When the cache cannot be
reached the throttles fail open: the request goes through and a warning is
logged (at most once a minute per process), so a Redis outage slows nothing
down and breaks no write; counting resumes by itself when Redis is back.
"""

from __future__ import annotations

from typing import Any, cast

from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from academia.client_ip import client_ip
from academia.unavailable import CACHE_ERRORS, warn_cache_unreachable


class CacheThrottle(UserRateThrottle):
    """Per user (per address when anonymous); 429 ``throttled`` with ``Retry-After``.

    The address is ``academia.client_ip``'s: ``X-Forwarded-For`` counts only when
    it comes from one of ``CHAT_TRUSTED_PROXIES`` (DRF alone would believe any
    client's header)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS:
            warn_cache_unreachable(f"the {self.scope} throttle")
            return True

    def get_rate(self) -> str | None:
        # Read at request time, so a changed setting applies without a restart of tests.
        # (The stubs type the rates as numbers; they are "<count>/<period>" strings.)
        rates = cast("dict[str | None, str | None]", api_settings.DEFAULT_THROTTLE_RATES)
        return rates.get(self.scope)

    def get_ident(self, request: Request) -> str:
        return client_ip(request)


class ChatWriteThrottle(CacheThrottle):
    """Counts only unsafe methods, at the ``chat_write`` rate (CHAT_WRITE_THROTTLE_RATE)."""

    scope = "chat_write"

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class ChatPreviewThrottle(CacheThrottle):
    """Markdown previews (``POST /chat/render/``) at the ``chat_preview`` rate
    (CHAT_PREVIEW_THROTTLE_RATE): counted apart from writes, so previewing while
    typing never uses up the sends."""

    scope = "chat_preview"


class ChatReadThrottle(CacheThrottle):
    """Counts reads (search, history pages) at the ``chat_read`` rate (CHAT_READ_THROTTLE_RATE).

    Views add it to the actions whose reads are expensive (``ApiViewSet.read_throttled``)."""

    scope = "chat_read"

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method not in SAFE_METHODS:
            return True
        return super().allow_request(request, view)
