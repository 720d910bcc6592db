"""Load benchmark of the room sockets: one JSON line per run.

Against a running server (``--url``) or one Daphne it starts itself, on
PostgreSQL and Redis (DATABASE_URL and REDIS_URL from the environment). For each
shape it creates a fresh set of users, tokens and public rooms, opens
``--sockets`` sockets in each of ``--rooms`` rooms (Token header auth), and lets
one sender per room send for ``--seconds``:

- ``window``: full speed, at most ``--window`` unacknowledged messages (a sender's
  own ``message.created`` is its acknowledgement);
- ``rate``: ``--rate`` messages a second per room, whatever the acknowledgements.

It prints deliveries per second, latency from send to each receipt (p50/p95/p99,
by client_id), messages lost (expected receipts - receipts) and, when it started
the server, the server's resident memory per idle socket.

``--server`` picks the server: ``ours`` (Daphne and the whole application),
``raw`` (bench/raw_server.py, a database-free ``websockets`` broadcast server,
the Python ceiling) or ``both`` (the default: every run against ours, then the
same runs against raw, and one more line per shape and mode with the ratio of
their deliveries per second). When the machine has at least two cores, a
started server is pinned to core 0 and this load client to core 1.

Without ``--rooms``/``--sockets`` it runs the standard shapes: 1 room x 200
sockets and 50 rooms x 10 sockets in both modes (10 and 1 messages/s per room in
rate mode), and 1 room x 500 sockets at 200 messages/s in rate mode
(docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academia.settings")

import django  # noqa: E402

django.setup()

import websockets  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from chat import services  # noqa: E402

# (rooms, sockets per room, modes, messages/s per room in rate mode)
STANDARD_SHAPES: list[tuple[int, int, tuple[str, ...], float]] = [
    (1, 200, ("window", "rate"), 10.0),
    (50, 10, ("window", "rate"), 1.0),
    (1, 500, ("rate",), 200.0),
]
RAW_SERVER = BASE_DIR / "bench" / "raw_server.py"
SERVER_CORE = 0
CLIENT_CORE = 1
WS_LIMIT = "65536"
GRACE_SECONDS = 5.0
OPEN_BATCH = 10


@dataclass
class Room:
    room_id: int
    tokens: list[str]  # the first one is the sender's


@dataclass
class Stats:
    sent_at: dict[str, float] = field(default_factory=dict)
    room_of: dict[str, int] = field(default_factory=dict)
    receipts: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    acked: dict[int, asyncio.Event] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


# --- setup ---------------------------------------------------------------------------------------


def create_fixture(rooms: int, sockets: int) -> list[Room]:
    """Fresh users, tokens and public rooms for one run (through the services for rooms)."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    user_model = get_user_model()
    users = user_model.objects.bulk_create(
        [
            user_model(username=f"{prefix}-{number}", password="!")
            for number in range(rooms * sockets)
        ]
    )
    users = list(user_model.objects.filter(username__startswith=f"{prefix}-").order_by("id"))
    tokens = Token.objects.bulk_create(
        [Token(user=user, key=Token.generate_key()) for user in users]
    )
    result = []
    for number in range(rooms):
        members = users[number * sockets : (number + 1) * sockets]
        room = services.room_create(
            actor=members[0], name=f"{prefix} room {number}", chat_type="public"
        )
        keys = [token.key for token in tokens[number * sockets : (number + 1) * sockets]]
        result.append(Room(room_id=room.pk, tokens=keys))
    return result


def create_raw_fixture(rooms: int, sockets: int) -> list[Room]:
    """Rooms for the raw server, which keeps nothing: ids and placeholder tokens only."""
    return [
        Room(room_id=number + 1, tokens=[f"raw-{number}-{n}" for n in range(sockets)])
        for number in range(rooms)
    ]


def can_pin() -> bool:
    """Whether this process may run on both the server's and the client's core."""
    if not hasattr(os, "sched_setaffinity"):
        return False
    return {SERVER_CORE, CLIENT_CORE} <= os.sched_getaffinity(0)


def pin_to_server_core() -> None:
    """Run in the server's child process before exec: every thread it starts inherits it."""
    os.sched_setaffinity(0, {SERVER_CORE})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(
    server: str, layer: str | None, *, pin: bool
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(
        os.environ,
        CHAT_WS_SEND_RATE="1000000/1s",
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_DEBUG="false",
        DJANGO_SECURE_SSL_REDIRECT="false",
    )
    if layer:
        env["CHAT_CHANNEL_LAYER_BACKEND"] = layer
    if server == "raw":
        command = [sys.executable, str(RAW_SERVER), "--port", str(port)]
    else:
        command = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "--websocket-max-message-size",
            WS_LIMIT,
            "--websocket-max-frame-size",
            WS_LIMIT,
            "academia.asgi:application",
        ]
    process = subprocess.Popen(
        command,
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        preexec_fn=pin_to_server_core if pin else None,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the {server} server exited during startup")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1),
        ):
            return process, f"ws://127.0.0.1:{port}"
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the {server} server did not start")


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


