"""Threads: a message and its replies. Counters kept in the sending transaction
(``reply_count``, ``last_reply_at``), the ``thread.updated`` room event, the
thread view and its read markers, per persona; REST and socket alike."""

from __future__ import annotations

from typing import Any

import pytest

from chat import selectors, services
from chat.models import ChatMessage, ChatRoom, RoomEvent, ThreadRead
from chat.services.sending import SendRequest, message_send_many
from chat.tests import factories
from chat.tests.api_support import HISTORY_KEYS, assert_message_shape, client_for
from chat.tests.test_api_permissions import PERSONAS, ROOM_TYPES, VISIBLE, build_room
from chat.tests.ws import db, open_room, socket_settings  # noqa: F401

THREAD_KEYS = HISTORY_KEYS | {"parent", "unread_count", "last_read_id"}


@pytest.fixture
def room(alice: Any, bob: Any, charlie: Any) -> ChatRoom:
    return factories.make_room(alice, chat_type="private", name="Study", members=[bob, charlie])


def reply(user: Any, parent: ChatMessage, text: str = "a reply") -> ChatMessage:
    return services.message_send(
        actor=user, room=parent.room, content=text, reply_to=parent.pk
    ).message


def fresh(message: ChatMessage) -> ChatMessage:
    return ChatMessage.objects.get(pk=message.pk)


def unread(user: Any, parent: ChatMessage) -> int:
    return selectors.thread_state(user, fresh(parent)).unread_count


# --- counters -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_replies_count_on_their_parent_with_the_newest_time(
    alice: Any, bob: Any, charlie: Any, room: ChatRoom
) -> None:
    parent = factories.make_message(alice, room, "question")
    reply(bob, parent)
    last = reply(charlie, parent)

    parent = fresh(parent)
    assert (parent.reply_count, parent.last_reply_at) == (2, last.created_at)
    assert fresh(last).reply_count == 0


@pytest.mark.django_db
def test_a_batch_of_replies_counts_each_and_marks_each_sender(
    alice: Any, bob: Any, charlie: Any, room: ChatRoom
) -> None:
    parent = factories.make_message(alice, room, "question")

    results = message_send_many(
        room=room,
        requests=[
            SendRequest(actor=bob, content="one", reply_to=parent.pk),
            SendRequest(actor=charlie, content="two", reply_to=parent.pk),
            SendRequest(actor=bob, content="not a reply"),
        ],
    )

    assert fresh(parent).reply_count == 2
    assert [unread(user, parent) for user in (alice, bob, charlie)] == [2, 1, 0]
    assert all(not isinstance(result, Exception) for result in results)


@pytest.mark.django_db
def test_a_deleted_reply_leaves_the_counts(alice: Any, bob: Any, room: ChatRoom) -> None:
    parent = factories.make_message(alice, room, "question")
    first = reply(bob, parent, "first")
    second = reply(bob, parent, "second")

    services.message_delete(actor=bob, message=second)

    parent = fresh(parent)
    assert (parent.reply_count, parent.last_reply_at) == (1, first.created_at)
    assert [unread(alice, parent), unread(bob, parent)] == [1, 0]
    services.message_delete(actor=bob, message=first)
    assert (fresh(parent).reply_count, fresh(parent).last_reply_at) == (0, None)


