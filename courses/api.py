"""Courses over REST (the platform's side): list, create, enrol, end an enrolment."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from academia.rest.fields import TextField, id_field
from academia.rest.request import AuthenticatedRequest
from academia.rest.throttles import ChatWriteThrottle
from academia.rest.viewsets import ApiViewSet
from chat import errors
from chat.wire import UserSerializer
from courses import selectors, services
from courses.models import Enrollment

ID_PATH = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
USER_ID_PATH = OpenApiParameter("user_id", OpenApiTypes.INT, OpenApiParameter.PATH)


class EnrollmentSerializer(serializers.Serializer):
    """An enrolment as the API answers it."""

    course = serializers.IntegerField(source="course_id")
    user = UserSerializer()
    role = serializers.CharField()


class CourseSerializer(serializers.Serializer):
    """COURSE."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    code = serializers.CharField()
    is_active = serializers.BooleanField()


class CourseCreateSerializer(serializers.Serializer):
    title = TextField(max_length=200)
    code = TextField(max_length=50)


@extend_schema_field(
    {"type": "string", "pattern": "^(student|instructor)$", "description": "student|instructor"}
)
class EnrollmentRoleField(serializers.ChoiceField):
    """An enrolment role; described by a pattern so that the schema's ``role`` enum
    stays the participant roles'."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Enrollment.Role.choices, **kwargs)


class EnrollmentCreateSerializer(serializers.Serializer):
    user = id_field()
    role = EnrollmentRoleField()


class CourseViewSet(ApiViewSet):
    throttle_classes = [ChatWriteThrottle]
    pagination_class = None  # a user's courses are few: one list
    request_serializers = {
        "create": CourseCreateSerializer,
        "enrollments": EnrollmentCreateSerializer,
    }

    @extend_schema(
        responses=CourseSerializer(many=True),
        summary="Courses the user teaches or is enrolled in (staff: all)",
    )
    def list(self, request: AuthenticatedRequest) -> Response:
        courses = selectors.courses_for_user(request.user)
        return Response(CourseSerializer(courses, many=True).data)

    @extend_schema(
        request=CourseCreateSerializer,
        responses={201: CourseSerializer},
        summary="Create a course and open its course room (staff)",
    )
    def create(self, request: AuthenticatedRequest) -> Response:
        serializer = CourseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        course = services.course_create(actor=request.user, **serializer.validated_data)
        return Response(CourseSerializer(course).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[ID_PATH],
        request=EnrollmentCreateSerializer,
        responses={201: EnrollmentSerializer},
        summary="Enrol a user (staff or an instructor of the course); joins the course room",
    )
    @action(detail=True, methods=["post"])
    def enrollments(self, request: AuthenticatedRequest, pk: str) -> Response:
        course = selectors.course_get_for_user(request.user, pk)
        serializer = EnrollmentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = selectors.active_user(
            serializer.validated_data["user"], missing=errors.ValidationFailed
        )
        enrollment = services.enrollment_create(
            actor=request.user, course=course, user=user, role=serializer.validated_data["role"]
        )
        return Response(EnrollmentSerializer(enrollment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[ID_PATH, USER_ID_PATH],
        responses={204: OpenApiResponse(description="Enrolment ended.")},
        summary="End an enrolment; the user leaves the course room",
    )
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"enrollments/(?P<user_id>[0-9]+)",
        url_name="enrollment",
    )
    def enrollment(self, request: AuthenticatedRequest, pk: str, user_id: str) -> Response:
        course = selectors.course_get_for_user(request.user, pk)
        user = selectors.active_user(int(user_id), missing=errors.NotFound)
        services.enrollment_end(actor=request.user, course=course, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
