"""History at scale: read latencies stay flat from 10 k to 2 M stored messages.

Needs PostgreSQL: it refuses to run without a ``postgres://`` DATABASE_URL. It
works in a database of its own on that server (``<name>_history``, recreated
unless ``--reuse``) and grows it to each of ``--sizes`` in turn:

- 150 private rooms; half of all messages go to room 1 (1 M of 2 M), the rest
  spread over the others; 21 users, the reader is a participant of 50 rooms with
  the read marker near the start of each (so nearly everything is unread);
- 1 % of messages deleted, 0.5 % ``system``, one in 1 000 says "quasar";
- messages are written with COPY in batches of 100 k rows per transaction (the
  full-text index is rebuilt once after a big load), then the unread counters
  are backfilled with ``chat.services.counters.recount``, tables analysed and a
  checkpoint written (as a database at rest has it).

Then it starts one Daphne process on that database (``python -m academia.serve``,
as ``make run`` does; with ``--pin``: on core 0, this client on core 1) and times
``--repeat`` sequential requests of each case after a short warm-up, as a client
sees them (and the server's CPU time per request, steadier on a busy machine):

- ``newest_page``: GET /chat/rooms/<big>/messages/ (50 messages)
- ``deep_page``:   GET /chat/rooms/<big>/messages/?before=<an id near the start>
- ``room_list``:   GET /chat/rooms/ (the reader's 50 rooms, with unread counts)
- ``ready``:       /ws/chat/<big>/ from the start of the handshake to ``connection.ready``
- ``search``:      GET /chat/messages/?q=quasar (count and the newest 50 matches)

HTTP goes over one keep-alive connection with ``Authorization: Token``. One JSON
line per size and case. ``--explain`` also prints, for each case run in this
process, every SELECT's execution time and how it reads the messages table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

ROOMS = 150
READER_ROOMS = 50
USERS = 20
MEMBERS_PER_ROOM = 10
BIG_ROOM_SHARE = 0.5
SEARCH_WORD = "quasar"
SEARCH_EVERY = 1000
BATCH = 100_000
REBUILD_INDEX_ABOVE = 200_000
SERVER_CORE, CLIENT_CORE = 0, 1
APPLICATION = "academia.asgi:application"
WS_LIMITS = ["--websocket-max-message-size", "1048576", "--websocket-max-frame-size", "1048576"]
TARGETS_MS = {"newest_page": 20, "deep_page": 20, "room_list": 20, "ready": 20, "search": 200}
COPY_SQL = (
    "COPY chat_chatmessage (room_id, sender_id, message_type, content, content_html, file,"
    " file_name, file_content_type, file_preview, thumbnail, is_edited, is_deleted,"
    " is_question, is_endorsed, reply_count, is_anonymous, created_at, updated_at) FROM STDIN"
)


# --- database ---------------------------------------------------------------------------


def bench_database_url(database: str | None) -> str:
    """The URL of the bench's own database on DATABASE_URL's server."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench/history.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    parts = urlsplit(url)
    name = database or f"{parts.path.lstrip('/') or 'academia'}_history"
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academia.settings")
    os.environ["DJANGO_DEBUG"] = "false"  # no query log growing in this process
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))  # here and the server
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "false"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


# --- fixture ----------------------------------------------------------------------------


class Fixture:
    """Users, rooms and memberships (small, by the ORM), created once per database."""

    def __init__(self) -> None:
        from django.contrib.auth import get_user_model
        from rest_framework.authtoken.models import Token

        from chat.models import ChatParticipant, ChatRoom

        user_model = get_user_model()
        if not user_model.objects.filter(username="reader").exists():
            users = user_model.objects.bulk_create(
                [user_model(username="reader", password="!")]
                + [user_model(username=f"member-{n:02d}", password="!") for n in range(USERS)]
            )
            rooms = ChatRoom.objects.bulk_create(
                [
                    ChatRoom(name=f"Room {n}", chat_type="private", created_by=users[1])
                    for n in range(ROOMS)
                ]
            )
            rng = random.Random(7)
            participants = []
            for index, room in enumerate(rooms):
                members = rng.sample(users[1:], MEMBERS_PER_ROOM)
                if index < READER_ROOMS:
                    members.append(users[0])
                participants += [ChatParticipant(room=room, user=user) for user in members]
            ChatParticipant.objects.bulk_create(participants)
            Token.objects.create(user=users[0])
        self.reader = user_model.objects.get(username="reader")
        self.token = Token.objects.get(user=self.reader).key
        self.room_ids = list(ChatRoom.objects.order_by("id").values_list("id", flat=True))
        self.big_room = self.room_ids[0]
        self.members: dict[int, list[int]] = {}
        for room_id, user_id in ChatParticipant.objects.values_list("room_id", "user_id"):
            self.members.setdefault(room_id, []).append(user_id)
        for user_ids in self.members.values():
            user_ids.sort()


