"""Dependencies that are down: never a 500.

The database: a 503 ``unavailable`` with ``Retry-After``. PostgreSQL
restarting, a full connection pool (``DATABASE_POOL_TIMEOUT``), a lost
connection: Django raises ``OperationalError`` or ``InterfaceError``. DRF views
answer them through ``academia.rest.exceptions``; every other view (the chat page,
the login page, the admin) through ``DatabaseUnavailableMiddleware``.

The cache (Redis): what only counts (throttles, the upload quota) fails open,
with a warning at most once a minute per process (``warn_cache_unreachable``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
DETAIL = gettext_lazy("The service is temporarily unavailable; try again shortly.")

# What a cache backend raises when its server is unreachable (redis-py, sockets).
CACHE_ERRORS = (RedisError, OSError)
CACHE_WARNING_INTERVAL = 60.0  # seconds between two warnings of one process

_last_cache_warning = 0.0


def warn_cache_unreachable(what: str) -> None:
    """Log that ``what`` went unchecked because the cache is down, at most once a minute."""
    global _last_cache_warning
    now = time.monotonic()
    if now - _last_cache_warning >= CACHE_WARNING_INTERVAL:
        _last_cache_warning = now
        logger.warning("cache unreachable: %s not enforced (failing open)", what, exc_info=True)


def log_database_error(request: HttpRequest, exc: BaseException) -> None:
    logger.warning(
        "database unavailable for %s %s: %s: %s",
        request.method,
        request.path,
        type(exc).__name__,
        exc,
    )


class DatabaseUnavailableMiddleware:
    """503 with ``Retry-After`` for a view that failed on the database: JSON
    (``{"detail", "code": "unavailable"}``) unless the client asked for HTML."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not isinstance(exc, DATABASE_ERRORS):
            return None
        log_database_error(request, exc)
        response: HttpResponse
        if "text/html" in request.headers.get("Accept", ""):
            response = HttpResponse(
                f"<!doctype html><title>Unavailable</title><h1>Unavailable</h1><p>{DETAIL}</p>",
                status=503,
                content_type="text/html; charset=utf-8",
            )
        else:
            response = JsonResponse({"detail": str(DETAIL), "code": "unavailable"}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
