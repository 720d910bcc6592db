"""How consumers call the synchronous layers (services, selectors, the ORM)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.db import connection


def run_sync(function: Callable[..., Any]) -> Callable[..., Any]:
    """``database_sync_to_async`` for services and selectors. On a server database
    the calls run on a pool of threads (one connection each), so one slow write
    does not queue every socket of the process behind it; SQLite serialises
    writes anyway and keeps the single shared thread."""
    return database_sync_to_async(function, thread_sensitive=connection.vendor == "sqlite")
