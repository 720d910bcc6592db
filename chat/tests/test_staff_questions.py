"""Private questions to staff: a course room's member asks its staff, who answer;
over the services, REST and the presence socket, for every persona, and never
seen by the room's other members (history, search, unread counts, room events)."""

from __future__ import annotations

from typing import Any

import pytest

from chat import errors, services
from chat.models import ChatMessage, ChatParticipant, ChatRoom, RoomEvent, StaffQuestion
from chat.tests import factories
from chat.tests.api_support import client_for
from chat.tests.ws import db, open_presence, open_room, socket_settings  # noqa: F401


@pytest.fixture
def room(course: Any) -> Any:
    return factories.course_room(course)


@pytest.fixture
def asked(room: Any, alice: Any) -> StaffQuestion:
    return services.staff_question_ask(
        actor=alice, room=room, content="Could I get an extension for problem set 3?"
    )


def fresh(question: StaffQuestion) -> StaffQuestion:
    return StaffQuestion.objects.get(pk=question.pk)


# --- services and frames -------------------------------------------------------------------


def test_asking_tells_each_of_the_staff_and_no_one_else(
    captured_events: Any, room: Any, alice: Any, bob: Any, ines: Any, stella: Any
) -> None:
    moderator = factories.make_user("mona")
    ChatParticipant.objects.create(room=room, user=moderator, role="moderator")
    captured_events.clear()

    question = services.staff_question_ask(
        actor=alice, room=room, content="  Is the quiz open-book?  "
    )

    # stella (is_staff) is no member of the room: she answers from the queue. The
    # asker's own sockets hear of it too (her other tabs).
    groups = sorted(item.group for item in captured_events)
    assert groups == sorted([f"user.{ines.pk}", f"user.{moderator.pk}", f"user.{alice.pk}"])
    frame = captured_events.payloads(f"user.{ines.pk}")[0]
    assert frame["type"] == "staff_question.asked"
    assert frame["room_id"] == room.pk
    assert frame["question"]["id"] == question.pk
    assert frame["question"]["content"] == "Is the quiz open-book?"
    assert frame["question"]["asker"]["username"] == "alice"
    assert frame["question"]["status"] == "open"
    assert frame["question"]["answer"] is None
    assert not captured_events.payloads(f"room.{room.pk}")
    assert not captured_events.payloads(f"user.{bob.pk}")


def test_answering_tells_the_asker_the_staff_and_the_answerer(
    captured_events: Any, room: Any, alice: Any, ines: Any, stella: Any, asked: StaffQuestion
) -> None:
    captured_events.clear()

    services.staff_question_answer(actor=stella, question=asked, content="Yes, until **Friday**.")

    # stella, site staff answering from the queue, is no member of the room.
    assert sorted(item.group for item in captured_events) == sorted(
        [f"user.{alice.pk}", f"user.{ines.pk}", f"user.{stella.pk}"]
    )
    frame = captured_events.payloads(f"user.{alice.pk}")[0]
    assert frame["type"] == "staff_question.answered"
    assert frame["question"]["status"] == "answered"
    assert frame["question"]["answer"] == "Yes, until **Friday**."
    assert frame["question"]["answer_html"] == "<p>Yes, until <strong>Friday</strong>.</p>"
    assert frame["question"]["answered_by"]["username"] == "stella"
    answered = fresh(asked)
    assert (answered.answered_by_id, answered.status) == (stella.pk, "answered")


def test_answering_again_replaces_the_answer(
    room: Any, ines: Any, stella: Any, asked: StaffQuestion
) -> None:
    services.staff_question_answer(actor=ines, question=asked, content="Maybe")
    services.staff_question_answer(actor=stella, question=asked, content="Yes.")

    answered = fresh(asked)
    assert (answered.answer, answered.answered_by_id) == ("Yes.", stella.pk)


@pytest.mark.django_db
def test_only_course_rooms_take_private_questions(alice: Any, bob: Any) -> None:
    public = factories.make_room(bob, members=[alice], moderators=[bob])

    with pytest.raises(errors.ValidationFailed):
        services.staff_question_ask(actor=alice, room=public, content="Hello staff?")


