"""Dependencies down: Redis → writes go on (throttles fail open), PostgreSQL → 503
``unavailable`` with ``Retry-After``; both recover by themselves."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from channels.layers import channel_layers
from django.db import InterfaceError, OperationalError
from rest_framework.test import APIClient

from academia import unavailable
from academia.unavailable import RETRY_AFTER_SECONDS
from chat.tests import factories
from chat.tests.api_support import client_for
from chat.tests.servers import free_port, start_daphne

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(alice: Any, bob: Any) -> Any:
    return factories.make_room(alice, name="Lobby", members=[bob])


# --- PostgreSQL (or any database) unavailable --------------------------------------------


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_rest_answers_503_unavailable_when_the_database_fails(
    alice: Any, room: Any, monkeypatch: pytest.MonkeyPatch, error: type[Exception], caplog: Any
) -> None:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise error("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr("chat.selectors.visible_room_rows", down)

    with caplog.at_level(logging.WARNING, logger="academia.unavailable"):
        response = client_for(alice).get("/chat/rooms/")

    assert response.status_code == 503
    assert response.json() == {
        "detail": "The service is temporarily unavailable.",
        "code": "unavailable",
    }
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert f"database unavailable for GET /chat/rooms/: {error.__name__}" in caplog.text


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [("text/html,*/*", "text/html; charset=utf-8"), ("*/*", "application/json")],
)
def test_other_views_answer_503_unavailable_when_the_database_fails(
    alice: Any, room: Any, monkeypatch: pytest.MonkeyPatch, accept: str, content_type: str
) -> None:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("chat.views.selectors.room_get_for_user", down)
    client = APIClient()
    client.force_login(alice)

    response = client.get(f"/rooms/{room.pk}/", HTTP_ACCEPT=accept)

    assert response.status_code == 503
    assert response["Content-Type"] == content_type
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    if content_type == "application/json":
        assert response.json()["code"] == "unavailable"
    else:
        assert "temporarily unavailable" in response.content.decode()


@pytest.mark.integration
def test_a_server_whose_database_is_unreachable_answers_503_not_500() -> None:
    """A real Daphne process with a PostgreSQL URL where nothing listens."""
    server = start_daphne(
        {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/academia",
            "DATABASE_POOL_TIMEOUT": "1",
            "REDIS_URL": "",
        }
    )
    try:
        token = urllib.request.Request(
            f"{server.http}/chat/rooms/", headers={"Authorization": "Token abc"}
        )
        with pytest.raises(urllib.error.HTTPError) as api:
            urllib.request.urlopen(token, timeout=30)
        page = urllib.request.Request(
            f"{server.http}/", headers={"Accept": "text/html", "Cookie": "sessionid=" + "a" * 32}
        )
        with pytest.raises(urllib.error.HTTPError) as html:
            urllib.request.urlopen(page, timeout=30)
        with urllib.request.urlopen(f"{server.http}/healthz", timeout=10) as alive:
            assert alive.status == 200
        log = server.output()
    finally:
        server.stop()

    assert api.value.code == 503
    assert api.value.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert json.loads(api.value.read())["code"] == "unavailable"
    assert html.value.code == 503
    assert "Traceback" not in log


# --- Redis unavailable --------------------------------------------------------------------


def use_redis(settings: Any, url: str) -> None:
    """Cache and channel layer on ``url``, as REDIS_URL would configure them."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [url]},
        }
    }
    channel_layers.backends.clear()


def write_rate(settings: Any, rate: str) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"chat_write": rate, "chat_read": rate},
    }


@pytest.fixture
def fresh_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unavailable, "_last_cache_warning", 0.0)


def test_writes_and_sign_in_keep_working_while_redis_is_unreachable(
    alice: Any,
    bob: Any,
    room: Any,
    settings: Any,
    caplog: Any,
    fresh_warning: None,
) -> None:
    use_redis(settings, f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    write_rate(settings, "2/min")
    client = client_for(bob)

    with caplog.at_level(logging.WARNING, logger="academia.unavailable"):
        sent = [
            client.post(
                "/chat/messages/", {"room": room.pk, "content": f"m{i}"}, format="json"
            ).status_code
            for i in range(4)
        ]
        searched = client.get("/chat/messages/", {"q": "m1"})
        token = APIClient().post(
            "/accounts/token/", {"username": "bob", "password": factories.PASSWORD}, format="json"
        )

    assert sent == [201, 201, 201, 201]
    assert searched.status_code == 200
    assert [m["content"] for m in searched.json()["results"]] == ["m1"]
    assert token.status_code == 200
    assert set(token.json()) == {"token"}
    warnings = [r for r in caplog.records if r.name == "academia.unavailable"]
    assert [r.getMessage() for r in warnings] == [
        "cache unreachable: the chat_write throttle not enforced (failing open)"
    ]


class TcpProxy:
    """Forwards a local port to Redis; ``stop()`` is an outage, ``start()`` the recovery."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []
        self.database = "0"  # the Redis database the tests select through it

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def stop(self) -> None:
        assert self.listener is not None
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                upstream = socket.create_connection(self.target, timeout=5)
                self.sockets += [client, upstream]
                for source, sink in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def redis_proxy() -> Iterator[TcpProxy]:
    url = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs TEST_REDIS_URL/REDIS_URL")
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 6379))
    proxy.start()
    proxy.database = parts.path.lstrip("/") or "0"
    yield proxy
    with contextlib.suppress(AssertionError, OSError):
        proxy.stop()


@pytest.mark.redis
def test_throttling_stops_during_a_redis_outage_and_resumes_when_redis_is_back(
    bob: Any, room: Any, settings: Any, redis_proxy: TcpProxy, fresh_warning: None
) -> None:
    use_redis(settings, f"redis://127.0.0.1:{redis_proxy.port}/{redis_proxy.database}")
    write_rate(settings, "2/min")
    client = client_for(bob)

    def send(n: int) -> list[int]:
        return [
            client.post(
                "/chat/messages/", {"room": room.pk, "content": "x"}, format="json"
            ).status_code
            for _ in range(n)
        ]

    before = send(3)
    redis_proxy.stop()
    during = send(3)
    redis_proxy.start()
    after = send(1)

    assert before == [201, 201, 429]
    assert during == [201, 201, 201]
    # The count kept in Redis applies again: still over the rate for this minute.
    assert after == [429]
