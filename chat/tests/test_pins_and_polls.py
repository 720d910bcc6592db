"""Pinned messages (with "seen by N of M" for the room's staff) and polls: the
services and their events, REST, the room socket, and who may do what."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from chat import errors, selectors, services
from chat.consumers import sweeper
from chat.models import ChatMessage, ChatRoom, PinnedMessage, Poll, PollVote
from chat.tests import factories
from chat.tests.api_support import USER_KEYS, assert_message_shape, client_for
from chat.tests.test_api_permissions import PERSONAS, ROOM_TYPES, VISIBLE, build_room
from chat.tests.ws import db, open_room, socket_settings  # noqa: F401

PIN_KEYS = {"message", "pinned_by", "pinned_at", "seen_count", "audience_count"}
POLL_KEYS = {
    "id",
    "question",
    "allows_multiple",
    "is_anonymous",
    "closes_at",
    "closed_at",
    "is_closed",
    "options",
    "voter_count",
    "my_votes",
}


def make_poll(actor: Any, room: Any, **kwargs: Any) -> Poll:
    fields = {"question": "Which week?", "options": ["Week 6", "Week 7", "Week 8"]} | kwargs
    message = services.poll_create(actor=actor, room=room, **fields).message
    return Poll.objects.get(pk=message.pk)


def option_ids(poll: Poll) -> list[int]:
    return list(poll.options.order_by("position").values_list("pk", flat=True))


# --- pins ------------------------------------------------------------------------------------


def test_pinning_publishes_the_pin_and_unpinning_its_message_id(
    captured_events: Any, course: Any, ines: Any, alice: Any
) -> None:
    room = factories.course_room(course)
    message = factories.make_message(ines, room, "Exam on Friday, room B-204")
    captured_events.clear()

    pin, created = services.message_pin(actor=ines, message=message)
    again, created_again = services.message_pin(actor=ines, message=message)
    unpinned = services.message_unpin(actor=ines, message=message)

    assert (created, created_again, again.pk, unpinned) == (True, False, pin.pk, True)
    group = f"room.{room.pk}"
    pinned, gone = captured_events.payloads(group)
    assert pinned["type"] == "message.pinned"
    assert set(pinned["pin"]) == PIN_KEYS
    assert pinned["pin"]["message"]["content"] == "Exam on Friday, room B-204"
    assert pinned["pin"]["pinned_by"]["username"] == "ines"
    assert (pinned["pin"]["seen_count"], pinned["pin"]["audience_count"]) == (None, None)
    assert gone == {
        "type": "message.unpinned",
        "room_id": room.pk,
        "seq": gone["seq"],
        "message_id": message.pk,
    }
    assert gone["seq"] == pinned["seq"] + 1


def test_deleting_a_pinned_message_unpins_it(captured_events: Any, course: Any, ines: Any) -> None:
    room = factories.course_room(course)
    message = factories.make_message(ines, room, "Slides are up")
    services.message_pin(actor=ines, message=message)
    captured_events.clear()

    services.message_delete(actor=ines, message=message)

    assert captured_events.types(f"room.{room.pk}") == ["message.deleted", "message.unpinned"]
    assert not PinnedMessage.objects.exists()


@pytest.mark.django_db
def test_a_student_may_not_pin_and_an_archived_room_takes_no_pins(
    course: Any, ines: Any, alice: Any
) -> None:
    room = factories.course_room(course)
    message = factories.make_message(alice, room, "pin me")

    with pytest.raises(errors.Forbidden):
        services.message_pin(actor=alice, message=message)
    services.room_archive(actor=factories.make_user("root", is_superuser=True), room=room)
    with pytest.raises(errors.RoomArchived):
        services.message_pin(actor=ines, message=message)


@pytest.mark.django_db
def test_a_room_keeps_at_most_its_limit_of_pins(settings: Any, course: Any, ines: Any) -> None:
    from chat import limits

    room = factories.course_room(course)
    for number in range(limits.PINS_MAX):
        services.message_pin(actor=ines, message=factories.make_message(ines, room, f"n{number}"))

    with pytest.raises(errors.ValidationFailed):
        services.message_pin(actor=ines, message=factories.make_message(ines, room, "one more"))


@pytest.mark.django_db
def test_staff_see_who_has_read_a_pin_and_students_get_no_counts(
    course: Any, ines: Any, alice: Any, bob: Any, stella: Any, django_assert_num_queries: Any
) -> None:
    room = factories.course_room(course)
    announcement = factories.make_message(ines, room, "Read the syllabus")
    later = factories.make_message(alice, room, "ok")
    services.message_pin(actor=ines, message=announcement)
    # alice has read past it, bob has not; ines (the sender) is not counted.
    services.room_mark_read(actor=alice, room=room, message_id=later.pk)

    staff_view = client_for(stella).get(f"/chat/rooms/{room.pk}/pins/")
    instructor_view = client_for(ines).get(f"/chat/rooms/{room.pk}/pins/")
    student_view = client_for(bob).get(f"/chat/rooms/{room.pk}/pins/")

    for response in (staff_view, instructor_view, student_view):
        assert response.status_code == 200
        assert [set(pin) for pin in response.data] == [PIN_KEYS]
        assert_message_shape(response.data[0]["message"])
        assert set(response.data[0]["pinned_by"]) == USER_KEYS
    assert (staff_view.data[0]["seen_count"], staff_view.data[0]["audience_count"]) == (1, 2)
    assert instructor_view.data[0]["seen_count"] == 1
    assert (student_view.data[0]["seen_count"], student_view.data[0]["audience_count"]) == (
        None,
        None,
    )
    pins = list(PinnedMessage.objects.filter(room=room).select_related("message"))
    pins.append(
        services.message_pin(actor=ines, message=factories.make_message(bob, room, "two"))[0]
    )
    with django_assert_num_queries(1):
        seen = selectors.pins_seen(room, pins)
    assert seen[pins[0].pk] == (1, 2)
    assert seen[pins[1].pk] == (0, 2)  # alice, ines; bob sent it


@pytest.mark.django_db
def test_pin_over_rest_answers_201_then_200_and_unpin_204(course: Any, ines: Any) -> None:
    room = factories.course_room(course)
    message = factories.make_message(ines, room, "Office hours moved")
    client = client_for(ines)

    first = client.post(f"/chat/messages/{message.pk}/pin/")
    second = client.post(f"/chat/messages/{message.pk}/pin/")
    removed = client.delete(f"/chat/messages/{message.pk}/pin/")

    assert (first.status_code, second.status_code, removed.status_code) == (201, 200, 204)
    assert set(first.data) == PIN_KEYS
    assert client.get(f"/chat/rooms/{room.pk}/pins/").data == []


# --- polls -----------------------------------------------------------------------------------


def test_a_poll_is_a_message_and_each_vote_one_poll_updated(
    captured_events: Any, course: Any, ines: Any, alice: Any, bob: Any
) -> None:
    room = factories.course_room(course)
    captured_events.clear()

    poll = make_poll(ines, room, allows_multiple=True)
    week6, week7, week8 = option_ids(poll)
    services.poll_vote(actor=alice, poll=poll, option_ids=[week6, week7])
    services.poll_vote(actor=bob, poll=poll, option_ids=[week7])
    services.poll_vote(actor=bob, poll=poll, option_ids=[week7])  # no change, no event
    services.poll_vote(actor=alice, poll=poll, option_ids=[week8])

    created, *updates = captured_events.payloads(f"room.{room.pk}")
    assert created["type"] == "message.created"
    assert_message_shape(created["message"])
    assert created["message"]["message_type"] == "poll"
    assert created["message"]["content"] == "Which week?"
    assert set(created["message"]["poll"]) == POLL_KEYS
    assert [o["text"] for o in created["message"]["poll"]["options"]] == [
        "Week 6",
        "Week 7",
        "Week 8",
    ]
    assert [u["type"] for u in updates] == ["poll.updated"] * 3
    last = updates[-1]["poll"]
    assert [(o["vote_count"], o["voter_ids"]) for o in last["options"]] == [
        (0, []),
        (1, [bob.pk]),
        (1, [alice.pk]),
    ]
    assert (last["voter_count"], last["my_votes"]) == (2, None)


def test_nobody_sees_who_voted_what_in_an_anonymous_poll(
    captured_events: Any, course: Any, ines: Any, alice: Any, stella: Any
) -> None:
    room = factories.course_room(course)
    poll = make_poll(ines, room, is_anonymous=True)
    first = option_ids(poll)[0]
    captured_events.clear()

    services.poll_vote(actor=alice, poll=poll, option_ids=[first])

    (update,) = captured_events.payloads(f"room.{room.pk}")
    assert [o["voter_ids"] for o in update["poll"]["options"]] == [None, None, None]
    assert update["poll"]["options"][0]["vote_count"] == 1
    for viewer in (stella, ines):
        seen = client_for(viewer).get(f"/chat/polls/{poll.pk}/").data
        assert [o["voter_ids"] for o in seen["options"]] == [None, None, None]
        assert seen["my_votes"] == []
    history = client_for(stella).get(f"/chat/rooms/{room.pk}/messages/").data["results"]
    assert [o["voter_ids"] for o in history[-1]["poll"]["options"]] == [None, None, None]
    assert client_for(alice).get(f"/chat/polls/{poll.pk}/").data["my_votes"] == [first]


@pytest.mark.django_db
def test_votes_are_checked(course: Any, ines: Any, alice: Any, charlie: Any) -> None:
    room = factories.course_room(course)
    poll = make_poll(ines, room)
    other = make_poll(ines, room, question="Other?")
    week6, week7, _ = option_ids(poll)

    with pytest.raises(errors.ValidationFailed):
        services.poll_vote(actor=alice, poll=poll, option_ids=[week6, week7])
    with pytest.raises(errors.ValidationFailed):
        services.poll_vote(actor=alice, poll=poll, option_ids=[option_ids(other)[0]])
    with pytest.raises(errors.ValidationFailed):
        services.poll_vote(actor=alice, poll=poll, option_ids=[True])
    with pytest.raises(errors.NotFound):  # an outsider of the course
        services.poll_vote(actor=charlie, poll=poll, option_ids=[week6])
    services.poll_vote(actor=alice, poll=poll, option_ids=[week6])
    services.poll_vote(actor=alice, poll=poll, option_ids=[])
    assert not PollVote.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"question": "  "}, "question"),
        ({"options": ["only one"]}, "options"),
        ({"options": [str(n) for n in range(11)]}, "options"),
        ({"options": ["Yes", "yes"]}, "options"),
        ({"options": ["Yes", ""]}, "options"),
        ({"allows_multiple": "yes"}, "allows_multiple"),
        ({"closes_at": "2000-01-01T00:00:00Z"}, "closes_at"),
        ({"closes_at": "tomorrow"}, "closes_at"),
    ],
)
def test_a_poll_is_validated(course: Any, ines: Any, fields: dict[str, Any], field: str) -> None:
    room = factories.course_room(course)

    with pytest.raises(errors.ValidationFailed) as raised:
        make_poll(ines, room, **fields)

    assert field in raised.value.fields
    assert not ChatMessage.objects.filter(message_type="poll").exists()


@pytest.mark.django_db
def test_a_poll_message_cannot_be_edited_but_can_be_deleted(course: Any, ines: Any) -> None:
    room = factories.course_room(course)
    poll = make_poll(ines, room)

    with pytest.raises(errors.Forbidden):
        services.message_edit(actor=ines, message=poll.message, content="Another question?")
    services.message_delete(actor=ines, message=poll.message)

    assert client_for(ines).get(f"/chat/polls/{poll.pk}/").status_code == 404
    history = client_for(ines).get(f"/chat/rooms/{room.pk}/messages/").data["results"]
    assert (history[-1]["is_deleted"], history[-1]["poll"]) == (True, None)


@pytest.mark.django_db
def test_a_closed_poll_takes_no_votes(course: Any, ines: Any, alice: Any, bob: Any) -> None:
    room = factories.course_room(course)
    poll = make_poll(ines, room)
    timed = make_poll(ines, room, closes_at=timezone.now() + datetime.timedelta(hours=1))
    Poll.objects.filter(pk=timed.pk).update(
        closes_at=timezone.now() - datetime.timedelta(seconds=1)
    )

    with pytest.raises(errors.Forbidden):
        services.poll_close(actor=alice, poll=poll)  # neither its creator nor staff
    closed = services.poll_close(actor=ines, poll=poll)

    assert closed.closed_at is not None
    with pytest.raises(errors.Forbidden):
        services.poll_vote(actor=bob, poll=poll, option_ids=option_ids(poll)[:1])
    with pytest.raises(errors.Forbidden):
        services.poll_vote(actor=bob, poll=timed, option_ids=option_ids(timed)[:1])
    assert client_for(bob).get(f"/chat/polls/{timed.pk}/").data["is_closed"] is True


def test_a_poll_past_its_closing_time_is_closed_by_the_sweep_with_one_poll_updated(
    captured_events: Any, course: Any, ines: Any, alice: Any
) -> None:
    room = factories.course_room(course)
    due = make_poll(ines, room, closes_at=timezone.now() + datetime.timedelta(hours=1))
    later = make_poll(ines, room, closes_at=timezone.now() + datetime.timedelta(hours=2))
    closing = timezone.now() - datetime.timedelta(seconds=1)
    Poll.objects.filter(pk=due.pk).update(closes_at=closing)
    captured_events.clear()

    assert sweeper.sweep_once(sweep_others=False)[1] == []
    assert services.polls_close_due() == []  # once closed, never again

    (update,) = captured_events.payloads(f"room.{room.pk}")
    assert update["type"] == "poll.updated"
    assert update["seq"] == ChatRoom.objects.get(pk=room.pk).last_seq
    assert (update["poll"]["id"], update["poll"]["is_closed"]) == (due.pk, True)
    assert update["poll"]["closed_at"] == closing.isoformat().replace("+00:00", "Z")
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.closed_at, due.closed_by) == (closing, None)
    assert later.closed_at is None
    with pytest.raises(errors.Forbidden):
        services.poll_vote(actor=alice, poll=due, option_ids=option_ids(due)[:1])


@pytest.mark.django_db
def test_a_poll_over_rest(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, chat_type="public", members=[bob])
    body = {
        "room": room.pk,
        "question": "Pizza or sushi?",
        "options": ["Pizza", "Sushi"],
        "client_id": "poll-7",
    }

    created = client_for(bob).post("/chat/polls/", body, format="json")
    again = client_for(bob).post("/chat/polls/", body, format="json")
    poll_id = created.data["poll"]["id"]
    sushi = created.data["poll"]["options"][1]["id"]
    voted = client_for(alice).post(
        f"/chat/polls/{poll_id}/vote/", {"option_ids": [sushi]}, format="json"
    )
    closed = client_for(bob).post(f"/chat/polls/{poll_id}/close/")

    assert (created.status_code, again.status_code) == (201, 200)
    assert created.data["id"] == poll_id == again.data["id"]
    assert_message_shape(created.data)
    assert voted.status_code == 200
    assert set(voted.data) == POLL_KEYS
    assert voted.data["my_votes"] == [sushi]
    assert voted.data["options"][1]["voter_ids"] == [alice.pk]
    assert closed.status_code == 200
    assert closed.data["is_closed"] is True
    assert closed.data["my_votes"] == []


# --- who may: one table per room type and persona ------------------------------------------

PIN_STAFF = {
    "public": {"admin", "moderator", "staff"},
    "private": {"admin", "moderator"},
    "course": {"admin", "moderator", "staff"},
    "support": {"admin", "moderator", "staff", "support"},
}
PARTICIPANTS = {"admin", "moderator", "member"}


def expected(room_type: str, persona: str, action: str) -> int:
    if persona not in VISIBLE[room_type]:
        return 404
    if action == "pins":
        return 200
    if action == "pin":
        return 201 if persona in PIN_STAFF[room_type] else 403
    if action == "close":
        return 200 if persona in PIN_STAFF[room_type] else 403
    if action == "poll":
        if persona not in PARTICIPANTS:
            return 403
        return 403 if room_type == "course" and persona == "member" else 201
    return 200 if persona in PARTICIPANTS else 403  # vote


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["pin", "pins", "poll", "vote", "close"])
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("room_type", ROOM_TYPES)
def test_who_may_pin_poll_vote_and_close(room_type: str, persona: str, action: str) -> None:
    room, people = build_room(room_type)
    message = factories.make_message(people["admin"], room, "announcement")
    services.message_pin(actor=people["admin"], message=message)
    poll = make_poll(people["admin"], room)
    client = client_for(people[persona])

    if action == "pin":
        response = client.post(f"/chat/messages/{message.pk}/pin/")
        if response.status_code == 200:  # already pinned: the same answer
            response.status_code = 201
    elif action == "pins":
        response = client.get(f"/chat/rooms/{room.pk}/pins/")
    elif action == "poll":
        body = {"room": room.pk, "question": "Q?", "options": ["a", "b"]}
        response = client.post("/chat/polls/", body, format="json")
    elif action == "vote":
        body = {"option_ids": option_ids(poll)[:1]}
        response = client.post(f"/chat/polls/{poll.pk}/vote/", body, format="json")
    else:
        response = client.post(f"/chat/polls/{poll.pk}/close/")

    assert response.status_code == expected(room_type, persona, action), response.data
    if response.status_code == 404:
        assert response.data["code"] == "not_found"
    if action == "pins" and response.status_code == 200:
        counted = response.data[0]["seen_count"] is not None
        assert counted == (persona in PIN_STAFF[room_type])


# --- the room socket -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_pins_and_polls_over_the_socket_reach_the_room_and_replay(
    course: Any, ines: Any, alice: Any, bob: Any
) -> None:
    room = await db(factories.course_room)(course)
    message = await db(factories.make_message)(alice, room, "Is the lab open?")
    teacher = await open_room(ines, room)
    student = await open_room(alice, room)
    start = student.ready["last_seq"]

    await teacher.send({"type": "message.pin", "message_id": message.pk})
    pinned = await student.receive_type("message.pinned")
    await student.send({"type": "message.pin", "message_id": message.pk})
    refused = await student.receive_type("error")
    await teacher.send(
        {"type": "poll.create", "client_id": "p-9", "question": "Lab time?", "options": ["9", "10"]}
    )
    created = await student.receive_type("message.created")
    poll = created["message"]["poll"]
    await student.send(
        {"type": "poll.vote", "poll_id": poll["id"], "option_ids": [poll["options"][1]["id"]]}
    )
    updated = await teacher.receive_type("poll.updated")
    await student.send({"type": "poll.close", "poll_id": poll["id"]})
    not_closed = await student.receive_type("error")
    await teacher.send({"type": "message.unpin", "message_id": message.pk})
    unpinned = await student.receive_type("message.unpinned")

    assert pinned["pin"]["message"]["id"] == message.pk
    assert (refused["code"], refused["ref"]) == ("forbidden", "message.pin")
    assert created["message"]["client_id"] == "p-9"
    assert updated["poll"]["options"][1]["voter_ids"] == [alice.pk]
    assert (not_closed["code"], not_closed["ref"]) == ("forbidden", "poll.close")
    assert unpinned["message_id"] == message.pk
    await teacher.close()
    await student.close()

    replay = await open_room(bob, room, after_seq=start)
    types: list[str] = []
    while len(types) < 4:
        types.append((await replay.receive())["type"])
    assert types == ["message.pinned", "message.created", "poll.updated", "message.unpinned"]
    await replay.close()


@pytest.mark.django_db(transaction=True)
async def test_a_poll_resent_with_its_client_id_is_acknowledged_with_the_first_poll(
    course: Any, ines: Any
) -> None:
    """As a repeated message.send: the first poll's message.created again, one poll."""
    room = await db(factories.course_room)(course)
    teacher = await open_room(ines, room)
    frame = {"type": "poll.create", "client_id": "p-1", "question": "Lab?", "options": ["a", "b"]}

    await teacher.send(frame)
    first = await teacher.receive_type("message.created")
    await teacher.send(frame)
    again = await teacher.receive_type("message.created")

    assert again == first
    assert again["message"]["client_id"] == "p-1"
    assert await db(Poll.objects.filter(message__room=room).count)() == 1
    await teacher.close()