def sentences(rng: random.Random, count: int = 100_000) -> list[str]:
    """A pool of plausible messages; one in SEARCH_EVERY mentions the search word."""
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "de", "pa", "zu", "re", "an"]
    words = sorted({"".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(8000)})
    pool = []
    for n in range(count):
        picked = rng.choices(words, k=rng.randint(4, 14))
        if n % SEARCH_EVERY == 0:
            picked[rng.randrange(len(picked))] = SEARCH_WORD
        pool.append(" ".join(picked))
    return pool


def copy_messages(fixture: Fixture, count: int, seed: int) -> None:
    """Append ``count`` messages with COPY, BATCH rows per transaction."""
    from django.db import connection, transaction

    rng = random.Random(seed)
    pool = sentences(rng)
    others = fixture.room_ids[1:]
    creator = {room_id: members[0] for room_id, members in fixture.members.items()}
    written = 0
    while written < count:
        size = min(BATCH, count - written)
        stamp = datetime.now(UTC).isoformat()
        lines = []
        for _ in range(size):
            room_id = fixture.big_room if rng.random() < BIG_ROOM_SHARE else rng.choice(others)
            roll = rng.random()
            if roll < 0.005:
                sender, kind, content = creator[room_id], "system", "Someone joined the room."
            else:
                sender, kind = rng.choice(fixture.members[room_id]), "text"
                content = "" if roll < 0.015 else rng.choice(pool)
            deleted = "t" if kind == "text" and not content else "f"
            html = f"<p>{content}</p>" if content else ""
            lines.append(
                f"{room_id}\t{sender}\t{kind}\t{content}\t{html}\t\t\t\t\t\tf\t{deleted}"
                f"\tf\tf\t0\tf\t{stamp}\t{stamp}\n"
            )
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.cursor.copy(COPY_SQL) as copy,
        ):
            copy.write("".join(lines))
        written += size


def load(fixture: Fixture, target: int) -> dict[str, Any]:
    """Grow the messages table to ``target`` rows; move markers, backfill counters."""
    from django.db import connection

    from chat.models import ChatMessage, ChatParticipant
    from chat.selectors import SEARCH_INDEX, SEARCH_INDEX_SQL
    from chat.services import counters

    present = ChatMessage.objects.count()
    started = time.perf_counter()
    missing = max(0, target - present)
    rebuild = missing > REBUILD_INDEX_ABOVE
    with connection.cursor() as cursor:
        # Loading millions of rows takes longer than a request may (DATABASE_STATEMENT_TIMEOUT).
        cursor.execute("SET statement_timeout = 0")
        if rebuild:
            cursor.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")
        copy_messages(fixture, missing, seed=target)
        if rebuild:
            cursor.execute("SET maintenance_work_mem = '256MB'")
            cursor.execute(SEARCH_INDEX_SQL)
    loaded = time.perf_counter() - started
    # Markers near the start of every room: the reader's at the 10th message, others' at the 20th.
    if not ChatParticipant.objects.filter(last_read_message__isnull=False).exists():
        for room_id in fixture.members:
            ids = list(
                ChatMessage.objects.filter(room_id=room_id).order_by("id").values_list("id")[:20]
            )
            if not ids:
                continue
            ChatParticipant.objects.filter(room_id=room_id).update(last_read_message=ids[-1][0])
            ChatParticipant.objects.filter(room_id=room_id, user=fixture.reader).update(
                last_read_message=ids[min(9, len(ids) - 1)][0]
            )
    started = time.perf_counter()
    counters.recount()
    recounted = time.perf_counter() - started
    with connection.cursor() as cursor:
        # What autovacuum does after a bulk insert: statistics and the visibility map.
        cursor.execute("VACUUM (ANALYZE) chat_chatmessage")
        cursor.execute("ANALYZE")
    return {
        "loaded_rows": missing,
        "load_s": round(loaded, 1),
        "recount_s": round(recounted, 1),
        "checkpointed": checkpoint(),
    }


