"""Desktop notifications in a real browser: asked for only on a click, remembered,
shown while the tab is hidden, silenced per room; the unread count in the tab title
and on the favicon.

Chromium runs headless, so the Notification API is stood in by a recorder (an init
script) and the tab's visibility is switched by the test.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from chat.models import ChatParticipant
from chat.tests import factories
from tests.e2e.conftest import Browser, UserPage
from tests.e2e.pages import expect, send, wait_for_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NOTIFICATION_STUB = """
window.__shown = [];
window.__asked = 0;
class RecordedNotification extends EventTarget {
  static permission = "default";
  static async requestPermission() {
    window.__asked += 1;
    RecordedNotification.permission = "granted";
    return "granted";
  }
  constructor(title, options = {}) {
    super();
    window.__shown.push({ title, body: options.body || "", tag: options.tag || "" });
  }
  close() {}
}
window.Notification = RecordedNotification;
if (window.localStorage.getItem("academia.notifications") === "on") {
  RecordedNotification.permission = "granted";
}
let tabHidden = false;
Object.defineProperty(document, "visibilityState", {
  get: () => (tabHidden ? "hidden" : "visible"),
});
Object.defineProperty(document, "hidden", { get: () => tabHidden });
window.__setHidden = (value) => {
  tabHidden = value;
  document.dispatchEvent(new Event("visibilitychange"));
};
"""


def shown(user_page: UserPage) -> list[dict[str, str]]:
    return user_page.page.evaluate("() => window.__shown")


def set_hidden(user_page: UserPage, value: bool) -> None:
    user_page.page.evaluate("(value) => window.__setHidden(value)", value)


def wait_for_shown(user_page: UserPage, count: int) -> list[dict[str, str]]:
    user_page.page.wait_for_function("(count) => window.__shown.length >= count", arg=count)
    return shown(user_page)


def test_notifications_are_asked_for_on_a_click_and_follow_the_room_mute(
    browser: Browser, alice: Any, bob: Any
) -> None:
    study = factories.make_room(alice, chat_type="private", name="Study", members=[bob])
    lounge = factories.make_room(alice, chat_type="private", name="Lounge", members=[bob])
    alice_page = browser.sign_in("alice", next_path=f"/rooms/{study.pk}/")
    page = alice_page.page
    page.context.add_init_script(NOTIFICATION_STUB)
    page.reload()
    wait_for_room(alice_page, "Study")

    # Nothing is asked on load; the control asks once and is remembered.
    toggle = page.get_by_role("button", name="Enable desktop notifications")
    expect(toggle).to_be_visible()
    assert page.evaluate("() => [window.__asked, Notification.permission]") == [0, "default"]
    toggle.click()
    expect(page.get_by_role("button", name="Desktop notifications on")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.reload()
    wait_for_room(alice_page, "Study")
    expect(page.get_by_role("button", name="Desktop notifications on")).to_be_visible()
    assert page.evaluate("() => window.__asked") == 0

    bob_page = browser.sign_in("bob", next_path=f"/rooms/{lounge.pk}/")
    wait_for_room(bob_page, "Lounge")

    # Hidden tab: a message in another room, then a mention in the open one.
    set_hidden(alice_page, True)
    send(bob_page, "Anyone up for coffee?")
    first = wait_for_shown(alice_page, 1)
    assert first[0] == {
        "title": "Lounge",
        "body": "1 unread message",
        "tag": f"academia-room-{lounge.pk}",
    }
    expect(page).to_have_title("(1) Study · Academia Chat")
    bob_page.page.goto(f"/rooms/{study.pk}/")
    wait_for_room(bob_page, "Study")
    send(bob_page, "@alice the notes are up")
    texts = {(item["title"], item["body"]) for item in wait_for_shown(alice_page, 2)}
    assert ("Bob in Study", "@alice the notes are up") in texts
    expect(page).to_have_title("(2) Study · Academia Chat")
    expect(page.locator('link[rel="icon"]')).to_have_attribute("data-badge", "2")
    assert page.locator('link[rel="icon"]').get_attribute("href").startswith("data:image/png")

    # Back on the tab: the open room's messages are seen, Lounge's still count.
    set_hidden(alice_page, False)
    expect(page).to_have_title("(1) Study · Academia Chat")
    alice_page.screenshot("notifications-unread-title")

    # Mute Lounge: no more notifications from it, and it leaves the count.
    page.get_by_role("link", name=re.compile(r"^Lounge, ")).click()
    wait_for_room(alice_page, "Lounge")
    page.get_by_role("button", name="Mute notifications").click()
    expect(page.get_by_role("button", name="Unmute notifications")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert ChatParticipant.objects.get(room=lounge, user=alice).notifications_muted is True
    lounge_link = page.get_by_role("link", name=re.compile(r"^Lounge, "))
    expect(lounge_link).to_have_attribute("aria-label", re.compile("notifications muted"))
    page.get_by_role("link", name=re.compile(r"^Study, ")).click()
    wait_for_room(alice_page, "Study")
    before = len(shown(alice_page))
    set_hidden(alice_page, True)
    bob_page.page.goto(f"/rooms/{lounge.pk}/")
    wait_for_room(bob_page, "Lounge")
    send(bob_page, "Muted, so quiet")
    expect(lounge_link).to_have_attribute("aria-label", re.compile(r"muted, \d+ unread$"))
    counted = lounge_link.get_attribute("aria-label")
    send(bob_page, "Still quiet")
    expect(lounge_link).not_to_have_attribute("aria-label", counted)
    assert len(shown(alice_page)) == before
    expect(page).to_have_title("Study · Academia Chat")

    # A mention is addressed to her: it notifies even from a muted room.
    send(bob_page, "@alice one question though")
    mention = wait_for_shown(alice_page, before + 1)[before]
    assert (mention["title"], mention["body"]) == (
        "Bob mentioned you in Lounge",
        "@alice one question though",
    )
    browser.assert_no_console_errors()
