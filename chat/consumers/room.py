"""``/ws/chat/<room_id>/[?after_seq=N]``: one room's socket.

Ordering: the socket remembers ``last_sent`` (the seq of the newest room event
it sent); its room's feed in the process hub (chat.consumers.hub) sends it the
events that follow, in order, filling gaps from the RoomEvent log. On connect
the socket joins the feed first and only then reads ``last_seq`` and replays,
so an event published meanwhile is kept by the feed and deduplicated by seq.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import parse_qs

import orjson
from django.db import DatabaseError
from django.utils.translation import gettext_lazy

from academia import metrics
from chat import errors, events, replay, selectors, services, wire
from chat.consumers.base import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    ClientFrame,
    CloseSocket,
    SocketConsumer,
    frame_ref,
)
from chat.consumers.db import run_sync
from chat.consumers.hub import RoomFeed
from chat.models import ChatRoom
from chat.services import office_hours
from chat.services import presence as presence_services
from chat.wire import room_payload, user_payload


def _after_seq(scope: dict[str, Any]) -> int | None:
    """The ``after_seq`` query parameter; -1 when present but not a number."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("after_seq")
    if not values:
        return None
    try:
        return int(values[0])
    except ValueError:
        return -1


# How the encoded frames of ``wire.ROOM_PRIVATE_FRAMES`` begin (the type comes first).
PRIVATE_FRAME_STARTS = tuple(f'{{"type":"{kind}"' for kind in sorted(wire.ROOM_PRIVATE_FRAMES))

MAX_PENDING_SENDS = 32  # a socket's unanswered message.send frames before it stops reading


