"""Every socket's first frame names the socket protocol's version (CHANGELOG.md)."""

from __future__ import annotations

from typing import Any

import pytest

from chat.tests import factories
from chat.tests.ws import db, open_presence, open_room, socket_settings  # noqa: F401
from chat.wire import PROTOCOL_VERSION

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_protocol_is_version_one() -> None:
    assert PROTOCOL_VERSION == 1


async def test_connection_ready_carries_the_protocol_version(alice: Any) -> None:
    room = await db(lambda: factories.make_room(alice, chat_type="public", name="Lobby"))()

    socket = await open_room(alice, room)

    assert socket.ready["protocol"] == 1
    assert {"type", "protocol", "room", "user", "last_seq"} == set(socket.ready)
    await socket.close()


async def test_presence_snapshot_carries_the_protocol_version(alice: Any) -> None:
    socket = await open_presence(alice)

    assert socket.snapshot["protocol"] == 1
    assert {"type", "protocol", "users"} == set(socket.snapshot)
    await socket.close()
