"""Redis Sentinel for the channel layer and the cache: the settings it produces, and a
real sentinel in front of the test Redis that the cache and the channel layer follow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from academia.redis_sentinel import connection_kwargs, parse_sentinels
from chat.tests.servers import free_port
from tests.test_settings import ROOT, clean_env, load_settings

MASTER = "academia-test"


def test_sentinels_configure_the_channel_layer_and_the_cache() -> None:
    config = load_settings(
        REDIS_SENTINELS="10.0.0.1:26379, 10.0.0.2:26380,sentinel-3",
        REDIS_SENTINEL_MASTER="chat",
        REDIS_SENTINEL_PASSWORD="s3ntinel",
        REDIS_URL="redis://:m%40ster@ignored.example:6379/3",
    )
    sentinels = [["10.0.0.1", 26379], ["10.0.0.2", 26380], ["sentinel-3", 26379]]
    layer = config["CHANNEL_LAYERS"]["default"]
    assert layer["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert layer["CONFIG"]["hosts"] == [
        {
            "master_name": "chat",
            "sentinels": sentinels,
            "sentinel_kwargs": {"password": "s3ntinel"},
            "db": 3,
            "password": "m@ster",
        }
    ]
    cache = config["CACHES"]["default"]
    assert cache["BACKEND"] == "academia.cache.ProcessRedisCache"
    assert cache["LOCATION"] == "redis://:m%40ster@ignored.example:6379/3"
    assert cache["OPTIONS"] == {
        "pool_class": "academia.redis_sentinel.SentinelConnectionPool",
        "sentinels": sentinels,
        "service_name": "chat",
        "sentinel_kwargs": {"password": "s3ntinel"},
    }


def test_sentinels_alone_are_enough_and_the_master_name_has_a_default() -> None:
    config = load_settings(REDIS_SENTINELS="127.0.0.1:26379")
    host = config["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"][0]
    assert (host["master_name"], host["db"], host["sentinel_kwargs"]) == ("academia", 0, {})
    assert config["CACHES"]["default"]["LOCATION"] == "redis://academia/0"


def test_without_sentinels_nothing_changes() -> None:
    config = load_settings(REDIS_URL="redis://cache.example.com:6379/2")
    assert config["REDIS_SENTINELS"] == []
    assert config["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"] == [
        "redis://cache.example.com:6379/2"
    ]
    assert config["CACHES"]["default"]["OPTIONS"] == {}


def test_parse_sentinels() -> None:
    assert parse_sentinels(["a:1", " b ", "[2001:db8::1]:26380", "[::1]"]) == [
        ("a", 1),
        ("b", 26379),
        ("2001:db8::1", 26380),
        ("::1", 26379),
    ]
    with pytest.raises(ValueError, match="host:port"):
        parse_sentinels(["a:port"])


def test_connection_kwargs_from_the_url() -> None:
    assert connection_kwargs("") == {"db": 0}
    assert connection_kwargs("rediss://user:p%2Fw@h:6380/5") == {
        "db": 5,
        "username": "user",
        "password": "p/w",
        "ssl": True,
    }


# --- A real sentinel ----------------------------------------------------------------------

PROBE = """
import asyncio, json
import django
django.setup()
from channels.layers import get_channel_layer
from django.core.cache import cache

cache.set("sentinel-probe", {"via": "sentinel"}, 60)

async def round_trip():
    layer = get_channel_layer()
    channel = await layer.new_channel("probe.")
    await layer.group_add("sentinel-probe", channel)
    await layer.group_send("sentinel-probe", {"type": "probe.hello", "n": 7})
    return await asyncio.wait_for(layer.receive(channel), 5)

message = asyncio.run(round_trip())
print(json.dumps({"cache": cache.get("sentinel-probe"), "message": message,
                  "key": cache.make_key("sentinel-probe")}))
"""


def _test_redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or ""


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[int]:
    """A Redis Sentinel that names the test Redis as the master of ``MASTER``."""
    server = shutil.which("redis-server")
    reason = None if server else "redis-server is not installed"
    url = _test_redis_url()
    if reason is None and not url:
        reason = "needs TEST_REDIS_URL/REDIS_URL"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    master = urlsplit(url)
    port = free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor {MASTER} {master.hostname} {master.port or 6379} 1\n"
        # Never fail over a shared test Redis.
        f"sentinel down-after-milliseconds {MASTER} 600000\n"
    )
    process = subprocess.Popen(
        [str(server), str(config), "--sentinel"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port, socket_timeout=1)
        deadline = time.monotonic() + 15
        while True:
            try:
                if client.sentinel_get_master_addr_by_name(MASTER):
                    break
            except redis.RedisError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the sentinel did not start")
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.redis
def test_the_cache_and_the_channel_layer_find_the_master_through_the_sentinel(
    sentinel: int,
) -> None:
    db = int(urlsplit(_test_redis_url()).path.strip("/") or 0)
    env = clean_env(
        REDIS_SENTINELS=f"127.0.0.1:{sentinel}",
        REDIS_SENTINEL_MASTER=MASTER,
        # Only the database number counts; the host names nothing reachable.
        REDIS_URL=f"redis://nowhere.invalid:1/{db}",
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["cache"] == {"via": "sentinel"}
    assert answer["message"] == {"type": "probe.hello", "n": 7}
    master = redis.Redis.from_url(_test_redis_url())
    try:
        assert master.exists(answer["key"]) == 1
    finally:
        master.delete(answer["key"])
        master.close()
