"""How consumers call the synchronous layers (services, selectors, the ORM)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import close_old_connections

from academia import metrics

_executor: ThreadPoolExecutor | None = None


def database_threads() -> ThreadPoolExecutor:
    """The sockets' database threads: DATABASE_SOCKET_THREADS of them (4 unless
    set, at most DATABASE_POOL_MAX_SIZE, so each finds a pooled connection).

    Every room's writes, handshakes and frames share them. Their queries wait on
    the database without the interpreter lock, so a few threads keep several
    queries in flight; many threads mostly pass that lock to and fro (50 busy
    rooms wrote a fifth fewer messages per second with 16 threads than with 4,
    see docs/PERFORMANCE.md)."""
    global _executor
    if _executor is None:
        size = int(getattr(settings, "DATABASE_SOCKET_THREADS", 4))
        _executor = ThreadPoolExecutor(max_workers=max(1, size), thread_name_prefix="db")
    return _executor


def run_sync(function: Callable[..., Any]) -> Callable[..., Any]:
    """``database_sync_to_async`` for services and selectors. On a server database
    the calls run on ``database_threads`` (one connection each), so one slow write
    does not queue every socket of the process behind it; SQLite serialises
    writes anyway and keeps the single shared thread.

    The connection is given back inside the call: Django keeps it in
    context-local storage, and the worker runs the call in a copy of the
    caller's context that channels' own cleanup, outside the call, does not
    see; with a connection pool that connection would never return to the
    pool. (For the same reason the engine is read from the settings, not from
    ``django.db.connection``, which would make a connection object in the event
    loop's context.)
    """

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            with metrics.database_timer("socket"):
                return function(*args, **kwargs)
        finally:
            close_old_connections()

    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return database_sync_to_async(call, thread_sensitive=True)
    return database_sync_to_async(call, thread_sensitive=False, executor=database_threads())
