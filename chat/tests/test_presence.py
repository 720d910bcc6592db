"""The presence socket, online/offline across sockets, and the sweep."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from chat import services
from chat.consumers import sweeper
from chat.models import PresenceConnection, UserPresence
from chat.services import presence as presence_services
from chat.tests import factories
from chat.tests.api_support import client_for
from chat.tests.ws import db, open_presence, open_room, socket_settings  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def room(alice: Any, bob: Any) -> Any:
    return factories.make_room(alice, chat_type="private", name="Pair", members=[bob])


def status_of(user: Any) -> str:
    return UserPresence.objects.get(user=user).status


async def test_snapshot_lists_the_users_who_share_a_room(
    alice: Any, bob: Any, charlie: Any, room: Any
) -> None:
    await db(presence_services.presence_get)(charlie)
    await db(presence_services.presence_get)(alice)
    b = await open_presence(bob)
    users = {entry["user"]["username"]: entry for entry in b.snapshot["users"]}
    assert set(users) == {"alice", "bob"}
    assert users["bob"]["status"] == "online"
    assert users["alice"]["status"] == "offline"
    assert set(users["alice"]) == {"user", "status", "last_seen", "is_typing", "current_room"}
    await b.close()


async def test_snapshot_shows_co_members_who_never_connected_as_offline(
    alice: Any, bob: Any, room: Any
) -> None:
    b = await open_presence(bob)
    [alice_entry] = [e for e in b.snapshot["users"] if e["user"]["id"] == alice.pk]
    assert alice_entry["status"] == "offline"
    assert alice_entry["is_typing"] is False
    assert alice_entry["last_seen"] is not None
    await b.close()


async def test_coming_online_and_going_offline_reach_co_members_once(
    alice: Any, bob: Any, room: Any
) -> None:
    await db(lambda: factories.make_room(alice, chat_type="private", name="Two", members=[bob]))()
    a = await open_presence(alice)
    b = await open_presence(bob)
    online = await a.receive_type("presence")
    assert (online["user"]["id"], online["status"]) == (bob.pk, "online")
    await b.close()
    offline = await a.receive_type("presence")
    assert (offline["user"]["id"], offline["status"]) == (bob.pk, "offline")
    assert await a.nothing()  # the same change came through two rooms, sent once
    await a.close()


async def test_users_who_come_to_share_a_room_learn_each_others_status(
    alice: Any, charlie: Any
) -> None:
    """The snapshot covered who shared a room at connect; a new co-member is told."""
    a = await open_presence(alice)
    c = await open_presence(charlie)
    assert {e["user"]["username"] for e in a.snapshot["users"]} <= {"alice"}
    await db(lambda: services.presence_set(actor=charlie, status="busy"))()

    await db(lambda: factories.make_room(alice, chat_type="private", members=[charlie]))()

    told_alice = [await a.receive_type("presence", "unread")]
    while not await a.communicator.receive_nothing(timeout=0.3):
        told_alice.append(await a.receive())
    told_charlie = await c.receive_type("presence")
    # Once, though charlie's status reached two rooms' feeds; the new room's count
    # (0) announces the room.
    assert [
        (frame["user"]["username"], frame["status"])
        for frame in told_alice
        if frame["type"] == "presence"
    ] == [("charlie", "busy")]
    assert [frame["unread_count"] for frame in told_alice if frame["type"] == "unread"] == [0]
    assert (told_charlie["user"]["username"], told_charlie["status"]) == ("alice", "online")
    await a.close()
    await c.close()


async def test_user_stays_online_until_the_last_tab_closes(bob: Any, room: Any) -> None:
    first = await open_presence(bob)
    second = await open_room(bob, room)
    await first.close()
    assert await db(status_of)(bob) == "online"
    await second.close()
    assert await db(status_of)(bob) == "offline"
    assert await db(PresenceConnection.objects.count)() == 0


async def test_presence_set_is_broadcast_and_kept_while_connected(
    alice: Any, bob: Any, room: Any
) -> None:
    a = await open_presence(alice)
    b = await open_presence(bob)
    await a.receive_type("presence")
    await b.send({"type": "presence.set", "status": "busy"})
    frame = await a.receive_type("presence")
    assert (frame["user"]["id"], frame["status"]) == (bob.pk, "busy")
    second = await open_presence(bob)
    assert await db(status_of)(bob) == "busy"
    await second.close()
    await b.close()
    await a.close()


async def test_presence_set_errors(bob: Any, room: Any) -> None:
    b = await open_presence(bob)
    await b.send({"type": "presence.set", "status": "asleep"})
    error = await b.receive_type("error")
    assert (error["code"], error["ref"]) == ("validation_error", "presence.set")
    await b.send({"type": "presence.set"})
    error = await b.receive_type("error")
    assert error["code"] == "bad_request"
    await b.send({"type": "message.send", "content": "wrong socket"})
    error = await b.receive_type("error")
    assert (error["code"], error["ref"]) == ("bad_request", "message.send")
    await b.close()


async def test_presence_ping_gets_pong(bob: Any) -> None:
    b = await open_presence(bob)
    await b.send({"type": "ping"})
    assert await b.receive_type("pong") == {"type": "pong"}
    await b.close()


async def test_presence_socket_without_credentials_is_closed_with_4401() -> None:
    from chat.tests.ws import open_socket

    socket = await open_socket("/ws/presence/", headers=[(b"authorization", b"Token nope")])
    assert await socket.close_code() == 4401


async def test_silent_presence_socket_is_closed_with_4408_and_goes_offline(
    settings: Any, bob: Any
) -> None:
    settings.CHAT_CONNECTION_TIMEOUT = 1
    b = await open_presence(bob)
    assert await b.close_code() == 4408
    await b.close()
    assert await db(status_of)(bob) == "offline"


async def test_unread_counts_follow_new_and_deleted_messages(
    alice: Any, bob: Any, room: Any
) -> None:
    b = await open_presence(bob)
    message = await db(factories.make_message)(alice, room, "one")
    assert await b.receive_type("unread") == {
        "type": "unread",
        "room_id": room.pk,
        "unread_count": 1,
    }
    await db(factories.make_message)(bob, room, "my own does not count")
    await db(services.message_delete)(actor=alice, message=message)
    assert (await b.receive_type("unread"))["unread_count"] == 0
    await b.close()


async def test_a_message_sent_while_the_socket_reads_its_counts_is_counted_once(
    monkeypatch: pytest.MonkeyPatch, alice: Any, bob: Any, room: Any
) -> None:
    """The socket watches its rooms, then reads their counts: a message committed in
    between is in the count read and arrives as an event too."""
    from chat import selectors

    real = selectors.member_unread_states
    raced: list[int] = []

    def read_after_a_message(user: Any, room_ids: Any = None) -> Any:
        if not raced:
            raced.append(factories.make_message(alice, room, "in between").pk)
        return real(user, room_ids)

    monkeypatch.setattr(selectors, "member_unread_states", read_after_a_message)
    b = await open_presence(bob)
    await db(factories.make_message)(alice, room, "after")

    counts = [(await b.receive_type("unread"))["unread_count"]]
    while not await b.communicator.receive_nothing(timeout=0.5):
        frame = await b.receive()
        if frame["type"] == "unread":
            counts.append(frame["unread_count"])
    assert counts == [2]  # "after" made it 2; "in between" was in the count read
    rest = await db(lambda: client_for(bob).get(f"/chat/rooms/{room.pk}/").data)()
    assert rest["unread_count"] == 2
    await b.close()


async def test_a_read_marker_move_that_leaves_the_count_sends_no_unread(
    alice: Any, bob: Any, room: Any
) -> None:
    b = await open_presence(bob)
    gone = await db(factories.make_message)(alice, room, "oops")
    assert (await b.receive_type("unread"))["unread_count"] == 1
    await db(services.message_delete)(actor=alice, message=gone)
    assert (await b.receive_type("unread"))["unread_count"] == 0

    # Past the deleted message: the marker moves, the count stays 0.
    await db(services.room_mark_read)(actor=bob, room=room, message_id=gone.pk)
    await db(factories.make_message)(alice, room, "next")

    assert (await b.receive_type("unread"))["unread_count"] == 1
    await b.close()


async def test_mention_notification_reaches_the_presence_socket(
    alice: Any, bob: Any, room: Any
) -> None:
    b = await open_presence(bob)
    await db(factories.make_message)(alice, room, "hey @bob")
    note = await b.receive_type("notification")
    assert (note["kind"], note["room_id"], note["message"]["content"]) == (
        "mention",
        room.pk,
        "hey @bob",
    )
    await b.close()


async def test_joining_a_room_makes_the_socket_follow_it(
    alice: Any, bob: Any, charlie: Any, room: Any
) -> None:
    c = await open_presence(charlie)
    await db(services.participant_invite)(actor=alice, room=room, user=charlie)
    await db(factories.make_message)(alice, room, "welcome")
    assert (await c.receive_type("unread"))["room_id"] == room.pk
    b = await open_presence(bob)
    frame = await c.receive_type("presence")
    # Charlie's own status, announced to the room he joined, may come first
    # (whether it does depends on which of the two publishes arrives first).
    while frame["user"]["id"] == charlie.pk:
        frame = await c.receive_type("presence")
    assert (frame["user"]["id"], frame["status"]) == (bob.pk, "online")
    await b.close()
    await c.close()


async def test_a_room_one_is_added_to_is_announced_even_with_nothing_unread(
    alice: Any, charlie: Any, room: Any
) -> None:
    c = await open_presence(charlie)
    await db(services.participant_invite)(actor=alice, room=room, user=charlie)

    frame = await c.receive_type("unread")

    # Only the system message of the invitation, which never counts: the client
    # learns of the room by it (and reads its list again).
    assert frame == {"type": "unread", "room_id": room.pk, "unread_count": 0}
    await c.close()


async def test_a_reload_writes_the_closed_and_the_opened_socket_in_one_batch(
    monkeypatch: pytest.MonkeyPatch, alice: Any, room: Any
) -> None:
    from chat.consumers import hub as hub_module

    # Long enough for the new socket's handshake on a slow machine (0.1 s in service).
    monkeypatch.setattr(hub_module, "UNREGISTER_DELAY_SECONDS", 0.5)
    batches: list[tuple[int, int]] = []
    real_apply = presence_services.connections_apply

    def recording_apply(**kwargs: Any) -> Any:
        batches.append((len(kwargs["opened"]), len(kwargs["closed"])))
        return real_apply(**kwargs)

    monkeypatch.setattr(presence_services, "connections_apply", recording_apply)
    first = await open_room(alice, room)
    assert batches == [(1, 0)]
    old_key = PresenceConnection.objects.filter(user=alice).values_list("channel_name", flat=True)
    (old,) = await db(list)(old_key)

    # The page reloads: its socket closes and a new one opens at once (a client
    # does not wait for the server's cleanup of the old one).
    closing = asyncio.ensure_future(first.close())
    second = await open_room(alice, room)
    await closing

    assert batches == [(1, 0), (1, 1)]  # the close waited and went with the open
    rows = await db(list)(
        PresenceConnection.objects.filter(user=alice).values_list("channel_name", flat=True)
    )
    assert len(rows) == 1 and rows != [old]
    assert await db(status_of)(alice) == "online"

    await second.close()  # a close with no open after it is written after the delay
    assert batches == [(1, 0), (1, 1), (0, 1)]
    assert not await db(PresenceConnection.objects.filter(user=alice).exists)()
    assert await db(status_of)(alice) == "offline"


async def test_a_socket_closing_while_it_follows_a_new_room_leaves_no_feed_behind(
    monkeypatch: pytest.MonkeyPatch, alice: Any, charlie: Any, room: Any
) -> None:
    from chat.consumers.hub import Hub, get_hub

    real_watch = Hub.watch
    watching = asyncio.Event()
    carry_on = asyncio.Event()

    async def slow_watch(self: Hub, room_ids: Any, watcher: Any) -> None:
        room_ids = list(room_ids)
        if room.pk in room_ids:
            watching.set()
            await carry_on.wait()
        await real_watch(self, room_ids, watcher)

    c = await open_presence(charlie)
    monkeypatch.setattr(Hub, "watch", slow_watch)
    await db(services.participant_invite)(actor=alice, room=room, user=charlie)
    await asyncio.wait_for(watching.wait(), 5)
    await c.close()
    carry_on.set()
    for _ in range(50):  # the follow finishes on the hub's task
        await asyncio.sleep(0.02)
        feed = get_hub().feeds.get(room.pk)
        if feed is None:
            break
    assert room.pk not in get_hub().feeds
    assert all(not feed.watchers for feed in get_hub().feeds.values())


async def test_removed_user_stops_following_the_room(alice: Any, bob: Any, room: Any) -> None:
    b = await open_presence(bob)
    await db(services.participant_remove)(actor=alice, room=room, user_id=bob.pk)
    await b.nothing(0.3)
    await db(factories.make_message)(alice, room, "after removal")
    assert await b.nothing(0.3)
    await b.close()


def test_sweep_turns_users_of_a_dead_process_offline(
    captured_events: Any, alice: Any, bob: Any, room: Any
) -> None:
    presence_services.connection_open(user=bob, channel_name="dead.1", server_id="dead")
    presence_services.connection_open(user=alice, channel_name="live.1", server_id="live")
    long_ago = timezone.now() - timedelta(seconds=120)
    PresenceConnection.objects.filter(server_id="dead").update(last_heartbeat=long_ago)
    UserPresence.objects.filter(user=bob).update(last_seen=long_ago)
    captured_events.clear()
    assert presence_services.presence_sweep() == [bob.pk]
    assert status_of(bob) == "offline"
    assert status_of(alice) == "online"
    frames = [p for p in captured_events.payloads() if p["type"] == "presence"]
    assert {(f["user"]["id"], f["status"]) for f in frames} == {(bob.pk, "offline")}
    assert list(PresenceConnection.objects.values_list("channel_name", flat=True)) == ["live.1"]


def test_a_presence_row_gone_behind_the_process_is_made_again(
    settings: Any, captured_events: Any, bob: Any, room: Any
) -> None:
    """Registrations skip inserting the presence rows this process has seen; a
    row deleted meanwhile is noticed and made again, and its user comes online."""
    settings.CHAT_PRESENCE_OFFLINE_GRACE = 0
    presence_services.connection_open(user=bob, channel_name="seen.1")
    presence_services.connections_apply(opened=[], closed=[(bob.pk, "seen.1")])
    assert bob.pk in presence_services._HAVE_PRESENCE
    UserPresence.objects.filter(user=bob).delete()
    captured_events.clear()

    presence_services.connection_open(user=bob, channel_name="seen.2")

    assert status_of(bob) == "online"
    frames = [p for p in captured_events.payloads() if p["type"] == "presence"]
    assert [(f["user"]["id"], f["status"]) for f in frames] == [(bob.pk, "online")]


def test_refused_and_closed_sockets_leave_their_users_as_they_are(
    settings: Any, alice: Any, bob: Any, room: Any
) -> None:
    """An open refused over the limit: its user is still online (the live ones
    count); a close in the same batch as another user's open: offline."""
    settings.CHAT_PRESENCE_OFFLINE_GRACE = 0
    settings.CHAT_WS_MAX_SOCKETS_PER_USER = 1
    presence_services.connection_open(user=bob, channel_name="bob.1")
    presence_services.connection_open(user=alice, channel_name="alice.1")

    applied = presence_services.connections_apply(
        opened=[(bob, "bob.2")], closed=[(alice.pk, "alice.1")]
    )

    assert applied.refused == {"bob.2"}
    assert (status_of(bob), status_of(alice)) == ("online", "offline")
    assert list(PresenceConnection.objects.values_list("channel_name", flat=True)) == ["bob.1"]


