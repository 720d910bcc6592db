"""The process-local fan-out hub: one channel-layer subscription per process.

Every socket of a process registers here instead of owning a channel of its
own. The hub joins ``room.<id>`` once per room that has a local socket and the
user shard groups (``users.<n>``, see ``chat.events.for_layer``) of its users,
reads its one channel, and hands each event's already-encoded text to the
local sockets:

- ``RoomFeed`` (one per room): keeps the recent events of the room by ``seq``
  and delivers them to each room socket strictly in order, from its
  ``last_sent``; a gap waits a moment for a late publish, then is filled from
  the RoomEvent log once for the whole feed. Presence sockets watch the feeds
  of their user's rooms (unread counts, presence frames).
- Publishing (``publish_threadsafe``, called by ``chat.events`` from the
  service threads): the event is delivered to this process's sockets at once,
  then sent to the channel layer for the other processes; the hub drops its
  own messages when they come back. A layer outage therefore never delays the
  local sockets; other processes catch up from the log on their next tick.
- One ticker for the process: heartbeat timeouts, periodic re-validation of
  every socket, catch-up of every feed against ``last_seq``, and re-joining
  groups a layer outage kept us out of.
- Registrations (the PresenceConnection rows) are written in batches: while
  one batch is being written, the next collects.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson
from channels.layers import get_channel_layer
from django.conf import settings

from academia import metrics
from chat import events, replay, wire
from chat.consumers import sweeper
from chat.consumers.db import run_sync
from chat.consumers.transport import prepare
from chat.consumers.writer import RoomWriter
from chat.services import presence as presence_services
from chat.services.presence import SERVER_ID

if TYPE_CHECKING:
    from chat.consumers.base import SocketConsumer

logger = logging.getLogger(__name__)

# Room events that change a message, as their text says it (``RoomFeed.restate``).
RESTATING_TYPES = ('"type":"message.updated"', '"type":"message.deleted"')
RECENT_EVENTS = 2048  # events a feed keeps in memory for replay and gap filling
FRAMED_EVENTS = 64  # of which framed for the wire at most
GAP_GRACE_SECONDS = 0.05  # how long a gap may wait for a late publish before the log is read
GROUP_REFRESH_SECONDS = 3600.0
# A closed socket's registration waits this long for an opening one to share its
# write: a page reload closes its sockets and opens new ones at once, and the new
# socket's connection.ready waits for its registration.
UNREGISTER_DELAY_SECONDS = 0.1

_hub: Hub | None = None
_socket_numbers = itertools.count(1)


def socket_key() -> str:
    """A process-unique name for one socket (its PresenceConnection row)."""
    return f"{SERVER_ID}.{next(_socket_numbers)}"


def get_hub() -> Hub:
    """The hub of the running event loop (created, with its tasks, on first use)."""
    global _hub
    loop = asyncio.get_running_loop()
    if _hub is None or _hub.loop is not loop:
        _hub = Hub(loop)
        _hub.start()
    return _hub


def running_hub() -> Hub | None:
    """The hub whose event loop is running now, if any (for publishing from threads)."""
    hub = _hub
    if hub is None or hub.loop.is_closed() or not hub.loop.is_running():
        return None
    return hub


class RoomFeed:
    """The local sockets of one room and the room's recent events."""

    def __init__(self, hub: Hub, room_id: int) -> None:
        self.hub = hub
        self.room_id = room_id
        self.sockets: list[Any] = []  # live room sockets (ChatConsumer)
        self.watchers: list[Any] = []  # presence sockets of members
        self.recent: dict[int, str] = {}
        self.framed: dict[int, Any] = {}  # seq → the event framed once (Daphne)
        self.replayed: dict[int, Any] = {}  # the same, for replays only
        self.max_seen = 0
        self.pumping = False
        self.repump = False
        self.fill_task: asyncio.Task[None] | None = None
        self.fill_lock = asyncio.Lock()
        self.writer = RoomWriter(hub.loop, room_id)
        self.room: Any = None  # the room as the writer's sends need it (its id)
        # Sockets and watchers holding the feed, counted from ``Hub.feed`` to
        # ``Hub.release_feed``: a socket still connecting holds it before it
        # joins ``sockets``, and must not be left on a feed the hub dropped.
        self.holders = 0

    # --- events in ---------------------------------------------------------------

    def prepared(self, seq: int, protocol: Any) -> Any:
        """Event ``seq`` framed once for every socket (see ``base.wire_of``)."""
        prepared = self.framed.get(seq)
        if prepared is None:
            if len(self.framed) >= FRAMED_EVENTS:
                self.framed.clear()
            prepared = self.framed[seq] = prepare(protocol, self.recent[seq])
            metrics.frames_out(self.recent[seq], len(self.sockets))
        return prepared

    def replay_framed(self, seq: int, protocol: Any) -> Any:
        """Event ``seq`` framed once for every socket catching up on it (after a
        restart, a thousand sockets may resume from the same ``seq``); kept apart
        from ``framed``, whose first framing counts the live broadcast's frames."""
        prepared = self.framed.get(seq) or self.replayed.get(seq)
        if prepared is None:
            if len(self.replayed) >= FRAMED_EVENTS:
                self.replayed.clear()
            prepared = self.replayed[seq] = prepare(protocol, self.recent[seq])
        return prepared

    def remember(self, seq: int, text: str) -> bool:
        """Keep one event; False if it was already known."""
        if seq in self.recent:
            return False
        self.recent[seq] = text
        head = text[:64]  # "type" comes first, or second after "seq" (read from the log)
        if any(marker in head for marker in RESTATING_TYPES):
            self.restate(seq, text)
        if seq > self.max_seen:
            self.max_seen = seq
        if len(self.recent) > RECENT_EVENTS:
            for old in sorted(self.recent)[: len(self.recent) - RECENT_EVENTS]:
                del self.recent[old]
        return True

    def restate(self, seq: int, text: str) -> None:
        """Event ``seq`` changed a message: the kept events before it that carry that
        message carry it as it is now, as ``events.restate_message`` did in the log."""
        message = orjson.loads(text)["message"]
        needle = f'"message":{{"id":{message["id"]},'
        for earlier, kept in list(self.recent.items()):
            if earlier >= seq or needle not in kept:
                continue
            frame = orjson.loads(kept)
            if events.restated_frame(frame, message):
                self.recent[earlier] = events.encode(frame)
                self.framed.pop(earlier, None)
                self.replayed.pop(earlier, None)

    async def accept(self, seq: int, text: str) -> None:
        """A live event: deliver it (and whatever it unblocks) in order."""
        if not self.remember(seq, text):
            return
        if self.watchers:
            await self.notify_watchers(seq, text)
        await self.pump()

    async def notify_watchers(self, seq: int, text: str) -> None:
        event = orjson.loads(text)
        for watcher in list(self.watchers):
            await watcher.room_event(self.room_id, event)

    async def ephemeral(self, text: str) -> None:
        prepared = None
        for socket in list(self.sockets):
            if socket.ws_protocol is not None:
                if prepared is None:
                    prepared = prepare(socket.ws_protocol, text)
                    metrics.frames_out(text, len(self.sockets))
                socket.send_prepared(prepared)
            else:
                await socket.send_text(text)
        if self.watchers:
            frame = orjson.loads(text)
            for watcher in list(self.watchers):
                await watcher.room_ephemeral(frame, text)

    def note_last_seq(self, last_seq: int) -> None:
        """The log says the room is at ``last_seq``: fetch what we never received."""
        if last_seq > self.max_seen:
            self.max_seen = last_seq
            self.schedule_fill(grace=0.0)

    # --- delivery ----------------------------------------------------------------

    async def pump(self) -> None:
        """Send every socket what follows its ``last_sent`` among the kept events.
        Not re-entered: a pump that is running loops once more instead."""
        if self.pumping:
            self.repump = True
            return
        self.pumping = True
        try:
            behind = False
            self.repump = True
            while self.repump:
                self.repump = False
                behind = False
                recent = self.recent
                for socket in list(self.sockets):
                    following = socket.last_sent + 1
                    while following in recent:
                        if socket.ws_protocol is not None:
                            socket.send_prepared(self.prepared(following, socket.ws_protocol))
                        else:
                            await socket.send_text(recent[following])
                        socket.last_sent = following
                        following += 1
                    if socket.last_sent < self.max_seen and not socket.closed:
                        behind = True
            if behind:
                self.schedule_fill(grace=GAP_GRACE_SECONDS)
        finally:
            self.pumping = False

    def schedule_fill(self, *, grace: float) -> None:
        if self.fill_task is None or self.fill_task.done():
            self.fill_task = self.hub.loop.create_task(self._fill_later(grace))

    async def _fill_later(self, grace: float) -> None:
        if grace:
            await asyncio.sleep(grace)
        try:
            await self.fill()
        except Exception:
            logger.warning("filling room %s from the log failed", self.room_id, exc_info=True)
            self.hub.loop.call_later(1.0, functools.partial(self.schedule_fill, grace=0.0))

    async def fill(self) -> None:
        """Read the events the sockets are missing from the log, then pump."""
        async with self.fill_lock:
            while True:
                behind = [s for s in self.sockets if s.last_sent < self.max_seen]
                if not behind:
                    return
                low = min(s.last_sent for s in behind)
                if (low + 1) in self.recent:
                    # Someone was only waiting for the pump.
                    await self.pump()
                    if all(s.last_sent >= self.max_seen for s in self.sockets):
                        return
                    low = min(s.last_sent for s in self.sockets)
                    if (low + 1) in self.recent:
                        return
                batch = await run_sync(replay.events_after)(self.room_id, low, upto=self.max_seen)
                metrics.gap_filled(len(batch))
                first = batch[0][0] if batch else self.max_seen + 1
                if first != low + 1:
                    await self.resync(below=first)
                for seq, text in batch:
                    if self.remember(seq, text) and self.watchers:
                        await self.notify_watchers(seq, text)
                await self.pump()
                if len(batch) < replay.REPLAY_BATCH:
                    return

    async def resync(self, *, below: int) -> None:
        """Sockets that need events the log no longer has reload through REST."""
        from chat import selectors

        last_seq = await run_sync(selectors.room_last_seq)(self.room_id)
        for socket in list(self.sockets):
            if socket.last_sent < below - 1:
                metrics.resync("gap_pruned")
                await socket.send_text(wire.RESYNC_REQUIRED)
                socket.last_sent = max(socket.last_sent, last_seq)

    async def replay_to(self, socket: Any, *, upto: int) -> None:
        """Bring a connecting socket from ``last_sent`` to ``upto`` in order, from
        memory when the feed has the events, else from the log (read once for
        every socket asking at the same time)."""
        metrics.replay_size(upto - socket.last_sent)
        while socket.last_sent < upto:
            following = socket.last_sent + 1
            if following in self.recent:
                while following in self.recent and following <= upto:
                    if socket.ws_protocol is not None:
                        metrics.frame_out(self.recent[following])
                        socket.send_prepared(self.replay_framed(following, socket.ws_protocol))
                    else:
                        await socket.send_text(self.recent[following])
                    socket.last_sent = following
                    following += 1
                continue
            async with self.fill_lock:
                if (socket.last_sent + 1) in self.recent:
                    continue
                batch = await run_sync(replay.events_after)(
                    self.room_id, socket.last_sent, upto=upto
                )
                if not batch or batch[0][0] != socket.last_sent + 1:
                    metrics.resync("replay_pruned")
                    await socket.send_text(wire.RESYNC_REQUIRED)
                    socket.last_sent = upto
                    return
                for seq, text in batch:
                    self.remember(seq, text)


