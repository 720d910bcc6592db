"""Questions and endorsed answers: posting and marking questions, endorsing a reply,
withdrawing, the questions view; over the services, REST and the room socket, for
every persona."""

from __future__ import annotations

from typing import Any

import pytest

from chat import errors, services
from chat.models import ChatMessage, ChatParticipant, RoomEvent
from chat.tests import factories
from chat.tests.api_support import assert_message_shape, client_for
from chat.tests.ws import db, open_room, socket_settings  # noqa: F401


@pytest.fixture
def room(course: Any) -> Any:
    return factories.course_room(course)


@pytest.fixture
def thread(room: Any, alice: Any, bob: Any, ines: Any) -> dict[str, ChatMessage]:
    """alice's question, bob's reply and ines's reply to it."""
    question = factories.make_message(alice, room, "Is every square matrix invertible?")
    services.question_mark(actor=alice, message=question, is_question=True)
    return {
        "question": question,
        "bob": factories.make_message(bob, room, "Yes", reply_to=question.pk),
        "ines": factories.make_message(ines, room, "No: only if det ≠ 0.", reply_to=question.pk),
    }


def fresh(message: ChatMessage) -> ChatMessage:
    return ChatMessage.objects.get(pk=message.pk)


# --- services --------------------------------------------------------------------------------


def test_endorsing_a_reply_publishes_the_question_and_the_answer(
    captured_events: Any, room: Any, ines: Any, thread: dict[str, ChatMessage]
) -> None:
    captured_events.clear()

    services.answer_endorse(actor=ines, answer=thread["ines"])

    frames = captured_events.payloads(f"room.{room.pk}")
    assert [frame["type"] for frame in frames] == ["message.updated", "message.updated"]
    by_id = {frame["message"]["id"]: frame["message"] for frame in frames}
    assert by_id[thread["question"].pk]["endorsed_answer_id"] == thread["ines"].pk
    assert by_id[thread["question"].pk]["is_question"] is True
    assert by_id[thread["ines"].pk]["is_endorsed"] is True
    assert frames[1]["seq"] == frames[0]["seq"] + 1
    assert fresh(thread["question"]).endorsed_answer_id == thread["ines"].pk


def test_endorsing_another_reply_withdraws_the_first(
    captured_events: Any, room: Any, ines: Any, thread: dict[str, ChatMessage]
) -> None:
    services.answer_endorse(actor=ines, answer=thread["ines"])
    captured_events.clear()

    services.answer_endorse(actor=ines, answer=thread["bob"])

    updated = {f["message"]["id"]: f["message"] for f in captured_events.payloads()}
    assert set(updated) == {thread["question"].pk, thread["bob"].pk, thread["ines"].pk}
    assert updated[thread["ines"].pk]["is_endorsed"] is False
    assert updated[thread["bob"].pk]["is_endorsed"] is True
    assert updated[thread["question"].pk]["endorsed_answer_id"] == thread["bob"].pk
    assert not fresh(thread["ines"]).is_endorsed


def test_withdrawing_clears_both_sides_and_a_second_withdraw_publishes_nothing(
    captured_events: Any, ines: Any, thread: dict[str, ChatMessage]
) -> None:
    services.answer_endorse(actor=ines, answer=thread["ines"])
    captured_events.clear()

    services.answer_withdraw(actor=ines, answer=thread["ines"])
    services.answer_withdraw(actor=ines, answer=thread["ines"])

    assert captured_events.types() == ["message.updated", "message.updated"]
    assert fresh(thread["question"]).endorsed_answer_id is None
    assert not fresh(thread["ines"]).is_endorsed


def test_deleting_the_endorsed_answer_reopens_the_question(
    captured_events: Any, ines: Any, thread: dict[str, ChatMessage]
) -> None:
    services.answer_endorse(actor=ines, answer=thread["ines"])
    captured_events.clear()

    services.message_delete(actor=ines, message=thread["ines"])

    frames = captured_events.payloads()
    # The answer was a reply: its thread's count changes too.
    assert [f["type"] for f in frames] == ["message.deleted", "thread.updated", "message.updated"]
    assert frames[0]["message"]["is_endorsed"] is False
    assert frames[1]["message_id"] == thread["question"].pk
    assert frames[2]["message"]["endorsed_answer_id"] is None


def test_no_longer_a_question_withdraws_its_answer(
    alice: Any, ines: Any, thread: dict[str, ChatMessage]
) -> None:
    services.answer_endorse(actor=ines, answer=thread["ines"])

    services.question_mark(actor=alice, message=thread["question"], is_question=False)

    question = fresh(thread["question"])
    assert (question.is_question, question.endorsed_answer_id) == (False, None)
    assert not fresh(thread["ines"]).is_endorsed


