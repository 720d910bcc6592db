"""The load side of the benchmark: open sockets, send, count, time (no Django here).

Every server is driven the same way through :mod:`bench.wsclient`: sockets open
on ``/ws/chat/<room_id>/`` (with ``Authorization: Token <key>`` when the room has
tokens), wait for their first frame (``connection.ready``), and from then on
every text frame is handed to a :class:`Receiver` as bytes. A receiver finds
the ``client_id`` by a byte search (no JSON decoding), looks up when and as which
number of its room that message was sent, and records the latency; it counts a
number already seen by this socket as a duplicate and a lower one as out of
order, and, where the server numbers its events (``"seq":N``), a step other
than +1 as a gap. The sender of a room is one of its sockets: its own
``message.created`` is its acknowledgement.

Shapes: :func:`run_load` (``window`` or ``rate``), :func:`run_memory` (idle
sockets, server RSS growth per socket) and :func:`run_storm` (reconnect with
``after_seq`` all at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import resource
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import wsclient

GRACE_SECONDS = 5.0
OPEN_CONCURRENCY = 50
OPEN_ATTEMPTS = 3
STORM_DEADLINE_SECONDS = 60.0
CLIENT_ID = b'"client_id":'
SEQ = re.compile(rb'"seq":(\d+)')
CLOCK_TICKS = 100  # os.sysconf("SC_CLK_TCK") on Linux


@dataclass
class Room:
    room_id: int
    tokens: list[str | None]  # one per socket; the first socket sends


@dataclass
class Target:
    """A server under test: ``base`` is ``ws://host:port``; ``pid`` when started here."""

    name: str
    base: str
    pid: int | None = None
    numbered: bool = True  # whether its events carry "seq"


# --- measurements of the two processes ---------------------------------------------------


def rss_kib(pid: int | None) -> int | None:
    """Resident memory of a process (Linux ``/proc``), KiB."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process and all its threads so far."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """Share of one core used by this client and by the server between start and stop."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.started = time.perf_counter()
        self.client = own_cpu_seconds()
        self.server = cpu_seconds(pid)
        self.result: dict[str, float | None] = {"client_cpu": None, "server_cpu": None}

    def stop(self) -> None:
        wall = time.perf_counter() - self.started
        if wall <= 0:
            return
        self.result["client_cpu"] = round((own_cpu_seconds() - self.client) / wall, 2)
        server = cpu_seconds(self.pid)
        if server is not None and self.server is not None:
            self.result["server_cpu"] = round((server - self.server) / wall, 2)


def percentiles_ms(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)
    last = len(ordered) - 1

    def at(fraction: float) -> float:
        return round(ordered[min(last, round(fraction * last))] * 1000, 2)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": at(1.0)}


# --- sockets -----------------------------------------------------------------------------


def socket_url(target: Target, room_id: int, after_seq: int | None = None) -> str:
    query = f"?after_seq={after_seq}" if after_seq is not None else ""
    return f"{target.base}/ws/chat/{room_id}/{query}"


def headers_for(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Token {token}"} if token else {}


async def open_socket(
    target: Target, room_id: int, token: str | None, *, attempts: int = OPEN_ATTEMPTS
) -> tuple[wsclient.WebSocket, dict[str, Any]]:
    """Open one socket and read its first frame, which must be ``connection.ready``."""
    for attempt in range(attempts):
        try:
            ws = await wsclient.connect(
                socket_url(target, room_id), headers=headers_for(token), timeout=30
            )
            first = json.loads(await ws.recv(timeout=30))
        except (OSError, TimeoutError, wsclient.HandshakeError, wsclient.ConnectionClosed):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)
            continue
        if first.get("type") != "connection.ready":
            raise RuntimeError(f"unexpected first frame from {target.name}: {first}")
        return ws, first
    raise AssertionError("unreachable")


