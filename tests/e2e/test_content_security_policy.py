"""The chat page and the API docs work under the Content-Security-Policy (no violation)."""

from __future__ import annotations

from typing import Any

import pytest

from chat.tests import factories
from tests.e2e.conftest import Browser
from tests.e2e.pages import expect, message, send, wait_for_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_chat_page_and_the_api_docs_run_under_the_policy(
    browser: Browser, alice: Any, bob: Any
) -> None:
    room = factories.make_room(alice, chat_type="public", name="Policy", members=[bob])
    path = f"/rooms/{room.pk}/"

    alice_page = browser.sign_in("alice", next_path=path)
    response = alice_page.page.goto(path)
    assert response is not None
    policy = response.headers["content-security-policy"]
    wait_for_room(alice_page, "Policy")
    send(alice_page, "Under the policy: **bold**, `code` and $a^2 + b^2 = c^2$")
    expect(message(alice_page, "Under the policy:")).to_have_count(1)
    expect(alice_page.page.locator("#connection-banner")).to_be_hidden()

    docs = alice_page.page.goto("/api/docs/")
    assert docs is not None
    expect(alice_page.page.locator("#swagger-ui .information-container")).to_be_visible()

    assert "script-src 'self';" in policy + ";"
    # Swagger UI sets inline styles: its page alone allows them.
    assert docs.headers["content-security-policy"] == policy.replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'"
    )
    browser.assert_no_console_errors()
