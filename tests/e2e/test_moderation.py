"""Moderation in a real browser: the audit log, slow mode, bans and reports."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chat.models import AuditEntry, MessageReport, RoomBan
from chat.tests import factories
from tests.e2e.conftest import Browser
from tests.e2e.pages import composer, expect, message, send, wait_for_room

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


def test_slow_mode_set_by_a_moderator_counts_down_in_a_members_composer(
    browser: Browser, alice: Any, bob: Any
) -> None:
    room = factories.make_room(alice, name="Seminar", members=[bob])
    moderator = browser.sign_in("alice", next_path=f"/rooms/{room.pk}/")
    member = browser.sign_in("bob", next_path=f"/rooms/{room.pk}/")
    wait_for_room(moderator, "Seminar")
    wait_for_room(member, "Seminar")
    moderator.page.get_by_role("button", name="Participants").click()

    moderator.page.get_by_label("Slow mode").select_option("30")
    expect(member.page.locator("#room-meta")).to_contain_text("Slow mode 30 s")
    send(member, "First thought")
    expect(message(member, "First thought")).to_be_visible()

    note = member.page.locator("#composer-note")
    expect(note).to_contain_text("Slow mode: you can send again in")
    composer(member).fill("Second thought")
    expect(member.page.get_by_role("button", name="Send")).to_be_disabled()
    member.screenshot("moderation-slow-mode")
    room.refresh_from_db()
    assert room.slow_mode_seconds == 30
    browser.assert_no_console_errors()


def test_a_moderator_bans_a_member_who_loses_the_room_then_lifts_the_ban(
    browser: Browser, alice: Any, bob: Any
) -> None:
    room = factories.make_room(alice, name="Seminar", members=[bob])
    moderator = browser.sign_in("alice", next_path=f"/rooms/{room.pk}/")
    member = browser.sign_in("bob", next_path=f"/rooms/{room.pk}/")
    wait_for_room(moderator, "Seminar")
    wait_for_room(member, "Seminar")
    page = moderator.page
    page.get_by_role("button", name="Participants").click()

    page.get_by_role("button", name="Ban Bob from the room").click()
    expect(member.page.locator("#composer-note")).to_have_text(
        "You no longer have access to this room."
    )
    expect(page.locator("#participant-list li")).to_have_count(1)
    page.get_by_role("button", name="Bans").click()
    bans = page.get_by_role("list", name="Banned users")
    expect(bans).to_contain_text("Bob")
    moderator.screenshot("moderation-bans")
    page.get_by_role("button", name="Unban Bob").click()
    expect(bans).to_contain_text("Nobody is banned.")

    assert not RoomBan.objects.exists()
    assert [e.action for e in AuditEntry.objects.order_by("id")] == ["ban", "unban"]
    browser.assert_no_console_errors()


def test_a_member_reports_a_message_and_a_moderator_hides_it_from_the_queue(
    browser: Browser, alice: Any, bob: Any, charlie: Any
) -> None:
    room = factories.make_room(alice, name="Seminar", members=[bob, charlie])
    factories.make_message(charlie, room, "Buy essays at cheap-essays.example")
    moderator = browser.sign_in("alice", next_path=f"/rooms/{room.pk}/")
    reporter = browser.sign_in("bob", next_path=f"/rooms/{room.pk}/")
    wait_for_room(moderator, "Seminar")
    wait_for_room(reporter, "Seminar")
    moderator.page.get_by_role("button", name="Participants").click()

    spam = message(reporter, "Buy essays")
    spam.hover()
    spam.get_by_role("button", name="Report message").click()
    dialog = reporter.page.get_by_role("dialog", name="Report this message")
    dialog.get_by_label("Spam").check()
    dialog.get_by_label("Note").fill("Same link in every room")
    reporter.screenshot("moderation-report-dialog")
    dialog.get_by_role("button", name="Report").click()
    expect(dialog).to_be_hidden()

    queue = moderator.page.get_by_role("list", name="Open reports")
    expect(queue).to_contain_text("Buy essays")
    expect(queue).to_contain_text("reported by Bob")
    expect(queue).to_contain_text("Same link in every room")
    moderator.screenshot("moderation-reports-queue")
    queue.get_by_role("button", name=re.compile("^Hide message")).click()

    expect(queue).to_contain_text("No open reports.")
    expect(message(reporter, "Buy essays")).to_have_count(0)
    report_row = MessageReport.objects.get()
    assert (report_row.reporter, report_row.resolution) == (bob, "hide")
    browser.assert_no_console_errors()


def test_the_admin_of_a_private_room_invites_someone_by_username(
    browser: Browser, alice: Any, bob: Any, charlie: Any
) -> None:
    from chat.models import ChatParticipant

    room = factories.make_room(alice, chat_type="private", name="Study pair", members=[bob])
    admin = browser.sign_in("alice", next_path=f"/rooms/{room.pk}/")
    member = browser.sign_in("bob", next_path=f"/rooms/{room.pk}/")
    wait_for_room(admin, "Study pair")
    wait_for_room(member, "Study pair")
    page = admin.page
    page.get_by_role("button", name="Participants").click()
    member.page.get_by_role("button", name="Participants").click()
    expect(member.page.get_by_label("Invite by username")).to_be_hidden()  # not a moderator

    field = page.get_by_label("Invite by username")
    admin.allowed.append(lambda text, url: "status of 400" in text and "/participants/" in url)
    field.fill("nobody")
    page.get_by_role("button", name="Invite", exact=True).click()
    expect(page.locator("#toasts")).to_contain_text("No such user")
    field.fill("charlie")
    page.get_by_role("button", name="Invite", exact=True).click()

    expect(page.locator("#participant-list")).to_contain_text("Charlie")
    expect(field).to_have_value("")
    expect(message(member, "Alice added Charlie.")).to_have_count(1)
    assert ChatParticipant.objects.get(room=room, user=charlie).is_active
    invited = browser.sign_in("charlie", next_path=f"/rooms/{room.pk}/")
    wait_for_room(invited, "Study pair")
    expect(composer(invited)).to_be_enabled()
    browser.assert_no_console_errors()
