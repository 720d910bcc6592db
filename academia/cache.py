"""Django's Redis cache with one client, so one connection pool, per process.

Django keeps a cache object per thread and per asyncio context (``caches``), and
each ``RedisCache`` builds its own client with its own pool. Under ASGI every
request runs in a context of its own, so every request opened a new Redis
connection (a TCP handshake, then left to the garbage collector to close).
redis-py's pools are thread-safe: one per process and configuration serves them all.
Its ``Redis`` objects are too, so the client keeps one per pool rather than
building a new one for every cache call as Django's does.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property


class ProcessRedisCacheClient(RedisCacheClient):
    """Django's client, with one ``redis.Redis`` per connection pool."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis_by_pool: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django: Any = self  # RedisCacheClient's own attributes, private to Django
        pool = django._get_connection_pool(write)
        client = self._redis_by_pool.get(id(pool))
        if client is None:
            client = self._redis_by_pool[id(pool)] = django._client(connection_pool=pool)
        return client


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
                client = self._clients.get(key) or ProcessRedisCacheClient(
                    django._servers, **django._options
                )
                self._clients[key] = client
        return client
