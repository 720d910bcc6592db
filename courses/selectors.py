"""Course reads, through the user: a course they have no part in is NotFound."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from chat import errors
from chat.selectors import as_id
from courses.models import Course, Enrollment

if TYPE_CHECKING:
    from accounts.models import User


def courses_for_user(user: User) -> QuerySet[Course]:
    """Courses the user teaches or is enrolled in; staff see every course."""
    if user.is_staff:
        return Course.objects.order_by("code")
    return Course.objects.filter(
        pk__in=Enrollment.objects.filter(user=user).values("course_id")
    ).order_by("code")


def course_get_for_user(user: User, course_id: object) -> Course:
    course_pk = as_id(course_id)
    if course_pk is None:
        raise errors.NotFound(gettext_lazy("No such course."))
    course = courses_for_user(user).filter(pk=course_pk).first()
    if course is None:
        raise errors.NotFound(gettext_lazy("No such course."))
    return course


def course_by_id(course_id: int) -> Course:
    """A course named in a request body: unknown ids are a validation error (400)."""
    course = Course.objects.filter(pk=course_id).first()
    if course is None:
        raise errors.ValidationFailed(
            gettext_lazy("No such course."), fields={"course": [gettext_lazy("No such course.")]}
        )
    return course


def active_user(user_id: int, *, missing: type[errors.ChatError]) -> User:
    """An active user named by id; ``missing`` is raised (with a ``user`` field error) if none."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise missing(
            gettext_lazy("No such user."), fields={"user": [gettext_lazy("No such user.")]}
        )
    return user
