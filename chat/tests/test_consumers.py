"""The room socket: handshake, every client frame with its outcomes, close codes."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.db import OperationalError
from rest_framework.authtoken.models import Token

from chat import services
from chat.consumers import ChatConsumer
from chat.models import ChatMessage, PresenceConnection, UserPresence
from chat.selectors import typing_in_room
from chat.tests import factories
from chat.tests.ws import (
    cookie_headers,
    db,
    open_presence,
    open_room,
    open_socket,
    session_cookie,
    socket_settings,  # noqa: F401
    token_for,
)
from courses import services as course_services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def room(alice: Any, bob: Any) -> Any:
    """A private room: alice is its admin, bob a member."""
    return factories.make_room(alice, chat_type="private", name="Study group", members=[bob])


@pytest.fixture
def public_room(alice: Any, bob: Any) -> Any:
    return factories.make_room(alice, chat_type="public", name="Lobby", members=[bob])


async def send_and_error(socket: Any, frame: dict[str, Any]) -> dict[str, Any]:
    await socket.send(frame)
    return await socket.receive_type("error")


# --- handshake ---------------------------------------------------------------------------


async def test_member_gets_connection_ready_with_room_user_and_last_seq(
    alice: Any, bob: Any, room: Any
) -> None:
    await db(lambda: factories.make_message(alice, room, "unread one"))()
    socket = await open_room(bob, room)
    ready = socket.ready
    assert ready["room"]["id"] == room.pk
    assert ready["room"]["my_role"] == "member"
    assert ready["room"]["unread_count"] == 1
    assert ready["user"] == {"id": bob.pk, "username": "bob", "display_name": "Bob"}
    assert ready["last_seq"] == room.last_seq + 1
    await socket.close()


async def test_handshake_without_credentials_is_closed_with_4401(room: Any) -> None:
    socket = await open_socket(f"/ws/chat/{room.pk}/", headers=cookie_headers("nope"))
    assert socket.accepted
    assert await socket.close_code() == 4401


@pytest.mark.parametrize("path", ["/ws/chat/{room}/", "/ws/presence/"])
async def test_a_handshake_with_no_credentials_and_no_origin_is_closed_with_4401(
    room: Any, path: str
) -> None:
    socket = await open_socket(path.format(room=room.pk), headers=[(b"host", b"testserver")])
    assert socket.accepted
    assert await socket.close_code() == 4401


async def test_no_credentials_from_another_origin_is_refused(room: Any) -> None:
    headers = [(b"host", b"testserver"), (b"origin", b"http://evil.example")]
    socket = await open_socket(f"/ws/chat/{room.pk}/", headers=headers)
    assert not socket.accepted


async def test_unknown_token_is_closed_with_4401(room: Any) -> None:
    socket = await open_socket(
        f"/ws/chat/{room.pk}/", headers=[(b"authorization", b"Token not-a-token")]
    )
    assert await socket.close_code() == 4401


async def test_outsider_is_closed_with_4404_for_private_room(charlie: Any, room: Any) -> None:
    socket = await open_socket(f"/ws/chat/{room.pk}/", charlie)
    assert socket.accepted
    assert await socket.close_code() == 4404


async def test_missing_room_is_closed_with_4404(alice: Any) -> None:
    socket = await open_socket("/ws/chat/999999/", alice)
    assert await socket.close_code() == 4404


async def test_session_cookie_with_own_origin_is_accepted(bob: Any, room: Any) -> None:
    cookie = await db(session_cookie)(bob)
    socket = await open_socket(f"/ws/chat/{room.pk}/", headers=cookie_headers(cookie))
    assert (await socket.receive())["type"] == "connection.ready"
    await socket.close()


@pytest.mark.parametrize(
    "origin",
    [
        "https://testserver",  # other scheme
        "http://testserver:8080",  # other port
        "http://evil.example",  # other host
        "null",
        None,  # missing
    ],
)
async def test_session_cookie_from_other_origin_is_refused(
    bob: Any, room: Any, origin: str | None
) -> None:
    cookie = await db(session_cookie)(bob)
    socket = await open_socket(f"/ws/chat/{room.pk}/", headers=cookie_headers(cookie, origin))
    assert not socket.accepted


async def test_origin_on_a_host_outside_allowed_hosts_is_refused(bob: Any, room: Any) -> None:
    cookie = await db(session_cookie)(bob)
    headers = cookie_headers(cookie, "http://evil.example", host="evil.example")
    socket = await open_socket(f"/ws/chat/{room.pk}/", headers=headers)
    assert not socket.accepted


async def test_csrf_trusted_origin_is_accepted(settings: Any, bob: Any, room: Any) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.academia.example"]
    cookie = await db(session_cookie)(bob)
    headers = cookie_headers(cookie, "https://app.academia.example")
    socket = await open_socket(f"/ws/chat/{room.pk}/", headers=headers)
    assert (await socket.receive())["type"] == "connection.ready"
    await socket.close()


async def test_token_without_origin_is_accepted(bob: Any, room: Any) -> None:
    socket = await open_room(bob, room)
    assert socket.accepted
    await socket.close()


# --- message.send ----------------------------------------------------------------------------


async def test_sent_message_reaches_sender_and_other_member(
    alice: Any, bob: Any, room: Any
) -> None:
    a = await open_room(alice, room)
    b = await open_room(bob, room)
    await a.send({"type": "message.send", "client_id": "c-1", "content": "hi **bob**"})
    mine = await a.receive_type("message.created")
    theirs = await b.receive_type("message.created")
    assert mine == theirs
    assert mine["seq"] == room.last_seq + 1
    assert mine["message"]["client_id"] == "c-1"
    assert mine["message"]["content"] == "hi **bob**"
    assert mine["message"]["sender"]["id"] == alice.pk
    await a.close()
    await b.close()


async def test_repeated_client_id_is_acknowledged_again_without_a_second_message(
    alice: Any, bob: Any, room: Any
) -> None:
    first = await open_room(alice, room)
    await first.send({"type": "message.send", "client_id": "c-again", "content": "once"})
    original = await first.receive_type("message.created")
    await first.close()

    # A new socket starts after that seq: the repeat is answered with the original
    # event's seq and the message, and nothing reaches the other members.
    again = await open_room(alice, room)
    b = await open_room(bob, room)
    await again.send({"type": "message.send", "client_id": "c-again", "content": "once"})
    repeat = await again.receive_type("message.created")
    assert repeat["seq"] == original["seq"]
    assert repeat["message"]["id"] == original["message"]["id"]
    assert repeat["message"]["client_id"] == "c-again"
    assert await b.no_more_events()
    assert await db(ChatMessage.objects.filter(client_id="c-again").count)() == 1
    await again.close()
    await b.close()


async def test_a_repeated_client_id_is_acknowledged_to_a_sender_muted_since(
    alice: Any, bob: Any, room: Any
) -> None:
    b = await open_room(bob, room)
    await b.send({"type": "message.send", "client_id": "c-mute", "content": "just in time"})
    original = await b.receive_type("message.created")
    await db(services.participant_update)(actor=alice, room=room, user_id=bob.pk, is_muted=True)

    await b.send({"type": "message.send", "client_id": "c-mute", "content": "just in time"})
    repeat = await b.receive_type("message.created", "error")
    await b.send({"type": "message.send", "client_id": "c-new", "content": "too late"})
    refused = await b.receive_type("message.created", "error")

    assert (repeat["type"], repeat["seq"]) == ("message.created", original["seq"])
    assert repeat["message"]["id"] == original["message"]["id"]
    assert (refused["type"], refused["code"], refused["ref"]) == ("error", "muted", "c-new")
    await b.close()


async def test_a_repeated_client_id_whose_event_was_pruned_is_answered_resync_required(
    alice: Any, bob: Any, room: Any
) -> None:
    from django.utils import timezone

    from chat.services.retention import room_events_prune

    first = await open_room(alice, room)
    await first.send({"type": "message.send", "client_id": "c-old", "content": "long ago"})
    await first.receive_type("message.created")
    await first.send({"type": "message.send", "content": "the room's newest event is kept"})
    await first.receive_type("message.created")
    await first.close()
    await db(room_events_prune)(before=timezone.now() + timedelta(seconds=1))

    again = await open_room(alice, room)
    b = await open_room(bob, room)
    await again.send({"type": "message.send", "client_id": "c-old", "content": "long ago"})

    # The seq went with the event: reload (the message is there), as after a replay gap.
    assert await again.receive_type("resync.required", "message.created", "error") == {
        "type": "resync.required"
    }
    assert await b.no_more_events()
    assert await db(ChatMessage.objects.filter(client_id="c-old").count)() == 1
    await again.close()
    await b.close()


async def test_reply_is_sent_with_reply_to(alice: Any, bob: Any, room: Any) -> None:
    parent = await db(lambda: factories.make_message(bob, room, "question"))()
    a = await open_room(alice, room)
    await a.send({"type": "message.send", "content": "answer", "reply_to": parent.pk})
    event = await a.receive_type("message.created")
    assert event["message"]["reply_to"] == parent.pk
    await a.close()


async def test_empty_message_is_a_validation_error_and_socket_stays_open(
    alice: Any, room: Any
) -> None:
    a = await open_room(alice, room)
    error = await send_and_error(a, {"type": "message.send", "client_id": "c-2", "content": " "})
    assert error == {
        "type": "error",
        "code": "validation_error",
        "detail": "A message cannot be empty.",
        "ref": "c-2",
    }
    await a.send({"type": "ping"})
    assert await a.receive_type("pong") == {"type": "pong"}
    await a.close()


async def test_message_without_content_is_a_bad_request(alice: Any, room: Any) -> None:
    a = await open_room(alice, room)
    error = await send_and_error(a, {"type": "message.send"})
    assert (error["code"], error["ref"]) == ("bad_request", "message.send")
    assert error["detail"] == "Missing field: content."
    await a.close()


async def test_non_participant_of_public_room_is_forbidden_to_send(
    charlie: Any, public_room: Any
) -> None:
    c = await open_room(charlie, public_room)
    error = await send_and_error(c, {"type": "message.send", "content": "hello"})
    assert error["code"] == "forbidden"
    await c.close()


async def test_muted_member_gets_muted(alice: Any, bob: Any, room: Any) -> None:
    await db(services.participant_update)(actor=alice, room=room, user_id=bob.pk, is_muted=True)
    b = await open_room(bob, room)
    error = await send_and_error(b, {"type": "message.send", "content": "hello"})
    assert error["code"] == "muted"
    await b.close()


async def test_archived_room_refuses_posting(alice: Any, room: Any) -> None:
    await db(services.room_archive)(actor=alice, room=room)
    a = await open_room(alice, room)
    error = await send_and_error(a, {"type": "message.send", "content": "hello"})
    assert error["code"] == "room_archived"
    await a.close()


async def test_sends_over_the_rate_limit_get_rate_limited_with_retry_after(
    settings: Any, fresh_rate_windows: None, alice: Any, room: Any
) -> None:
    settings.CHAT_WS_SEND_RATE = "2/60s"
    a = await open_room(alice, room)
    for number in range(2):
        await a.send({"type": "message.send", "content": f"m{number}"})
        await a.receive_type("message.created")
    error = await send_and_error(a, {"type": "message.send", "client_id": "c-3", "content": "m2"})
    assert error["code"] == "rate_limited"
    assert error["ref"] == "c-3"
    assert 1 <= error["retry_after"] <= 60
    assert await db(ChatMessage.objects.filter(room=room, content="m2").count)() == 0
    await a.close()


async def test_rate_limit_is_shared_by_a_users_sockets(
    settings: Any, fresh_rate_windows: None, alice: Any, room: Any
) -> None:
    settings.CHAT_WS_SEND_RATE = "1/60s"
    first = await open_room(alice, room)
    second = await open_room(alice, room)
    await first.send({"type": "message.send", "content": "one"})
    await first.receive_type("message.created")
    error = await send_and_error(second, {"type": "message.send", "content": "two"})
    assert error["code"] == "rate_limited"
    await first.close()
    await second.close()


# --- message.edit / message.delete ---------------------------------------------------------------


async def test_sender_edits_message(alice: Any, bob: Any, room: Any) -> None:
    message = await db(lambda: factories.make_message(alice, room, "draft"))()
    b = await open_room(bob, room)
    a = await open_room(alice, room)
    await a.send({"type": "message.edit", "message_id": message.pk, "content": "final"})
    event = await b.receive_type("message.updated")
    assert event["message"]["content"] == "final"
    assert event["message"]["is_edited"] is True
    await a.close()
    await b.close()


async def test_editing_someone_elses_message_is_forbidden(alice: Any, bob: Any, room: Any) -> None:
    message = await db(lambda: factories.make_message(alice, room, "mine"))()
    b = await open_room(bob, room)
    error = await send_and_error(
        b, {"type": "message.edit", "message_id": message.pk, "content": "yours"}
    )
    assert error["code"] == "forbidden"
    await b.close()


async def test_edit_after_the_window_is_edit_window_closed(
    settings: Any, alice: Any, room: Any
) -> None:
    settings.CHAT_MESSAGE_EDIT_TIMEOUT = -1
    message = await db(lambda: factories.make_message(alice, room, "old"))()
    a = await open_room(alice, room)
    error = await send_and_error(
        a, {"type": "message.edit", "message_id": message.pk, "content": "new"}
    )
    assert error["code"] == "edit_window_closed"
    await a.close()


async def test_editing_a_message_of_another_room_is_not_found(alice: Any, room: Any) -> None:
    other = await db(lambda: factories.make_room(alice, chat_type="private", name="Other"))()
    message = await db(lambda: factories.make_message(alice, other, "elsewhere"))()
    a = await open_room(alice, room)
    for message_id in (message.pk, 999999, "x"):
        error = await send_and_error(
            a, {"type": "message.edit", "message_id": message_id, "content": "new"}
        )
        assert error["code"] == "not_found"
    error = await send_and_error(a, {"type": "message.edit", "content": "new"})
    assert error["code"] == "bad_request"
    await a.close()


async def test_a_message_id_that_is_not_an_integer_never_names_another_message(
    alice: Any, room: Any
) -> None:
    message = await db(lambda: factories.make_message(alice, room, "mine"))()
    a = await open_room(alice, room)
    # 1.9 used to be read as 1 (and true as 1): a float is no message's id.
    for message_id in (message.pk + 0.9, float(message.pk), True, None, [message.pk]):
        error = await send_and_error(
            a, {"type": "reaction.add", "message_id": message_id, "emoji": "👍"}
        )
        assert error["code"] == "not_found", message_id
    await a.send({"type": "reaction.add", "message_id": str(message.pk), "emoji": "👍"})
    added = await a.receive_type("reaction.added")
    assert added["message_id"] == message.pk
    await a.close()


async def test_edit_with_invalid_content_is_a_validation_error(alice: Any, room: Any) -> None:
    message = await db(lambda: factories.make_message(alice, room, "old"))()
    a = await open_room(alice, room)
    error = await send_and_error(
        a, {"type": "message.edit", "message_id": message.pk, "content": 5}
    )
    assert error["code"] == "validation_error"
    await a.close()


async def test_sender_deletes_message(alice: Any, bob: Any, room: Any) -> None:
    message = await db(lambda: factories.make_message(bob, room, "oops"))()
    b = await open_room(bob, room)
    await b.send({"type": "message.delete", "message_id": message.pk})
    event = await b.receive_type("message.deleted")
    assert event["message"]["id"] == message.pk
    assert event["message"]["is_deleted"] is True
    assert event["message"]["content"] == ""
    await b.close()


async def test_member_may_not_delete_anothers_message(alice: Any, bob: Any, room: Any) -> None:
    message = await db(lambda: factories.make_message(alice, room, "keep"))()
    b = await open_room(bob, room)
    error = await send_and_error(b, {"type": "message.delete", "message_id": message.pk})
    assert error["code"] == "forbidden"
    error = await send_and_error(b, {"type": "message.delete", "message_id": 999999})
    assert error["code"] == "not_found"
    error = await send_and_error(b, {"type": "message.delete"})
    assert error["code"] == "bad_request"
    await b.close()


async def test_delete_after_the_window_is_edit_window_closed(
    settings: Any, bob: Any, room: Any
) -> None:
    settings.CHAT_MESSAGE_DELETE_TIMEOUT = -1
    message = await db(lambda: factories.make_message(bob, room, "old"))()
    b = await open_room(bob, room)
    error = await send_and_error(b, {"type": "message.delete", "message_id": message.pk})
    assert error["code"] == "edit_window_closed"
    await b.close()


# --- reactions ----------------------------------------------------------------------------------


async def test_reaction_added_and_removed(alice: Any, bob: Any, room: Any) -> None:
    message = await db(lambda: factories.make_message(alice, room, "nice"))()
    b = await open_room(bob, room)
    await b.send({"type": "reaction.add", "message_id": message.pk, "emoji": ":thumbsup:"})
    added = await b.receive_type("reaction.added")
    assert (added["message_id"], added["emoji"], added["user"]["id"]) == (message.pk, "👍", bob.pk)
    await b.send({"type": "reaction.remove", "message_id": message.pk, "emoji": "👍"})
    removed = await b.receive_type("reaction.removed")
    assert removed["seq"] == added["seq"] + 1
    await b.close()


@pytest.mark.parametrize("kind", ["reaction.add", "reaction.remove"])
async def test_reaction_errors(
    alice: Any, bob: Any, charlie: Any, public_room: Any, kind: str
) -> None:
    message = await db(lambda: factories.make_message(alice, public_room, "nice"))()
    b = await open_room(bob, public_room)
    error = await send_and_error(b, {"type": kind, "message_id": message.pk, "emoji": "nope"})
    assert error["code"] == "validation_error"
    error = await send_and_error(b, {"type": kind, "message_id": 999999, "emoji": "👍"})
    assert error["code"] == "not_found"
    error = await send_and_error(b, {"type": kind, "message_id": message.pk})
    assert error["code"] == "bad_request"
    await b.close()
    if kind == "reaction.add":
        c = await open_room(charlie, public_room)
        error = await send_and_error(c, {"type": kind, "message_id": message.pk, "emoji": "👍"})
        assert error["code"] == "forbidden"
        await c.close()


# --- typing and read ---------------------------------------------------------------------------


async def test_typing_is_broadcast_to_the_room_and_listed_by_the_selector(
    alice: Any, bob: Any, room: Any
) -> None:
    a = await open_room(alice, room)
    b = await open_room(bob, room)
    await b.send({"type": "typing", "is_typing": True})
    frame = await a.receive_type("typing")
    assert frame == {
        "type": "typing",
        "room_id": room.pk,
        "user": {"id": bob.pk, "username": "bob", "display_name": "Bob"},
        "is_typing": True,
    }
    typing = await db(lambda: [p.user_id for p in typing_in_room(room)])()
    assert typing == [bob.pk]
    await b.send({"type": "typing", "is_typing": True})  # within a second: not re-broadcast
    await b.send({"type": "typing", "is_typing": False})
    frame = await a.receive_type("typing")
    assert frame["is_typing"] is False
    await a.close()
    await b.close()


async def test_typing_is_broadcast_at_most_once_a_second_whatever_the_value(
    alice: Any, bob: Any, room: Any
) -> None:
    a = await open_room(alice, room)
    b = await open_room(bob, room)
    for number in range(10):
        await b.send({"type": "typing", "is_typing": number % 2 == 0})
    first = await a.receive_type("typing")
    assert first["is_typing"] is True
    # The nine changes within that second come down to the last one, once it is over.
    assert await a.nothing(timeout=0.8)
    last = await a.receive_type("typing")
    assert last["is_typing"] is False
    assert await a.nothing(timeout=1.5)
    await a.close()
    await b.close()


async def test_a_typer_who_closes_within_the_second_is_shown_to_stop_at_once(
    alice: Any, bob: Any, room: Any
) -> None:
    a = await open_room(alice, room)
    b = await open_room(bob, room)
    await b.send({"type": "typing", "is_typing": True})
    assert (await a.receive_type("typing"))["is_typing"] is True

    await b.close()  # well within the throttle's second

    stopped = await a.receive_type("typing")
    assert (stopped["user"]["id"], stopped["is_typing"]) == (bob.pk, False)
    await a.close()


async def test_typing_again_right_after_a_message_is_shown_once_the_second_is_over(
    alice: Any, bob: Any, room: Any
) -> None:
    """Clients stop showing a typer whose message arrived: typing again within the
    second is not lost, though the server had last broadcast true."""
    a = await open_room(alice, room)
    b = await open_room(bob, room)
    await b.send({"type": "typing", "is_typing": True})
    assert (await a.receive_type("typing"))["is_typing"] is True
    await b.send({"type": "message.send", "content": "done", "client_id": "m1"})
    await b.send({"type": "typing", "is_typing": False})
    await b.send({"type": "typing", "is_typing": True})
    created = await a.receive_type("message.created")
    assert created["message"]["content"] == "done"
    again = await a.receive_type("typing")
    assert again["is_typing"] is True
    assert await a.nothing(timeout=1.2)
    await a.close()
    await b.close()


async def test_a_refused_typing_value_already_shown_is_not_sent_again(
    alice: Any, bob: Any, room: Any
) -> None:
    a = await open_room(alice, room)
    b = await open_room(bob, room)
    await b.send({"type": "typing", "is_typing": True})
    assert (await a.receive_type("typing"))["is_typing"] is True
    await b.send({"type": "typing", "is_typing": True})
    assert await a.nothing(timeout=1.5)
    await a.close()
    await b.close()


async def test_typing_expires_after_the_typing_timeout(settings: Any, bob: Any, room: Any) -> None:
    settings.CHAT_TYPING_TIMEOUT = 0
    b = await open_room(bob, room)
    await b.send({"type": "typing", "is_typing": True})
    await b.receive_type("typing")
    assert await db(lambda: list(typing_in_room(room)))() == []
    await b.close()


async def test_typing_errors(bob: Any, charlie: Any, room: Any, public_room: Any) -> None:
    b = await open_room(bob, room)
    error = await send_and_error(b, {"type": "typing", "is_typing": "yes"})
    assert error["code"] == "validation_error"
    assert await b.nothing(timeout=1.2)  # answered once, never retried
    error = await send_and_error(b, {"type": "typing"})
    assert error["code"] == "bad_request"
    await b.close()
    c = await open_room(charlie, public_room)
    error = await send_and_error(c, {"type": "typing", "is_typing": True})
    assert error["code"] == "forbidden"
    await c.close()


async def test_read_marker_sends_unread_count_to_the_presence_socket(
    alice: Any, bob: Any, room: Any
) -> None:
    first = await db(lambda: factories.make_message(alice, room, "one"))()
    second = await db(lambda: factories.make_message(alice, room, "two"))()
    presence = await open_presence(bob)
    b = await open_room(bob, room)
    assert b.ready["room"]["unread_count"] == 2
    await b.send({"type": "read", "message_id": first.pk})
    assert await presence.receive_type("unread") == {
        "type": "unread",
        "room_id": room.pk,
        "unread_count": 1,
    }
    # The marker does not move back, nor stay put with a frame: no unread frame then.
    await b.send({"type": "read", "message_id": first.pk})
    await b.send({"type": "read", "message_id": str(second.pk)})  # an id's text, as REST takes
    assert await presence.receive_type("unread") == {
        "type": "unread",
        "room_id": room.pk,
        "unread_count": 0,
    }  # and not a second frame of 1 for the read that moved nothing
    await b.send({"type": "message.send", "content": "re", "reply_to": str(first.pk)})
    assert (await b.receive_type("message.created"))["message"]["reply_to"] == first.pk
    await b.close()
    await presence.close()


async def test_read_errors(bob: Any, charlie: Any, room: Any, public_room: Any) -> None:
    message = await db(lambda: factories.make_message(bob, public_room, "x"))()
    b = await open_room(bob, room)
    error = await send_and_error(b, {"type": "read", "message_id": "x"})
    assert error["code"] == "validation_error"
    error = await send_and_error(b, {"type": "read", "message_id": message.pk})
    assert error["code"] == "validation_error"  # a message of another room
    error = await send_and_error(b, {"type": "read"})
    assert error["code"] == "bad_request"
    await b.close()
    c = await open_room(charlie, public_room)
    error = await send_and_error(c, {"type": "read", "message_id": message.pk})
    assert error["code"] == "forbidden"
    await c.close()


# --- malformed frames ---------------------------------------------------------------------------


async def test_ping_gets_pong(bob: Any, room: Any) -> None:
    b = await open_room(bob, room)
    await b.send({"type": "ping"})
    assert await b.receive_type("pong") == {"type": "pong"}
    await b.close()


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("not json", None),
        ("[1, 2]", None),
        ('{"no": "type"}', None),
        ('{"type": "room_event", "seq": 1}', "room_event"),
        ('{"type": "websocket.disconnect"}', "websocket.disconnect"),
        ('{"type": "message.send", "content": ' + "[" * 20 + "]" * 20 + "}", None),
    ],
)
async def test_malformed_frames_answer_bad_request_and_keep_the_socket(
    bob: Any, room: Any, text: str, ref: str | None
) -> None:
    b = await open_room(bob, room)
    await b.send_text(text)
    error = await b.receive_type("error")
    assert (error["type"], error["code"], error["ref"]) == ("error", "bad_request", ref)
    await b.send({"type": "ping"})
    assert await b.receive_type("pong") == {"type": "pong"}
    await b.close()


async def test_binary_frame_is_a_bad_request(bob: Any, room: Any) -> None:
    b = await open_room(bob, room)
    await b.communicator.send_to(bytes_data=b"\x00\x01")
    error = await b.receive_type("error")
    assert (error["code"], error["ref"]) == ("bad_request", None)
    await b.close()


async def test_frame_over_the_size_limit_closes_with_4413(
    settings: Any, bob: Any, room: Any
) -> None:
    settings.CHAT_WS_MAX_FRAME_BYTES = 1024
    b = await open_room(bob, room)
    await b.send({"type": "message.send", "content": "x" * 2000})
    assert await b.close_code() == 4413


async def test_unexpected_failure_answers_an_error_frame_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, bob: Any, room: Any
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("boom")

    def database_down(**kwargs: Any) -> None:
        raise OperationalError("connection refused")

    b = await open_room(bob, room)
    monkeypatch.setattr("chat.consumers.writer.message_send_many", broken)
    error = await send_and_error(b, {"type": "message.send", "client_id": "c-9", "content": "x"})
    assert (error["code"], error["ref"]) == ("bad_request", "c-9")
    monkeypatch.setattr("chat.consumers.writer.message_send_many", database_down)
    error = await send_and_error(b, {"type": "message.send", "content": "x"})
    assert error["code"] == "unavailable"
    await b.send({"type": "ping"})
    assert await b.receive_type("pong") == {"type": "pong"}
    await b.close()


# --- closing --------------------------------------------------------------------------------------


async def test_silent_socket_is_closed_with_4408(settings: Any, bob: Any, room: Any) -> None:
    settings.CHAT_CONNECTION_TIMEOUT = 1
    b = await open_room(bob, room)
    assert await b.close_code() == 4408


async def test_pings_keep_the_socket_open(settings: Any, bob: Any, room: Any) -> None:
    settings.CHAT_CONNECTION_TIMEOUT = 1
    b = await open_room(bob, room)
    for _ in range(6):
        await asyncio.sleep(0.3)
        await b.send({"type": "ping"})
        assert await b.receive_type("pong") == {"type": "pong"}
    await b.close()


async def test_removed_participant_is_closed_with_4403_at_once(
    alice: Any, bob: Any, room: Any
) -> None:
    b = await open_room(bob, room)
    await db(services.participant_remove)(actor=alice, room=room, user_id=bob.pk)
    assert await b.close_code() == 4403


async def test_ended_enrolment_closes_the_course_room_socket_with_4403(
    stella: Any, bob: Any, course: Any
) -> None:
    room = await db(factories.course_room)(course)
    b = await open_room(bob, room)
    await db(course_services.enrollment_end)(actor=stella, course=course, user=bob)
    assert await b.close_code() == 4403


async def test_ended_enrolment_closes_the_socket_of_a_student_who_had_left_the_room(
    stella: Any, bob: Any, course: Any
) -> None:
    """Having left the course room, bob still sees it through his enrolment (and
    watches it); when the enrolment ends, that socket closes too."""
    room = await db(factories.course_room)(course)
    await db(services.room_leave)(actor=bob, room=room)
    b = await open_room(bob, room)
    await db(course_services.enrollment_end)(actor=stella, course=course, user=bob)
    assert await b.close_code() == 4403


async def test_frame_after_losing_access_closes_with_4403(
    monkeypatch: pytest.MonkeyPatch, alice: Any, bob: Any, room: Any
) -> None:
    b = await open_room(bob, room)
    # The revocation broadcast is lost: the per-frame check still refuses.
    monkeypatch.setattr("chat.events.send", lambda group, message: None)
    await db(services.participant_remove)(actor=alice, room=room, user_id=bob.pk)
    await b.send({"type": "message.send", "content": "still here?"})
    assert await b.close_code() == 4403
    assert await db(ChatMessage.objects.filter(content="still here?").count)() == 0


def _logout(user: Any) -> None:
    Session.objects.all().delete()


def _change_password(user: Any) -> None:
    user.set_password("a new password entirely")
    user.save()


def _deactivate(user: Any) -> None:
    user.is_active = False
    user.save()


@pytest.mark.parametrize("end", [_logout, _change_password, _deactivate])
async def test_session_end_closes_the_socket_with_4401(bob: Any, room: Any, end: Any) -> None:
    cookie = await db(session_cookie)(bob)
    b = await open_socket(f"/ws/chat/{room.pk}/", headers=cookie_headers(cookie))
    assert (await b.receive())["type"] == "connection.ready"
    await asyncio.sleep(1.1)  # past the per-socket credentials cache
    await db(end)(bob)
    await b.send({"type": "message.send", "content": "after logout"})
    assert await b.close_code() == 4401


async def test_deleted_token_closes_the_socket_with_4401(bob: Any, room: Any) -> None:
    b = await open_room(bob, room)
    await asyncio.sleep(1.1)
    await db(lambda: Token.objects.filter(user=bob).delete())()
    await b.send({"type": "ping"})
    assert await b.close_code() == 4401


async def test_ended_session_is_noticed_by_the_periodic_check(
    settings: Any, bob: Any, room: Any
) -> None:
    settings.CHAT_WS_TICK_SECONDS = 0.1
    settings.CHAT_WS_REVALIDATE_SECONDS = 0.1
    b = await open_room(bob, room)
    await db(lambda: Token.objects.filter(user=bob).delete())()
    assert await b.close_code() == 4401


@pytest.mark.parametrize("end", [_logout, _change_password, _deactivate])
async def test_an_ended_session_is_noticed_by_the_periodic_check_too(
    settings: Any, bob: Any, room: Any, end: Any
) -> None:
    settings.CHAT_WS_TICK_SECONDS = 0.1
    settings.CHAT_WS_REVALIDATE_SECONDS = 0.1
    cookie = await db(session_cookie)(bob)
    b = await open_socket(f"/ws/chat/{room.pk}/", headers=cookie_headers(cookie))
    assert (await b.receive())["type"] == "connection.ready"
    await db(end)(bob)
    assert await b.close_code() == 4401


def test_many_sockets_credentials_are_checked_in_two_queries_and_each_session_read(
    django_assert_num_queries: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    from chat.ws_auth import credentials_still_valid

    alice_token, bob_token, charlie_token = (token_for(user) for user in (alice, bob, charlie))
    Token.objects.filter(user=bob).delete()
    alice_session = session_cookie(alice)
    charlie_session = session_cookie(charlie)
    _deactivate(charlie)
    checks = [
        ("token", alice.pk, alice_token),
        ("token", bob.pk, bob_token),  # deleted
        ("token", charlie.pk, charlie_token),  # user deactivated
        ("token", bob.pk, alice_token),  # someone else's
        ("token", alice.pk, None),
        ("session", alice.pk, alice_session),
        ("session", charlie.pk, charlie_session),  # user deactivated
        ("session", bob.pk, alice_session),  # someone else's
        ("session", alice.pk, "no-such-session"),
    ]
    # Tokens, the sessions' users, then one read for each session of an active user (3).
    with django_assert_num_queries(5):
        valid = credentials_still_valid(checks)
    assert valid == [True, False, False, False, False, True, False, False, False]


async def test_room_socket_counts_as_online(bob: Any, room: Any) -> None:
    b = await open_room(bob, room)
    assert await db(lambda: UserPresence.objects.get(user=bob).status)() == "online"
    await b.close()
    assert await db(lambda: UserPresence.objects.get(user=bob).status)() == "offline"


async def test_a_burst_of_sends_is_written_and_acknowledged_in_order(
    alice: Any, bob: Any, room: Any
) -> None:
    a = await open_room(alice, room)
    b = await open_room(bob, room)
    start = a.ready["last_seq"]
    for number in range(12):
        content = "" if number == 5 else f"burst {number}"
        await a.send({"type": "message.send", "client_id": f"burst-{number}", "content": content})
    await a.send({"type": "message.edit", "message_id": -1, "content": "after the burst"})
    acks: list[tuple[int, str]] = []
    errors_seen: list[tuple[str, str]] = []
    while len(acks) < 11 or len(errors_seen) < 2:
        frame = await a.receive()
        if frame["type"] == "message.created":
            acks.append((frame["seq"], frame["message"]["client_id"]))
        elif frame["type"] == "error":
            errors_seen.append((frame["code"], frame["ref"]))
    sent = [f"burst-{number}" for number in range(12) if number != 5]
    assert acks == [(start + 1 + index, client_id) for index, client_id in enumerate(sent)]
    # The empty one is refused alone; the edit is answered after every send of the burst.
    assert errors_seen == [("validation_error", "burst-5"), ("not_found", "message.edit")]
    seen_by_b = [(await b.receive_type("message.created"))["seq"] for _ in sent]
    assert seen_by_b == [seq for seq, _ in acks]
    await a.close()
    await b.close()


async def test_a_socket_beyond_the_users_limit_is_closed_with_4429(
    settings: Any, bob: Any, room: Any
) -> None:
    settings.CHAT_WS_MAX_SOCKETS_PER_USER = 2
    first = await open_room(bob, room)
    second = await open_presence(bob)
    third = await open_room(bob, room, ready=False)
    assert await third.close_code() == 4429
    assert await db(PresenceConnection.objects.filter(user=bob).count)() == 2
    await first.close()
    fourth = await open_room(bob, room)
    assert fourth.ready["type"] == "connection.ready"
    await second.close()
    await fourth.close()


async def test_frames_past_the_users_budget_are_refused_then_the_socket_closed(
    settings: Any, fresh_rate_windows: None, bob: Any, room: Any
) -> None:
    settings.CHAT_WS_FRAME_RATE = "5/60s"
    b = await open_room(bob, room)
    for _ in range(5):
        await b.send({"type": "ping"})
        assert await b.receive_type("pong") == {"type": "pong"}
    await b.send({"type": "ping"})
    refused = await b.receive()
    assert (refused["type"], refused["code"], refused["ref"]) == ("error", "rate_limited", "ping")
    assert 0 < refused["retry_after"] <= 60
    for _ in range(5):
        await b.send_text("not even json")
    assert await b.close_code() == 1008


WRITE_FRAMES = sorted(kind for kind, spec in ChatConsumer.frames.items() if spec.write)


def test_the_room_sockets_writes_are_every_frame_that_changes_the_room() -> None:
    assert WRITE_FRAMES == [
        "answer.endorse",
        "answer.withdraw",
        "message.delete",
        "message.edit",
        "message.pin",
        "message.unpin",
        "office_hours.set",
        "poll.close",
        "poll.create",
        "poll.vote",
        "question.mark",
        "queue.join",
        "queue.leave",
        "queue.next",
        "reaction.add",
        "reaction.remove",
        "staff_question.answer",
        "staff_question.ask",
    ]


@pytest.mark.parametrize("kind", WRITE_FRAMES)
async def test_every_write_frame_counts_against_the_send_rate(
    settings: Any, fresh_rate_windows: None, alice: Any, room: Any, kind: str
) -> None:
    """Declared a write in the frame table: counted, refused past CHAT_WS_SEND_RATE."""
    settings.CHAT_WS_SEND_RATE = "1/60s"
    message = await db(factories.make_message)(alice, room, "hello")
    a = await open_room(alice, room)
    frame = {
        "type": kind,
        "message_id": message.pk,
        "content": "edited",
        "emoji": "👍",
        "is_question": True,
        "poll_id": message.pk,
        "question_id": message.pk,
        "option_ids": [],
        "question": "Q?",
        "options": ["a", "b"],
        "open": True,
    }
    await a.send(frame)
    await a.send(frame)
    # The first may be refused on its own terms (no such poll, not a queue room).
    refused = await a.receive_type("error")
    if refused["code"] != "rate_limited":  # refused on its own terms first
        refused = await a.receive_type("error")
    assert (refused["code"], refused["ref"]) == ("rate_limited", kind)
    assert 0 < refused["retry_after"] <= 60
    await a.close()


@pytest.mark.redis
def test_the_send_rate_counter_on_redis_counts_batches_expires_and_is_the_caches_counter(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from django.core.cache import cache

    from chat.consumers.base import count_sends

    url = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs TEST_REDIS_URL/REDIS_URL")
    settings.CACHES = {
        "default": {
            "BACKEND": "academia.cache.ProcessRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "rate-test",
        }
    }
    settings.CHAT_WS_SEND_RATE = "5/60s"
    now = 1_800_000_030.0  # 30 s into a one-minute window
    monkeypatch.setattr("chat.consumers.base.time.time", lambda: now)
    user_id = 987_654_321
    key = f"chat:ws-rate:{user_id}:{int(now // 60)}"
    cache.delete(key)
    from django.core.cache.backends.redis import RedisCacheClient

    def no_round_trip_of_its_own(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the counter takes one pipelined round trip, not add and incr")

    monkeypatch.setattr(RedisCacheClient, "add", no_round_trip_of_its_own)
    monkeypatch.setattr(RedisCacheClient, "incr", no_round_trip_of_its_own)
    try:
        assert count_sends(user_id, 3) == []
        refused = count_sends(user_id, 4)  # 7 of 5: the last two are over
        assert len(refused) == 2
        assert [error.retry_after for error in refused] == [30, 30]
        assert cache.get(key) == 7
        redis_key = cache.make_and_validate_key(key)
        client = cache._cache.get_client(redis_key)  # type: ignore[attr-defined]
        ttl = client.ttl(redis_key)
        assert 0 < ttl <= 61
    finally:
        cache.delete(key)
