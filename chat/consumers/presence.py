"""``/ws/presence/``: the user's own stream.

It follows the groups of the user's rooms (presence is broadcast once per room
group, so repeats are dropped) and ``user.<id>`` (mentions, unread counts, and
``rooms.changed``, which makes it re-read the user's rooms). Unread counts are
loaded at connect and kept current from the rooms' ``message.created`` and
``message.deleted`` events, so a new message costs no query per socket.
"""

from __future__ import annotations

from typing import Any

import orjson

from chat import events, selectors, services
from chat.consumers.base import SocketConsumer
from chat.consumers.db import run_sync
from chat.payloads import presence_payload

COUNTED_EVENTS = frozenset({"message.created", "message.deleted"})


class PresenceConsumer(SocketConsumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.room_ids: set[int] = set()
        self.unread: dict[int, list[int]] = {}  # room id → [unread count, last read id]
        self.seen: dict[int, tuple[str, str]] = {}  # user id → (status, last_seen) sent

    async def connect(self) -> None:
        if not await self.authenticate():
            return
        room_ids = await run_sync(selectors.user_room_ids)(self.user.pk)
        await self.join(events.user_group(self.user.pk))
        for room_id in room_ids:
            await self.join(events.room_group(room_id))
        self.room_ids = set(room_ids)
        snapshot = await run_sync(self._connect_sync)()
        for entry in snapshot:
            self.seen[entry["user"]["id"]] = (entry["status"], entry["last_seen"])
        await self.send_frame({"type": "presence.snapshot", "users": snapshot})
        self.start()

    def _connect_sync(self) -> list[dict[str, Any]]:
        self.register_sync()
        self._load_unread(None)
        return [presence_payload(item) for item in selectors.co_member_presences(self.user)]

    def _load_unread(self, room_ids: list[int] | None) -> None:
        for state in selectors.member_unread_states(self.user, room_ids):
            self.unread[state.room_id] = [state.unread_count, state.last_read_id]

    # --- channel-layer messages -------------------------------------------------------------

    async def room_ephemeral(self, message: dict[str, Any]) -> None:
        frame = orjson.loads(message["text"])
        if frame.get("type") != "presence":
            return
        key = (frame["status"], frame["last_seen"])
        if self.seen.get(frame["user"]["id"]) == key:
            return
        self.seen[frame["user"]["id"]] = key
        await self.send_text(message["text"])

    async def room_event(self, message: dict[str, Any]) -> None:
        state = self.unread.get(message["room_id"])
        if state is None:
            return
        event = orjson.loads(message["text"])
        if event.get("type") not in COUNTED_EVENTS:
            return
        payload = event["message"]
        sender = payload.get("sender") or {}
        if (
            sender.get("id") == self.user.pk
            or payload.get("message_type") == "system"
            or payload["id"] <= state[1]
        ):
            return
        before = state[0]
        state[0] = before + 1 if event["type"] == "message.created" else max(0, before - 1)
        if state[0] != before:
            await self.send_frame(
                {"type": "unread", "room_id": message["room_id"], "unread_count": state[0]}
            )

    async def user_event(self, message: dict[str, Any]) -> None:
        frame = orjson.loads(message["text"])
        if frame.get("type") == "unread" and frame.get("room_id") in self.unread:
            # The read marker moved: reload it with the count it produced.
            await run_sync(self._load_unread)([frame["room_id"]])
        await self.send_text(message["text"])

    async def user_control(self, message: dict[str, Any]) -> None:
        if message.get("action") != "rooms.changed":
            return
        room_ids = set(await run_sync(selectors.user_room_ids)(self.user.pk))
        for room_id in sorted(room_ids - self.room_ids):
            await self.join(events.room_group(room_id))
        for room_id in sorted(self.room_ids - room_ids):
            await self.leave(events.room_group(room_id))
            self.unread.pop(room_id, None)
        self.room_ids = room_ids
        before = {room_id: state[0] for room_id, state in self.unread.items()}
        await run_sync(self._load_unread)(sorted(room_ids))
        # Events of a new room published before its group was joined are counted here.
        for room_id, state in sorted(self.unread.items()):
            if before.get(room_id, 0) != state[0]:
                await self.send_frame(
                    {"type": "unread", "room_id": room_id, "unread_count": state[0]}
                )

    # --- client frames ------------------------------------------------------------------------

    def _presence_set(self, frame: dict[str, Any]) -> None:
        services.presence_set(actor=self.user, status=frame["status"])

    async def frame_presence_set(self, frame: dict[str, Any]) -> None:
        await self.call(self._presence_set, frame)

    frames = {
        "presence.set": frame_presence_set,
        "ping": SocketConsumer.frame_ping,
    }
    required = {"presence.set": ("status",)}
