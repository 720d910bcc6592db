"""The office-hours queue in a real browser: the instructor opens office hours,
two students queue and see their places move, the instructor takes the next
one and both land in a new private room."""

from __future__ import annotations

from typing import Any

import pytest

from chat.tests import factories
from tests.e2e.conftest import Browser
from tests.e2e.pages import expect, message, send, wait_for_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_students_queue_and_the_instructor_takes_the_next_into_a_private_room(
    browser: Browser, course: Any
) -> None:
    room = factories.course_room(course)
    path = f"/rooms/{room.pk}/"
    teacher = browser.sign_in("ines", next_path=path)
    alice = browser.sign_in("alice", next_path=path)
    bob = browser.sign_in("bob", next_path=path)
    for user_page in (teacher, alice, bob):
        wait_for_room(user_page, room.name)
    expect(alice.page.locator("#queue")).to_be_hidden()

    teacher.page.get_by_role("button", name="Open office hours").click()
    panel = alice.page.get_by_role("region", name="Office hours")
    expect(panel).to_contain_text("Office hours are open · 0 waiting")
    panel.get_by_role("button", name="Join queue").click()
    expect(panel).to_contain_text("1 waiting · You are number 1")
    bob_panel = bob.page.get_by_role("region", name="Office hours")
    bob_panel.get_by_role("button", name="Join queue").click()
    expect(bob_panel).to_contain_text("2 waiting · You are number 2")
    teacher_panel = teacher.page.get_by_role("region", name="Office hours")
    expect(teacher_panel.get_by_role("list", name="Waiting").get_by_role("listitem")).to_have_text(
        ["Alice", "Bob"]
    )
    expect(alice.page.get_by_role("list", name="Waiting")).to_be_hidden()  # no names
    bob.screenshot("queue-student")

    panel.get_by_role("button", name="Leave queue").click()
    expect(bob_panel).to_contain_text("1 waiting · You are number 1")
    teacher_panel.get_by_role("button", name="Take next").click()

    title = "Office hours: Bob with Ines the Instructor"
    expect(teacher.page.locator("#room-title")).to_have_text(title)
    expect(bob.page.locator("#room-title")).to_have_text(title)
    wait_for_room(bob, title)
    wait_for_room(teacher, title)
    send(bob, "Thanks for seeing me!")
    expect(message(teacher, "Thanks for seeing me!")).to_have_count(1)
    teacher.screenshot("queue-private-room")
    browser.assert_no_console_errors()
