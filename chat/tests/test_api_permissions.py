"""Who may do what, from one table: room type, persona and action, over REST.

Personas per room: its ``admin`` (creator), a ``moderator``, a ``member``, an
``outsider`` with no part in it, ``staff`` (is_staff) and ``support`` (the
support group), neither of them participants. A room a persona may not see
answers 404 for every action, never 403.
"""

from __future__ import annotations

from typing import Any

import pytest

from chat import services
from chat.models import ChatMessage, ChatRoom
from chat.tests import factories
from chat.tests.api_support import client_for
from courses import services as course_services

ROOM_TYPES = ["public", "private", "course", "support"]
PERSONAS = ["outsider", "member", "moderator", "admin", "staff", "support"]
ACTIONS = ["see", "history", "post", "join", "moderate"]
PARTICIPANTS = {"member", "moderator", "admin"}
MODERATORS = {"moderator", "admin"}

# Who sees each type of room: the table every other answer follows from.
VISIBLE = {
    "public": set(PERSONAS),
    "private": PARTICIPANTS,
    "course": PARTICIPANTS | {"staff"},
    "support": PARTICIPANTS | {"staff", "support"},
}


def expected_status(room_type: str, persona: str, action: str) -> int:
    if persona not in VISIBLE[room_type]:
        return 404
    if action in {"see", "history"}:
        return 200
    if action == "post":
        return 201 if persona in PARTICIPANTS else 403
    if action == "join":
        return 200 if persona in PARTICIPANTS else 201
    return 200 if persona in MODERATORS else 403


def build_room(room_type: str) -> tuple[ChatRoom, dict[str, Any]]:
    people = {
        "admin": factories.make_user("adam"),
        "moderator": factories.make_user("mona"),
        "member": factories.make_user("mel"),
        "outsider": factories.make_user("otto"),
        "staff": factories.make_user("stan", is_staff=True),
        "support": factories.make_support_user("suzy"),
    }
    if room_type == "course":
        course = factories.make_course(people["staff"], instructors=[people["admin"]])
        room = services.room_create(
            actor=people["admin"], name="Lab", chat_type="course", course=course
        )
        course_services.enrollment_create(
            actor=people["staff"], course=course, user=people["moderator"], role="instructor"
        )
        course_services.enrollment_create(
            actor=people["staff"], course=course, user=people["member"], role="student"
        )
    else:
        room = factories.make_room(
            people["admin"],
            chat_type=room_type,
            members=[people["member"]],
            moderators=[people["moderator"]],
        )
    return room, people


def perform(action: str, client: Any, room: ChatRoom) -> Any:
    if action == "see":
        return client.get(f"/chat/rooms/{room.pk}/")
    if action == "history":
        return client.get(f"/chat/rooms/{room.pk}/messages/")
    if action == "post":
        return client.post("/chat/messages/", {"room": room.pk, "content": "hi"}, format="json")
    if action == "join":
        return client.post(f"/chat/rooms/{room.pk}/join/")
    return client.patch(f"/chat/rooms/{room.pk}/", {"description": "changed"}, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("room_type", ROOM_TYPES)
def test_permission_matrix(room_type: str, persona: str, action: str) -> None:
    room, people = build_room(room_type)

    response = perform(action, client_for(people[persona]), room)

    assert response.status_code == expected_status(room_type, persona, action), response.data
    if response.status_code == 404:
        assert response.data["code"] == "not_found"


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["outsider", "staff", "support"])
def test_outsider_of_a_private_room_gets_404_everywhere(persona: str) -> None:
    room, people = build_room("private")
    message = factories.make_message(people["admin"], room)
    client = client_for(people[persona])

    answers = [
        client.get(f"/chat/rooms/{room.pk}/").status_code,
        client.get(f"/chat/rooms/{room.pk}/messages/").status_code,
        client.get(f"/chat/rooms/{room.pk}/participants/").status_code,
        client.post(f"/chat/rooms/{room.pk}/join/").status_code,
        client.post(f"/chat/rooms/{room.pk}/leave/").status_code,
        client.delete(f"/chat/rooms/{room.pk}/").status_code,
        client.post(f"/chat/rooms/{room.pk}/read/", {"message_id": message.pk}).status_code,
        client.get(f"/chat/messages/{message.pk}/").status_code,
        client.patch(f"/chat/messages/{message.pk}/", {"content": "x"}).status_code,
        client.delete(f"/chat/messages/{message.pk}/").status_code,
        client.post(f"/chat/messages/{message.pk}/react/", {"emoji": "👍"}).status_code,
        client.get(f"/chat/messages/{message.pk}/reactions/").status_code,
        client.post(f"/chat/messages/{message.pk}/reply/", {"content": "x"}).status_code,
        client.get(f"/chat/messages/{message.pk}/file/").status_code,
        client.get("/chat/presence/online/", {"room": room.pk}).status_code,
        client.get("/chat/presence/typing/", {"room": room.pk}).status_code,
    ]

    assert set(answers) == {404}
    assert client.get("/chat/messages/", {"room": room.pk}).data["count"] == 0


@pytest.mark.django_db
def test_instructor_moderates_the_course_room_without_a_moderator_role(
    course: Any, ines: Any, alice: Any
) -> None:
    room = factories.course_room(course)
    message = factories.make_message(alice, room, "student post")
    ChatMessage.objects.filter(pk=message.pk).update(created_at="2000-01-01T00:00:00Z")

    response = client_for(ines).delete(f"/chat/messages/{message.pk}/")

    assert response.status_code == 204