@pytest.mark.django_db
def test_a_muted_member_and_an_archived_room_take_no_question(
    room: Any, alice: Any, bob: Any, ines: Any, stella: Any
) -> None:
    services.participant_update(actor=ines, room=room, user_id=alice.pk, is_muted=True)
    with pytest.raises(errors.Muted):
        services.staff_question_ask(actor=alice, room=room, content="Why was I muted?")

    question = services.staff_question_ask(actor=bob, room=room, content="?!")
    ChatRoom.objects.filter(pk=room.pk).update(is_active=False)  # archived
    with pytest.raises(errors.RoomArchived):
        services.staff_question_answer(actor=ines, question=question, content="Too late")


@pytest.mark.django_db
@pytest.mark.parametrize("content", ["", "   ", 12, "x" * 5000])
def test_a_question_must_be_text_within_the_message_limit(
    room: Any, alice: Any, content: object, settings: Any
) -> None:
    settings.CHAT_MAX_MESSAGE_LENGTH = 4000

    with pytest.raises(errors.ValidationFailed):
        services.staff_question_ask(actor=alice, room=room, content=content)
    assert not StaffQuestion.objects.exists()


# --- REST: who may do what -------------------------------------------------------------------
# alice and bob are students of the course, ines its instructor, stella staff
# (is_staff), sam support staff (not in the course), charlie an outsider.

ASK = {"alice": 201, "bob": 201, "ines": 403, "stella": 403, "sam": 404, "charlie": 404}
# alice's question: who sees it, and who may answer it.
SEE = {"alice": 200, "bob": 404, "ines": 200, "stella": 200, "sam": 404, "charlie": 404}
ANSWER = {"alice": 403, "bob": 404, "ines": 200, "stella": 200, "sam": 404, "charlie": 404}
QUEUE = {"alice": 1, "bob": 1, "ines": 2, "stella": 2, "sam": 404, "charlie": 404}


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(ASK))
def test_who_may_ask_the_staff_over_rest(
    request: pytest.FixtureRequest, persona: str, room: Any, sam: Any, charlie: Any
) -> None:
    client = client_for(request.getfixturevalue(persona))

    response = client.post(
        f"/chat/rooms/{room.pk}/staff-questions/", {"content": "A private one"}, format="json"
    )

    assert response.status_code == ASK[persona], response.data
    if response.status_code == 201:
        assert response.data["asker"]["username"] == persona
        assert response.data["status"] == "open"
        assert StaffQuestion.objects.get(pk=response.data["id"]).room_id == room.pk


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(SEE))
def test_who_sees_and_answers_a_private_question_over_rest(
    request: pytest.FixtureRequest, persona: str, asked: StaffQuestion, sam: Any, charlie: Any
) -> None:
    client = client_for(request.getfixturevalue(persona))

    seen = client.get(f"/chat/staff-questions/{asked.pk}/")
    answered = client.post(
        f"/chat/staff-questions/{asked.pk}/answer/", {"content": "Yes."}, format="json"
    )

    assert seen.status_code == SEE[persona]
    assert answered.status_code == ANSWER[persona], answered.data
    if seen.status_code == 200:
        assert seen.data["content"] == "Could I get an extension for problem set 3?"
    if answered.status_code == 200:
        assert answered.data["answer"] == "Yes."
        assert answered.data["answered_by"]["username"] == persona
    else:
        assert fresh(asked).answered_at is None


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(QUEUE))
def test_the_queue_shows_staff_everything_and_members_their_own(
    request: pytest.FixtureRequest,
    persona: str,
    room: Any,
    bob: Any,
    asked: StaffQuestion,
    sam: Any,
    charlie: Any,
) -> None:
    services.staff_question_ask(actor=bob, room=room, content="Bob's own")
    client = client_for(request.getfixturevalue(persona))

    response = client.get(f"/chat/rooms/{room.pk}/staff-questions/")

    if QUEUE[persona] == 404:
        assert response.status_code == 404
    else:
        assert response.status_code == 200
        askers = [item["asker"]["username"] for item in response.data["results"]]
        assert askers == (["alice", "bob"] if QUEUE[persona] == 2 else [persona])


