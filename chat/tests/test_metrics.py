"""``/metrics``: off without CHAT_METRICS_TOKEN, a bearer token otherwise, and the
values it reports, read back through Prometheus' own parser; several processes
adding up in one PROMETHEUS_MULTIPROC_DIR; the shipped Grafana dashboard."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import AsyncClient, Client
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.authtoken.models import Token

from academia import metrics
from chat import events
from chat.tests import factories
from chat.tests.servers import Client as SocketClient
from chat.tests.servers import (
    Server,
    free_port,
    redis_url,
    services_unavailable,
    start_server,
)
from chat.tests.test_multiprocess import wait_for_server_sessions_to_end
from chat.tests.ws import db, open_presence, open_room, socket_settings  # noqa: F401
from tests.deploy_support import (
    DAPHNE_UNIT,
    NGINX_TEMPLATE,
    nginx_binary,
    start_daphne,
    start_nginx,
    unit_directives,
)

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "academia-chat.json"
TOKEN = "scrape-me-0123456789"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def metrics_token(settings: Any) -> str:
    settings.CHAT_METRICS_TOKEN = TOKEN
    return TOKEN


@pytest.fixture
def room(alice: Any, bob: Any) -> Any:
    return factories.make_room(alice, chat_type="private", name="Metrics", members=[bob])


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape() -> Samples:
    answer = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answer.status_code == 200, answer.content
    return parse(answer.content.decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


# --- access ------------------------------------------------------------------------------


def test_metrics_are_not_found_without_a_token(settings: Any, client: Client) -> None:
    settings.CHAT_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Token {TOKEN}", f"Basic {TOKEN}", "Bearer", f"Bearer {TOKEN}x"],
)
def test_metrics_refuse_a_missing_or_wrong_bearer_token(
    metrics_token: str, client: Client, authorization: str | None
) -> None:
    headers: dict[str, Any] = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    answer = client.get("/metrics", **headers)
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"].startswith("Bearer")
    assert b"academia_" not in answer.content


def test_metrics_answer_the_exposition_with_the_token(metrics_token: str, client: Client) -> None:
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"bearer {TOKEN}")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain")
    assert "no-cache" in answer["Cache-Control"] or "max-age=0" in answer["Cache-Control"]
    names = {name for name, _ in parse(answer.content.decode())}
    assert {
        "academia_sockets_open",
        "academia_socket_frames_received_total",
        "academia_socket_frames_sent_total",
        "academia_send_latency_seconds_count",
        "academia_broadcast_failures_total",
        "academia_gap_fills_total",
        "academia_resyncs_total",
        "academia_replay_size_events_count",
        "academia_db_query_duration_seconds_sum",
    } <= names
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


# --- HTTP and the database -------------------------------------------------------------------


def test_a_request_is_timed_by_its_view_with_its_database_time(
    metrics_token: str, alice: Any, room: Any
) -> None:
    token = Token.objects.create(user=alice).key
    labels = {"view": "chat-room-list", "method": "GET", "status": "2xx"}
    before = scrape()
    answer = Client().get("/chat/rooms/", HTTP_AUTHORIZATION=f"Token {token}")
    assert answer.status_code == 200
    after = scrape()
    name = "academia_http_request_duration_seconds_count"
    assert value(after, name, **labels) == value(before, name, **labels) + 1
    assert value(after, "academia_http_request_duration_seconds_sum", **labels) > value(
        before, "academia_http_request_duration_seconds_sum", **labels
    )
    queries = "academia_db_query_duration_seconds_count"
    assert value(after, queries, origin="http") > value(before, queries, origin="http")
    assert value(after, "academia_db_query_duration_seconds_sum", origin="http") > value(
        before, "academia_db_query_duration_seconds_sum", origin="http"
    )


async def test_database_time_is_measured_under_asgi_too(
    metrics_token: str, alice: Any, room: Any
) -> None:
    token = await db(lambda: Token.objects.create(user=alice).key)()
    before = await db(scrape)()
    answer = await AsyncClient().get(
        f"/chat/rooms/{room.pk}/", headers={"Authorization": f"Token {token}"}
    )
    # The view's thread keeps its connection (the test client never closes it).
    await sync_to_async(connections.close_all)()
    assert answer.status_code == 200
    after = await db(scrape)()
    queries = "academia_db_query_duration_seconds_count"
    assert value(after, queries, origin="http") > value(before, queries, origin="http")
    labels = {"view": "chat-room-detail", "method": "GET", "status": "2xx"}
    name = "academia_http_request_duration_seconds_count"
    assert value(after, name, **labels) == value(before, name, **labels) + 1


def test_an_unknown_path_is_one_label_not_one_per_path(metrics_token: str, client: Client) -> None:
    for path in ("/chat/nowhere-1/", "/chat/nowhere-2/"):
        client.get(path)
    samples = scrape()
    views = {
        dict(labels)["view"]
        for name, labels in samples
        if name == "academia_http_request_duration_seconds_count"
    }
    assert not any("nowhere" in view for view in views)
    assert "unmatched" in views


# --- sockets -------------------------------------------------------------------------------


async def test_open_sockets_go_up_on_connect_and_down_on_close(
    metrics_token: str, alice: Any, bob: Any, room: Any
) -> None:
    before = await db(scrape)()
    chat = await open_room(alice, room)
    presence = await open_presence(bob)
    during = await db(scrape)()
    assert value(during, "academia_sockets_open", kind="chat") == (
        value(before, "academia_sockets_open", kind="chat") + 1
    )
    assert value(during, "academia_sockets_open", kind="presence") == (
        value(before, "academia_sockets_open", kind="presence") + 1
    )
    await chat.close()
    await presence.close()
    after = await db(scrape)()
    for kind in ("chat", "presence"):
        assert value(after, "academia_sockets_open", kind=kind) == value(
            before, "academia_sockets_open", kind=kind
        )


async def test_a_sent_message_counts_frames_latency_and_socket_database_time(
    metrics_token: str, alice: Any, bob: Any, room: Any
) -> None:
    a = await open_room(alice, room)
    b = await open_room(bob, room)
    before = await db(scrape)()
    await a.send({"type": "message.send", "client_id": "m-1", "content": "counted"})
    created = await a.receive_type("message.created")
    await b.receive_type("message.created")
    await a.send({"type": "no.such.frame"})
    assert (await a.receive_type("error"))["code"] == "bad_request"
    # A reaction waits for the socket's sends to be answered, so the writer is done.
    await a.send({"type": "reaction.add", "message_id": created["message"]["id"], "emoji": "👍"})
    await a.receive_type("reaction.added")
    after = await db(scrape)()

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    received = "academia_socket_frames_received_total"
    assert grew(received, kind="chat", type="message.send") == 1
    assert grew(received, kind="chat", type="reaction.add") == 1
    assert grew(received, kind="chat", type="other") == 1
    sent = "academia_socket_frames_sent_total"
    assert grew(sent, type="message.created") == 2  # the sender's and bob's socket
    assert grew(sent, type="reaction.added") == 2
    assert grew(sent, type="error") == 1
    assert grew("academia_send_latency_seconds_count") == 1
    assert grew("academia_send_latency_seconds_sum") > 0
    assert grew("academia_db_query_duration_seconds_count", origin="socket") > 0
    assert grew("academia_db_query_duration_seconds_sum", origin="socket") > 0
    await a.close()
    await b.close()


async def test_replays_and_resyncs_are_counted(
    metrics_token: str, alice: Any, bob: Any, room: Any
) -> None:
    for number in range(3):
        await db(factories.make_message)(alice, room, f"r-{number}")
    first = await open_room(bob, room)
    last = first.ready["last_seq"]
    await first.close()
    before = await db(scrape)()
    resumed = await open_room(bob, room, after_seq=last - 2)
    assert [(await resumed.receive())["seq"] for _ in range(2)] == [last - 1, last]
    beyond = await open_room(bob, room, after_seq=last + 50)
    assert await beyond.receive() == {"type": "resync.required"}
    after = await db(scrape)()
    count, total = "academia_replay_size_events_count", "academia_replay_size_events_sum"
    assert value(after, count) == value(before, count) + 1
    assert value(after, total) == value(before, total) + 2
    resyncs = "academia_resyncs_total"
    assert value(after, resyncs, reason="bad_after_seq") == (
        value(before, resyncs, reason="bad_after_seq") + 1
    )
    for socket in (resumed, beyond):
        await socket.close()


async def test_a_gap_filled_from_the_log_is_counted(
    monkeypatch: pytest.MonkeyPatch, metrics_token: str, alice: Any, bob: Any, room: Any
) -> None:
    b = await open_room(bob, room)
    start = b.ready["last_seq"]
    real_send = events.send

    def lossy_send(group: str, message: dict[str, Any]) -> None:
        if message.get("seq") != start + 1:
            real_send(group, message)

    monkeypatch.setattr(events, "send", lossy_send)
    before = await db(scrape)()
    await db(factories.make_message)(alice, room, "lost on the way")
    await db(factories.make_message)(alice, room, "arrives")
    seqs = [(await b.receive_type("message.created"))["seq"] for _ in range(2)]
    assert seqs == [start + 1, start + 2]
    after = await db(scrape)()
    assert value(after, "academia_gap_fills_total") == value(before, "academia_gap_fills_total") + 1
    assert value(after, "academia_gap_fill_events_total") >= (
        value(before, "academia_gap_fill_events_total") + 1
    )
    await b.close()


def test_a_failed_broadcast_is_counted(monkeypatch: pytest.MonkeyPatch, metrics_token: str) -> None:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def refuse(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("the layer is down")

    monkeypatch.setattr(layer, "group_send", refuse)
    name = "academia_broadcast_failures_total"
    before = value(scrape(), name, stage="layer")
    events.send("room.1", {"type": "room.ephemeral", "room_id": 1, "text": "{}"})
    assert value(scrape(), name, stage="layer") == before + 1


def test_hooks_never_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def inc(self, amount: float = 1) -> None:
            raise OSError("the metrics directory is gone")

    monkeypatch.setitem(metrics._frames_sent, "pong", Broken())
    monkeypatch.setitem(metrics._sockets_open, "chat", Broken())
    metrics.frame_out('{"type":"pong"}')
    metrics.frames_out('{"type":"pong"}', 10)
    metrics.socket_opened({"path": "/ws/chat/1/"})
    metrics.frame_in({"path": "/ws/chat/1/"}, ["not", "a", "string"])  # type: ignore[arg-type]


def test_unknown_frame_types_collapse_into_other(metrics_token: str) -> None:
    before = scrape()
    for frame_type in ("x.1", "x.2", "message.send"):
        metrics.frame_in({"path": "/ws/presence/"}, frame_type)
    metrics.frame_out('{"type":"made.up"}')
    metrics.frame_out("not json at all")
    after = scrape()
    received = "academia_socket_frames_received_total"
    assert value(after, received, kind="presence", type="other") == (
        value(before, received, kind="presence", type="other") + 3
    )
    sent = "academia_socket_frames_sent_total"
    assert value(after, sent, type="other") == value(before, sent, type="other") + 2
    assert not any(dict(labels).get("type", "").startswith("x.") for _, labels in after)


# --- the dashboard ----------------------------------------------------------------------------


def dashboard_metric_names() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    assert exprs
    return {name for expr in exprs for name in re.findall(r"\bacademia_[a-z_]+\b", expr)}


def test_every_metric_the_dashboard_queries_is_exported(
    metrics_token: str, alice: Any, client: Client
) -> None:
    token = Token.objects.create(user=alice).key
    client.get("/chat/rooms/", HTTP_AUTHORIZATION=f"Token {token}")  # an HTTP sample
    exported = {name for name, _ in scrape()}
    names = dashboard_metric_names()
    assert names, "the dashboard queries no academia_ metric"
    assert names - exported == set()


def test_the_dashboard_is_a_grafana_dashboard() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["title"] and dashboard["uid"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"]["type"] == "prometheus"
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        assert all(target["refId"] for target in panel["targets"])


def test_the_site_lets_only_this_host_and_listed_addresses_read_metrics() -> None:
    site = NGINX_TEMPLATE.read_text()
    block = site.split("location = /metrics {", 1)[1].split("\n    }", 1)[0]
    rules = [line.strip() for line in block.strip().splitlines() if line.strip()]
    assert rules[:4] == [
        "include /etc/nginx/academia.d/*.allow;",
        "allow 127.0.0.1;",
        "allow ::1;",
        "deny all;",
    ]
    assert "proxy_pass http://academia_daphne;" in rules


def test_the_units_instances_share_one_directory_kept_across_restarts() -> None:
    unit = unit_directives(DAPHNE_UNIT)
    assert "PROMETHEUS_MULTIPROC_DIR=/run/academia/metrics" in unit["Environment"]
    assert unit["RuntimeDirectory"] == ["academia/metrics"]
    assert unit["RuntimeDirectoryPreserve"] == ["yes"]


@pytest.mark.integration
def test_through_the_site_only_this_host_reads_metrics(tmp_path: Path) -> None:
    """nginx with the shipped site in front of one server: /metrics answers a
    client on loopback's first address, and refuses one on another address."""
    if not nginx_binary().is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed")
        pytest.skip("nginx is not installed")
    env = {
        key: val
        for key, val in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR"}
    }
    env.update(
        SQLITE_PATH=str(tmp_path / "unused.sqlite3"),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_LOG_LEVEL="WARNING",
        CHAT_METRICS_TOKEN=TOKEN,
    )
    server = start_daphne(free_port(), env)
    nginx = None
    try:
        port = free_port()
        nginx = start_nginx(
            tmp_path / "nginx",
            port,
            {
                "ACADEMIA_LISTEN": f"127.0.0.1:{port}",
                "ACADEMIA_SERVER_NAME": "localhost",
                "ACADEMIA_UPSTREAM_SERVERS": f"server 127.0.0.1:{server.port} max_fails=0;",
                "ACADEMIA_STATIC_ROOT": str(ROOT / "static"),
                "ACADEMIA_MEDIA_ROOT": str(tmp_path),
                "ACADEMIA_FORWARDED_PROTO": "$scheme",
            },
        )

        def status_from(source: str) -> int:
            connection = http.client.HTTPConnection(
                "127.0.0.1", port, timeout=10, source_address=(source, 0)
            )
            try:
                connection.request(
                    "GET",
                    "/metrics",
                    headers={"Host": "localhost", "Authorization": f"Bearer {TOKEN}"},
                )
                return connection.getresponse().status
            finally:
                connection.close()

        assert status_from("127.0.0.1") == 200
        assert status_from("127.0.0.2") == 403  # nginx, before the app sees it
    finally:
        if nginx is not None:
            nginx.stop()
        server.stop()


