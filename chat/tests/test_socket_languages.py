"""Socket error frames speak the socket user's language: their setting, else the
handshake's Accept-Language; the machine-readable ``code`` never changes."""

from __future__ import annotations

from typing import Any

import pytest

from chat.tests import factories
from chat.tests.ws import db, open_socket, socket_settings, token_headers  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


async def open_room_with(user: Any, room: Any, accept_language: str | None) -> Any:
    headers = await db(token_headers)(user)
    if accept_language is not None:
        headers.append((b"accept-language", accept_language.encode()))
    socket = await open_socket(f"/ws/chat/{room.pk}/", headers=headers)
    assert (await socket.receive())["type"] == "connection.ready"
    return socket


async def test_an_error_frame_is_german_for_a_german_handshake(alice: Any) -> None:
    room = await db(lambda: factories.make_room(alice, chat_type="public", name="Lobby"))()
    socket = await open_room_with(alice, room, "de-DE,de;q=0.9")

    await socket.send({"type": "no.such.frame"})
    error = await socket.receive_type("error")

    assert error["code"] == "bad_request"
    assert error["detail"] == "Unbekannter Frame-Typ: no.such.frame."
    await socket.close()


async def test_an_error_frame_is_english_without_accept_language(alice: Any) -> None:
    room = await db(lambda: factories.make_room(alice, chat_type="public", name="Lobby"))()
    socket = await open_room_with(alice, room, None)

    await socket.send({"type": "no.such.frame"})
    error = await socket.receive_type("error")

    assert (error["code"], error["detail"]) == ("bad_request", "Unknown frame type: no.such.frame.")
    await socket.close()


async def test_a_batched_send_refusal_is_in_each_senders_language(alice: Any, bob: Any) -> None:
    """A room's sends are written in batches for several sockets at once; each
    refusal is still in its own socket's language."""
    room = await db(
        lambda: factories.make_room(alice, chat_type="public", name="Lobby", members=[bob])
    )()
    german = await open_room_with(alice, room, "de")
    english = await open_room_with(bob, room, "en")

    await german.send({"type": "message.send", "client_id": "de-1", "content": "   "})
    await english.send({"type": "message.send", "client_id": "en-1", "content": "   "})
    refused_de = await german.receive_type("error")
    refused_en = await english.receive_type("error")

    assert (refused_de["code"], refused_de["ref"]) == ("validation_error", "de-1")
    assert refused_de["detail"] == "Eine Nachricht darf nicht leer sein."
    assert (refused_en["code"], refused_en["ref"]) == ("validation_error", "en-1")
    assert refused_en["detail"] == "A message cannot be empty."
    await german.close()
    await english.close()


async def test_the_users_setting_overrides_the_handshake(alice: Any, bob: Any) -> None:
    def setup() -> Any:
        bob.language = "de"
        bob.save()
        return factories.make_room(alice, chat_type="private", name="Staff", members=[bob])

    room = await db(setup)()
    socket = await open_room_with(bob, room, "en-US,en;q=0.9")

    await socket.send({"type": "message.edit", "message_id": 999999, "content": "x"})
    error = await socket.receive_type("error")

    assert error["code"] == "not_found"
    assert error["detail"] == "Diese Nachricht gibt es nicht."
    await socket.close()


async def test_an_open_socket_speaks_the_language_the_user_picks_meanwhile(alice: Any) -> None:
    from accounts.services import user_language_set

    room = await db(lambda: factories.make_room(alice, chat_type="public", name="Lobby"))()
    socket = await open_room_with(alice, room, "en")

    await db(user_language_set)(user=alice, language="de")
    await socket.send({"type": "no.such.frame"})
    german = await socket.receive_type("error")
    await db(user_language_set)(user=alice, language="")  # the browser's again: en
    await socket.send({"type": "no.such.frame"})
    english = await socket.receive_type("error")

    assert german["detail"] == "Unbekannter Frame-Typ: no.such.frame."
    assert english["detail"] == "Unknown frame type: no.such.frame."
    await socket.close()