def test_presence_sweep_command(bob: Any, room: Any) -> None:
    presence_services.connection_open(user=bob, channel_name="dead.2", server_id="dead")
    long_ago = timezone.now() - timedelta(seconds=120)
    PresenceConnection.objects.update(last_heartbeat=long_ago)
    UserPresence.objects.update(last_seen=long_ago)
    call_command("presence_sweep")
    assert status_of(bob) == "offline"


def test_process_sweep_refreshes_its_own_sockets(settings: Any, bob: Any) -> None:
    presence_services.connection_open(user=bob, channel_name="mine.1")
    PresenceConnection.objects.update(last_heartbeat=timezone.now() - timedelta(seconds=120))
    assert sweeper.sweep_once() == (1, [])
    assert status_of(bob) == "online"


def test_a_sweep_right_after_an_outage_leaves_other_processes_alone(alice: Any, bob: Any) -> None:
    presence_services.connection_open(user=bob, channel_name="other.1", server_id="other")
    long_ago = timezone.now() - timedelta(seconds=120)
    PresenceConnection.objects.update(last_heartbeat=long_ago)
    UserPresence.objects.update(last_seen=long_ago)
    # Just back from an outage: the other process has not refreshed its rows yet.
    assert sweeper.sweep_once(sweep_others=False) == (0, [])
    assert PresenceConnection.objects.filter(server_id="other").count() == 1
    assert status_of(bob) == "online"
    assert sweeper.sweep_once() == (0, [bob.pk])