def checkpoint() -> bool:
    """Write the load out now, as a database at rest has. The load's gigabyte of
    WAL starts a checkpoint that PostgreSQL spreads over minutes; the reads timed
    during it doubled their p99 at 2 M. Needs a superuser or ``pg_checkpoint``
    (False without: the figures then include that checkpoint's writes)."""
    from django.db import DatabaseError, connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError:
        return False
    return True


# --- server -----------------------------------------------------------------------------


def can_pin() -> bool:
    return hasattr(os, "sched_setaffinity") and {SERVER_CORE, CLIENT_CORE} <= os.sched_getaffinity(
        0
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_daphne(url: str, *, pin: bool, log: IO[bytes]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="academia.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_LOG_LEVEL="WARNING",
        # One client asks thousands of times a minute: the per-user throttles would refuse.
        CHAT_READ_THROTTLE_RATE="1000000/min",
        CHAT_WRITE_THROTTLE_RATE="1000000/min",
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "academia.serve",  # Daphne as make run starts it
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            *WS_LIMITS,
            APPLICATION,
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        preexec_fn=(lambda: os.sched_setaffinity(0, {SERVER_CORE})) if pin else None,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"Daphne exited during startup (see {log.name})")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1),
        ):
            return process, port
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"Daphne did not start (see {log.name})")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# --- measuring --------------------------------------------------------------------------


