"""System messages: every membership and room change writes one, carried in its event."""

from __future__ import annotations

from typing import Any

import pytest

from chat import errors, services
from chat.models import ChatMessage, ChatRoom, RoomEvent
from chat.tests import factories
from chat.tests.api_support import client_for
from courses import services as course_services


def last_event(room: ChatRoom) -> RoomEvent:
    return RoomEvent.objects.filter(room=room).latest("seq")


def assert_system_event(
    captured: Any, room: ChatRoom, event_type: str, *, actor: Any, content: str, action: str
) -> dict[str, Any]:
    """The change published exactly one event, and it carries the system message."""
    published = captured.payloads(f"room.{room.pk}")
    assert [p["type"] for p in published] == [event_type]
    event = published[0]
    assert event == last_event(room).payload
    message = event["message"]
    assert message["message_type"] == "system"
    assert message["sender"]["id"] == actor.pk
    assert message["content"] == content
    assert event["details"]["action"] == action
    stored = ChatMessage.objects.get(pk=message["id"])
    assert stored.message_type == ChatMessage.MessageType.SYSTEM
    assert stored.room_id == room.pk
    return event


def test_creating_a_room_writes_a_created_message(alice: Any, captured_events: Any) -> None:
    room = services.room_create(actor=alice, name="Lounge", chat_type="public")
    event = assert_system_event(
        captured_events,
        room,
        "participant.joined",
        actor=alice,
        content="Alice created the room.",
        action="created",
    )
    assert event["participant"]["role"] == "admin"
    assert event["seq"] == 1


def test_join_and_leave_write_system_messages(alice: Any, bob: Any, captured_events: Any) -> None:
    room = factories.make_room(alice, chat_type="public")
    captured_events.clear()
    services.room_join(actor=bob, room=room)
    event = assert_system_event(
        captured_events,
        room,
        "participant.joined",
        actor=bob,
        content="Bob joined the room.",
        action="joined",
    )
    assert event["participant"]["user"]["username"] == "bob"

    captured_events.clear()
    services.room_leave(actor=bob, room=room)
    event = assert_system_event(
        captured_events,
        room,
        "participant.left",
        actor=bob,
        content="Bob left the room.",
        action="left",
    )
    assert event["participant"]["is_active"] is False


def test_invite_role_change_mute_and_removal_write_system_messages(
    alice: Any, bob: Any, captured_events: Any
) -> None:
    room = factories.make_room(alice, chat_type="private")
    captured_events.clear()
    services.participant_invite(actor=alice, room=room, user=bob)
    assert_system_event(
        captured_events,
        room,
        "participant.joined",
        actor=alice,
        content="Alice added Bob.",
        action="invited",
    )

    captured_events.clear()
    services.participant_update(actor=alice, room=room, user_id=bob.pk, role="moderator")
    event = assert_system_event(
        captured_events,
        room,
        "participant.updated",
        actor=alice,
        content="Alice made Bob a moderator.",
        action="updated",
    )
    assert event["details"]["changes"] == {"role": "moderator"}

    captured_events.clear()
    services.participant_update(actor=alice, room=room, user_id=bob.pk, is_muted=True)
    event = assert_system_event(
        captured_events,
        room,
        "participant.updated",
        actor=alice,
        content="Alice muted Bob.",
        action="updated",
    )
    assert event["participant"]["is_muted"] is True

    captured_events.clear()
    services.participant_remove(actor=alice, room=room, user_id=bob.pk)
    assert_system_event(
        captured_events,
        room,
        "participant.left",
        actor=alice,
        content="Alice removed Bob.",
        action="removed",
    )
    controls = [item.message for item in captured_events if item.group == f"user.{bob.pk}"]
    assert {"type": "user.control", "action": "room.revoked", "room_id": room.pk} in controls


def test_rename_update_and_archive_write_system_messages(alice: Any, captured_events: Any) -> None:
    room = factories.make_room(alice, chat_type="public", name="Old name")
    captured_events.clear()
    services.room_update(actor=alice, room=room, name="New name")
    event = assert_system_event(
        captured_events,
        room,
        "room.updated",
        actor=alice,
        content="Alice renamed the room to “New name”.",
        action="updated",
    )
    assert event["room"]["name"] == "New name"
    assert event["room"]["last_seq"] == event["seq"]
    assert event["room"]["my_role"] is None

    captured_events.clear()
    services.room_update(actor=alice, room=room, description="About things")
    assert_system_event(
        captured_events,
        room,
        "room.updated",
        actor=alice,
        content="Alice updated the room's description.",
        action="updated",
    )

    captured_events.clear()
    services.room_archive(actor=alice, room=room)
    event = assert_system_event(
        captured_events,
        room,
        "room.updated",
        actor=alice,
        content="Alice archived the room.",
        action="archived",
    )
    assert event["room"]["is_active"] is False


