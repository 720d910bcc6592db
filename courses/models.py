from __future__ import annotations

from django.conf import settings
from django.db import models


class Course(models.Model):
    title = models.CharField(max_length=200)
    code = models.CharField(max_length=50, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.title}"


class Enrollment(models.Model):
    class Role(models.TextChoices):
        STUDENT = "student", "Student"
        INSTRUCTOR = "instructor", "Instructor"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrollments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.STUDENT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["course", "user"], name="enrollment_unique_course_user"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=["student", "instructor"]),
                name="enrollment_role_valid",
            ),
        ]
        indexes = [models.Index(fields=["user", "course"], name="enrollment_user_course")]

    def __str__(self) -> str:
        return f"{self.user} in {self.course} ({self.role})"
