"""The office-hours queue of course and support rooms: the services and their
events, REST, the room socket, the student's own stream, and who may do what."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from chat import errors, services, wire
from chat.models import ChatParticipant, ChatRoom, QueueEntry
from chat.tests import factories
from chat.tests.api_support import ROOM_KEYS, USER_KEYS, client_for
from chat.tests.test_api_permissions import PERSONAS, ROOM_TYPES, VISIBLE, build_room
from chat.tests.ws import db, open_presence, open_room, socket_settings  # noqa: F401

VIEW_KEYS = {"room_id", "is_open", "length", "my_position", "my_key", "entries"}


def positions(payload: dict[str, Any]) -> list[tuple[int, int]]:
    """A ``queue.updated`` as (user id, position): its keys name nobody, but the test
    knows every user's key."""
    who = {
        wire.queue_key(payload["room_id"], pk): pk
        for pk in User.objects.values_list("pk", flat=True)
    }
    queue = payload["queue"]
    assert queue["length"] == len(queue["entries"])
    return [(who[entry["key"]], entry["position"]) for entry in queue["entries"]]


def test_the_queue_moves_and_taking_the_next_opens_a_private_room(
    captured_events: Any, course: Any, ines: Any, alice: Any, bob: Any
) -> None:
    room = factories.course_room(course)
    captured_events.clear()

    services.office_hours_set(actor=ines, room=room, is_open=True)
    services.queue_join(actor=alice, room=room)
    services.queue_join(actor=bob, room=room)
    _, again = services.queue_join(actor=bob, room=room)  # already in: nothing new
    services.queue_leave(actor=alice, room=room)
    entry = services.queue_next(actor=ines, room=room)

    assert again is False
    updates = captured_events.payloads(f"room.{room.pk}")
    assert [u["type"] for u in updates] == ["queue.updated"] * 5
    assert [u["queue"]["is_open"] for u in updates] == [True] * 5
    assert [positions(u) for u in updates] == [
        [],
        [(alice.pk, 1)],
        [(alice.pk, 1), (bob.pk, 2)],
        [(bob.pk, 1)],
        [],
    ]
    private = entry.private_room
    assert private is not None
    assert (entry.status, entry.taken_by, private.chat_type) == ("taken", ines, "private")
    members = dict(
        ChatParticipant.objects.filter(room=private, is_active=True).values_list("user_id", "role")
    )
    assert members == {ines.pk: "admin", bob.pk: "member"}
    (taken,) = captured_events.payloads(f"user.{bob.pk}")[-1:]
    assert taken["type"] == "queue.taken"
    assert (taken["room_id"], taken["private_room"]["id"]) == (room.pk, private.pk)
    assert set(taken["private_room"]) == ROOM_KEYS
    assert (taken["staff"]["username"], taken["student"]["username"]) == ("ines", "bob")
    assert "participant.joined" in captured_events.types(f"room.{private.pk}")


def test_closing_office_hours_ends_every_waiting_place(
    captured_events: Any, course: Any, ines: Any, alice: Any
) -> None:
    room = factories.course_room(course)
    services.office_hours_set(actor=ines, room=room, is_open=True)
    services.queue_join(actor=alice, room=room)
    captured_events.clear()

    changed = services.office_hours_set(actor=ines, room=room, is_open=False)
    unchanged = services.office_hours_set(actor=ines, room=room, is_open=False)

    assert (changed, unchanged) == (True, False)
    (update,) = captured_events.payloads(f"room.{room.pk}")
    assert update["queue"] == {"is_open": False, "length": 0, "entries": []}
    assert QueueEntry.objects.get(user=alice).status == "closed"
    with pytest.raises(errors.Forbidden):
        services.queue_join(actor=alice, room=room)


def test_a_student_who_leaves_or_is_removed_or_unenrolled_loses_their_place(
    captured_events: Any, course: Any, ines: Any, alice: Any, bob: Any, stella: Any
) -> None:
    from courses import services as course_services

    carol = factories.make_user("carol")
    course_services.enrollment_create(actor=stella, course=course, user=carol, role="student")
    room = factories.course_room(course)
    services.office_hours_set(actor=ines, room=room, is_open=True)
    for student in (alice, bob, carol):
        services.queue_join(actor=student, room=room)
    captured_events.clear()

    services.room_leave(actor=alice, room=room)
    course_services.enrollment_end(actor=stella, course=course, user=carol)
    entry = services.queue_next(actor=ines, room=room)

    assert entry.user == bob  # not alice, who left, nor carol, whose enrolment ended
    updates = [
        u for u in captured_events.payloads(f"room.{room.pk}") if u["type"] == "queue.updated"
    ]
    assert [positions(u) for u in updates] == [[(bob.pk, 1), (carol.pk, 2)], [(bob.pk, 1)], []]
    statuses = dict(QueueEntry.objects.filter(room=room).values_list("user__username", "status"))
    assert statuses == {"alice": "left", "bob": "taken", "carol": "left"}
    with pytest.raises(errors.ValidationFailed):
        services.queue_next(actor=ines, room=room)  # nobody is waiting