# --- several processes ----------------------------------------------------------------------

WRITER = """
import sys
import django
django.setup()
from academia import metrics
assert metrics.MULTIPROCESS
for _ in range(int(sys.argv[1])):
    metrics.frame_in({"path": "/ws/chat/1/"}, "message.send")
metrics.socket_opened({"path": "/ws/chat/1/"})
print("ready", flush=True)
if sys.argv[2] == "stay":
    sys.stdin.read()
"""

READER = f"""
import django
django.setup()
from django.test import Client
answer = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer {TOKEN}")
assert answer.status_code == 200, answer.status_code
print(answer.content.decode())
"""


def process_env(directory: Path) -> dict[str, str]:
    env = {key: val for key, val in os.environ.items() if not key.startswith("CHAT_")}
    env.update(
        DJANGO_SETTINGS_MODULE="academia.settings",
        PROMETHEUS_MULTIPROC_DIR=str(directory),
        CHAT_METRICS_TOKEN=TOKEN,
        DJANGO_LOG_LEVEL="WARNING",
    )
    return env


def start_writer(directory: Path, frames: int, stay: bool) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(frames), "stay" if stay else "exit"],
        cwd=ROOT,
        env=process_env(directory),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 60)
    assert ready and process.stdout.readline().strip() == "ready"
    return process


