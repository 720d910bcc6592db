"""Small helpers the browser tests share: locating messages, sending, waiting for a room."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import UserPage


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def message(user_page: UserPage, text: str) -> Any:
    return user_page.page.locator("#message-list li.msg", has_text=text)


def exact_text(user_page: UserPage, text: str) -> Any:
    return user_page.page.locator("#message-list").get_by_text(text, exact=True)


def composer(user_page: UserPage) -> Any:
    return user_page.page.get_by_role("textbox", name="Message", exact=True)


def send(user_page: UserPage, text: str) -> None:
    box = user_page.page.get_by_label("Message", exact=True)
    box.fill(text)
    box.press("Enter")


def wait_for_room(user_page: UserPage, name: str) -> None:
    page = user_page.page
    expect(page.locator("#room-title")).to_have_text(name)
    expect(page.locator("#connection-banner")).to_be_hidden()
    page.wait_for_function(
        "() => !document.querySelector('#composer-input').disabled"
        " && document.querySelector('#room-meta').textContent.length > 0"
    )
