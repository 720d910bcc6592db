"""Two real Daphne processes on one PostgreSQL database and one Redis."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections

from chat.tests import factories
from chat.tests.servers import (
    Client,
    Server,
    http_json,
    redis_url,
    services_unavailable,
    start_server,
)
from chat.tests.ws import db, token_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TIMEOUT = 3  # CHAT_CONNECTION_TIMEOUT of the servers, seconds


@pytest.fixture
def servers(transactional_db: None) -> Iterator[tuple[Server, Server]]:
    reason = services_unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    env = {
        "CHAT_CONNECTION_TIMEOUT": str(TIMEOUT),
        "CHAT_HEARTBEAT_INTERVAL": "1",
        "CHAT_WS_SEND_RATE": "1000/1s",
        "CHAT_WS_FRAME_RATE": "1000/1s",
        "CHAT_WS_MAX_BUFFER_BYTES": str(64 * 1024),
        "CHAT_MAX_MESSAGE_LENGTH": "50000",
    }
    first = start_server(redis_url(), env)
    try:
        second = start_server(redis_url(), env)
    except Exception:
        first.stop()
        raise
    yield first, second
    for server in (first, second):
        server.stop()
    wait_for_server_sessions_to_end()
    connections.close_all()


def wait_for_server_sessions_to_end(timeout: float = 10.0) -> None:
    """The servers' database sessions end a moment after their processes do;
    the test database can only be dropped once they have."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)


@pytest.fixture
def room(alice: Any, bob: Any, charlie: Any) -> Any:
    return factories.make_room(alice, chat_type="private", name="Multi", members=[bob, charlie])


async def open_client(server: Server, path: str, user: Any) -> Client:
    return await Client(f"{server.ws}{path}", await db(token_for)(user)).open()


async def test_messages_rest_writes_and_presence_cross_processes(
    servers: tuple[Server, Server], alice: Any, bob: Any, room: Any
) -> None:
    one, two = servers
    bob_presence = await open_client(two, "/ws/presence/", bob)
    await bob_presence.receive_type("presence.snapshot")
    a = await open_client(one, f"/ws/chat/{room.pk}/", alice)
    b = await open_client(two, f"/ws/chat/{room.pk}/", bob)
    ready = await a.receive_type("connection.ready")
    await b.receive_type("connection.ready")

    online = await bob_presence.receive_type("presence", status="online")
    assert online["user"]["id"] == alice.pk

    await a.send({"type": "message.send", "client_id": "cross-1", "content": "from one"})
    event = await b.receive_type("message.created")
    assert (event["seq"], event["message"]["client_id"]) == (ready["last_seq"] + 1, "cross-1")

    token = await db(token_for)(bob)
    status, body = await asyncio.to_thread(
        http_json,
        "POST",
        f"{one.http}/chat/messages/",
        token,
        {"room": room.pk, "content": "over REST", "client_id": "rest-1"},
    )
    assert status == 201
    for client in (a, b):
        event = await client.receive_type("message.created", seq=ready["last_seq"] + 2)
        assert event["message"]["id"] == body["id"]
    for client in (a, b, bob_presence):
        await client.close()
    await db(connections.close_all)()


async def test_killed_process_turns_its_users_offline_and_reconnect_replays(
    servers: tuple[Server, Server], alice: Any, bob: Any, room: Any
) -> None:
    one, two = servers
    bob_presence = await open_client(two, "/ws/presence/", bob)
    await bob_presence.receive_type("presence.snapshot")
    alice_presence = await open_client(one, "/ws/presence/", alice)
    alice_room = await open_client(one, f"/ws/chat/{room.pk}/", alice)
    seen = (await alice_room.receive_type("connection.ready"))["last_seq"]
    await bob_presence.receive_type("presence", status="online")

    one.kill()
    offline = await bob_presence.receive_type("presence", status="offline", timeout=TIMEOUT * 4)
    assert offline["user"]["id"] == alice.pk

    b = await open_client(two, f"/ws/chat/{room.pk}/", bob)
    await b.receive_type("connection.ready")
    for number in range(5):
        await b.send(
            {
                "type": "message.send",
                "client_id": f"away-{number}",
                "content": f"while away {number}",
            }
        )
        await b.receive_type("message.created")

    back = await open_client(two, f"/ws/chat/{room.pk}/?after_seq={seen}", alice)
    await back.receive_type("connection.ready")
    replayed = [await back.receive_type("message.created") for _ in range(5)]
    assert [event["seq"] for event in replayed] == list(range(seen + 1, seen + 6))
    assert [event["message"]["client_id"] for event in replayed] == [
        f"away-{number}" for number in range(5)
    ]
    for client in (alice_presence, alice_room):
        client.pinger.cancel()  # type: ignore[union-attr]
    for client in (b, back, bob_presence):
        await client.close()
    await db(connections.close_all)()


