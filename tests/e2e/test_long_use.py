"""The page for long use, in a real browser under the Content-Security-Policy: dark
mode, the emoji picker, the Markdown preview, dropped and pasted images with a
cancel button, and keyboard shortcuts with their help sheet."""

from __future__ import annotations

import base64
import contextlib
import re
from typing import Any

import pytest

from chat.models import ChatMessage
from chat.tests import factories
from tests.e2e.conftest import Browser, UserPage
from tests.e2e.pages import composer, expect, message, wait_for_room
from tests.e2e.test_chat_page import png_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Builds a DataTransfer holding one PNG (from base64) in the page.
FILES_SCRIPT = """
([data, name]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: "image/png" }));
  return transfer;
}
"""


@pytest.fixture
def rooms(alice: Any, bob: Any) -> dict[str, Any]:
    return {
        name: factories.make_room(alice, chat_type="public", name=name, members=[bob])
        for name in ("Algebra", "Biology", "Chemistry")
    }


def open_room(browser: Browser, username: str, room: Any) -> UserPage:
    user_page = browser.sign_in(username, next_path=f"/rooms/{room.pk}/")
    wait_for_room(user_page, room.name)
    return user_page


def background(user_page: UserPage, selector: str) -> str:
    return user_page.page.locator(selector).evaluate(
        "element => getComputedStyle(element).backgroundColor"
    )


def test_dark_mode_follows_the_system_until_a_choice_is_made_and_remembered(
    browser: Browser, rooms: dict[str, Any]
) -> None:
    alice = open_room(browser, "alice", rooms["Algebra"])
    page = alice.page
    html = page.locator("html")
    expect(html).to_have_attribute("data-theme", "light")
    light = background(alice, "body")

    page.emulate_media(color_scheme="dark")
    expect(html).to_have_attribute("data-theme", "dark")
    assert background(alice, "body") == "rgb(11, 16, 32)" != light
    expect(page.get_by_role("button", name="Theme: system")).to_be_visible()
    alice.screenshot("long-use-dark")

    page.get_by_role("button", name="Theme: system").click()
    expect(page.get_by_role("button", name="Theme: dark")).to_be_visible()
    page.get_by_role("button", name="Theme: dark").click()
    expect(html).to_have_attribute("data-theme", "light")
    page.reload()
    wait_for_room(alice, "Algebra")
    expect(html).to_have_attribute("data-theme", "light")
    expect(page.get_by_role("button", name="Theme: light")).to_be_visible()
    assert background(alice, "body") == light
    browser.assert_no_console_errors()


def test_the_emoji_picker_searches_and_inserts_at_the_caret(
    browser: Browser, rooms: dict[str, Any]
) -> None:
    alice = open_room(browser, "alice", rooms["Algebra"])
    page = alice.page
    box = composer(alice)
    box.fill("Great work")
    box.press("End")

    page.get_by_role("button", name="Insert emoji").click()
    picker = page.get_by_role("dialog", name="Emoji")
    expect(picker).to_be_visible()
    search = page.get_by_label("Search emoji")
    expect(search).to_be_focused()
    search.fill("party popper")
    expect(picker.get_by_role("listitem")).to_have_count(1)
    picker.get_by_role("listitem", name="party popper").click()
    expect(picker).to_be_hidden()
    expect(box).to_have_value("Great work🎉")
    expect(box).to_be_focused()

    page.get_by_role("button", name="Insert emoji").click()
    search.fill("no such emoji at all")
    expect(page.get_by_text("No emoji found.")).to_be_visible()
    search.press("Escape")
    expect(picker).to_be_hidden()
    box.press("Enter")
    expect(message(alice, "Great work🎉")).to_have_count(1)
    browser.assert_no_console_errors()


def test_the_markdown_preview_is_the_servers_rendering(
    browser: Browser, rooms: dict[str, Any], bob: Any
) -> None:
    alice = open_room(browser, "alice", rooms["Algebra"])
    page = alice.page
    preview = page.get_by_label("Preview", exact=True)
    expect(preview).to_be_hidden()

    page.get_by_role("button", name="Preview").click()
    expect(preview).to_contain_text("Nothing to preview yet.")
    composer(alice).fill("**Bold** claim for @bob :tada: and `code`")
    expect(preview.locator("strong")).to_have_text("Bold")
    expect(preview.locator("code")).to_have_text("code")
    expect(preview.locator(f'[data-user-id="{bob.pk}"]')).to_have_text("@bob")
    expect(preview).to_contain_text("🎉")
    preview_html = preview.locator("#composer-preview-body").inner_html()

    composer(alice).press("Enter")
    expect(preview).to_contain_text("Nothing to preview yet.")
    stored = ChatMessage.objects.get(room=rooms["Algebra"], message_type="text")
    assert preview_html == stored.content_html
    page.get_by_role("button", name="Hide preview").click()
    expect(preview).to_be_hidden()
    browser.assert_no_console_errors()


