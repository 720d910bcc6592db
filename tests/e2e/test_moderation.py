"""Moderation in a real browser: the audit log of a moderator's actions."""

from __future__ import annotations

from typing import Any

import pytest

from chat.models import AuditEntry
from chat.tests import factories
from tests.e2e.conftest import Browser
from tests.e2e.pages import expect, wait_for_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_moderator_mutes_someone_and_reads_it_in_the_audit_log(
    browser: Browser, alice: Any, bob: Any
) -> None:
    room = factories.make_room(alice, name="Seminar", members=[bob])
    moderator = browser.sign_in("alice", next_path=f"/rooms/{room.pk}/")
    page = moderator.page
    wait_for_room(moderator, "Seminar")
    page.get_by_role("button", name="Participants").click()

    page.get_by_role("button", name="Mute Bob").click()
    expect(page.get_by_role("button", name="Unmute Bob")).to_be_visible()
    page.get_by_role("button", name="Audit log").click()

    log = page.get_by_role("list", name="Audit log")
    expect(log.locator("li").first).to_contain_text("Alice muted Bob")
    expect(log.locator("li").first).to_contain_text("web")
    moderator.screenshot("moderation-audit-log")
    assert AuditEntry.objects.get(room=room).via == "rest"
    browser.assert_no_console_errors()


def test_a_member_has_no_moderation_section(browser: Browser, alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, name="Seminar", members=[bob])
    member = browser.sign_in("bob", next_path=f"/rooms/{room.pk}/")
    wait_for_room(member, "Seminar")
    member.page.get_by_role("button", name="Participants").click()

    expect(member.page.locator("#participant-list li")).to_have_count(2)
    expect(member.page.get_by_role("button", name="Audit log")).to_be_hidden()
    browser.assert_no_console_errors()