async def test_sigterm_closes_sockets_with_1001_and_runs_their_cleanup(
    servers: tuple[Server, Server], alice: Any, bob: Any, room: Any
) -> None:
    """A rolling restart: the stopping process says "going away" to its
    sockets and unregisters them before it exits; the other process serves on."""
    import signal

    import websockets

    from chat.models import PresenceConnection

    one, two = servers
    leaving = await open_client(one, f"/ws/chat/{room.pk}/", alice)
    staying = await open_client(two, f"/ws/chat/{room.pk}/", bob)
    await leaving.receive_type("connection.ready")
    await staying.receive_type("connection.ready")
    assert await db(PresenceConnection.objects.filter(user=alice).count)() == 1

    one.process.send_signal(signal.SIGTERM)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await leaving.receive_type("never", timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert await asyncio.to_thread(one.process.wait, 15) == 0
    assert await db(PresenceConnection.objects.filter(user=alice).count)() == 0

    await staying.send({"type": "message.send", "client_id": "after-stop", "content": "still"})
    ack = await staying.receive_type("message.created")
    assert ack["message"]["client_id"] == "after-stop"
    await staying.close()
    await leaving.close()
    await db(connections.close_all)()


def _masked_text_frame(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


async def test_a_client_that_does_not_read_is_dropped_instead_of_buffered_without_end(
    servers: tuple[Server, Server], alice: Any, bob: Any, room: Any
) -> None:
    """Bob's client stops reading while Alice floods the room: the server drops
    his connection once CHAT_WS_MAX_BUFFER_BYTES (the servers: 64 KiB) wait for
    him, instead of buffering for as long as the flood lasts."""
    import base64
    import socket

    from chat.models import PresenceConnection

    one, _ = servers
    token = await db(token_for)(bob)
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", one.port))
    key = base64.b64encode(os.urandom(16)).decode()
    slow.sendall(
        (
            f"GET /ws/chat/{room.pk}/ HTTP/1.1\r\nHost: 127.0.0.1:{one.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Token {token}\r\n\r\n"
        ).encode()
    )
    assert slow.recv(12) == b"HTTP/1.1 101"
    # From here on Bob's client reads nothing.
    flooder = await open_client(one, f"/ws/chat/{room.pk}/", alice)
    await flooder.receive_type("connection.ready")
    ping = _masked_text_frame('{"type":"ping"}')

    async def keep_pinging() -> None:
        # Bob's client pings (so no heartbeat timeout ends it) but never reads.
        with contextlib.suppress(OSError):
            while True:
                slow.sendall(ping)
                await asyncio.sleep(0.5)

    pinger = asyncio.ensure_future(keep_pinging())
    # 150 messages of 40 KB: 6 MB, more than the kernel's socket buffers take.
    words = "lorem ipsum dolor " * 2200
    for number in range(150):
        await flooder.send(
            {"type": "message.send", "client_id": f"flood-{number}", "content": words}
        )
        if number % 10 == 9:
            await flooder.receive_type("message.created", timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if await db(PresenceConnection.objects.filter(user=bob).count)() == 0:
            break
        await asyncio.sleep(0.2)
    pinger.cancel()
    assert await db(PresenceConnection.objects.filter(user=bob).count)() == 0
    slow.settimeout(5)
    with contextlib.suppress(ConnectionResetError):
        while slow.recv(65536):
            pass  # what the server wrote before it dropped the connection, then its end
    slow.close()
    await flooder.close()
    await db(connections.close_all)()


def test_a_burst_of_requests_through_two_processes_stays_within_their_pools(
    transactional_db: None, alice: Any, room: Any
) -> None:
    """No connection per thread under ASGI: each process borrows from its pool of
    DATABASE_POOL_MAX_SIZE, so a burst never takes more of PostgreSQL's connections."""
    import threading
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    reason = services_unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    env = {"DATABASE_POOL_MIN_SIZE": "1", "DATABASE_POOL_MAX_SIZE": "3"}
    token = token_for(alice)
    with connection.cursor() as cursor:  # this process's own sessions (its pool)
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ours = {pid for (pid,) in cursor.fetchall()}
    started = [start_server(redis_url(), env), start_server(redis_url(), env)]
    peak = 0
    sampling = True

    def sample() -> None:
        nonlocal peak
        with connection.cursor() as cursor:
            while sampling:
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                servers = {pid for (pid,) in cursor.fetchall()} - ours
                peak = max(peak, len(servers))
                time.sleep(0.01)
        connection.close()

    def get(number: int) -> int:
        server = started[number % 2]
        request = urllib.request.Request(
            f"{server.http}/chat/rooms/", headers={"Authorization": f"Token {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(max_workers=40) as pool:
            statuses = list(pool.map(get, range(200)))
    finally:
        sampling = False
        sampler.join()
        for server in started:
            server.stop()
        wait_for_server_sessions_to_end()
    assert statuses == [200] * 200
    assert 0 < peak <= 2 * 3, peak
