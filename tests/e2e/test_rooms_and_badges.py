"""Rooms, badges, resync, message controls and the keyboard, in a real browser."""

from __future__ import annotations

import datetime
import re
import time
from typing import Any

import pytest
from django.utils import timezone

from chat import services
from chat.models import ChatMessage, ChatParticipant, ChatRoom
from chat.tests import factories
from tests.e2e.conftest import Browser, UserPage
from tests.e2e.pages import composer, expect, message, send, wait_for_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def room_link(user_page: UserPage, name: str) -> Any:
    """The room list's link to ``name``, whatever its badges say."""
    return user_page.page.get_by_role("navigation", name="Your rooms").get_by_role(
        "link", name=re.compile(rf"^{re.escape(name)}, ")
    )


def allow_socket_drops(browser: Browser, *user_pages: UserPage) -> None:
    prefix = f"WebSocket connection to 'ws://127.0.0.1:{browser.server.port}/ws/"
    for user_page in user_pages:
        user_page.allowed.append(lambda text, url: text.startswith(prefix))


def tab_until_focused(user_page: UserPage, locator: Any, *, presses: int = 60) -> list[str]:
    """Press Tab until ``locator`` has the focus; returns what was focused on the way."""
    page = user_page.page
    visited: list[str] = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        if locator.evaluate("element => element === document.activeElement"):
            return visited
        visited.append(
            page.evaluate(
                "() => { const e = document.activeElement;"
                " return `${e.tagName.toLowerCase()}#${e.id}"
                " ${e.getAttribute('aria-label') || ''}`; }"
            )
        )
    raise AssertionError(f"Tab never reached {locator}; focused on the way: {visited}")


def expect_read_marker(user: Any, room: ChatRoom, message_id: int) -> None:
    """Poll the database (bounded) until ``user`` has read ``room`` up to ``message_id``."""
    deadline = time.monotonic() + 10
    marker = None
    while time.monotonic() < deadline:
        marker = (
            ChatParticipant.objects.filter(room=room, user=user)
            .values_list("last_read_message_id", flat=True)
            .get()
        )
        if marker == message_id:
            return
        time.sleep(0.1)
    assert marker == message_id