@pytest.mark.django_db
def test_the_queue_filters_open_and_answered_oldest_first(
    room: Any, alice: Any, bob: Any, ines: Any, asked: StaffQuestion
) -> None:
    second = services.staff_question_ask(actor=bob, room=room, content="Where is the exam?")
    third = services.staff_question_ask(actor=alice, room=room, content="And the solutions?")
    services.staff_question_answer(actor=ines, question=second, content="Room B-204")
    client = client_for(ines)
    url = f"/chat/rooms/{room.pk}/staff-questions/"

    everything = client.get(url).data["results"]
    open_ = client.get(url, {"status": "open"}).data["results"]
    answered = client.get(url, {"status": "answered"}).data["results"]

    assert [item["id"] for item in everything] == [asked.pk, second.pk, third.pk]
    assert [item["id"] for item in open_] == [asked.pk, third.pk]
    assert [(item["id"], item["answer"]) for item in answered] == [(second.pk, "Room B-204")]
    assert client.get(url, {"status": "closed"}).status_code == 400


@pytest.mark.django_db
def test_the_queue_costs_constant_queries(
    django_assert_max_num_queries: Any, room: Any, alice: Any, bob: Any, ines: Any
) -> None:
    for number in range(6):
        question = services.staff_question_ask(actor=alice, room=room, content=f"q{number}")
        services.staff_question_answer(actor=ines, question=question, content=f"a{number}")
    client = client_for(ines)

    with django_assert_max_num_queries(12):
        response = client.get(f"/chat/rooms/{room.pk}/staff-questions/")

    assert response.data["count"] == 6


# --- other members never see them ----------------------------------------------------------


@pytest.mark.django_db
def test_a_private_question_is_not_in_history_search_or_unread_counts(
    room: Any, alice: Any, bob: Any, ines: Any
) -> None:
    factories.make_message(ines, room, "Welcome")
    before = client_for(bob).get(f"/chat/rooms/{room.pk}/").data["unread_count"]
    events_before = RoomEvent.objects.filter(room=room).count()
    asked = services.staff_question_ask(
        actor=alice, room=room, content="zebra-secret extension please"
    )
    services.staff_question_answer(actor=ines, question=asked, content="zebra-secret granted")
    client = client_for(bob)

    history = client.get(f"/chat/rooms/{room.pk}/messages/").data["results"]
    search = client.get("/chat/messages/", {"q": "zebra-secret"}).data
    after = client.get(f"/chat/rooms/{room.pk}/").data["unread_count"]

    assert history[-1]["content"] == "Welcome"
    assert not [m for m in history if "zebra" in m["content"]]
    assert search["count"] == 0
    assert after == before > 0
    assert RoomEvent.objects.filter(room=room).count() == events_before
    assert not ChatMessage.objects.filter(content__contains="zebra-secret").exists()
    assert client_for(alice).get("/chat/messages/", {"q": "zebra-secret"}).data["count"] == 0


# --- presence socket -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_staff_and_the_asker_get_their_frames_on_the_presence_socket(
    room: Any, alice: Any, bob: Any, ines: Any
) -> None:
    instructor = await open_presence(ines)
    asker = await open_presence(alice)
    classmate = await open_presence(bob)
    room_socket = await open_room(bob, room)

    question = await db(
        lambda: services.staff_question_ask(actor=alice, room=room, content="Just between us?")
    )()
    arrived = await instructor.receive_type("staff_question.asked")
    await db(
        lambda: services.staff_question_answer(actor=ines, question=question, content="Sure.")
    )()
    answer = await asker.receive_type("staff_question.answered")
    own_answer = await instructor.receive_type("staff_question.answered")

    assert own_answer == answer
    assert arrived["question"]["content"] == "Just between us?"
    assert (answer["question"]["id"], answer["question"]["answer"]) == (question.pk, "Sure.")
    assert await classmate.nothing()
    assert await room_socket.no_more_events()
    for socket in (instructor, asker, classmate, room_socket):
        await socket.close()


