"""The deployment kit for real: Debian's nginx with the shipped site in front of two
Daphne processes started as the systemd unit starts them, on the test database
and one Redis.

Through the proxy: WebSockets of one room spread over both processes and all
receive a message; an upload above nginx's 1 MiB default; downloads handed to
nginx by X-Accel-Redirect after Django's access check; the client address the
throttles count (nginx's X-Forwarded-For believed, a direct client's not); and
the shipped rolling-restart script keeping the site up while it restarts both.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import io
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections
from PIL import Image

from chat.models import ChatMessage
from chat.tests import factories
from chat.tests.servers import (
    Client,
    Server,
    database_url,
    free_port,
    redis_url,
    services_unavailable,
)
from chat.tests.ws import token_for
from tests.deploy_support import (
    DEPLOY,
    ROOT,
    Nginx,
    daphne_unit_command,
    nginx_binary,
    start_daphne,
    start_nginx,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ACCEL_PREFIX = "/protected-media/"
THROTTLE = 3  # anonymous writes a minute per client address, on the servers
BIG = bytes(range(256)) * 6144  # 1.5 MiB, above nginx's default client_max_body_size
FRONTEND = "https://academia.example.edu"


def _unavailable() -> str | None:
    if not nginx_binary().is_file():
        return f"nginx is not installed ({nginx_binary()}; apt-get install nginx)"
    return services_unavailable()


@dataclass
class Stack:
    nginx: Nginx
    servers: list[Server]
    env: dict[str, str]
    media: Path

    @property
    def url(self) -> str:
        return self.nginx.url


def server_env(media: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        REDIS_URL=redis_url(),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_MEDIA_ROOT=str(media),
        CHAT_X_ACCEL_REDIRECT_PREFIX=ACCEL_PREFIX,
        # nginx connects to the upstreams from loopback's first address.
        CHAT_TRUSTED_PROXIES="127.0.0.1",
        CHAT_WRITE_THROTTLE_RATE=f"{THROTTLE}/min",
        CHAT_CLAMD_SOCKET="",
    )
    return env


@pytest.fixture
def stack(transactional_db: None, tmp_path: Path) -> Iterator[Stack]:
    reason = _unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    media = tmp_path / "media"
    media.mkdir()
    env = server_env(media)
    servers: list[Server] = []
    nginx: Nginx | None = None
    try:
        for _ in range(2):
            servers.append(start_daphne(free_port(), env))
        nginx_port = free_port()
        nginx = start_nginx(
            tmp_path / "nginx",
            nginx_port,
            {
                "ACADEMIA_LISTEN": f"127.0.0.1:{nginx_port}",
                "ACADEMIA_SERVER_NAME": "localhost",
                # As docs/DEPLOYMENT.md lists processes on the same host.
                "ACADEMIA_UPSTREAM_SERVERS": " ".join(
                    f"server 127.0.0.1:{server.port} max_fails=0;" for server in servers
                ),
                # Source files stand in for collectstatic's output.
                "ACADEMIA_STATIC_ROOT": str(ROOT / "static"),
                "ACADEMIA_MEDIA_ROOT": str(media),
                "ACADEMIA_FORWARDED_PROTO": "$scheme",
            },
        )
        yield Stack(nginx=nginx, servers=servers, env=env, media=media)
    finally:
        if nginx is not None:
            nginx.stop()
        for server in servers:
            server.stop()
        wait_for_server_sessions_to_end()
        connections.close_all()


def wait_for_server_sessions_to_end(timeout: float = 10.0) -> None:
    """The test database can only be dropped once the servers' sessions are gone."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)


