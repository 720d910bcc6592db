"""Courses and their enrolments in the admin, kept in sync with the course rooms.

A new course is created through ``courses.services.course_create`` (which opens
its course room); enrolment rows added, changed or removed in the inline go
through ``enrollment_create``/``enrollment_end``, so room membership follows.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from accounts.requests import signed_in_user
from courses import services
from courses.models import Course, Enrollment


class EnrollmentInline(admin.TabularInline):
    model = Enrollment
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    raw_id_fields = ("user",)
    extra = 1

    def get_queryset(self, request: HttpRequest) -> QuerySet[Enrollment]:
        return super().get_queryset(request).select_related("user")


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "is_active", "enrolled", "created_at")
    list_filter = ("is_active",)
    search_fields = ("code", "title")
    inlines = (EnrollmentInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Course]:
        return super().get_queryset(request).annotate(enrollment_count=Count("enrollments"))

    @admin.display(description="enrolled", ordering="enrollment_count")
    def enrolled(self, course: Course) -> int:
        return course.enrollment_count  # type: ignore[attr-defined]

    def get_readonly_fields(
        self, request: HttpRequest, obj: Course | None = None
    ) -> tuple[str, ...]:
        return ("code",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Course, form: ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        course = services.course_create(
            actor=signed_in_user(request), title=obj.title, code=obj.code
        )
        obj.pk = course.pk
        obj.refresh_from_db()
        if course.is_active != form.cleaned_data["is_active"]:
            super().save_model(request, obj, form, change=True)

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        """Route enrolment rows through the course services (room membership follows)."""
        course = form.instance
        users = get_user_model().objects
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline in formset.deleted_forms:
            if inline.instance.pk is not None:
                services.enrollment_end(
                    actor=signed_in_user(request),
                    course=course,
                    user=users.get(pk=inline.initial["user"]),
                )
                formset.deleted_objects.append(inline.instance)
        for inline in formset.forms:
            if inline in formset.deleted_forms or not inline.has_changed():
                continue
            user, role = inline.cleaned_data["user"], inline.cleaned_data["role"]
            existing = inline.instance.pk is not None
            if existing and "user" in inline.changed_data:
                services.enrollment_end(
                    actor=signed_in_user(request),
                    course=course,
                    user=users.get(pk=inline.initial["user"]),
                )
            enrollment = services.enrollment_create(
                actor=signed_in_user(request), course=course, user=user, role=role
            )
            if existing:
                formset.changed_objects.append((enrollment, inline.changed_data))
            else:
                formset.new_objects.append(enrollment)


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    """Read-only overview; enrol and unenrol from the course's page."""

    list_display = ("user", "course", "role", "created_at")
    list_filter = ("role", "course")
    list_select_related = ("user", "course")
    search_fields = ("user__username", "user__display_name", "course__code", "course__title")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