class Hub:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.layer = get_channel_layer()
        self.channel_name: str | None = None
        self.feeds: dict[int, RoomFeed] = {}
        self.user_sockets: dict[int, set[Any]] = {}
        self.sockets: set[Any] = set()
        self.groups_wanted: dict[str, int] = {}
        self.groups_joined: set[str] = set()
        self.groups_refreshed = time.monotonic()
        self.outbox: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.registrations: list[tuple[str, Any, str, asyncio.Future[bool]]] = []
        self.registering: asyncio.Task[None] | None = None
        self.close_timer: asyncio.TimerHandle | None = None
        self.tasks: list[asyncio.Task[Any]] = []
        self.frames_spent: dict[int, tuple[int, int]] = {}  # user id → (window, frames)
        self.settling: dict[int, object] = {}  # user id → its latest pending settle

    def start(self) -> None:
        self.tasks = [
            self.loop.create_task(self._receive_loop()),
            self.loop.create_task(self._publish_loop()),
            self.loop.create_task(self._tick_loop()),
        ]
        sweeper.ensure_started()

    def busy(self) -> bool:
        """Work a graceful stop waits for: sends being written, registrations,
        events not yet delivered or published."""
        writing = any(
            feed.writer.queue or (feed.writer.task is not None and not feed.writer.task.done())
            for feed in self.feeds.values()
        )
        registering = bool(self.registrations) or (
            self.registering is not None and not self.registering.done()
        )
        return writing or registering or not self.outbox.empty()

    # --- the channel layer ---------------------------------------------------------

    async def _channel(self) -> str | None:
        if self.channel_name is None and self.layer is not None:
            try:
                self.channel_name = await self.layer.new_channel()
            except Exception:
                logger.warning("channel layer unavailable", exc_info=True)
        return self.channel_name

    async def _receive_loop(self) -> None:
        delay = 0.5
        while True:
            channel = await self._channel()
            if channel is None:
                if self.layer is None:
                    return
                await asyncio.sleep(delay)
                continue
            try:
                message = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("channel layer receive failed; retrying in %ss", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.5
            if message.get("origin") == SERVER_ID:
                continue
            try:
                await self.dispatch(message)
            except Exception:
                logger.exception("dispatching a channel-layer message failed")

    async def _join(self, group: str) -> None:
        channel = await self._channel()
        if channel is None:
            return
        try:
            await self.layer.group_add(group, channel)
        except Exception:
            logger.warning("group_add %s failed; retrying on the next tick", group)
            self.groups_joined.discard(group)
        else:
            self.groups_joined.add(group)

    async def want(self, group: str) -> None:
        count = self.groups_wanted.get(group, 0)
        self.groups_wanted[group] = count + 1
        if count == 0:
            await self._join(group)

    async def unwant(self, group: str) -> None:
        count = self.groups_wanted.get(group, 0) - 1
        if count > 0:
            self.groups_wanted[group] = count
            return
        self.groups_wanted.pop(group, None)
        self.groups_joined.discard(group)
        if self.channel_name is not None:
            try:
                await self.layer.group_discard(group, self.channel_name)
            except Exception:
                logger.warning("group_discard %s failed", group)

    async def rejoin_groups(self) -> bool:
        """Join groups an outage kept us out of, and refresh all of them well inside
        the layer's group expiry. True if some group had been missing."""
        missing = set(self.groups_wanted) - self.groups_joined
        refresh = time.monotonic() - self.groups_refreshed > GROUP_REFRESH_SECONDS
        if refresh:
            self.groups_refreshed = time.monotonic()
        for group in sorted(set(self.groups_wanted) if refresh else missing):
            await self._join(group)
        return bool(missing)

    # --- publishing --------------------------------------------------------------------

    def publish_threadsafe(self, group: str, message: dict[str, Any]) -> None:
        """From any thread: deliver locally, then to the other processes, in order."""
        self.loop.call_soon_threadsafe(self.outbox.put_nowait, (group, message))

    async def _publish_loop(self) -> None:
        while True:
            group, message = await self.outbox.get()
            try:
                layer_group, message = events.for_layer(group, message)
                await self.dispatch(message)
            except Exception:
                logger.exception("local delivery failed")
                metrics.broadcast_failed("local")
            if self.layer is None:
                continue
            try:
                await self.layer.group_send(layer_group, {**message, "origin": SERVER_ID})
            except Exception:
                metrics.broadcast_failed("layer")
                logger.warning(
                    "group_send to %s failed; other processes will catch up from the log",
                    group,
                    exc_info=True,
                )

    # --- routing -----------------------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "room.event":
            feed = self.feeds.get(message["room_id"])
            if feed is not None:
                await feed.accept(message["seq"], message["text"])
        elif kind == "room.ephemeral":
            feed = self.feeds.get(message["room_id"])
            if feed is not None:
                await feed.ephemeral(message["text"])
        elif kind in ("user.event", "user.control"):
            user_id = message.get("user_id")
            sockets = self.user_sockets.get(user_id, ()) if user_id is not None else ()
            if kind == "user.control" and message.get("action") == "language.changed":
                for socket in list(sockets):
                    socket.speak(str(message.get("language") or ""))
                return
            for socket in list(sockets):
                handler = socket.user_event if kind == "user.event" else socket.user_control
                await handler(message)

    # --- sockets -------------------------------------------------------------------------

    async def add_socket(self, socket: SocketConsumer) -> None:
        metrics.socket_opened(socket.scope)
        self.sockets.add(socket)
        self.user_sockets.setdefault(socket.user.pk, set()).add(socket)
        await self.want(events.user_shard_group(socket.user.pk))

    def spend_frame(self, user_id: int) -> tuple[float, bool] | None:
        """Count one client frame of the user against CHAT_WS_FRAME_RATE (shared by
        the user's sockets in this process): None if within the budget, else the
        seconds until it refills and whether the user is past twice the budget."""
        from chat.consumers.base import parse_rate

        limit, period = parse_rate(str(settings.CHAT_WS_FRAME_RATE))
        now = time.monotonic()
        window = int(now // period)
        spent_window, spent = self.frames_spent.get(user_id, (window, 0))
        spent = spent + 1 if spent_window == window else 1
        self.frames_spent[user_id] = (window, spent)
        if spent <= limit:
            return None
        return (window + 1) * period - now, spent > 2 * limit

    async def remove_socket(self, socket: SocketConsumer) -> None:
        metrics.socket_closed(socket.scope)
        self.sockets.discard(socket)
        mine = self.user_sockets.get(socket.user.pk)
        if mine is not None:
            mine.discard(socket)
            if not mine:
                del self.user_sockets[socket.user.pk]
                self.frames_spent.pop(socket.user.pk, None)
        await self.unwant(events.user_shard_group(socket.user.pk))

    async def feed(self, room_id: int) -> RoomFeed:
        feed = self.feeds.get(room_id)
        if feed is None:
            feed = self.feeds[room_id] = RoomFeed(self, room_id)
        feed.holders += 1
        await self.want(events.room_group(room_id))
        return feed

    async def release_feed(self, room_id: int) -> None:
        """The other half of ``feed``: the feed goes with its last holder."""
        feed = self.feeds.get(room_id)
        if feed is not None:
            feed.holders -= 1
            if feed.holders <= 0 and not feed.sockets and not feed.watchers:
                del self.feeds[room_id]
        await self.unwant(events.room_group(room_id))

    async def watch(self, room_ids: Iterable[int], watcher: Any) -> None:
        for room_id in room_ids:
            feed = await self.feed(room_id)
            feed.watchers.append(watcher)

    async def unwatch(self, room_ids: Iterable[int], watcher: Any) -> None:
        for room_id in room_ids:
            feed = self.feeds.get(room_id)
            if feed is not None and watcher in feed.watchers:
                feed.watchers.remove(watcher)
            await self.release_feed(room_id)

    # --- registrations (PresenceConnection rows), in batches --------------------------------

    async def register(self, action: str, user: Any, key: str) -> bool:
        """Open or close one socket's registration; returns once it is written,
        False if the socket was refused (its user has too many). An opening
        socket's is written at once; a closing one's waits up to
        UNREGISTER_DELAY_SECONDS to go with the next opening one."""
        done: asyncio.Future[bool] = self.loop.create_future()
        self.registrations.append((action, user, key, done))
        if action == "open":
            self._write_now()
        elif self.close_timer is None:
            self.close_timer = self.loop.call_later(UNREGISTER_DELAY_SECONDS, self._write_now)
        return bool(await done)

    def _write_now(self) -> None:
        """Write the queued registrations (after the batch being written, if any)."""
        if self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = None
        if self.registering is None or self.registering.done():
            self.registering = self.loop.create_task(self._write_registrations())

    async def _write_registrations(self) -> None:
        """Write what has queued up, again and again while more arrives."""
        while self.registrations:
            batch, self.registrations = self.registrations, []
            refused: set[str] = set()
            try:
                applied = await run_sync(presence_services.connections_apply)(
                    opened=[(user, key) for action, user, key, _ in batch if action == "open"],
                    closed=[(user.pk, key) for action, user, key, _ in batch if action == "close"],
                )
            except Exception:
                logger.warning("writing %s socket registrations failed", len(batch), exc_info=True)
            else:
                refused = applied.refused
                if applied.waiting:
                    self._settle_after_grace(applied.waiting)
            for _, _, key, done in batch:
                if not done.done():
                    done.set_result(key not in refused)

    def registered_count(self) -> int:
        return sum(1 for socket in self.sockets if socket.registered and not socket.closed)

    async def register_again(self) -> None:
        """Write every open socket's registration again (its row was swept while
        the database was out of reach); a user offline meanwhile is online again."""
        sockets = [socket for socket in self.sockets if socket.registered and not socket.closed]
        logger.warning("registering %s sockets again", len(sockets))
        await asyncio.gather(
            *(self.register("open", socket.user, socket.key) for socket in sockets),
            return_exceptions=True,
        )

    def _settle_after_grace(self, user_ids: list[int]) -> None:
        """Settle these users once their grace has passed, each only by the latest
        of their closes here: an earlier one's settle would find the grace
        restarted and do nothing (a user reloading a page closes a socket again
        and again)."""
        token = object()
        for user_id in user_ids:
            self.settling[user_id] = token
        self.loop.call_later(
            presence_services.offline_grace() + 0.05, self._settle_later, user_ids, token
        )

    def _settle_later(self, user_ids: list[int], token: object) -> None:
        """The grace of users whose last socket closed has passed: offline now,
        unless a socket of theirs came back (on any process)."""
        user_ids = [user_id for user_id in user_ids if self.settling.get(user_id) is token]
        for user_id in user_ids:
            del self.settling[user_id]
        if not user_ids:
            return

        async def settle() -> None:
            try:
                await run_sync(presence_services.presence_settle)(user_ids)
            except Exception:
                logger.warning("settling the presence of %s users failed", len(user_ids))

        self.loop.create_task(settle())

    # --- the process-wide ticker --------------------------------------------------------------

    def tick_interval(self) -> float:
        timeout = float(settings.CHAT_CONNECTION_TIMEOUT)
        return max(0.05, min(float(getattr(settings, "CHAT_WS_TICK_SECONDS", 5)), timeout / 3))

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval())
            try:
                await self.tick()
            except Exception:
                logger.warning("hub tick failed", exc_info=True)

    async def tick(self) -> None:
        now = time.monotonic()
        timeout = float(settings.CHAT_CONNECTION_TIMEOUT)
        every = float(getattr(settings, "CHAT_WS_REVALIDATE_SECONDS", 15))
        rejoined = await self.rejoin_groups()
        due = []
        for socket in list(self.sockets):
            if socket.closed:
                continue
            if now - socket.last_activity > timeout:
                await socket.timed_out()
            elif rejoined or now >= socket.next_check:
                socket.next_check = now + every
                due.append(socket)
        if not due:
            return
        results = await run_sync(_revalidate_all)(due)
        for socket, outcome in zip(due, results, strict=True):
            if outcome is not None:
                await socket.end(outcome)
        room_ids = {socket.room_id for socket in due if getattr(socket, "room_id", None)}
        if room_ids:
            from chat import selectors

            for room_id, last_seq in await run_sync(selectors.rooms_last_seq)(sorted(room_ids)):
                feed = self.feeds.get(room_id)
                if feed is not None:
                    feed.note_last_seq(last_seq)
        for socket in due:
            await socket.revalidated()


def _revalidate_all(sockets: list[Any]) -> list[int | None]:
    """In a database thread: each socket's close code, or None if it may stay.
    Credentials are checked for all of them together, then each socket's own checks."""
    from chat.consumers.base import CLOSE_UNAUTHENTICATED, CloseSocket, signed_out

    try:
        ended = signed_out(sockets, force=True)
    except Exception:
        logger.warning("re-checking the sockets' credentials failed", exc_info=True)
        ended = set()
    outcomes: list[int | None] = []
    for socket in sockets:
        if socket in ended:
            outcomes.append(CLOSE_UNAUTHENTICATED)
            continue
        try:
            socket.revalidate_sync()
        except CloseSocket as close:
            outcomes.append(close.code)
        except Exception:
            logger.warning("re-validating a socket failed", exc_info=True)
            outcomes.append(None)
        else:
            outcomes.append(None)
    return outcomes