@pytest.mark.django_db(transaction=True)
async def test_a_poll_of_another_room_is_not_found_on_this_socket(alice: Any, bob: Any) -> None:
    here = await db(factories.make_room)(alice, chat_type="public", members=[bob])
    there = await db(factories.make_room)(bob, chat_type="public", name="there")
    poll = await db(make_poll)(bob, there)
    first = (await db(option_ids)(poll))[0]
    socket = await open_room(alice, here)

    await socket.send({"type": "poll.vote", "poll_id": poll.pk, "option_ids": [first]})
    error = await socket.receive_type("error")

    assert error["code"] == "not_found"
    await socket.close()


@pytest.mark.django_db(transaction=True)
async def test_a_socket_vote_takes_option_ids_as_text_as_rest_does(alice: Any, bob: Any) -> None:
    room = await db(factories.make_room)(alice, chat_type="public", members=[bob])
    poll = await db(make_poll)(alice, room)
    week6, week7, _ = await db(option_ids)(poll)
    socket = await open_room(bob, room)

    await socket.send({"type": "poll.vote", "poll_id": poll.pk, "option_ids": [str(week7)]})
    updated = await socket.receive_type("poll.updated", "error")
    await socket.send({"type": "poll.vote", "poll_id": poll.pk, "option_ids": ["7.5"]})
    refused = await socket.receive_type("error")

    assert updated["type"] == "poll.updated"
    counts = {option["id"]: option["vote_count"] for option in updated["poll"]["options"]}
    assert (counts[week6], counts[week7]) == (0, 1)
    assert (refused["code"], refused["detail"]) == (
        "validation_error",
        "option_ids must be a list of option ids.",
    )
    await socket.close()
