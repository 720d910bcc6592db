"""Browser tests: a live Daphne process, Debian's Chromium driven by Playwright.

The server process and the test share one database. On SQLite the test
database is a file (pytest-django would otherwise keep it in memory, out of the
server's reach); on PostgreSQL both use the test database pytest-django creates.
Screenshots of the main states go to ``artefacts/screenshots/``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection, connections

from chat.tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artefacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TYPING_TIMEOUT_MS = 1500
WAIT_MS = 15_000

_database = settings.DATABASES["default"]
if _database["ENGINE"].endswith("sqlite3"):
    _test_settings = _database.setdefault("TEST", {})
    if not _test_settings.get("NAME"):
        _test_settings["NAME"] = str(
            Path(tempfile.gettempdir()) / f"academia-e2e-{os.getpid()}.sqlite3"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_database_env() -> dict[str, str]:
    """Point the server process at the database this test writes to."""
    conf = connection.settings_dict
    if conf["ENGINE"].endswith("sqlite3"):
        name = str(conf["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            pytest.fail(
                "The e2e tests need a file SQLite test database (see tests/e2e/conftest.py)."
            )
        return {"SQLITE_PATH": name, "DATABASE_URL": ""}
    credentials = quote(conf["USER"] or "", safe="")
    if conf.get("PASSWORD"):
        credentials += ":" + quote(conf["PASSWORD"], safe="")
    host = conf.get("HOST") or "127.0.0.1"
    port = conf.get("PORT") or "5432"
    return {"DATABASE_URL": f"postgres://{credentials}@{host}:{port}/{conf['NAME']}"}


@dataclass
class LiveServer:
    """A Daphne process on a fixed port that can be killed and started again."""

    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [
            sys.executable, "-m", "academia.serve",  # Daphne as make run starts it
            "-b", "127.0.0.1", "-p", str(self.port),
            "--websocket-max-message-size", "1048576",
            "--websocket-max-frame-size", "1048576",
            "academia.asgi:application",
        ]  # fmt: skip
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        pytest.fail(f"Daphne did not start:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as when a host dies."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def live_daphne(transactional_db: None, tmp_path: Path) -> Iterator[LiveServer]:
    port = free_port()
    env = {
        **os.environ,
        **server_database_env(),
        "DJANGO_SETTINGS_MODULE": "academia.settings",
        "DJANGO_DEBUG": "1",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
        "CHAT_WEBSOCKET_URL": f"ws://127.0.0.1:{port}/ws/chat/",
        "CHAT_PRESENCE_WEBSOCKET_URL": f"ws://127.0.0.1:{port}/ws/presence/",
        "CHAT_TYPING_TIMEOUT": str(TYPING_TIMEOUT_MS),
        "CHAT_HEARTBEAT_INTERVAL": "5",
        "CHAT_CONNECTION_TIMEOUT": "15",
        "PYTHONUNBUFFERED": "1",
    }
    server = LiveServer(port=port, env=env, log_path=tmp_path / "daphne.log")
    server.start()
    yield server
    server.stop()


@dataclass
class UserPage:
    """One signed-in user's tab, with the browser errors it collected."""

    page: Any
    username: str
    errors: list[str] = field(default_factory=list)
    allowed: list[Callable[[str, str], bool]] = field(default_factory=list)

    def record_console(self, message: Any) -> None:
        if message.type != "error":
            return
        text = message.text
        url = (message.location or {}).get("url", "")
        if any(rule(text, url) for rule in self.allowed):
            return
        self.errors.append(f"console: {text} ({url})")

    def record_page_error(self, error: Any) -> None:
        self.errors.append(f"pageerror: {error}")

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


# The login form's username and password labels and its button, per language.
LOGIN_LABELS = {
    "en": ("Username", "Password", "Sign in"),
    "de": ("Benutzername", "Passwort", "Anmelden"),
}


@dataclass
class Browser:
    chromium: Any
    server: LiveServer
    pages: list[UserPage] = field(default_factory=list)

    def sign_in(
        self,
        username: str,
        *,
        next_path: str = "/",
        viewport: tuple[int, int] = (1280, 800),
        locale: str = "en-GB",
    ) -> UserPage:
        """Open a fresh browser context (its Accept-Language from ``locale``) and sign
        in through the real login form, which speaks that language."""
        context = self.chromium.new_context(
            viewport={"width": viewport[0], "height": viewport[1]},
            base_url=self.server.url,
            locale=locale,
            timezone_id="UTC",
        )
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        user_page = UserPage(page=page, username=username)
        page.on("console", user_page.record_console)
        page.on("pageerror", user_page.record_page_error)
        self.pages.append(user_page)
        page.goto(f"/accounts/login/?next={quote(next_path)}")
        labels = LOGIN_LABELS[locale.split("-")[0]]
        page.get_by_label(labels[0]).fill(username)
        page.get_by_label(labels[1]).fill(PASSWORD)
        page.get_by_role("button", name=labels[2]).click()
        page.wait_for_url(f"{self.server.url}{next_path}")
        return user_page

    def assert_no_console_errors(self) -> None:
        errors = [f"{p.username}: {e}" for p in self.pages for e in p.errors]
        assert errors == []


@pytest.fixture
def browser(live_daphne: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    """Chromium (Debian's, never a downloaded one) with one context per signed-in user.

    Each test ends by asserting that no page logged a console error or threw.
    """
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the test's own ORM
    # calls stay synchronous on it, which is what Django's guard cannot tell apart.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # Rows the test writes directly reach the pages through REST and seq replay;
    # this process has no sockets of its own to publish to.
    monkeypatch.setattr("chat.events.send", lambda group, message: None)

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        session = Browser(chromium=chromium, server=live_daphne)
        try:
            yield session
        finally:
            chromium.close()
            # ORM calls made while Playwright's loop runs get their own connection
            # (asgiref keys it by context); close it so the test database can be dropped.
            connections.close_all()