class Http:
    """GETs over one keep-alive connection, timed."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Token {token}", "Accept": "application/json"}

    def get(self, path: str) -> tuple[float, Any]:
        started = time.perf_counter()
        self.conn.request("GET", path, headers=self.headers)
        response = self.conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise SystemExit(f"GET {path}: {response.status} {body[:200]!r}")
        return elapsed, json.loads(body)


async def ready_times(port: int, token: str, room_id: int, count: int) -> list[float]:
    """Open the room socket ``count`` times, one after another: handshake to ready."""
    import websockets

    url = f"ws://127.0.0.1:{port}/ws/chat/{room_id}/"
    headers = {"Authorization": f"Token {token}"}
    times = []
    for _ in range(count):
        started = time.perf_counter()
        async with websockets.connect(url, additional_headers=headers) as socket_:
            while True:
                frame = json.loads(await socket_.recv())
                if frame.get("type") == "connection.ready":
                    break
            times.append(time.perf_counter() - started)
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(times: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(times) * 1000, 2),
        "p99_ms": round(percentile(times, 0.99) * 1000, 2),
        "max_ms": round(max(times) * 1000, 2),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    server: subprocess.Popen[bytes], port: int, fixture: Fixture, deep_before: int, repeat: int
) -> list[dict[str, Any]]:
    """Each case: warm up, then ``repeat`` timed requests; with the server's CPU
    time per request (less sensitive to a busy machine than wall time)."""
    http_ = Http(port, fixture.token)
    big = fixture.big_room
    cases = {
        "newest_page": f"/chat/rooms/{big}/messages/",
        "deep_page": f"/chat/rooms/{big}/messages/?before={deep_before}",
        "room_list": "/chat/rooms/",
        "search": f"/chat/messages/?q={SEARCH_WORD}",
    }
    results = []
    for case, path in cases.items():
        for _ in range(max(10, repeat // 10)):
            http_.get(path)
        cpu = cpu_seconds(server.pid)
        timed = [http_.get(path) for _ in range(repeat)]
        cpu = cpu_seconds(server.pid) - cpu
        body = timed[-1][1]
        facts: dict[str, Any] = {"path": path}
        if case == "room_list":
            rooms = body["results"]
            facts["rooms"] = len(rooms)
            facts["big_room_unread"] = next(r["unread_count"] for r in rooms if r["id"] == big)
        elif case == "search":
            facts["matches"] = body["count"]
        else:
            facts["page_messages"] = len(body["results"])
        facts["server_cpu_ms"] = round(cpu * 1000 / repeat, 2)
        results.append({"case": case, **facts, **summary([t for t, _ in timed])})
    asyncio.run(ready_times(port, fixture.token, big, max(5, repeat // 10)))
    cpu = cpu_seconds(server.pid)
    times = asyncio.run(ready_times(port, fixture.token, big, repeat))
    cpu = cpu_seconds(server.pid) - cpu
    results.append(
        {
            "case": "ready",
            "path": f"/ws/chat/{big}/",
            "server_cpu_ms": round(cpu * 1000 / repeat, 2),
            **summary(times),
        }
    )
    return results


def explain(fixture: Fixture, deep_before: int) -> None:
    """Print, for each case run in this process, every SELECT's execution time and
    the scans its plan uses (``--explain``)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from chat import selectors

    client = Client(HTTP_AUTHORIZATION=f"Token {fixture.token}")
    big = fixture.big_room
    cases: dict[str, Callable[[], Any]] = {
        "newest_page": lambda: client.get(f"/chat/rooms/{big}/messages/"),
        "deep_page": lambda: client.get(f"/chat/rooms/{big}/messages/?before={deep_before}"),
        "room_list": lambda: client.get("/chat/rooms/"),
        "ready (selector)": lambda: selectors.room_get_for_user(fixture.reader, big),
        "search": lambda: client.get(f"/chat/messages/?q={SEARCH_WORD}"),
    }
    for case, run in cases.items():
        with CaptureQueriesContext(connection) as captured:
            response = run()
        if getattr(response, "status_code", 200) != 200:
            raise SystemExit(f"{case}: HTTP {response.status_code}")
        print(f"--- {case}: {len(captured)} queries")
        for query in captured.captured_queries:
            if not query["sql"].lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE) " + query["sql"])
                lines = [row[0] for row in cursor.fetchall()]
            took = lines[-1].split(":")[-1].strip()
            scans = sorted(
                {
                    line.strip().lstrip("-> ").split("  (")[0]
                    for line in lines
                    if "Scan" in line and "chat_chatmessage" in line
                }
            )
            print(f"  {took:>10}  {'; '.join(scans) or '(no message table scan)'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,2000000", help="comma-separated row counts")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--database", help="bench database name (default <name>_history)")
    parser.add_argument("--reuse", action="store_true", help="keep the rows already loaded")
    parser.add_argument("--explain", action="store_true", help="print query plans too")
    parser.add_argument("--pin", action="store_true", help="server on core 0, client on core 1")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))

    url = bench_database_url(args.database)
    if not args.reuse:
        recreate_database(url)
    setup_django(url)
    from chat.models import ChatMessage

    fixture = Fixture()
    pin = args.pin and can_pin()
    if pin:
        os.sched_setaffinity(0, {CLIENT_CORE})
    log_path = BASE_DIR / "artefacts" / "bench-history-server.log"
    log_path.parent.mkdir(exist_ok=True)
    with log_path.open("ab") as log:
        for size in sizes:
            loading = load(fixture, size)
            in_room = ChatMessage.objects.filter(room_id=fixture.big_room)
            deep_before = in_room.order_by("id").values_list("id", flat=True)[100]
            common = {
                "bench": "history",
                "messages": ChatMessage.objects.count(),
                "messages_in_big_room": in_room.count(),
                "repeat": args.repeat,
                "client": "HTTP/1.1 keep-alive and WebSocket, one Daphne process (academia.serve)",
                "pinned": pin,
                **loading,
            }
            if args.explain:
                explain(fixture, deep_before)
            process, port = start_daphne(url, pin=pin, log=log)
            try:
                for result in measure(process, port, fixture, deep_before, args.repeat):
                    target = TARGETS_MS[result["case"]]
                    verdict = {"target_p99_ms": target, "ok": result["p99_ms"] < target}
                    print(json.dumps({**common, **result, **verdict}), flush=True)
            finally:
                stop(process)


if __name__ == "__main__":
    main()