@pytest.mark.django_db
def test_the_queue_refuses_what_it_should(
    course: Any, ines: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    room = factories.course_room(course)
    public = factories.make_room(alice, chat_type="public", members=[bob])

    with pytest.raises(errors.ValidationFailed):
        services.office_hours_set(actor=alice, room=public, is_open=True)
    with pytest.raises(errors.Forbidden):
        services.office_hours_set(actor=alice, room=room, is_open=True)
    with pytest.raises(errors.ValidationFailed):
        services.office_hours_set(actor=ines, room=room, is_open="yes")
    with pytest.raises(errors.Forbidden):  # closed
        services.queue_join(actor=alice, room=room)
    services.office_hours_set(actor=ines, room=room, is_open=True)
    with pytest.raises(errors.Forbidden):  # staff take, they do not queue
        services.queue_join(actor=ines, room=room)
    with pytest.raises(errors.NotFound):
        services.queue_join(actor=charlie, room=room)
    services.participant_update(actor=ines, room=room, user_id=bob.pk, is_muted=True)
    with pytest.raises(errors.Muted):
        services.queue_join(actor=bob, room=room)
    with pytest.raises(errors.ValidationFailed):  # nobody waits
        services.queue_next(actor=ines, room=room)
    services.queue_join(actor=alice, room=room)
    with pytest.raises(errors.Forbidden):
        services.queue_next(actor=alice, room=room)


@pytest.mark.django_db
def test_students_see_their_place_and_the_length_and_staff_see_who_waits(
    course: Any, ines: Any, alice: Any, bob: Any, stella: Any
) -> None:
    room = factories.course_room(course)
    client_for(ines).post(f"/chat/rooms/{room.pk}/office-hours/", {"open": True}, format="json")
    joined = client_for(alice).post(f"/chat/rooms/{room.pk}/queue/")
    again = client_for(alice).post(f"/chat/rooms/{room.pk}/queue/")
    client_for(bob).post(f"/chat/rooms/{room.pk}/queue/")

    student = client_for(bob).get(f"/chat/rooms/{room.pk}/queue/").data
    staff = client_for(stella).get(f"/chat/rooms/{room.pk}/queue/").data

    assert (joined.status_code, again.status_code) == (201, 200)
    assert set(student) == set(staff) == VIEW_KEYS
    assert (student["length"], student["my_position"], student["entries"]) == (2, 2, None)
    assert student["my_key"] == wire.queue_key(room.pk, bob.pk)
    assert staff["my_position"] is None
    assert [(e["user"]["username"], e["position"]) for e in staff["entries"]] == [
        ("alice", 1),
        ("bob", 2),
    ]
    assert set(staff["entries"][0]["user"]) == USER_KEYS
    left = client_for(alice).delete(f"/chat/rooms/{room.pk}/queue/")
    assert left.status_code == 204
    taken = client_for(ines).post(f"/chat/rooms/{room.pk}/queue/next/")
    assert taken.status_code == 201
    assert set(taken.data) == {"room", "user"}
    assert taken.data["user"]["username"] == "bob"
    assert taken.data["room"]["my_role"] == "admin"
    assert client_for(bob).get(f"/chat/rooms/{taken.data['room']['id']}/").status_code == 200
    empty = client_for(ines).post(f"/chat/rooms/{room.pk}/queue/next/")
    assert (empty.status_code, empty.data["code"]) == (400, "validation_error")


# --- who may: one table per room type and persona ------------------------------------------

STAFF = {
    "public": {"admin", "moderator", "staff"},
    "private": {"admin", "moderator"},
    "course": {"admin", "moderator", "staff"},
    "support": {"admin", "moderator", "staff", "support"},
}
QUEUE_ROOMS = {"course", "support"}


def expected(room_type: str, persona: str, action: str) -> int:
    if persona not in VISIBLE[room_type]:
        return 404
    if action == "view":
        return 200
    if action == "open":
        if persona not in STAFF[room_type]:
            return 403
        return 200 if room_type in QUEUE_ROOMS else 400
    if action == "join":
        if persona not in {"admin", "moderator", "member"}:
            return 403  # not a participant
        if room_type not in QUEUE_ROOMS:
            return 400
        return 201 if persona == "member" else 403
    if room_type not in QUEUE_ROOMS:  # next
        return 400 if persona in STAFF[room_type] else 403
    return 201 if persona in STAFF[room_type] else 403


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["open", "view", "join", "next"])
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("room_type", ROOM_TYPES)
def test_who_may_hold_join_and_take_from_the_queue(
    room_type: str, persona: str, action: str
) -> None:
    room, people = build_room(room_type)
    waiting = factories.make_user("wendy")
    if room_type in QUEUE_ROOMS:
        services.participant_invite(actor=people["admin"], room=room, user=waiting)
        services.office_hours_set(actor=people["admin"], room=room, is_open=True)
        services.queue_join(actor=waiting, room=room)
    client = client_for(people[persona])
    url = f"/chat/rooms/{room.pk}/"

    if action == "open":
        response = client.post(f"{url}office-hours/", {"open": True}, format="json")
    elif action == "view":
        response = client.get(f"{url}queue/")
    elif action == "join":
        response = client.post(f"{url}queue/")
    else:
        response = client.post(f"{url}queue/next/")

    assert response.status_code == expected(room_type, persona, action), response.data
    if response.status_code == 404:
        assert response.data["code"] == "not_found"
    if action == "view" and response.status_code == 200:
        assert (response.data["entries"] is not None) == (persona in STAFF[room_type])


