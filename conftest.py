"""Shared fixtures: personas, the captured_events fixture, and service checks for CI.

Personas (healthchecks style): alice and bob are students of the course,
ines is its instructor, charlie has no access to anything of theirs, sam is
support staff (the ``support`` group) and stella is ``is_staff``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pytest

from chat.tests import factories
from chat.tests.frames import frame_problems


@dataclass
class Published:
    group: str
    message: dict[str, Any]

    @property
    def payload(self) -> dict[str, Any]:
        """The frame as a socket would receive it (round-tripped through JSON)."""
        return json.loads(self.message["text"])


class CapturedEvents(list[Published]):
    def payloads(self, group: str | None = None) -> list[dict[str, Any]]:
        return [
            item.payload
            for item in self
            if "text" in item.message and (group is None or item.group == group)
        ]

    def types(self, group: str | None = None) -> list[str]:
        return [payload["type"] for payload in self.payloads(group)]


@pytest.fixture(autouse=True)
def _fast_passwords_and_clean_cache(request: pytest.FixtureRequest, settings: Any) -> None:
    """Cheap password hashing for the many test users (not where a real server
    process must check the password), and no throttle counts or typing marks
    left over in the cache from an earlier test."""
    from django.core.cache import cache

    if not any(request.node.get_closest_marker(m) for m in ("e2e", "integration")):
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def _close_database_pools(django_db_setup: None) -> Any:
    """Give the connection pool's idle connections back before pytest-django
    drops the test database (set up first, so torn down after this)."""
    yield
    from django.db import connections
    from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper

    for connection in connections.all():
        connection.close()
        if isinstance(connection, PostgresWrapper) and connection.pool is not None:
            connection.close_pool()


class _ShiftedClock:
    """The ``time`` module, with ``time()`` and ``monotonic()`` moved by fixed offsets."""

    def __init__(self, real: Any, period: int) -> None:
        self._real = real
        self._time_shift = period - real.time() % period + 0.5
        self._monotonic_shift = period - real.monotonic() % period + 0.5

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def time(self) -> float:
        return self._real.time() + self._time_shift

    def monotonic(self) -> float:
        return self._real.monotonic() + self._monotonic_shift


@pytest.fixture
def fresh_rate_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The socket rate counters' one-minute windows open half a second before the
    test starts: counts that must land in one window cannot straddle two."""
    import time

    clock = _ShiftedClock(time, 60)
    monkeypatch.setattr("chat.consumers.base.time", clock)
    monkeypatch.setattr("chat.consumers.hub.time", clock)


@pytest.fixture
def captured_events(monkeypatch: pytest.MonkeyPatch, transactional_db: None) -> CapturedEvents:
    """Capture what chat.events publishes, round-tripped through JSON.

    Each frame is checked against its declared shape (``chat.tests.frames``).
    The test runs with real transactions, so events are published on commit
    exactly as in production and a rolled-back change publishes nothing.
    """
    captured = CapturedEvents()

    def fake_send(group: str, message: dict[str, Any]) -> None:
        published = Published(group, json.loads(json.dumps(message)))
        if "text" in message:
            # Every frame matches its declared shape (chat.wire, chat.asyncapi).
            wrong = frame_problems(published.payload)
            assert not wrong, f"{published.payload.get('type')} frame: {wrong}"
        captured.append(published)

    monkeypatch.setattr("chat.events.send", fake_send)
    return captured


@pytest.fixture
def alice(db: None) -> Any:
    return factories.make_user("alice", display_name="Alice")


@pytest.fixture
def bob(db: None) -> Any:
    return factories.make_user("bob", display_name="Bob")


@pytest.fixture
def charlie(db: None) -> Any:
    return factories.make_user("charlie", display_name="Charlie")


@pytest.fixture
def ines(db: None) -> Any:
    return factories.make_user("ines", display_name="Ines the Instructor")


@pytest.fixture
def sam(db: None) -> Any:
    return factories.make_support_user("sam")


@pytest.fixture
def stella(db: None) -> Any:
    return factories.make_user("stella", is_staff=True)


@pytest.fixture
def course(db: None, stella: Any, ines: Any, alice: Any, bob: Any) -> Any:
    """A course with ines as instructor and alice and bob as students."""
    return factories.make_course(stella, instructors=[ines], students=[alice, bob])


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI, PostgreSQL and Redis must be there: a missing service fails the run.
    (CI's second, SQLite pass of the database tests says so with CI_SQLITE_PASS=1.)"""
    if os.environ.get("CI") != "true" or os.environ.get("CI_SQLITE_PASS") == "1":
        return
    missing = []
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        missing.append("DATABASE_URL (PostgreSQL)")
    if not os.environ.get("TEST_REDIS_URL") and not os.environ.get("REDIS_URL"):
        missing.append("TEST_REDIS_URL/REDIS_URL (Redis)")
    if missing:
        raise pytest.UsageError("CI=true but not configured: " + ", ".join(missing))
