"""Redis behind Sentinel, for the channel layer and the cache.

With ``REDIS_SENTINELS`` set, the settings ask the sentinels where the current
master of ``REDIS_SENTINEL_MASTER`` is instead of connecting to a fixed host, and
follow it after a failover. The database number and the password of the master
come from ``REDIS_URL`` when it is set (its host is then ignored).

- channels_redis takes a sentinel entry in ``hosts`` as a dict (``master_name``,
  ``sentinels``, ``sentinel_kwargs`` and the connection's own keyword arguments);
  :func:`channel_layer_host` builds it.
- Django's ``RedisCache`` builds its connection pool with
  ``pool_class.from_url(LOCATION, **OPTIONS)``; :class:`SentinelConnectionPool`
  is such a pool class, fed by :func:`cache_options`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from redis.sentinel import Sentinel
from redis.sentinel import SentinelConnectionPool as _RedisSentinelPool

DEFAULT_SENTINEL_PORT = 26379


def parse_sentinels(entries: list[str]) -> list[tuple[str, int]]:
    """``["host:26379", "[2001:db8::1]:26379", "host"]`` → ``[(host, port), …]``."""
    sentinels: list[tuple[str, int]] = []
    for raw in entries:
        entry = raw.strip()
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            port = rest.lstrip(":") or str(DEFAULT_SENTINEL_PORT)
        elif entry.count(":") == 1:
            host, port = entry.split(":")
        else:
            host, port = entry, str(DEFAULT_SENTINEL_PORT)
        if not host or not port.isdigit():
            raise ValueError(f"REDIS_SENTINELS: {raw!r} is not host:port")
        sentinels.append((host, int(port)))
    return sentinels


def connection_kwargs(redis_url: str) -> dict[str, Any]:
    """The master connection's ``db``, ``username`` and ``password`` from a redis:// URL."""
    if not redis_url:
        return {"db": 0}
    parts = urlsplit(redis_url)
    path = parts.path.strip("/")
    kwargs: dict[str, Any] = {"db": int(path) if path.isdigit() else 0}
    if parts.username:
        kwargs["username"] = unquote(parts.username)
    if parts.password:
        kwargs["password"] = unquote(parts.password)
    if parts.scheme == "rediss":
        kwargs["ssl"] = True
    return kwargs


def sentinel_kwargs(password: str) -> dict[str, Any]:
    """How to talk to the sentinels themselves (their own password, if any)."""
    return {"password": password} if password else {}


def channel_layer_host(
    redis_url: str, sentinels: list[tuple[str, int]], master: str, password: str = ""
) -> dict[str, Any]:
    """A channels_redis ``hosts`` entry that follows the master through the sentinels."""
    return {
        "master_name": master,
        "sentinels": sentinels,
        "sentinel_kwargs": sentinel_kwargs(password),
        **connection_kwargs(redis_url),
    }


def cache_options(sentinels: list[tuple[str, int]], master: str, password: str = "") -> dict:
    """``OPTIONS`` of a ``RedisCache`` whose ``LOCATION`` is ``REDIS_URL``."""
    return {
        "pool_class": f"{__name__}.SentinelConnectionPool",
        "sentinels": sentinels,
        "service_name": master,
        "sentinel_kwargs": sentinel_kwargs(password),
    }


class SentinelConnectionPool(_RedisSentinelPool):
    """redis-py's sentinel pool with the ``from_url`` Django's ``RedisCache`` calls."""

    @classmethod
    def from_url(  # type: ignore[override]
        cls,
        url: str,
        *,
        sentinels: list[tuple[str, int]],
        service_name: str,
        sentinel_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> SentinelConnectionPool:
        manager = Sentinel(
            [tuple(sentinel) for sentinel in sentinels], sentinel_kwargs=sentinel_kwargs or {}
        )
        return cls(service_name, manager, **{**kwargs, **connection_kwargs(url)})
