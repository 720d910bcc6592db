"""Presence over REST: own status, a co-member's, online and typing lists of a room."""

from __future__ import annotations

from typing import Any

import pytest

from chat import services
from chat.tests import factories
from chat.tests.api_support import PRESENCE_KEYS, USER_KEYS, client_for

pytestmark = pytest.mark.django_db


def test_own_presence_defaults_to_offline(alice: Any) -> None:
    response = client_for(alice).get("/chat/presence/")

    assert response.status_code == 200
    assert set(response.data) == PRESENCE_KEYS
    assert set(response.data["user"]) == USER_KEYS
    assert response.data["user"]["username"] == "alice"
    assert (response.data["status"], response.data["is_typing"]) == ("offline", False)
    assert response.data["current_room"] is None


def test_put_sets_status(alice: Any) -> None:
    client = client_for(alice)

    response = client.put("/chat/presence/", {"status": "busy"}, format="json")

    assert response.status_code == 200
    assert set(response.data) == PRESENCE_KEYS
    assert response.data["status"] == "busy"
    assert client.get("/chat/presence/").data["status"] == "busy"


@pytest.mark.parametrize("status", ["sleeping", "", None, 3])
def test_put_rejects_unknown_status(alice: Any, status: Any) -> None:
    response = client_for(alice).put("/chat/presence/", {"status": status}, format="json")

    assert response.status_code == 400
    assert "status" in response.data


def test_presence_of_a_user_sharing_a_room(alice: Any, bob: Any) -> None:
    factories.make_room(alice, members=[bob])
    services.presence_set(actor=bob, status="away")

    response = client_for(alice).get("/chat/presence/", {"user": bob.pk})

    assert response.status_code == 200
    assert response.data["user"]["username"] == "bob"
    assert response.data["status"] == "away"


def test_presence_of_a_stranger_is_404(alice: Any, charlie: Any) -> None:
    services.presence_set(actor=charlie, status="online")

    response = client_for(alice).get("/chat/presence/", {"user": charlie.pk})

    assert response.status_code == 404


def test_online_lists_participants_who_are_not_offline(alice: Any, bob: Any, charlie: Any) -> None:
    room = factories.make_room(alice, members=[bob, charlie])
    services.presence_set(actor=bob, status="online")
    services.presence_set(actor=charlie, status="offline")

    response = client_for(alice).get("/chat/presence/online/", {"room": room.pk})

    assert response.status_code == 200
    assert [p["user"]["username"] for p in response.data] == ["bob"]
    assert set(response.data[0]) == PRESENCE_KEYS


def test_typing_lists_who_types_in_the_room_now(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])
    services.typing_set(actor=bob, room=room, is_typing=True)

    response = client_for(alice).get("/chat/presence/typing/", {"room": room.pk})

    assert response.status_code == 200
    assert [(p["user"]["username"], p["is_typing"]) for p in response.data] == [("bob", True)]
    assert response.data[0]["current_room"] == room.pk


def test_online_and_typing_need_a_visible_room(alice: Any, charlie: Any) -> None:
    secret = factories.make_room(alice, chat_type="private")
    client = client_for(charlie)

    assert client.get("/chat/presence/online/", {"room": secret.pk}).status_code == 404
    assert client.get("/chat/presence/typing/", {"room": secret.pk}).status_code == 404
    assert client.get("/chat/presence/online/").status_code == 400
