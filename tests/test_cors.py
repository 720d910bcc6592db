"""CORS for a frontend on another origin: the origins of CHAT_CORS_ALLOWED_ORIGINS
may call the API with a token; no other origin gets CORS headers, and with the
setting empty (the default) nobody does."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from chat.tests.ws import token_for
from tests.test_settings import load_settings

pytestmark = pytest.mark.django_db

FRONTEND = "https://academia.example.com"


@pytest.fixture
def frontend(settings: Any) -> None:
    settings.CHAT_CORS_ALLOWED_ORIGINS = [FRONTEND]
    settings.CORS_ALLOWED_ORIGINS = [FRONTEND]


def preflight(origin: str, path: str = "/chat/rooms/") -> Any:
    return Client().options(
        path,
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type, x-request-id",
        },
    )


def test_preflight_from_an_allowed_origin_gets_the_cors_headers(frontend: None) -> None:
    response = preflight(FRONTEND)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == FRONTEND
    assert "POST" in response["Access-Control-Allow-Methods"]
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "x-request-id"} <= allowed
    assert int(response["Access-Control-Max-Age"]) > 0
    # Token clients only: cookies never cross origins.
    assert "Access-Control-Allow-Credentials" not in response


def test_preflight_of_the_ticket_endpoint_is_answered_too(frontend: None) -> None:
    response = preflight(FRONTEND, "/accounts/ws-ticket/")

    assert response["Access-Control-Allow-Origin"] == FRONTEND


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://academia.example.com", "https://academia.example.com:8443"],
)
def test_preflight_from_another_origin_gets_no_cors_headers(frontend: None, origin: str) -> None:
    response = preflight(origin)

    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Headers" not in response


def test_without_the_setting_no_origin_gets_cors_headers(settings: Any) -> None:
    assert settings.CORS_ALLOWED_ORIGINS == []

    response = preflight(FRONTEND)

    assert "Access-Control-Allow-Origin" not in response


def test_a_token_request_from_the_frontend_can_read_the_answer_and_its_headers(
    frontend: None, alice: Any
) -> None:
    client = Client(headers={"authorization": f"Token {token_for(alice)}"})

    response = client.get("/accounts/me/", headers={"origin": FRONTEND})

    assert response.status_code == 200
    assert response.json()["id"] == alice.pk
    assert response["Access-Control-Allow-Origin"] == FRONTEND
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert exposed == {"retry-after", "x-request-id"}
    assert "origin" in response["Vary"].lower()


def test_a_refusal_carries_the_cors_headers_so_the_frontend_can_read_it(
    frontend: None, db: None
) -> None:
    response = Client().get("/accounts/me/", headers={"origin": FRONTEND})

    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == FRONTEND


def test_the_setting_is_read_from_the_environment() -> None:
    config = load_settings(
        CHAT_CORS_ALLOWED_ORIGINS="https://academia.example.com, http://localhost:5173"
    )

    expected = ["https://academia.example.com", "http://localhost:5173"]
    assert config["CHAT_CORS_ALLOWED_ORIGINS"] == expected
    assert config["CORS_ALLOWED_ORIGINS"] == expected
    assert load_settings()["CORS_ALLOWED_ORIGINS"] == []
