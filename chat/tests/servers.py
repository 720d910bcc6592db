"""Real Daphne processes for integration tests, and a small WebSocket client.

The servers share the test process's database (the test database pytest-django
created, on PostgreSQL) and one Redis, so they behave like a deployment with
several server processes behind a load balancer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parents[2]
WS_LIMIT = "1048576"  # Daphne's backstop; the app closes above 64 KiB itself
START_TIMEOUT = 30.0


def daphne_command(port: int) -> list[str]:
    """How the project runs Daphne: through ``academia.serve`` (the request body
    limit), with explicit WebSocket size limits, always."""
    return [
        sys.executable,
        "-m",
        "academia.serve",
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


def redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or ""


def services_unavailable() -> str | None:
    """Why real server processes cannot run here (PostgreSQL and Redis), or None."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return "needs DATABASE_URL on PostgreSQL"
    url = redis_url()
    if not url:
        return "needs REDIS_URL"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return f"Redis unreachable at {url}"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    """A URL for the database the test process is using (the test database)."""
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Any

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: no disconnect handler runs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


def start_server(redis_url: str, extra_env: dict[str, str] | None = None) -> Server:
    return start_daphne(
        {"DATABASE_URL": database_url(), "REDIS_URL": redis_url, **(extra_env or {})}
    )


def start_daphne(env_overrides: dict[str, str]) -> Server:
    """A Daphne process with this environment plus ``env_overrides``, once /healthz answers."""
    port = free_port()
    env = dict(os.environ)
    env.update(DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", DJANGO_LOG_LEVEL="WARNING")
    env.update(env_overrides)
    return launch(daphne_command(port), port, env)


def launch(command: list[str], port: int, env: dict[str, str]) -> Server:
    """Start a server process listening on ``port``; returns once /healthz answers."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by Server.stop()
    process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(port=port, process=process, log=log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{server.output()}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{server.http}/healthz", timeout=1) as answer,
        ):
            if answer.status == 200:
                return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the server did not start in time:\n{server.output()}")


def http_json(method: str, url: str, token: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, json.loads(answer.read() or b"null")


@dataclass
class Client:
    """A WebSocket client that pings every ``ping_every`` seconds."""

    url: str
    token: str
    ping_every: float = 1.0
    connection: Any = None
    pinger: asyncio.Task[None] | None = None
    frames: list[dict[str, Any]] = field(default_factory=list)

    async def open(self) -> Client:
        self.connection = await websockets.connect(
            self.url,
            additional_headers={"Authorization": f"Token {self.token}"},
            open_timeout=10,
        )
        self.pinger = asyncio.ensure_future(self._ping())
        return self

    async def _ping(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(self.ping_every)
                await self.connection.send('{"type":"ping"}')

    async def send(self, frame: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(frame))

    async def receive_type(
        self, *types: str, timeout: float = 10.0, **match: Any
    ) -> dict[str, Any]:
        """The next frame of one of ``types`` whose top-level fields equal ``match``."""
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await self.connection.recv())
                self.frames.append(frame)
                if frame["type"] in types and all(frame.get(k) == v for k, v in match.items()):
                    return frame

    async def close(self) -> None:
        if self.pinger is not None:
            self.pinger.cancel()
        with contextlib.suppress(Exception):
            await self.connection.close()
