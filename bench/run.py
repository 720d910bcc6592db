"""Load benchmark of the room sockets, side by side: one JSON line per run.

Every run starts a fresh server process, opens its sockets with the light
client of ``bench/wsclient.py`` and measures one shape. The servers:

- ``raw``: ``bench/raw_server.py``, a ``websockets`` broadcast server without a
  database (the Python ceiling);
- ``tutorial``: ``bench/peer_tutorial.py``, the Channels tutorial consumer under
  the same Daphne command line and channel layer as ours, without a database;
- ``ours``: Daphne and the whole application (PostgreSQL, Redis);
- ``ours-uvicorn``: the same application under uvicorn (fan-out shapes only,
  when uvicorn is installed; flagged ``"server": "ours-uvicorn"``).

The shapes (``--shape``, all by default):

- ``fanout-100``, ``fanout-500``: 1 room x 100 / 500 sockets, one sender at full
  speed with at most ``--window`` (4) unacknowledged messages: deliveries/s;
- ``writes``: 50 rooms x 10 sockets, 50 senders, window 4: messages/s;
- ``latency``: 1 room x 500 sockets at 20 messages/s: p99, lost, out of order;
- ``memory``: 2 000 idle sockets in 20 rooms (after one warm-up socket per room):
  growth of the server's RSS per socket;
- ``storm`` (ours only): 1 000 sockets of one room close, 20 messages are sent,
  and all 1 000 reconnect at once with ``?after_seq=``: time until every socket
  has the 20 missed messages in order, refused handshakes, and ``/healthz``
  probed every 50 ms meanwhile.

After the runs of a shape it prints a ratio line (``{"ratio": <shape>, ...}``)
with every server's figure, ours/tutorial, ours/raw, and whether ours meets the
target. Every line also goes to ``--out`` (``bench/results/latest.jsonl``), which
``bench/plot.py`` turns into a picture. Started servers are pinned to core 0 and
this client to core 1 when the machine has both. ``ours`` needs DATABASE_URL
(PostgreSQL) and REDIS_URL; ``tutorial`` needs REDIS_URL; ``raw`` needs neither.

    python bench/run.py                                   # everything (make bench)
    python bench/run.py --shape fanout-500 --server ours,tutorial
    python bench/run.py --server raw --rooms 1 --sockets 100 --seconds 10
    python bench/run.py --shape latency --rate 50
    python bench/run.py --url ws://127.0.0.1:8000 --server ours --shape fanout-100
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import json
import os
import resource
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench import load  # noqa: E402

RESULTS_DIR = BASE_DIR / "bench" / "results"
DEFAULT_OUT = RESULTS_DIR / "latest.jsonl"
SERVER_CORE = 0
CLIENT_CORE = 1
WS_LIMIT = "65536"
PEER_ROOM_BASE = 900_000  # room ids of the database-free peers, clear of real rooms
CLIENT_BOUND_CPU = 0.9
# Between two servers' runs: the load client collects what the last run left
# and the machine settles. Without it, a server measured after an overloaded
# peer (the tutorial at 1 x 500, seconds behind) showed twice its own p99.
SETTLE_SECONDS = 3.0
DEFAULT_WINDOW = 4
DEFAULT_LAYER = "channels_redis.pubsub.RedisPubSubChannelLayer"
SERVERS = ("raw", "tutorial", "ours", "ours-uvicorn")
FANOUT_SERVERS = SERVERS
PEERS = ("raw", "tutorial", "ours")


@dataclass(frozen=True)
class Shape:
    key: str  # what --shape names
    name: str  # what the lines say
    kind: str  # load | memory | storm
    rooms: int
    sockets: int
    mode: str = "window"
    rate: float = 0.0
    servers: tuple[str, ...] = PEERS
    metric: str = "deliveries_per_s"
    target: str = ""


SHAPES = [
    Shape(
        "fanout-100",
        "fanout-1x100",
        "load",
        1,
        100,
        servers=FANOUT_SERVERS,
        target="ours/tutorial >= 2",
    ),
    Shape(
        "fanout-500",
        "fanout-1x500",
        "load",
        1,
        500,
        servers=FANOUT_SERVERS,
        target="ours/tutorial >= 3",
    ),
    Shape(
        "writes",
        "writes-50x10",
        "load",
        50,
        10,
        metric="messages_per_s",
        target="ours/tutorial >= 0.5, ours p99 < 250 ms",
    ),
    Shape(
        "latency",
        "latency-1x500-20/s",
        "load",
        1,
        500,
        mode="rate",
        rate=20.0,
        metric="p99_ms",
        target="ours p99 < 100 ms, none lost, in order",
    ),
    Shape(
        "memory",
        "memory-2000",
        "memory",
        20,
        100,
        mode="idle",
        metric="rss_kib_per_socket",
        target="ours < 24 KiB per socket",
    ),
    Shape(
        "storm",
        "storm-1x1000",
        "storm",
        1,
        1000,
        mode="storm",
        servers=("ours",),
        metric="served_s",
        target="ours: all served in order within 5 s, none refused",
    ),
]
SHAPES_BY_KEY = {shape.key: shape for shape in SHAPES}


# --- servers ---------------------------------------------------------------------------


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


def uvicorn_installed() -> bool:
    return importlib.util.find_spec("uvicorn") is not None


def server_command(server: str, port: int) -> list[str]:
    daphne = [
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
    ]
    if server == "raw":
        return [sys.executable, str(BASE_DIR / "bench" / "raw_server.py"), "--port", str(port)]
    if server == "tutorial":
        return [*daphne, "bench.peer_tutorial:application"]
    if server == "ours":
        # The documented start command: Daphne with a body limit and a listen queue.
        return [sys.executable, "-m", "academia.serve", *daphne[3:], "academia.asgi:application"]
    if server == "ours-uvicorn":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws-max-size",
            WS_LIMIT,
            "--lifespan",
            "off",
            "--no-access-log",
            "--log-level",
            "warning",
            "academia.asgi:application",
        ]
    raise ValueError(server)


def server_loop(server: str) -> str:
    """The event loop of a started server: uvicorn takes uvloop when it is installed."""
    if server == "raw":
        return "asyncio"
    if server == "ours-uvicorn":
        return load.client_loop()
    return "twisted-asyncio"


BENCH_SECRET_KEY = secrets.token_urlsafe(50)


def server_env(server: str, layer: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if layer:
        env["CHAT_CHANNEL_LAYER_BACKEND"] = layer
    if server.startswith("ours"):
        env.update(
            DJANGO_SETTINGS_MODULE="academia.settings",
            CHAT_WS_SEND_RATE="1000000/1s",
            CHAT_WS_FRAME_RATE="1000000/1s",
            DJANGO_LOG_LEVEL="WARNING",
            DJANGO_DEBUG="false",
            DJANGO_SECURE_SSL_REDIRECT="false",
        )
        # Production settings refuse the development key.
        env.setdefault("DJANGO_SECRET_KEY", BENCH_SECRET_KEY)
    else:
        env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def start_server(
    server: str, layer: str | None, *, pin: bool, log: IO[bytes], port: int | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``server`` on ``port`` (else a free one) and wait for ``/healthz``; its
    stderr goes to ``log``."""
    port = port or free_port()
    log.write(f"\n=== {server} on port {port} at {time.strftime('%H:%M:%S')}\n".encode())
    log.flush()
    process = subprocess.Popen(
        server_command(server, port),
        cwd=BASE_DIR,
        env=server_env(server, layer),
        stdout=subprocess.DEVNULL,
        stderr=log,
        preexec_fn=pin_to_server_core if pin else None,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the {server} server exited during startup (see {log.name})")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1),
        ):
            return process, f"ws://127.0.0.1:{port}"
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the {server} server did not start (see {log.name})")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def raise_open_files_limit() -> None:
    """Thousands of sockets need as many descriptors, here and in the servers started here."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- fixtures --------------------------------------------------------------------------

_django_ready = False


def setup_django() -> None:
    """Django for the fixtures of ``ours`` (and a migrated database), once."""
    global _django_ready
    if _django_ready:
        return
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        raise SystemExit("ours needs DATABASE_URL (PostgreSQL) and REDIS_URL (Redis)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academia.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    _django_ready = True


def ours_fixture(rooms: int, sockets: int) -> list[load.Room]:
    """Fresh users and tokens (in bulk) and public rooms; each room's creator sends."""
    setup_django()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from chat import services

    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    user_model = get_user_model()
    user_model.objects.bulk_create(
        [
            user_model(username=f"{prefix}-{number:05d}", password="!")
            for number in range(rooms * sockets)
        ],
        batch_size=1000,
    )
    users = list(user_model.objects.filter(username__startswith=f"{prefix}-").order_by("username"))
    tokens = Token.objects.bulk_create(
        [Token(user=user, key=Token.generate_key()) for user in users], batch_size=1000
    )
    result = []
    for number in range(rooms):
        members = users[number * sockets : (number + 1) * sockets]
        room = services.room_create(
            actor=members[0], name=f"{prefix} room {number}", chat_type="public"
        )
        keys: list[str | None] = [
            token.key for token in tokens[number * sockets : (number + 1) * sockets]
        ]
        result.append(load.Room(room_id=room.pk, tokens=keys))
    return result