def test_a_room_created_on_the_page_can_be_joined_and_left_by_another_user(
    browser: Browser, alice: Any, bob: Any
) -> None:
    creator = browser.sign_in("alice")
    page = creator.page
    page.get_by_role("button", name="New room").click()
    dialog = page.get_by_role("dialog", name="Create a room")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name").fill("Reading club")
    dialog.get_by_label("Description").fill("One chapter a week")
    expect(dialog.get_by_role("radio", name=re.compile("^Public"))).to_be_checked()
    creator.screenshot("rooms-create-dialog")
    dialog.get_by_role("button", name="Create room").click()

    expect(dialog).to_be_hidden()
    wait_for_room(creator, "Reading club")
    room = ChatRoom.objects.get(name="Reading club")
    assert (room.chat_type, room.description, room.created_by_id) == (
        "public",
        "One chapter a week",
        alice.pk,
    )
    assert page.url.endswith(f"/rooms/{room.pk}/")
    expect(room_link(creator, "Reading club")).to_have_attribute("aria-current", "page")
    expect(page.locator("#room-meta")).to_have_text("Public · 1 member · One chapter a week")

    page.get_by_role("button", name="New room").click()
    dialog.get_by_label("Name").fill("Staff only")
    dialog.get_by_role("radio", name=re.compile("^Private")).check()
    dialog.get_by_role("button", name="Create room").click()
    wait_for_room(creator, "Staff only")
    assert ChatRoom.objects.get(name="Staff only").chat_type == "private"
    room_link(creator, "Reading club").click()
    wait_for_room(creator, "Reading club")

    reader = browser.sign_in("bob")
    expect(room_link(reader, "Reading club")).to_have_accessible_name("Reading club, Public")
    expect(room_link(reader, "Staff only")).to_have_count(0)
    room_link(reader, "Reading club").click()
    expect(reader.page.locator("#room-title")).to_have_text("Reading club")
    expect(reader.page.locator("#composer-note")).to_have_text("Join this room to post.")
    expect(composer(reader)).to_be_disabled()
    reader.page.get_by_role("button", name="Join room").click()
    wait_for_room(reader, "Reading club")
    expect(reader.page.get_by_role("button", name="Join room")).to_be_hidden()

    joined = message(creator, "Bob joined the room.")
    expect(joined).to_have_count(1)
    expect(joined).to_have_class("msg msg--system")
    expect(joined.locator(".msg__author")).to_have_count(0)
    expect(joined.get_by_role("button")).to_have_count(0)

    send(reader, "Hello readers")
    hello = message(creator, "Hello readers")
    expect(hello).to_have_count(1)
    expect(hello.locator(".msg__author")).to_have_text("Bob")
    expect(joined).to_have_css("justify-content", "center")
    expect(joined).to_have_css("font-size", "13px")
    expect(hello).to_have_css("justify-content", "normal")
    expect(hello.locator(".msg__content")).not_to_have_css("font-size", "13px")

    reader.page.get_by_role("button", name="Leave").click()
    expect(reader.page.get_by_role("button", name="Join room")).to_be_visible()
    expect(composer(reader)).to_be_disabled()
    left = message(creator, "Bob left the room.")
    expect(left).to_have_count(1)
    expect(left).to_have_class("msg msg--system")
    expect(creator.page.locator("#room-meta")).to_contain_text("1 member")
    creator.screenshot("rooms-joined-and-left")
    assert not ChatParticipant.objects.get(room=room, user=bob).is_active

    browser.assert_no_console_errors()


def test_a_student_who_left_their_course_room_joins_it_again_from_the_page(
    browser: Browser, course: Any
) -> None:
    room = factories.course_room(course)
    student = browser.sign_in("alice", next_path=f"/rooms/{room.pk}/")
    wait_for_room(student, room.name)

    student.page.get_by_role("button", name="Leave").click()
    join = student.page.get_by_role("button", name="Join room")
    expect(join).to_be_visible()
    expect(composer(student)).to_be_disabled()
    join.click()

    expect(join).to_be_hidden()
    expect(composer(student)).to_be_enabled()
    send(student, "Back in the course room")
    expect(message(student, "Back in the course room")).to_have_count(1)
    assert ChatParticipant.objects.get(room=room, user__username="alice").is_active
    browser.assert_no_console_errors()


def test_a_mention_badge_clears_when_the_room_is_read_in_another_tab(
    browser: Browser, alice: Any, bob: Any
) -> None:
    physics = factories.make_room(alice, chat_type="private", name="Physics", members=[bob])
    maths = factories.make_room(alice, chat_type="private", name="Maths", members=[bob])
    first_tab = browser.sign_in("alice", next_path=f"/rooms/{maths.pk}/")
    wait_for_room(first_tab, "Maths")
    writer = browser.sign_in("bob", next_path=f"/rooms/{physics.pk}/")
    wait_for_room(writer, "Physics")
    send(writer, "@alice see problem 3")
    physics_link = room_link(first_tab, "Physics")
    expect(physics_link).to_have_accessible_name("Physics, Private, 1 mention, 1 unread")

    second_tab = browser.sign_in("alice", next_path=f"/rooms/{physics.pk}/")
    wait_for_room(second_tab, "Physics")

    expect(physics_link).to_have_accessible_name("Physics, Private")
    expect(physics_link.locator(".badge--mention")).to_have_count(0)
    browser.assert_no_console_errors()