class ChatConsumer(SocketConsumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.room_id = 0
        self.last_sent = 0
        self.feed: RoomFeed | None = None
        self.typing = False  # the last typing value the room saw from this socket
        self.typing_wanted: bool | None = None  # the latest value the client asked for
        self.typing_retry: asyncio.TimerHandle | None = None
        # message.send frames queued in the room's writer and not answered yet,
        # and who waits for them to be (made only when someone does).
        self.pending_sends = 0
        self.settled: asyncio.Future[None] | None = None

    # --- connect ---------------------------------------------------------------------

    async def connect(self) -> None:
        if not await self.authenticate():
            return
        assert self.hub is not None
        self.room_id = int(self.scope["url_route"]["kwargs"]["room_id"])
        feed = await self.hub.feed(self.room_id)
        self.feed = feed
        try:
            ready, last_seq = await run_sync(self._ready_sync)()
        except errors.NotFound:
            await self.end(CLOSE_NOT_FOUND)
            return
        if not await self.register():
            return
        await self.send_text(ready)
        after = _after_seq(self.scope)
        if after is None:
            self.last_sent = last_seq
        elif not 0 <= after <= last_seq:
            metrics.resync("bad_after_seq")
            await self.send_text(wire.RESYNC_REQUIRED)
            self.last_sent = last_seq
        else:
            # From the feed's memory, or the log read once for every socket
            # resuming at the same time; resync.required if the log lost them.
            self.last_sent = after
            await feed.replay_to(self, upto=last_seq)
        feed.note_last_seq(last_seq)
        feed.sockets.append(self)
        await feed.pump()
        self.start()

    def _ready_sync(self) -> tuple[str, int]:
        """``connection.ready`` and ``last_seq``, read after the feed was joined;
        NotFound if the room is not visible."""
        room = selectors.room_get_for_user(self.user, self.room_id)
        if self.feed is not None and self.feed.room is None:
            self.feed.room = ChatRoom(pk=room.pk)
        frame = wire.connection_ready(room_payload(room), user_payload(self.user), room.last_seq)
        return events.encode(frame), room.last_seq

    async def on_disconnect(self) -> None:
        if self.typing_retry is not None:
            self.typing_retry.cancel()
        if self.typing and self.user is not None:
            # The socket is gone either way; a typing flag left behind expires.
            with contextlib.suppress(Exception):
                await run_sync(self._stop_typing_sync)()
        if self.feed is not None:
            assert self.hub is not None
            if self in self.feed.sockets:
                self.feed.sockets.remove(self)
            last_here = not any(s.user.pk == self.user.pk for s in self.feed.sockets)
            self.feed = None
            await self.hub.release_feed(self.room_id)
            if last_here:
                # The user's last socket of the room (in this process) closed.
                with contextlib.suppress(Exception):
                    await run_sync(presence_services.room_left)(self.user.pk, self.room_id)

    def _stop_typing_sync(self) -> None:
        services.typing_set(actor=self.user, room=self._room(), is_typing=False, closing=True)

    # --- from the hub ------------------------------------------------------------------------

    async def user_event(self, message: dict[str, Any]) -> None:
        """Notifications and unread counts belong to the presence socket; the user's
        private frames about this room (``wire.ROOM_PRIVATE_FRAMES``) come here too."""
        text = message["text"]
        if not text.startswith(PRIVATE_FRAME_STARTS):  # unread counts, mostly
            return
        if orjson.loads(text).get("room_id") == self.room_id:
            await self.send_text(text)

    async def user_control(self, message: dict[str, Any]) -> None:
        if message.get("action") == "room.revoked" and message.get("room_id") == self.room_id:
            await self.end(CLOSE_FORBIDDEN)

    def revalidate_sync(self) -> None:
        self._room()

    # --- client frames (run in a database thread) ------------------------------------------

    def _room(self) -> Any:
        """The room, re-checked on every frame: losing sight of it ends the socket."""
        try:
            return selectors.room_get_visible(self.user, self.room_id)
        except errors.NotFound:
            raise CloseSocket(CLOSE_FORBIDDEN) from None

    def _message(self, message_id: object) -> Any:
        message = selectors.message_get_for_user(self.user, message_id)
        if message.room_id != self.room_id:
            raise errors.NotFound(gettext_lazy("No such message."))
        return message

    def _message_edit(self, frame: dict[str, Any]) -> None:
        self._room()
        services.message_edit(
            actor=self.user, message=self._message(frame["message_id"]), content=frame["content"]
        )

    def _message_delete(self, frame: dict[str, Any]) -> None:
        self._room()
        services.message_delete(actor=self.user, message=self._message(frame["message_id"]))

    def _reaction_add(self, frame: dict[str, Any]) -> None:
        self._room()
        services.reaction_add(
            actor=self.user, message=self._message(frame["message_id"]), emoji=frame["emoji"]
        )

    def _reaction_remove(self, frame: dict[str, Any]) -> None:
        self._room()
        services.reaction_remove(
            actor=self.user, message=self._message(frame["message_id"]), emoji=frame["emoji"]
        )

    def _question_mark(self, frame: dict[str, Any]) -> None:
        self._room()
        services.question_mark(
            actor=self.user,
            message=self._message(frame["message_id"]),
            is_question=frame["is_question"],
        )

    def _answer_endorse(self, frame: dict[str, Any]) -> None:
        self._room()
        services.answer_endorse(actor=self.user, answer=self._message(frame["message_id"]))

    def _answer_withdraw(self, frame: dict[str, Any]) -> None:
        self._room()
        services.answer_withdraw(actor=self.user, answer=self._message(frame["message_id"]))

    def _message_pin(self, frame: dict[str, Any]) -> None:
        self._room()
        services.message_pin(actor=self.user, message=self._message(frame["message_id"]))

    def _message_unpin(self, frame: dict[str, Any]) -> None:
        self._room()
        services.message_unpin(actor=self.user, message=self._message(frame["message_id"]))

    def _poll(self, poll_id: object) -> Any:
        poll = selectors.poll_get_for_user(self.user, poll_id)
        if poll.message.room_id != self.room_id:
            raise errors.NotFound(gettext_lazy("No such poll."))
        return poll

    def _poll_create(self, frame: dict[str, Any]) -> str | None:
        result = services.poll_create(
            actor=self.user,
            room=self._room(),
            question=frame["question"],
            options=frame["options"],
            allows_multiple=frame.get("allows_multiple", False),
            is_anonymous=frame.get("is_anonymous", False),
            closes_at=frame.get("closes_at"),
            client_id=frame.get("client_id"),
        )
        # A repeated client_id: the first poll's message.created again, as for a message.
        return None if result.created else replay.repeat_acknowledgement(result.message)

    def _poll_vote(self, frame: dict[str, Any]) -> None:
        self._room()
        services.poll_vote(
            actor=self.user, poll=self._poll(frame["poll_id"]), option_ids=frame["option_ids"]
        )

    def _poll_close(self, frame: dict[str, Any]) -> None:
        self._room()
        services.poll_close(actor=self.user, poll=self._poll(frame["poll_id"]))

    def _office_hours_set(self, frame: dict[str, Any]) -> None:
        services.office_hours_set(actor=self.user, room=self._room(), is_open=frame["open"])

    def _queue_join(self, frame: dict[str, Any]) -> None:
        services.queue_join(actor=self.user, room=self._room())

    def _queue_leave(self, frame: dict[str, Any]) -> None:
        services.queue_leave(actor=self.user, room=self._room())

    def _queue_next(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Answered with ``queue.taken`` (the new room, the student): this socket does
        not follow the new room, whose events tell the rest."""
        entry = services.queue_next(actor=self.user, room=self._room())
        return office_hours.taken_frame(entry)

    def _staff_question_ask(self, frame: dict[str, Any]) -> None:
        services.staff_question_ask(actor=self.user, room=self._room(), content=frame["content"])

    def _staff_question_answer(self, frame: dict[str, Any]) -> None:
        self._room()
        question = selectors.staff_question_get_for_user(self.user, frame["question_id"])
        if question.room_id != self.room_id:
            raise errors.NotFound(gettext_lazy("No such question."))
        services.staff_question_answer(actor=self.user, question=question, content=frame["content"])

    def _thread_read(self, frame: dict[str, Any]) -> None:
        self._room()
        services.thread_mark_read(
            actor=self.user, parent=self._message(frame["thread_id"]), reply_id=frame["message_id"]
        )

    def _typing(self, frame: dict[str, Any]) -> bool:
        sent = services.typing_set(actor=self.user, room=self._room(), is_typing=frame["is_typing"])
        if sent:
            self.typing = frame["is_typing"]
        return sent

    def _read(self, frame: dict[str, Any]) -> None:
        services.room_mark_read(actor=self.user, room=self._room(), message_id=frame["message_id"])

    async def sends_settled(self) -> None:
        """Return once every queued ``message.send`` of this socket is answered."""
        while self.pending_sends:
            if self.settled is None:
                self.settled = asyncio.get_running_loop().create_future()
            await asyncio.shield(self.settled)

    async def frame_message_send(self, frame: dict[str, Any]) -> None:
        """Queued in the room's writer (chat.consumers.writer), not waited for: the
        next frame is read at once; ``sent`` answers this one."""
        metrics.send_received(frame)
        assert self.feed is not None
        if self.pending_sends >= MAX_PENDING_SENDS:
            await self.sends_settled()
        self.pending_sends += 1
        self.feed.writer.submit(self, frame)

    async def sent(self, frame: dict[str, Any], outcome: Any) -> None:
        """The writer's answer for one ``message.send`` of this socket."""
        self.pending_sends -= 1
        if self.pending_sends == 0 and self.settled is not None:
            self.settled.set_result(None)
            self.settled = None
        if outcome is None:
            self.typing = False  # clients stop showing a typer whose message arrived
            return
        if isinstance(outcome, str):
            await self.acknowledge_repeat(outcome)
        elif isinstance(outcome, CloseSocket):
            await self.end(outcome.code)
        elif isinstance(outcome, errors.NotFound):
            await self.end(CLOSE_FORBIDDEN)  # the room went out of sight
        elif isinstance(outcome, errors.ChatError):
            await self.send_error(outcome, frame_ref(frame))
        elif isinstance(outcome, DatabaseError | OSError):
            await self.send_error(errors.Unavailable(), frame_ref(frame))
        else:
            await self.send_error(
                errors.BadRequest(gettext_lazy("The frame could not be handled.")), frame_ref(frame)
            )

    async def acknowledge_repeat(self, text: str) -> None:
        """A client_id sent before: its message.created again (its original seq, the
        message as it is now) unless this socket is still to deliver that seq in
        order anyway; resync.required if that event is no longer kept."""
        if text == wire.RESYNC_REQUIRED or orjson.loads(text)["seq"] <= self.last_sent:
            await self.send_text(text)

    async def frame_typing(self, frame: dict[str, Any]) -> None:
        """Broadcast at most once a second per user and room, whatever the value:
        a change refused within that second goes out once it is over, unless the
        room already shows it by then."""
        refused = await self.call(self._typing, frame) is False
        self.typing_wanted = frame["is_typing"] if refused else None
        if refused and self.typing_retry is None:
            loop = asyncio.get_running_loop()
            self.typing_retry = loop.call_later(
                presence_services.TYPING_BROADCAST_INTERVAL + 0.05,
                lambda: loop.create_task(self._typing_again()),
            )

    async def _typing_again(self) -> None:
        self.typing_retry = None
        wanted, self.typing_wanted = self.typing_wanted, None
        if self.closed or wanted is None or wanted == self.typing:
            return
        with contextlib.suppress(Exception):
            await self.frame_typing({"type": "typing", "is_typing": wanted})

    # Every client frame of the room socket (see ClientFrame).
    frames = {
        "message.send": ClientFrame(("content",), run=frame_message_send),
        "message.edit": ClientFrame(("message_id", "content"), call=_message_edit, write=True),
        "message.delete": ClientFrame(("message_id",), call=_message_delete, write=True),
        "reaction.add": ClientFrame(("message_id", "emoji"), call=_reaction_add, write=True),
        "reaction.remove": ClientFrame(("message_id", "emoji"), call=_reaction_remove, write=True),
        "question.mark": ClientFrame(
            ("message_id", "is_question"), call=_question_mark, write=True
        ),
        "answer.endorse": ClientFrame(("message_id",), call=_answer_endorse, write=True),
        "answer.withdraw": ClientFrame(("message_id",), call=_answer_withdraw, write=True),
        "message.pin": ClientFrame(("message_id",), call=_message_pin, write=True),
        "message.unpin": ClientFrame(("message_id",), call=_message_unpin, write=True),
        "poll.create": ClientFrame(("question", "options"), call=_poll_create, write=True),
        "poll.vote": ClientFrame(("poll_id", "option_ids"), call=_poll_vote, write=True),
        "poll.close": ClientFrame(("poll_id",), call=_poll_close, write=True),
        "office_hours.set": ClientFrame(("open",), call=_office_hours_set, write=True),
        "queue.join": ClientFrame(call=_queue_join, write=True),
        "queue.leave": ClientFrame(call=_queue_leave, write=True),
        "queue.next": ClientFrame(call=_queue_next, write=True),
        "staff_question.ask": ClientFrame(("content",), call=_staff_question_ask, write=True),
        "staff_question.answer": ClientFrame(
            ("question_id", "content"), call=_staff_question_answer, write=True
        ),
        "typing": ClientFrame(("is_typing",), run=frame_typing),
        "read": ClientFrame(("message_id",), call=_read),
        "thread.read": ClientFrame(("thread_id", "message_id"), call=_thread_read),
        "ping": ClientFrame(run=SocketConsumer.frame_ping),
    }