def test_dropped_and_pasted_images_upload_and_an_upload_can_be_cancelled(
    browser: Browser, rooms: dict[str, Any]
) -> None:
    room = rooms["Biology"]
    alice = open_room(browser, "alice", room)
    page = alice.page
    data = base64.b64encode(png_bytes(120, 80)).decode()

    transfer = page.evaluate_handle(FILES_SCRIPT, [data, "dropped.png"])
    page.dispatch_event("#messages", "dragenter", {"dataTransfer": transfer})
    expect(page.locator("#room")).to_have_class(re.compile("room--dropping"))
    page.dispatch_event("#messages", "drop", {"dataTransfer": transfer})
    expect(page.locator("#room")).not_to_have_class(re.compile("room--dropping"))
    expect(page.locator("#message-list .msg__image img")).to_have_count(1)

    pasted = page.evaluate_handle(FILES_SCRIPT, [data, "pasted.png"])
    composer(alice).evaluate(
        "(box, transfer) => box.dispatchEvent(new ClipboardEvent('paste',"
        " { clipboardData: transfer, bubbles: true, cancelable: true }))",
        pasted,
    )
    expect(page.locator("#message-list .msg__image img")).to_have_count(2)
    names = set(
        ChatMessage.objects.filter(room=room, message_type="image").values_list(
            "file_name", flat=True
        )
    )
    assert names == {"dropped.png", "pasted.png"}

    # An upload held on its way: Cancel aborts it and nothing is stored.
    held: list[Any] = []
    page.route("**/chat/messages/", lambda route: held.append(route))
    slow = page.evaluate_handle(FILES_SCRIPT, [data, "cancelled.png"])
    page.dispatch_event("#messages", "drop", {"dataTransfer": slow})
    cancel = page.get_by_role("button", name="Cancel upload")
    expect(cancel).to_be_visible()
    expect(page.locator("#upload-name")).to_contain_text("cancelled.png")
    cancel.click()
    expect(page.locator("#upload")).to_be_hidden()
    expect(page.get_by_text("Upload of cancelled.png cancelled.")).to_be_visible()
    page.unroute("**/chat/messages/")
    for route in held:
        # The page already dropped the request; the route may be gone with it.
        with contextlib.suppress(Exception):
            route.abort()
    assert not ChatMessage.objects.filter(room=room, file_name="cancelled.png").exists()
    assert ChatMessage.objects.filter(room=room, message_type="image").count() == 2
    browser.assert_no_console_errors()


def test_keyboard_shortcuts_and_their_help_sheet(browser: Browser, rooms: dict[str, Any]) -> None:
    alice = open_room(browser, "alice", rooms["Algebra"])
    page = alice.page
    page.locator("#room-title").click()

    page.keyboard.press("?")
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("Jump to a room")
    alice.screenshot("long-use-shortcuts")
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()

    # "?" typed in the composer is text, not a shortcut.
    composer(alice).press("?")
    expect(sheet).to_be_hidden()
    expect(composer(alice)).to_have_value("?")
    composer(alice).fill("")

    page.keyboard.press("Control+k")
    room_filter = page.get_by_label("Find a room")
    expect(room_filter).to_be_focused()
    room_filter.fill("chem")
    room_filter.press("Enter")
    wait_for_room(alice, "Chemistry")
    assert page.url.endswith(f"/rooms/{rooms['Chemistry'].pk}/")

    listed = page.locator("#room-list a[data-room-id]").evaluate_all(
        "links => links.map((link) => link.querySelector('.room-link__name').textContent)"
    )
    here = listed.index("Chemistry")
    page.keyboard.press("Alt+ArrowDown")
    wait_for_room(alice, listed[(here + 1) % len(listed)])
    page.keyboard.press("Alt+ArrowUp")
    wait_for_room(alice, "Chemistry")

    page.get_by_role("button", name="? Shortcuts").click()
    expect(sheet).to_be_visible()
    sheet.get_by_role("button", name="Close").click()
    expect(sheet).to_be_hidden()
    browser.assert_no_console_errors()