def peer_fixture(rooms: int, sockets: int) -> list[load.Room]:
    """The peers keep nothing: room ids and placeholder tokens (sent, and ignored)."""
    base = PEER_ROOM_BASE + int(time.time()) % 50_000 * 10
    return [
        load.Room(room_id=base + number, tokens=[f"peer{number}x{n}" for n in range(sockets)])
        for number in range(rooms)
    ]


# --- runs ------------------------------------------------------------------------------


@dataclass
class Options:
    seconds: float
    window: int
    layer: str | None
    url: str | None
    pin: bool


def run_once(shape: Shape, server: str, options: Options, log: IO[bytes]) -> dict[str, Any]:
    """One shape against one fresh server process (a backlog never slows the next run)."""
    sockets = shape.sockets + (1 if shape.kind == "memory" else 0)
    sockets += 1 if shape.kind == "storm" else 0
    if server.startswith("ours"):
        fixture = ours_fixture(shape.rooms, sockets)
    else:
        fixture = peer_fixture(shape.rooms, sockets)
    process = None
    base = options.url
    if base is None:
        process, base = start_server(server, options.layer, pin=options.pin, log=log)
    target = load.Target(
        name=server,
        base=base.rstrip("/"),
        pid=process.pid if process else None,
        numbered=server != "tutorial",
    )
    started = time.perf_counter()
    try:
        if shape.kind == "memory":
            result = load.run(lambda: load.run_memory(target, fixture))
        elif shape.kind == "storm":

            def restart() -> None:
                nonlocal process
                assert process is not None
                stop_server(process)
                process, _ = start_server(
                    server,
                    options.layer,
                    pin=options.pin,
                    log=log,
                    port=int(base.rsplit(":", 1)[1]),
                )
                target.pid = process.pid

            result = load.run(
                lambda: load.run_storm(
                    target, fixture[0], restart=restart if process is not None else None
                )
            )
        else:
            result = load.run(
                lambda: load.run_load(
                    target,
                    fixture,
                    mode=shape.mode,
                    seconds=options.seconds,
                    window=options.window,
                    rate=shape.rate,
                )
            )
    finally:
        if process is not None:
            stop_server(process)
    client_cpu = result.get("client_cpu")
    return {
        "shape": shape.name,
        "server": server,
        **result,
        # A figure measured with this client at (nearly) a whole core is a lower bound.
        "client_bound": client_cpu is not None and client_cpu >= CLIENT_BOUND_CPU,
        "run_s": round(time.perf_counter() - started, 1),
        "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "layer": (options.layer or os.environ.get("CHAT_CHANNEL_LAYER_BACKEND", DEFAULT_LAYER))
        if server != "raw"
        else None,
        "client_loop": load.client_loop(),
        "server_loop": server_loop(server),
        "pinned": options.pin,
    }


