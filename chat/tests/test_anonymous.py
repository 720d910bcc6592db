"""Anonymous posts to classmates: who may post one, who learns its author, and one
test per channel the author could leak through (broadcasts, replay, history,
REST, reactions, replies, mentions and notifications, attachments, presence and
typing, unread counts, search, the questions view, the admin)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from chat import errors, services
from chat.models import ChatMessage, RoomEvent
from chat.tests import factories
from chat.tests.api_support import assert_message_shape, client_for
from chat.tests.ws import db, open_presence, open_room, socket_settings  # noqa: F401

ANONYMOUS = {"id": None, "username": None, "display_name": "Anonymous classmate"}


@pytest.fixture
def room(course: Any) -> Any:
    return factories.course_room(course)


def post(alice: Any, room: Any, content: str = "Is the midterm cumulative?", **kw: Any) -> Any:
    return services.message_send(actor=alice, room=room, content=content, anonymous=True, **kw)


def names_alice(frame: dict[str, Any], alice: Any) -> bool:
    text = json.dumps(frame)
    return "alice" in text.lower() or alice.get_display_name() in text


# --- who may post anonymously ------------------------------------------------------------------

SEND = {"alice": 201, "bob": 201, "ines": 403, "stella": 404, "sam": 404, "charlie": 404}


@pytest.mark.django_db
@pytest.mark.parametrize("persona", list(SEND))
def test_who_may_post_anonymously_over_rest(
    request: pytest.FixtureRequest, persona: str, room: Any, stella: Any, sam: Any, charlie: Any
) -> None:
    body = {"room": room.pk, "content": "Anonymous?", "anonymous": True}

    response = client_for(request.getfixturevalue(persona)).post(
        "/chat/messages/", body, format="json"
    )

    # stella (is_staff) sees the course room but is no member: she may not post at all.
    expected = 403 if persona == "stella" else SEND[persona]
    assert response.status_code == expected, response.data
    if response.status_code == 201:
        assert_message_shape(response.data)
        assert response.data["sender"] == ANONYMOUS
        assert response.data["is_anonymous"] is True
        assert response.data["anonymous_author"]["username"] == persona  # the author's own view


@pytest.mark.django_db
def test_a_reply_through_the_reply_endpoint_may_be_anonymous(
    room: Any, alice: Any, bob: Any
) -> None:
    question = post(alice, room).message

    response = client_for(alice).post(
        f"/chat/messages/{question.pk}/reply/",
        {"content": "Still anonymous", "anonymous": True},
        format="json",
    )
    seen_by_bob = client_for(bob).get(f"/chat/messages/{response.data['id']}/")

    assert response.status_code == 201, response.data
    assert (response.data["reply_to"], response.data["is_anonymous"]) == (question.pk, True)
    assert seen_by_bob.data["sender"] == ANONYMOUS
    assert not names_alice(seen_by_bob.data, alice)


@pytest.mark.django_db
def test_only_course_rooms_take_anonymous_posts(alice: Any, bob: Any) -> None:
    public = factories.make_room(bob, members=[alice])

    with pytest.raises(errors.ValidationFailed):
        services.message_send(actor=alice, room=public, content="hi", anonymous=True)


# --- who learns the author, over REST ------------------------------------------------------

AUTHOR = {"alice": "alice", "bob": None, "ines": "alice", "stella": "alice"}


@pytest.mark.django_db
@pytest.mark.parametrize("persona", [*AUTHOR, "sam", "charlie"])
def test_rest_reveals_the_author_to_staff_and_the_author_only(
    request: pytest.FixtureRequest, persona: str, room: Any, alice: Any, sam: Any, charlie: Any
) -> None:
    message = post(alice, room).message
    client = client_for(request.getfixturevalue(persona))

    one = client.get(f"/chat/messages/{message.pk}/")
    history = client.get(f"/chat/rooms/{room.pk}/messages/")

    if persona not in AUTHOR:
        assert (one.status_code, history.status_code) == (404, 404)
        return
    (listed,) = [m for m in history.data["results"] if m["id"] == message.pk]
    for shown in (one.data, listed):
        assert shown["sender"] == ANONYMOUS
        author = shown["anonymous_author"]
        assert (author["username"] if author else None) == AUTHOR[persona]


# --- broadcasts, replay, edits, deletes ------------------------------------------------------


def test_the_room_broadcast_names_no_one(captured_events: Any, room: Any, alice: Any) -> None:
    captured_events.clear()

    message = post(alice, room).message

    (frame,) = captured_events.payloads(f"room.{room.pk}")
    assert frame["type"] == "message.created"
    assert frame["message"]["sender"] == ANONYMOUS
    assert frame["message"]["anonymous_author"] is None
    assert not names_alice(frame, alice)
    stored = RoomEvent.objects.get(room=room, seq=frame["seq"]).payload
    assert stored["message"]["id"] == message.pk
    assert not names_alice(stored, alice)


def test_edits_and_deletes_name_no_one(captured_events: Any, room: Any, alice: Any) -> None:
    message = post(alice, room).message
    captured_events.clear()

    services.message_edit(actor=alice, message=message, content="Is the final cumulative?")
    services.message_delete(actor=alice, message=message)

    frames = captured_events.payloads(f"room.{room.pk}")
    assert [f["type"] for f in frames] == ["message.updated", "message.deleted"]
    assert all(f["message"]["sender"] == ANONYMOUS for f in frames)
    assert not any(names_alice(f, alice) for f in frames)


@pytest.mark.django_db(transaction=True)
async def test_the_socket_and_its_replay_name_no_one(room: Any, alice: Any, bob: Any) -> None:
    author = await open_room(alice, room)
    classmate = await open_room(bob, room)
    before = await db(lambda: RoomEvent.objects.filter(room=room).count())()

    await author.send(
        {"type": "message.send", "client_id": "a-1", "content": "Psst", "anonymous": True}
    )
    seen = await classmate.receive_type("message.created")
    own = await author.receive_type("message.created")
    replay = await open_room(bob, room, after_seq=before)
    replayed = await replay.receive_type("message.created")

    assert seen["message"]["sender"] == ANONYMOUS
    assert own["message"]["client_id"] == "a-1"  # the author knows it by its client_id
    assert replayed == seen
    assert not names_alice(seen, alice)
    for socket in (author, classmate, replay):
        await socket.close()


@pytest.mark.django_db(transaction=True)
async def test_the_staff_may_not_post_anonymously_over_the_socket(room: Any, ines: Any) -> None:
    socket = await open_room(ines, room)

    await socket.send(
        {"type": "message.send", "client_id": "i-1", "content": "x", "anonymous": True}
    )
    error = await socket.receive_type("error")

    assert error["code"] == "forbidden"
    await socket.close()


# --- reactions, replies, mentions and notifications --------------------------------------------


@pytest.mark.django_db
def test_the_author_may_not_react_to_their_own_anonymous_post(
    room: Any, alice: Any, bob: Any
) -> None:
    message = post(alice, room).message

    refused = client_for(alice).post(
        f"/chat/messages/{message.pk}/react/", {"emoji": "👍"}, format="json"
    )
    services.reaction_add(actor=bob, message=message, emoji="👍")
    shown = client_for(bob).get(f"/chat/messages/{message.pk}/").data

    assert refused.status_code == 400
    assert shown["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [bob.pk]}]


def test_a_reply_and_a_mention_notification_name_no_one(
    captured_events: Any, room: Any, alice: Any, bob: Any
) -> None:
    captured_events.clear()
    question = post(alice, room, "Could @bob share the notes?", is_question=True).message
    reply = services.message_send(actor=bob, room=room, content="Sure", reply_to=question.pk)
    notified = captured_events.payloads(f"user.{bob.pk}")

    (notification,) = [f for f in notified if f["type"] == "notification"]
    assert notification["message"]["sender"] == ANONYMOUS
    assert not names_alice(notification, alice)
    published = captured_events.payloads(f"room.{room.pk}")
    created = [f for f in published if f["type"] == "message.created"]
    assert [f["message"]["id"] for f in created] == [question.pk, reply.message.pk]
    # The reply also moves the question's thread count (thread.updated): no name there either.
    assert [f["type"] for f in published if f not in created] == ["thread.updated"]
    assert not any(names_alice(f, alice) for f in published)


@pytest.mark.django_db
def test_the_questions_view_names_the_author_to_staff_only(
    room: Any, alice: Any, bob: Any, ines: Any
) -> None:
    post(alice, room, "Why?", is_question=True)

    for user, author in ((bob, None), (ines, "alice"), (alice, "alice")):
        (item,) = client_for(user).get(f"/chat/rooms/{room.pk}/questions/").data["results"]
        assert item["question"]["sender"] == ANONYMOUS
        shown = item["question"]["anonymous_author"]
        assert (shown["username"] if shown else None) == author


def test_the_thread_pins_and_reports_name_the_author_to_staff_and_the_author_only(
    room: Any, alice: Any, bob: Any, ines: Any
) -> None:
    """Every REST answer that carries the post, not only the message and history views."""
    question = post(alice, room, "Why?")
    parent = question.message
    reply = post(alice, room, "And why not?", reply_to=parent.pk).message
    services.message_pin(actor=ines, message=parent)
    report, _ = services.report_create(actor=bob, message=reply, reason="spam")

    def author(shown: dict[str, Any]) -> str | None:
        assert shown["sender"] == ANONYMOUS
        return shown["anonymous_author"]["username"] if shown["anonymous_author"] else None

    for user, expected in ((bob, None), (ines, "alice"), (alice, "alice")):
        thread = client_for(user).get(f"/chat/messages/{parent.pk}/thread/").data
        (pin,) = client_for(user).get(f"/chat/rooms/{room.pk}/pins/").data
        assert [author(thread["parent"]), author(pin["message"])] == [expected, expected]
        assert [author(shown) for shown in thread["results"]] == [expected]
    staff = client_for(ines)
    (listed,) = staff.get(f"/chat/rooms/{room.pk}/reports/").data["results"]
    one = staff.get(f"/chat/reports/{report.pk}/").data
    resolved = staff.post(
        f"/chat/reports/{report.pk}/resolve/", {"action": "dismiss"}, format="json"
    ).data
    assert [author(r["message"]) for r in (listed, one, resolved)] == ["alice"] * 3
    answer = client_for(bob).post(
        f"/chat/messages/{reply.pk}/report/", {"reason": "spam"}, format="json"
    )
    assert author(answer.data["message"]) is None


# --- attachments, presence and typing, unread counts --------------------------------------------


@pytest.mark.django_db
def test_an_anonymous_post_carries_no_file(
    room: Any, alice: Any, tmp_path: Any, settings: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("alice-notes.txt", b"mine", content_type="text/plain")

    response = client_for(alice).post(
        "/chat/messages/",
        {"room": room.pk, "file": upload, "anonymous": "true"},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.data["code"] == "validation_error"
    assert "anonymous" in response.data
    assert not ChatMessage.objects.filter(room=room, file_name="alice-notes.txt").exists()


def test_posting_publishes_no_presence_or_typing(
    captured_events: Any, room: Any, alice: Any
) -> None:
    captured_events.clear()

    post(alice, room)

    kinds = {payload["type"] for payload in captured_events.payloads()}
    assert kinds <= {"message.created", "unread", "anonymous.author"}
    assert not any(names_alice(p, alice) for p in captured_events.payloads(f"room.{room.pk}"))


def test_only_the_staff_are_told_the_author(
    captured_events: Any, room: Any, alice: Any, bob: Any, ines: Any
) -> None:
    captured_events.clear()

    message = post(alice, room)

    told = [
        item.group
        for item in captured_events
        if "text" in item.message and item.payload["type"] == "anonymous.author"
    ]
    assert told == [f"user.{ines.pk}"]  # not alice herself, not bob
    (frame,) = [p for p in captured_events.payloads(f"user.{ines.pk}") if p["type"] != "unread"]
    assert frame == {
        "type": "anonymous.author",
        "room_id": room.pk,
        "message_id": message.message.pk,
        "author": {"id": alice.pk, "username": "alice", "display_name": "Alice"},
    }
    assert not any(names_alice(p, alice) for p in captured_events.payloads(f"user.{bob.pk}"))


@pytest.mark.django_db(transaction=True)
async def test_the_staff_room_socket_learns_the_author_and_a_classmate_socket_not(
    room: Any, alice: Any, bob: Any, ines: Any
) -> None:
    staff = await open_room(ines, room)
    classmate = await open_room(bob, room)
    author = await open_room(alice, room)

    await author.send(
        {"type": "message.send", "client_id": "a-2", "content": "Psst", "anonymous": True}
    )
    created = await staff.receive_type("message.created")
    revealed = await staff.receive_type("anonymous.author")
    await classmate.receive_type("message.created")

    assert created["message"]["sender"] == ANONYMOUS
    assert (revealed["message_id"], revealed["author"]["id"]) == (
        created["message"]["id"],
        alice.pk,
    )
    assert await classmate.no_more_events()
    for socket in (staff, classmate, author):
        await socket.close()


@pytest.mark.django_db
def test_unread_counts_are_those_of_any_post(room: Any, alice: Any, bob: Any, ines: Any) -> None:
    for user in (alice, bob, ines):
        client_for(user).get(f"/chat/rooms/{room.pk}/messages/")
        newest = ChatMessage.objects.filter(room=room).order_by("-id").first()
        assert newest is not None
        services.room_mark_read(actor=user, room=room, message_id=newest.pk)

    post(alice, room)
    services.message_send(actor=ines, room=room, content="Named post")

    counts = {
        user.username: client_for(user).get(f"/chat/rooms/{room.pk}/").data["unread_count"]
        for user in (alice, bob)
    }
    # bob counts both posts alike; alice only the post that is not hers.
    assert counts == {"alice": 1, "bob": 2}


@pytest.mark.django_db(transaction=True)
async def test_the_presence_sockets_count_an_anonymous_post_as_rest_does(
    room: Any, alice: Any, bob: Any
) -> None:
    def read_up(user: Any) -> None:
        newest = ChatMessage.objects.filter(room=room).order_by("-id").first()
        assert newest is not None
        services.room_mark_read(actor=user, room=room, message_id=newest.pk)

    for user in (alice, bob):
        await db(read_up)(user)
    author = await open_presence(alice)
    classmate = await open_presence(bob)

    await db(post)(alice, room, "Mine, unsigned")
    await db(services.message_send)(actor=bob, room=room, content="Named, by bob")

    assert (await classmate.receive_type("unread"))["unread_count"] == 1
    # The author's own anonymous post does not count: her one unread is bob's.
    assert (await author.receive_type("unread"))["unread_count"] == 1
    later = []
    while not await author.communicator.receive_nothing(timeout=0.5):
        later.append(await author.receive())
    assert [frame for frame in later if frame["type"] == "unread"] == []
    rest = await db(lambda: client_for(alice).get(f"/chat/rooms/{room.pk}/").data)()
    assert rest["unread_count"] == 1
    for socket in (author, classmate):
        await socket.close()


# --- search ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "by_sender"), [("alice", 1), ("bob", 0), ("ines", 1), ("stella", 1)]
)
def test_search_by_sender_finds_anonymous_posts_only_for_staff_and_the_author(
    request: pytest.FixtureRequest, persona: str, by_sender: int, room: Any, alice: Any
) -> None:
    post(alice, room, "zebracorn cumulative?")
    client = client_for(request.getfixturevalue(persona))

    by_alice = client.get("/chat/messages/", {"sender": alice.pk, "q": "zebracorn"}).data
    by_text = client.get("/chat/messages/", {"q": "zebracorn"}).data

    assert by_alice["count"] == by_sender
    assert by_text["count"] == 1
    assert by_text["results"][0]["sender"] == ANONYMOUS


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["alice", "bob", "ines", "stella"])
def test_both_searches_name_the_author_to_whom_rest_names_them(
    request: pytest.FixtureRequest, persona: str, room: Any, alice: Any
) -> None:
    posted = post(alice, room, "zebracorn graded?").message
    client = client_for(request.getfixturevalue(persona))

    listed = client.get("/chat/messages/", {"q": "zebracorn"}).data["results"]
    ranked = client.get("/chat/messages/search/", {"q": "zebracorn"}).data["results"]
    single = client.get(f"/chat/messages/{posted.pk}/").data

    # The author and the room's staff (ines, and stella as site staff); not bob.
    expected = None if persona == "bob" else "alice"
    authors = [
        (item["anonymous_author"] or {}).get("username")
        for item in (listed[0], ranked[0]["message"], single)
    ]
    assert authors == [expected] * 3
    assert ranked[0]["message"]["sender"] == ANONYMOUS


# --- admin -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_is_closed_to_non_staff(client: Any, room: Any, alice: Any, ines: Any) -> None:
    from django.urls import reverse

    post(alice, room)
    client.force_login(ines)  # the course's instructor, but not is_staff

    response = client.get(reverse("admin:chat_chatmessage_changelist"))

    assert response.status_code == 302


@pytest.mark.django_db
def test_the_staff_admin_shows_and_filters_anonymous_posts(
    client: Any, room: Any, alice: Any, bob: Any, stella: Any
) -> None:
    from django.contrib.auth.models import Permission
    from django.urls import reverse

    post(alice, room)
    services.message_send(actor=bob, room=room, content="Named")
    stella.user_permissions.add(Permission.objects.get(codename="view_chatmessage"))
    client.force_login(stella)

    response = client.get(
        reverse("admin:chat_chatmessage_changelist"), {"is_anonymous__exact": "1"}
    )

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert "alice" in response.content.decode()  # staff see the author
