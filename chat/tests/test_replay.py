"""Replay after a reconnect, gap filling and pruning of the event log."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat import events, replay, services
from chat.models import RoomEvent
from chat.tests import factories
from chat.tests.ws import db, open_room, socket_settings  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def room(alice: Any, bob: Any, charlie: Any) -> Any:
    return factories.make_room(alice, chat_type="private", name="Lab", members=[bob, charlie])


def send_many(sender: Any, room: Any, count: int, prefix: str) -> None:
    for number in range(count):
        factories.make_message(sender, room, f"{prefix}{number}", client_id=f"{prefix}{number}")


async def collect_until(socket: Any, last_seq: int) -> list[dict[str, Any]]:
    """Seq'd events the socket receives until ``last_seq`` arrived."""
    received: list[dict[str, Any]] = []
    while not received or received[-1]["seq"] < last_seq:
        frame = await socket.receive()
        if "seq" in frame:
            received.append(frame)
    return received


async def test_after_seq_replays_exactly_the_missed_events_in_order(
    alice: Any, bob: Any, room: Any
) -> None:
    await db(send_many)(alice, room, 3, "seen-")
    seen = await db(lambda: room.__class__.objects.get(pk=room.pk).last_seq)()
    await db(send_many)(alice, room, 4, "missed-")
    b = await open_room(bob, room, after_seq=seen)
    assert b.ready["last_seq"] == seen + 4
    replayed = [await b.receive() for _ in range(4)]
    assert [event["seq"] for event in replayed] == [seen + 1, seen + 2, seen + 3, seen + 4]
    assert [event["message"]["content"] for event in replayed] == [
        f"missed-{number}" for number in range(4)
    ]
    assert await b.no_more_events()
    await b.close()


@pytest.mark.parametrize("kept_by", ["log", "feed"])
async def test_a_replay_shows_each_message_as_it_is_now_never_text_edited_away_or_deleted(
    alice: Any, bob: Any, charlie: Any, room: Any, kept_by: str
) -> None:
    """From the log, or from the memory of a feed that saw the events live."""
    seen = await db(lambda: room.__class__.objects.get(pk=room.pk).last_seq)()
    watcher = await open_room(charlie, room) if kept_by == "feed" else None
    secret = await db(factories.make_message)(alice, room, "call me on 555-0199")
    typo = await db(factories.make_message)(alice, room, "my pasword is hunter2")
    await db(lambda: services.message_pin(actor=alice, message=secret))()
    await db(lambda: services.message_edit(actor=alice, message=typo, content="fixed"))()
    await db(lambda: services.message_delete(actor=alice, message=secret))()
    last = await db(lambda: room.__class__.objects.get(pk=room.pk).last_seq)()
    if watcher is not None:
        await collect_until(watcher, last)

    b = await open_room(bob, room, after_seq=seen)
    replayed = await collect_until(b, last)

    assert not [frame for frame in replayed if "555" in str(frame) or "hunter2" in str(frame)]
    messages = {
        (frame["type"], frame["message"]["id"]): frame["message"]
        for frame in replayed
        if "message" in frame
    }
    created = messages["message.created", secret.pk]
    assert (created["is_deleted"], created["content"], created["file"]) == (True, "", None)
    assert messages["message.created", typo.pk]["content"] == "fixed"
    (pinned,) = [frame for frame in replayed if frame["type"] == "message.pinned"]
    assert pinned["pin"]["message"]["is_deleted"] is True
    assert [frame["seq"] for frame in replayed] == list(range(seen + 1, last + 1))
    await b.close()
    if watcher is not None:
        await watcher.close()


async def test_returning_client_gets_200_missed_messages_once_in_order_while_others_send(
    alice: Any, bob: Any, charlie: Any, room: Any
) -> None:
    b = await open_room(bob, room)
    away_from = b.ready["last_seq"]
    await b.close()
    await db(send_many)(alice, room, 100, "a-")
    await db(send_many)(charlie, room, 100, "c-")

    async def keep_sending() -> None:
        for number in range(20):
            await db(factories.make_message)(charlie, room, f"live-{number}")
            await asyncio.sleep(0)

    sender = asyncio.ensure_future(keep_sending())
    b = await open_room(bob, room, after_seq=away_from)
    await sender
    final = await db(lambda: room.__class__.objects.get(pk=room.pk).last_seq)()
    received = await collect_until(b, final)
    assert [event["seq"] for event in received] == list(range(away_from + 1, final + 1))
    contents = [event["message"]["content"] for event in received]
    assert len(set(contents)) == len(contents) == 220
    assert await b.no_more_events()
    await b.close()


async def test_live_events_continue_after_replay(alice: Any, bob: Any, room: Any) -> None:
    b = await open_room(bob, room, after_seq=0)
    last = b.ready["last_seq"]
    await collect_until(b, last)
    await db(factories.make_message)(alice, room, "live")
    event = await b.receive_type("message.created")
    assert (event["seq"], event["message"]["content"]) == (last + 1, "live")
    await b.close()


async def test_pruned_history_sends_resync_required_then_continues_live(
    settings: Any, alice: Any, bob: Any, room: Any
) -> None:
    await db(send_many)(alice, room, 5, "old-")
    settings.CHAT_EVENT_RETENTION_HOURS = 0
    await db(call_command)("prune_events")
    b = await open_room(bob, room, after_seq=1)
    assert await b.receive() == {"type": "resync.required"}
    await db(factories.make_message)(alice, room, "new")
    event = await b.receive_type("message.created")
    assert event["seq"] == b.ready["last_seq"] + 1
    await b.close()


