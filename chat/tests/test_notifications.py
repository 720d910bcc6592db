"""Muting a room's desktop notifications: the service, REST for every persona, and the
user's own presence sockets."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from chat import errors, services
from chat.models import ChatParticipant
from chat.tests import factories
from chat.tests.api_support import client_for
from chat.tests.test_api_permissions import (
    PARTICIPANTS,
    PERSONAS,
    ROOM_TYPES,
    VISIBLE,
    build_room,
)
from chat.tests.ws import db, open_presence, socket_settings  # noqa: F401


def muted_flag(user: Any, room: Any) -> bool:
    return ChatParticipant.objects.get(room=room, user=user).notifications_muted


# --- the service ---------------------------------------------------------------------------


def test_muting_reaches_only_the_users_own_stream(
    captured_events: Any, alice: Any, bob: Any
) -> None:
    room = factories.make_room(alice, chat_type="private", name="Pair", members=[bob])
    captured_events.clear()

    assert services.room_notifications_set(actor=bob, room=room, muted=True) is True

    assert muted_flag(bob, room) is True
    assert muted_flag(alice, room) is False
    assert [item.group for item in captured_events] == [f"user.{bob.pk}"]
    assert captured_events.payloads() == [
        {"type": "notifications.updated", "room_id": room.pk, "muted": True}
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("wildcard", ["@all", "@here"])
def test_a_room_wide_ping_skips_those_who_muted_the_room_but_a_direct_mention_does_not(
    captured_events: Any, alice: Any, bob: Any, charlie: Any, wildcard: str
) -> None:
    room = factories.make_room(alice, chat_type="public", members=[bob, charlie])
    services.room_notifications_set(actor=bob, room=room, muted=True)
    captured_events.clear()

    services.message_send(actor=alice, room=room, content=f"{wildcard} standup")
    pinged = {item.group for item in captured_events if item.payload["type"] == "notification"}
    captured_events.clear()
    services.message_send(actor=alice, room=room, content=f"{wildcard} and @bob, you too")
    named = {item.group for item in captured_events if item.payload["type"] == "notification"}

    assert pinged == {f"user.{charlie.pk}"}
    assert named == {f"user.{bob.pk}", f"user.{charlie.pk}"}


def test_setting_the_same_choice_again_publishes_nothing(
    captured_events: Any, alice: Any, bob: Any
) -> None:
    room = factories.make_room(alice, chat_type="public", members=[bob])
    services.room_notifications_set(actor=bob, room=room, muted=True)
    captured_events.clear()

    services.room_notifications_set(actor=bob, room=room, muted=True)

    assert captured_events == []
    services.room_notifications_set(actor=bob, room=room, muted=False)
    assert captured_events.types() == ["notifications.updated"]
    assert muted_flag(bob, room) is False


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["yes", 1, None])
def test_muted_must_be_a_boolean(alice: Any, value: Any) -> None:
    room = factories.make_room(alice)

    with pytest.raises(errors.ValidationFailed):
        services.room_notifications_set(actor=alice, room=room, muted=value)


@pytest.mark.django_db
def test_a_non_participant_may_not_mute_a_public_room(alice: Any, charlie: Any) -> None:
    room = factories.make_room(alice, chat_type="public")

    with pytest.raises(errors.Forbidden):
        services.room_notifications_set(actor=charlie, room=room, muted=True)


@pytest.mark.django_db
def test_leaving_drops_the_room_from_the_muted_list(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, chat_type="public", name="Town", members=[bob])
    other = factories.make_room(alice, chat_type="public", name="Hall", members=[bob])
    services.room_notifications_set(actor=bob, room=room, muted=True)
    services.room_notifications_set(actor=bob, room=other, muted=True)
    api = client_for(bob)
    assert api.get("/chat/rooms/notifications/").data == {"muted_rooms": [room.pk, other.pk]}

    services.room_leave(actor=bob, room=other)

    assert api.get("/chat/rooms/notifications/").data == {"muted_rooms": [room.pk]}


# --- REST ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_put_mutes_and_unmutes_and_the_list_follows(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, chat_type="private", name="Pair", members=[bob])
    api = client_for(bob)
    path = f"/chat/rooms/{room.pk}/notifications/"

    muted = api.put(path, {"muted": True}, format="json")

    assert muted.status_code == 200
    assert muted.data == {"room_id": room.pk, "muted": True}
    assert api.get("/chat/rooms/notifications/").data == {"muted_rooms": [room.pk]}
    assert client_for(alice).get("/chat/rooms/notifications/").data == {"muted_rooms": []}
    unmuted = api.put(path, {"muted": False}, format="json")
    assert unmuted.data == {"room_id": room.pk, "muted": False}
    assert api.get("/chat/rooms/notifications/").data == {"muted_rooms": []}


@pytest.mark.django_db
def test_put_without_a_boolean_is_a_validation_error(alice: Any) -> None:
    room = factories.make_room(alice)

    response = client_for(alice).put(
        f"/chat/rooms/{room.pk}/notifications/", {"muted": "perhaps"}, format="json"
    )

    assert response.status_code == 400
    assert "muted" in response.data
    assert muted_flag(alice, room) is False


@pytest.mark.django_db
def test_signed_out_clients_are_refused(alice: Any) -> None:
    room = factories.make_room(alice)
    api = client_for(None)

    assert api.get("/chat/rooms/notifications/").status_code in {401, 403}
    put = api.put(f"/chat/rooms/{room.pk}/notifications/", {"muted": True}, format="json")
    assert put.status_code in {401, 403}


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("room_type", ROOM_TYPES)
def test_who_may_mute_a_room(room_type: str, persona: str) -> None:
    """Participants choose; others who see the room are told to join (403); those who
    may not see it get 404."""
    room, people = build_room(room_type)
    user = people[persona]

    response = client_for(user).put(
        f"/chat/rooms/{room.pk}/notifications/", {"muted": True}, format="json"
    )

    expected = 200 if persona in PARTICIPANTS else 403
    if persona not in VISIBLE[room_type]:
        expected = 404
    assert response.status_code == expected, response.data
    listed = client_for(user).get("/chat/rooms/notifications/").data["muted_rooms"]
    assert listed == ([room.pk] if expected == 200 else [])


# --- the presence socket -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_users_presence_sockets_hear_the_choice_and_nobody_else(
    alice: Any, bob: Any
) -> None:
    room = await db(
        lambda: factories.make_room(alice, chat_type="private", name="Pair", members=[bob])
    )()
    bob_tab, other_bob_tab, alice_tab = (
        await open_presence(bob),
        await open_presence(bob),
        await open_presence(alice),
    )
    api = client_for(bob)

    await db(
        lambda: api.put(f"/chat/rooms/{room.pk}/notifications/", {"muted": True}, format="json")
    )()

    expected = {"type": "notifications.updated", "room_id": room.pk, "muted": True}
    assert await bob_tab.receive_type("notifications.updated") == expected
    assert await other_bob_tab.receive_type("notifications.updated") == expected
    heard = []
    while not await alice_tab.nothing(timeout=0.3):
        heard.append((await alice_tab.receive())["type"])
    assert "notifications.updated" not in heard
    for socket in (bob_tab, other_bob_tab, alice_tab):
        await socket.close()


# --- the admin -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_participant_admin_filters_by_the_choice(
    admin_client: Any, alice: Any, bob: Any
) -> None:
    room = factories.make_room(alice, chat_type="public", name="Town", members=[bob])
    services.room_notifications_set(actor=bob, room=room, muted=True)
    url = reverse("admin:chat_chatparticipant_changelist")

    response = admin_client.get(url, {"notifications_muted__exact": "1"})

    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert [(row.user, row.room) for row in rows] == [(bob, room)]
