"""The reference row of the benchmark: a raw ``websockets`` broadcast server.

It speaks just enough of the room-socket protocol for ``bench/run.py``: it
accepts ``/ws/chat/<room_id>/`` (authentication headers are ignored), sends a
``connection.ready`` frame, and on every ``message.send`` frame encodes one
``message.created`` event once and broadcasts that text to every socket of the
room. No database, no channel layer, no rendering: this is the Python ceiling
the real server is compared against. ``GET /healthz`` answers 200 so the
benchmark can wait for it to listen.

    python bench/raw_server.py --port 8765
"""

from __future__ import annotations

import argparse
import asyncio
import re
from http import HTTPStatus
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

ROOM_PATH = re.compile(r"^/ws/chat/(\d+)/$")
WS_LIMIT = 65536


class Rooms:
    """Open sockets and the last ``seq`` of every room, in this process only."""

    def __init__(self) -> None:
        self.sockets: dict[int, set[ServerConnection]] = {}
        self.last_seq: dict[int, int] = {}

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer the health probe and refuse any path that is not a room socket."""
        if request.path == "/healthz":
            return connection.respond(HTTPStatus.OK, "ok\n")
        if not ROOM_PATH.match(request.path.split("?", 1)[0]):
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        return None

    async def handle(self, connection: ServerConnection) -> None:
        path = connection.request.path.split("?", 1)[0] if connection.request else ""
        match = ROOM_PATH.match(path)
        if match is None:
            return
        room_id = int(match.group(1))
        members = self.sockets.setdefault(room_id, set())
        members.add(connection)
        try:
            await connection.send(
                orjson.dumps(
                    {
                        "type": "connection.ready",
                        "room": {"id": room_id},
                        "user": None,
                        "last_seq": self.last_seq.get(room_id, 0),
                    }
                ).decode()
            )
            async for text in connection:
                self.receive(room_id, text)
        except ConnectionClosed:
            pass
        finally:
            members.discard(connection)

    def receive(self, room_id: int, text: str | bytes) -> None:
        try:
            frame: Any = orjson.loads(text)
        except orjson.JSONDecodeError:
            return
        if not isinstance(frame, dict) or frame.get("type") != "message.send":
            return
        seq = self.last_seq.get(room_id, 0) + 1
        self.last_seq[room_id] = seq
        event = orjson.dumps(
            {
                "type": "message.created",
                "room_id": room_id,
                "seq": seq,
                "message": {
                    "client_id": frame.get("client_id"),
                    "content": frame.get("content", ""),
                },
            }
        ).decode()
        broadcast(self.sockets.get(room_id, ()), event)


async def serve_forever(host: str, port: int) -> None:
    rooms = Rooms()
    async with serve(
        rooms.handle,
        host,
        port,
        process_request=rooms.process_request,
        max_size=WS_LIMIT,
        compression=None,
    ) as server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    asyncio.run(serve_forever(args.host, args.port))


if __name__ == "__main__":
    main()