def test_unread_counts_and_mention_badges_update_live_and_clear_when_the_room_is_read(
    browser: Browser, alice: Any, bob: Any
) -> None:
    physics = factories.make_room(alice, chat_type="private", name="Physics", members=[bob])
    factories.make_room(alice, chat_type="private", name="Maths", members=[bob])
    factories.make_message(alice, physics, "Physics starts here")

    reader = browser.sign_in("alice", next_path=f"/rooms/{physics.pk}/")
    wait_for_room(reader, "Physics")
    room_link(reader, "Maths").click()
    wait_for_room(reader, "Maths")
    expect(room_link(reader, "Physics")).to_have_accessible_name("Physics, Private")

    writer = browser.sign_in("bob", next_path=f"/rooms/{physics.pk}/")
    wait_for_room(writer, "Physics")
    send(writer, "First news")
    send(writer, "Second news")
    physics_link = room_link(reader, "Physics")
    expect(physics_link).to_have_accessible_name("Physics, Private, 2 unread")
    expect(physics_link.locator(".badge")).to_have_text("2")

    send(writer, "@alice have a look at problem 3")
    expect(physics_link).to_have_accessible_name("Physics, Private, 1 mention, 3 unread")
    expect(physics_link.locator(".badge--mention")).to_have_text("@")
    expect(reader.page.locator("#toasts")).to_contain_text("Bob mentioned you in Physics.")
    reader.screenshot("rooms-unread-and-mention")

    physics_link.click()
    wait_for_room(reader, "Physics")
    expect(message(reader, "have a look at problem 3")).to_have_class(re.compile("msg--mention"))
    expect(physics_link).to_have_accessible_name("Physics, Private")
    latest = ChatMessage.objects.filter(room=physics).latest("id")
    expect_read_marker(alice, physics, latest.pk)

    room_link(reader, "Maths").click()
    wait_for_room(reader, "Maths")
    expect(room_link(reader, "Physics")).to_have_accessible_name("Physics, Private")
    reader.page.reload()
    wait_for_room(reader, "Maths")
    expect(room_link(reader, "Physics")).to_have_accessible_name("Physics, Private")

    send(writer, "One more")
    expect(room_link(reader, "Physics")).to_have_accessible_name("Physics, Private, 1 unread")

    browser.assert_no_console_errors()


def test_history_pruned_while_offline_is_reloaded_through_rest_with_each_message_once(
    browser: Browser, alice: Any, bob: Any
) -> None:
    room = factories.make_room(alice, chat_type="private", name="Lab notes", members=[bob])
    welcome = factories.make_message(alice, room, "Welcome to the lab")
    path = f"/rooms/{room.pk}/"
    reader = browser.sign_in("alice", next_path=path)
    other = browser.sign_in("bob", next_path=path)
    wait_for_room(reader, "Lab notes")
    wait_for_room(other, "Lab notes")
    send(other, "Before the outage")
    expect(message(reader, "Before the outage")).to_have_count(1)
    allow_socket_drops(browser, reader, other)

    browser.server.kill()
    expect(reader.page.locator("#connection-banner")).to_have_text("Reconnecting…")
    send(reader, "Typed while the server was down")
    for number in (1, 2, 3):
        services.message_send(actor=bob, room=room, content=f"Missed message {number}")
    services.message_delete(actor=alice, message=welcome)
    pruned = services.room_events_prune(before=timezone.now() + datetime.timedelta(hours=1))
    assert pruned >= 4

    frames: list[str] = []
    reader.page.on(
        "websocket",
        lambda socket: socket.on("framereceived", lambda payload: frames.append(str(payload))),
    )
    history_requests: list[str] = []
    reader.page.on(
        "request",
        lambda request: (
            history_requests.append(request.url)
            if request.url.endswith(f"/chat/rooms/{room.pk}/messages/")
            else None
        ),
    )
    browser.server.start()
    for user_page in (reader, other):
        expect(user_page.page.locator("#connection-banner")).to_have_text(
            "Back online", timeout=30_000
        )
    for user_page in (reader, other):
        for number in (1, 2, 3):
            expect(message(user_page, f"Missed message {number}")).to_have_count(1)
        expect(message(user_page, "Typed while the server was down")).to_have_count(1)
        expect(message(user_page, "Before the outage")).to_have_count(1)
        expect(message(user_page, "Welcome to the lab")).to_have_count(0)
        expect(message(user_page, "This message was deleted.")).to_have_count(1)
        expect(user_page.page.locator("#message-list li[data-pending]")).to_have_count(0)
    assert '{"type":"resync.required"}' in frames
    assert len(history_requests) >= 1
    assert ChatMessage.objects.filter(content="Typed while the server was down").count() == 1
    reader.screenshot("rooms-after-resync")

    send(reader, "Live again after the resync")
    expect(message(other, "Live again after the resync")).to_have_count(1)
    send(other, "Confirmed live")
    expect(message(reader, "Confirmed live")).to_have_count(1)

    browser.assert_no_console_errors()


