"""Reporting a message to the room's moderators: one open report per reporter and
message, a queue only moderators and staff see (never the author, whatever their
role), per-moderator frames, and resolutions (dismiss, hide, mute) through the
services, each audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from chat import services
from chat.models import AuditEntry, ChatMessage, ChatParticipant, MessageReport
from chat.tests import factories
from chat.tests.api_support import client_for
from chat.tests.test_api_permissions import PERSONAS, ROOM_TYPES, VISIBLE, build_room
from chat.tests.ws import db as in_thread
from chat.tests.ws import open_presence, socket_settings  # noqa: F401


def report(user: Any, message: Any, reason: str = "spam", note: str = "") -> Any:
    return client_for(user).post(
        f"/chat/messages/{message.pk}/report/", {"reason": reason, "note": note}, format="json"
    )


def resolve(user: Any, report_id: int, action: str, note: str = "") -> Any:
    return client_for(user).post(
        f"/chat/reports/{report_id}/resolve/", {"action": action, "note": note}, format="json"
    )


@pytest.fixture
def room(alice: Any, bob: Any, charlie: Any, ines: Any) -> Any:
    """A public room: alice its admin, ines a moderator, bob and charlie members."""
    return factories.make_room(alice, name="Lobby", members=[bob, charlie], moderators=[ines])


@pytest.mark.django_db
def test_a_member_reports_a_message_and_only_the_moderators_are_told(
    room: Any, alice: Any, bob: Any, charlie: Any, ines: Any, captured_events: Any
) -> None:
    message = factories.make_message(charlie, room, "buy cheap essays http://spam")
    captured_events.clear()

    response = report(bob, message, "spam", "  posted everywhere  ")

    assert response.status_code == 201
    assert response.data["reason"] == "spam"
    assert response.data["note"] == "posted everywhere"
    assert response.data["status"] == "open"
    assert response.data["resolution"] is None
    assert response.data["message"]["id"] == message.pk
    groups = sorted(item.group for item in captured_events)
    assert groups == [f"user.{alice.pk}", f"user.{ines.pk}"]
    frame = captured_events.payloads(f"user.{ines.pk}")[0]
    assert frame["type"] == "report.created"
    assert frame["room_id"] == room.pk
    assert frame["report"]["reporter"]["username"] == "bob"
    assert captured_events.payloads(f"room.{room.pk}") == []


@pytest.mark.django_db
def test_reporting_again_answers_the_open_report(room: Any, bob: Any, charlie: Any) -> None:
    message = factories.make_message(charlie, room, "meh")

    first = report(bob, message, "spam")
    again = report(bob, message, "harassment")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.data["id"] == first.data["id"]
    assert again.data["reason"] == "spam"
    assert MessageReport.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "rude"}, "reason"),
        ({"reason": "other", "note": "x" * 1001}, "note"),
        ({}, "reason"),
    ],
)
def test_a_report_needs_a_known_reason_and_a_short_note(
    room: Any, bob: Any, charlie: Any, body: dict[str, Any], field: str
) -> None:
    message = factories.make_message(charlie, room, "meh")

    response = client_for(bob).post(f"/chat/messages/{message.pk}/report/", body, format="json")

    assert response.status_code == 400
    assert field in response.data


@pytest.mark.django_db
def test_own_system_and_deleted_messages_cannot_be_reported(
    room: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    own = factories.make_message(bob, room, "mine")
    system = ChatMessage.objects.filter(room=room, message_type="system").first()
    deleted = factories.make_message(charlie, room, "gone")
    services.message_delete(actor=charlie, message=deleted)

    assert report(bob, own).status_code == 403
    assert report(bob, system).status_code == 403
    assert report(bob, deleted).status_code == 404
    assert not MessageReport.objects.exists()


@pytest.mark.django_db
def test_the_queue_lists_open_reports_newest_first_for_moderators(
    room: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    first = factories.make_message(charlie, room, "one")
    second = factories.make_message(charlie, room, "two")
    report(bob, first, "spam")
    report(bob, second, "off_topic")
    closed = MessageReport.objects.get(message=first)
    resolve(alice, closed.pk, "dismiss")

    everything = client_for(alice).get(f"/chat/rooms/{room.pk}/reports/")
    open_only = client_for(alice).get(f"/chat/rooms/{room.pk}/reports/", {"status": "open"})

    assert [r["message"]["id"] for r in everything.data["results"]] == [second.pk, first.pk]
    assert [r["message"]["id"] for r in open_only.data["results"]] == [second.pk]


@pytest.mark.django_db
def test_the_author_never_sees_reports_about_their_own_message_even_as_a_moderator(
    room: Any, alice: Any, bob: Any, ines: Any, captured_events: Any
) -> None:
    message = factories.make_message(ines, room, "a moderator's message")
    captured_events.clear()

    created = report(bob, message, "harassment")

    assert [item.group for item in captured_events] == [f"user.{alice.pk}"]
    queue = client_for(ines).get(f"/chat/rooms/{room.pk}/reports/")
    assert queue.status_code == 200
    assert queue.data["results"] == []
    assert client_for(ines).get(f"/chat/reports/{created.data['id']}/").status_code == 404
    assert resolve(ines, created.data["id"], "dismiss").status_code == 404
    assert client_for(alice).get(f"/chat/reports/{created.data['id']}/").status_code == 200


@pytest.mark.django_db
def test_dismissing_resolves_every_open_report_of_the_message_and_is_audited(
    room: Any, alice: Any, bob: Any, charlie: Any, ines: Any, captured_events: Any
) -> None:
    message = factories.make_message(charlie, room, "borderline")
    first = report(bob, message).data["id"]
    report(ines, message, "off_topic")
    captured_events.clear()

    response = resolve(alice, first, "dismiss", "fine by the rules")

    assert response.status_code == 200
    assert response.data["status"] == "resolved"
    assert response.data["resolution"] == "dismiss"
    assert response.data["resolved_by"]["username"] == "alice"
    assert response.data["resolution_note"] == "fine by the rules"
    assert set(MessageReport.objects.values_list("status", flat=True)) == {"resolved"}
    assert not ChatMessage.objects.get(pk=message.pk).is_deleted
    entry = AuditEntry.objects.get(action="report_resolve")
    assert (entry.actor, entry.target_user, entry.message_id, entry.via) == (
        alice,
        charlie,
        message.pk,
        "rest",
    )
    assert entry.details == {
        "report_id": first,
        "action": "dismiss",
        "reports": 2,
        "reason": "spam",
    }
    types = {(p.group, p.payload["type"]) for p in captured_events}
    assert types == {
        (f"user.{alice.pk}", "report.resolved"),
        (f"user.{ines.pk}", "report.resolved"),
    }
    assert resolve(alice, first, "hide").status_code == 400


@pytest.mark.django_db
def test_hiding_soft_deletes_the_message_through_the_service(
    room: Any, alice: Any, bob: Any, charlie: Any, captured_events: Any
) -> None:
    message = factories.make_message(charlie, room, "insult")
    report_id = report(bob, message, "harassment").data["id"]
    captured_events.clear()

    response = resolve(alice, report_id, "hide")

    assert response.status_code == 200
    assert response.data["message"]["is_deleted"] is True
    [event] = captured_events.payloads(f"room.{room.pk}")
    assert event["type"] == "message.deleted"
    assert "bob" not in str(event)
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["hide", "report_resolve"]


@pytest.mark.django_db
def test_muting_mutes_the_author_through_the_service(
    room: Any, alice: Any, bob: Any, charlie: Any, captured_events: Any
) -> None:
    message = factories.make_message(charlie, room, "spam again")
    report_id = report(bob, message).data["id"]
    captured_events.clear()

    response = resolve(alice, report_id, "mute")

    assert response.status_code == 200
    assert ChatParticipant.objects.get(room=room, user=charlie).is_muted
    [event] = captured_events.payloads(f"room.{room.pk}")
    assert event["type"] == "participant.updated"
    assert "bob" not in str(event)
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["mute", "report_resolve"]


@pytest.mark.django_db
def test_muting_an_author_who_left_is_refused_and_the_report_stays_open(
    room: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    message = factories.make_message(charlie, room, "hit and run")
    report_id = report(bob, message).data["id"]
    services.room_leave(actor=charlie, room=room)

    response = resolve(alice, report_id, "mute")

    assert response.status_code == 400
    assert MessageReport.objects.get().status == "open"
    assert not AuditEntry.objects.filter(action="report_resolve").exists()


@pytest.mark.django_db
def test_muting_the_author_of_an_anonymous_post_is_refused_for_it_would_name_them(
    course: Any, alice: Any, bob: Any, ines: Any, captured_events: Any
) -> None:
    room = factories.course_room(course)
    message = services.message_send(
        actor=alice, room=room, content="you are all wrong", anonymous=True
    ).message
    report_id = report(bob, message).data["id"]
    captured_events.clear()

    refused = resolve(ines, report_id, "mute")

    assert (refused.status_code, refused.json()["code"]) == (400, "validation_error")
    assert refused.json()["action"] == ["Not for an anonymous post."]
    assert not ChatParticipant.objects.get(room=room, user=alice).is_muted
    assert MessageReport.objects.get().status == "open"
    assert captured_events.payloads(f"room.{room.pk}") == []
    assert resolve(ines, report_id, "hide").status_code == 200
    assert ChatMessage.objects.get(pk=message.pk).is_deleted


@pytest.mark.django_db
def test_the_reporter_is_not_revealed_to_the_author_or_members(
    room: Any, bob: Any, charlie: Any
) -> None:
    message = factories.make_message(charlie, room, "hmm")
    report_id = report(bob, message).data["id"]

    for user in (charlie, bob):
        api = client_for(user)
        assert api.get(f"/chat/rooms/{room.pk}/reports/").status_code == 403
        assert api.get(f"/chat/reports/{report_id}/").status_code == 404
        assert "report" not in str(api.get(f"/chat/messages/{message.pk}/").data)


# --- who may report and review, per room type and persona ----------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("room_type", ROOM_TYPES)
def test_who_may_report_a_message(room_type: str, persona: str) -> None:
    room, people = build_room(room_type)
    author = people["admin"] if persona == "member" else people["member"]
    message = factories.make_message(author, room, "reported")

    response = report(people[persona], message)

    expected = 201 if persona in VISIBLE[room_type] else 404
    assert response.status_code == expected, response.data


def expected_review_status(room_type: str, persona: str) -> int:
    if persona not in VISIBLE[room_type]:
        return 404
    return 200 if persona in {"moderator", "admin", "staff"} else 403


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("room_type", ROOM_TYPES)
def test_who_may_see_the_queue_and_resolve(room_type: str, persona: str) -> None:
    room, people = build_room(room_type)
    message = factories.make_message(people["member"], room, "reported")
    created, _ = services.report_create(actor=people["admin"], message=message, reason="spam")

    queue = client_for(people[persona]).get(f"/chat/rooms/{room.pk}/reports/")
    resolved = resolve(people[persona], created.pk, "dismiss")

    expected = expected_review_status(room_type, persona)
    assert queue.status_code == expected
    assert resolved.status_code == (404 if expected == 403 else expected)
    assert MessageReport.objects.get().status == ("resolved" if expected == 200 else "open")


# --- the moderator's socket -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_report_reaches_a_moderators_presence_socket_and_not_the_authors(
    alice: Any, bob: Any, charlie: Any
) -> None:
    room = await in_thread(lambda: factories.make_room(alice, members=[bob, charlie]))()
    message = await in_thread(lambda: factories.make_message(charlie, room, "spam"))()
    moderator = await open_presence(alice)
    author = await open_presence(charlie)

    await in_thread(lambda: report(bob, message))()

    frame = await moderator.receive_type("report.created")
    assert frame["report"]["message"]["id"] == message.pk
    while not await author.nothing(timeout=0.3):
        assert (await author.receive())["type"] not in {"report.created", "report.resolved"}
    await moderator.close()
    await author.close()


# --- admin --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_resolves_reports_through_the_service(
    admin_client: Client, room: Any, bob: Any, charlie: Any
) -> None:
    message = factories.make_message(charlie, room, "spam")
    report_id = report(bob, message).data["id"]

    listed = admin_client.get(reverse("admin:chat_messagereport_changelist"), {"status": "open"})
    admin_client.post(
        reverse("admin:chat_messagereport_changelist"),
        {"action": "hide_message", "_selected_action": [report_id]},
    )

    assert listed.status_code == 200
    assert "spam" in listed.content.decode()
    assert MessageReport.objects.get().resolution == "hide"
    assert ChatMessage.objects.get(pk=message.pk).is_deleted
    entry = AuditEntry.objects.get(action="report_resolve")
    assert entry.via == "admin"


@pytest.mark.django_db
def test_the_admin_never_shows_a_staff_member_the_reports_on_their_own_messages(
    admin_client: Client, admin_user: Any, room: Any, bob: Any, charlie: Any
) -> None:
    services.participant_invite(actor=room.created_by, room=room, user=admin_user.pk)
    own = factories.make_message(admin_user, room, "the admin's own words")
    theirs = factories.make_message(charlie, room, "charlie's words")
    own_report = report(bob, own, note="bob reports the admin").data["id"]
    report(bob, theirs)

    listed = admin_client.get(reverse("admin:chat_messagereport_changelist")).content.decode()
    opened = admin_client.get(reverse("admin:chat_messagereport_change", args=[own_report]))

    assert "charlie&#x27;s words" in listed
    assert "the admin&#x27;s own words" not in listed and "bob reports" not in listed
    assert opened.status_code == 302  # the admin's "no such object" redirect
