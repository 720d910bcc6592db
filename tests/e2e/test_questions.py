"""Questions and endorsed answers on the page: ask, reply, endorse, the questions view."""

from __future__ import annotations

from typing import Any

import pytest

from chat.tests import factories
from tests.e2e.conftest import Browser
from tests.e2e.pages import composer, expect, message, wait_for_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_student_asks_a_classmate_answers_and_the_instructor_endorses(
    browser: Browser, course: Any
) -> None:
    room = factories.course_room(course)
    path = f"/rooms/{room.pk}/"
    alice = browser.sign_in("alice", next_path=path)
    bob = browser.sign_in("bob", next_path=path)
    ines = browser.sign_in("ines", next_path=path)
    for user_page in (alice, bob, ines):
        wait_for_room(user_page, room.name)

    alice.page.get_by_label("Ask as a question").check()
    composer(alice).fill("What is an eigenvalue?")
    composer(alice).press("Enter")
    question = message(bob, "What is an eigenvalue?")
    expect(question.locator(".badge", has_text="Question")).to_be_visible()
    question.hover()
    question.get_by_role("button", name="Reply").click()
    composer(bob).fill("A scalar λ with Av = λv")
    composer(bob).press("Enter")

    reply = message(ines, "A scalar λ with Av = λv")
    expect(reply).to_be_visible()
    reply.hover()
    reply.get_by_role("button", name="Endorse answer").click()

    asked = message(alice, "What is an eigenvalue?").first
    expect(asked.locator(".badge", has_text="Answered")).to_be_visible()
    expect(asked.locator(".msg__endorsed")).to_contain_text("A scalar λ with Av = λv")
    expect(
        message(alice, "A scalar λ with Av = λv").locator(".badge", has_text="Endorsed answer")
    ).to_be_visible()
    assert (
        message(bob, "A scalar λ with Av = λv").get_by_role("button", name="Endorse answer").count()
        == 0
    )

    alice.page.get_by_role("button", name="Questions").click()
    dialog = alice.page.get_by_role("dialog", name="Questions")
    expect(dialog.get_by_text("No questions here.")).to_be_visible()
    dialog.get_by_role("radio", name="Answered").check()
    item = dialog.locator(".question", has_text="What is an eigenvalue?")
    expect(item).to_contain_text("Endorsed answer")
    expect(item).to_contain_text("A scalar λ with Av = λv")
    alice.screenshot("questions-answered")
    browser.assert_no_console_errors()
