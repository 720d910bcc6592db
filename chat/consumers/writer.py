"""One room's ``message.send`` frames of this process, written in batches.

A room socket does not wait for its send to be written before it reads the
client's next frame: it queues the frame here. While one batch is being
written (``chat.services.sending``: one lock, one commit), the next collects,
so a busy room commits many messages at once and a sender with several
messages in flight is not held to one commit per message. Batches are written
one after another, in arrival order, so each sender's messages keep their order.
Each frame's outcome goes back to its socket: nothing (the ``message.created``
it caused is its acknowledgement), the acknowledgement again for a repeated
``client_id``, or an error.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from academia import metrics
from chat import errors, replay
from chat.consumers.db import run_sync
from chat.models import ChatRoom
from chat.services.sending import MAX_BATCH, SendRequest, message_send_many

logger = logging.getLogger(__name__)


class RoomWriter:
    def __init__(self, loop: asyncio.AbstractEventLoop, room_id: int) -> None:
        self.loop = loop
        self.room_id = room_id
        self.queue: list[tuple[Any, dict[str, Any]]] = []
        self.task: asyncio.Task[None] | None = None

    def submit(self, socket: Any, frame: dict[str, Any]) -> None:
        self.queue.append((socket, frame))
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._run())

    async def _run(self) -> None:
        while self.queue:
            batch, self.queue = self.queue[:MAX_BATCH], self.queue[MAX_BATCH:]
            try:
                outcomes = await run_sync(write_batch)(self.room_id, batch)
            except Exception as error:
                logger.exception("writing %s messages failed", len(batch))
                outcomes = [error] * len(batch)
            metrics.sends_published(batch, outcomes)
            for (socket, frame), outcome in zip(batch, outcomes, strict=True):
                try:
                    await socket.sent(frame, outcome)
                except Exception:
                    logger.exception("answering a sent frame failed")


def write_batch(room_id: int, batch: list[tuple[Any, dict[str, Any]]]) -> list[Any]:
    """In a database thread: each frame's outcome, in order (see ``RoomWriter``). A
    socket that closed after its frame arrived still has its message written."""
    from chat.consumers.base import CLOSE_UNAUTHENTICATED, CloseSocket, count_sends, signed_out

    outcomes: list[Any] = [None] * len(batch)
    allowed: list[int] = []
    ended = signed_out([socket for socket, _ in batch])
    for position, (socket, _) in enumerate(batch):
        if socket in ended:
            outcomes[position] = CloseSocket(CLOSE_UNAUTHENTICATED)
        else:
            allowed.append(position)
    # The send rate, counted once per user for the whole batch; a user's last
    # writes are the ones over the limit.
    by_user: dict[int, list[int]] = {}
    for position in allowed:
        by_user.setdefault(batch[position][0].user.pk, []).append(position)
    for user_id, positions_of_user in by_user.items():
        refusals = count_sends(user_id, len(positions_of_user))
        for position, refusal in zip(
            positions_of_user[len(positions_of_user) - len(refusals) :], refusals, strict=True
        ):
            outcomes[position] = refusal
    requests: list[SendRequest] = []
    positions: list[int] = []
    for position, (socket, frame) in enumerate(batch):
        if outcomes[position] is not None:
            continue
        requests.append(
            SendRequest(
                actor=socket.user,
                content=frame["content"],
                client_id=frame.get("client_id"),
                reply_to=frame.get("reply_to"),
                is_question=frame.get("is_question", False),
                anonymous=frame.get("anonymous", False),
            )
        )
        positions.append(position)
    if not requests:
        return outcomes
    feed = batch[positions[0]][0].feed  # None once that socket closed
    room = feed.room if feed is not None else ChatRoom.objects.get(pk=room_id)
    for position, result in zip(
        positions, message_send_many(room=room, requests=requests), strict=True
    ):
        if isinstance(result, errors.ChatError):
            outcomes[position] = result
        elif not result.created:
            outcomes[position] = replay.repeat_acknowledgement(result.message)
    return outcomes
