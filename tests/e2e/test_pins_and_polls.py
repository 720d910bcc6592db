"""Pinned announcements and polls in a real browser: the instructor pins and
sees who has read it, students see the pinned bar; a poll is posted from the
composer, voted on and closed, live on every page."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chat.models import ChatParticipant
from chat.tests import factories
from tests.e2e.conftest import Browser
from tests.e2e.pages import expect, message, wait_for_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def course_room(course: Any, ines: Any) -> Any:
    room = factories.course_room(course)
    factories.make_message(ines, room, "The midterm is on Friday in room B-204.")
    return room


def wait_until_read(user: Any, room: Any, message_id: int) -> None:
    """Bounded: the user's read marker reaches ``message_id``."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        marker = ChatParticipant.objects.get(room=room, user=user).last_read_message_id
        if marker is not None and marker >= message_id:
            return
        time.sleep(0.1)
    raise AssertionError(f"{user} never read up to {message_id}")


def test_instructor_pins_an_announcement_and_sees_who_has_read_it(
    browser: Browser, course_room: Any, alice: Any
) -> None:
    path = f"/rooms/{course_room.pk}/"
    teacher = browser.sign_in("ines", next_path=path)
    student = browser.sign_in("alice", next_path=path)
    wait_for_room(teacher, course_room.name)
    wait_for_room(student, course_room.name)
    expect(student.page.locator("#pins")).to_be_hidden()
    expect(message(student, "midterm").get_by_role("button", name="Pin message")).to_have_count(0)

    announcement = message(teacher, "The midterm is on Friday")
    announcement.hover()
    announcement.get_by_role("button", name="Pin message").click()

    student_bar = student.page.locator("#pins")
    expect(student_bar).to_be_visible()
    expect(student_bar).to_contain_text("The midterm is on Friday in room B-204.")
    expect(student_bar.locator(".pins__seen")).to_have_count(0)
    teacher_bar = teacher.page.locator("#pins")
    wait_until_read(alice, course_room, int(announcement.get_attribute("data-id")))
    teacher_bar.get_by_role("button", name="Refresh who has seen the pins").click()
    expect(teacher_bar.locator(".pins__seen")).to_have_text("Seen by 1 of 2")  # alice of alice, bob
    teacher.screenshot("pins-seen-by")

    teacher_bar.get_by_role("button", name="Unpin: The midterm is on Friday in room B-204.").click()
    expect(student_bar).to_be_hidden()
    browser.assert_no_console_errors()


def test_a_poll_is_posted_voted_on_live_and_closed(browser: Browser, course_room: Any) -> None:
    path = f"/rooms/{course_room.pk}/"
    teacher = browser.sign_in("ines", next_path=path)
    student = browser.sign_in("alice", next_path=path)
    wait_for_room(teacher, course_room.name)
    wait_for_room(student, course_room.name)
    expect(student.page.get_by_role("button", name="Poll", exact=True)).to_be_hidden()

    teacher.page.get_by_role("button", name="Poll", exact=True).click()
    dialog = teacher.page.get_by_role("dialog", name="Create a poll")
    dialog.get_by_label("Question").fill("Which week suits the review session?")
    dialog.get_by_label("Option 1").fill("Week 6")
    dialog.get_by_label("Option 2").fill("Week 7")
    dialog.get_by_role("button", name="Add an option").click()
    dialog.get_by_label("Option 3").fill("Week 8")
    dialog.get_by_role("button", name="Post poll").click()
    expect(dialog).to_be_hidden()

    poll = message(student, "Which week suits the review session?")
    poll.get_by_role("button", name="Week 7: 0 votes").click()
    expect(poll.get_by_role("button", name="Week 7: 1 vote, your choice")).to_have_count(1)
    teachers_view = message(teacher, "Which week suits the review session?")
    expect(teachers_view.locator(".poll__option", has_text="Week 7")).to_contain_text("1 · 100%")
    expect(teachers_view.locator(".poll__facts")).to_contain_text("1 voter")
    poll.get_by_role("button", name="Week 6: 0 votes").click()  # changes the vote
    expect(teachers_view.locator(".poll__option", has_text="Week 6")).to_contain_text("1 · 100%")
    expect(teachers_view.locator(".poll__option", has_text="Week 7")).to_contain_text("0 · 0%")
    student.screenshot("poll-voted")

    teachers_view.get_by_role("button", name="Close poll").click()
    expect(poll.locator(".poll__facts")).to_contain_text("closed")
    expect(poll.locator("button.poll__option")).to_have_count(0)
    browser.assert_no_console_errors()