async def open_sockets(
    target: Target, pairs: Sequence[tuple[int, str | None]], concurrency: int = OPEN_CONCURRENCY
) -> list[tuple[wsclient.WebSocket, dict[str, Any]]]:
    """Open every ``(room_id, token)`` socket, at most ``concurrency`` handshakes at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(room_id: int, token: str | None) -> tuple[wsclient.WebSocket, dict[str, Any]]:
        async with gate:
            return await open_socket(target, room_id, token)

    return list(await asyncio.gather(*(one(room_id, token) for room_id, token in pairs)))


async def close_all(sockets: Sequence[wsclient.WebSocket], timeout: float = 5.0) -> None:
    await asyncio.gather(*(ws.close(timeout=timeout) for ws in sockets), return_exceptions=True)


# --- counting ------------------------------------------------------------------------------


@dataclass
class Tally:
    """What every socket of one run received."""

    sent: dict[bytes, tuple[float, int]] = field(default_factory=dict)  # client_id: (at, number)
    room_of: dict[bytes, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    duplicates: int = 0
    out_of_order: int = 0
    seq_gaps: int = 0
    errors: int = 0
    other_frames: int = 0
    last_receipt: float = 0.0


def client_id_of(payload: bytes) -> bytes | None:
    """The ``client_id`` in an encoded frame, found without decoding it (None if absent)."""
    start = payload.find(CLIENT_ID)
    if start < 0:
        return None
    start += len(CLIENT_ID)
    if payload[start] == 32:  # json.dumps puts a space after the colon
        start += 1
    if payload[start] != 34:  # null
        return None
    return payload[start + 1 : payload.find(b'"', start + 1)]


class Receiver:
    """The frame handler of one socket (inlines :func:`client_id_of`: it runs per frame)."""

    __slots__ = ("last_number", "last_seq", "latencies", "numbered", "sender", "sent", "tally")

    def __init__(self, tally: Tally, *, numbered: bool, last_seq: int = 0) -> None:
        self.tally = tally
        self.sent = tally.sent
        self.latencies = tally.latencies
        self.numbered = numbered
        self.last_number = 0
        self.last_seq = last_seq
        self.sender: Sender | None = None

    def on_text(self, payload: bytes, now: float) -> None:
        start = payload.find(CLIENT_ID)
        if start < 0:
            self._other(payload)
            return
        start += 12
        if payload[start] == 32:  # json.dumps puts a space after the colon
            start += 1
        if payload[start] != 34:  # null
            self.tally.other_frames += 1
            return
        entry = self.sent.get(payload[start + 1 : payload.find(b'"', start + 1)])
        if entry is None:
            self.tally.other_frames += 1
            return
        number = entry[1]
        if number > self.last_number:
            self.last_number = number
        elif number == self.last_number:
            self.tally.duplicates += 1
            return
        else:
            self.tally.out_of_order += 1
        self.latencies.append(now - entry[0])
        self.tally.last_receipt = now
        if self.numbered:
            match = SEQ.search(payload)
            if match is not None:
                seq = int(match.group(1))
                if self.last_seq and seq != self.last_seq + 1:
                    self.tally.seq_gaps += 1
                self.last_seq = seq
        if self.sender is not None:
            self.sender.acknowledged(now)

    def _other(self, payload: bytes) -> None:
        if payload.startswith(b'{"type":"error"') or payload.startswith(b'{"type": "error"'):
            self.tally.errors += 1
        else:
            self.tally.other_frames += 1
        match = SEQ.search(payload) if self.numbered else None
        if match is not None:  # another persisted room event: it takes a seq too
            self.last_seq = int(match.group(1))


class Sender:
    """One room's sender: ``window`` unacknowledged messages at most, or a fixed rate."""

    def __init__(self, ws: wsclient.WebSocket, prefix: int, tally: Tally, until: float) -> None:
        self.ws = ws
        self.prefix = prefix
        self.tally = tally
        self.until = until
        self.number = 0
        self.acked = 0
        self.last_ack = 0.0
        self.windowed = False

    def send_one(self) -> None:
        self.number += 1
        client_id = f"{self.prefix}-{self.number}".encode()
        frame = (
            b'{"type":"message.send","client_id":"'
            + client_id
            + b'","content":"load '
            + str(self.number).encode()
            + b'"}'
        )
        self.tally.sent[client_id] = (time.perf_counter(), self.number)
        self.tally.room_of[client_id] = self.prefix
        with contextlib.suppress(wsclient.ConnectionClosed):
            self.ws.send_text(frame)

    def acknowledged(self, now: float) -> None:
        self.acked += 1
        self.last_ack = now
        if self.windowed and now < self.until:
            self.send_one()

    async def at_rate(self, rate: float) -> None:
        interval = 1.0 / rate
        next_send = time.perf_counter()
        while next_send < self.until:
            delay = next_send - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.send_one()
            next_send += interval


