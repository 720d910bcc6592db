"""The chat page in a real browser against a live server, two users at a time."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from chat import services
from chat.tests import factories
from tests.e2e.conftest import WAIT_MS, Browser
from tests.e2e.pages import exact_text, expect, message, send, wait_for_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def png_bytes(width: int = 640, height: int = 400) -> bytes:
    image = Image.new("RGB", (width, height))
    for x in range(0, width, 40):
        for y in range(0, height, 40):
            colour = (79, 70, 229) if (x + y) // 40 % 2 else (236, 72, 153)
            image.paste(colour, (x, y, x + 40, y + 40))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def study_room(alice: Any, bob: Any) -> Any:
    room = factories.make_room(alice, chat_type="public", name="Study group", members=[bob])
    factories.make_message(alice, room, "Welcome to the **study group**! Ask anything.")
    return room


def test_two_users_chat_live_with_typing_edit_reaction_reply_and_delete(
    browser: Browser, study_room: Any
) -> None:
    path = f"/rooms/{study_room.pk}/"
    alice = browser.sign_in("alice", next_path=path)
    bob = browser.sign_in("bob", next_path=path)
    wait_for_room(alice, "Study group")
    wait_for_room(bob, "Study group")

    send(alice, "Hello Bob, did you solve $x^2 = 4$?")
    expect(message(bob, "Hello Bob, did you solve")).to_have_count(1)
    send(bob, "Yes: x = 2 or x = -2 :tada:")
    expect(message(alice, "Yes: x = 2 or x = -2 🎉")).to_have_count(1)

    bob.page.get_by_label("Message", exact=True).press_sequentially("One more thing")
    expect(alice.page.locator("#typing")).to_have_text("Bob is typing…")
    alice.screenshot("chat-typing")
    expect(alice.page.locator("#typing")).to_have_text("", timeout=WAIT_MS)
    bob.page.get_by_label("Message", exact=True).fill("")

    hello = message(alice, "Hello Bob, did you solve")
    hello.hover()
    hello.get_by_role("button", name="Edit message").click()
    editor = alice.page.get_by_role("textbox", name="Edited message text")
    editor.fill("Hello Bob, did you solve the quadratic?")
    editor.press("Enter")
    edited = message(bob, "Hello Bob, did you solve the quadratic?")
    expect(edited.locator(".msg__edited")).to_have_text("(edited)")

    edited.hover()
    edited.get_by_role("button", name="React with 👍").click()
    chip = message(alice, "the quadratic?").locator(".chip", has_text="👍")
    expect(chip).to_have_text("👍1")
    expect(message(bob, "the quadratic?").locator(".chip--mine")).to_have_count(1)

    answer = message(alice, "Yes: x = 2 or x = -2")
    answer.hover()
    answer.get_by_role("button", name="Reply").click()
    expect(alice.page.locator("#reply-bar")).to_contain_text("Replying to Bob")
    send(alice, "Great, both roots!")
    reply = message(bob, "Great, both roots!")
    expect(reply.locator(".msg__quote")).to_contain_text("Yes: x = 2 or x = -2")
    bob.screenshot("chat-conversation")
    alice.screenshot("chat-conversation-alice")

    doomed = message(alice, "the quadratic?")
    doomed.hover()
    doomed.get_by_role("button", name="Delete message").click()
    expect(message(bob, "This message was deleted.")).to_have_count(1)
    expect(message(bob, "the quadratic?")).to_have_count(0)
    expect(message(alice, "This message was deleted.")).to_have_count(1)

    browser.assert_no_console_errors()


def test_an_edit_in_progress_keeps_its_text_when_someone_reacts_meanwhile(
    browser: Browser, study_room: Any
) -> None:
    path = f"/rooms/{study_room.pk}/"
    alice = browser.sign_in("alice", next_path=path)
    bob = browser.sign_in("bob", next_path=path)
    wait_for_room(alice, "Study group")
    wait_for_room(bob, "Study group")
    send(alice, "Lab report due Friday")
    own = message(alice, "Lab report due Friday")
    own.hover()
    own.get_by_role("button", name="Edit message").click()
    editor = alice.page.get_by_role("textbox", name="Edited message text")
    editor.fill("Lab report due Monday")

    theirs = message(bob, "Lab report due Friday")
    theirs.hover()
    theirs.get_by_role("button", name="React with 👍").click()
    expect(message(bob, "Lab report due Friday").locator(".chip--mine")).to_have_count(1)
    alice.page.wait_for_timeout(500)  # the reaction's frame reaches alice's page meanwhile

    expect(editor).to_have_value("Lab report due Monday")
    editor.press("Enter")
    edited = message(bob, "Lab report due Monday")
    expect(edited.locator(".msg__edited")).to_have_text("(edited)")
    expect(message(alice, "Lab report due Monday").locator(".chip", has_text="👍")).to_have_text(
        "👍1"
    )
    browser.assert_no_console_errors()


def test_image_and_file_uploads_appear_on_both_sides(browser: Browser, study_room: Any) -> None:
    path = f"/rooms/{study_room.pk}/"
    alice = browser.sign_in("alice", next_path=path)
    bob = browser.sign_in("bob", next_path=path)
    wait_for_room(alice, "Study group")
    wait_for_room(bob, "Study group")

    alice.page.locator("#file-input").set_input_files(
        files=[{"name": "diagram.png", "mimeType": "image/png", "buffer": png_bytes()}]
    )
    for user_page in (alice, bob):
        thumbnail = user_page.page.locator(".msg__image img[alt='diagram.png']")
        expect(thumbnail).to_have_count(1)
        user_page.page.wait_for_function(
            "() => { const img = document.querySelector(\".msg__image img[alt='diagram.png']\");"
            " return img && img.complete && img.naturalWidth > 0; }"
        )
    bob.screenshot("chat-image")
    bob.page.locator(".msg__image").click()
    expect(bob.page.locator("#lightbox")).to_be_visible()
    bob.page.wait_for_function(
        "() => { const img = document.querySelector('#lightbox-image');"
        " return img.complete && img.naturalWidth === 640; }"
    )
    bob.screenshot("chat-image-full-size")
    bob.page.keyboard.press("Escape")
    expect(bob.page.locator("#lightbox")).to_be_hidden()

    bob.page.locator("#file-input").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"Week 3 notes\n" * 40}]
    )
    for user_page in (alice, bob):
        link = user_page.page.locator(".msg__file a.msg__file-name", has_text="notes.txt")
        expect(link).to_have_count(1)
        expect(user_page.page.locator(".msg__file-size").last).to_contain_text("520 B")
        preview = user_page.page.locator(".msg__file-preview").last
        expect(preview).to_contain_text("Week 3 notes")
        assert preview.inner_text().count("Week 3 notes") == 20
    assert alice.page.locator(".msg__file a").get_attribute("href").endswith("/file/")

    browser.assert_no_console_errors()


def test_messages_sent_while_the_server_restarts_arrive_once_after_reconnecting(
    browser: Browser, study_room: Any, bob: Any
) -> None:
    path = f"/rooms/{study_room.pk}/"
    alice = browser.sign_in("alice", next_path=path)
    bob_page = browser.sign_in("bob", next_path=path)
    wait_for_room(alice, "Study group")
    wait_for_room(bob_page, "Study group")
    send(alice, "Before the restart")
    expect(message(bob_page, "Before the restart")).to_have_count(1)

    socket_prefix = f"WebSocket connection to 'ws://127.0.0.1:{browser.server.port}/ws/"
    for user_page in (alice, bob_page):
        user_page.allowed.append(lambda text, url: text.startswith(socket_prefix))

    browser.server.kill()
    for user_page in (alice, bob_page):
        expect(user_page.page.locator("#connection-banner")).to_have_text("Reconnecting…")
    alice.screenshot("chat-reconnecting")

    send(bob_page, "Sent from the page while offline")
    expect(message(bob_page, "Sent from the page while offline")).to_have_class(
        "msg msg--mine msg--pending"
    )
    services.message_send(actor=bob, room=study_room, content="Sent over REST while you were away")

    browser.server.start()
    for user_page in (alice, bob_page):
        expect(user_page.page.locator("#connection-banner")).to_have_text(
            "Back online", timeout=30_000
        )
    for user_page in (alice, bob_page):
        expect(message(user_page, "Sent from the page while offline")).to_have_count(1)
        expect(message(user_page, "Sent over REST while you were away")).to_have_count(1)
        expect(message(user_page, "Before the restart")).to_have_count(1)
        expect(user_page.page.locator("#message-list li[data-pending]")).to_have_count(0)
    alice.screenshot("chat-back-online")

    send(alice, "And we are live again")
    expect(message(bob_page, "And we are live again")).to_have_count(1)

    browser.assert_no_console_errors()


def test_outsider_cannot_open_a_private_room_page(
    browser: Browser, alice: Any, bob: Any, charlie: Any
) -> None:
    room = factories.make_room(alice, chat_type="private", name="Secret plans", members=[bob])
    factories.make_message(alice, room, "The exam answers are 42")
    path = f"/rooms/{room.pk}/"

    outsider = browser.sign_in("charlie")
    outsider.allowed.append(
        lambda text, url: url == f"{browser.server.url}{path}" and "404" in text
    )
    response = outsider.page.goto(path)
    assert response is not None
    assert response.status == 404
    expect(outsider.page.get_by_text("The exam answers are 42")).to_have_count(0)

    outsider.page.goto("/")
    expect(outsider.page.locator("#room-list-empty")).to_be_visible()
    expect(outsider.page.locator("#room-list a", has_text="Secret plans")).to_have_count(0)

    member = browser.sign_in("bob", next_path=path)
    wait_for_room(member, "Secret plans")
    expect(message(member, "The exam answers are 42")).to_have_count(1)

    browser.assert_no_console_errors()


def test_older_history_loads_on_scroll_up_keeping_the_position(
    browser: Browser, alice: Any, bob: Any
) -> None:
    room = factories.make_room(alice, chat_type="public", name="Busy room", members=[bob])
    for number in range(1, 81):
        factories.make_message(alice if number % 2 else bob, room, f"Message number {number}")
    bob_page = browser.sign_in("bob", next_path=f"/rooms/{room.pk}/")
    wait_for_room(bob_page, "Busy room")
    page = bob_page.page
    expect(exact_text(bob_page, "Message number 80")).to_be_visible()
    expect(exact_text(bob_page, "Message number 30")).to_have_count(0)

    top_before = page.locator("#messages").evaluate(
        "box => { box.scrollTop = 0;"
        " return document.getElementById(box.querySelector('li.msg[data-id]').id)"
        ".getBoundingClientRect().top; }"
    )
    first_id = page.locator("#message-list li.msg[data-id]").first.get_attribute("id")
    expect(exact_text(bob_page, "Message number 30")).to_have_count(1)
    expect(exact_text(bob_page, "Message number 1")).to_have_count(1)
    page.wait_for_function("() => !document.querySelector('#messages').hasAttribute('aria-busy')")
    top_after = page.locator(f"#{first_id}").evaluate("el => el.getBoundingClientRect().top")
    assert abs(top_after - top_before) < 2

    browser.assert_no_console_errors()


def test_a_phone_sized_screen_collapses_the_room_list(browser: Browser, study_room: Any) -> None:
    bob = browser.sign_in("bob", next_path=f"/rooms/{study_room.pk}/", viewport=(390, 844))
    wait_for_room(bob, "Study group")
    page = bob.page
    expect(page.locator("#sidebar")).not_to_be_in_viewport()
    bob.screenshot("chat-phone")
    page.get_by_role("button", name="Show rooms").click()
    page.wait_for_function("() => sidebar.getBoundingClientRect().x === 0")
    expect(page.get_by_role("link", name="Study group, Public")).to_be_visible()
    bob.screenshot("chat-phone-rooms")
    page.keyboard.press("Escape")
    expect(page.locator("#sidebar")).not_to_be_in_viewport()
    # Slid away, it is out of the tab order too: Tab does not walk into it.
    expect(page.get_by_role("link", name="Study group, Public")).to_be_hidden()

    browser.assert_no_console_errors()


def test_a_phone_sized_screen_shows_the_room_name_and_every_tool(
    browser: Browser, course: Any
) -> None:
    room = factories.course_room(course)
    bob = browser.sign_in("bob", next_path=f"/rooms/{room.pk}/", viewport=(390, 844))
    wait_for_room(bob, room.name)
    page = bob.page
    # A course room's header has the most tools (Leave, Questions, mute, Ask staff
    # privately, participants): none pushes the name, or another tool, off the screen.
    expect(page.get_by_role("button", name="Ask staff privately")).to_be_visible()
    expect(page.locator("#room-title")).to_be_in_viewport(ratio=1)
    tools = page.locator("#room-tools > :not([hidden])")
    assert tools.count() == 5
    for index in range(tools.count()):
        expect(tools.nth(index)).to_be_in_viewport(ratio=1)

    browser.assert_no_console_errors()


def test_room_admin_mutes_and_removes_a_participant_from_the_panel(
    browser: Browser, alice: Any, bob: Any, charlie: Any
) -> None:
    room = factories.make_room(
        alice, chat_type="private", name="Algebra II", members=[bob, charlie]
    )
    factories.make_message(bob, room, "Can someone explain the quadratic formula?")
    factories.make_message(
        alice,
        room,
        "Sure @bob: the roots of $ax^2+bx+c=0$ are\n\n$$x=\\frac{-b\\pm\\sqrt{b^2-4ac}}{2a}$$",
    )
    factories.make_message(alice, room, "In Python:\n\n```python\nroots = solve(a, b, c)\n```")
    path = f"/rooms/{room.pk}/"
    admin = browser.sign_in("alice", next_path=path)
    member = browser.sign_in("bob", next_path=path)
    outsider_to_be = browser.sign_in("charlie", next_path=path)
    for user_page in (admin, member, outsider_to_be):
        wait_for_room(user_page, "Algebra II")
    send(member, "Thanks Alice, that helps **a lot** :thumbsup:")
    expect(message(admin, "that helps a lot")).to_have_count(1)
    member.page.get_by_label("Message", exact=True).press_sequentially("And for complex roots")

    panel = admin.page.locator("#participants")
    admin.page.get_by_role("button", name="Participants").click()
    expect(panel).to_be_visible()
    expect(panel.locator(".person", has_text="Bob").locator(".presence-dot")).to_have_attribute(
        "data-status", "online"
    )
    expect(admin.page.locator("#typing")).to_have_text("Bob is typing…")
    admin.screenshot("chat-participants")

    panel.get_by_role("button", name="Mute Charlie").click()
    expect(outsider_to_be.page.locator("#composer-note")).to_have_text(
        "A moderator has muted you in this room."
    )
    expect(outsider_to_be.page.get_by_label("Message", exact=True)).to_be_disabled()
    expect(panel.get_by_role("button", name="Unmute Charlie")).to_be_visible()

    panel.get_by_role("button", name="Remove Charlie from the room").click()
    expect(panel.locator(".person", has_text="Charlie")).to_have_count(0)
    expect(outsider_to_be.page.locator("#composer-note")).to_have_text(
        "You no longer have access to this room."
    )
    outsider_to_be.allowed.append(
        lambda text, url: url == f"{browser.server.url}{path}" and "404" in text
    )
    response = outsider_to_be.page.goto(path)
    assert response is not None
    assert response.status == 404

    delete_any = message(admin, "that helps a lot")
    delete_any.hover()
    delete_any.get_by_role("button", name="Delete message").click()
    expect(message(member, "This message was deleted.")).to_have_count(1)

    browser.assert_no_console_errors()


def test_a_link_to_a_message_that_is_no_id_says_why_it_was_refused(
    browser: Browser, study_room: Any
) -> None:
    path = f"/rooms/{study_room.pk}/?message=-5"
    bob = browser.sign_in("bob", next_path=path)
    bob.allowed.append(lambda text, url: "status of 400" in text and "around=-5" in url)

    toasts = bob.page.locator("#toasts")
    expect(toasts).to_contain_text("around:")
    expect(toasts).not_to_contain_text("HTTP 400")
    browser.assert_no_console_errors()


def test_a_link_to_a_message_of_another_room_opens_the_room_and_says_so(
    browser: Browser, study_room: Any, bob: Any
) -> None:
    elsewhere = factories.make_room(bob, chat_type="public", name="Elsewhere")
    theirs = factories.make_message(bob, elsewhere, "not in the study group")
    factories.make_message(bob, study_room, "newest in the study group")
    path = f"/rooms/{study_room.pk}/?message={theirs.pk}"
    user = browser.sign_in("bob", next_path=path)
    user.allowed.append(lambda text, url: "404" in text and f"around={theirs.pk}" in url)

    wait_for_room(user, "Study group")
    expect(user.page.locator("#toasts")).to_contain_text("No such message in this room.")
    expect(message(user, "newest in the study group")).to_have_count(1)
    browser.assert_no_console_errors()


def test_a_room_with_a_pinned_message_opens_at_its_newest_message_in_full(
    browser: Browser, study_room: Any, alice: Any
) -> None:
    pinned = factories.make_message(alice, study_room, "Read the rules first")
    services.message_pin(actor=alice, message=pinned)
    for n in range(25):
        factories.make_message(alice, study_room, f"Chatter number {n}")
    factories.make_message(alice, study_room, "The very last word")
    bob = browser.sign_in("bob", next_path=f"/rooms/{study_room.pk}/")
    wait_for_room(bob, "Study group")
    expect(bob.page.locator("#pins")).to_be_visible()

    last = message(bob, "The very last word")
    # The pins bar came after the history scrolled to its end: it is at the end again.
    expect(last).to_be_in_viewport(ratio=1)
    bob.page.wait_for_function(
        "() => { const m = document.querySelector('#messages');"
        " return m.scrollHeight - m.scrollTop - m.clientHeight < 2; }"
    )
    browser.assert_no_console_errors()


def test_saving_an_edit_gives_the_keyboard_back_to_the_composer(
    browser: Browser, study_room: Any
) -> None:
    bob = browser.sign_in("bob", next_path=f"/rooms/{study_room.pk}/")
    wait_for_room(bob, "Study group")
    send(bob, "a typo hre")
    expect(message(bob, "a typo hre")).to_have_count(1)
    page = bob.page
    expect(page.locator("#message-list li[data-pending]")).to_have_count(0)  # confirmed
    composer = page.get_by_label("Message", exact=True)

    composer.press("ArrowUp")
    box = page.get_by_label("Edited message text")
    box.fill("a typo here")
    box.press("Enter")

    expect(message(bob, "a typo here")).to_have_count(1)
    expect(composer).to_be_focused()
    browser.assert_no_console_errors()


def test_going_offline_shows_at_once_and_what_was_sent_goes_out_once_back(
    browser: Browser, study_room: Any
) -> None:
    bob = browser.sign_in("bob", next_path=f"/rooms/{study_room.pk}/")
    alice = browser.sign_in("alice", next_path=f"/rooms/{study_room.pk}/")
    for user in (bob, alice):
        wait_for_room(user, "Study group")
    # Reconnecting while offline fails by design: those console errors are expected.
    bob.allowed.append(lambda text, url: "ERR_INTERNET_DISCONNECTED" in text or "WebSocket" in text)

    bob.page.context.set_offline(True)
    # The browser said so: no waiting for heartbeats (30 s each) to go unanswered.
    expect(bob.page.locator("#connection-banner")).to_have_text("Reconnecting…", timeout=5_000)
    send(bob, "typed while offline")
    bob.page.context.set_offline(False)

    expect(bob.page.locator("#connection-banner")).to_have_text("Back online", timeout=15_000)
    expect(message(alice, "typed while offline")).to_have_count(1)
    browser.assert_no_console_errors()