# --- room socket ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_asking_and_answering_over_the_room_socket(
    room: Any, alice: Any, bob: Any, ines: Any, stella: Any
) -> None:
    asker = await open_room(alice, room)
    classmate = await open_room(bob, room)
    instructor = await open_room(ines, room)
    second = await db(
        lambda: factories.make_course(stella, code="CS102", instructors=[ines], students=[alice])
    )()
    other = await db(factories.course_room)(second)
    elsewhere = await open_room(ines, other)

    await asker.send({"type": "staff_question.ask", "content": "  Is Friday's quiz graded? "})
    arrived = await instructor.receive_type("staff_question.asked")
    own = await asker.receive_type("staff_question.asked")
    question = await db(lambda: StaffQuestion.objects.get(room=room))()
    assert arrived == own
    assert (arrived["room_id"], arrived["question"]["id"]) == (room.pk, question.pk)
    assert arrived["question"]["content"] == "Is Friday's quiz graded?"

    # A classmate may not answer; from another room's socket it is not found there.
    await classmate.send(
        {"type": "staff_question.answer", "question_id": question.pk, "content": "Yes"}
    )
    refused = await classmate.receive_type("error")
    await elsewhere.send(
        {"type": "staff_question.answer", "question_id": question.pk, "content": "Yes"}
    )
    missing = await elsewhere.receive_type("error")
    await instructor.send(
        {"type": "staff_question.answer", "question_id": question.pk, "content": "Not graded."}
    )
    answered = await asker.receive_type("staff_question.answered")
    # The answering socket's acknowledgement.
    acknowledged = await instructor.receive_type("staff_question.answered")

    assert acknowledged == answered
    assert refused["code"] == "not_found"  # bob may not even see alice's question
    assert missing["code"] == "not_found"
    assert answered["question"]["answer"] == "Not graded."
    assert await db(lambda: StaffQuestion.objects.get(pk=question.pk).answer)() == "Not graded."
    assert await classmate.no_more_events()
    assert await elsewhere.no_more_events()
    assert (
        await db(lambda: RoomEvent.objects.filter(room=room, type__startswith="staff").count())()
        == 0
    )
    for socket in (asker, classmate, instructor, elsewhere):
        await socket.close()


@pytest.mark.django_db(transaction=True)
async def test_a_private_question_over_the_socket_is_checked_like_over_rest(
    alice: Any, bob: Any
) -> None:
    public = await db(factories.make_room)(alice, name="Lounge", members=[bob])
    socket = await open_room(bob, public)

    await socket.send({"type": "staff_question.ask", "content": "Hello?"})
    not_course = await socket.receive_type("error")
    await socket.send({"type": "staff_question.ask", "content": "   "})
    blank = await socket.receive_type("error")
    await socket.send({"type": "staff_question.ask"})
    missing = await socket.receive_type("error")

    assert not_course["code"] == "validation_error"  # as over REST: only course rooms
    assert blank["code"] == "validation_error"
    assert missing["code"] == "bad_request"
    assert await db(StaffQuestion.objects.count)() == 0
    await socket.close()


# --- admin -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_lists_private_questions_read_only_for_staff(
    client: Any, stella: Any, asked: StaffQuestion, ines: Any
) -> None:
    from django.contrib.auth.models import Permission
    from django.urls import reverse

    url = reverse("admin:chat_staffquestion_changelist")
    client.force_login(ines)  # an instructor, not is_staff: the admin is closed to them
    assert client.get(url).status_code == 302

    stella.user_permissions.add(Permission.objects.get(codename="view_staffquestion"))
    client.force_login(stella)
    listed = client.get(url)
    change = client.get(reverse("admin:chat_staffquestion_change", args=[asked.pk]))
    added = client.get(reverse("admin:chat_staffquestion_add"))

    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 1
    assert "Could I get an extension" in listed.content.decode()
    assert change.status_code == 200
    assert b'name="answer"' not in change.content  # read-only: no form fields
    assert added.status_code == 403