# --- shapes --------------------------------------------------------------------------------


async def run_load(
    target: Target,
    rooms: Sequence[Room],
    *,
    mode: str,
    seconds: float,
    window: int = 4,
    rate: float = 10.0,
) -> dict[str, Any]:
    """One sender per room for ``seconds``, then up to GRACE_SECONDS for the stragglers."""
    pairs = [(room.room_id, token) for room in rooms for token in room.tokens]
    opened = await open_sockets(target, pairs)
    await asyncio.sleep(0.5)
    tally = Tally()
    senders: list[Sender] = []
    position = 0
    started = time.perf_counter()
    until = started + seconds
    for index, room in enumerate(rooms, start=1):
        for offset in range(len(room.tokens)):
            ws, ready = opened[position + offset]
            receiver = Receiver(tally, numbered=target.numbered, last_seq=_last_seq(ready))
            if offset == 0:
                receiver.sender = Sender(ws, index, tally, until)
                senders.append(receiver.sender)
            ws.set_handler(receiver.on_text)
        position += len(room.tokens)
    meter = CpuMeter(target.pid)
    if mode == "window":
        for sender in senders:
            sender.windowed = True
            for _ in range(window):
                sender.send_one()
        await asyncio.sleep(max(0.0, until - time.perf_counter()))
        for sender in senders:  # the loop's clock may wake it a hair early
            sender.windowed = False
    else:
        await asyncio.gather(*(sender.at_rate(rate) for sender in senders))
    meter.stop()
    sockets_of = {index: len(room.tokens) for index, room in enumerate(rooms, start=1)}
    expected = sum(sockets_of[room] for room in tally.room_of.values())
    deadline = time.perf_counter() + GRACE_SECONDS
    while len(tally.latencies) < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    rss = rss_kib(target.pid)
    closed_early = sum(1 for ws, _ in opened if not ws.open)
    await close_all([ws for ws, _ in opened], timeout=2.0)
    received = len(tally.latencies)
    acked = sum(sender.acked for sender in senders)
    last_ack = max((sender.last_ack for sender in senders), default=0.0)
    receiving = tally.last_receipt - started
    return {
        "mode": mode,
        "rooms": len(rooms),
        "sockets_per_room": len(rooms[0].tokens),
        "window": window if mode == "window" else None,
        "rate_per_room": rate if mode == "rate" else None,
        "seconds": seconds,
        "sent": len(tally.sent),
        "acked": acked,
        "deliveries": received,
        "deliveries_per_s": round(received / receiving, 1) if receiving > 0 else 0.0,
        "messages_per_s": round(acked / (last_ack - started), 1) if last_ack > started else 0.0,
        "latency_ms": percentiles_ms(tally.latencies),
        "lost": expected - received,
        "duplicates": tally.duplicates,
        "out_of_order": tally.out_of_order,
        "seq_gaps": tally.seq_gaps if target.numbered else None,
        "errors": tally.errors,
        "other_frames": tally.other_frames,
        "closed_early": closed_early,
        **meter.result,
        "server_rss_mib": round(rss / 1024, 1) if rss is not None else None,
    }


def _last_seq(ready: dict[str, Any]) -> int:
    value = ready.get("last_seq")
    return value if isinstance(value, int) else 0


async def run_memory(
    target: Target, rooms: Sequence[Room], *, settle: float = 2.0
) -> dict[str, Any]:
    """Idle sockets: the first socket of each room warms the room up, the rest are measured."""
    warm = [(room.room_id, room.tokens[0]) for room in rooms]
    measured = [(room.room_id, token) for room in rooms for token in room.tokens[1:]]
    opened = await open_sockets(target, warm)
    await asyncio.sleep(1.0)
    before = rss_kib(target.pid)
    started = time.perf_counter()
    opened += await open_sockets(target, measured)
    opening = time.perf_counter() - started
    await asyncio.sleep(settle)
    after = rss_kib(target.pid)
    still_open = sum(1 for ws, _ in opened if ws.open)
    await close_all([ws for ws, _ in opened], timeout=2.0)
    per_socket = (
        round((after - before) / len(measured), 1)
        if before is not None and after is not None
        else None
    )
    return {
        "mode": "idle",
        "rooms": len(rooms),
        "sockets_per_room": len(rooms[0].tokens) - 1,
        "sockets": len(measured),
        "warmup_sockets": len(warm),
        "open_s": round(opening, 2),
        "opened_per_s": round(len(measured) / opening, 1) if opening > 0 else None,
        "still_open": still_open - len(warm),
        "rss_before_mib": round(before / 1024, 1) if before is not None else None,
        "rss_after_mib": round(after / 1024, 1) if after is not None else None,
        "rss_kib_per_socket": per_socket,
    }


