"""``/ws/presence/``: the user's own stream.

It watches the hub feeds of the user's rooms (presence is broadcast once per
room, so repeats are dropped) and gets the messages of ``user.<id>`` (mentions,
unread counts, and ``rooms.changed``, which makes it re-read the user's rooms;
the periodic re-validation re-reads them too, in case that message was lost). Unread counts are
loaded at connect and kept current from the rooms' ``message.created`` and
``message.deleted`` events, so a new message costs no query per socket.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from chat import selectors, services, wire
from chat.consumers.base import ClientFrame, SocketConsumer
from chat.consumers.db import run_sync
from chat.services import counters
from chat.wire import presences_payload

COUNTED_EVENTS = frozenset({wire.Frame.MESSAGE_CREATED, wire.Frame.MESSAGE_DELETED})


class PresenceConsumer(SocketConsumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.room_ids: set[int] = set()
        # room id → [unread count, last read id, the room's last_seq it was counted at]
        self.unread: dict[int, list[int]] = {}
        self.seen: dict[int, tuple[str, str]] = {}  # user id → (status, last_seen) sent
        # Hub messages that arrive before the snapshot is sent wait here.
        self.pending: list[tuple[Any, tuple[Any, ...]]] | None = []
        self.left = False  # on_disconnect ran (the hub's feeds were let go of)
        self.following: asyncio.Lock | None = None  # made when first needed

    async def connect(self) -> None:
        if not await self.authenticate():
            return
        assert self.hub is not None
        room_ids = await run_sync(selectors.user_room_ids)(self.user.pk)
        self.room_ids = set(room_ids)
        await self.hub.watch(self.room_ids, self)
        if not await self.register():
            return
        snapshot = await run_sync(self._connect_sync)()
        for entry in snapshot:
            self.seen[entry["user"]["id"]] = (entry["status"], entry["last_seen"])
        await self.send_frame(wire.presence_snapshot(snapshot))
        # What arrived while connecting follows the snapshot, repeats dropped.
        pending, self.pending = self.pending, None
        for handler, args in pending or ():
            await handler(*args)
        self.start()

    def _connect_sync(self) -> list[dict[str, Any]]:
        self._load_unread(None)
        return presences_payload(selectors.co_member_presences(self.user), viewer=self.user)

    async def on_disconnect(self) -> None:
        self.left = True
        if self.hub is not None:
            room_ids, self.room_ids = self.room_ids, set()
            await self.hub.unwatch(room_ids, self)

    def _load_unread(self, room_ids: list[int] | None) -> None:
        for state in selectors.member_unread_states(self.user, room_ids):
            self.unread[state.room_id] = [state.unread_count, state.last_read_id, state.last_seq]

    # --- from the hub ------------------------------------------------------------------------

    async def room_ephemeral(self, frame: dict[str, Any], text: str) -> None:
        if self.pending is not None:
            self.pending.append((self.room_ephemeral, (frame, text)))
            return
        if frame.get("type") != "presence":
            return
        key = (frame["status"], frame["last_seen"])
        if self.seen.get(frame["user"]["id"]) == key:
            return
        self.seen[frame["user"]["id"]] = key
        await self.send_text(text)

    async def room_event(self, room_id: int, event: dict[str, Any]) -> None:
        if self.pending is not None:
            self.pending.append((self.room_event, (room_id, event)))
            return
        state = self.unread.get(room_id)
        if state is None:
            return
        if event.get("type") not in COUNTED_EVENTS:
            return
        if event.get("seq", 0) <= state[2]:
            # Counted already: the count was read after this event was committed (the
            # socket started to watch the room just before it read the count).
            return
        payload = event["message"]
        if payload.get("is_anonymous") and (payload.get("sender") or {}).get("id") is None:
            # An anonymous post names no sender, so whether it is the user's own (which
            # never counts) is read from the counters, as REST reads it. Rare: course
            # rooms' anonymous posts only.
            before = state[0]
            await run_sync(self._load_unread)([room_id])
            after = self.unread.get(room_id)
            if after is not None and after[0] != before:
                await self.send_frame(wire.unread(room_id, after[0]))
            return
        if not counters.moves_unread(
            self.user.pk,
            state[1],
            sender_id=(payload.get("sender") or {}).get("id"),
            message_type=payload.get("message_type"),
            message_id=payload["id"],
        ):
            return
        before = state[0]
        state[0] = before + 1 if event["type"] == wire.Frame.MESSAGE_CREATED else max(0, before - 1)
        if state[0] != before:
            await self.send_frame(wire.unread(room_id, state[0]))

    async def user_event(self, message: dict[str, Any]) -> None:
        if self.pending is not None:
            self.pending.append((self.user_event, (message,)))
            return
        frame = orjson.loads(message["text"])
        if frame.get("type") == "unread" and frame.get("room_id") in self.unread:
            # The read marker moved: reload it with the count it produced. A move that
            # leaves the count as this socket last told it (past deleted or system
            # messages) is not news to the client.
            before = self.unread[frame["room_id"]][0]
            await run_sync(self._load_unread)([frame["room_id"]])
            if before == frame["unread_count"]:
                return
        await self.send_text(message["text"])

    async def user_control(self, message: dict[str, Any]) -> None:
        if self.pending is not None:
            self.pending.append((self.user_control, (message,)))
            return
        if message.get("action") == "rooms.changed":
            await self.follow_rooms()

    async def follow_rooms(self) -> None:
        """Re-read the user's rooms: watch new ones, drop left ones, recount (one
        at a time: a control message and the periodic check may both ask)."""
        if self.following is None:
            self.following = asyncio.Lock()
        async with self.following:
            await self._follow_rooms()

    async def _follow_rooms(self) -> None:
        assert self.hub is not None
        if self.left:
            return
        room_ids = set(await run_sync(selectors.user_room_ids)(self.user.pk))
        if room_ids == self.room_ids:
            return
        added, removed = room_ids - self.room_ids, self.room_ids - room_ids
        await self.hub.watch(sorted(added), self)
        if self.left:
            # The socket closed meanwhile and let go of the rooms it had: these too.
            await self.hub.unwatch(sorted(added), self)
            return
        self.room_ids = room_ids  # what a disconnect from now on lets go of
        await self.hub.unwatch(sorted(removed), self)
        for room_id in removed:
            self.unread.pop(room_id, None)
        if added:
            await self._send_new_co_members(added)
        before = {room_id: state[0] for room_id, state in self.unread.items()}
        await run_sync(self._load_unread)(sorted(room_ids))
        # Events of a new room published before it was watched are counted here; a new
        # room's count is news even at 0 (the client learns of the room by it).
        for room_id, state in sorted(self.unread.items()):
            if room_id in added or before.get(room_id, 0) != state[0]:
                await self.send_frame(wire.unread(room_id, state[0]))

    async def _send_new_co_members(self, room_ids: set[int]) -> None:
        """A ``presence`` frame for each member of ``room_ids`` this socket has told
        nothing of yet: the snapshot covered those who shared a room at connect."""
        found = await run_sync(
            lambda: [
                wire.presence(presence)
                for presence in selectors.co_member_presences(self.user, room_ids)
                if presence.user_id != self.user.pk and presence.user_id not in self.seen
            ]
        )()
        for frame in found:
            self.seen[frame["user"]["id"]] = (frame["status"], frame["last_seen"])
            await self.send_frame(frame)

    async def revalidated(self) -> None:
        await self.follow_rooms()

    # --- client frames ------------------------------------------------------------------------

    def _presence_set(self, frame: dict[str, Any]) -> None:
        services.presence_set(actor=self.user, status=frame["status"])

    # Every client frame of the presence socket (see ClientFrame).
    frames = {
        "presence.set": ClientFrame(("status",), call=_presence_set),
        "ping": ClientFrame(run=SocketConsumer.frame_ping),
    }
