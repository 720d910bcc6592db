"""Who may do what over the room socket, and the same over REST, from one table.

Personas of a public room (everyone signed in sees it): its ``admin``
(creator), a ``moderator``, a ``member``, a ``muted`` member, a ``removed``
member, an ``outsider``, ``staff`` (is_staff) and ``support`` (the support
group), in a live and in an archived room. Every action answers the same over
the socket (an ``error`` frame's code, or its event) and over REST (the status
and ``code``).
"""

from __future__ import annotations

from typing import Any

import pytest

from chat import services
from chat.tests import factories
from chat.tests.api_support import client_for
from chat.tests.ws import db, open_room, open_socket, socket_settings  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

PERSONAS = ["admin", "moderator", "member", "muted", "removed", "outsider", "staff", "support"]
ACTIONS = ["send", "react", "unreact", "delete", "typing", "read"]
PARTICIPANTS = {"admin", "moderator", "member", "muted"}
MODERATORS = {"admin", "moderator"}
SUCCESS = {
    "send": "message.created",
    "react": "reaction.added",
    "unreact": "reaction.removed",
    "delete": "message.deleted",
    "typing": "typing",
    "read": None,  # no event on the room socket
}


def expected(persona: str, action: str, archived: bool) -> str:
    """The table: ``ok`` or the error code."""
    if action == "read":
        return "ok" if persona in PARTICIPANTS else "forbidden"
    if archived:
        return "room_archived"
    if action == "delete":
        return "ok" if persona in MODERATORS else "forbidden"
    if persona not in PARTICIPANTS:
        return "forbidden"
    return "muted" if persona == "muted" else "ok"


def build(archived: bool, suffix: str = "") -> tuple[Any, dict[str, Any], Any]:
    people = {
        "admin": factories.make_user(f"adam{suffix}"),
        "moderator": factories.make_user(f"mona{suffix}"),
        "member": factories.make_user(f"mel{suffix}"),
        "muted": factories.make_user(f"muriel{suffix}"),
        "removed": factories.make_user(f"remy{suffix}"),
        "outsider": factories.make_user(f"otto{suffix}"),
        "staff": factories.make_user(f"stan{suffix}", is_staff=True),
        "support": factories.make_support_user(f"suzy{suffix}"),
    }
    room = factories.make_room(
        people["admin"],
        chat_type="public",
        name="Agora",
        members=[people["member"], people["muted"], people["removed"]],
        moderators=[people["moderator"]],
    )
    target = factories.make_message(people["admin"], room, "the admin's message")
    for persona in PARTICIPANTS | {"removed"}:
        services.reaction_add(actor=people[persona], message=target, emoji="👍")
    admin = people["admin"]
    services.participant_update(actor=admin, room=room, user_id=people["muted"].pk, is_muted=True)
    services.participant_remove(actor=admin, room=room, user_id=people["removed"].pk)
    if archived:
        services.room_archive(actor=admin, room=room)
    return room, people, target


def frame_for(action: str, target: Any) -> dict[str, Any]:
    return {
        "send": {"type": "message.send", "client_id": "matrix-1", "content": "hi"},
        "react": {"type": "reaction.add", "message_id": target.pk, "emoji": "🎉"},
        "unreact": {"type": "reaction.remove", "message_id": target.pk, "emoji": "👍"},
        "delete": {"type": "message.delete", "message_id": target.pk},
        "typing": {"type": "typing", "is_typing": True},
        "read": {"type": "read", "message_id": target.pk},
    }[action]


def over_rest(action: str, user: Any, room: Any, target: Any) -> str | None:
    client = client_for(user)
    if action == "send":
        response = client.post("/chat/messages/", {"room": room.pk, "content": "hi"}, format="json")
    elif action == "react":
        response = client.post(f"/chat/messages/{target.pk}/react/", {"emoji": "🎉"}, format="json")
    elif action == "unreact":
        response = client.delete(
            f"/chat/messages/{target.pk}/react/", {"emoji": "👍"}, format="json"
        )
    elif action == "delete":
        response = client.delete(f"/chat/messages/{target.pk}/")
    elif action == "read":
        response = client.post(
            f"/chat/rooms/{room.pk}/read/", {"message_id": target.pk}, format="json"
        )
    else:
        return None  # typing has no REST write
    return "ok" if response.status_code < 300 else response.data["code"]


async def over_socket(action: str, user: Any, room: Any, target: Any) -> str:
    socket = await open_room(user, room)
    await socket.send(frame_for(action, target))
    await socket.send({"type": "ping"})
    # A send is answered by the room's writer, possibly after the pong.
    outcome = "ok" if SUCCESS[action] is None else None
    ponged = False
    while not (ponged and outcome is not None):
        frame = await socket.receive()
        if frame["type"] == "error" and frame["ref"] != "ping":
            outcome = frame["code"]
        elif frame["type"] == SUCCESS[action] and outcome in (None, "ok"):
            outcome = "ok"
        elif frame["type"] == "pong":
            ponged = True
    await socket.close()
    return outcome


@pytest.mark.parametrize("archived", [False, True], ids=["live", "archived"])
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("persona", PERSONAS)
async def test_socket_and_rest_follow_one_table(persona: str, action: str, archived: bool) -> None:
    want = expected(persona, action, archived)
    room, people, target = await db(build)(archived)
    assert await over_socket(action, people[persona], room, target) == want
    # REST on a room of its own (the socket's write may have happened).
    room, people, target = await db(build)(archived, "-rest")
    assert await db(over_rest)(action, people[persona], room, target) in (want, None)


@pytest.mark.parametrize("persona", PERSONAS)
async def test_private_room_handshake(persona: str) -> None:
    def build_private() -> tuple[Any, dict[str, Any]]:
        room, people, _ = build(archived=False)
        room.chat_type = "private"
        room.save(update_fields=["chat_type"])
        return room, people

    room, people = await db(build_private)()
    socket = await open_socket(f"/ws/chat/{room.pk}/", people[persona])
    if persona in PARTICIPANTS:
        assert (await socket.receive())["type"] == "connection.ready"
        await socket.close()
    else:
        assert await socket.close_code() == 4404
