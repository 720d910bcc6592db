"""Slow mode: a member waits the room's ``slow_mode_seconds`` between messages, over
REST and the socket alike (``slow_mode``, 429, ``retry_after``); moderators,
admins, the course's instructors and staff are exempt."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from chat import errors, services
from chat.models import AuditEntry, ChatMessage
from chat.services.sending import SendRequest, message_send_many
from chat.tests import factories
from chat.tests.api_support import client_for
from chat.tests.test_api_messages import png_bytes
from chat.tests.ws import db, open_room, socket_settings  # noqa: F401


def slow_room(owner: Any, *, seconds: int = 30, **kwargs: Any) -> Any:
    room = factories.make_room(owner, **kwargs)
    return services.room_update(actor=owner, room=room, slow_mode_seconds=seconds)


def post(user: Any, room: Any, content: str = "hi", **extra: Any) -> Any:
    body = {"room": room.pk, "content": content, **extra}
    return client_for(user).post("/chat/messages/", body, format="json")


def age_messages(room: Any, seconds: int) -> None:
    """As if every message of the room had been sent ``seconds`` earlier."""
    for message in ChatMessage.objects.filter(room=room):
        ChatMessage.objects.filter(pk=message.pk).update(
            created_at=message.created_at - timedelta(seconds=seconds)
        )


@pytest.mark.django_db
def test_a_moderator_turns_slow_mode_on_over_rest(
    alice: Any, bob: Any, captured_events: Any
) -> None:
    room = factories.make_room(alice, members=[bob])
    captured_events.clear()

    response = client_for(alice).patch(
        f"/chat/rooms/{room.pk}/", {"slow_mode_seconds": 30}, format="json"
    )

    assert response.status_code == 200
    assert response.data["slow_mode_seconds"] == 30
    [event] = captured_events.payloads(f"room.{room.pk}")
    assert event["type"] == "room.updated"
    assert event["room"]["slow_mode_seconds"] == 30
    assert event["details"] == {"action": "updated", "changes": {"slow_mode_seconds": 30}}
    assert event["message"]["content"] == "Alice set slow mode to 30 seconds."
    entry = AuditEntry.objects.get(room=room)
    assert (entry.action, entry.details) == ("room_update", {"changes": {"slow_mode_seconds": 30}})


@pytest.mark.django_db
@pytest.mark.parametrize("value", [-1, 6 * 3600 + 1, "often", None])
def test_slow_mode_out_of_range_is_refused(alice: Any, value: Any) -> None:
    room = factories.make_room(alice)

    response = client_for(alice).patch(
        f"/chat/rooms/{room.pk}/", {"slow_mode_seconds": value}, format="json"
    )

    assert response.status_code == 400
    assert "slow_mode_seconds" in response.data


@pytest.mark.django_db
def test_a_member_may_not_change_slow_mode(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])

    response = client_for(bob).patch(
        f"/chat/rooms/{room.pk}/", {"slow_mode_seconds": 30}, format="json"
    )

    assert response.status_code == 403
    room.refresh_from_db()
    assert room.slow_mode_seconds == 0


@pytest.mark.django_db
def test_a_members_second_message_within_the_window_is_refused_with_retry_after(
    alice: Any, bob: Any
) -> None:
    room = slow_room(alice, members=[bob])

    first = post(bob, room, "one")
    second = post(bob, room, "two")

    assert first.status_code == 201
    assert second.status_code == 429
    assert second.data["code"] == "slow_mode"
    assert 1 <= second.data["retry_after"] <= 30
    assert second["Retry-After"] == str(second.data["retry_after"])
    assert ChatMessage.objects.filter(room=room, sender=bob).count() == 1


@pytest.mark.django_db
def test_once_the_window_has_passed_the_member_may_send_again(alice: Any, bob: Any) -> None:
    room = slow_room(alice, members=[bob])
    assert post(bob, room, "one").status_code == 201

    age_messages(room, 31)

    assert post(bob, room, "two").status_code == 201


@pytest.mark.django_db
def test_slow_mode_off_lets_members_send_freely(alice: Any, bob: Any) -> None:
    room = slow_room(alice, members=[bob])
    services.room_update(actor=alice, room=room, slow_mode_seconds=0)

    assert [post(bob, room, text).status_code for text in ("a", "b", "c")] == [201, 201, 201]


@pytest.mark.django_db
def test_a_poll_is_held_back_as_a_message_is(alice: Any, bob: Any) -> None:
    room = slow_room(alice, members=[bob])
    poll = {"room": room.pk, "question": "Lunch?", "options": ["yes", "no"]}

    first = client_for(bob).post("/chat/polls/", poll, format="json")
    second = client_for(bob).post("/chat/polls/", poll, format="json")
    text = post(bob, room, "and a message")
    by_the_admin = client_for(alice).post("/chat/polls/", poll, format="json")

    assert first.status_code == 201
    assert (second.status_code, second.data["code"]) == (429, "slow_mode")
    assert 0 < second.data["retry_after"] <= 30
    assert (text.status_code, text.data["code"]) == (429, "slow_mode")
    assert by_the_admin.status_code == 201
    assert ChatMessage.objects.filter(sender=bob).count() == 1


@pytest.mark.django_db
def test_a_resent_client_id_is_answered_not_refused(alice: Any, bob: Any) -> None:
    room = slow_room(alice, members=[bob])

    first = post(bob, room, "one", client_id="c-1")
    again = post(bob, room, "one", client_id="c-1")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.data["id"] == first.data["id"]


@pytest.mark.django_db
def test_a_batch_holds_back_a_members_second_message(alice: Any, bob: Any) -> None:
    room = slow_room(alice, members=[bob])

    outcomes = message_send_many(
        room=room,
        requests=[
            SendRequest(actor=bob, content="one", client_id="b-1"),
            SendRequest(actor=alice, content="admin"),
            SendRequest(actor=bob, content="two", client_id="b-2"),
            SendRequest(actor=bob, content="two", client_id="b-2"),
            SendRequest(actor=alice, content="admin again"),
        ],
    )

    assert [type(o).__name__ for o in outcomes] == [
        "SendResult",
        "SendResult",
        "SlowMode",
        "SlowMode",
        "SendResult",
    ]


@pytest.mark.django_db
def test_an_upload_counts_like_a_text_message(
    alice: Any, bob: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    room = slow_room(alice, members=[bob])
    factories.make_message(bob, room, "text first")

    image = SimpleUploadedFile("graph.png", png_bytes(), content_type="image/png")
    with pytest.raises(errors.SlowMode):
        services.message_send(actor=bob, room=room, upload=image)


# --- who is held back -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "held"),
    [("member", True), ("moderator", False), ("admin", False), ("staff", False), ("support", True)],
)
def test_who_slow_mode_holds_back_in_a_public_room(persona: str, held: bool) -> None:
    people = {
        "admin": factories.make_user("adam"),
        "moderator": factories.make_user("mona"),
        "member": factories.make_user("mel"),
        "staff": factories.make_user("stan", is_staff=True),
        "support": factories.make_support_user("suzy"),
    }
    room = factories.make_room(
        people["admin"],
        members=[people["member"], people["staff"], people["support"]],
        moderators=[people["moderator"]],
    )
    room = services.room_update(actor=people["admin"], room=room, slow_mode_seconds=60)

    codes = [post(people[persona], room, text).status_code for text in ("one", "two")]

    assert codes == ([201, 429] if held else [201, 201])


@pytest.mark.django_db
def test_in_a_course_room_students_are_held_and_instructors_are_not(
    course: Any, ines: Any, alice: Any
) -> None:
    room = factories.course_room(course)
    services.room_update(actor=ines, room=room, slow_mode_seconds=60)

    student = [post(alice, room, text).status_code for text in ("one", "two")]
    instructor = [post(ines, room, text).status_code for text in ("one", "two")]

    assert student == [201, 429]
    assert instructor == [201, 201]


# --- over the socket ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_over_the_socket_the_second_message_gets_a_slow_mode_error(
    alice: Any, bob: Any
) -> None:
    room = await db(lambda: slow_room(alice, members=[bob]))()
    socket = await open_room(bob, room)

    await socket.send({"type": "message.send", "client_id": "s-1", "content": "one"})
    created = await socket.receive_type("message.created")
    await socket.send({"type": "message.send", "client_id": "s-2", "content": "two"})
    error = await socket.receive_type("error")

    assert created["message"]["client_id"] == "s-1"
    assert error["code"] == "slow_mode"
    assert error["ref"] == "s-2"
    assert 1 <= error["retry_after"] <= 30
    assert socket.ready["room"]["slow_mode_seconds"] == 30
    assert await socket.no_more_events()
    await socket.close()


@pytest.mark.django_db
def test_the_admin_room_form_sets_slow_mode_through_the_service(
    admin_client: Any, alice: Any
) -> None:
    room = factories.make_room(alice, name="Lobby")
    url = reverse("admin:chat_chatroom_change", args=[room.pk])
    body = {"name": "Lobby", "description": "", "max_participants": 100}

    inline = {"participants-TOTAL_FORMS": 1, "participants-INITIAL_FORMS": 1}

    response = admin_client.post(url, {**body, "slow_mode_seconds": 45, **inline})

    assert response.status_code == 302
    room.refresh_from_db()
    assert room.slow_mode_seconds == 45
    entry = AuditEntry.objects.get(room=room)
    assert (entry.action, entry.via) == ("room_update", "admin")