def test_enrolment_and_its_end_write_system_messages(
    stella: Any, alice: Any, captured_events: Any
) -> None:
    course = factories.make_course(stella)
    room = factories.course_room(course)
    captured_events.clear()
    course_services.enrollment_create(actor=stella, course=course, user=alice, role="student")
    assert_system_event(
        captured_events,
        room,
        "participant.joined",
        actor=stella,
        content="Alice joined the course.",
        action="enrolled",
    )

    captured_events.clear()
    course_services.enrollment_end(actor=stella, course=course, user=alice)
    assert_system_event(
        captured_events,
        room,
        "participant.left",
        actor=stella,
        content="Alice left the course.",
        action="unenrolled",
    )


def test_staff_alert_reaches_one_room_or_every_active_room(
    stella: Any, alice: Any, captured_events: Any
) -> None:
    first = factories.make_room(alice, chat_type="public", name="First")
    second = factories.make_room(alice, chat_type="private", name="Second")
    archived = factories.make_room(alice, chat_type="public", name="Archived")
    services.room_archive(actor=alice, room=archived)
    captured_events.clear()

    services.system_alert(actor=stella, content="Maintenance at 18:00", room=first)
    assert captured_events.types(f"room.{first.pk}") == ["message.created"]
    assert captured_events.types(f"room.{second.pk}") == []

    captured_events.clear()
    sent = services.system_alert(actor=stella, content="Maintenance now")
    assert {m.room_id for m in sent} == {first.pk, second.pk}
    for room in (first, second):
        [event] = captured_events.payloads(f"room.{room.pk}")
        assert event["message"]["message_type"] == "system"
        assert event["message"]["content"] == "Maintenance now"
        assert event["details"] == {"action": "alert"}
    assert captured_events.payloads(f"room.{archived.pk}") == []


@pytest.mark.django_db
def test_members_may_not_post_system_alerts(alice: Any) -> None:
    room = factories.make_room(alice, chat_type="public")
    with pytest.raises(errors.Forbidden):
        services.system_alert(actor=alice, content="Free pizza", room=room)
    assert not ChatMessage.objects.filter(content="Free pizza").exists()


def test_opening_a_course_room_writes_a_system_message(stella: Any, captured_events: Any) -> None:
    course = course_services.course_create(actor=stella, title="Physics", code="PHY1")
    room = factories.course_room(course)
    event = assert_system_event(
        captured_events,
        room,
        "room.updated",
        actor=stella,
        content="Course room of PHY1 opened.",
        action="created",
    )
    assert event["seq"] == event["room"]["last_seq"] == 1
    assert event["room"]["course"] == course.pk


def test_a_system_message_cannot_be_edited_even_by_the_one_it_is_about(alice: Any) -> None:
    room = factories.make_room(alice)
    created = ChatMessage.objects.get(room=room, message_type="system")  # "Alice created…"

    with pytest.raises(errors.Forbidden) as refused:
        services.message_edit(actor=alice, message=created, content="Rewritten")

    assert str(refused.value.detail) == "A system message cannot be edited."
    assert ChatMessage.objects.get(pk=created.pk).content == "Alice created the room."


@pytest.mark.django_db
def test_a_site_wide_alert_counts_the_rooms_the_sender_may_not_see_and_names_none(
    stella: Any, alice: Any
) -> None:
    public = factories.make_room(alice, chat_type="public", name="Open")
    hidden = factories.make_room(alice, chat_type="private", name="Hidden")

    response = client_for(stella).post("/chat/alerts/", {"content": "Down at 6"}, format="json")

    assert response.status_code == 201
    assert response.data["room_count"] == 2
    assert [m["room_id"] for m in response.data["messages"]] == [public.pk]
    assert ChatMessage.objects.filter(room=hidden, content="Down at 6").exists()
