"""Search and threads in a real browser: find a message in another room and open
it in place; follow a thread."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chat import services
from chat.tests import factories
from tests.e2e.conftest import Browser
from tests.e2e.pages import expect, message, wait_for_room

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


def test_a_thread_opens_from_its_parent_and_a_reply_in_it_updates_everyone(
    browser: Browser, alice: Any, bob: Any, charlie: Any
) -> None:
    room = factories.make_room(alice, name="Physics", members=[bob, charlie])
    question = factories.make_message(bob, room, "Why is the sky blue?")
    services.message_send(
        actor=charlie, room=question.room, content="Rayleigh scattering", reply_to=question.pk
    )

    asker = browser.sign_in("bob", next_path=f"/rooms/{room.pk}/")
    wait_for_room(asker, "Physics")
    other_device = browser.sign_in("bob", next_path=f"/rooms/{room.pk}/")
    wait_for_room(other_device, "Physics")
    helper = browser.sign_in("alice", next_path=f"/rooms/{room.pk}/")
    wait_for_room(helper, "Physics")
    page = helper.page
    parent = message(helper, "Why is the sky blue?")
    link = parent.get_by_role("button", name=re.compile(r"^1 reply · last reply"))
    expect(link).to_be_visible()

    link.click()

    panel = page.get_by_role("complementary", name="Thread")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("list", name="Thread start")).to_contain_text("Why is the sky blue?")
    expect(panel.get_by_role("list", name="Replies")).to_contain_text("Rayleigh scattering")
    box = panel.get_by_label("Reply in thread")
    box.fill("Shorter wavelengths scatter more")
    box.press("Enter")

    expect(panel.get_by_role("list", name="Replies")).to_contain_text(
        "Shorter wavelengths scatter more"
    )
    expect(parent.get_by_role("button", name=re.compile(r"^2 replies"))).to_be_visible()
    helper.screenshot("thread-panel")
    # The asker sees the count change live, and the two replies they have not read.
    asked = message(asker, "Why is the sky blue?")
    expect(asked.get_by_role("button", name=re.compile(r"^2 replies .*2 new$"))).to_be_visible()
    unread_here = re.compile(r"^2 replies .*2 new$")
    expect(
        message(other_device, "Why is the sky blue?").get_by_role("button", name=unread_here)
    ).to_be_visible()
    asked.get_by_role("button", name=re.compile(r"^2 replies")).click()
    # Opening the thread reads it.
    read = re.compile(r"^2 replies · last reply (?!.*new).*$")
    expect(asked.get_by_role("button", name=read)).to_be_visible()
    # ...and the asker's other device follows (thread.read on its socket).
    elsewhere = message(other_device, "Why is the sky blue?")
    expect(elsewhere.get_by_role("button", name=read)).to_be_visible()


def test_escape_closes_the_open_panel_or_results_wherever_the_focus_is(
    browser: Browser, alice: Any, bob: Any
) -> None:
    room = factories.make_room(alice, name="Physics", members=[bob])
    question = factories.make_message(bob, room, "Why is the sky blue?")
    services.message_send(actor=alice, room=room, content="Rayleigh", reply_to=question.pk)
    user = browser.sign_in("alice", next_path=f"/rooms/{room.pk}/")
    wait_for_room(user, "Physics")
    page = user.page
    elsewhere = page.locator("#messages")

    page.get_by_role("button", name="Participants").click()  # the focus stays on the button
    panel = page.locator("#participants")
    expect(panel).to_be_visible()
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()

    message(user, "Why is the sky blue?").get_by_role(
        "button", name=re.compile(r"^1 reply")
    ).click()
    thread = page.get_by_role("complementary", name="Thread")
    expect(thread).to_be_visible()
    elsewhere.click()
    page.keyboard.press("Escape")
    expect(thread).to_be_hidden()

    page.get_by_role("searchbox", name="Search messages").fill("sky")
    results = page.locator("#search-results")
    expect(results).to_be_visible()
    elsewhere.click()
    page.keyboard.press("Escape")
    expect(results).to_be_hidden()
    browser.assert_no_console_errors()


def test_a_thread_one_replied_in_counts_new_replies_live(
    browser: Browser, alice: Any, bob: Any, charlie: Any
) -> None:
    room = factories.make_room(alice, name="Physics", members=[bob, charlie])
    question = factories.make_message(alice, room, "Why is the sky blue?")
    services.message_send(actor=alice, room=room, content="Any idea?", reply_to=question.pk)
    follower = browser.sign_in("bob", next_path=f"/rooms/{room.pk}/")
    wait_for_room(follower, "Physics")
    answerer = browser.sign_in("charlie", next_path=f"/rooms/{room.pk}/")
    wait_for_room(answerer, "Physics")

    parent = message(follower, "Why is the sky blue?")
    parent.get_by_role("button", name=re.compile(r"^1 reply")).click()
    box = follower.page.get_by_label("Reply in thread")
    box.fill("Me too, I wonder")
    box.press("Enter")
    expect(parent.get_by_role("button", name=re.compile(r"^2 replies"))).to_be_visible()
    box.press("Escape")  # the panel closes; bob now follows the thread
    expect(follower.page.get_by_role("complementary", name="Thread")).to_be_hidden()

    theirs = message(answerer, "Why is the sky blue?")
    theirs.get_by_role("button", name=re.compile(r"^2 replies")).click()
    answer = answerer.page.get_by_label("Reply in thread")
    answer.fill("Rayleigh scattering")
    answer.press("Enter")

    expect(parent.locator(".msg__thread-new")).to_have_text("1 new")
    browser.assert_no_console_errors()


def test_a_thread_reply_sent_while_offline_shows_in_the_panel_then_arrives_once(
    browser: Browser, alice: Any, bob: Any
) -> None:
    room = factories.make_room(alice, name="Physics", members=[bob])
    question = factories.make_message(bob, room, "Why is the sky blue?")
    services.message_send(actor=bob, room=room, content="Any idea?", reply_to=question.pk)
    user = browser.sign_in("alice", next_path=f"/rooms/{room.pk}/")
    wait_for_room(user, "Physics")
    prefix = f"WebSocket connection to 'ws://127.0.0.1:{browser.server.port}/ws/"
    user.allowed.append(lambda text, url: text.startswith(prefix))
    user.allowed.append(lambda text, url: "ERR_CONNECTION_REFUSED" in text)  # while it is down
    message(user, "Why is the sky blue?").get_by_role(
        "button", name=re.compile(r"^1 reply")
    ).click()
    replies = user.page.get_by_role("complementary", name="Thread").get_by_role(
        "list", name="Replies"
    )
    expect(replies).to_contain_text("Any idea?")

    browser.server.kill()
    expect(user.page.locator("#connection-banner")).to_have_text("Reconnecting…")
    box = user.page.get_by_label("Reply in thread")
    box.fill("Rayleigh scattering")
    box.press("Enter")
    expect(replies.locator("li.msg--pending")).to_contain_text("Rayleigh scattering")

    browser.server.start()
    expect(user.page.locator("#connection-banner")).to_have_text("Back online", timeout=30_000)
    expect(replies.locator("li", has_text="Rayleigh scattering")).to_have_count(1)
    expect(replies.locator("li.msg--pending")).to_have_count(0)
    browser.assert_no_console_errors()