async def test_sockets_whose_rows_were_swept_register_again(
    settings: Any, bob: Any, room: Any
) -> None:
    """A database outage longer than CHAT_CONNECTION_TIMEOUT: another process
    swept this one's rows; its next sweep finds them missing and writes them again."""
    settings.CHAT_PRESENCE_SWEEP_INTERVAL = 0.2
    settings.CHAT_PRESENCE_OFFLINE_GRACE = 0
    b = await open_room(bob, room)
    sweeper.ensure_started()

    def swept_by_another_process() -> None:
        PresenceConnection.objects.all().delete()
        UserPresence.objects.filter(user=bob).update(status="offline")

    await db(swept_by_another_process)()
    for _ in range(50):
        if await db(PresenceConnection.objects.filter(user=bob).count)() == 1:
            break
        await asyncio.sleep(0.1)
    assert await db(PresenceConnection.objects.filter(user=bob).count)() == 1
    assert await db(status_of)(bob) == "online"
    await b.close()


def test_sweep_interval_stays_within_the_timeout(settings: Any) -> None:
    settings.CHAT_PRESENCE_SWEEP_INTERVAL = 30
    settings.CHAT_CONNECTION_TIMEOUT = 3
    assert sweeper.sweep_interval() == 1.0
    settings.CHAT_PRESENCE_SWEEP_INTERVAL = 0
    assert sweeper.sweep_interval() == 0.0