# --- load ----------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))
    return round(ordered[index] * 1000, 2)


async def open_socket(url: str, room: Room, token: str) -> Any:
    for attempt in range(3):
        try:
            return await _open_socket(url, room, token)
        except (OSError, websockets.InvalidHandshake, websockets.InvalidMessage):
            if attempt == 2:
                raise
            await asyncio.sleep(1.0)
    raise AssertionError("unreachable")


async def _open_socket(url: str, room: Room, token: str) -> Any:
    connection = await websockets.connect(
        f"{url}/ws/chat/{room.room_id}/",
        additional_headers={"Authorization": f"Token {token}"},
        open_timeout=30,
        max_size=2**20,
    )
    ready = json.loads(await connection.recv())
    if ready.get("type") != "connection.ready":
        raise SystemExit(f"unexpected first frame: {ready}")
    return connection


async def receive_loop(connection: Any, stats: Stats, sender_of: int | None) -> None:
    with contextlib.suppress(websockets.ConnectionClosed, asyncio.CancelledError):
        async for text in connection:
            now = time.perf_counter()
            frame = json.loads(text)
            if frame.get("type") == "error":
                stats.errors.append(frame)
                continue
            if frame.get("type") != "message.created":
                continue
            client_id = frame["message"].get("client_id")
            sent = stats.sent_at.get(client_id or "")
            if sent is None:
                continue
            stats.receipts[client_id] = stats.receipts.get(client_id, 0) + 1
            stats.latencies.append(now - sent)
            if sender_of is not None:
                stats.acked[sender_of].set()


async def send_loop(
    connection: Any, room: Room, stats: Stats, mode: str, window: int, rate: float, until: float
) -> None:
    in_flight: list[str] = []
    interval = 1.0 / rate if rate > 0 else 0.0
    next_send = time.perf_counter()
    number = 0
    while time.perf_counter() < until:
        if mode == "window":
            in_flight = [cid for cid in in_flight if cid not in stats.receipts]
            if len(in_flight) >= window:
                stats.acked[room.room_id].clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stats.acked[room.room_id].wait(), 1.0)
                continue
        else:
            delay = next_send - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            next_send += interval
        client_id = f"b{room.room_id}-{number}"
        number += 1
        stats.sent_at[client_id] = time.perf_counter()
        stats.room_of[client_id] = room.room_id
        in_flight.append(client_id)
        await connection.send(
            json.dumps(
                {"type": "message.send", "client_id": client_id, "content": f"load {number}"}
            )
        )


async def run_shape(
    url: str,
    rooms: list[Room],
    *,
    mode: str,
    seconds: float,
    window: int,
    rate: float,
    server_pid: int | None,
) -> dict[str, Any]:
    stats = Stats()
    before = rss_kb(server_pid) if server_pid else None
    pairs = [(room, token) for room in rooms for token in room.tokens]
    connections: list[Any] = []
    for start in range(0, len(pairs), OPEN_BATCH):
        batch = pairs[start : start + OPEN_BATCH]
        connections += await asyncio.gather(*(open_socket(url, r, t) for r, t in batch))
    await asyncio.sleep(1.0)
    after = rss_kb(server_pid) if server_pid else None
    receivers = []
    senders = {}
    for (room, token), connection in zip(pairs, connections, strict=True):
        is_sender = token == room.tokens[0]
        if is_sender:
            stats.acked[room.room_id] = asyncio.Event()
            senders[room.room_id] = connection
        receivers.append(
            asyncio.ensure_future(
                receive_loop(connection, stats, room.room_id if is_sender else None)
            )
        )
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(
        *(
            send_loop(senders[room.room_id], room, stats, mode, window, rate, until)
            for room in rooms
        )
    )
    sockets_of = {room.room_id: len(room.tokens) for room in rooms}
    expected = sum(sockets_of[stats.room_of[cid]] for cid in stats.sent_at)
    deadline = time.perf_counter() + GRACE_SECONDS
    while sum(stats.receipts.values()) < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    for task in receivers:
        task.cancel()
    await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)
    received = sum(
        min(count, sockets_of[stats.room_of[cid]]) for cid, count in stats.receipts.items()
    )
    return {
        "mode": mode,
        "rooms": len(rooms),
        "sockets_per_room": len(rooms[0].tokens),
        "seconds": seconds,
        "window": window if mode == "window" else None,
        "rate_per_room": rate if mode == "rate" else None,
        "sent": len(stats.sent_at),
        "deliveries": received,
        "deliveries_per_s": round(received / elapsed, 1),
        "latency_ms": {
            "p50": percentile(stats.latencies, 0.50),
            "p95": percentile(stats.latencies, 0.95),
            "p99": percentile(stats.latencies, 0.99),
        },
        "lost": expected - received,
        "errors": len(stats.errors),
        "rss_kb_per_idle_socket": (
            round((after - before) / len(pairs), 1)
            if before is not None and after is not None
            else None
        ),
    }


