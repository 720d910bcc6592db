"""Plain factory functions for tests: each builds exactly what it is asked for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from chat import services
from chat.models import ChatMessage, ChatRoom
from courses import services as course_services
from courses.models import Course

PASSWORD = "correct horse battery staple"


def make_user(
    username: str, *, display_name: str = "", is_staff: bool = False, is_superuser: bool = False
) -> Any:
    return get_user_model().objects.create_user(
        username=username,
        password=PASSWORD,
        display_name=display_name,
        is_staff=is_staff,
        is_superuser=is_superuser,
    )


def make_support_user(username: str) -> Any:
    user = make_user(username)
    group, _ = Group.objects.get_or_create(name="support")
    user.groups.add(group)
    return user


def make_course(
    staff: Any,
    *,
    code: str = "CS101",
    title: str = "Intro to CS",
    instructors: Sequence[Any] = (),
    students: Sequence[Any] = (),
) -> Course:
    course = course_services.course_create(actor=staff, title=title, code=code)
    for user in instructors:
        course_services.enrollment_create(actor=staff, course=course, user=user, role="instructor")
    for user in students:
        course_services.enrollment_create(actor=staff, course=course, user=user, role="student")
    return course


def course_room(course: Course) -> ChatRoom:
    return ChatRoom.objects.get(course=course, chat_type=ChatRoom.ChatType.COURSE)


def make_room(
    owner: Any,
    *,
    chat_type: str = "public",
    name: str = "",
    members: Sequence[Any] = (),
    moderators: Sequence[Any] = (),
    course: Course | None = None,
) -> ChatRoom:
    room = services.room_create(
        actor=owner, name=name or f"{chat_type} room", chat_type=chat_type, course=course
    )
    for user in members:
        services.participant_invite(actor=owner, room=room, user=user)
    for user in moderators:
        services.participant_invite(actor=owner, room=room, user=user, role="moderator")
    room.refresh_from_db()
    return room


def make_message(sender: Any, room: ChatRoom, content: str = "hello", **kwargs: Any) -> ChatMessage:
    return services.message_send(actor=sender, room=room, content=content, **kwargs).message