async def test_last_socket_closing_goes_offline_once_the_grace_has_passed(
    settings: Any, alice: Any, bob: Any, room: Any
) -> None:
    settings.CHAT_PRESENCE_OFFLINE_GRACE = 0.5
    a = await open_presence(alice)
    b = await open_room(bob, room)
    assert (await a.receive_type("presence"))["status"] == "online"
    await b.close()
    assert await db(status_of)(bob) == "online"
    frame = await a.receive_type("presence")
    assert (frame["user"]["id"], frame["status"]) == (bob.pk, "offline")
    assert await db(status_of)(bob) == "offline"
    await a.close()


async def test_a_reconnect_within_the_grace_does_not_flicker(
    settings: Any, alice: Any, bob: Any, room: Any
) -> None:
    settings.CHAT_PRESENCE_OFFLINE_GRACE = 0.5
    a = await open_presence(alice)
    b = await open_room(bob, room)
    assert (await a.receive_type("presence"))["status"] == "online"
    await b.close()
    again = await open_room(bob, room)
    assert await a.nothing(timeout=1.0)
    assert await db(status_of)(bob) == "online"
    await again.close()
    await a.close()


async def test_closes_within_the_grace_are_settled_once_after_the_last(
    settings: Any, monkeypatch: pytest.MonkeyPatch, alice: Any, bob: Any, room: Any
) -> None:
    """A page reloaded again and again: one settle, after the last close."""
    settings.CHAT_PRESENCE_OFFLINE_GRACE = 2.0  # longer than the reloads, even on a busy machine
    settles: list[list[int]] = []
    real = presence_services.presence_settle

    def counted(user_ids: list[int]) -> list[int]:
        settles.append(sorted(user_ids))
        return real(user_ids)

    def bobs_sockets() -> int:
        return PresenceConnection.objects.filter(user=bob).count()

    monkeypatch.setattr(presence_services, "presence_settle", counted)
    a = await open_presence(alice)
    b = await open_room(bob, room)
    assert (await a.receive_type("presence"))["status"] == "online"
    for _ in range(2):
        await b.close()
        for _ in range(100):  # each close written on its own, as on a real reload
            if await db(bobs_sockets)() == 0:
                break
            await asyncio.sleep(0.01)
        b = await open_room(bob, room)
    await b.close()

    frame = await a.receive_type("presence")
    assert (frame["user"]["id"], frame["status"]) == (bob.pk, "offline")
    await asyncio.sleep(0.5)  # the other closes' timers are due by now
    assert settles == [[bob.pk]]
    await a.close()


