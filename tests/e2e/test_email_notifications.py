"""Offline email notifications in a real browser: the viewer's choice under their
name (saved on the server, shown again after a reload), an email's link to a
message opening the room at that message, and its unsubscribe link."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from chat.models import ChatMessage, EmailPreference
from chat.services import email_notifications
from chat.tests import factories
from tests.e2e.conftest import Browser
from tests.e2e.pages import expect, wait_for_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def stored_mode(user: Any) -> str | None:
    return EmailPreference.objects.filter(user=user).values_list("mode", flat=True).first()


def test_the_email_choice_is_saved_and_an_emails_link_opens_the_message(
    browser: Browser, alice: Any, bob: Any
) -> None:
    bob.email = "bob@example.edu"
    bob.save(update_fields=["email"])
    room = factories.make_room(alice, chat_type="private", name="Proofs", members=[bob])
    target = factories.make_message(alice, room, "@bob the lemma you asked about")
    ChatMessage.objects.bulk_create(
        [
            ChatMessage(
                room=room, sender=alice, content=f"later message {n}", created_at=timezone.now()
            )
            for n in range(80)
        ]
    )
    bob_page = browser.sign_in("bob", next_path=f"/rooms/{room.pk}/?message={target.pk}")
    page = bob_page.page
    wait_for_room(bob_page, "Proofs")

    # The email's link: the history around the mentioned message, which is highlighted
    # (the newest page of 50 would not even hold it).
    found = page.locator("#message-list li.msg--found")
    expect(found).to_contain_text("the lemma you asked about")
    expect(found).to_be_in_viewport()

    choice = page.get_by_label("Email notifications")
    expect(choice).to_be_visible()
    expect(choice).to_have_value("batched")
    assert stored_mode(bob) is None  # nothing stored until the viewer chooses

    choice.select_option("never")
    expect(page.locator(".toast", has_text="Email notifications saved.")).to_be_visible()
    page.wait_for_function("() => !document.querySelector('#email-notifications').disabled")
    assert stored_mode(bob) == "never"

    page.reload()
    wait_for_room(bob_page, "Proofs")
    expect(page.get_by_label("Email notifications")).to_have_value("never")
    page.get_by_label("Email notifications").select_option("immediately")
    expect(page.locator(".toast", has_text="Email notifications saved.")).to_have_count(1)
    page.wait_for_function(
        "() => document.querySelector('#email-notifications').dataset.saved === 'immediately'"
    )
    assert stored_mode(bob) == "immediately"
    bob_page.screenshot("email-notifications-choice")

    # An email's unsubscribe link: a page that asks first, then turns the emails off.
    page.goto(f"/email/unsubscribe/{email_notifications.unsubscribe_token(bob)}/")
    expect(page.get_by_text("bob@example.edu", exact=False)).to_be_visible()
    assert stored_mode(bob) == "immediately"
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.locator("#unsubscribe-done")).to_contain_text("no more notification emails")
    assert stored_mode(bob) == "never"
    bob_page.screenshot("email-unsubscribed")
    browser.assert_no_console_errors()
