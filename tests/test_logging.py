"""Log lines carry time, level, logger and the request's or socket's context, as
text or as JSON lines (CHAT_LOG_FORMAT)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from academia import logs
from academia.logs import ContextFilter, JsonFormatter, TextFormatter
from chat.consumers import ChatConsumer
from chat.consumers.base import ClientFrame
from chat.tests import factories
from chat.tests.servers import daphne_command, free_port, launch
from chat.tests.ws import db, open_room, socket_settings, token_for  # noqa: F401
from tests.test_settings import ROOT, clean_env

ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00")


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines() if line.startswith("{")]

    def record(self, logger: str, message: str) -> dict[str, Any]:
        matches = [r for r in self.records() if r["logger"] == logger and r["message"] == message]
        assert len(matches) == 1, self.lines()
        return matches[0]


def capture(formatter: logging.Formatter) -> Iterator[Captured]:
    """A handler on the root logger as settings.LOGGING builds the console's."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield Captured(stream)
    finally:
        root.removeHandler(handler)


@pytest.fixture
def json_log() -> Iterator[Captured]:
    yield from capture(JsonFormatter())


@pytest.fixture
def text_log() -> Iterator[Captured]:
    yield from capture(TextFormatter())


def log_inside_me_view(monkeypatch: pytest.MonkeyPatch) -> None:
    """GET /accounts/me/ logs "me answered" while its view runs."""
    import accounts.api

    original = accounts.api.user_payload

    def logged(user: Any) -> dict[str, Any]:
        logging.getLogger("accounts.api").info("me answered")
        return original(user)

    monkeypatch.setattr(accounts.api, "user_payload", logged)


