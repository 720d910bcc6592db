"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from academia import health


def test_healthz_answers_without_a_database() -> None:
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_database_and_channel_layer() -> None:
    response = Client().get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "channel_layer": "ok"},
    }


@pytest.mark.django_db
def test_readyz_is_503_naming_the_failed_check(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise ConnectionError("layer down")

    monkeypatch.setitem(health.CHECKS, "channel_layer", broken)

    response = Client().get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "channel_layer": "failed: ConnectionError"},
    }


@pytest.mark.django_db
def test_readyz_fails_when_the_channel_layer_loses_the_message(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    monkeypatch.setattr(health, "CHANNEL_LAYER_TIMEOUT", 0.05)

    class SilentLayer:
        async def new_channel(self, prefix: str = "") -> str:
            return f"{prefix}x"

        async def send(self, channel: str, message: dict[str, Any]) -> None:
            return None

        async def receive(self, channel: str) -> dict[str, Any]:
            import asyncio

            await asyncio.Event().wait()
            return {}

    monkeypatch.setattr(health, "get_channel_layer", lambda: SilentLayer())

    response = Client().get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["channel_layer"] == "failed: TimeoutError"