async def test_snapshot_shows_current_room_only_to_who_may_see_it(
    alice: Any, bob: Any, charlie: Any, room: Any
) -> None:
    secret = await db(factories.make_room)(bob, chat_type="private", name="Secret")
    await db(factories.make_room)(bob, chat_type="private", name="Shared", members=[charlie])
    b = await open_room(bob, secret)
    await b.send({"type": "typing", "is_typing": True})
    await b.send({"type": "ping"})
    await b.receive_type("pong")
    assert await db(lambda: UserPresence.objects.get(user=bob).current_room_id)() == secret.pk
    seen_by = {}
    for viewer in (charlie, bob):
        socket = await open_presence(viewer)
        seen_by[viewer.username] = {
            item["user"]["username"]: item["current_room"] for item in socket.snapshot["users"]
        }
        await socket.close()
    assert seen_by["charlie"]["bob"] is None
    assert seen_by["bob"]["bob"] == secret.pk
    await b.close()


async def test_current_room_is_cleared_when_the_last_socket_of_that_room_closes(
    bob: Any, room: Any
) -> None:
    first = await open_room(bob, room)
    second = await open_room(bob, room)
    await first.send({"type": "typing", "is_typing": True})
    await first.send({"type": "ping"})
    await first.receive_type("pong")
    assert await db(lambda: UserPresence.objects.get(user=bob).current_room_id)() == room.pk
    await first.close()
    assert await db(lambda: UserPresence.objects.get(user=bob).current_room_id)() == room.pk
    await second.close()
    presence = await db(lambda: UserPresence.objects.get(user=bob))()
    assert (presence.current_room_id, presence.is_typing) == (None, False)


async def test_presence_socket_rereads_its_rooms_on_the_periodic_check(
    settings: Any, alice: Any, bob: Any, room: Any
) -> None:
    """If the rooms.changed message is lost, the periodic check still stops a
    removed user's presence socket from following the room."""
    settings.CHAT_WS_TICK_SECONDS = 0.1
    settings.CHAT_WS_REVALIDATE_SECONDS = 0.2
    b = await open_presence(bob)
    a = await open_presence(alice)
    assert (await b.receive_type("presence"))["user"]["id"] == alice.pk
    # Removed without the rooms.changed message reaching the socket (as if lost).
    await db(lambda: room.participants.filter(user=bob).update(is_active=False))()
    await asyncio.sleep(0.8)
    await a.send({"type": "presence.set", "status": "busy"})
    assert (await a.receive_type("presence"))["status"] == "busy"
    assert await b.nothing(timeout=0.5)
    await a.close()
    await b.close()
