"""A frontend served from another origin imports client.js from the chat server,
calls the API with a token (CORS) and opens both sockets with tickets."""

from __future__ import annotations

import functools
import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from chat.models import ChatMessage
from chat.tests import factories
from chat.tests.ws import token_for
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGE = "<!doctype html><meta charset='utf-8'><title>Academia frontend</title><p>frontend</p>"


def serve_page(directory: Path) -> Iterator[str]:
    """A static site on its own port of 127.0.0.1 (another origin than the chat's)."""
    (directory / "index.html").write_text(PAGE)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def frontend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The frontend's origin, listed in the chat server's CHAT_CORS_ALLOWED_ORIGINS."""
    directory = tmp_path / "frontend"
    directory.mkdir()
    for origin in serve_page(directory):
        monkeypatch.setenv("CHAT_CORS_ALLOWED_ORIGINS", origin)
        yield origin


@pytest.fixture
def stranger(tmp_path: Path) -> Iterator[str]:
    """Another site, not listed."""
    directory = tmp_path / "stranger"
    directory.mkdir()
    yield from serve_page(directory)


@pytest.fixture
def live_daphne(frontend: str, live_daphne: LiveServer) -> LiveServer:
    """The chat server, started once the frontend's origin is in its environment."""
    return live_daphne


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # As in conftest's browser fixture: the test's ORM calls run beside Playwright's loop.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
            connections.close_all()


def open_site(chromium: Any, origin: str) -> Any:
    page = chromium.new_context().new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(origin + "/")
    return page


# Runs in the frontend's page: everything through client.js as imported from the server.
FRONTEND_SCRIPT = """
async ({ server, token, roomId, wait }) => {
  const module = await import(`${server}/static/chat/client.js`);
  const academia = module.createClient({ baseUrl: server, token });
  const me = await academia.rest.me();
  const rooms = await academia.rest.listRooms();
  const room = rooms.find((item) => item.id === roomId);
  const once = (target, type) =>
    new Promise((resolve, reject) => {
      target.addEventListener(type, (event) => resolve(event.detail), { once: true });
      setTimeout(() => reject(new Error(`no ${type} within ${wait} ms`)), wait);
    });

  const chat = academia.room(roomId, { lastSeq: room.last_seq });
  const ready = once(chat, "ready");
  chat.connect();
  const readyFrame = await ready;
  const created = once(chat, "message.created");
  const clientId = chat.send("Hello from the Academia frontend");
  const createdFrame = await created;

  const presence = academia.presence();
  const snapshot = once(presence, "ready");
  presence.connect();
  const snapshotFrame = await snapshot;

  // A reconnect needs a new ticket (the first one is used): it gets one and resumes.
  const again = once(chat, "ready");
  chat.reconnectNow();
  const againFrame = await again;

  chat.close();
  presence.close();
  return {
    version: module.VERSION,
    me,
    protocol: readyFrame.protocol,
    readyUser: readyFrame.user.id,
    clientId,
    created: createdFrame.message,
    snapshotProtocol: snapshotFrame.protocol,
    reconnected: againFrame.last_seq,
  };
}
"""


def test_a_frontend_on_a_listed_origin_chats_through_client_js(
    live_daphne: LiveServer, frontend: str, chromium: Any, alice: Any
) -> None:
    room = factories.make_room(alice, chat_type="public", name="Frontend")
    page = open_site(chromium, frontend)

    result = page.evaluate(
        FRONTEND_SCRIPT,
        {"server": live_daphne.url, "token": token_for(alice), "roomId": room.pk, "wait": WAIT_MS},
    )

    assert result["version"] == "1.2.0"
    assert result["me"]["id"] == alice.pk
    assert (result["protocol"], result["snapshotProtocol"]) == (1, 1)
    assert result["readyUser"] == alice.pk
    assert result["created"]["client_id"] == result["clientId"]
    assert result["created"]["sender"]["id"] == alice.pk
    stored = ChatMessage.objects.get(client_id=result["clientId"])
    assert (stored.room_id, stored.content) == (room.pk, "Hello from the Academia frontend")
    assert result["reconnected"] == stored.room.last_seq


def test_a_site_that_is_not_listed_cannot_use_the_api_or_a_ticket(
    live_daphne: LiveServer, stranger: str, chromium: Any, alice: Any
) -> None:
    room = factories.make_room(alice, chat_type="public", name="Closed")
    page = open_site(chromium, stranger)
    token = token_for(alice)
    ticket = _ticket(live_daphne, token)

    result = page.evaluate(
        """
        async ({ server, token, ticket, roomId, wait }) => {
          const url = `${server.replace("http", "ws")}/ws/chat/${roomId}/?ticket=${ticket}`;
          const socket = new WebSocket(url);
          const socketEnd = await new Promise((resolve) => {
            socket.addEventListener("message", () => resolve("message"));
            socket.addEventListener("close", (e) => resolve(e.code));
            setTimeout(() => resolve("still open"), wait);
          });
          const headers = { Authorization: `Token ${token}` };
          const api = await fetch(`${server}/accounts/me/`, { headers })
            .then(() => "answered", (error) => error.name);
          return { socketEnd, api };
        }
        """,
        {
            "server": live_daphne.url,
            "token": token,
            "ticket": ticket,
            "roomId": room.pk,
            "wait": WAIT_MS,
        },
    )

    # The handshake is refused (no close frame: 1006); the browser withholds the answer.
    assert result == {"socketEnd": 1006, "api": "TypeError"}


def _ticket(server: LiveServer, token: str) -> str:
    request = urllib.request.Request(
        f"{server.url}/accounts/ws-ticket/",
        method="POST",
        headers={"Authorization": f"Token {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["ticket"])