def test_json_line_of_a_token_request_has_its_request_id_and_user_id(
    alice: Any, json_log: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_inside_me_view(monkeypatch)
    client = Client(headers={"authorization": f"Token {token_for(alice)}"})

    response = client.get("/accounts/me/", headers={"x-request-id": "edge-7f3a.42"})

    assert response.status_code == 200
    assert response["X-Request-ID"] == "edge-7f3a.42"
    line = json_log.record("accounts.api", "me answered")
    assert line["level"] == "INFO"
    assert ISO_TIME.fullmatch(line["time"])
    offset = datetime.fromisoformat(line["time"]).utcoffset()
    assert offset is not None and offset.total_seconds() == 0
    assert line["request_id"] == "edge-7f3a.42"
    assert line["user_id"] == alice.pk
    assert line["room_id"] is None
    assert line["socket_id"] is None


def test_json_line_of_a_session_request_has_the_user_id(
    alice: Any, json_log: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_inside_me_view(monkeypatch)
    client = Client()
    client.force_login(alice)

    response = client.get("/accounts/me/")

    line = json_log.record("accounts.api", "me answered")
    assert line["user_id"] == alice.pk
    assert line["request_id"] == response["X-Request-ID"]


def test_django_request_warning_after_the_view_keeps_the_request_id_and_user(
    alice: Any, json_log: Captured
) -> None:
    client = Client(headers={"authorization": f"Token {token_for(alice)}"})

    response = client.get("/chat/rooms/987654/", headers={"x-request-id": "abc-123"})

    assert response.status_code == 404
    line = json_log.record("django.request", "Not Found: /chat/rooms/987654/")
    assert line["level"] == "WARNING"
    assert (line["request_id"], line["user_id"]) == ("abc-123", alice.pk)
    assert line["status_code"] == 404
    assert "request" not in line


def test_anonymous_request_has_a_request_id_and_no_user(json_log: Captured, db: None) -> None:
    response = Client().get("/accounts/me/")

    assert response.status_code == 401
    line = json_log.record("django.request", "Unauthorized: /accounts/me/")
    assert line["request_id"] == response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", line["request_id"])
    assert line["user_id"] is None


@pytest.mark.parametrize("incoming", ["", "has spaces", "x" * 129, "a\u00e9b", "a;b"])
def test_an_unlikely_request_id_is_replaced_by_a_new_one(incoming: str, db: None) -> None:
    response = Client().get("/healthz", headers={"x-request-id": incoming})

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_every_request_gets_its_own_id(db: None) -> None:
    client = Client()

    first, second = client.get("/healthz"), client.get("/healthz")

    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_context_does_not_outlive_the_request(
    alice: Any, json_log: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client(headers={"authorization": f"Token {token_for(alice)}"})
    client.get("/accounts/me/", headers={"x-request-id": "gone-after"})

    logging.getLogger("chat").warning("after the request")

    line = json_log.record("chat", "after the request")
    assert (line["request_id"], line["user_id"]) == (None, None)


def test_text_lines_have_time_level_logger_and_context(
    alice: Any, text_log: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_inside_me_view(monkeypatch)
    client = Client(headers={"authorization": f"Token {token_for(alice)}"})

    client.get("/accounts/me/", headers={"x-request-id": "text-1"})
    logging.getLogger("chat").warning("no context here")

    lines = text_log.lines()
    assert f"INFO accounts.api [request_id=text-1 user_id={alice.pk}] me answered" in "\n".join(
        lines
    )
    plain = next(line for line in lines if line.endswith("no context here"))
    time, level, logger, message = plain.split(" ", 3)
    assert ISO_TIME.fullmatch(time)
    assert (level, logger, message) == ("WARNING", "chat", "no context here")


@pytest.mark.django_db(transaction=True)
async def test_a_room_socket_logs_with_its_socket_id_room_id_and_user_id(
    alice: Any, json_log: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = await db(lambda: factories.make_room(alice, chat_type="public", name="Logs"))()

    async def failing(consumer: Any, frame: dict[str, Any]) -> None:
        raise RuntimeError("handler broke")

    monkeypatch.setitem(ChatConsumer.frames, "ping", ClientFrame(run=failing))
    socket = await open_room(alice, room)
    await socket.send({"type": "ping"})
    error = await socket.receive_type("error")
    await socket.close()

    assert error["code"] == "bad_request"
    line = json_log.record("chat.consumers.base", "frame failed")
    assert line["level"] == "ERROR"
    assert "RuntimeError: handler broke" in line["exc_info"]
    assert line["room_id"] == room.pk
    assert line["user_id"] == alice.pk
    assert isinstance(line["socket_id"], str) and line["socket_id"]
    assert line["request_id"] is None


def run_with(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_chat_log_format_json_makes_the_console_write_json_lines() -> None:
    result = run_with(
        "import logging; logging.getLogger('chat').warning('hello %s', 'world')",
        CHAT_LOG_FORMAT="json",
    )

    lines = [json.loads(line) for line in result.stderr.splitlines()]
    hello = next(line for line in lines if line["logger"] == "chat")
    assert hello["message"] == "hello world"
    assert hello["level"] == "WARNING"
    assert ISO_TIME.fullmatch(hello["time"])
    assert {"request_id", "user_id", "room_id", "socket_id"} <= set(hello)


def test_the_default_text_format_has_time_and_level() -> None:
    result = run_with("import logging; logging.getLogger('chat').warning('hello')")

    line = next(line for line in result.stderr.splitlines() if line.endswith(" chat hello"))
    time, level, _ = line.split(" ", 2)
    assert ISO_TIME.fullmatch(time)
    assert level == "WARNING"


def test_an_unknown_log_format_is_refused_at_start() -> None:
    result = run_with("", CHAT_LOG_FORMAT="xml")

    assert result.returncode == 1
    assert "CHAT_LOG_FORMAT must be text or json" in result.stderr


async def test_a_task_the_socket_starts_does_not_log_as_the_socket(json_log: Captured) -> None:
    async def socket_task() -> None:
        logs.bind_socket({"url_route": {"kwargs": {"room_id": 5}}}, socket_id="p.1", user_id=9)
        logging.getLogger("chat").warning("in the socket")
        await asyncio.to_thread(logging.getLogger("chat").warning, "in its database thread")
        await asyncio.get_running_loop().create_task(started())

    async def started() -> None:
        logging.getLogger("chat").warning("in a task it started")

    await asyncio.get_running_loop().create_task(socket_task())

    context = ("socket_id", "user_id", "room_id")
    assert [
        tuple(json_log.record("chat", m)[f] for f in context)
        for m in (
            "in the socket",
            "in its database thread",
            "in a task it started",
        )
    ] == [("p.1", 9, 5), ("p.1", 9, 5), (None, None, None)]


def test_daphnes_access_log_becomes_log_records(json_log: Captured) -> None:
    access = logs.AccessLog()

    access(
        "http",
        "complete",
        {
            "client": "198.51.100.7:5123",
            "method": "GET",
            "path": "/healthz",
            "status": 200,
            "size": 16,
        },
    )
    access("websocket", "connected", {"client": "198.51.100.7:5124", "path": "/ws/presence/"})
    access("websocket", "unknown", {"client": "198.51.100.7:5125", "path": "/ws/presence/"})

    lines = [r for r in json_log.records() if r["logger"] == "academia.access"]
    assert [line["message"] for line in lines] == [
        '198.51.100.7:5123 "GET /healthz" 200 16',
        '198.51.100.7:5124 "WSCONNECT /ws/presence/" - -',
    ]
    assert {key: lines[0][key] for key in ("level", "client", "method", "path", "status")} == {
        "level": "INFO",
        "client": "198.51.100.7:5123",
        "method": "GET",
        "path": "/healthz",
        "status": 200,
    }


def test_the_server_sends_its_default_access_log_through_logging(tmp_path: Path) -> None:
    from daphne.access import AccessLogGenerator

    from academia.serve import BoundedServer

    endpoints = ["tcp:port=0:interface=127.0.0.1"]  # not listened on: the server is not run
    to_stdout = BoundedServer(None, endpoints, action_logger=AccessLogGenerator(sys.stdout))
    with (tmp_path / "access.log").open("a") as stream:
        to_file = BoundedServer(None, endpoints, action_logger=AccessLogGenerator(stream))

    assert isinstance(to_stdout.action_logger, logs.AccessLog)
    assert isinstance(to_file.action_logger, AccessLogGenerator)  # --access-log FILE: as asked


@pytest.mark.integration
def test_a_server_process_with_json_logs_writes_nothing_but_json_lines(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(
        CHAT_LOG_FORMAT="json",
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        PYTHONUNBUFFERED="1",
    )
    server = launch(daphne_command(port), port, env)
    try:
        request = urllib.request.Request(
            f"{server.http}/no-such-page/", headers={"X-Request-ID": "probe-404"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.headers["X-Request-ID"] == "probe-404"
        healthy = urllib.request.Request(f"{server.http}/healthz")
        with urllib.request.urlopen(healthy, timeout=10) as answer:
            assigned = answer.headers["X-Request-ID"]
    finally:
        server.process.terminate()
        server.process.wait(timeout=30)
        output = server.output()
        server.stop()

    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    not_found = next(line for line in lines if line["logger"] == "django.request")
    assert (not_found["message"], not_found["request_id"]) == (
        "Not Found: /no-such-page/",
        "probe-404",
    )
    access = [line for line in lines if line["logger"] == "academia.access"]
    assert {(line["path"], line["status"]) for line in access} >= {("/no-such-page/", 404)}
    # The access line of each request carries the id its answer gave (a request that
    # logs nothing else, as /healthz, is still found by it).
    assert {line["path"]: line["request_id"] for line in access} == {
        "/no-such-page/": "probe-404",
        "/healthz": assigned,
    }
    assert all(ISO_TIME.fullmatch(line["time"]) and line["level"] for line in lines)
