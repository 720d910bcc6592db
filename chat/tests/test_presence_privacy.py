"""A user's ``current_room`` reaches only viewers who may see that room, on sockets too."""

from __future__ import annotations

from typing import Any

import pytest

from chat import services
from chat.tests import factories
from chat.tests.ws import db, open_presence, socket_settings  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


async def test_presence_snapshot_never_shows_a_room_the_viewer_may_not_see(
    alice: Any, bob: Any, charlie: Any
) -> None:
    private = await db(factories.make_room)(alice, chat_type="private", members=[bob])
    await db(factories.make_room)(charlie, chat_type="public", members=[bob])
    await db(services.typing_set)(actor=bob, room=private, is_typing=True)

    socket = await open_presence(charlie)
    users = {entry["user"]["username"]: entry for entry in socket.snapshot["users"]}
    await socket.close()

    # Nor that bob is typing there.
    assert (users["bob"]["current_room"], users["bob"]["is_typing"]) == (None, False)
