"""static/chat/client.js as a versioned module for a page on another origin: its
exports match its TypeScript declarations, its version is the contract's, and a
client made with a base URL and a token sends the token on REST and opens each
socket with a fresh ticket (run in Node.js, with fetch and WebSocket stood in)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "static" / "chat" / "client.js"
DECLARATIONS = ROOT / "static" / "chat" / "client.d.ts"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")


def run_node(script: str) -> Any:
    """Run an ES module script that imports client.js as ``client``; its last
    stdout line, parsed as JSON."""
    source = f"import * as client from {json.dumps(CLIENT.as_uri())};\n{script}"
    assert NODE is not None
    result = subprocess.run(
        [NODE, "--input-type=module", "-e", source],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def declared_exports() -> set[str]:
    text = DECLARATIONS.read_text()
    return set(re.findall(r"^export declare (?:const|function|class) (\w+)", text, re.M))


def test_the_declarations_name_every_export_and_nothing_else() -> None:
    exports = run_node("console.log(JSON.stringify(Object.keys(client)));")

    assert set(exports) == declared_exports()


def test_the_module_version_is_the_contracts_and_heads_the_changelog() -> None:
    version, protocol = run_node("console.log(JSON.stringify([client.VERSION, client.PROTOCOL]));")

    assert version == settings.SPECTACULAR_SETTINGS["VERSION"]
    assert protocol == 1  # the server's side: chat/tests/test_socket_protocol.py
    changelog = (ROOT / "CHANGELOG.md").read_text()
    first = re.search(r"^## (\S+) — socket protocol (\d+)$", changelog, re.M)
    assert first is not None
    assert (first.group(1), int(first.group(2))) == (version, protocol)


def test_connection_urls_for_a_server_on_another_origin() -> None:
    urls = run_node(
        """
        const c = new client.Connection({ baseUrl: "https://chat.example.edu" });
        const local = new client.Connection({ baseUrl: "http://127.0.0.1:8000/" });
        console.log(JSON.stringify([
          c.url("/chat/rooms/"),
          c.socketUrl("/ws/presence/"),
          local.socketUrl("/ws/chat/"),
          c.serverPath("https://chat.example.edu/chat/rooms/?page=2"),
          c.serverPath("https://elsewhere.example/chat/rooms/"),
        ]));
        """
    )

    assert urls == [
        "https://chat.example.edu/chat/rooms/",
        "wss://chat.example.edu/ws/presence/",
        "ws://127.0.0.1:8000/ws/chat/",
        "/chat/rooms/?page=2",
        None,
    ]


# fetch answers from a script, and a WebSocket that records its URL and closes
# at once: the first with 1006 (the client reconnects), the next with 4403.
STAND_INS = """
const requests = [];
let tickets = 0;
globalThis.fetch = async (url, init) => {
  requests.push({ url, method: init.method, headers: init.headers, credentials: init.credentials });
  if (url.endsWith("/accounts/ws-ticket/")) {
    tickets += 1;
    return new Response(JSON.stringify({ ticket: `T${tickets}`, expires_in: 60 }), { status: 200 });
  }
  if (url.includes("/chat/rooms/?page=2")) {
    return new Response(JSON.stringify({ next: null, results: [{ id: 2 }] }), { status: 200 });
  }
  return new Response(
    JSON.stringify({ next: "https://chat.example.edu/chat/rooms/?page=2", results: [{ id: 1 }] }),
    { status: 200 },
  );
};
const opened = [];
class FakeSocket extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.readyState = 0;
    opened.push(url);
    setTimeout(() => {
      const close = new Event("close");
      close.code = opened.length < 2 ? 1006 : 4403;
      this.dispatchEvent(close);
    }, 0);
  }
  close() {}
}
// The second socket is closed with 4403, which stops the client ("denied"); bounded.
const denied = (target) =>
  Promise.race([
    new Promise((resolve) => target.addEventListener("denied", resolve, { once: true })),
    new Promise((_, reject) => {
      setTimeout(() => reject(new Error("not denied in 5 s")), 5000).unref();
    }),
  ]);
"""


def test_a_token_client_sends_the_token_without_cookies_and_follows_pages() -> None:
    requests, rooms = run_node(
        STAND_INS
        + """
        const academia = client.createClient({ baseUrl: "https://chat.example.edu", token: "k1" });
        const rooms = await academia.rest.listRooms();
        console.log(JSON.stringify([requests, rooms.map((room) => room.id)]));
        """
    )

    assert rooms == [1, 2]
    assert [r["url"] for r in requests] == [
        "https://chat.example.edu/chat/rooms/",
        "https://chat.example.edu/chat/rooms/?page=2",
    ]
    assert all(r["headers"]["Authorization"] == "Token k1" for r in requests)
    assert all(r["credentials"] == "omit" for r in requests)
    assert all("X-CSRFToken" not in r["headers"] for r in requests)


def test_each_socket_connection_opens_with_a_fresh_ticket() -> None:
    opened, requests, states = run_node(
        STAND_INS
        + """
        const academia = client.createClient({ baseUrl: "https://chat.example.edu", token: "k1" });
        const chat = academia.room(7, {
          lastSeq: 3, WebSocketImpl: FakeSocket, minDelay: 1, maxDelay: 2,
        });
        const states = [];
        chat.addEventListener("state", (event) => states.push(event.detail.state));
        const stopped = denied(chat);
        chat.connect();
        await stopped;
        console.log(JSON.stringify([opened, requests.map((r) => [r.method, r.url]), states]));
        """
    )

    assert opened == [
        "wss://chat.example.edu/ws/chat/7/?after_seq=3&ticket=T1",
        "wss://chat.example.edu/ws/chat/7/?after_seq=3&ticket=T2",
    ]
    assert requests == [["POST", "https://chat.example.edu/accounts/ws-ticket/"]] * 2
    assert states[-1] == "closed"  # 4403 stops it


def test_a_page_may_bring_its_own_tickets() -> None:
    opened = run_node(
        STAND_INS
        + """
        let n = 0;
        const academia = client.createClient({
          baseUrl: "https://chat.example.edu",
          ticket: async () => `own-${++n}`,
        });
        const presence = academia.presence({ WebSocketImpl: FakeSocket, minDelay: 1, maxDelay: 2 });
        const stopped = denied(presence);
        presence.connect();
        await stopped;
        console.log(JSON.stringify(opened));
        """
    )

    assert opened == [
        "wss://chat.example.edu/ws/presence/?ticket=own-1",
        "wss://chat.example.edu/ws/presence/?ticket=own-2",
    ]


def test_no_ticket_for_a_revoked_token_means_auth_required() -> None:
    result = run_node(
        """
        const refusal = { detail: "Invalid token.", code: "authentication_failed" };
        globalThis.fetch = async () => new Response(JSON.stringify(refusal), { status: 401 });
        const academia = client.createClient({ baseUrl: "https://chat.example.edu", token: "old" });
        class NeverOpened {
          constructor() { throw new Error("a socket was opened"); }
        }
        const chat = academia.room(7, { WebSocketImpl: NeverOpened });
        const seen = [];
        const required = new Promise((resolve) => {
          chat.addEventListener("auth.required", (event) => resolve(seen.push(event.detail.code)));
        });
        chat.connect();
        await required;
        console.log(JSON.stringify([seen, chat.state]));
        """
    )

    assert result == [[401], "closed"]