async def _probe_health(
    host: str, port: int, interval: float, times: list[float]
) -> tuple[int, float | None]:
    """GET /healthz every ``interval`` seconds until cancelled; returns the failures
    and, if a probe was still unanswered when cancelled, how long it had waited (s)."""
    failures = 0
    request = f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
    waiting_since: float | None = None  # the probe in flight
    try:
        while True:
            started = waiting_since = time.perf_counter()
            try:
                async with asyncio.timeout(10):
                    reader, writer = await asyncio.open_connection(host, port)
                    writer.write(request.encode())
                    status = await reader.readline()
                    await reader.read()
                    writer.close()
                if b" 200 " not in status:
                    failures += 1
                else:
                    times.append(time.perf_counter() - started)
            except (OSError, TimeoutError):
                failures += 1
            waiting_since = None
            await asyncio.sleep(max(0.0, interval - (time.perf_counter() - started)))
    except asyncio.CancelledError:
        if waiting_since is None:
            return failures, None
        return failures, time.perf_counter() - waiting_since


@dataclass
class Resume:
    """One socket of the storm."""

    room_id: int
    token: str | None
    after_seq: int
    handshake_at: float | None = None
    served_at: float | None = None
    refused: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    closed: int = 0
    in_order: bool = True
    duplicates: int = 0
    resync: bool = False
    error: str | None = None


async def _resume(target: Target, resume: Resume, wanted: set[bytes], t0: float) -> None:
    """Reconnect with ``after_seq`` until the missed messages are all in.

    A refused handshake, or a socket the server closes before it has sent them, is
    tried again after the page's reconnect delay (:func:`reconnect_delay`), until
    STORM_DEADLINE_SECONDS after the first handshake.
    """
    url = socket_url(target, resume.room_id, resume.after_seq)
    deadline = t0 + STORM_DEADLINE_SECONDS
    attempt = 0
    while time.perf_counter() < deadline:
        try:
            async with asyncio.timeout(max(0.1, deadline - time.perf_counter())):
                ws = await wsclient.connect(url, headers=headers_for(resume.token))
        except (OSError, TimeoutError, wsclient.HandshakeError) as error:
            resume.refused += 1
            resume.error = repr(error)
            kind = refusal_kind(error)
            resume.refusals[kind] = resume.refusals.get(kind, 0) + 1
        else:
            if resume.handshake_at is None:
                resume.handshake_at = time.perf_counter() - t0
            try:
                async with asyncio.timeout(max(0.1, deadline - time.perf_counter())):
                    if await _replayed(ws, resume, wanted):
                        resume.served_at = time.perf_counter() - t0
                        return
            except (TimeoutError, wsclient.ConnectionClosed) as error:
                resume.closed += 1
                resume.error = repr(error)
            finally:
                ws.abort()
            if resume.resync:
                return
        await asyncio.sleep(reconnect_delay(attempt))
        attempt += 1


def refusal_kind(error: BaseException) -> str:
    """``http_<status>``, ``reset``, ``refused``, ``timeout`` or the exception's name."""
    if isinstance(error, wsclient.HandshakeError):
        if error.status is not None:
            return f"http_{error.status}"
        text = str(error)
        if "reset" in text.lower():
            return "reset"
        return "closed"
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, ConnectionResetError):
        return "reset"
    return type(error).__name__


def reconnect_delay(attempt: int) -> float:
    """Seconds before reconnect number ``attempt`` + 1, as static/chat/client.js waits:
    exponential from 0.5 s up to 15 s, the second half of each step drawn at random."""
    cap = min(15.0, 0.5 * 2**attempt)
    return cap / 2 + random.random() * cap / 2


