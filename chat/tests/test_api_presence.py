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


def test_typing_expires_in_every_presence_answer_as_in_the_typing_list(
    alice: Any, bob: Any, settings: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from chat.models import UserPresence

    room = factories.make_room(alice, members=[bob])
    services.presence_set(actor=bob, status="online")
    services.typing_set(actor=bob, room=room, is_typing=True)
    client = client_for(alice)

    def shown() -> list[Any]:
        one = client.get("/chat/presence/", {"user": bob.pk}).data["is_typing"]
        online = [
            p["is_typing"] for p in client.get("/chat/presence/online/", {"room": room.pk}).data
        ]
        typing = client.get("/chat/presence/typing/", {"room": room.pk}).data
        return [one, online, len(typing)]

    fresh = shown()
    UserPresence.objects.filter(user=bob).update(
        typing_at=timezone.now() - timedelta(milliseconds=settings.CHAT_TYPING_TIMEOUT + 100)
    )

    assert fresh == [True, [True], 1]
    assert shown() == [False, [False], 0]


def test_leaving_a_room_clears_where_the_user_is_and_types_there_only(alice: Any, bob: Any) -> None:
    from chat.models import UserPresence
    from chat.services import presence

    room = factories.make_room(alice, members=[bob])
    other = factories.make_room(alice, name="Other", members=[bob])
    services.typing_set(actor=bob, room=room, is_typing=True)

    presence.room_left(bob.pk, other.pk)  # not the room bob is in: nothing changes
    row = UserPresence.objects.get(user=bob)
    assert (row.current_room_id, row.is_typing) == (room.pk, True)

    presence.room_left(bob.pk, room.pk)
    row.refresh_from_db()
    assert (row.current_room_id, row.is_typing, row.typing_at) == (None, False, None)
    typing = client_for(alice).get("/chat/presence/typing/", {"room": room.pk})
    assert typing.data == []


def test_online_and_typing_need_a_visible_room(alice: Any, charlie: Any) -> None:
    secret = factories.make_room(alice, chat_type="private")
    client = client_for(charlie)

    assert client.get("/chat/presence/online/", {"room": secret.pk}).status_code == 404
    assert client.get("/chat/presence/typing/", {"room": secret.pk}).status_code == 404
    assert client.get("/chat/presence/online/").status_code == 400


@pytest.fixture
def bob_typing_in_private(alice: Any, bob: Any, charlie: Any) -> dict[str, Any]:
    """bob types in a private room with alice; charlie shares only a public room with bob."""
    private = factories.make_room(alice, chat_type="private", name="Secret", members=[bob])
    lobby = factories.make_room(charlie, chat_type="public", name="Lobby", members=[bob])
    services.presence_set(actor=bob, status="online")
    services.typing_set(actor=bob, room=private, is_typing=True)
    return {"private": private, "lobby": lobby}


def test_current_room_is_shown_only_to_viewers_who_may_see_that_room(
    alice: Any, bob: Any, charlie: Any, bob_typing_in_private: dict[str, Any]
) -> None:
    private, lobby = bob_typing_in_private["private"], bob_typing_in_private["lobby"]

    by_alice = client_for(alice).get("/chat/presence/", {"user": bob.pk})
    by_charlie = client_for(charlie).get("/chat/presence/", {"user": bob.pk})
    own = client_for(bob).get("/chat/presence/")
    online = client_for(charlie).get("/chat/presence/online/", {"room": lobby.pk})

    assert by_alice.data["current_room"] == private.pk
    assert (by_alice.data["current_room"], by_alice.data["is_typing"]) == (private.pk, True)
    # charlie learns neither the room nor that bob is typing somewhere he cannot see.
    assert (by_charlie.status_code, by_charlie.data["current_room"]) == (200, None)
    assert by_charlie.data["is_typing"] is False
    assert (own.data["current_room"], own.data["is_typing"]) == (private.pk, True)
    assert [(p["user"]["username"], p["current_room"], p["is_typing"]) for p in online.data] == [
        ("bob", None, False)
    ]


def test_current_room_is_hidden_once_the_viewer_no_longer_sees_the_room(
    alice: Any, bob: Any, charlie: Any, bob_typing_in_private: dict[str, Any]
) -> None:
    private = bob_typing_in_private["private"]
    services.participant_invite(actor=alice, room=private, user=charlie.pk)
    shown = client_for(charlie).get("/chat/presence/", {"user": bob.pk}).data["current_room"]
    services.participant_remove(actor=alice, room=private, user_id=charlie.pk)

    hidden = client_for(charlie).get("/chat/presence/", {"user": bob.pk}).data["current_room"]

    assert (shown, hidden) == (private.pk, None)


def test_presence_payloads_check_every_current_room_at_once(
    alice: Any, bob: Any, charlie: Any, django_assert_max_num_queries: Any
) -> None:
    from chat import selectors, wire

    rooms = [factories.make_room(alice, chat_type="private", members=[bob]) for _ in range(3)]
    lobby = factories.make_room(alice, chat_type="public", members=[bob, charlie])
    for room in [lobby, *rooms]:
        services.typing_set(actor=bob, room=room, is_typing=True)
    services.typing_set(actor=alice, room=lobby, is_typing=True)
    presences = list(selectors.presences_for([alice.pk, bob.pk]).order_by("user__username"))

    # The visible rooms among the current rooms (and the viewer's support group, once).
    with django_assert_max_num_queries(2):
        seen = wire.presences_payload(presences, viewer=charlie)
    without_viewer = wire.presence_payload(presences[0])

    assert [(p["user"]["username"], p["current_room"]) for p in seen] == [
        ("alice", lobby.pk),
        ("bob", None),
    ]
    assert without_viewer["current_room"] is None
