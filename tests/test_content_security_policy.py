"""Every HTML page carries the Content-Security-Policy; the chat page needs nothing inline."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from chat.tests import factories

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "connect-src": "'self' ws://localhost:8000",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def directives(header: str | None) -> dict[str, str]:
    parts = [part.strip().split(" ", 1) for part in (header or "").split(";") if part.strip()]
    return {name: value for name, value in parts}


@pytest.fixture
def signed_in(alice: Any) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_every_html_page_has_the_policy(signed_in: Client, alice: Any, stella: Any) -> None:
    room = factories.make_room(alice, name="Lobby")
    staff = Client()
    staff.force_login(stella)
    pages = {
        "/": signed_in.get("/"),
        "/rooms/<id>/": signed_in.get(f"/rooms/{room.pk}/"),
        "404": signed_in.get("/rooms/999999/"),
        "/accounts/login/": Client().get("/accounts/login/"),
        "/admin/login/": Client().get("/admin/login/"),
        "/admin/": staff.get("/admin/"),
        "/api/docs/": signed_in.get("/api/docs/"),
    }

    assert {name: r.status_code for name, r in pages.items()} == {
        "/": 200,
        "/rooms/<id>/": 200,
        "404": 404,
        "/accounts/login/": 200,
        "/admin/login/": 200,
        "/admin/": 200,
        "/api/docs/": 200,
    }
    assert {name: directives(r.get("Content-Security-Policy")) for name, r in pages.items()} == {
        name: POLICY for name in pages if name != "/api/docs/"
    } | {"/api/docs/": POLICY | {"style-src": "'self' 'unsafe-inline'"}}


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/api/docs/"])
def test_pages_have_no_inline_script(signed_in: Client, path: str) -> None:
    html = signed_in.get(path).content.decode()

    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)

    for attributes, body in scripts:
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes
        assert "src=" not in attributes or body.strip() == ""
    assert not re.search(r"\son[a-z]+=", html)


def test_the_api_docs_script_is_served_from_its_own_url(signed_in: Client) -> None:
    response = signed_in.get("/api/docs/", {"script": ""})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()


def test_the_unsubscribe_page_has_the_policy_and_no_inline_script(alice: Any) -> None:
    from chat.services.email_notifications import unsubscribe_token

    pages = {
        "valid": Client().get(f"/email/unsubscribe/{unsubscribe_token(alice)}/"),
        "invalid": Client().get("/email/unsubscribe/forged/"),
    }

    assert {name: r.status_code for name, r in pages.items()} == {"valid": 200, "invalid": 400}
    for response in pages.values():
        assert directives(response.get("Content-Security-Policy")) == POLICY
        html = response.content.decode()
        assert all("src=" in attrs for attrs in re.findall(r"<script\b([^>]*)>", html))
        assert not re.search(r"\son[a-z]+=", html)
