"""Course writes. Creating a course opens its chat room; enrolments drive its membership."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy

from chat import errors
from chat import services as chat_services
from chat.errors import lazy_interpolate
from courses.models import Course, Enrollment

if TYPE_CHECKING:
    from accounts.models import User


def can_manage_course(user: User, course: Course) -> bool:
    return (
        user.is_staff
        or Enrollment.objects.filter(
            course=course, user=user, role=Enrollment.Role.INSTRUCTOR
        ).exists()
    )


@transaction.atomic
def course_create(*, actor: User, title: str, code: str) -> Course:
    """Create a course (staff) and open its ``course`` chat room."""
    if not actor.is_staff:
        raise errors.Forbidden(gettext_lazy("Only staff may create courses."))
    title, code = (title or "").strip(), (code or "").strip()
    if not title or not code or len(title) > 200 or len(code) > 50:
        raise errors.ValidationFailed(gettext_lazy("title (1-200) and code (1-50) are required."))
    if Course.objects.filter(code=code).exists():
        raise errors.ValidationFailed(
            gettext_lazy("A course with this code exists."),
            fields={"code": [gettext_lazy("Already taken.")]},
        )
    try:
        with transaction.atomic():
            course = Course.objects.create(title=title, code=code)
    except IntegrityError:
        raise errors.ValidationFailed(
            gettext_lazy("A course with this code exists."),
            fields={"code": [gettext_lazy("Already taken.")]},
        ) from None
    chat_services.course_room_open(actor=actor, course=course)
    return course


@transaction.atomic
def enrollment_create(*, actor: User, course: Course, user: User, role: str) -> Enrollment:
    """Enrol ``user`` (staff or an instructor of the course); joins the course room,
    instructors as moderators. Enrolling again updates the role."""
    if not can_manage_course(actor, course):
        raise errors.Forbidden(
            gettext_lazy("Only staff or the course's instructors may enrol users.")
        )
    if role not in Enrollment.Role.values:
        raise errors.ValidationFailed(
            gettext_lazy("Unknown role."),
            fields={
                "role": [
                    lazy_interpolate(
                        gettext_lazy("Choose from %(values)s."), {"values": Enrollment.Role.values}
                    )
                ]
            },
        )
    enrollment, _ = Enrollment.objects.update_or_create(
        course=course, user=user, defaults={"role": role}
    )
    chat_services.course_member_sync(actor=actor, course=course, user=user, role=role)
    return enrollment


@transaction.atomic
def enrollment_end(*, actor: User, course: Course, user: User) -> None:
    """End an enrolment: the user leaves the course room and its sockets close (4403)."""
    if not can_manage_course(actor, course):
        raise errors.Forbidden(
            gettext_lazy("Only staff or the course's instructors may end enrolments.")
        )
    deleted, _ = Enrollment.objects.filter(course=course, user=user).delete()
    if not deleted:
        raise errors.NotFound(gettext_lazy("No such enrolment."))
    chat_services.course_member_sync(actor=actor, course=course, user=user, role=None)
