"""Unread counters: after any mix of writes, every participant's counter-based
unread count equals a recount with the rule it replaced, and reading it never
touches the messages table."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import selectors, services
from chat.models import ChatMessage, ChatParticipant, ChatRoom
from chat.services import counters
from chat.tests import factories
from chat.tests.api_support import client_for

MESSAGES_TABLE = ChatMessage._meta.db_table


def recounted_unread(participant: ChatParticipant) -> int:
    """The rule the counters replace: messages after the read marker, not deleted,
    not sent by the viewer, not ``system``."""
    return (
        ChatMessage.objects.filter(
            room_id=participant.room_id,
            is_deleted=False,
            id__gt=participant.last_read_message_id or 0,
        )
        .exclude(sender_id=participant.user_id)
        .exclude(message_type=ChatMessage.MessageType.SYSTEM)
        .count()
    )


def counter_unread(participant: ChatParticipant) -> int:
    room = ChatRoom.objects.get(pk=participant.room_id)
    return room.message_count - participant.read_count - participant.own_after_read_count


def assert_counters_exact(room: ChatRoom) -> dict[str, int]:
    """Every participant row of the room, active or not, agrees with a recount;
    for active ones so do the selectors. Returns unread by username (active)."""
    counted = ChatMessage.objects.filter(room=room, is_deleted=False).exclude(message_type="system")
    assert ChatRoom.objects.get(pk=room.pk).message_count == counted.count()
    unread = {}
    for participant in ChatParticipant.objects.filter(room=room).select_related("user"):
        expected = recounted_unread(participant)
        assert counter_unread(participant) == expected, participant.user.username
        if participant.is_active:
            user = participant.user
            assert selectors.unread_count(user, room) == expected
            assert selectors.room_get_for_user(user, room.pk).unread_count == expected
            states = selectors.member_unread_states(user, [room.pk])
            assert [state.unread_count for state in states] == [expected]
            unread[user.username] = expected
    return unread


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CHAT_CLAMD_SOCKET = ""
    return settings.MEDIA_ROOT


def send(user: Any, room: ChatRoom, content: str = "hello", **kwargs: Any) -> ChatMessage:
    return factories.make_message(user, room, content, **kwargs)


def read(user: Any, room: ChatRoom, message: ChatMessage) -> int:
    return services.room_mark_read(actor=user, room=room, message_id=message.pk)


@pytest.mark.parametrize("tail_probe", [1000, 0], ids=["tail-counted", "range-counted"])
def test_counters_equal_a_recount_after_a_mix_of_writes(
    monkeypatch: pytest.MonkeyPatch,
    tail_probe: int,
    ines: Any,
    alice: Any,
    bob: Any,
    charlie: Any,
    stella: Any,
) -> None:
    monkeypatch.setattr(counters, "TAIL_PROBE", tail_probe)
    room = factories.make_room(ines, name="Lab", members=[alice, bob])
    assert assert_counters_exact(room) == {"ines": 0, "alice": 0, "bob": 0}

    a1 = send(alice, room, "one")
    b1 = send(bob, room, "two")
    i1 = send(ines, room, "three")
    a2 = send(alice, room, "reply", reply_to=b1.pk)
    note = SimpleUploadedFile("notes.txt", b"some notes\n", content_type="text/plain")
    b2 = services.message_send(actor=bob, room=room, upload=note).message
    assert b2.message_type == "file"
    services.system_alert(actor=stella, content="Maintenance tonight", room=room)
    assert assert_counters_exact(room) == {"ines": 4, "alice": 3, "bob": 3}

    assert read(alice, room, i1) == 1  # b2: a2 is her own, the alert is a system message
    assert read(bob, room, b2) == 0
    assert assert_counters_exact(room) == {"ines": 4, "alice": 1, "bob": 0}

    # Deletes by the sender and by a moderator, before and after others' markers.
    services.message_delete(actor=alice, message=a1)  # before alice's and bob's markers
    services.message_delete(actor=ines, message=b2)  # after alice's, at bob's marker
    services.message_delete(actor=alice, message=a2)  # her own, after her marker
    assert assert_counters_exact(room) == {"ines": 1, "alice": 0, "bob": 0}

    # A join sees the whole counted history; a leave, sends and deletes while away, a re-join.
    services.room_join(actor=charlie, room=room)
    services.room_leave(actor=bob, room=room)
    c1 = send(charlie, room, "hi all")
    i2 = send(ines, room, "welcome")
    services.message_delete(actor=ines, message=b1)  # bob's own, before his marker
    services.message_delete(actor=ines, message=c1)
    services.room_join(actor=bob, room=room)
    assert assert_counters_exact(room) == {"ines": 0, "alice": 1, "bob": 1, "charlie": 2}

    # Removal and re-invitation by a moderator; markers on a system, a deleted, an own message.
    services.participant_remove(actor=ines, room=room, user_id=alice.pk)
    services.participant_invite(actor=ines, room=room, user=alice)
    a3 = send(alice, room, "back")
    system = ChatMessage.objects.filter(room=room, message_type="system").latest("id")
    assert read(charlie, room, system) == 1  # a3
    assert read(bob, room, c1) == 2  # i2 and a3
    assert read(alice, room, a3) == 0
    assert read(alice, room, i2) == 0  # a marker never moves back
    send(bob, room, "late")
    assert assert_counters_exact(room) == {"ines": 2, "alice": 1, "bob": 2, "charlie": 2}


def test_a_deleted_users_messages_leave_the_counts(
    ines: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    room = factories.make_room(ines, name="Lab", members=[alice, bob, charlie])
    send(bob, room, "mine")
    first = send(charlie, room, "soon gone")
    send(charlie, room, "also gone")
    read(alice, room, first)
    assert assert_counters_exact(room) == {"ines": 3, "alice": 1, "bob": 2, "charlie": 1}

    charlie.delete()
    # alice's marker pointed at a deleted message: like the old rule, she starts over.
    assert assert_counters_exact(room) == {"ines": 1, "alice": 1, "bob": 0}


def test_the_migration_backfills_the_counters_from_a_recount(
    ines: Any, alice: Any, bob: Any
) -> None:
    room = factories.make_room(ines, name="Lab", members=[alice, bob])
    for n in range(3):
        send(alice, room, f"a{n}")
        send(bob, room, f"b{n}")
    read(bob, room, send(ines, room, "marker"))
    services.message_delete(
        actor=ines, message=ChatMessage.objects.filter(sender=alice).earliest("pk")
    )
    expected = assert_counters_exact(room)
    assert expected == {"ines": 5, "alice": 4, "bob": 0}
    ChatRoom.objects.update(message_count=0)
    ChatParticipant.objects.update(read_count=7, own_after_read_count=-3)

    migration = importlib.import_module("chat.migrations.0003_unread_counters")
    migration.recount(apps, None)

    assert assert_counters_exact(room) == expected


def messages_queries(queries: list[dict[str, str]]) -> list[str]:
    return [query["sql"] for query in queries if MESSAGES_TABLE in query["sql"]]


@pytest.mark.parametrize("messages", [1, 40])
def test_room_reads_never_query_the_messages(
    messages: int, ines: Any, alice: Any, bob: Any
) -> None:
    rooms = [factories.make_room(ines, name=f"Room {n}", members=[alice]) for n in range(3)]
    for n in range(messages):
        send(ines, rooms[n % 3], f"m{n}")
    client = client_for(alice)

    with CaptureQueriesContext(connection) as listed:
        response = client.get("/chat/rooms/")
    with CaptureQueriesContext(connection) as detail:
        client.get(f"/chat/rooms/{rooms[0].pk}/")
    with CaptureQueriesContext(connection) as states:
        selectors.member_unread_states(alice)
        selectors.unread_count(alice, rooms[0])

    assert response.status_code == 200
    counts = sorted(room["unread_count"] for room in response.json()["results"])
    assert counts == sorted(len(range(n, messages, 3)) for n in range(3))
    assert messages_queries(listed.captured_queries) == []
    assert messages_queries(detail.captured_queries) == []
    assert messages_queries(states.captured_queries) == []
    # The same number of queries whatever the number of messages.
    assert (len(listed), len(detail), len(states)) == (2, 1, 2)  # one page: no COUNT


def test_the_read_endpoint_answers_by_subtraction(ines: Any, alice: Any) -> None:
    room = factories.make_room(ines, name="Lab", members=[alice])
    messages = [send(ines, room, f"m{n}") for n in range(5)]

    response = client_for(alice).post(
        f"/chat/rooms/{room.pk}/read/", {"message_id": messages[1].pk}, format="json"
    )

    assert response.json() == {"room_id": room.pk, "unread_count": 3}
    participant = ChatParticipant.objects.get(room=room, user=alice)
    assert (participant.read_count, participant.own_after_read_count) == (2, 0)
