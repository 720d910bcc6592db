"""Private questions to staff on the page: a student asks, the instructor answers from
the queue, the student reads the answer; a classmate sees none of it."""

from __future__ import annotations

from typing import Any

import pytest

from chat.tests import factories
from tests.e2e.conftest import Browser
from tests.e2e.pages import expect, wait_for_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_student_asks_the_staff_privately_and_reads_the_answer(
    browser: Browser, course: Any
) -> None:
    room = factories.course_room(course)
    path = f"/rooms/{room.pk}/"
    alice = browser.sign_in("alice", next_path=path)
    bob = browser.sign_in("bob", next_path=path)
    ines = browser.sign_in("ines", next_path=path)
    for user_page in (alice, bob, ines):
        wait_for_room(user_page, room.name)

    alice.page.get_by_role("button", name="Ask staff privately").click()
    asking = alice.page.get_by_role("dialog", name="Ask the staff privately")
    asking.get_by_label("Only the course staff will see").fill("May I hand in the lab late?")
    asking.get_by_role("button", name="Ask privately").click()
    mine = asking.locator(".staff-question", has_text="May I hand in the lab late?")
    expect(mine).to_contain_text("Waiting for an answer")
    expect(asking.locator("#staff-questions-list[aria-busy]")).to_have_count(0)

    # The instructor hears of it on the presence socket and answers from the queue.
    expect(ines.page.get_by_text("Alice asked the staff privately")).to_be_visible()
    ines.page.get_by_role("button", name="Private questions").click()
    queue = ines.page.get_by_role("dialog", name="Private questions to staff")
    queue.get_by_role("radio", name="Open").check()
    expect(queue.locator("#staff-questions-list[aria-busy]")).to_have_count(0)
    item = queue.locator(".staff-question", has_text="May I hand in the lab late?")
    item.get_by_label("Answer Alice").fill("Yes, until **Monday**.")
    item.get_by_role("button", name="Answer").click()
    expect(queue.get_by_text("No private questions here.")).to_be_visible()

    expect(alice.page.get_by_text("The staff answered your private question")).to_be_visible()
    expect(mine.locator(".staff-question__answer")).to_contain_text("Yes, until Monday.")
    expect(mine.locator(".staff-question__answer strong")).to_have_text("Monday")
    alice.screenshot("staff-question-answered")

    # The classmate's view of the room holds none of it, and their own list is empty.
    expect(bob.page.get_by_text("May I hand in the lab late?")).to_have_count(0)
    bob.page.get_by_role("button", name="Ask staff privately").click()
    bob_dialog = bob.page.get_by_role("dialog", name="Ask the staff privately")
    expect(bob_dialog.get_by_text("No private questions here.")).to_be_visible()
    expect(bob.page.get_by_text("May I hand in the lab late?")).to_have_count(0)
    browser.assert_no_console_errors()
