"""Socket paths that match no route are refused at the handshake, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from academia.asgi import application
from chat.tests.ws import db, socket_settings, token_headers  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    "path",
    [
        "/ws/chat/abc/",
        "/ws/chat/",
        "/ws/chat/1/extra/",
        "/ws/chat/-1/",
        "/ws/nope/",
        "/ws/",
        "/",
        "/chat/rooms/",
    ],
)
async def test_socket_path_matching_no_route_is_refused_at_the_handshake(
    alice: Any, path: str
) -> None:
    headers = await db(token_headers)(alice)
    communicator = WebsocketCommunicator(application, path, headers=headers)

    connected, code = await communicator.connect(timeout=5)

    # Closed before accept: Daphne answers the handshake with HTTP 403.
    assert (connected, code) == (False, 1000)
    await communicator.wait(timeout=1)


async def test_unrouted_path_is_refused_without_credentials_too() -> None:
    communicator = WebsocketCommunicator(application, "/ws/nope/")

    connected, _ = await communicator.connect(timeout=5)

    assert connected is False
