"""Offline email notifications: what is queued (services, the presence socket), what
the sender mails (one email per user and batch, re-checked at send time), the
user's choice over REST, and the unsubscribe link."""

from __future__ import annotations

import asyncio
import os
import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from chat import services
from chat.models import (
    EmailNotification,
    EmailPreference,
    PresenceConnection,
)
from chat.services import email_notifications, email_sending
from chat.tests import factories
from chat.tests.api_support import client_for
from chat.tests.ws import db, open_presence, open_room, socket_settings  # noqa: F401

Status = EmailNotification.Status
DELAY = 120


@pytest.fixture(autouse=True)
def _email_settings(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CHAT_PUBLIC_URL = "https://chat.example.edu"
    settings.CHAT_EMAIL_BATCH_DELAY_SECONDS = DELAY
    settings.CHAT_EMAIL_BATCH_MAX_WAIT_SECONDS = 900
    mail.outbox = []


def with_email(*users: Any) -> None:
    for user in users:
        user.email = f"{user.username}@example.edu"
        user.save(update_fields=["email"])


def go_online(user: Any) -> None:
    PresenceConnection.objects.create(
        user=user, channel_name=f"test.{user.pk}", last_heartbeat=timezone.now()
    )


def queued(user: Any, status: str = Status.PENDING) -> list[tuple[str, int | None]]:
    return [
        (row.kind, row.message_id or row.staff_question_id)
        for row in EmailNotification.objects.filter(user=user, status=status)
    ]


def pair_room(alice: Any, bob: Any) -> Any:
    """A public room of alice's with bob in it; both have an address."""
    with_email(alice, bob)
    return factories.make_room(alice, members=[bob])


def later(seconds: float) -> Any:
    return timezone.now() + timedelta(seconds=seconds)


def choose(user: Any, mode: str) -> None:
    services_mode = email_notifications.email_notifications_set(actor=user, mode=mode)
    assert services_mode == mode


def body_of(message: Any) -> tuple[str, str]:
    html = next(content for content, kind in message.alternatives if kind == "text/html")
    return message.body, html


@pytest.fixture
def lobby(alice: Any, bob: Any, charlie: Any) -> Any:
    """A private room of alice (its admin) with bob and charlie; all three have an
    address."""
    with_email(alice, bob, charlie)
    return factories.make_room(alice, chat_type="private", name="Lobby", members=[bob, charlie])


# --- queueing --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_queues_a_mention_only_for_an_offline_user(
    lobby: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    go_online(charlie)

    message = factories.make_message(alice, lobby, "@bob @charlie see the slides")

    assert queued(bob) == [("mention", message.pk)]
    assert queued(charlie) == []


@pytest.mark.django_db
def test_it_never_queues_the_sender(lobby: Any, alice: Any, bob: Any) -> None:
    factories.make_message(alice, lobby, "note to self @alice, and @all")

    assert queued(alice) == []
    assert len(queued(bob)) == 1


@pytest.mark.django_db
def test_a_wildcard_mention_respects_the_rooms_mute_and_a_direct_one_does_not(
    lobby: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    services.room_notifications_set(actor=bob, room=lobby, muted=True)

    everyone = factories.make_message(alice, lobby, "@all the exam moved")
    direct = factories.make_message(alice, lobby, "@bob your turn")

    assert queued(bob) == [("mention", direct.pk)]
    assert queued(charlie) == [("mention", everyone.pk)]
    assert EmailNotification.objects.get(user=charlie).is_wildcard is True
    assert EmailNotification.objects.get(user=bob).is_wildcard is False


@pytest.mark.django_db
def test_here_means_those_present_and_emails_no_one(
    lobby: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    factories.make_message(alice, lobby, "@here quick poll")
    named = factories.make_message(alice, lobby, "@here and @bob in particular")

    assert queued(charlie) == []
    assert queued(bob) == [("mention", named.pk)]


@pytest.mark.django_db
def test_users_who_chose_never_or_have_no_address_are_not_queued(
    lobby: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    choose(bob, "never")
    charlie.email = ""
    charlie.save(update_fields=["email"])

    factories.make_message(alice, lobby, "@bob @charlie hello")

    assert EmailNotification.objects.count() == 0


@pytest.mark.django_db
def test_an_edit_queues_only_the_newly_mentioned_and_once(
    lobby: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    message = factories.make_message(alice, lobby, "@bob hello")

    services.message_edit(actor=alice, message=message, content="@bob @charlie hello")
    services.message_edit(actor=alice, message=message, content="@bob @charlie hello again")

    assert queued(bob) == [("mention", message.pk)]
    assert queued(charlie) == [("mention", message.pk)]


@pytest.mark.django_db
def test_a_rolled_back_message_queues_nothing(lobby: Any, alice: Any, bob: Any) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        factories.make_message(alice, lobby, "@bob never sent")
        assert len(queued(bob)) == 1  # in the message's transaction
        raise RuntimeError

    assert EmailNotification.objects.count() == 0


@pytest.mark.django_db
def test_an_answer_to_a_private_question_is_queued_for_its_offline_asker(
    course: Any, alice: Any, ines: Any
) -> None:
    with_email(alice, ines)
    room = factories.course_room(course)
    question = services.staff_question_ask(actor=alice, room=room, content="Extension?")

    services.staff_question_answer(actor=ines, question=question, content="Yes, till Friday")
    services.staff_question_answer(actor=ines, question=question, content="Yes, till Monday")

    assert queued(alice) == [("staff_answer", question.pk)]
    assert queued(ines) == []


@pytest.mark.django_db(transaction=True)
async def test_a_user_with_an_open_presence_socket_is_online_and_not_queued(
    alice: Any, bob: Any
) -> None:
    room = await db(pair_room)(alice, bob)
    tab = await open_presence(bob)
    for _ in range(50):  # the socket's registration is written by the hub
        if await db(lambda: PresenceConnection.objects.filter(user=bob).exists())():
            break
        await asyncio.sleep(0.05)

    await db(lambda: factories.make_message(alice, room, "@bob while you are here"))()
    assert await db(lambda: queued(bob))() == []

    await tab.close()
    for _ in range(50):
        if not await db(lambda: PresenceConnection.objects.filter(user=bob).exists())():
            break
        await asyncio.sleep(0.05)
    message = await db(lambda: factories.make_message(alice, room, "@bob now you left"))()
    assert await db(lambda: queued(bob))() == [("mention", message.pk)]


@pytest.mark.django_db(transaction=True)
async def test_a_mention_sent_over_the_room_socket_queues_the_offline_user(
    alice: Any, bob: Any
) -> None:
    room = await db(pair_room)(alice, bob)
    socket = await open_room(alice, room)

    await socket.send({"type": "message.send", "client_id": "m-1", "content": "@bob over here"})
    created = await socket.receive_type("message.created")

    assert await db(lambda: queued(bob))() == [("mention", created["message"]["id"])]
    assert await db(lambda: queued(alice))() == []  # her own socket is open, and she sent it
    await socket.close()


@pytest.mark.django_db
def test_a_mention_sent_over_rest_queues_the_offline_user(lobby: Any, alice: Any, bob: Any) -> None:
    response = client_for(alice).post(
        "/chat/messages/", {"room": lobby.pk, "content": "@bob via REST"}, format="json"
    )

    assert response.status_code == 201
    assert queued(bob) == [("mention", response.data["id"])]


# --- sending ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_email_per_user_batch_with_every_item(
    lobby: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    first = factories.make_message(alice, lobby, "@bob can you **review** my proof?")
    study = factories.make_room(charlie, chat_type="private", name="Study group", members=[bob])
    second = factories.make_message(charlie, study, "@bob we meet at 5")

    report = email_sending.notification_emails_send(now=later(DELAY + 1))

    assert (report.emails, report.sent, report.skipped) == (1, 2, 0)
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["bob@example.edu"]
    assert email.subject == "2 new mentions in Academia Chat"
    text, html = body_of(email)
    for body in (text, html):
        assert "Lobby" in body and "Study group" in body
        assert "Alice" in body and "Charlie" in body
        assert "can you **review** my proof?" in body
        assert f"https://chat.example.edu/rooms/{lobby.pk}/?message={first.pk}" in body
        assert f"https://chat.example.edu/rooms/{study.pk}/?message={second.pk}" in body
    assert text.index("Lobby") < text.index("Study group")
    unsubscribe = re.search(r"https://chat\.example\.edu/email/unsubscribe/[^/\s]+/", text)
    assert unsubscribe is not None
    assert email.extra_headers["List-Unsubscribe"] == f"<{unsubscribe.group(0)}>"
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert queued(bob, Status.SENT) == [("mention", first.pk), ("mention", second.pk)]


@pytest.mark.django_db
def test_a_second_pass_sends_nothing_again(lobby: Any, alice: Any, bob: Any) -> None:
    factories.make_message(alice, lobby, "@bob hello")

    email_sending.notification_emails_send(now=later(DELAY + 1))
    report = email_sending.notification_emails_send(now=later(DELAY + 60))

    assert report.emails == 0
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_batch_waits_for_the_quiet_delay_after_the_newest_item(
    lobby: Any, alice: Any, bob: Any
) -> None:
    factories.make_message(alice, lobby, "@bob one")
    EmailNotification.objects.update(created_at=timezone.now() - timedelta(seconds=100))
    factories.make_message(alice, lobby, "@bob two")

    assert email_sending.notification_emails_send(now=later(30)).emails == 0
    assert mail.outbox == []
    assert email_sending.notification_emails_send(now=later(DELAY + 1)).emails == 1
    assert mail.outbox[0].subject == "2 new mentions in Academia Chat"


@pytest.mark.django_db
def test_a_conversation_that_never_pauses_is_mailed_after_the_maximum_wait(
    lobby: Any, alice: Any, bob: Any
) -> None:
    factories.make_message(alice, lobby, "@bob started long ago")
    EmailNotification.objects.update(created_at=timezone.now() - timedelta(seconds=901))
    factories.make_message(alice, lobby, "@bob and still going")

    assert email_sending.notification_emails_send(now=timezone.now()).emails == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_immediately_is_mailed_at_the_next_pass(lobby: Any, alice: Any, bob: Any) -> None:
    choose(bob, "immediately")
    factories.make_message(alice, lobby, "@bob now please")

    assert email_sending.notification_emails_send(now=timezone.now()).emails == 1
    assert mail.outbox[0].subject == "1 new mention in Academia Chat"


@pytest.mark.django_db
def test_never_drops_what_was_queued(lobby: Any, alice: Any, bob: Any) -> None:
    factories.make_message(alice, lobby, "@bob hello")
    choose(bob, "never")

    email_sending.notification_emails_send(now=later(DELAY + 1))

    assert mail.outbox == []
    assert queued(bob, Status.SKIPPED) != []


@pytest.mark.django_db
def test_what_was_read_meanwhile_is_not_mailed(
    lobby: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    read = factories.make_message(alice, lobby, "@bob read this")
    unread = factories.make_message(charlie, lobby, "@bob and this")
    services.room_mark_read(actor=bob, room=lobby, message_id=read.pk)

    email_sending.notification_emails_send(now=later(DELAY + 1))

    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "1 new mention in Academia Chat"
    text, _ = body_of(mail.outbox[0])
    assert "and this" in text and "read this" not in text
    assert queued(bob, Status.SKIPPED) == [("mention", read.pk)]
    assert queued(bob, Status.SENT) == [("mention", unread.pk)]


@pytest.mark.django_db
def test_a_thread_reply_read_in_its_thread_is_not_mailed(lobby: Any, alice: Any, bob: Any) -> None:
    parent = factories.make_message(alice, lobby, "the plan")
    reply = factories.make_message(alice, lobby, "@bob step one", reply_to=parent.pk)
    services.thread_mark_read(actor=bob, parent=parent, reply_id=reply.pk)

    report = email_sending.notification_emails_send(now=later(DELAY + 1))

    assert (report.emails, report.skipped) == (0, 1)


@pytest.mark.django_db
def test_a_mention_an_edit_took_out_is_not_mailed(
    lobby: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    message = factories.make_message(alice, lobby, "@bob @charlie the slides")
    services.message_edit(actor=alice, message=message, content="@charlie the slides")

    email_sending.notification_emails_send(now=later(DELAY + 1))

    assert [email.to for email in mail.outbox] == [["charlie@example.edu"]]
    assert queued(bob, Status.SKIPPED) == [("mention", message.pk)]


@pytest.mark.django_db
def test_a_deleted_message_is_not_mailed(lobby: Any, alice: Any, bob: Any) -> None:
    message = factories.make_message(alice, lobby, "@bob oops")
    services.message_delete(actor=alice, message=message)

    report = email_sending.notification_emails_send(now=later(DELAY + 1))

    assert (report.emails, report.skipped) == (0, 1)
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_room_the_user_left_is_not_mailed(lobby: Any, alice: Any, bob: Any) -> None:
    factories.make_message(alice, lobby, "@bob secret plans")
    services.room_leave(actor=bob, room=lobby)

    email_sending.notification_emails_send(now=later(DELAY + 1))

    assert mail.outbox == []
    assert len(queued(bob, Status.SKIPPED)) == 1


@pytest.mark.django_db
def test_a_wildcard_mention_in_a_room_muted_since_is_not_mailed(
    lobby: Any, alice: Any, bob: Any
) -> None:
    factories.make_message(alice, lobby, "@all hello")
    services.room_notifications_set(actor=bob, room=lobby, muted=True)

    email_sending.notification_emails_send(now=later(DELAY + 1))

    assert [email.to for email in mail.outbox] == [["charlie@example.edu"]]


@pytest.mark.django_db
def test_an_all_an_edit_took_out_is_not_mailed(lobby: Any, alice: Any, bob: Any) -> None:
    message = factories.make_message(alice, lobby, "@all meeting at 5")
    services.message_edit(actor=alice, message=message, content="meeting at 5 (no ping)")
    kept = factories.make_message(alice, lobby, "@ALL fire drill")

    email_sending.notification_emails_send(now=later(DELAY + 1))

    bodies = [body_of(email)[0] for email in mail.outbox]
    assert bodies and all("fire drill" in body for body in bodies)
    assert not any("no ping" in body for body in bodies)
    assert ("mention", message.pk) not in queued(bob, Status.SENT)
    assert ("mention", kept.pk) in queued(bob, Status.SENT)


@pytest.mark.django_db
def test_an_anonymous_post_names_nobody_in_the_email_to_a_student(
    course: Any, alice: Any, bob: Any
) -> None:
    with_email(alice, bob)
    room = factories.course_room(course)
    services.message_send(actor=alice, room=room, content="@bob what is a monad?", anonymous=True)

    email_sending.notification_emails_send(now=later(DELAY + 1))

    assert len(mail.outbox) == 1
    text, html = body_of(mail.outbox[0])
    for body in (text, html, mail.outbox[0].subject):
        assert "Alice" not in body and "alice" not in body
    assert "Anonymous classmate mentioned you" in text
    assert "what is a monad?" in text


@pytest.mark.django_db
def test_the_email_speaks_the_language_the_user_chose(course: Any, alice: Any, bob: Any) -> None:
    with_email(alice, bob)
    bob.language = "de"
    bob.save(update_fields=["language"])
    room = factories.course_room(course)
    services.message_send(actor=alice, room=room, content="@bob Monade?", anonymous=True)
    factories.make_message(bob, room, "@alice hi")  # alice chose no language

    email_sending.notification_emails_send(now=later(DELAY + 1))

    [email] = [sent for sent in mail.outbox if sent.to == ["bob@example.edu"]]
    [to_alice] = [sent for sent in mail.outbox if sent.to == ["alice@example.edu"]]
    text, html = body_of(email)
    assert email.subject == "1 neue Erwähnung in Academia Chat"
    for body in (text, html):
        assert "Anonym aus dem Kurs hat dich in" in body
        assert "mentioned you" not in body
    assert to_alice.subject == "1 new mention in Academia Chat"
    assert translation.get_language() == "en"  # the pass leaves its own language alone


@pytest.mark.django_db
def test_a_staff_answer_is_mailed_with_the_question(course: Any, alice: Any, ines: Any) -> None:
    with_email(alice)
    room = factories.course_room(course)
    question = services.staff_question_ask(actor=alice, room=room, content="May I resubmit?")
    services.staff_question_answer(actor=ines, question=question, content="Yes, by Friday.")

    email_sending.notification_emails_send(now=later(DELAY + 1))

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.subject == "1 answer to your private question in Academia Chat"
    text, _ = body_of(email)
    assert f"Ines the Instructor answered your private question in {room.name}" in text
    assert "May I resubmit?" in text and "Yes, by Friday." in text


@pytest.mark.django_db
def test_a_refused_email_marks_its_items_failed_and_stops_the_pass(
    lobby: Any, alice: Any, bob: Any, charlie: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    factories.make_message(alice, lobby, "@bob @charlie hello")

    def refuse(self: Any, messages: Any) -> int:
        raise OSError("mail server said no")

    with monkeypatch.context() as patch:
        patch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
        report = email_sending.notification_emails_send(now=later(DELAY + 1))

    assert (report.emails, report.failed) == (0, 1)
    assert len(queued(bob, Status.FAILED)) == 1
    assert len(queued(charlie)) == 1  # not claimed: the next pass tries again
    assert email_sending.notification_emails_send(now=later(DELAY + 2)).emails == 1
    assert [email.to for email in mail.outbox] == [["charlie@example.edu"]]


@pytest.mark.django_db
def test_a_users_batch_costs_the_same_queries_for_2_and_8_items(alice: Any, bob: Any) -> None:
    with_email(alice, bob)
    counts = []
    for size in (2, 8):
        for n in range(size):
            room = factories.make_room(
                alice, chat_type="private", name=f"R{size}-{n}", members=[bob]
            )
            parent = factories.make_message(alice, room, "a thread")
            factories.make_message(alice, room, f"@bob item {n}", reply_to=parent.pk)
        with CaptureQueriesContext(connection) as captured:
            report = email_sending.notification_emails_send(now=later(DELAY + 1))
        assert report.sent == size
        counts.append(len(captured))

    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_done_rows_are_pruned_after_a_month_and_pending_ones_stay(
    lobby: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    choose(charlie, "immediately")
    factories.make_message(alice, lobby, "@bob @charlie old news")
    email_sending.notification_emails_send(now=timezone.now())  # charlie's goes, bob's waits
    EmailNotification.objects.update(created_at=timezone.now() - timedelta(days=31))
    fresh = factories.make_message(alice, lobby, "@charlie fresh")
    EmailNotification.objects.filter(message=fresh).update(status=Status.SKIPPED)

    assert email_sending.notification_emails_prune() == 1

    assert sorted(EmailNotification.objects.values_list("user__username", "status")) == [
        ("bob", "pending"),
        ("charlie", "skipped"),
    ]


@pytest.mark.django_db
def test_the_command_runs_one_pass(lobby: Any, alice: Any, bob: Any, capsys: Any) -> None:
    choose(bob, "immediately")
    factories.make_message(alice, lobby, "@bob hello")

    call_command("send_notification_emails", "--once")

    assert len(mail.outbox) == 1
    assert "1 email(s) sent (1 item(s)), 0 skipped, 0 failed." in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_mail_each_batch_once(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two senders on their own PostgreSQL connections, released together onto the
    same due users: every user gets exactly one email."""
    if connection.vendor != "postgresql":
        if os.environ.get("DATABASE_URL", "").startswith("postgres"):
            pytest.fail("DATABASE_URL names PostgreSQL but the tests run on another database")
        pytest.skip("row locks of PostgreSQL (SKIP LOCKED)")
    students = [factories.make_user(f"student{n}") for n in range(12)]
    with_email(*students)
    room = factories.make_room(alice, name="Big class", members=students)
    for student in students:
        factories.make_message(alice, room, f"@{student.username} one")
        factories.make_message(alice, room, f"@{student.username} two")
    barrier = threading.Barrier(2, timeout=10)
    due = email_sending.due_user_ids

    def due_together(now: Any) -> list[int]:
        found = due(now)
        barrier.wait()  # both senders hold the same list before either claims
        return found

    monkeypatch.setattr(email_sending, "due_user_ids", due_together)
    reports: list[Any] = []
    failures: list[BaseException] = []

    def sender() -> None:
        try:
            reports.append(email_sending.notification_emails_send(now=later(DELAY + 1)))
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    assert sorted(email.to[0] for email in mail.outbox) == sorted(
        f"{student.username}@example.edu" for student in students
    )
    assert all(email.subject == "2 new mentions in Academia Chat" for email in mail.outbox)
    assert sum(report.emails for report in reports) == len(students)
    assert EmailNotification.objects.filter(status=Status.SENT).count() == 2 * len(students)


# --- the user's choice over REST -------------------------------------------------------------


@pytest.mark.django_db
def test_the_choice_is_batched_by_default_and_can_be_changed(alice: Any) -> None:
    with_email(alice)
    api = client_for(alice)

    assert api.get("/chat/email-notifications/").data == {
        "email_notifications": "batched",
        "has_email": True,
    }
    changed = api.put(
        "/chat/email-notifications/", {"email_notifications": "immediately"}, format="json"
    )

    assert changed.status_code == 200
    assert changed.data == {"email_notifications": "immediately", "has_email": True}
    assert EmailPreference.objects.get(user=alice).mode == "immediately"


@pytest.mark.django_db
def test_an_unknown_choice_is_a_400_and_changes_nothing(alice: Any, bob: Any) -> None:
    choose(alice, "never")
    api = client_for(alice)

    response = api.put(
        "/chat/email-notifications/", {"email_notifications": "daily"}, format="json"
    )
    missing = api.put("/chat/email-notifications/", {}, format="json")

    assert response.status_code == 400
    assert "email_notifications" in response.data
    assert missing.status_code == 400
    assert EmailPreference.objects.get(user=alice).mode == "never"
    assert client_for(bob).get("/chat/email-notifications/").data["has_email"] is False


@pytest.mark.django_db
def test_signed_out_clients_cannot_read_or_set_the_choice(db: None) -> None:
    api = client_for(None)

    assert api.get("/chat/email-notifications/").status_code == 401
    assert (
        api.put(
            "/chat/email-notifications/", {"email_notifications": "never"}, format="json"
        ).status_code
        == 401
    )


# --- unsubscribe -----------------------------------------------------------------------------


def unsubscribe_path(user: Any) -> str:
    return f"/email/unsubscribe/{email_notifications.unsubscribe_token(user)}/"


@pytest.mark.django_db
def test_the_unsubscribe_page_asks_first_and_changes_nothing_on_get(
    client: Any, alice: Any
) -> None:
    with_email(alice)

    response = client.get(unsubscribe_path(alice))

    assert response.status_code == 200
    assert b"alice@example.edu" in response.content
    assert b'id="unsubscribe-confirm"' in response.content
    assert email_notifications.email_mode(alice) == "batched"


@pytest.mark.django_db
def test_posting_the_unsubscribe_page_turns_emails_off(client: Any, alice: Any) -> None:
    with_email(alice)

    response = client.post(unsubscribe_path(alice))

    assert response.status_code == 200
    assert b'id="unsubscribe-done"' in response.content
    assert email_notifications.email_mode(alice) == "never"


@pytest.mark.django_db
def test_the_one_click_unsubscribe_of_an_email_works_without_a_session(
    lobby: Any, alice: Any, bob: Any
) -> None:
    from django.test import Client

    factories.make_message(alice, lobby, "@bob hello")
    email_sending.notification_emails_send(now=later(DELAY + 1))
    header = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>")
    path = header.removeprefix("https://chat.example.edu")

    response = Client(enforce_csrf_checks=True).post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    assert email_notifications.email_mode(bob) == "never"
    assert email_notifications.email_mode(alice) == "batched"


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_forged_or_mangled_token_is_a_400_page(client: Any, alice: Any, method: str) -> None:
    good = email_notifications.unsubscribe_token(alice)
    forged = good[:-3] + ("aaa" if not good.endswith("aaa") else "bbb")

    for token in (forged, "not-a-token", good.replace(":", "", 1)):
        response = getattr(client, method)(f"/email/unsubscribe/{token}/")
        assert response.status_code == 400, token
        assert b"invalid or has expired" in response.content
    assert email_notifications.email_mode(alice) == "batched"


@pytest.mark.django_db
def test_an_expired_token_is_a_400_page(
    client: Any, alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = unsubscribe_path(alice)
    monkeypatch.setattr(email_notifications, "UNSUBSCRIBE_MAX_AGE", -1)

    response = client.post(path)

    assert response.status_code == 400
    assert email_notifications.email_mode(alice) == "batched"


@pytest.mark.django_db
def test_a_token_from_another_salt_is_refused(client: Any, alice: Any) -> None:
    from django.core import signing

    token = signing.dumps({"u": alice.pk})  # signed, but not as an unsubscribe link

    assert client.post(f"/email/unsubscribe/{token}/").status_code == 400
    assert email_notifications.email_mode(alice) == "batched"


# --- the admin -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_lists_the_queue_and_the_choices_read_only(
    admin_client: Any, lobby: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    choose(charlie, "immediately")
    factories.make_message(alice, lobby, "@bob @charlie look")

    queue = admin_client.get("/admin/chat/emailnotification/")
    choices = admin_client.get("/admin/chat/emailpreference/")

    assert queue.status_code == 200
    assert queue.content.decode().count("Lobby") == 2
    assert choices.status_code == 200 and "charlie" in choices.content.decode()
    assert admin_client.get("/admin/chat/emailnotification/add/").status_code == 403
