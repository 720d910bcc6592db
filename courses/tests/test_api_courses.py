"""Courses over REST: list, create (staff), enrol and end an enrolment."""

from __future__ import annotations

from typing import Any

import pytest

from chat.models import ChatParticipant
from chat.tests import factories
from chat.tests.api_support import COURSE_KEYS, USER_KEYS, client_for
from courses.models import Enrollment

pytestmark = pytest.mark.django_db


def test_staff_creates_a_course_and_its_room_opens(stella: Any) -> None:
    client = client_for(stella)

    response = client.post("/courses/", {"title": "Algebra", "code": "MA101"}, format="json")
    rooms = client.get("/chat/rooms/", {"course": response.data["id"]})

    assert response.status_code == 201
    assert set(response.data) == COURSE_KEYS
    assert (response.data["title"], response.data["code"]) == ("Algebra", "MA101")
    assert response.data["is_active"] is True
    assert [(r["chat_type"], r["name"]) for r in rooms.data["results"]] == [("course", "Algebra")]


def test_non_staff_may_not_create_a_course(ines: Any) -> None:
    response = client_for(ines).post("/courses/", {"title": "X", "code": "X1"}, format="json")

    assert response.status_code == 403


def test_duplicate_course_code_is_400_and_the_field_does_not_replace_the_error_code(
    stella: Any, course: Any
) -> None:
    client = client_for(stella)
    body = {"title": "Again", "code": course.code}

    response = client.post("/courses/", body, format="json")
    german = client.post("/courses/", body, format="json", HTTP_ACCEPT_LANGUAGE="de")
    missing = client.post("/courses/", {"title": "No code"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "A course with this code exists.",
        "code": "validation_error",
        "fields": {"code": ["Already taken."]},
    }
    assert (german.json()["code"], german.json()["fields"]) == (
        "validation_error",
        {"code": ["Schon vergeben."]},
    )
    assert (missing.status_code, missing.json()) == (
        400,
        {
            "detail": "code: This field is required.",
            "code": "validation_error",
            "fields": {"code": ["This field is required."]},
        },
    )


def test_course_list_shows_taught_and_enrolled_courses_and_staff_sees_all(
    stella: Any, ines: Any, alice: Any, charlie: Any, course: Any
) -> None:
    factories.make_course(stella, code="PH200", title="Physics")

    def codes(user: Any) -> list[str]:
        response = client_for(user).get("/courses/")
        assert response.status_code == 200
        return [item["code"] for item in response.data]

    assert codes(ines) == ["CS101"]
    assert codes(alice) == ["CS101"]
    assert codes(charlie) == []
    assert codes(stella) == ["CS101", "PH200"]


def test_instructor_enrols_a_student_who_joins_the_course_room(
    ines: Any, charlie: Any, course: Any
) -> None:
    response = client_for(ines).post(
        f"/courses/{course.pk}/enrollments/",
        {"user": charlie.pk, "role": "student"},
        format="json",
    )

    assert response.status_code == 201
    assert response.data["course"] == course.pk
    assert set(response.data["user"]) == USER_KEYS
    assert response.data["role"] == "student"
    room = factories.course_room(course)
    assert ChatParticipant.objects.get(room=room, user=charlie).role == "member"


def test_enrolled_instructor_becomes_a_moderator_of_the_course_room(
    stella: Any, charlie: Any, course: Any
) -> None:
    client_for(stella).post(
        f"/courses/{course.pk}/enrollments/",
        {"user": charlie.pk, "role": "instructor"},
        format="json",
    )

    room = factories.course_room(course)
    assert ChatParticipant.objects.get(room=room, user=charlie).role == "moderator"


def test_student_may_not_enrol_others(alice: Any, charlie: Any, course: Any) -> None:
    response = client_for(alice).post(
        f"/courses/{course.pk}/enrollments/",
        {"user": charlie.pk, "role": "student"},
        format="json",
    )

    assert response.status_code == 403


def test_outsider_gets_404_for_a_course(charlie: Any, course: Any) -> None:
    response = client_for(charlie).post(
        f"/courses/{course.pk}/enrollments/",
        {"user": charlie.pk, "role": "student"},
        format="json",
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user": 987654, "role": "student"}, "user"),
        ({"user": "abc", "role": "student"}, "user"),
        ({"role": "student"}, "user"),
        ({"user": 1, "role": "dean"}, "role"),
    ],
)
def test_enrol_rejects_bad_input(
    stella: Any, course: Any, body: dict[str, Any], field: str
) -> None:
    response = client_for(stella).post(f"/courses/{course.pk}/enrollments/", body, format="json")

    assert response.status_code == 400
    assert field in response.data


def test_ending_an_enrolment_removes_the_user_from_the_course_room(
    ines: Any, alice: Any, course: Any
) -> None:
    client = client_for(ines)

    response = client.delete(f"/courses/{course.pk}/enrollments/{alice.pk}/")
    again = client.delete(f"/courses/{course.pk}/enrollments/{alice.pk}/")

    assert response.status_code == 204
    assert again.status_code == 404
    assert not Enrollment.objects.filter(course=course, user=alice).exists()
    room = factories.course_room(course)
    assert not ChatParticipant.objects.get(room=room, user=alice).is_active
    assert client_for(alice).get(f"/chat/rooms/{room.pk}/").status_code == 404
