"""Per-user throttling of writes (rate: ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from academia.client_ip import client_ip


class ChatWriteThrottle(UserRateThrottle):
    """Counts only unsafe methods, per user (per address when anonymous); 429 with
    ``Retry-After`` once the ``chat_write`` rate (CHAT_WRITE_THROTTLE_RATE) is spent.

    The address is ``academia.client_ip``'s: ``X-Forwarded-For`` counts only when
    it comes from one of ``CHAT_TRUSTED_PROXIES`` (DRF alone would believe any
    client's header)."""

    scope = "chat_write"

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)

    def get_rate(self) -> str | None:
        # Read at request time, so a changed setting applies without a restart of tests.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request: Request) -> str:
        return client_ip(request)
