"""Rooms over REST: list, create, details, update, archive, membership, history, read."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import selectors, services, wire
from chat.models import ChatMessage, ChatParticipant, ChatRoom
from chat.tests import factories
from chat.tests.api_support import (
    HISTORY_KEYS,
    PAGE_KEYS,
    assert_message_shape,
    assert_participant_shape,
    assert_room_shape,
    client_for,
)

pytestmark = pytest.mark.django_db


def test_room_list_is_paginated_with_contract_fields(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, name="Lobby", members=[bob])
    factories.make_message(alice, room, "hi bob")

    response = client_for(bob).get("/chat/rooms/")

    assert response.status_code == 200
    assert set(response.data) == PAGE_KEYS
    assert response.data["count"] == 1
    listed = response.data["results"][0]
    assert_room_shape(listed)
    assert listed["id"] == room.pk
    assert listed["name"] == "Lobby"
    assert listed["my_role"] == "member"
    assert listed["unread_count"] == 1
    assert listed["participant_count"] == 2
    assert listed["created_by"]["username"] == "alice"
    assert listed["last_seq"] == room.last_seq + 1


def test_room_list_pages_count_every_room_and_a_single_page_needs_no_count(
    alice: Any, bob: Any
) -> None:
    rooms = [factories.make_room(alice, name=f"Room {n}", members=[bob]) for n in range(3)]
    client = client_for(bob)

    def counts(
        captured: CaptureQueriesContext,
    ) -> int:  # read before the next request resets the log
        return len([q for q in captured.captured_queries if q["sql"].startswith("SELECT COUNT(*)")])

    with CaptureQueriesContext(connection) as one_page:
        whole = client.get("/chat/rooms/?page_size=3").data
    counted_once = counts(one_page), len(one_page.captured_queries)
    with CaptureQueriesContext(connection) as first:
        page_1 = client.get("/chat/rooms/?page_size=2").data
    counted_first = counts(first)
    page_2 = client.get("/chat/rooms/?page_size=2&page=2").data

    assert (whole["count"], whole["next"], whole["previous"]) == (3, None, None)
    assert [r["id"] for r in whole["results"]] == [room.pk for room in rooms]
    assert counted_once[0] == 0 and counted_once[1] >= 1
    assert page_1["count"] == 3 and page_1["next"].endswith("page=2&page_size=2")
    assert [r["name"] for r in page_1["results"]] == ["Room 0", "Room 1"]
    assert counted_first == 1
    assert (page_2["count"], page_2["next"]) == (3, None)
    assert [r["name"] for r in page_2["results"]] == ["Room 2"]
    assert [r["my_role"] for r in whole["results"]] == ["member"] * 3
    assert client.get("/chat/rooms/?page=3&page_size=2").status_code == 404
    assert client_for(alice).get("/chat/rooms/?page=1").data["count"] == 3


def test_room_list_shows_public_rooms_to_non_members_with_no_role(alice: Any, bob: Any) -> None:
    factories.make_room(alice, name="Open")

    listed = client_for(bob).get("/chat/rooms/").data["results"]

    assert [(r["name"], r["my_role"], r["unread_count"]) for r in listed] == [("Open", None, 0)]


def test_room_list_hides_private_rooms_of_others(alice: Any, charlie: Any) -> None:
    factories.make_room(alice, chat_type="private", name="Secret")

    assert client_for(charlie).get("/chat/rooms/").data["count"] == 0


def test_room_list_filters_by_type_course_and_search(alice: Any, course: Any) -> None:
    factories.make_room(alice, name="Algebra help")
    factories.make_room(alice, name="Other", chat_type="private")
    client = client_for(alice)

    by_type = client.get("/chat/rooms/", {"chat_type": "private"}).data["results"]
    by_course = client.get("/chat/rooms/", {"course": course.pk}).data["results"]
    by_search = client.get("/chat/rooms/", {"search": "ALGEBRA"}).data["results"]
    by_description = client.get("/chat/rooms/", {"search": "course room of"}).data["results"]

    assert [r["name"] for r in by_type] == ["Other"]
    assert [(r["chat_type"], r["course"]) for r in by_course] == [("course", course.pk)]
    assert [r["name"] for r in by_search] == ["Algebra help"]
    assert [r["chat_type"] for r in by_description] == ["course"]


def test_room_list_rejects_unknown_chat_type(alice: Any) -> None:
    response = client_for(alice).get("/chat/rooms/", {"chat_type": "secret"})

    assert response.status_code == 400
    assert "chat_type" in response.data


@pytest.mark.parametrize("rows", [5, 30])
def test_room_list_query_count_is_constant(
    alice: Any, bob: Any, rows: int, django_assert_max_num_queries: Any
) -> None:
    for index in range(rows):
        room = factories.make_room(alice, name=f"room {index}", members=[bob])
        factories.make_message(alice, room, f"message {index}")
    client = client_for(bob)

    with django_assert_max_num_queries(4):
        response = client.get("/chat/rooms/")

    assert response.data["count"] == rows
    assert all(r["unread_count"] == 1 for r in response.data["results"])


def test_create_room_makes_the_creator_admin(alice: Any) -> None:
    response = client_for(alice).post(
        "/chat/rooms/",
        {"name": " Study group ", "description": "Weekly", "chat_type": "private"},
        format="json",
    )

    assert response.status_code == 201
    assert_room_shape(response.data)
    assert response.data["name"] == "Study group"
    assert response.data["my_role"] == "admin"
    assert response.data["participant_count"] == 1
    assert response.data["unread_count"] == 0
    assert response.data["course"] is None
    room = ChatRoom.objects.get(pk=response.data["id"])
    assert ChatParticipant.objects.get(room=room).role == "admin"


def test_course_room_needs_an_instructor_of_the_course(alice: Any, ines: Any, course: Any) -> None:
    body = {"name": "Lab", "chat_type": "course", "course": course.pk}

    student = client_for(alice).post("/chat/rooms/", body, format="json")
    instructor = client_for(ines).post("/chat/rooms/", body, format="json")

    assert student.status_code == 403
    assert instructor.status_code == 201
    assert instructor.data["course"] == course.pk


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "chat_type": "course"}, "course"),
        ({"name": "x", "chat_type": "public", "course": 999999}, "course"),
        ({"name": "", "chat_type": "public"}, "name"),
        ({"name": "x", "chat_type": "club"}, "chat_type"),
        ({"name": "x" * 201, "chat_type": "public"}, "name"),
        ({"name": "x", "chat_type": "public", "max_participants": 0}, "max_participants"),
    ],
)
def test_create_room_rejects_bad_input(alice: Any, body: dict[str, Any], field: str) -> None:
    response = client_for(alice).post("/chat/rooms/", body, format="json")

    assert response.status_code == 400
    assert field in response.data


def test_room_details_for_member(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, chat_type="private", members=[bob])

    response = client_for(bob).get(f"/chat/rooms/{room.pk}/")

    assert response.status_code == 200
    assert_room_shape(response.data)
    assert response.data["my_role"] == "member"


def test_unknown_room_is_404(alice: Any) -> None:
    assert client_for(alice).get("/chat/rooms/987654/").status_code == 404


def test_moderator_renames_room_and_member_may_not(alice: Any, bob: Any, charlie: Any) -> None:
    room = factories.make_room(alice, members=[charlie], moderators=[bob])

    by_member = client_for(charlie).patch(
        f"/chat/rooms/{room.pk}/", {"name": "Mine"}, format="json"
    )
    by_moderator = client_for(bob).patch(
        f"/chat/rooms/{room.pk}/", {"name": "Renamed"}, format="json"
    )

    assert by_member.status_code == 403
    assert by_moderator.status_code == 200
    assert by_moderator.data["name"] == "Renamed"
    assert_room_shape(by_moderator.data)


@pytest.mark.parametrize(
    "name", ["\u200b\u200b", "a\x07\x1bb", "Line\nbreak", "abc\u202etxt.exe", "\u2066x\u2069"]
)
def test_a_room_name_must_be_visible_text(alice: Any, name: str) -> None:
    room = factories.make_room(alice, name="Before")
    client = client_for(alice)

    created = client.post("/chat/rooms/", {"name": name, "chat_type": "public"}, format="json")
    renamed = client.patch(f"/chat/rooms/{room.pk}/", {"name": name}, format="json")

    assert (created.status_code, renamed.status_code) == (400, 400)
    assert created.data["code"] == "validation_error"
    assert "name" in created.data


@pytest.mark.parametrize("name", ["Études 📚", "👨‍👩‍👧 family", "עברית", "数学"])
def test_room_names_in_any_script_and_with_emoji_sequences_are_taken(alice: Any, name: str) -> None:
    created = client_for(alice).post(
        "/chat/rooms/", {"name": name, "chat_type": "public"}, format="json"
    )

    assert (created.status_code, created.data["name"]) == (201, name)


def test_put_needs_the_name(alice: Any) -> None:
    room = factories.make_room(alice)

    response = client_for(alice).put(
        f"/chat/rooms/{room.pk}/", {"description": "only"}, format="json"
    )

    assert response.status_code == 400
    assert "name" in response.data


def test_put_replaces_name_and_description(alice: Any) -> None:
    room = factories.make_room(alice)

    response = client_for(alice).put(
        f"/chat/rooms/{room.pk}/",
        {"name": "New", "description": "Fresh", "max_participants": 5},
        format="json",
    )

    assert response.status_code == 200
    assert (response.data["name"], response.data["description"]) == ("New", "Fresh")
    assert response.data["max_participants"] == 5


def test_admin_archives_room_history_stays_readable_posting_refused(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob], moderators=[])
    factories.make_message(bob, room, "before the end")

    archived = client_for(alice).delete(f"/chat/rooms/{room.pk}/")
    history = client_for(bob).get(f"/chat/rooms/{room.pk}/messages/")
    post = client_for(bob).post(
        "/chat/messages/", {"room": room.pk, "content": "late"}, format="json"
    )

    assert archived.status_code == 204
    room.refresh_from_db()
    assert room.is_active is False
    assert "before the end" in [m["content"] for m in history.data["results"]]
    assert post.status_code == 403
    assert post.data["code"] == "room_archived"


def test_an_archived_room_takes_no_more_moderation_or_alerts(
    alice: Any, bob: Any, stella: Any
) -> None:
    room = factories.make_room(alice, chat_type="private", members=[bob])
    services.room_archive(actor=alice, room=room)
    last_seq = ChatRoom.objects.get(pk=room.pk).last_seq
    admin = client_for(alice)
    member = f"/chat/rooms/{room.pk}/participants/{bob.pk}/"
    ChatParticipant.objects.create(room=room, user=stella, role="member")  # staff who may see it

    answers = [
        admin.patch(member, {"is_muted": True}, format="json"),
        admin.patch(member, {"role": "moderator"}, format="json"),
        admin.delete(member),
        client_for(stella).post(
            "/chat/alerts/", {"room": room.pk, "content": "Maintenance"}, format="json"
        ),
    ]

    assert [(a.status_code, a.data["code"]) for a in answers] == [(403, "room_archived")] * 4
    assert ChatRoom.objects.get(pk=room.pk).last_seq == last_seq  # no new history
    assert ChatParticipant.objects.get(room=room, user=bob).is_active


def test_moderator_may_not_archive(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, moderators=[bob])

    assert client_for(bob).delete(f"/chat/rooms/{room.pk}/").status_code == 403


def test_join_public_room_returns_participant(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice)
    client = client_for(bob)

    first = client.post(f"/chat/rooms/{room.pk}/join/")
    again = client.post(f"/chat/rooms/{room.pk}/join/")

    assert first.status_code == 201
    assert_participant_shape(first.data)
    assert first.data["user"]["username"] == "bob"
    assert first.data["role"] == "member"
    assert again.status_code == 200
    assert ChatParticipant.objects.filter(room=room, user=bob).count() == 1


@pytest.mark.django_db(transaction=True)
def test_joins_racing_each_other_give_one_201_and_one_participant(alice: Any, bob: Any) -> None:
    """The 201 is the join that made the participant, not a guess made before it."""
    import threading

    from django.db import connection as default_connection

    if default_connection.vendor != "postgresql":
        pytest.skip("PostgreSQL serves concurrent requests; SQLite locks the file")
    room = factories.make_room(alice)
    codes: list[int] = []
    start = threading.Barrier(4)

    def join() -> None:
        from django.db import connection

        start.wait()
        codes.append(client_for(bob).post(f"/chat/rooms/{room.pk}/join/").status_code)
        connection.close()

    threads = [threading.Thread(target=join) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(codes) == [200, 200, 200, 201]
    assert ChatParticipant.objects.filter(room=room, user=bob, is_active=True).count() == 1
    assert ChatMessage.objects.filter(room=room, content="Bob joined the room.").count() == 1


def test_join_full_room_is_409(alice: Any, bob: Any, charlie: Any) -> None:
    room = factories.make_room(alice)
    ChatRoom.objects.filter(pk=room.pk).update(max_participants=2)
    client_for(bob).post(f"/chat/rooms/{room.pk}/join/")

    response = client_for(charlie).post(f"/chat/rooms/{room.pk}/join/")

    assert response.status_code == 409
    assert response.data["code"] == "room_full"


def test_leave_returns_204_and_ends_membership(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])

    response = client_for(bob).post(f"/chat/rooms/{room.pk}/leave/")

    assert response.status_code == 204
    assert not ChatParticipant.objects.get(room=room, user=bob).is_active


def test_the_last_admin_may_not_step_down_but_may_once_there_is_another(
    alice: Any, bob: Any
) -> None:
    room = factories.make_room(alice, chat_type="private", members=[bob])
    client = client_for(alice)
    own = f"/chat/rooms/{room.pk}/participants/{alice.pk}/"

    refused = client.patch(own, {"role": "member"}, format="json")
    client.patch(f"/chat/rooms/{room.pk}/participants/{bob.pk}/", {"role": "admin"}, format="json")
    allowed = client.patch(own, {"role": "member"}, format="json")

    assert (refused.status_code, refused.data["code"]) == (400, "validation_error")
    assert refused.data["role"] == ["The room's last admin."]
    assert allowed.status_code == 200
    roles = dict(ChatParticipant.objects.filter(room=room).values_list("user__username", "role"))
    assert roles == {"alice": "member", "bob": "admin"}


def test_when_the_last_admin_leaves_the_longest_standing_moderator_becomes_admin(
    alice: Any, bob: Any, charlie: Any, captured_events: Any
) -> None:
    room = factories.make_room(alice, chat_type="private", members=[bob], moderators=[charlie])

    left = client_for(alice).post(f"/chat/rooms/{room.pk}/leave/")
    invited = client_for(charlie).post(
        f"/chat/rooms/{room.pk}/participants/",
        {"user": factories.make_user("dora").pk, "role": "moderator"},
        format="json",
    )

    assert left.status_code == 204
    assert invited.status_code == 201  # charlie runs the room now
    active = ChatParticipant.objects.filter(room=room, is_active=True)
    assert dict(active.values_list("user__username", "role")) == {
        "bob": "member",
        "charlie": "admin",
        "dora": "moderator",
    }
    updated = [p for p in captured_events.payloads() if p["type"] == "participant.updated"]
    assert [(p["participant"]["user"]["username"], p["participant"]["role"]) for p in updated] == [
        ("charlie", "admin")
    ]
    assert updated[0]["message"]["content"] == "Charlie is now the room's admin."


def test_without_moderators_the_longest_standing_unmuted_member_becomes_admin(
    alice: Any, bob: Any, charlie: Any
) -> None:
    room = factories.make_room(alice, members=[bob, charlie])
    services.participant_update(actor=alice, room=room, user_id=bob.pk, is_muted=True)

    services.participant_remove(
        actor=factories.make_user("root", is_staff=True, is_superuser=True),
        room=room,
        user_id=alice.pk,
    )

    roles = dict(
        ChatParticipant.objects.filter(room=room, is_active=True).values_list(
            "user__username", "role"
        )
    )
    assert roles == {"bob": "member", "charlie": "admin"}


def test_a_member_who_left_and_came_back_stands_from_their_return(
    alice: Any, bob: Any, charlie: Any
) -> None:
    room = factories.make_room(alice, chat_type="public", members=[bob, charlie])
    first_joined = ChatParticipant.objects.get(room=room, user=bob).joined_at
    services.room_leave(actor=bob, room=room)
    services.room_join(actor=bob, room=room)

    services.room_leave(actor=alice, room=room)

    bob_now = ChatParticipant.objects.get(room=room, user=bob)
    assert bob_now.joined_at > first_joined
    roles = dict(
        ChatParticipant.objects.filter(room=room, is_active=True).values_list(
            "user__username", "role"
        )
    )
    assert roles == {"bob": "member", "charlie": "admin"}  # charlie has stood longer


def test_a_course_room_never_makes_a_student_its_admin(course: Any, stella: Any, ines: Any) -> None:
    room = factories.course_room(course)
    ChatParticipant.objects.create(room=room, user=stella, role="admin")  # as the admin site may

    services.room_leave(actor=stella, room=room)

    roles = dict(
        ChatParticipant.objects.filter(room=room, is_active=True).values_list(
            "user__username", "role"
        )
    )
    assert roles == {"ines": "admin", "alice": "member", "bob": "member"}

    services.room_leave(actor=ines, room=room)  # no moderator left: no student is promoted

    roles = dict(
        ChatParticipant.objects.filter(room=room, is_active=True).values_list(
            "user__username", "role"
        )
    )
    assert roles == {"alice": "member", "bob": "member"}


def test_a_moderator_invites_by_exact_username(alice: Any, bob: Any, charlie: Any) -> None:
    room = factories.make_room(alice, chat_type="private", members=[bob])
    url = f"/chat/rooms/{room.pk}/participants/"
    client = client_for(alice)

    invited = client.post(url, {"username": "charlie"}, format="json")
    again = client.post(url, {"username": "charlie"}, format="json")
    unknown = client.post(url, {"username": "Charlie"}, format="json")
    both = client.post(url, {"username": "charlie", "user": charlie.pk}, format="json")
    neither = client.post(url, {}, format="json")
    by_member = client_for(bob).post(url, {"username": "dora"}, format="json")

    assert (invited.status_code, invited.data["user"]["username"]) == (201, "charlie")
    assert again.status_code == 200
    assert (unknown.status_code, unknown.data["username"]) == (400, ["No such user."])
    assert [both.status_code, neither.status_code] == [400, 400]
    assert "user" in both.data and "user" in neither.data
    assert by_member.status_code in (400, 403)  # not a moderator (and no dora)
    assert ChatParticipant.objects.get(room=room, user=charlie).is_active


def test_participants_list_and_invite(alice: Any, bob: Any, charlie: Any) -> None:
    room = factories.make_room(alice, chat_type="private", members=[bob])
    client = client_for(alice)

    invited = client.post(
        f"/chat/rooms/{room.pk}/participants/", {"user": charlie.pk}, format="json"
    )
    listed = client.get(f"/chat/rooms/{room.pk}/participants/")

    assert invited.status_code == 201
    assert_participant_shape(invited.data)
    assert invited.data["role"] == "member"
    assert listed.status_code == 200
    for participant in listed.data:
        assert_participant_shape(participant)
    assert [(p["user"]["username"], p["role"]) for p in listed.data] == [
        ("alice", "admin"),
        ("bob", "member"),
        ("charlie", "member"),
    ]


def test_invite_unknown_user_is_400(alice: Any) -> None:
    room = factories.make_room(alice, chat_type="private")

    response = client_for(alice).post(
        f"/chat/rooms/{room.pk}/participants/", {"user": 99999}, format="json"
    )

    assert response.status_code == 400
    assert "user" in response.data


def test_member_may_not_invite(alice: Any, bob: Any, charlie: Any) -> None:
    room = factories.make_room(alice, chat_type="private", members=[bob])

    response = client_for(bob).post(
        f"/chat/rooms/{room.pk}/participants/", {"user": charlie.pk}, format="json"
    )

    assert response.status_code == 403


def test_moderator_mutes_and_removes_a_member(alice: Any, bob: Any, charlie: Any) -> None:
    room = factories.make_room(alice, members=[charlie], moderators=[bob])
    client = client_for(bob)

    muted = client.patch(
        f"/chat/rooms/{room.pk}/participants/{charlie.pk}/", {"is_muted": True}, format="json"
    )
    post = client_for(charlie).post(
        "/chat/messages/", {"room": room.pk, "content": "hi"}, format="json"
    )
    removed = client.delete(f"/chat/rooms/{room.pk}/participants/{charlie.pk}/")

    assert muted.status_code == 200
    assert_participant_shape(muted.data)
    assert muted.data["is_muted"] is True
    assert post.status_code == 403
    assert post.data["code"] == "muted"
    assert removed.status_code == 204
    assert not ChatParticipant.objects.get(room=room, user=charlie).is_active


def test_admin_promotes_member_to_moderator(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])

    response = client_for(alice).patch(
        f"/chat/rooms/{room.pk}/participants/{bob.pk}/", {"role": "moderator"}, format="json"
    )

    assert response.status_code == 200
    assert response.data["role"] == "moderator"


def test_moderator_may_not_remove_an_admin(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, moderators=[bob])

    response = client_for(bob).delete(f"/chat/rooms/{room.pk}/participants/{alice.pk}/")

    assert response.status_code == 403


def test_update_unknown_participant_is_404(alice: Any) -> None:
    room = factories.make_room(alice)

    response = client_for(alice).patch(
        f"/chat/rooms/{room.pk}/participants/424242/", {"is_muted": True}, format="json"
    )

    assert response.status_code == 404


@pytest.mark.parametrize("rows", [5, 30])
def test_participants_list_query_count_is_constant(
    alice: Any, rows: int, django_assert_max_num_queries: Any
) -> None:
    members = [factories.make_user(f"user{index}") for index in range(rows)]
    room = factories.make_room(alice, members=members)

    with django_assert_max_num_queries(4):
        response = client_for(alice).get(f"/chat/rooms/{room.pk}/participants/")

    assert len(response.data) == rows + 1


def _fill(room: ChatRoom, sender: Any, count: int) -> list[int]:
    return [factories.make_message(sender, room, f"m{index}").pk for index in range(count)]


def test_history_without_anchor_is_the_newest_page_oldest_first(alice: Any) -> None:
    room = factories.make_room(alice)
    ids = _fill(room, alice, 5)

    response = client_for(alice).get(f"/chat/rooms/{room.pk}/messages/", {"limit": 3})

    assert response.status_code == 200
    assert set(response.data) == HISTORY_KEYS
    assert [m["id"] for m in response.data["results"]] == ids[-3:]
    for message in response.data["results"]:
        assert_message_shape(message)
    assert response.data["newer"] is None
    assert response.data["older"] == (
        f"http://testserver/chat/rooms/{room.pk}/messages/?before={ids[-3]}&limit=3"
    )


def test_history_pages_over_250_messages_backwards_and_forwards(alice: Any) -> None:
    room = factories.make_room(alice)
    _fill(room, alice, 250)
    every = list(ChatMessage.objects.filter(room=room).order_by("id").values_list("pk", flat=True))
    client = client_for(alice)

    seen_backwards: list[int] = []
    url: str | None = f"/chat/rooms/{room.pk}/messages/?limit=40"
    while url:
        page = client.get(url).data
        seen_backwards = [m["id"] for m in page["results"]] + seen_backwards
        url = page["older"]

    first = client.get(f"/chat/rooms/{room.pk}/messages/?before={every[1]}&limit=40").data
    seen_forwards = [m["id"] for m in first["results"]]
    url = first["newer"]
    while url:
        page = client.get(url).data
        seen_forwards += [m["id"] for m in page["results"]]
        url = page["newer"]

    assert seen_backwards == every
    assert seen_forwards == every


def test_history_limit_is_clamped_to_the_setting(alice: Any, settings: Any) -> None:
    settings.CHAT_MESSAGE_HISTORY_LIMIT = 4
    room = factories.make_room(alice)
    ids = _fill(room, alice, 6)

    response = client_for(alice).get(f"/chat/rooms/{room.pk}/messages/", {"limit": 10**30})

    assert response.status_code == 200
    assert [m["id"] for m in response.data["results"]] == ids[-4:]
    assert response.data["older"].endswith(f"?before={ids[-4]}&limit=4")


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": -5},
        {"limit": "ten"},
        {"before": "x"},
        {"after": -1},
        {"before": 10**30},
    ],
)
def test_history_rejects_bad_parameters(alice: Any, query: dict[str, Any]) -> None:
    room = factories.make_room(alice)

    response = client_for(alice).get(f"/chat/rooms/{room.pk}/messages/", query)

    assert response.status_code == 400


@pytest.mark.parametrize("rows", [5, 30])
def test_history_page_query_count_is_constant(
    alice: Any, bob: Any, rows: int, django_assert_max_num_queries: Any
) -> None:
    room = factories.make_room(alice, members=[bob])
    for index in range(rows):
        message = factories.make_message(alice, room, f"@bob look {index}")
        services.reaction_add(actor=bob, message=message, emoji="👍")

    with django_assert_max_num_queries(8):
        response = client_for(bob).get(f"/chat/rooms/{room.pk}/messages/", {"limit": 100})

    contents = [m for m in response.data["results"] if m["message_type"] == "text"]
    assert len(contents) == rows
    assert all(m["mentions"] == [bob.pk] for m in contents)
    assert all(m["reactions"][0]["user_ids"] == [bob.pk] for m in contents)


def test_history_page_messages_equal_each_message_read_alone(
    alice: Any, bob: Any, charlie: Any
) -> None:
    room = factories.make_room(alice, members=[bob, charlie])
    plain = factories.make_message(alice, room, "nobody reacts")
    busy = factories.make_message(alice, room, "@bob and @charlie, look")
    for actor, emoji in [(bob, "👍"), (charlie, "🎉"), (charlie, "👍"), (alice, "👍")]:
        services.reaction_add(actor=actor, message=busy, emoji=emoji)
    reply = factories.make_message(bob, room, "@alice yes", reply_to=busy.pk)
    services.reaction_remove(actor=alice, message=busy, emoji="👍")

    page = client_for(bob).get(f"/chat/rooms/{room.pk}/messages/").data["results"]
    alone = {
        m.pk: wire.message_payload_for(bob, selectors.message_get_for_user(bob, m.pk))
        for m in (plain, busy, reply)
    }

    by_id = {m["id"]: m for m in page}
    assert {pk: by_id[pk] for pk in alone} == alone
    assert by_id[busy.pk]["mentions"] == sorted([bob.pk, charlie.pk])
    assert by_id[busy.pk]["reactions"] == [
        {"emoji": "👍", "count": 2, "user_ids": [bob.pk, charlie.pk]},
        {"emoji": "🎉", "count": 1, "user_ids": [charlie.pk]},
    ]
    assert (by_id[plain.pk]["reactions"], by_id[plain.pk]["mentions"]) == ([], [])
    assert by_id[reply.pk]["mentions"] == [alice.pk]


def test_mark_read_moves_the_unread_count(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])
    ids = _fill(room, alice, 3)
    client = client_for(bob)

    response = client.post(f"/chat/rooms/{room.pk}/read/", {"message_id": ids[1]}, format="json")
    details = client.get(f"/chat/rooms/{room.pk}/")

    assert response.status_code == 200
    assert response.data == {"room_id": room.pk, "unread_count": 1}
    assert details.data["unread_count"] == 1


def test_mark_read_with_message_of_another_room_is_400(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])
    other = factories.make_room(alice, name="other")
    foreign = factories.make_message(alice, other)

    response = client_for(bob).post(
        f"/chat/rooms/{room.pk}/read/", {"message_id": foreign.pk}, format="json"
    )

    assert response.status_code == 400
