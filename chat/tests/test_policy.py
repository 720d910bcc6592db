"""The permission rules as pure questions: see, join, post, edit, delete, moderate."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from chat import errors, policy, services
from chat.tests import factories

pytestmark = pytest.mark.django_db


def test_public_room_is_visible_to_every_signed_in_user(alice: Any, charlie: Any) -> None:
    room = factories.make_room(alice)

    assert policy.can_see_room(charlie, room)
    assert policy.can_join_room(charlie, room)


def test_private_room_is_visible_to_participants_only(
    alice: Any, bob: Any, charlie: Any, stella: Any
) -> None:
    room = factories.make_room(alice, chat_type="private", members=[bob])

    assert policy.can_see_room(bob, room)
    assert not policy.can_see_room(charlie, room)
    assert not policy.can_see_room(stella, room)
    assert not policy.can_join_room(bob, room)


def test_course_room_is_visible_to_the_course_and_staff(
    course: Any, alice: Any, ines: Any, charlie: Any, stella: Any, sam: Any
) -> None:
    room = factories.course_room(course)

    assert [policy.can_see_room(u, room) for u in (alice, ines, stella)] == [True] * 3
    assert [policy.can_see_room(u, room) for u in (charlie, sam)] == [False] * 2


def test_support_room_is_visible_to_its_creator_and_support_staff(
    charlie: Any, alice: Any, sam: Any, stella: Any
) -> None:
    room = factories.make_room(charlie, chat_type="support")

    assert policy.can_see_room(charlie, room)
    assert policy.can_see_room(sam, room)
    assert policy.can_see_room(stella, room)
    assert not policy.can_see_room(alice, room)
    assert policy.is_support_staff(sam) and not policy.is_support_staff(alice)


def test_superuser_sees_everything(alice: Any) -> None:
    root = factories.make_user("root", is_superuser=True, is_staff=True)
    room = factories.make_room(alice, chat_type="private")

    assert policy.can_see_room(root, room)
    assert policy.can_moderate(root, room)


def test_instructor_moderates_the_course_room(course: Any, ines: Any, alice: Any) -> None:
    room = factories.course_room(course)

    assert policy.can_moderate(ines, room)
    assert not policy.can_moderate(alice, room)
    assert not policy.can_administer(ines, room)


def test_post_denial_reasons(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])
    participant = policy.participant_of(bob, room)
    assert participant is not None

    assert policy.post_denial(room, participant) is None
    assert isinstance(policy.post_denial(room, None), errors.Forbidden)
    participant.is_muted = True
    assert isinstance(policy.post_denial(room, participant), errors.Muted)
    room.is_active = False
    assert isinstance(policy.post_denial(room, participant), errors.RoomArchived)


def test_edit_denial_follows_sender_and_window(alice: Any, bob: Any, settings: Any) -> None:
    settings.CHAT_MESSAGE_EDIT_TIMEOUT = 300
    room = factories.make_room(alice, members=[bob])
    message = factories.make_message(bob, room)
    now = timezone.now()

    assert policy.edit_denial(bob, message, now) is None
    assert isinstance(policy.edit_denial(alice, message, now), errors.Forbidden)
    later = now + timedelta(seconds=301)
    assert isinstance(policy.edit_denial(bob, message, later), errors.EditWindowClosed)


def test_delete_denial_lets_moderators_delete_at_any_time(
    alice: Any, bob: Any, charlie: Any, settings: Any
) -> None:
    settings.CHAT_MESSAGE_DELETE_TIMEOUT = 300
    room = factories.make_room(alice, members=[bob, charlie])
    message = factories.make_message(bob, room)
    later = timezone.now() + timedelta(days=1)

    assert policy.delete_denial(alice, message, later) is None
    assert isinstance(policy.delete_denial(bob, message, later), errors.EditWindowClosed)
    assert isinstance(policy.delete_denial(charlie, message, timezone.now()), errors.Forbidden)


def test_course_room_creation_needs_an_instructor_or_staff(
    course: Any, ines: Any, alice: Any, stella: Any
) -> None:
    assert policy.can_create_room(ines, "course", course.pk)
    assert policy.can_create_room(stella, "course", course.pk)
    assert not policy.can_create_room(alice, "course", course.pk)
    assert policy.can_create_room(alice, "private", None)


def test_wildcard_mentions_are_for_moderators(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, members=[bob])
    services.participant_update(actor=alice, room=room, user_id=bob.pk, role="moderator")

    assert policy.can_mention_everyone(alice, room)
    assert policy.can_mention_everyone(bob, room)
    assert not policy.can_mention_everyone(factories.make_user("zed"), room)
