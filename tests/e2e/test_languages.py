"""The page in German for a German browser, and the user menu's language chooser."""

from __future__ import annotations

from typing import Any

import pytest

from chat.tests import factories
from tests.e2e.conftest import Browser
from tests.e2e.pages import expect, message, wait_for_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def study_room(alice: Any, bob: Any) -> Any:
    room = factories.make_room(alice, chat_type="public", name="Study group", members=[bob])
    factories.make_message(bob, room, "Hallo zusammen")
    factories.make_message(alice, room, "Willkommen!")
    return room


def test_a_german_browser_sees_the_german_page(browser: Browser, study_room: Any) -> None:
    bob = browser.sign_in("bob", next_path=f"/rooms/{study_room.pk}/", locale="de-DE")
    page = bob.page
    wait_for_room(bob, "Study group")

    expect(page.locator("html")).to_have_attribute("lang", "de")
    # The templates' words.
    expect(page.get_by_placeholder("Schreib eine Nachricht…")).to_be_visible()
    expect(page.get_by_role("button", name="Senden", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Neuer Raum")).to_be_visible()
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    # The modules' words, from the JavaScript catalogue.
    expect(page.locator("#room-meta")).to_contain_text("Öffentlich · 2 Mitglieder")
    expect(page.locator("#theme-toggle")).to_have_text("Design: System")
    mine = message(bob, "Hallo zusammen")
    mine.hover()
    expect(mine.get_by_role("button", name="Nachricht bearbeiten")).to_be_visible()
    expect(mine.get_by_role("toolbar", name="Nachrichtenaktionen")).to_be_visible()
    bob.screenshot("page-german")

    # A toast.
    page.get_by_role("button", name="Verlassen").click()
    expect(page.locator("#toasts")).to_contain_text("Du hast Study group verlassen.")
    expect(page.get_by_role("button", name="Raum beitreten")).to_be_visible()
    browser.assert_no_console_errors()


def test_the_language_chooser_switches_the_page_and_is_remembered(
    browser: Browser, study_room: Any, alice: Any
) -> None:
    path = f"/rooms/{study_room.pk}/"
    user = browser.sign_in("alice", next_path=path)
    page = user.page
    wait_for_room(user, "Study group")
    chooser = page.locator("#language-select")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(chooser).to_have_value("")

    chooser.select_option("de")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    wait_for_room(user, "Study group")
    expect(page.get_by_role("button", name="Senden", exact=True)).to_be_visible()
    expect(page.locator("#room-meta")).to_contain_text("Öffentlich")
    alice.refresh_from_db()
    assert alice.language == "de"

    # Remembered: a new visit of an English browser is German.
    page.goto(path)
    wait_for_room(user, "Study group")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#language-select")).to_have_value("de")

    page.locator("#language-select").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    wait_for_room(user, "Study group")
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_visible()
    expect(page.get_by_placeholder("Write a message…")).to_be_visible()
    alice.refresh_from_db()
    assert alice.language == "en"

    page.goto(path)
    wait_for_room(user, "Study group")
    expect(page.locator("#language-select")).to_have_value("en")
    expect(page.locator("#room-meta")).to_contain_text("Public · 2 members")
    browser.assert_no_console_errors()