def figure(line: dict[str, Any], metric: str) -> float | None:
    if metric == "p99_ms":
        return (line.get("latency_ms") or {}).get("p99")
    return line.get(metric)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def ratio_line(shape: Shape, lines: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every server's figure of one shape, ours against the peers, and the target."""
    values = {server: figure(line, shape.metric) for server, line in lines.items()}
    summary: dict[str, Any] = {"ratio": shape.name, "metric": shape.metric, "values": values}
    for ours in ("ours", "ours-uvicorn"):
        if ours not in values:
            continue
        for peer in ("tutorial", "raw"):
            if peer in values:
                summary[f"{ours}/{peer}"] = ratio(values[ours], values[peer])
    if shape.kind == "load":
        if shape.metric != "deliveries_per_s":
            summary["deliveries_per_s"] = {s: line["deliveries_per_s"] for s, line in lines.items()}
        if shape.metric != "p99_ms":
            summary["p99_ms"] = {s: line["latency_ms"]["p99"] for s, line in lines.items()}
        summary["lost"] = {s: line["lost"] for s, line in lines.items()}
        summary["out_of_order"] = {s: line["out_of_order"] for s, line in lines.items()}
    summary["target"] = shape.target
    summary["met"] = target_met(shape, lines, summary)
    return summary


def target_met(shape: Shape, lines: dict[str, dict[str, Any]], summary: dict[str, Any]) -> Any:
    """Whether ours (Daphne) meets the shape's target; None when it cannot be told."""
    ours = lines.get("ours")
    if ours is None or not shape.target:
        return None
    versus_tutorial = summary.get("ours/tutorial")
    p99 = (ours.get("latency_ms") or {}).get("p99")
    if shape.key == "fanout-100":
        return None if versus_tutorial is None else versus_tutorial >= 2
    if shape.key == "fanout-500":
        return None if versus_tutorial is None else versus_tutorial >= 3
    if shape.key == "writes":
        if versus_tutorial is None or p99 is None:
            return None
        return versus_tutorial >= 0.5 and p99 < 250
    if shape.key == "latency":
        return p99 is not None and p99 < 100 and ours["lost"] == 0 and ours["out_of_order"] == 0
    if shape.key == "memory":
        per_socket = ours.get("rss_kib_per_socket")
        return None if per_socket is None else per_socket < 24
    if shape.key == "storm":
        served = ours.get("served_s")
        return (
            served is not None
            and served <= 5
            and ours["handshakes_refused"] == 0
            and ours["out_of_order_sockets"] == 0
            and ours["duplicates"] == 0
        )
    return None


def choose_shapes(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[Shape]:
    """The shapes asked for; one changed by an option gets a name of its own and no target."""
    keys = [key for part in args.shape for key in part.split(",") if key] if args.shape else []
    unknown = [key for key in keys if key not in SHAPES_BY_KEY and key != "all"]
    if unknown:
        parser.error(f"unknown shape {unknown[0]!r}: choose from {', '.join(SHAPES_BY_KEY)}, all")
    if not keys and (args.rooms or args.sockets):
        shapes = [replace(SHAPES_BY_KEY["fanout-100"], key="custom", servers=SERVERS)]
    elif not keys or "all" in keys:
        shapes = list(SHAPES)
    else:
        shapes = [SHAPES_BY_KEY[key] for key in keys]
    chosen = []
    for shape in shapes:
        changes: dict[str, Any] = {}
        if args.rooms:
            changes["rooms"] = args.rooms
        if args.sockets:
            changes["sockets"] = args.sockets
        if shape.kind == "load":
            if args.mode:
                changes["mode"] = args.mode
                if args.mode == "rate" and not shape.rate:
                    changes["rate"] = 10.0
            if args.rate is not None:
                changes["rate"] = args.rate
            if args.window != DEFAULT_WINDOW:
                changes["window"] = args.window
        if changes or shape.key == "custom":
            window = changes.pop("window", DEFAULT_WINDOW)
            shape = replace(shape, **changes, target="")
            name = f"{shape.key}-{shape.rooms}x{shape.sockets}"
            if shape.kind == "load":
                name += f"-{shape.rate:g}/s" if shape.mode == "rate" else f"-window{window}"
            shape = replace(shape, name=name)
        chosen.append(shape)
    return chosen


def choose_servers(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[str] | None:
    if not args.server or args.server == "all":
        return None
    names = [name for name in args.server.split(",") if name]
    for name in names:
        if name not in SERVERS:
            parser.error(f"unknown server {name!r}: choose from {', '.join(SERVERS)}, all")
    return names


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--shape",
        action="append",
        help=f"shape(s) to run, comma separated or repeated: {', '.join(SHAPES_BY_KEY)}, all",
    )
    parser.add_argument(
        "--server", help=f"server(s), comma separated: {', '.join(SERVERS)}, all (default)"
    )
    parser.add_argument("--rooms", type=int, help="rooms (overrides the shape's)")
    parser.add_argument("--sockets", type=int, help="sockets per room (overrides the shape's)")
    parser.add_argument("--mode", choices=["window", "rate"], help="load shapes: sending mode")
    parser.add_argument("--rate", type=float, help="messages/s per room in rate mode")
    parser.add_argument(
        "--window", type=int, default=DEFAULT_WINDOW, help="unacknowledged messages (4)"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="sending time per run (5)")
    parser.add_argument("--layer", help="CHAT_CHANNEL_LAYER_BACKEND for ours and the tutorial")
    parser.add_argument("--url", help="ws://host:port of a running server (one --server)")
    parser.add_argument("--no-uvicorn", action="store_true", help="skip ours-uvicorn")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON lines file")
    args = parser.parse_args()

    shapes = choose_shapes(args, parser)
    wanted = choose_servers(args, parser)
    if args.url and (wanted is None or len(wanted) != 1):
        parser.error("--url measures one running server: name it with --server")
    plan: list[tuple[Shape, list[str]]] = []
    for shape in shapes:
        servers = [s for s in shape.servers if wanted is None or s in wanted]
        if "ours-uvicorn" in servers and (args.no_uvicorn or not uvicorn_installed()):
            servers.remove("ours-uvicorn")
        if servers:
            plan.append((shape, servers))
    if not plan:
        parser.error("nothing to run: no chosen server takes part in the chosen shapes")
    if any(s.startswith("ours") for _, servers in plan for s in servers):
        setup_django()
    if any("tutorial" in servers for _, servers in plan) and not os.environ.get("REDIS_URL"):
        raise SystemExit("the tutorial peer needs REDIS_URL (Redis)")
    raise_open_files_limit()
    # Decided before this process moves to its own core: the servers it starts
    # inherit its affinity until they move to theirs.
    pin = args.url is None and can_pin()
    if pin:
        os.sched_setaffinity(0, {CLIENT_CORE})
    options = Options(
        seconds=args.seconds, window=args.window, layer=args.layer, url=args.url, pin=pin
    )
    RESULTS_DIR.mkdir(exist_ok=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with (
        args.out.open("w") as out,
        (RESULTS_DIR / "servers.log").open("wb") as log,
    ):

        def emit(line: dict[str, Any]) -> None:
            text = json.dumps(line)
            print(text, flush=True)
            out.write(text + "\n")
            out.flush()

        for shape, servers in plan:
            lines = {}
            for server in servers:
                gc.collect()
                time.sleep(SETTLE_SECONDS)
                lines[server] = run_once(shape, server, options, log)
                emit(lines[server])
            if len(lines) > 1 or shape.kind == "storm":
                emit(ratio_line(shape, lines))


if __name__ == "__main__":
    main()
