"""WebSocket test helpers: connect through the real ASGI stack (auth middleware,
Origin check, routing) with WebsocketCommunicator, and read frames."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from academia.asgi import application
from chat.consumers.db import run_sync

ORIGIN = "http://testserver"
WAIT = 5  # seconds: the bound of every wait for a frame


@pytest.fixture(autouse=True)
def socket_settings(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh in-memory layer and cache per test, no background sweeper, no
    offline grace, and
    database connections closed after each call (consumers use a thread pool
    on PostgreSQL; no connection may outlive the test database)."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.CHAT_PRESENCE_SWEEP_INTERVAL = 0
    # Offline as soon as the last socket closes (test_presence tests the grace).
    settings.CHAT_PRESENCE_OFFLINE_GRACE = 0
    channel_layers.backends.clear()
    cache.clear()
    yield settings
    channel_layers.backends.clear()


def token_for(user: Any) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def token_headers(user: Any) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Token {token_for(user)}".encode())]


def cookie_headers(
    cookie: str, origin: str | None = ORIGIN, host: str = "testserver"
) -> list[tuple[bytes, bytes]]:
    headers = [(b"host", host.encode()), (b"cookie", f"sessionid={cookie}".encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return headers


class Socket:
    """One client socket."""

    def __init__(self, path: str, headers: list[tuple[bytes, bytes]]) -> None:
        self.communicator = WebsocketCommunicator(application, path, headers=headers)
        self.accepted = False
        self.ready: dict[str, Any] = {}  # a room socket's connection.ready frame
        self.snapshot: dict[str, Any] = {}  # a presence socket's presence.snapshot frame

    async def open(self) -> Socket:
        self.accepted, _ = await self.communicator.connect(timeout=WAIT)
        return self

    async def send(self, frame: dict[str, Any]) -> None:
        await self.communicator.send_json_to(frame)

    async def send_text(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def receive(self) -> dict[str, Any]:
        return await self.communicator.receive_json_from(timeout=WAIT)

    async def receive_type(self, *types: str) -> dict[str, Any]:
        """The next frame of one of ``types``, skipping others."""
        while True:
            frame = await self.receive()
            if frame["type"] in types:
                return frame

    async def close_code(self) -> int:
        """Wait for the server to close the socket; its close code."""
        while True:
            output = await self.communicator.receive_output(timeout=WAIT)
            if output["type"] == "websocket.close":
                return output.get("code", 1000)

    async def nothing(self, timeout: float = 0.2) -> bool:
        return await self.communicator.receive_nothing(timeout=timeout)

    async def no_more_events(self, timeout: float = 0.3) -> bool:
        """True if no seq'd room event arrives within ``timeout`` (ephemerals are skipped)."""
        while not await self.communicator.receive_nothing(timeout=timeout):
            if "seq" in await self.receive():
                return False
        return True

    async def close(self) -> None:
        await self.communicator.disconnect()


async def open_socket(
    path: str, user: Any = None, *, headers: list[tuple[bytes, bytes]] | None = None
) -> Socket:
    if headers is None:
        headers = await run_sync(token_headers)(user)
    return await Socket(path, headers).open()


async def open_room(
    user: Any, room: Any, *, after_seq: int | None = None, ready: bool = True
) -> Socket:
    """A room socket; with ``ready``, its connection.ready frame is read and checked."""
    query = f"?after_seq={after_seq}" if after_seq is not None else ""
    socket = await open_socket(f"/ws/chat/{room.pk}/{query}", user)
    if ready:
        frame = await socket.receive()
        assert frame["type"] == "connection.ready", frame
        socket.ready = frame
    return socket


async def open_presence(user: Any) -> Socket:
    socket = await open_socket("/ws/presence/", user)
    frame = await socket.receive()
    assert frame["type"] == "presence.snapshot", frame
    socket.snapshot = frame
    return socket


def db(function: Any) -> Any:
    """Run a sync callable (services, ORM) in a database thread, as consumers do."""
    return run_sync(function)


def roundtrip(frame: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(frame))