def run_once(
    server: str,
    url: str | None,
    layer: str | None,
    rooms: int,
    sockets: int,
    *,
    pin: bool,
    mode: str,
    seconds: float,
    window: int,
    rate: float,
) -> dict[str, Any]:
    """One run against a fresh server (one run's backlog never slows the next)."""
    process = None
    if url is None:
        process, url = start_server(server, layer, pin=pin)
    try:
        if server == "ours":
            fixture = create_fixture(rooms, sockets)
        else:
            fixture = create_raw_fixture(rooms, sockets)
        result = asyncio.run(
            run_shape(
                url,
                fixture,
                mode=mode,
                seconds=seconds,
                window=window,
                rate=rate,
                server_pid=process.pid if process else None,
            )
        )
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    result["server"] = server
    result["layer"] = (
        layer
        or os.environ.get(
            "CHAT_CHANNEL_LAYER_BACKEND", "channels_redis.pubsub.RedisPubSubChannelLayer"
        )
        if server == "ours"
        else None
    )
    return result


def ratio_line(ours: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """The ours/raw comparison of one shape and mode."""
    return {
        "ratio": "ours/raw",
        "mode": ours["mode"],
        "rooms": ours["rooms"],
        "sockets_per_room": ours["sockets_per_room"],
        "rate_per_room": ours["rate_per_room"],
        "ours_deliveries_per_s": ours["deliveries_per_s"],
        "raw_deliveries_per_s": raw["deliveries_per_s"],
        "deliveries_per_s_ratio": (
            round(ours["deliveries_per_s"] / raw["deliveries_per_s"], 3)
            if raw["deliveries_per_s"]
            else None
        ),
        "ours_p99_ms": ours["latency_ms"]["p99"],
        "raw_p99_ms": raw["latency_ms"]["p99"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="ws://host:port of a running server (default: start one)")
    parser.add_argument(
        "--server",
        choices=["ours", "raw", "both"],
        help="server to measure (default: both, or ours with --url)",
    )
    parser.add_argument("--rooms", type=int)
    parser.add_argument("--sockets", type=int, help="sockets per room")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--mode", choices=["window", "rate", "both"], default="both")
    parser.add_argument("--window", type=int, default=4)
    parser.add_argument("--rate", type=float, help="messages/s per room in rate mode")
    parser.add_argument("--layer", help="CHAT_CHANNEL_LAYER_BACKEND for the started server")
    args = parser.parse_args()
    server_choice = args.server or ("ours" if args.url else "both")
    if args.url and server_choice == "both":
        parser.error("--url measures one running server: choose --server ours or raw")
    servers = ["ours", "raw"] if server_choice == "both" else [server_choice]
    if "ours" in servers:
        if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
            raise SystemExit("set DATABASE_URL (PostgreSQL) and REDIS_URL (Redis)")
        call_command("migrate", verbosity=0)
    # Decided before this process moves to its own core: the servers it starts
    # inherit its affinity until they move to theirs.
    pin = args.url is None and can_pin()
    if pin:
        os.sched_setaffinity(0, {CLIENT_CORE})
    modes = ("window", "rate") if args.mode == "both" else (args.mode,)
    if args.rooms and args.sockets:
        shapes = [(args.rooms, args.sockets, modes, 10.0)]
    else:
        shapes = [
            (rooms, sockets, tuple(m for m in shape_modes if m in modes), shape_rate)
            for rooms, sockets, shape_modes, shape_rate in STANDARD_SHAPES
        ]
    results: dict[tuple[str, int, int, str], dict[str, Any]] = {}
    for server in servers:
        for rooms, sockets, shape_modes, shape_rate in shapes:
            rate = args.rate if args.rate is not None else shape_rate
            for mode in shape_modes:
                result = run_once(
                    server,
                    args.url,
                    args.layer,
                    rooms,
                    sockets,
                    pin=pin,
                    mode=mode,
                    seconds=args.seconds,
                    window=args.window,
                    rate=rate,
                )
                results[(server, rooms, sockets, mode)] = result
                print(json.dumps(result), flush=True)
    if len(servers) == 2:
        for rooms, sockets, shape_modes, _ in shapes:
            for mode in shape_modes:
                ours = results[("ours", rooms, sockets, mode)]
                raw = results[("raw", rooms, sockets, mode)]
                print(json.dumps(ratio_line(ours, raw)), flush=True)


if __name__ == "__main__":
    main()
