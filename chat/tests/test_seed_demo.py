"""seed_demo builds a small, believable world once; running it again changes nothing."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from chat.models import ChatMessage, ChatParticipant, ChatRoom, MessageReaction, RoomEvent
from courses.models import Course, Enrollment

MODELS = (
    get_user_model(),
    Course,
    Enrollment,
    ChatRoom,
    ChatParticipant,
    ChatMessage,
    MessageReaction,
    RoomEvent,
)


@pytest.fixture(autouse=True)
def development(settings: Any) -> None:
    """The demo is for development (DEBUG on); tests run with DEBUG off by default."""
    settings.DEBUG = True


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.mark.django_db
def test_seed_demo_twice_creates_nothing_the_second_time() -> None:
    seed()
    first = counts()
    rooms = list(ChatRoom.objects.values_list("pk", "last_seq"))
    seed()
    assert counts() == first
    assert list(ChatRoom.objects.values_list("pk", "last_seq")) == rooms


@pytest.mark.django_db
def test_seed_demo_creates_one_room_of_each_type_with_conversation() -> None:
    output = seed()
    rooms = {room.chat_type: room for room in ChatRoom.objects.all()}
    assert {name: room.name for name, room in rooms.items()} == {
        "public": "General",
        "private": "Study group",
        "course": "Intro to Computer Science",
        "support": "Help with login",
    }
    course = Course.objects.get(code="CS101")
    assert rooms["course"].course == course
    assert dict(Enrollment.objects.filter(course=course).values_list("user__username", "role")) == {
        "instructor": "instructor",
        "alice": "student",
        "bob": "student",
        "carol": "student",
    }
    assert dict(
        ChatParticipant.objects.filter(room=rooms["course"], is_active=True).values_list(
            "user__username", "role"
        )
    ) == {
        "instructor": "moderator",
        "alice": "member",
        "bob": "member",
        "carol": "member",
    }
    texts = ChatMessage.objects.exclude(message_type="system")
    assert texts.filter(room=rooms["public"]).count() == 3
    assert texts.filter(content_html__contains="<strong>").exists()
    assert texts.filter(mentions__username="alice").exists()
    assert texts.filter(reply_to__isnull=False).count() == 2
    assert MessageReaction.objects.count() == 2
    assert "password for all: academia-demo" in output
    for username in ("admin", "instructor", "alice", "bob", "carol", "support"):
        assert f"  {username} " in output
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password("academia-demo")
    assert get_user_model().objects.get(username="support").groups.filter(name="support").exists()


@pytest.mark.django_db
def test_seed_demo_if_empty_leaves_a_used_database_alone(alice: Any) -> None:
    output = seed("--if-empty")
    assert ChatRoom.objects.count() == 0
    assert "not loaded" in output


@pytest.mark.django_db
@pytest.mark.parametrize("args", [(), ("--if-empty",)])
def test_seed_demo_refuses_known_passwords_with_debug_off(settings: Any, args: tuple[str]) -> None:
    from django.core.management import CommandError

    settings.DEBUG = False

    with pytest.raises(CommandError, match=r"DEBUG is off: .*only with --force"):
        seed(*args)

    assert get_user_model().objects.count() == 0


@pytest.mark.django_db
def test_seed_demo_with_force_seeds_with_debug_off(settings: Any) -> None:
    settings.DEBUG = False

    seed("--force")

    assert get_user_model().objects.filter(username="admin", is_superuser=True).exists()