def test_only_a_reply_to_a_question_can_be_endorsed(
    room: Any, alice: Any, bob: Any, ines: Any
) -> None:
    plain = factories.make_message(alice, room, "Lecture moved to B-204")
    reply = factories.make_message(bob, room, "thanks", reply_to=plain.pk)
    top = factories.make_message(bob, room, "no parent")

    for answer in (reply, top):
        with pytest.raises(errors.ValidationFailed):
            services.answer_endorse(actor=ines, answer=answer)


def test_a_room_without_moderators_takes_no_questions(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])
    ChatParticipant.objects.filter(room=room, user=alice).update(role="member")

    with pytest.raises(errors.ValidationFailed) as refused:
        services.message_send(actor=bob, room=room, content="why?", is_question=True)
    message = factories.make_message(bob, room, "why?")
    with pytest.raises(errors.ValidationFailed):
        services.question_mark(actor=bob, message=message, is_question=True)

    assert refused.value.fields == {"is_question": ["This room takes no questions."]}


def test_a_public_room_with_a_moderator_takes_questions(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])

    sent = services.message_send(actor=bob, room=room, content="why?", is_question=True)

    assert sent.message.is_question


# --- REST ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_posting_a_question_over_rest(room: Any, alice: Any) -> None:
    response = client_for(alice).post(
        "/chat/messages/",
        {"room": room.pk, "content": "What is a basis?", "is_question": True},
        format="json",
    )

    assert response.status_code == 201
    assert_message_shape(response.data)
    assert response.data["is_question"] is True
    assert response.data["endorsed_answer_id"] is None
    assert response.data["is_endorsed"] is False


@pytest.mark.django_db
def test_is_question_must_be_a_boolean(room: Any, alice: Any) -> None:
    response = client_for(alice).post(
        "/chat/messages/",
        {"room": room.pk, "content": "What?", "is_question": "perhaps"},
        format="json",
    )

    assert response.status_code == 400


# Personas of a course room: the question's author (alice), another student (bob),
# its instructor (ines), staff (stella), support staff (sam) and an outsider (charlie).
ENDORSE = {"alice": 403, "bob": 403, "ines": 200, "stella": 200, "sam": 404, "charlie": 404}
MARK = {"alice": 200, "bob": 403, "ines": 200, "stella": 200, "sam": 404, "charlie": 404}
QUESTIONS = {"alice": 200, "bob": 200, "ines": 200, "stella": 200, "sam": 404, "charlie": 404}


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(ENDORSE))
def test_who_may_endorse_over_rest(
    request: pytest.FixtureRequest, persona: str, thread: dict[str, ChatMessage], sam: Any
) -> None:
    client = client_for(request.getfixturevalue(persona))
    answer = thread["bob"].pk

    endorsed = client.post(f"/chat/messages/{answer}/endorse/")
    withdrawn = client.delete(f"/chat/messages/{answer}/endorse/")

    assert endorsed.status_code == ENDORSE[persona], endorsed.data
    assert withdrawn.status_code == (204 if ENDORSE[persona] == 200 else ENDORSE[persona])
    if endorsed.status_code == 200:
        assert endorsed.data["is_endorsed"] is True
        assert not fresh(thread["bob"]).is_endorsed  # withdrawn again


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(MARK))
def test_who_may_mark_a_question_over_rest(
    request: pytest.FixtureRequest, persona: str, room: Any, alice: Any, sam: Any
) -> None:
    message = factories.make_message(alice, room, "How do I invert it?")
    client = client_for(request.getfixturevalue(persona))

    marked = client.post(f"/chat/messages/{message.pk}/question/")
    unmarked = client.delete(f"/chat/messages/{message.pk}/question/")

    assert marked.status_code == MARK[persona]
    assert unmarked.status_code == MARK[persona]
    if marked.status_code == 200:
        assert (marked.data["is_question"], unmarked.data["is_question"]) == (True, False)


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["muted", "left"])
def test_a_sender_who_may_no_longer_post_may_not_mark_their_post_either(
    room: Any, alice: Any, ines: Any, change: str
) -> None:
    message = factories.make_message(alice, room, "How do I invert it?")
    if change == "muted":
        services.participant_update(actor=ines, room=room, user_id=alice.pk, is_muted=True)
    else:
        services.room_leave(actor=alice, room=room)

    marked = client_for(alice).post(f"/chat/messages/{message.pk}/question/")
    by_the_staff = client_for(ines).post(f"/chat/messages/{message.pk}/question/")

    assert marked.status_code == 403
    assert marked.data["code"] == ("muted" if change == "muted" else "forbidden")
    assert by_the_staff.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(QUESTIONS))
def test_who_sees_the_questions_view(
    request: pytest.FixtureRequest, persona: str, room: Any, sam: Any
) -> None:
    response = client_for(request.getfixturevalue(persona)).get(f"/chat/rooms/{room.pk}/questions/")

    assert response.status_code == QUESTIONS[persona]


