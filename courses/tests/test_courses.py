"""Course → room → enrolment: a course has exactly one course room and its
enrolments are that room's membership (instructors moderate it)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from chat import errors, policy
from chat.models import ChatParticipant, ChatRoom
from chat.tests import factories
from courses import services
from courses.models import Course, Enrollment


def membership(course: Course) -> dict[str, tuple[str, bool]]:
    room = factories.course_room(course)
    return {
        username: (role, active)
        for username, role, active in ChatParticipant.objects.filter(room=room).values_list(
            "user__username", "role", "is_active"
        )
    }


def test_creating_a_course_opens_exactly_one_course_room(stella: Any) -> None:
    course = services.course_create(actor=stella, title="Algorithms", code="CS201")
    [room] = ChatRoom.objects.filter(course=course)
    assert (room.chat_type, room.name, room.is_active) == ("course", "Algorithms", True)
    assert room.created_by == stella
    assert room.last_seq == 1


def test_only_staff_create_courses(alice: Any) -> None:
    with pytest.raises(errors.Forbidden):
        services.course_create(actor=alice, title="Mine", code="X1")
    assert not Course.objects.exists()


def test_duplicate_course_code_is_refused(stella: Any) -> None:
    services.course_create(actor=stella, title="One", code="DUP")
    with pytest.raises(errors.ValidationFailed):
        services.course_create(actor=stella, title="Two", code="DUP")
    assert ChatRoom.objects.filter(chat_type="course").count() == 1


def test_students_join_as_members_and_instructors_as_moderators(course: Course) -> None:
    assert membership(course) == {
        "ines": ("moderator", True),
        "alice": ("member", True),
        "bob": ("member", True),
    }


def test_enrolled_users_see_the_course_room_and_outsiders_do_not(
    course: Course, alice: Any, charlie: Any
) -> None:
    room = factories.course_room(course)
    assert policy.can_see_room(alice, room)
    assert not policy.can_see_room(charlie, room)


def test_re_enrolling_changes_the_role_in_the_room(course: Course, stella: Any, alice: Any) -> None:
    services.enrollment_create(actor=stella, course=course, user=alice, role="instructor")
    assert Enrollment.objects.get(course=course, user=alice).role == "instructor"
    assert membership(course)["alice"] == ("moderator", True)
    services.enrollment_create(actor=stella, course=course, user=alice, role="student")
    assert membership(course)["alice"] == ("member", True)
    assert Enrollment.objects.filter(course=course, user=alice).count() == 1


def test_ending_an_enrolment_removes_the_user_from_the_room(
    course: Course, stella: Any, alice: Any
) -> None:
    room = factories.course_room(course)
    services.enrollment_end(actor=stella, course=course, user=alice)
    assert not Enrollment.objects.filter(course=course, user=alice).exists()
    assert membership(course)["alice"] == ("member", False)
    assert not policy.can_see_room(alice, room)


def test_enrolling_again_after_the_end_rejoins_the_room(
    course: Course, stella: Any, alice: Any
) -> None:
    services.enrollment_end(actor=stella, course=course, user=alice)
    services.enrollment_create(actor=stella, course=course, user=alice, role="student")
    assert membership(course)["alice"] == ("member", True)
    assert ChatParticipant.objects.filter(user=alice).count() == 1


def test_instructors_enrol_in_their_own_course_only(
    course: Course, stella: Any, ines: Any, charlie: Any
) -> None:
    services.enrollment_create(actor=ines, course=course, user=charlie, role="student")
    assert membership(course)["charlie"] == ("member", True)
    other = services.course_create(actor=stella, title="Other", code="OT1")
    with pytest.raises(errors.Forbidden):
        services.enrollment_create(actor=ines, course=other, user=charlie, role="student")


def test_students_cannot_enrol_or_unenrol(course: Course, alice: Any, bob: Any) -> None:
    with pytest.raises(errors.Forbidden):
        services.enrollment_end(actor=alice, course=course, user=bob)
    assert membership(course)["bob"] == ("member", True)


def test_unknown_enrolment_role_is_refused(course: Course, stella: Any, charlie: Any) -> None:
    with pytest.raises(errors.ValidationFailed):
        services.enrollment_create(actor=stella, course=course, user=charlie, role="auditor")
    assert not Enrollment.objects.filter(user=charlie).exists()


def test_ending_a_missing_enrolment_is_not_found(course: Course, stella: Any, charlie: Any) -> None:
    with pytest.raises(errors.NotFound):
        services.enrollment_end(actor=stella, course=course, user=charlie)


def test_enrolment_events_reach_the_course_room(
    stella: Any, alice: Any, captured_events: Any
) -> None:
    course = services.course_create(actor=stella, title="Events", code="EV1")
    room = factories.course_room(course)
    services.enrollment_create(actor=stella, course=course, user=alice, role="student")
    services.enrollment_end(actor=stella, course=course, user=alice)
    payloads = captured_events.payloads(f"room.{room.pk}")
    assert [(p["type"], p["seq"]) for p in payloads] == [
        ("room.updated", 1),
        ("participant.joined", 2),
        ("participant.left", 3),
    ]
    assert payloads[1]["details"] == {"action": "enrolled", "user_id": alice.pk}
    assert payloads[2]["details"] == {"action": "unenrolled", "user_id": alice.pk}


def test_one_enrolment_per_course_and_user(alice: Any) -> None:
    course = Course.objects.create(title="Raw", code="RAW")
    Enrollment.objects.create(course=course, user=alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.create(course=course, user=alice, role="instructor")


def test_enrolment_role_is_checked_by_the_database(alice: Any) -> None:
    course = Course.objects.create(title="Raw", code="RAW")
    enrollment = Enrollment.objects.create(course=course, user=alice)
    assert enrollment.role == "student"
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.filter(pk=enrollment.pk).update(role="auditor")


def test_course_code_is_unique_in_the_database(db: None) -> None:
    Course.objects.create(title="A", code="SAME")
    with pytest.raises(IntegrityError), transaction.atomic():
        Course.objects.create(title="B", code="SAME")