def test_edit_and_delete_controls_follow_ownership_windows_and_moderation(
    browser: Browser, alice: Any, bob: Any, charlie: Any
) -> None:
    room = factories.make_room(
        alice, chat_type="private", name="Seminar", members=[bob], moderators=[charlie]
    )
    stale = factories.make_message(bob, room, "Bob wrote this long ago")
    ChatMessage.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=10)
    )
    factories.make_message(alice, room, "Alice wrote this just now")
    factories.make_message(bob, room, "Bob wrote this just now")
    path = f"/rooms/{room.pk}/"
    member = browser.sign_in("bob", next_path=path)
    moderator = browser.sign_in("charlie", next_path=path)
    wait_for_room(member, "Seminar")
    wait_for_room(moderator, "Seminar")

    def buttons(user_page: UserPage, text: str, expected: list[str]) -> list[str]:
        """The message's action buttons, read again for a few seconds until they are
        ``expected`` (the page re-renders its messages as the room's state arrives)."""
        toolbar = message(user_page, text).get_by_role("toolbar", name="Message actions")
        deadline = time.monotonic() + 5
        while True:
            found = [
                name
                for name in ("Reply", "Edit message", "Delete message")
                if toolbar.get_by_role("button", name=name, exact=True).count()
            ]
            if found == expected or time.monotonic() > deadline:
                return found
            user_page.page.wait_for_timeout(100)

    for user_page, text, expected in (
        (member, "Bob wrote this just now", ["Reply", "Edit message", "Delete message"]),
        (member, "Bob wrote this long ago", ["Reply"]),
        (member, "Alice wrote this just now", ["Reply"]),
        (moderator, "Bob wrote this just now", ["Reply", "Delete message"]),
        (moderator, "Bob wrote this long ago", ["Reply", "Delete message"]),
        (moderator, "Alice wrote this just now", ["Reply", "Delete message"]),
    ):
        assert buttons(user_page, text, expected) == expected, (user_page.username, text)

    old = message(moderator, "Bob wrote this long ago")
    old.hover()
    old.get_by_role("button", name="Delete message").click()
    expect(message(member, "Bob wrote this long ago")).to_have_count(0)
    expect(message(member, "This message was deleted.")).to_have_count(1)
    assert ChatMessage.objects.get(pk=stale.pk).is_deleted

    page = member.page
    box = composer(member)
    counter = page.locator("#char-count")
    send_button = page.get_by_role("button", name="Send", exact=True)
    box.fill("Hello")
    expect(counter).to_have_text("5 / 1000")
    expect(send_button).to_be_enabled()
    box.fill("x" * 1001)
    expect(counter).to_have_text("1001 / 1000")
    expect(counter).to_have_class(re.compile("composer__count--over"))
    expect(send_button).to_be_disabled()
    member.screenshot("composer-over-limit")
    box.press("Enter")
    expect(page.locator("#toasts")).to_contain_text("Messages are limited to 1000 characters.")
    expect(box).to_have_value("x" * 1001)
    expect(page.locator("#message-list li[data-pending]")).to_have_count(0)
    box.fill("x" * 1000)
    expect(counter).to_have_text("1000 / 1000")
    expect(send_button).to_be_enabled()

    box.fill("")
    box.press_sequentially("First line")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    expect(box).to_have_value("First line\nsecond line")
    expect(page.locator("#message-list li[data-pending]")).to_have_count(0)
    box.press("Enter")
    expect(box).to_have_value("")
    expect(message(moderator, "second line")).to_have_count(1)
    sent = ChatMessage.objects.filter(room=room, content__startswith="First line").get()
    assert sent.content == "First line\nsecond line"
    assert sent.sender_id == bob.pk

    browser.assert_no_console_errors()