# --- HTTP from a chosen client address ---------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    base: str,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    source: str = "127.0.0.1",
) -> Answer:
    """One request from ``source`` (any loopback address) to ``base``."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        conn.close()


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}", **extra}


def multipart(fields: dict[str, str], name: str, content: bytes) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


def upload(base: str, token: str, room: Any, name: str, content: bytes, **headers: str) -> Answer:
    content_type, body = multipart({"room": str(room.pk), "content": ""}, name, content)
    return call(
        base,
        "POST",
        "/chat/messages/",
        headers=auth(token, **{"Content-Type": content_type, **headers}),
        body=body,
    )


def png(size: tuple[int, int] = (800, 600)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, (200, 40, 90)).save(output, format="PNG")
    return output.getvalue()


def wait_for_log(nginx: Nginx, needle: str, count: int, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for line in nginx.access_log() if needle in line]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


# --- The tests ----------------------------------------------------------------------------


@pytest.fixture
def room(alice: Any, bob: Any) -> Any:
    return factories.make_room(alice, chat_type="private", name="Proxy", members=[bob])


def test_websockets_through_nginx_reach_both_processes(
    stack: Stack, alice: Any, bob: Any, room: Any
) -> None:
    tokens = [token_for(alice), token_for(bob), token_for(alice), token_for(bob)]
    path = f"/ws/chat/{room.pk}/"

    async def chat() -> list[dict[str, Any]]:
        ws_base = stack.url.replace("http://", "ws://")
        # nginx takes turns between the two upstreams: four sockets, two on each.
        clients = [await Client(f"{ws_base}{path}", token).open() for token in tokens]
        try:
            for client in clients:
                await client.receive_type("connection.ready")
            await clients[0].send(
                {"type": "message.send", "client_id": "via-nginx", "content": "through the proxy"}
            )
            return [await client.receive_type("message.created") for client in clients]
        finally:
            for client in clients:
                await client.close()

    events = asyncio.run(chat())

    stored = ChatMessage.objects.get(room=room, client_id="via-nginx")
    assert [event["message"]["id"] for event in events] == [stored.pk] * 4
    assert {event["message"]["content"] for event in events} == {"through the proxy"}
    upgrades = wait_for_log(stack.nginx, f"GET {path}", count=4)
    assert len(upgrades) == 4, stack.nginx.access_log()
    assert all('" 101 ' in line for line in upgrades), upgrades
    assert {line.rsplit("upstream=", 1)[1] for line in upgrades} == {
        f"127.0.0.1:{server.port}" for server in stack.servers
    }


def test_uploads_and_protected_downloads_through_nginx(
    stack: Stack, alice: Any, bob: Any, charlie: Any, room: Any
) -> None:
    bob_token, outsider = token_for(bob), token_for(charlie)

    created = upload(stack.url, bob_token, room, "lecture notes.bin", BIG)
    assert created.status == 201, created.body[:500]
    message = created.json()
    assert (message["message_type"], message["file"]["size"]) == ("file", len(BIG))
    stored = ChatMessage.objects.get(pk=message["id"]).file.name
    assert stored is not None
    assert (stack.media / stored).read_bytes() == BIG

    # The member gets the bytes, served by nginx from the internal location.
    download = call(stack.url, "GET", message["file"]["url"], headers=auth(bob_token))
    assert download.status == 200
    assert download.body == BIG
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"] == 'attachment; filename="lecture notes.bin"'
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-security-policy"] == "sandbox"
    assert download.headers["cache-control"] == "private, max-age=3600"
    assert "x-accel-redirect" not in download.headers
    # What Django itself answered: the hand-over, not the bytes.
    direct = call(stack.servers[0].http, "GET", message["file"]["url"], headers=auth(bob_token))
    assert (direct.status, direct.body) == (200, b"")
    assert direct.headers["x-accel-redirect"] == f"{ACCEL_PREFIX}{stored}"

    # The outsider is refused by Django; nginx serves nothing.
    refused = call(stack.url, "GET", message["file"]["url"], headers=auth(outsider))
    assert refused.status == 404
    assert refused.json()["code"] == "not_found"
    assert BIG[:64] not in refused.body
    # Nor can anyone reach the files by path.
    for path in (f"{ACCEL_PREFIX}{stored}", f"/media/{stored}"):
        assert call(stack.url, "GET", path, headers=auth(bob_token)).status == 404

    # An image: its thumbnail goes the same way.
    image = upload(stack.url, token_for(alice), room, "board.png", png())
    assert image.status == 201, image.body[:500]
    thumbnail_url = image.json()["file"]["thumbnail_url"]
    thumbnail = call(stack.url, "GET", thumbnail_url, headers=auth(bob_token))
    assert thumbnail.status == 200
    assert thumbnail.headers["content-type"].startswith("image/")
    assert thumbnail.headers["content-disposition"].startswith("inline;")
    assert max(Image.open(io.BytesIO(thumbnail.body)).size) <= 320
    assert call(stack.url, "GET", thumbnail_url, headers=auth(outsider)).status == 404

    # Static files come from nginx; a frontend on another origin may import client.js.
    script = call(stack.url, "GET", "/static/chat/client.js", headers={"Origin": FRONTEND})
    assert script.status == 200
    assert script.body == (ROOT / "static" / "chat" / "client.js").read_bytes()
    assert script.headers["access-control-allow-origin"] == "*"

    # nginx names each request ($request_id, 32 hex digits, whatever the client
    # sent): the app logs it and answers with it.
    me = call(
        stack.url, "GET", "/accounts/me/", headers=auth(bob_token, **{"X-Request-ID": "mine"})
    )
    assert me.status == 200
    assert re.fullmatch(r"[0-9a-f]{32}", me.headers["x-request-id"])

    # Above client_max_body_size nginx answers 413 in the app's error shape: also
    # just above the server's own limit, which a larger nginx limit answered 502.
    frontend = "https://academia.example.edu"
    for size in (12 * 1024 * 1024, 10 * 1024 * 1024 + 200 * 1024):
        too_big = upload(stack.url, bob_token, room, "huge.bin", b"\0" * size, Origin=frontend)
        assert too_big.status == 413, size
        assert too_big.json()["code"] == "upload_too_large"
        # A frontend on another origin can read it.
        assert too_big.headers["access-control-allow-origin"] == frontend


def sign_in_attempt(base: str, *, source: str, forwarded: str | None = None) -> int:
    """An anonymous write (a failed sign-in), throttled per client address."""
    headers = {"Content-Type": "application/json"}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    # A new username each time: the sign-in lockout (per username) stays out of
    # the way of the throttle this measures.
    username = f"nobody-{uuid.uuid4().hex[:8]}"
    body = json.dumps({"username": username, "password": "wrong"}).encode()
    return call(base, "POST", "/accounts/token/", headers=headers, body=body, source=source).status


def test_throttles_see_the_client_nginx_saw_and_ignore_a_direct_spoof(stack: Stack) -> None:
    direct = stack.servers[0].http

    # Through nginx: one client spends its budget, claiming to be someone else.
    spender = [
        sign_in_attempt(stack.url, source="127.0.0.2", forwarded="127.0.0.3")
        for _ in range(THROTTLE + 1)
    ]
    assert spender == [400] * THROTTLE + [429]
    # The address it claimed, and any other client, still has a budget: the
    # throttle counted nginx's view of the client (not nginx, not the claim).
    assert sign_in_attempt(stack.url, source="127.0.0.3") == 400
    assert sign_in_attempt(stack.url, source="127.0.0.4") == 400

    # Straight to Daphne, a client's X-Forwarded-For is not believed: a new
    # claim each time does not buy a new budget ...
    spoofer = [
        sign_in_attempt(direct, source="127.0.0.5", forwarded=f"198.51.100.{n}")
        for n in range(THROTTLE + 1)
    ]
    assert spoofer == [400] * THROTTLE + [429]
    # ... and claiming to be the spent client does not spend anyone else's.
    assert sign_in_attempt(direct, source="127.0.0.6", forwarded="127.0.0.2") == 400


FAKE_SYSTEMCTL = """#!/usr/bin/env bash
# Stands in for systemctl: "restart academia-daphne@PORT.service" does what
# systemd does with the unit (SIGTERM, wait for the exit, start ExecStart again).
set -euo pipefail
state="$ACADEMIA_TEST_STATE"
[ "$1" = restart ] || exit 0
port="${2#academia-daphne@}"; port="${port%.service}"
pid="$(cat "$state/$port.pid")"
kill -TERM "$pid"
alive() { [ -e "/proc/$1" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ]; }
while alive "$pid"; do sleep 0.1; done
mapfile -t command < "$state/$port.cmd"
"${command[@]}" >>"$state/$port.log" 2>&1 </dev/null &
echo "$!" > "$state/$port.pid"
echo "$pid" >> "$state/stopped"
"""


def test_rolling_restart_keeps_the_site_answering(stack: Stack, tmp_path: Path) -> None:
    state = tmp_path / "state"
    fake_bin = tmp_path / "bin"
    state.mkdir()
    fake_bin.mkdir()
    (fake_bin / "systemctl").write_text(FAKE_SYSTEMCTL)
    (fake_bin / "systemctl").chmod(0o755)
    for server in stack.servers:
        (state / f"{server.port}.pid").write_text(str(server.process.pid))
        (state / f"{server.port}.cmd").write_text("\n".join(daphne_unit_command(server.port)))
    env_file = tmp_path / "academia.env"
    env_file.write_text("DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost\n")

    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def keep_asking() -> None:
        nonlocal answered
        while not stop.is_set():
            try:
                answer = call(stack.url, "GET", "/healthz")
            except OSError as exc:
                failures.append(repr(exc))
            else:
                if answer.status == 200:
                    answered += 1
                else:
                    failures.append(f"{answer.status} {answer.body[:200]!r}")
            time.sleep(0.02)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    ports = [str(server.port) for server in stack.servers]
    try:
        result = subprocess.run(
            [str(DEPLOY / "rolling-restart.sh"), *ports],
            capture_output=True,
            text=True,
            timeout=180,
            env={
                **stack.env,
                "PATH": f"{fake_bin}:{os.environ['PATH']}",
                "ACADEMIA_TEST_STATE": str(state),
                "ENV_FILE": str(env_file),
                "SETTLE_SECONDS": "1",
                "READY_TIMEOUT": "60",
            },
        )
        stop.set()
        asker.join(timeout=30)
        after = call(stack.url, "GET", "/readyz")  # the new processes serve the site
    finally:
        stop.set()
        asker.join(timeout=30)
        new_pids = [int((state / f"{port}.pid").read_text()) for port in ports]
        for server in stack.servers:  # reap the stopped originals
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.process.wait(timeout=5)
        for pid in new_pids:
            if pid not in {server.process.pid for server in stack.servers}:
                stop_process(pid)

    assert result.returncode == 0, result.stdout + result.stderr
    assert [f"academia-daphne@{port} is ready" in result.stdout for port in ports] == [True, True]
    stopped = (state / "stopped").read_text().split()
    assert stopped == [str(server.process.pid) for server in stack.servers]
    assert failures == []
    assert answered > 20
    assert after.status == 200, after.body


def alive(pid: int) -> bool:
    """Running (a zombie, gone and not yet reaped, does not count)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def stop_process(pid: int) -> None:
    """End a Daphne the stand-in systemctl started (this test's own process)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.1)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