@pytest.mark.django_db
def test_an_upload_reply_counts_too(
    alice: Any, bob: Any, room: ChatRoom, settings: Any, tmp_path: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    parent = factories.make_message(alice, room, "send the notes")

    services.message_send(
        actor=bob,
        room=room,
        reply_to=parent.pk,
        upload=SimpleUploadedFile("notes.txt", b"eigenvalues\n", content_type="text/plain"),
    )

    assert fresh(parent).reply_count == 1


# --- unread replies -------------------------------------------------------------------------


@pytest.mark.django_db
def test_unread_replies_follow_the_read_marker(
    alice: Any, bob: Any, charlie: Any, room: ChatRoom
) -> None:
    parent = factories.make_message(alice, room, "question")
    first = reply(bob, parent)
    reply(charlie, parent)
    third = reply(bob, parent)

    assert unread(alice, parent) == 3  # the author follows their thread
    assert unread(charlie, parent) == 1  # a replier has read up to their reply
    state = services.thread_mark_read(actor=alice, parent=parent, reply_id=first.pk)
    assert (state.unread_count, state.last_read_id) == (2, first.pk)
    services.thread_mark_read(actor=alice, parent=parent, reply_id=third.pk)
    assert unread(alice, parent) == 0
    back = services.thread_mark_read(actor=alice, parent=parent, reply_id=first.pk)
    assert (back.unread_count, back.last_read_id) == (0, third.pk)  # never moves back


@pytest.mark.django_db
def test_a_reader_who_never_followed_has_no_unread_until_they_read(
    alice: Any, bob: Any, charlie: Any, room: ChatRoom
) -> None:
    parent = factories.make_message(alice, room, "question")
    first = reply(bob, parent)
    reply(bob, parent)

    assert unread(charlie, parent) == 0
    services.thread_mark_read(actor=charlie, parent=parent, reply_id=first.pk)
    assert unread(charlie, parent) == 1
    reply(alice, parent)
    assert unread(charlie, parent) == 2


@pytest.mark.django_db
def test_marking_a_message_that_is_no_reply_of_the_thread_is_refused(
    alice: Any, bob: Any, room: ChatRoom
) -> None:
    parent = factories.make_message(alice, room, "question")
    other = factories.make_message(bob, room, "unrelated")

    response = client_for(alice).post(
        f"/chat/messages/{parent.pk}/thread/read/", {"message_id": other.pk}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (400, "validation_error")


@pytest.mark.django_db
def test_the_rooms_unread_threads_list_only_followed_threads_with_news(
    alice: Any, bob: Any, room: ChatRoom, django_assert_max_num_queries: Any
) -> None:
    quiet = factories.make_message(alice, room, "quiet")
    busy = factories.make_message(alice, room, "busy")
    reply(alice, quiet)
    reply(bob, busy)
    reply(bob, busy)

    with django_assert_max_num_queries(6):
        response = client_for(alice).get(f"/chat/rooms/{room.pk}/threads/")

    assert response.json() == [{"message_id": busy.pk, "unread_count": 2, "last_read_id": None}]


# --- the thread view ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_thread_view_pages_the_replies_and_says_what_is_unread(
    alice: Any, bob: Any, room: ChatRoom
) -> None:
    parent = factories.make_message(alice, room, "question")
    ids = [reply(bob, parent, f"r{n}").pk for n in range(5)]
    factories.make_message(bob, room, "not in the thread")
    client = client_for(alice)

    page = client.get(f"/chat/messages/{parent.pk}/thread/", {"limit": 2}).json()

    assert set(page) == THREAD_KEYS
    assert_message_shape(page["parent"])
    assert (page["parent"]["id"], page["parent"]["reply_count"]) == (parent.pk, 5)
    assert page["parent"]["last_reply_at"] is not None
    assert [m["id"] for m in page["results"]] == ids[3:]
    assert (page["unread_count"], page["last_read_id"], page["newer"]) == (5, None, None)
    older = client.get(page["older"]).json()
    assert [m["id"] for m in older["results"]] == ids[1:3]
    assert [m["id"] for m in client.get(older["newer"]).json()["results"]] == ids[3:]


@pytest.mark.django_db
def test_replying_in_the_thread_view_goes_through_the_reply_endpoint(
    alice: Any, bob: Any, room: ChatRoom
) -> None:
    parent = factories.make_message(alice, room, "question")

    response = client_for(bob).post(
        f"/chat/messages/{parent.pk}/reply/", {"content": "answer"}, format="json"
    )
    thread = client_for(alice).get(f"/chat/messages/{parent.pk}/thread/").json()

    assert response.status_code == 201
    assert [m["content"] for m in thread["results"]] == ["answer"]
    assert (thread["parent"]["reply_count"], thread["unread_count"]) == (1, 1)


# --- events -----------------------------------------------------------------------------------


def test_a_reply_publishes_its_message_then_the_threads_new_counts(
    captured_events: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    room = factories.make_room(alice, chat_type="private", members=[bob])
    parent = factories.make_message(alice, room, "question")
    captured_events.clear()

    answer = reply(bob, parent)

    published = captured_events.payloads(f"room.{room.pk}")
    assert [p["type"] for p in published] == ["message.created", "thread.updated"]
    assert published[1]["seq"] == published[0]["seq"] + 1
    assert published[1] == {
        "type": "thread.updated",
        "room_id": room.pk,
        "seq": published[1]["seq"],
        "message_id": parent.pk,
        "reply_count": 1,
        "last_reply_at": published[0]["message"]["created_at"],
    }
    stored = list(
        RoomEvent.objects.filter(room=room, seq__gte=published[0]["seq"])
        .order_by("seq")
        .values_list("payload", flat=True)
    )
    assert stored == published  # replayed as published
    assert fresh(answer).reply_to_id == parent.pk


def test_deleting_a_reply_publishes_the_threads_new_counts(
    captured_events: Any, alice: Any, bob: Any
) -> None:
    room = factories.make_room(alice, chat_type="private", members=[bob])
    parent = factories.make_message(alice, room, "question")
    answer = reply(bob, parent)
    captured_events.clear()

    services.message_delete(actor=bob, message=answer)

    published = captured_events.payloads(f"room.{room.pk}")
    assert [p["type"] for p in published] == ["message.deleted", "thread.updated"]
    assert (published[1]["reply_count"], published[1]["last_reply_at"]) == (0, None)


@pytest.mark.django_db(transaction=True)
async def test_a_socket_reply_updates_the_parent_live_for_everyone(alice: Any, bob: Any) -> None:
    room = await db(lambda: factories.make_room(alice, chat_type="private", members=[bob]))()
    parent = await db(lambda: factories.make_message(alice, room, "question"))()
    watcher = await open_room(alice, room)
    writer = await open_room(bob, room)

    await writer.send(
        {"type": "message.send", "client_id": "t-1", "content": "answer", "reply_to": parent.pk}
    )

    created = await watcher.receive_type("message.created")
    updated = await watcher.receive_type("thread.updated")
    assert created["message"]["reply_to"] == parent.pk
    assert (updated["message_id"], updated["reply_count"]) == (parent.pk, 1)
    assert updated["seq"] == created["seq"] + 1
    assert (await writer.receive_type("thread.updated"))["reply_count"] == 1
    await watcher.close()
    await writer.close()


@pytest.mark.django_db(transaction=True)
async def test_a_reconnecting_socket_replays_thread_updates(alice: Any, bob: Any) -> None:
    room = await db(lambda: factories.make_room(alice, chat_type="private", members=[bob]))()
    parent = await db(lambda: factories.make_message(alice, room, "question"))()
    last_seq = await db(lambda: ChatRoom.objects.get(pk=room.pk).last_seq)()
    await db(lambda: reply(bob, parent))()

    socket = await open_room(alice, room, after_seq=last_seq)

    assert (await socket.receive())["type"] == "message.created"
    replayed = await socket.receive()
    assert (replayed["type"], replayed["reply_count"]) == ("thread.updated", 1)
    await socket.close()


def test_moving_a_thread_marker_tells_the_readers_own_sockets_only(
    captured_events: Any, alice: Any, bob: Any, room: ChatRoom
) -> None:
    parent = factories.make_message(alice, room, "question")
    first = reply(bob, parent)
    second = reply(bob, parent)
    captured_events.clear()

    services.thread_mark_read(actor=alice, parent=parent, reply_id=first.pk)
    services.thread_mark_read(actor=alice, parent=parent, reply_id=first.pk)  # no move
    services.thread_mark_read(actor=alice, parent=parent, reply_id=second.pk)

    assert [item.group for item in captured_events] == [f"user.{alice.pk}"] * 2
    assert captured_events.payloads() == [
        {
            "type": "thread.read",
            "room_id": room.pk,
            "message_id": parent.pk,
            "unread_count": unread_after,
            "last_read_id": read,
        }
        for unread_after, read in ((1, first.pk), (0, second.pk))
    ]


def test_ones_own_reply_moves_ones_marker_and_tells_ones_own_sockets(
    captured_events: Any, alice: Any, bob: Any, room: ChatRoom
) -> None:
    parent = factories.make_message(alice, room, "question")
    reply(alice, parent)  # bob follows the thread once he replies; he has one unread
    services.thread_mark_read(actor=bob, parent=parent, reply_id=reply(bob, parent).pk)
    reply(alice, parent)
    captured_events.clear()

    answer = reply(bob, parent)

    assert captured_events.payloads(f"user.{bob.pk}") == [
        {
            "type": "thread.read",
            "room_id": room.pk,
            "message_id": parent.pk,
            "unread_count": 0,
            "last_read_id": answer.pk,
        }
    ]
    assert captured_events.payloads(f"user.{alice.pk}") == []


@pytest.mark.django_db(transaction=True)
async def test_reading_a_thread_over_the_socket_updates_the_readers_other_tabs(
    alice: Any, bob: Any
) -> None:
    room = await db(lambda: factories.make_room(alice, chat_type="private", members=[bob]))()
    parent = await db(lambda: factories.make_message(alice, room, "question"))()
    answer = await db(lambda: reply(bob, parent))()
    tab = await open_room(alice, room)
    other_tab = await open_room(alice, room)
    replier = await open_room(bob, room)

    await tab.send({"type": "thread.read", "thread_id": parent.pk, "message_id": answer.pk})
    here = await tab.receive_type("thread.read")
    there = await other_tab.receive_type("thread.read")
    await tab.send({"type": "thread.read", "thread_id": parent.pk, "message_id": parent.pk})
    refused = await tab.receive_type("error")

    assert here == there
    assert (here["message_id"], here["unread_count"], here["last_read_id"]) == (
        parent.pk,
        0,
        answer.pk,
    )
    assert (refused["code"], refused["ref"]) == ("validation_error", "thread.read")
    assert await db(lambda: unread(alice, parent))() == 0
    assert await replier.no_more_events()
    for socket in (tab, other_tab, replier):
        await socket.close()


# --- who may --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("room_type", ROOM_TYPES)
def test_a_thread_is_for_who_may_see_its_room(room_type: str, persona: str) -> None:
    room, people = build_room(room_type)
    parent = factories.make_message(people["admin"], room, "question")
    answer = reply(people["member"], parent)
    client = client_for(people[persona])

    view = client.get(f"/chat/messages/{parent.pk}/thread/")
    read = client.post(
        f"/chat/messages/{parent.pk}/thread/read/", {"message_id": answer.pk}, format="json"
    )
    threads = client.get(f"/chat/rooms/{room.pk}/threads/")
    posted = client.post(f"/chat/messages/{parent.pk}/reply/", {"content": "me too"}, format="json")

    if persona not in VISIBLE[room_type]:
        assert [view.status_code, read.status_code, threads.status_code, posted.status_code] == [
            404,
            404,
            404,
            404,
        ]
        assert not ThreadRead.objects.filter(user=people[persona]).exists()
        return
    assert (view.status_code, read.status_code, threads.status_code) == (200, 200, 200)
    assert read.json() == {"message_id": parent.pk, "unread_count": 0, "last_read_id": answer.pk}
    participant = persona in {"admin", "moderator", "member"}
    assert posted.status_code == (201 if participant else 403)


# --- the admin ------------------------------------------------------------------------------


def test_deleting_a_reply_in_the_admin_updates_its_thread(
    admin_client: Any, alice: Any, bob: Any, captured_events: Any
) -> None:
    from chat.tests.test_admin import changelist_url

    room = factories.make_room(alice, members=[bob])
    parent = factories.make_message(alice, room, "question")
    answer = reply(bob, parent)
    captured_events.clear()

    page = admin_client.get(changelist_url("chat.chatmessage"))
    admin_client.post(
        changelist_url("chat.chatmessage"),
        {"action": "soft_delete", "_selected_action": [answer.pk]},
    )

    assert page.status_code == 200
    assert fresh(parent).reply_count == 0
    assert captured_events.types(f"room.{room.pk}") == ["message.deleted", "thread.updated"]
