"""Search and threads in a real browser: find a message in another room and open
it in place; follow a thread."""

from __future__ import annotations

from typing import Any

import pytest

from chat.tests import factories
from tests.e2e.conftest import Browser
from tests.e2e.pages import expect, wait_for_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_search_hit_opens_its_room_scrolled_to_the_message_highlighted(
    browser: Browser, alice: Any, bob: Any, charlie: Any
) -> None:
    physics = factories.make_room(alice, name="Physics", members=[bob])
    factories.make_room(alice, name="Lobby", members=[bob])
    secret = factories.make_room(charlie, chat_type="private", name="Secret")
    factories.make_message(charlie, secret, "the quasar in the secret room")
    for n in range(60):
        factories.make_message(alice, physics, f"filler {n}")
    target = factories.make_message(bob, physics, "a <b>quasar</b> is very bright")
    for n in range(60):
        factories.make_message(alice, physics, f"later {n}")

    user = browser.sign_in("alice")
    page = user.page
    page.get_by_role("link", name="Lobby").first.click()
    wait_for_room(user, "Lobby")
    page.get_by_role("searchbox", name="Search messages").fill("quasar")

    results = page.get_by_role("region", name="1 result")
    expect(results).to_be_visible()
    hit = results.get_by_role("listitem").get_by_role("button")
    expect(hit).to_contain_text("Physics · Bob")
    # The text is shown as text, the match marked.
    expect(hit.locator("mark")).to_have_text("quasar")
    expect(hit).to_contain_text("a <b>quasar</b> is very bright")
    user.screenshot("search-results")

    hit.click()

    wait_for_room(user, "Physics")
    found = page.locator(f"#message-{target.pk}")
    expect(found).to_have_class("msg msg--found")
    expect(found).to_be_in_viewport()
    # The history around it: older and newer neighbours, not the newest page.
    expect(page.locator("#message-list")).to_contain_text("filler 59")
    expect(page.locator("#message-list")).to_contain_text("later 0")
    expect(page.locator("#message-list")).not_to_contain_text("later 59")
    user.screenshot("search-hit-opened")
