"""academia.cache: one Redis client, and so one pool, per process, not per cache
object (Django makes one per thread and asyncio context: per request under ASGI)."""

from __future__ import annotations

import os
from typing import Any

import pytest
import redis
from django.core.cache.backends.redis import RedisCache

from academia.cache import ProcessRedisCache


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs TEST_REDIS_URL/REDIS_URL")  # CI requires one (conftest)
    return url


def connections_to(url: str) -> int:
    info = redis.Redis.from_url(url).info("clients")
    return int(info["connected_clients"])


@pytest.mark.parametrize(("backend", "shared"), [(ProcessRedisCache, True), (RedisCache, False)])
def test_cache_objects_share_one_connection(
    redis_url: str, backend: type[RedisCache], shared: bool
) -> None:
    params = {"KEY_PREFIX": f"cache-test-{backend.__name__}"}
    before = connections_to(redis_url)

    objects = [backend(redis_url, params) for _ in range(8)]  # eight requests' worth
    for number, cache in enumerate(objects):
        cache.set("key", number, timeout=30)
        assert cache.get("key") == number

    opened = connections_to(redis_url) - before
    try:
        if shared:
            assert opened <= 1
            assert len({id(cache._cache) for cache in objects}) == 1
        else:  # what Django does on its own: a client and a connection each
            assert opened >= 8
    finally:
        objects[0].delete("key")
        for cache in objects:
            client: Any = cache._cache
            for pool in client._pools.values():
                pool.disconnect()


def test_the_process_client_keeps_one_redis_object_per_pool(redis_url: str) -> None:
    cache = ProcessRedisCache(redis_url, {"KEY_PREFIX": "cache-test-client"})
    client: Any = cache._cache
    first = client.get_client("a", write=True)
    assert client.get_client("b", write=True) is first
    assert client.get_client("c") is first  # one server: reads use the same pool
    assert isinstance(first, redis.Redis)
    assert first.connection_pool is client._get_connection_pool(True)
    cache.set("key", {"n": 1}, timeout=30)
    try:
        assert cache.get("key") == {"n": 1}
        assert cache.add("count", 0, timeout=30)
        assert cache.incr("count", 1) == 1
        assert cache.get("count") == 1
    finally:
        cache.delete_many(["key", "count"])