async def test_after_seq_beyond_last_seq_or_not_a_number_asks_for_resync(
    bob: Any, room: Any
) -> None:
    for value in ("999999", "x"):
        socket = await open_room(bob, room, after_seq=value)  # type: ignore[arg-type]
        assert await socket.receive() == {"type": "resync.required"}
        await socket.close()


async def test_gap_in_live_events_is_filled_from_the_log(
    monkeypatch: pytest.MonkeyPatch, alice: Any, bob: Any, room: Any
) -> None:
    b = await open_room(bob, room)
    start = b.ready["last_seq"]
    real_send = events.send
    dropped: list[int] = []

    def lossy_send(group: str, message: dict[str, Any]) -> None:
        if message.get("seq") == start + 2 and not dropped:
            dropped.append(message["seq"])
            return
        real_send(group, message)

    monkeypatch.setattr(events, "send", lossy_send)
    await db(send_many)(alice, room, 3, "gap-")
    received = await collect_until(b, start + 3)
    assert dropped == [start + 2]
    assert [event["seq"] for event in received] == [start + 1, start + 2, start + 3]
    assert [event["message"]["content"] for event in received] == ["gap-0", "gap-1", "gap-2"]
    await b.close()


async def test_events_published_out_of_order_are_delivered_in_order(
    monkeypatch: pytest.MonkeyPatch, alice: Any, bob: Any, room: Any
) -> None:
    b = await open_room(bob, room)
    start = b.ready["last_seq"]
    real_send = events.send
    held: list[tuple[str, dict[str, Any]]] = []

    def reordering_send(group: str, message: dict[str, Any]) -> None:
        if message.get("seq") == start + 1:
            held.append((group, message))
            return
        real_send(group, message)
        for item in held:
            real_send(*item)
        held.clear()

    monkeypatch.setattr(events, "send", reordering_send)
    await db(send_many)(alice, room, 2, "order-")
    received = await collect_until(b, start + 2)
    assert [event["seq"] for event in received] == [start + 1, start + 2]
    assert await b.no_more_events()
    await b.close()


def test_prune_keeps_recent_events_and_each_rooms_newest(alice: Any, room: Any) -> None:
    send_many(alice, room, 3, "p-")
    room.refresh_from_db()
    RoomEvent.objects.filter(room=room).update(created_at=timezone.now() - timedelta(hours=100))
    factories.make_message(alice, room, "recent")
    other = factories.make_room(alice, chat_type="public", name="Quiet")
    RoomEvent.objects.filter(room=other).update(created_at=timezone.now() - timedelta(hours=100))
    deleted = services.room_events_prune(before=replay.retention_cutoff())
    assert deleted == room.last_seq
    assert list(RoomEvent.objects.filter(room=room).values_list("seq", flat=True)) == [
        room.last_seq + 1
    ]
    other.refresh_from_db()
    assert list(RoomEvent.objects.filter(room=other).values_list("seq", flat=True)) == [
        other.last_seq
    ]


def test_prune_deletes_in_batches_until_the_window_is_clean(
    monkeypatch: pytest.MonkeyPatch, alice: Any, room: Any
) -> None:
    from chat.services import retention

    monkeypatch.setattr(retention, "PRUNE_BATCH", 2)
    send_many(alice, room, 5, "b-")
    room.refresh_from_db()
    RoomEvent.objects.filter(room=room).update(created_at=timezone.now() - timedelta(hours=100))
    with CaptureQueriesContext(connection) as queries:
        deleted = services.room_events_prune(before=replay.retention_cutoff())
    statements = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]

    assert deleted == room.last_seq - 1
    assert len(statements) == -(-deleted // 2)  # ceil: two events per statement
    assert list(RoomEvent.objects.filter(room=room).values_list("seq", flat=True)) == [
        room.last_seq
    ]


async def test_a_resume_right_at_the_oldest_kept_event_replays_without_resync(
    alice: Any, bob: Any, room: Any
) -> None:
    await db(send_many)(alice, room, 4, "k-")
    last = await db(lambda: type(room).objects.get(pk=room.pk).last_seq)()
    await db(lambda: RoomEvent.objects.filter(room=room, seq__lte=last - 2).delete())()
    kept = await open_room(bob, room, after_seq=last - 2)
    replayed = [await kept.receive() for _ in range(2)]
    assert [frame["seq"] for frame in replayed] == [last - 1, last]
    await kept.close()
    lost = await open_room(bob, room, after_seq=last - 3)
    assert await lost.receive() == {"type": "resync.required"}
    await lost.close()


async def test_a_socket_connecting_while_the_rooms_last_socket_closes_still_gets_live_events(
    monkeypatch: pytest.MonkeyPatch, alice: Any, bob: Any, room: Any
) -> None:
    """A browser's reconnect: the new socket is half set up when the old one's
    close lets go of the room. The new one must stay on the feed the hub pumps."""
    from chat.consumers.room import ChatConsumer

    real_register = ChatConsumer.register
    connecting = asyncio.Event()
    carry_on = asyncio.Event()
    held: list[bool] = []

    async def register_after_the_old_socket_closed(self: Any) -> bool:
        if not held:
            held.append(True)
            connecting.set()
            await carry_on.wait()
        return await real_register(self)

    old = await open_room(bob, room)
    monkeypatch.setattr(ChatConsumer, "register", register_after_the_old_socket_closed)
    reconnect = asyncio.ensure_future(open_room(bob, room, after_seq=old.ready["last_seq"]))
    await asyncio.wait_for(connecting.wait(), 5)
    await old.close()
    carry_on.set()
    new = await reconnect

    await db(factories.make_message)(alice, room, "after the reconnect")
    event = await new.receive_type("message.created")
    assert event["message"]["content"] == "after the reconnect"
    assert event["seq"] == new.ready["last_seq"] + 1
    await new.close()
