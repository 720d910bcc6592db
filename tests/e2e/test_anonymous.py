"""Anonymous posts on the page: a student posts anonymously; a classmate sees the
anonymous classmate, the instructor sees who, the author sees it as theirs, and
composing it sends no typing frame."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chat.tests import factories
from tests.e2e.conftest import Browser
from tests.e2e.pages import composer, expect, message, wait_for_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_student_posts_anonymously_and_only_the_staff_see_who(
    browser: Browser, course: Any
) -> None:
    room = factories.course_room(course)
    path = f"/rooms/{room.pk}/"
    alice = browser.sign_in("alice", next_path=path)
    sent: list[dict[str, Any]] = []
    alice.page.on(
        "websocket",
        lambda socket: socket.on(
            "framesent",
            lambda payload: sent.append(json.loads(payload)) if "{" in payload else None,
        ),
    )
    alice.page.reload()
    bob = browser.sign_in("bob", next_path=path)
    ines = browser.sign_in("ines", next_path=path)
    fetched: list[str] = []  # the instructor learns the author from her socket, not REST
    ines.page.on(
        "request",
        lambda request: (
            fetched.append(request.url)
            if "/chat/messages/" in request.url and request.method == "GET"
            else None
        ),
    )
    for user_page in (alice, bob, ines):
        wait_for_room(user_page, room.name)
    expect(ines.page.get_by_label("Post anonymously to classmates")).to_be_hidden()

    alice.page.get_by_label("Post anonymously to classmates").check()
    composer(alice).press_sequentially("Is the midterm cumulative?")
    composer(alice).press("Enter")

    seen = message(bob, "Is the midterm cumulative?")
    expect(seen.locator(".msg__author")).to_have_text("Anonymous classmate")
    expect(seen).not_to_contain_text("Alice")
    expect(message(ines, "Is the midterm cumulative?").locator(".msg__author")).to_have_text(
        "Anonymous classmate · Alice"
    )
    own = message(alice, "Is the midterm cumulative?")
    expect(own.locator(".msg__author")).to_have_text("Anonymous classmate (you)")
    expect(own).not_to_have_attribute("data-pending", "true")
    assert not [url for url in fetched if "/chat/messages/?" not in url]
    sends = [frame for frame in sent if frame.get("type") == "message.send"]
    assert [frame.get("anonymous") for frame in sends] == [True]
    assert not [f for f in sent if f.get("type") == "typing" and f.get("is_typing")]
    bob.screenshot("anonymous-post-classmate")

    # After a reload the author still sees it as theirs; the classmate still does not.
    bob.page.reload()
    alice.page.reload()
    wait_for_room(bob, room.name)
    wait_for_room(alice, room.name)
    expect(message(alice, "Is the midterm cumulative?").locator(".msg__author")).to_have_text(
        "Anonymous classmate (you)"
    )
    expect(message(bob, "Is the midterm cumulative?")).not_to_contain_text("Alice")

    # Replying to her own anonymous post, the page keeps her anonymous.
    own = message(alice, "Is the midterm cumulative?")
    own.hover()
    own.get_by_role("button", name="Reply").click()
    expect(alice.page.get_by_label("Post anonymously to classmates")).to_be_checked()
    composer(alice).fill("And the final?")
    composer(alice).press("Enter")
    expect(message(bob, "And the final?").locator(".msg__author")).to_have_text(
        "Anonymous classmate"
    )

    # An anonymous question: the questions view names her to the instructor only.
    alice.page.get_by_label("Post anonymously to classmates").check()
    alice.page.get_by_label("Ask as a question").check()
    composer(alice).fill("Which chapters?")
    composer(alice).press("Enter")
    expect(message(ines, "Which chapters?").locator(".msg__author")).to_have_text(
        "Anonymous classmate · Alice"
    )
    for user_page, shown in ((ines, "Anonymous classmate · Alice"), (bob, "Anonymous classmate")):
        user_page.page.get_by_role("button", name="Questions", exact=True).click()
        dialog = user_page.page.get_by_role("dialog", name="Questions", exact=True)
        asked = dialog.locator(".question__ask").filter(has_text="Which chapters?")
        expect(asked.locator("strong")).to_have_text(shown)
    ines.screenshot("anonymous-question-staff-view")
    browser.assert_no_console_errors()


def test_a_pasted_or_dropped_image_is_not_sent_while_posting_anonymously(
    browser: Browser, course: Any
) -> None:
    """The attach button is off while "Post anonymously" is ticked; pasting and
    dropping, which do not pass through it, are refused with a note, never sent
    under the student's name."""
    import base64

    from chat.models import ChatMessage
    from tests.e2e.test_chat_page import png_bytes
    from tests.e2e.test_long_use import FILES_SCRIPT

    room = factories.course_room(course)
    alice = browser.sign_in("alice", next_path=f"/rooms/{room.pk}/")
    wait_for_room(alice, room.name)
    page = alice.page
    data = base64.b64encode(png_bytes(60, 40)).decode()
    page.get_by_label("Post anonymously to classmates").check()
    composer(alice).fill("secret caption")

    pasted = page.evaluate_handle(FILES_SCRIPT, [data, "pasted.png"])
    composer(alice).evaluate(
        "(box, transfer) => box.dispatchEvent(new ClipboardEvent('paste',"
        " { clipboardData: transfer, bubbles: true, cancelable: true }))",
        pasted,
    )
    dropped = page.evaluate_handle(FILES_SCRIPT, [data, "dropped.png"])
    page.dispatch_event("#messages", "drop", {"dataTransfer": dropped})

    expect(page.get_by_text("Anonymous posts are text only").first).to_be_visible()
    expect(composer(alice)).to_have_value("secret caption")
    page.get_by_label("Post anonymously to classmates").uncheck()
    again = page.evaluate_handle(FILES_SCRIPT, [data, "named.png"])
    page.dispatch_event("#messages", "drop", {"dataTransfer": again})
    expect(page.locator("#message-list .msg__image img")).to_have_count(1)
    files = ChatMessage.objects.filter(room=room).exclude(file="")
    assert list(files.values_list("file_name", "is_anonymous")) == [("named.png", False)]