# --- the sockets -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_queue_over_the_sockets_and_the_student_is_told_the_new_room(
    course: Any, ines: Any, alice: Any, bob: Any
) -> None:
    room = await db(factories.course_room)(course)
    teacher = await open_room(ines, room)
    student = await open_room(alice, room)
    stream = await open_presence(alice)
    start = student.ready["last_seq"]

    await student.send({"type": "queue.join"})
    closed = await student.receive_type("error")
    await teacher.send({"type": "office_hours.set", "open": True})
    opened = await student.receive_type("queue.updated")
    await teacher.receive_type("queue.updated")
    await student.send({"type": "queue.join"})
    joined = await teacher.receive_type("queue.updated")
    await student.receive_type("queue.updated")
    await teacher.send({"type": "queue.next"})
    moved = await student.receive_type("queue.updated")
    taken = await stream.receive_type("queue.taken")
    # The socket that took her is answered with the same news: the room, and who.
    answer = await teacher.receive_type("queue.taken")

    assert (closed["code"], closed["ref"]) == ("forbidden", "queue.join")
    assert opened["queue"] == {"is_open": True, "length": 0, "entries": []}
    assert joined["queue"] == {
        "is_open": True,
        "length": 1,
        "entries": [{"key": wire.queue_key(room.pk, alice.pk), "position": 1}],
    }
    assert set(joined["queue"]["entries"][0]) == {"key", "position"}  # no user id
    assert moved["queue"]["entries"] == []
    assert answer == taken
    assert (taken["staff"]["id"], taken["student"]["id"]) == (ines.pk, alice.pk)
    private = await open_room(alice, ChatRoom(pk=taken["private_room"]["id"]))
    assert private.ready["room"]["my_role"] == "member"
    for socket in (teacher, student, stream, private):
        await socket.close()

    replay = await open_room(bob, room, after_seq=start)
    kinds = [(await replay.receive())["type"] for _ in range(3)]
    assert kinds == ["queue.updated"] * 3
    await replay.close()


def test_the_migration_rewrites_logged_queue_events_to_name_nobody() -> None:
    import importlib

    migration = importlib.import_module("chat.migrations.0017_queue_updated_names_nobody")
    old = {
        "type": "queue.updated",
        "room_id": 5,
        "seq": 9,
        "queue": {"is_open": True, "entries": [{"user_id": 8, "position": 1}]},
    }

    new = migration.keyed(dict(old))

    assert new["queue"] == {
        "is_open": True,
        "length": 1,
        "entries": [{"key": wire.queue_key(5, 8), "position": 1}],
    }
    assert (new["type"], new["seq"]) == ("queue.updated", 9)
    assert migration.keyed(new) is None  # already keyed: left alone
