"""Bans from public and support rooms: the banned user is removed, loses sight of
the room (404, sockets closed with 4403) and cannot come back until a moderator
lifts the ban; each ban and unban is in the audit log."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from chat import services
from chat.models import AuditEntry, ChatParticipant, RoomBan
from chat.tests import factories
from chat.tests.api_support import client_for
from chat.tests.test_api_permissions import PERSONAS, ROOM_TYPES, VISIBLE, build_room
from chat.tests.ws import db, open_room, socket_settings  # noqa: F401


def ban(actor: Any, room: Any, user: Any, reason: str = "") -> Any:
    return client_for(actor).post(
        f"/chat/rooms/{room.pk}/bans/", {"user": user.pk, "reason": reason}, format="json"
    )


@pytest.mark.django_db
def test_a_banned_member_is_removed_and_loses_sight_of_the_room(
    alice: Any, bob: Any, captured_events: Any
) -> None:
    room = factories.make_room(alice, members=[bob])
    captured_events.clear()

    response = ban(alice, room, bob, "  spam links  ")

    assert response.status_code == 201
    assert response.data["user"]["username"] == "bob"
    assert response.data["banned_by"]["username"] == "alice"
    assert response.data["reason"] == "spam links"
    [event] = captured_events.payloads(f"room.{room.pk}")
    assert event["type"] == "participant.left"
    assert event["details"] == {"action": "banned", "user_id": bob.pk}
    assert event["participant"]["is_active"] is False
    assert event["message"]["content"] == "Alice banned Bob."
    controls = [p.message for p in captured_events if p.group == f"user.{bob.pk}"]
    assert {"type": "user.control", "action": "room.revoked", "room_id": room.pk} in controls
    bob_api = client_for(bob)
    assert bob_api.get(f"/chat/rooms/{room.pk}/").status_code == 404
    assert bob_api.post(f"/chat/rooms/{room.pk}/join/").status_code == 404
    assert room.pk not in [r["id"] for r in bob_api.get("/chat/rooms/").data["results"]]
    entry = AuditEntry.objects.get(room=room, action="ban")
    assert (entry.target_user, entry.details, entry.via) == (bob, {"reason": "spam links"}, "rest")


@pytest.mark.django_db
def test_lifting_the_ban_lets_the_user_join_again(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])
    ban(alice, room, bob)

    lifted = client_for(alice).delete(f"/chat/rooms/{room.pk}/bans/{bob.pk}/")
    joined = client_for(bob).post(f"/chat/rooms/{room.pk}/join/")

    assert lifted.status_code == 204
    assert joined.status_code == 201
    assert not RoomBan.objects.exists()
    assert [e.action for e in AuditEntry.objects.filter(room=room).order_by("id")] == [
        "ban",
        "unban",
    ]


@pytest.mark.django_db
def test_banning_someone_not_in_the_room_hides_it_without_an_event(
    alice: Any, charlie: Any, captured_events: Any
) -> None:
    room = factories.make_room(alice)
    captured_events.clear()

    assert ban(alice, room, charlie).status_code == 201

    assert captured_events.payloads(f"room.{room.pk}") == []
    assert client_for(charlie).get(f"/chat/rooms/{room.pk}/").status_code == 404


@pytest.mark.django_db
def test_banning_again_answers_the_existing_ban(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])
    first = ban(alice, room, bob, "first")

    again = ban(alice, room, bob, "second")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.data["reason"] == "first"
    assert AuditEntry.objects.filter(action="ban").count() == 1


@pytest.mark.django_db
def test_lifting_a_ban_that_does_not_exist_is_404(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])

    assert client_for(alice).delete(f"/chat/rooms/{room.pk}/bans/{bob.pk}/").status_code == 404


@pytest.mark.django_db
def test_a_banned_user_cannot_be_invited(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])
    ban(alice, room, bob)

    response = client_for(alice).post(
        f"/chat/rooms/{room.pk}/participants/", {"user": bob.pk}, format="json"
    )

    assert response.status_code == 403
    assert not ChatParticipant.objects.get(room=room, user=bob).is_active


@pytest.mark.django_db
def test_moderators_staff_and_oneself_cannot_be_banned(
    alice: Any, bob: Any, stella: Any, ines: Any
) -> None:
    room = factories.make_room(alice, members=[stella], moderators=[ines])

    answers = [ban(alice, room, user).status_code for user in (ines, stella, alice)]

    assert answers == [403, 403, 403]
    assert not RoomBan.objects.exists()


@pytest.mark.django_db
def test_support_staff_cannot_be_banned_from_a_support_room(alice: Any, sam: Any) -> None:
    room = factories.make_room(alice, chat_type="support")

    assert ban(alice, room, sam).status_code == 403


@pytest.mark.django_db
def test_the_ban_list_is_for_moderators(alice: Any, bob: Any, charlie: Any) -> None:
    room = factories.make_room(alice, members=[bob, charlie])
    ban(alice, room, charlie, "trolling")

    listed = client_for(alice).get(f"/chat/rooms/{room.pk}/bans/")
    refused = client_for(bob).get(f"/chat/rooms/{room.pk}/bans/")

    assert listed.status_code == 200
    assert [(b["user"]["username"], b["reason"]) for b in listed.data] == [("charlie", "trolling")]
    assert refused.status_code == 403


@pytest.mark.django_db
def test_an_unknown_user_is_a_validation_error(alice: Any) -> None:
    room = factories.make_room(alice)

    response = client_for(alice).post(
        f"/chat/rooms/{room.pk}/bans/", {"user": 999_999}, format="json"
    )

    assert response.status_code == 400


# --- who may ban, where -------------------------------------------------------------------------


def expected_ban_status(room_type: str, persona: str) -> int:
    if persona not in VISIBLE[room_type]:
        return 404
    if persona not in {"moderator", "admin"}:
        return 403
    return 201 if room_type in {"public", "support"} else 403


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("room_type", ROOM_TYPES)
def test_who_may_ban_a_member(room_type: str, persona: str) -> None:
    room, people = build_room(room_type)

    response = ban(people[persona], room, people["member"])

    assert response.status_code == expected_ban_status(room_type, persona), response.data
    assert RoomBan.objects.exists() == (response.status_code == 201)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("room_type", ["public", "support"])
def test_who_may_lift_a_ban(room_type: str, persona: str) -> None:
    room, people = build_room(room_type)
    target = factories.make_user("troll")
    services.room_ban(actor=people["admin"], room=room, user_id=target.pk)

    response = client_for(people[persona]).delete(f"/chat/rooms/{room.pk}/bans/{target.pk}/")

    expected = expected_ban_status(room_type, persona)
    assert response.status_code == (204 if expected == 201 else expected)


# --- sockets ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_banned_users_socket_closes_with_4403_and_cannot_reopen(
    alice: Any, bob: Any
) -> None:
    room = await db(lambda: factories.make_room(alice, members=[bob]))()
    watcher = await open_room(alice, room)
    socket = await open_room(bob, room)

    await db(lambda: ban(alice, room, bob))()

    assert await socket.close_code() == 4403
    left = await watcher.receive_type("participant.left")
    assert left["details"] == {"action": "banned", "user_id": bob.pk}
    again = await open_room(bob, room, ready=False)
    assert await again.close_code() == 4404
    await watcher.close()


# --- admin ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_bans_and_lifts_bans_through_the_services(
    admin_client: Client, alice: Any, bob: Any
) -> None:
    room = factories.make_room(alice, members=[bob])

    added = admin_client.post(
        reverse("admin:chat_roomban_add"), {"room": room.pk, "user": bob.pk, "reason": "spam"}
    )
    participant = ChatParticipant.objects.get(room=room, user=bob)
    ban_row = RoomBan.objects.get()
    admin_client.post(
        reverse("admin:chat_roomban_changelist"),
        {"action": "unban", "_selected_action": [ban_row.pk]},
    )

    assert added.status_code == 302
    assert participant.is_active is False
    assert not RoomBan.objects.exists()
    assert [(e.action, e.via) for e in AuditEntry.objects.order_by("id")] == [
        ("ban", "admin"),
        ("unban", "admin"),
    ]


@pytest.mark.django_db
def test_the_admin_refuses_a_ban_in_a_course_room_as_a_form_error(
    admin_client: Client, course: Any, alice: Any
) -> None:
    room = factories.course_room(course)

    response = admin_client.post(
        reverse("admin:chat_roomban_add"), {"room": room.pk, "user": alice.pk, "reason": ""}
    )

    assert response.status_code == 200
    assert "Bans apply to public and support rooms" in response.content.decode()
    assert not RoomBan.objects.exists()