async def _replayed(ws: wsclient.WebSocket, resume: Resume, wanted: set[bytes]) -> bool:
    """Read until every wanted message came (True), checking seq order; False on resync."""
    expected_seq = resume.after_seq + 1
    seen: set[bytes] = set()
    while len(seen) < len(wanted):
        frame = await ws.recv()
        if frame.startswith(b'{"type":"resync.required"'):
            resume.resync = True
            return False
        match = SEQ.search(frame)
        if match is None:
            continue
        seq = int(match.group(1))
        if seq != expected_seq:
            resume.in_order = False
        expected_seq = seq + 1
        client_id = client_id_of(frame)
        if client_id is None:
            continue
        if client_id in seen:
            resume.duplicates += 1
        elif client_id in wanted:
            seen.add(client_id)
    return True


async def run_storm(
    target: Target,
    room: Room,
    *,
    messages: int = 20,
    probe_interval: float = 0.05,
    settle: float = 1.0,
    restart: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """Every socket but the sender's goes away, ``messages`` are sent, all reconnect
    at once. With ``restart`` (a server started here) the server restarts on the
    same port, as in a deployment, and the sender reconnects before sending;
    otherwise the sockets close and the server stays up."""
    sender_token, *tokens = room.tokens
    (sender_ws, _), *_ = await open_sockets(target, [(room.room_id, sender_token)])
    opened = await open_sockets(target, [(room.room_id, token) for token in tokens])
    resumes = [
        Resume(room.room_id, token, _last_seq(ready))
        for token, (_, ready) in zip(tokens, opened, strict=True)
    ]
    if restart is not None:
        await asyncio.to_thread(restart)
        for ws, _ in opened:
            ws.abort()
        sender_ws.abort()
        (sender_ws, _), *_ = await open_sockets(target, [(room.room_id, sender_token)])
    else:
        await close_all([ws for ws, _ in opened], timeout=5.0)
    await asyncio.sleep(settle)
    tally = Tally()
    receiver = Receiver(tally, numbered=False)
    receiver.sender = Sender(sender_ws, 1, tally, time.perf_counter() + 3600)
    sender_ws.set_handler(receiver.on_text)
    for _ in range(messages):
        receiver.sender.send_one()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(60):
            while receiver.sender.acked < messages:
                await asyncio.sleep(0.02)
    acked = receiver.sender.acked
    wanted = set(tally.sent)
    host, port = target.base.removeprefix("ws://").rsplit(":", 1)
    probe_times: list[float] = []
    prober = asyncio.ensure_future(_probe_health(host, int(port), probe_interval, probe_times))
    meter = CpuMeter(target.pid)
    t0 = time.perf_counter()
    await asyncio.gather(*(_resume(target, resume, wanted, t0) for resume in resumes))
    meter.stop()
    prober.cancel()
    probe_failures, unanswered = await prober
    sender_ws.abort()
    served = [r.served_at for r in resumes if r.served_at is not None]
    handshakes = [r.handshake_at for r in resumes if r.handshake_at is not None]
    complete = len(served) == len(resumes)
    return {
        "mode": "storm",
        "rooms": 1,
        "sockets": len(resumes),
        "missed_messages": messages,
        "acked_before_storm": acked,
        "served_s": round(max(served), 2) if complete else None,
        "served_sockets": len(served),
        "served_p50_s": _seconds_at(served, 0.5),
        "handshake_p99_s": _seconds_at(handshakes, 0.99),
        "handshakes_refused": sum(r.refused for r in resumes),
        "refusals": dict(sum((Counter(r.refusals) for r in resumes), Counter())),
        "closed_before_served": sum(r.closed for r in resumes),
        "never_connected": sum(1 for r in resumes if r.handshake_at is None),
        "out_of_order_sockets": sum(1 for r in resumes if not r.in_order),
        "duplicates": sum(r.duplicates for r in resumes),
        "resync_required": sum(1 for r in resumes if r.resync),
        "healthz_ms": {**percentiles_ms(probe_times), "probes": len(probe_times)},
        "healthz_failures": probe_failures,
        # A probe still waiting when the storm ended (the process answered no
        # HTTP meanwhile): how long it had waited.
        "healthz_unanswered_ms": round(unanswered * 1000) if unanswered is not None else None,
        **meter.result,
        "first_error": next((r.error for r in resumes if r.error), None),
    }


def _seconds_at(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))], 3)


def run(coroutine_factory: Callable[[], Any]) -> Any:
    """Run one shape on a fresh event loop (uvloop's when it is installed)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine_factory())
    return uvloop.run(coroutine_factory())


def client_loop() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"
