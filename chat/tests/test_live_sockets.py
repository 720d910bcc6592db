"""Sockets as a client of a real Daphne process sees them (``academia.serve``): close
codes (the test communicator takes any code, autobahn under Daphne does not) and
clients that close while the server is still answering them."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from django.db import connections

from chat.models import ChatMessage, PresenceConnection
from chat.tests import factories
from chat.tests.servers import Client, Server, services_unavailable, start_server
from chat.tests.test_multiprocess import wait_for_server_sessions_to_end
from chat.tests.ws import db, token_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MAX_SOCKETS = 3


@pytest.fixture
def server(transactional_db: None) -> Iterator[Server]:
    reason = services_unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    # The in-memory layer: one process needs no Redis.
    server = start_server(
        "",
        {
            "CHAT_WS_FRAME_RATE": "5/60s",
            "CHAT_WS_MAX_SOCKETS_PER_USER": str(MAX_SOCKETS),
            "CHAT_PRESENCE_OFFLINE_GRACE": "0",
        },
    )
    yield server
    server.stop()
    wait_for_server_sessions_to_end()
    connections.close_all()


async def test_a_client_flooding_frames_is_refused_then_closed_with_1008(
    server: Server, bob: Any
) -> None:
    room = await db(factories.make_room)(bob, name="Flood")
    client = await Client(
        f"{server.ws}/ws/chat/{room.pk}/", await db(token_for)(bob), ping_every=3600
    ).open()
    await client.receive_type("connection.ready")
    for _ in range(5):
        await client.send({"type": "ping"})
        await client.receive_type("pong")
    await client.send({"type": "ping"})
    refused = await client.receive_type("error")
    for _ in range(5):
        await client.send({"type": "ping"})

    with pytest.raises(websockets.ConnectionClosed) as closed:
        await client.receive_type("never", timeout=10)

    assert (refused["code"], refused["ref"]) == ("rate_limited", "ping")
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert "invalid close code" not in server.output()
    await client.close()


async def open_raw(server: Server, path: str, token: str) -> Any:
    return await websockets.connect(
        f"{server.ws}{path}", additional_headers={"Authorization": f"Token {token}"}
    )


async def test_a_message_sent_just_before_the_client_closes_is_stored(
    server: Server, bob: Any
) -> None:
    """A tab that sends and navigates away: the server had the whole frame."""
    room = await db(factories.make_room)(bob, name="Leaving")
    token = await db(token_for)(bob)
    for n in range(10):
        connection = await open_raw(server, f"/ws/chat/{room.pk}/", token)
        await connection.recv()  # connection.ready
        await connection.send(
            f'{{"type": "message.send", "client_id": "bye-{n}", "content": "bye"}}'
        )
        await connection.close()

    async def stored() -> set[str]:
        return set(
            await db(
                lambda: list(
                    ChatMessage.objects.filter(room=room, client_id__startswith="bye-").values_list(
                        "client_id", flat=True
                    )
                )
            )()
        )

    for _ in range(100):
        if len(await stored()) == 10:
            break
        await asyncio.sleep(0.1)
    assert await stored() == {f"bye-{n}" for n in range(10)}
    assert "writing" not in server.output()


async def test_clients_that_close_while_answered_leave_no_socket_behind(
    server: Server, bob: Any
) -> None:
    """Each closes while its pongs are on their way. A send that failed on the closed
    connection ended the consumer before its cleanup: its presence row stayed, and
    after CHAT_WS_MAX_SOCKETS_PER_USER of them the user's next socket got 4429."""
    room = await db(factories.make_room)(bob, name="Pings")
    token = await db(token_for)(bob)
    for _ in range(40):
        connection = await open_raw(server, f"/ws/chat/{room.pk}/", token)
        await connection.recv()  # connection.ready
        for _ in range(3):
            await connection.send('{"type": "ping"}')
        await connection.close()

    async def rows() -> int:
        return await db(PresenceConnection.objects.filter(user=bob).count)()

    for _ in range(100):
        if await rows() == 0:
            break
        await asyncio.sleep(0.1)
    assert await rows() == 0
    client = await Client(f"{server.ws}/ws/chat/{room.pk}/", token, ping_every=3600).open()
    ready = await client.receive_type("connection.ready")
    assert ready["room"]["id"] == room.pk
    await client.close()
    assert "Exception inside application" not in server.output()