@pytest.mark.django_db
def test_the_questions_view_filters_open_and_answered(
    room: Any, alice: Any, bob: Any, ines: Any, thread: dict[str, ChatMessage]
) -> None:
    other = factories.make_message(bob, room, "Why a determinant?", is_question=True)
    factories.make_message(bob, room, "Not a question")
    services.answer_endorse(actor=ines, answer=thread["ines"])
    client = client_for(alice)

    everything = client.get(f"/chat/rooms/{room.pk}/questions/").data
    open_ = client.get(f"/chat/rooms/{room.pk}/questions/", {"status": "open"}).data
    answered = client.get(f"/chat/rooms/{room.pk}/questions/", {"status": "answered"}).data

    assert [item["question"]["id"] for item in everything["results"]] == [
        other.pk,
        thread["question"].pk,
    ]
    assert [item["question"]["id"] for item in open_["results"]] == [other.pk]
    assert open_["results"][0]["answer"] is None
    (item,) = answered["results"]
    assert item["question"]["id"] == thread["question"].pk
    assert item["answer"]["id"] == thread["ines"].pk
    assert item["answer"]["content"] == "No: only if det ≠ 0."
    assert client.get(f"/chat/rooms/{room.pk}/questions/", {"status": "x"}).status_code == 400


@pytest.mark.django_db
def test_the_questions_view_costs_constant_queries(
    django_assert_max_num_queries: Any, room: Any, alice: Any, bob: Any, ines: Any
) -> None:
    for number in range(5):
        question = factories.make_message(alice, room, f"q{number}", is_question=True)
        answer = factories.make_message(bob, room, f"a{number}", reply_to=question.pk)
        services.answer_endorse(actor=ines, answer=answer)
    client = client_for(alice)

    with django_assert_max_num_queries(14):
        response = client.get(f"/chat/rooms/{room.pk}/questions/")

    assert response.data["count"] == 5


# --- socket ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_endorsing_over_the_socket_reaches_the_room_and_a_replay(
    room: Any, alice: Any, ines: Any, thread: dict[str, ChatMessage]
) -> None:
    before = await db(lambda: RoomEvent.objects.filter(room=room).count())()
    student = await open_room(alice, room)
    instructor = await open_room(ines, room)

    await instructor.send({"type": "answer.endorse", "message_id": thread["ines"].pk})
    first = await student.receive_type("message.updated")
    second = await student.receive_type("message.updated")
    replay = await open_room(alice, room, after_seq=before)
    replayed = [await replay.receive_type("message.updated") for _ in range(2)]

    assert {first["message"]["id"], second["message"]["id"]} == {
        thread["question"].pk,
        thread["ines"].pk,
    }
    assert second["seq"] == first["seq"] + 1
    assert replayed == [first, second]
    for socket in (student, instructor, replay):
        await socket.close()


@pytest.mark.django_db(transaction=True)
async def test_a_student_may_not_endorse_over_the_socket(
    room: Any, bob: Any, thread: dict[str, ChatMessage]
) -> None:
    socket = await open_room(bob, room)

    await socket.send({"type": "answer.endorse", "message_id": thread["bob"].pk})
    error = await socket.receive_type("error")

    assert (error["code"], error["ref"]) == ("forbidden", "answer.endorse")
    assert await socket.no_more_events()
    await socket.close()


@pytest.mark.django_db(transaction=True)
async def test_a_question_sent_over_the_socket_and_marked_off_again(room: Any, alice: Any) -> None:
    socket = await open_room(alice, room)

    await socket.send(
        {"type": "message.send", "client_id": "q-1", "content": "Eigen?", "is_question": True}
    )
    created = (await socket.receive_type("message.created"))["message"]
    await socket.send({"type": "question.mark", "message_id": created["id"], "is_question": False})
    updated = (await socket.receive_type("message.updated"))["message"]

    assert (created["is_question"], updated["is_question"]) == (True, False)
    await socket.close()


# --- admin -----------------------------------------------------------------------------------


def test_the_admin_endorse_action_goes_through_the_service(
    client: Any, captured_events: Any, stella: Any, thread: dict[str, ChatMessage]
) -> None:
    from django.contrib.auth.models import Permission
    from django.urls import reverse

    stella.user_permissions.add(Permission.objects.get(codename="view_chatmessage"))
    client.force_login(stella)
    captured_events.clear()
    url = reverse("admin:chat_chatmessage_changelist")

    client.post(url, {"action": "endorse", "_selected_action": [thread["ines"].pk]})
    refused = client.post(
        url, {"action": "endorse", "_selected_action": [thread["question"].pk]}, follow=True
    )

    assert fresh(thread["question"]).endorsed_answer_id == thread["ines"].pk
    assert captured_events.types() == ["message.updated", "message.updated"]
    assert f"Message #{thread['question'].pk} was not changed" in refused.content.decode()
    filtered = client.get(url, {"is_endorsed__exact": "1"})
    assert filtered.status_code == 200
    assert filtered.context["cl"].result_count == 1
