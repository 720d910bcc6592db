"""Django's Redis cache with one client, so one connection pool, per process.

Django keeps a cache object per thread and per asyncio context (``caches``), and
each ``RedisCache`` builds its own client with its own pool. Under ASGI every
request runs in a context of its own, so every request opened a new Redis
connection (a TCP handshake, then left to the garbage collector to close).
redis-py's pools are thread-safe: one per process and configuration serves them all.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property


class ProcessRedisCache(RedisCache):
    _clients: ClassVar[dict[str, RedisCacheClient]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @cached_property
    def _cache(self) -> Any:
        django: Any = self  # RedisCache's own attributes, private to Django
        key = repr((django._servers, sorted(django._options.items())))
        client = self._clients.get(key)
        if client is None:
            with self._lock:
                client = self._clients.get(key) or django._class(django._servers, **django._options)
                self._clients[key] = client
        return client
