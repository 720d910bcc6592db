"""The moderation audit log: each moderation action leaves one entry naming who, what,
whom and through which channel (REST, socket, admin); its moderators and staff
read it newest first; pruning the event log leaves it alone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chat import errors, services
from chat.models import AuditEntry, ChatParticipant, RoomEvent
from chat.services import audit
from chat.tests import factories
from chat.tests.api_support import client_for
from chat.tests.test_api_permissions import PERSONAS, ROOM_TYPES, VISIBLE, build_room
from chat.tests.ws import db, open_room, socket_settings  # noqa: F401


def entries(room: Any) -> list[tuple[str, str | None, str | None, str]]:
    return [
        (
            entry.action,
            entry.actor.username if entry.actor else None,
            entry.target_user.username if entry.target_user else None,
            entry.via,
        )
        for entry in AuditEntry.objects.filter(room=room).order_by("id")
    ]


@pytest.mark.django_db
def test_each_moderation_action_of_the_services_is_recorded_once(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])
    message = factories.make_message(bob, room, "spam spam")
    own = factories.make_message(alice, room, "mine")

    services.participant_update(actor=alice, room=room, user_id=bob.pk, is_muted=True)
    services.participant_update(actor=alice, room=room, user_id=bob.pk, is_muted=False)
    services.participant_update(actor=alice, room=room, user_id=bob.pk, role="moderator")
    services.message_delete(actor=alice, message=message)
    services.message_delete(actor=alice, message=own)  # one's own: not moderation
    services.room_update(actor=alice, room=room, description="Rules: be kind")
    services.participant_remove(actor=alice, room=room, user_id=bob.pk)
    services.room_archive(actor=alice, room=room)

    assert entries(room) == [
        ("mute", "alice", "bob", "system"),
        ("unmute", "alice", "bob", "system"),
        ("role_change", "alice", "bob", "system"),
        ("hide", "alice", "bob", "system"),
        ("room_update", "alice", None, "system"),
        ("remove", "alice", "bob", "system"),
        ("archive", "alice", None, "system"),
    ]
    by_action = {entry.action: entry for entry in AuditEntry.objects.filter(room=room)}
    assert by_action["role_change"].details == {"changes": {"role": "moderator"}}
    assert by_action["room_update"].details == {"changes": {"description": "Rules: be kind"}}
    assert by_action["hide"].message_id == message.pk


@pytest.mark.django_db
def test_enrolment_that_grants_or_takes_moderation_is_a_recorded_role_change(
    stella: Any, alice: Any, bob: Any
) -> None:
    from courses import services as course_services

    course = factories.make_course(stella, students=[bob])
    room = factories.course_room(course)
    course_services.enrollment_create(actor=stella, course=course, user=alice, role="instructor")
    course_services.enrollment_create(actor=stella, course=course, user=alice, role="student")
    course_services.enrollment_create(actor=stella, course=course, user=bob, role="student")

    changes = AuditEntry.objects.filter(room=room, action="role_change").order_by("id")
    assert [(str(e.actor), str(e.target_user), e.details) for e in changes] == [
        ("stella", "alice", {"changes": {"role": "moderator"}, "by": "enrolment"}),
        ("stella", "alice", {"changes": {"role": "member"}, "by": "enrolment"}),
    ]


@pytest.mark.django_db
def test_a_refused_or_empty_action_records_nothing(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])

    with pytest.raises(errors.Forbidden):
        services.participant_update(actor=bob, room=room, user_id=alice.pk, is_muted=True)
    services.participant_update(actor=alice, room=room, user_id=bob.pk, is_muted=False)
    services.room_update(actor=alice, room=room, name=room.name)

    assert entries(room) == []


@pytest.mark.django_db
def test_the_channel_is_the_one_set_around_the_call(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])

    with audit.via(audit.Via.ADMIN):
        services.participant_update(actor=alice, room=room, user_id=bob.pk, is_muted=True)
    services.participant_update(actor=alice, room=room, user_id=bob.pk, is_muted=False)

    assert [entry[3] for entry in entries(room)] == ["admin", "system"]
    assert audit.current_channel() == "system"


@pytest.mark.django_db
def test_an_action_over_rest_is_recorded_as_rest(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])

    response = client_for(alice).patch(
        f"/chat/rooms/{room.pk}/participants/{bob.pk}/", {"is_muted": True}, format="json"
    )

    assert response.status_code == 200
    assert entries(room) == [("mute", "alice", "bob", "rest")]


@pytest.mark.django_db(transaction=True)
async def test_a_moderators_delete_over_the_socket_is_recorded_as_socket(
    alice: Any, bob: Any
) -> None:
    room = await db(lambda: factories.make_room(alice, members=[bob]))()
    message = await db(lambda: factories.make_message(bob, room, "off topic"))()
    socket = await open_room(alice, room)

    await socket.send({"type": "message.delete", "message_id": message.pk})
    await socket.receive_type("message.deleted")
    await socket.close()

    assert await db(lambda: entries(room))() == [("hide", "alice", "bob", "socket")]


@pytest.mark.django_db
def test_an_admin_action_is_recorded_as_admin(admin_client: Client, alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])
    participant = ChatParticipant.objects.get(room=room, user=bob)

    admin_client.post(
        reverse("admin:chat_chatparticipant_changelist"),
        {"action": "mute", "_selected_action": [participant.pk]},
    )

    assert entries(room) == [("mute", "admin", "bob", "admin")]


@pytest.mark.django_db
def test_the_admin_lists_the_log_read_only_with_filters(
    admin_client: Client, alice: Any, bob: Any
) -> None:
    room = factories.make_room(alice, members=[bob])
    services.participant_update(actor=alice, room=room, user_id=bob.pk, is_muted=True)
    entry = AuditEntry.objects.get()
    url = reverse("admin:chat_auditentry_changelist")

    listed = admin_client.get(url, {"action": "mute", "via": "system"})
    filtered_out = admin_client.get(url, {"action": "ban"})
    change = admin_client.post(reverse("admin:chat_auditentry_change", args=[entry.pk]), {})

    assert listed.status_code == 200
    assert "alice" in listed.content.decode()
    assert "0 audit entries" in filtered_out.content.decode()
    assert change.status_code == 403
    assert admin_client.get(reverse("admin:chat_auditentry_add")).status_code == 403


@pytest.mark.django_db
def test_the_log_is_served_newest_first_in_pages(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])
    for muted in (True, False, True):
        services.participant_update(actor=alice, room=room, user_id=bob.pk, is_muted=muted)

    first = client_for(alice).get(f"/chat/rooms/{room.pk}/audit/", {"page_size": 2})
    second = client_for(alice).get(first.data["next"])

    assert first.status_code == 200
    assert first.data["count"] == 3
    assert [item["action"] for item in first.data["results"]] == ["mute", "unmute"]
    assert [item["action"] for item in second.data["results"]] == ["mute"]
    newest = first.data["results"][0]
    assert newest["actor"]["username"] == "alice"
    assert newest["target_user"]["username"] == "bob"
    assert newest["room_id"] == room.pk
    assert newest["via"] == "system"
    assert newest["message_id"] is None
    assert newest["details"] == {}


@pytest.mark.django_db
def test_the_log_costs_constant_queries(
    alice: Any, bob: Any, django_assert_max_num_queries: Any
) -> None:
    room = factories.make_room(alice, members=[bob])
    for muted in (True, False) * 10:
        services.participant_update(actor=alice, room=room, user_id=bob.pk, is_muted=muted)
    client = client_for(alice)

    with django_assert_max_num_queries(8):
        response = client.get(f"/chat/rooms/{room.pk}/audit/")

    assert len(response.data["results"]) == 20


@pytest.mark.django_db
def test_pruning_the_event_log_keeps_the_audit_log(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])
    services.participant_update(actor=alice, room=room, user_id=bob.pk, is_muted=True)
    factories.make_message(alice, room, "later")

    deleted = services.room_events_prune(before=timezone.now() + timedelta(days=1))

    assert deleted > 0
    assert RoomEvent.objects.filter(room=room).count() == 1
    assert entries(room) == [("mute", "alice", "bob", "system")]


# --- who may read it ------------------------------------------------------------------------


def expected_audit_status(room_type: str, persona: str) -> int:
    if persona not in VISIBLE[room_type]:
        return 404
    return 200 if persona in {"moderator", "admin", "staff"} else 403


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("room_type", ROOM_TYPES)
def test_who_may_read_a_rooms_audit_log(room_type: str, persona: str) -> None:
    room, people = build_room(room_type)
    moderator = people["moderator"] if room_type == "course" else people["admin"]
    services.participant_update(
        actor=moderator, room=room, user_id=people["member"].pk, is_muted=True
    )

    response = client_for(people[persona]).get(f"/chat/rooms/{room.pk}/audit/")

    assert response.status_code == expected_audit_status(room_type, persona), response.data
    if response.status_code == 200:
        # Newest first; a course room's instructor became its moderator by enrolment.
        expected = ["mute", "role_change"] if room_type == "course" else ["mute"]
        assert [item["action"] for item in response.data["results"]] == expected
    else:
        assert "results" not in response.data


@pytest.mark.django_db
def test_the_outsider_charlie_gets_404_and_anonymous_is_refused(alice: Any, charlie: Any) -> None:
    room = factories.make_room(alice, chat_type="private")

    assert client_for(charlie).get(f"/chat/rooms/{room.pk}/audit/").status_code == 404
    assert client_for(None).get(f"/chat/rooms/{room.pk}/audit/").status_code in (401, 403)


@pytest.mark.django_db
def test_endorsing_and_pinning_are_recorded_with_their_message(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])
    question = services.message_send(actor=bob, room=room, content="Why?", is_question=True).message
    answer = services.message_send(
        actor=bob, room=question.room, content="Because.", reply_to=question.pk
    ).message

    services.answer_endorse(actor=alice, answer=answer)
    services.answer_withdraw(actor=alice, answer=answer)
    services.answer_withdraw(actor=alice, answer=answer)  # nothing left to withdraw
    services.message_pin(actor=alice, message=question)
    services.message_pin(actor=alice, message=question)  # already pinned
    services.message_unpin(actor=alice, message=question)

    assert entries(room) == [
        ("endorse", "alice", "bob", "system"),
        ("unendorse", "alice", "bob", "system"),
        ("pin", "alice", "bob", "system"),
        ("unpin", "alice", "bob", "system"),
    ]
    by_action = {entry.action: entry for entry in AuditEntry.objects.filter(room=room)}
    assert by_action["endorse"].message_id == answer.pk
    assert by_action["endorse"].details == {"question_id": question.pk}
    assert by_action["pin"].message_id == question.pk