def test_room_list_composer_and_message_actions_work_from_the_keyboard(
    browser: Browser, alice: Any, bob: Any
) -> None:
    room = factories.make_room(alice, chat_type="public", name="Study group", members=[bob])
    factories.make_room(alice, chat_type="public", name="Book club", members=[bob])
    factories.make_message(alice, room, "Keyboard users welcome")
    member = browser.sign_in("bob", next_path=f"/rooms/{room.pk}/")
    wait_for_room(member, "Study group")
    page = member.page

    expect(page.get_by_role("navigation", name="Your rooms")).to_be_visible()
    expect(page.get_by_role("log", name="Messages")).to_be_visible()
    expect(page.get_by_role("button", name="Participants")).to_be_visible()
    expect(page.get_by_label("Your status")).to_have_value("online")

    skip = page.get_by_role("link", name="Skip to message composer")
    tab_until_focused(member, skip)
    page.keyboard.press("Enter")
    expect(composer(member)).to_be_focused()

    page.evaluate("() => document.activeElement.blur()")
    study = page.get_by_role("link", name="Study group, Public")
    tab_until_focused(member, study)
    expect(study).to_have_attribute("aria-current", "page")
    tab_until_focused(member, page.get_by_role("link", name="Book club, Public"))
    page.keyboard.press("Enter")
    wait_for_room(member, "Book club")
    expect(composer(member)).to_be_focused()
    page.go_back()
    wait_for_room(member, "Study group")

    page.evaluate("() => document.activeElement.blur()")
    welcome = message(member, "Keyboard users welcome")
    thumbs = welcome.get_by_role("button", name="React with 👍")
    tab_until_focused(member, thumbs)
    expect(welcome.get_by_role("toolbar", name="Message actions")).to_have_css("opacity", "1")
    member.screenshot("keyboard-message-actions")
    page.keyboard.press("Enter")
    expect(welcome.get_by_role("button", name="👍 1, remove your reaction")).to_be_visible()

    reply = welcome.get_by_role("button", name="Reply")
    tab_until_focused(member, reply)
    page.keyboard.press("Enter")
    expect(page.locator("#reply-bar")).to_contain_text("Replying to Alice")
    expect(composer(member)).to_be_focused()
    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Enter")
    mine = message(member, "Typed without a mouse")
    expect(mine.locator(".msg__quote")).to_contain_text("Keyboard users welcome")
    expect(mine).to_have_class("msg msg--mine")

    page.evaluate("() => document.activeElement.blur()")
    edit = mine.get_by_role("button", name="Edit message")
    tab_until_focused(member, edit)
    page.keyboard.press("Enter")
    editor = page.get_by_role("textbox", name="Edited message text")
    expect(editor).to_be_focused()
    page.keyboard.type(", edited")
    page.keyboard.press("Enter")
    expect(message(member, "Typed without a mouse, edited").locator(".msg__edited")).to_have_text(
        "(edited)"
    )

    page.evaluate("() => document.activeElement.blur()")
    new_room = page.get_by_role("button", name="New room")
    tab_until_focused(member, new_room)
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Create a room")
    expect(dialog.get_by_label("Name")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    browser.assert_no_console_errors()
