"""academia.serve.LeanQueue: the connection input queue Daphne's application reads."""

from __future__ import annotations

import asyncio
import sys

import pytest

from academia.serve import LeanQueue


async def test_items_come_out_in_order_and_a_waiting_get_gets_the_next() -> None:
    queue = LeanQueue()
    queue.put_nowait({"type": "websocket.connect"})
    queue.put_nowait({"type": "websocket.receive", "text": "1"})
    assert (queue.qsize(), queue.empty()) == (2, False)
    assert await queue.get() == {"type": "websocket.connect"}
    assert await queue.get() == {"type": "websocket.receive", "text": "1"}
    assert (queue.qsize(), queue.empty()) == (0, True)

    waiting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    queue.put_nowait({"type": "websocket.disconnect", "code": 1000})
    assert await asyncio.wait_for(waiting, 1) == {"type": "websocket.disconnect", "code": 1000}


async def test_a_cancelled_get_loses_nothing_and_others_still_wait() -> None:
    queue = LeanQueue()
    first = asyncio.ensure_future(queue.get())
    second = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    queue.put_nowait("a")
    queue.put_nowait("b")

    assert first.cancelled()
    assert await asyncio.wait_for(second, 1) == "a"
    assert await queue.get() == "b"


async def test_an_item_handed_to_a_getter_cancelled_before_it_ran_stays_queued() -> None:
    queue = LeanQueue()
    getter = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("kept")
    getter.cancel()  # woken, but cancelled before it could take the item
    with pytest.raises(asyncio.CancelledError):
        await getter

    assert await queue.get() == "kept"


def test_an_idle_queue_holds_no_container() -> None:
    queue = LeanQueue()
    queue.put_nowait("connect")
    asyncio.run(queue.get())

    assert sys.getsizeof(queue) < sys.getsizeof(asyncio.Queue())
    assert queue.__slots__ == ("_items", "_waiter")
    assert (queue._items, queue._waiter) == (None, None)