def read_directory(directory: Path) -> Samples:
    result = subprocess.run(
        [sys.executable, "-c", READER],
        cwd=ROOT,
        env=process_env(directory),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return parse(result.stdout)


@pytest.fixture
def stopped() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_processes_sharing_a_directory_add_up_and_dead_ones_stop_counting_sockets(
    tmp_path: Path, stopped: list[subprocess.Popen[str]]
) -> None:
    received = ("academia_socket_frames_received_total", {"kind": "chat", "type": "message.send"})
    first = start_writer(tmp_path, 3, stay=False)
    stopped.append(first)
    assert first.wait(timeout=30) == 0  # exited, marking itself dead
    second = start_writer(tmp_path, 4, stay=True)
    stopped.append(second)
    both = read_directory(tmp_path)
    assert value(both, received[0], **received[1]) == 7
    assert value(both, "academia_sockets_open", kind="chat") == 1  # the second, still alive

    second.send_signal(signal.SIGKILL)  # no exit handler: the next process sweeps it
    second.wait(timeout=10)
    after = read_directory(tmp_path)
    assert value(after, received[0], **received[1]) == 7  # counters outlive their process
    assert value(after, "academia_sockets_open", kind="chat") == 0


def test_an_unusable_directory_leaves_the_process_its_own_metrics(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    # The writer, then a scrape in the same process (the reader without its setup).
    code = WRITER.replace("assert metrics.MULTIPROCESS", "assert not metrics.MULTIPROCESS")
    code += READER.replace("import django\ndjango.setup()", "")
    result = subprocess.run(
        [sys.executable, "-c", code, "2", "exit"],
        cwd=ROOT,
        env=process_env(not_a_directory),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "is not usable" in result.stderr
    samples = parse(result.stdout.split("ready", 1)[1])
    assert value(samples, "academia_sockets_open", kind="chat") == 1
    assert (
        value(
            samples,
            "academia_socket_frames_received_total",
            kind="chat",
            type="message.send",
        )
        == 2
    )


# --- two real servers -------------------------------------------------------------------------


@pytest.fixture
def two_servers(transactional_db: None, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    reason = services_unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "CHAT_METRICS_TOKEN": TOKEN}
    first = start_server(redis_url(), env)
    try:
        second = start_server(redis_url(), env)
    except Exception:
        first.stop()
        raise
    yield first, second
    for server in (first, second):
        server.stop()
    wait_for_server_sessions_to_end()
    connections.close_all()


def scrape_server(server: Server) -> Samples:
    import urllib.request

    request = urllib.request.Request(
        f"{server.http}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return parse(answer.read().decode())


@pytest.mark.integration
async def test_either_server_reports_both_and_a_stopped_one_leaves_the_socket_count(
    two_servers: tuple[Server, Server], alice: Any, bob: Any, room: Any
) -> None:
    one, two = two_servers
    tokens = {
        user.pk: await db(lambda user=user: Token.objects.get_or_create(user=user)[0].key)()
        for user in (alice, bob)
    }
    a = await SocketClient(f"{one.ws}/ws/chat/{room.pk}/", tokens[alice.pk]).open()
    b = await SocketClient(f"{two.ws}/ws/chat/{room.pk}/", tokens[bob.pk]).open()
    for client in (a, b):
        await client.receive_type("connection.ready")
    await a.send({"type": "message.send", "client_id": "two-1", "content": "across"})
    for client in (a, b):
        await client.receive_type("message.created")
    # Bob's socket's first ping shows his server is past its delivery too.
    await b.send({"type": "ping"})
    await b.receive_type("pong")

    for server in (one, two):
        samples = await asyncio.to_thread(scrape_server, server)
        assert value(samples, "academia_sockets_open", kind="chat") == 2
        assert (
            value(
                samples,
                "academia_socket_frames_received_total",
                kind="chat",
                type="message.send",
            )
            == 1
        )
        assert value(samples, "academia_socket_frames_sent_total", type="message.created") == 2
        assert value(samples, "academia_send_latency_seconds_count") == 1

    await asyncio.to_thread(two.stop)  # SIGTERM: closes bob's socket, marks itself dead
    samples = await asyncio.to_thread(scrape_server, one)
    assert value(samples, "academia_sockets_open", kind="chat") == 1
    for client in (a, b):
        await client.close()
    await db(connections.close_all)()
