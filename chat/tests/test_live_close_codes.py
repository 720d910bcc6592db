"""Close codes as a client of a real Daphne process sees them (``academia.serve``):
the test communicator takes any code, autobahn under Daphne does not."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from django.db import connections

from chat.tests import factories
from chat.tests.servers import Client, Server, services_unavailable, start_server
from chat.tests.test_multiprocess import wait_for_server_sessions_to_end
from chat.tests.ws import db, token_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(transactional_db: None) -> Iterator[Server]:
    reason = services_unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    # The in-memory layer: one process needs no Redis.
    server = start_server("", {"CHAT_WS_FRAME_RATE": "5/60s"})
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
