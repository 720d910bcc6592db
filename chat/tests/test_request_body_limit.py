"""A body over the limit is refused by the server before it is read (a real server process)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from chat.tests.servers import Server, start_daphne

pytestmark = pytest.mark.integration

UPLOAD_LIMIT = 100_000
LIMIT = UPLOAD_LIMIT + 64 * 1024  # the upload limit plus the multipart envelope
FRONTEND = "https://academia.example.edu"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    server = start_daphne(
        {
            "CHAT_FILE_UPLOAD_LIMIT": str(UPLOAD_LIMIT),
            "REDIS_URL": "",
            "CHAT_CORS_ALLOWED_ORIGINS": FRONTEND,
        }
    )
    yield server
    server.stop()


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=5)


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection (bounded by the timeout)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def exchange(server: Server, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    """Send one request (its headers, then ``body``) and read the whole answer."""
    with connect(server) as sock:
        sock.sendall(head(path, headers) + body)
        return read_all(sock)


def status_and_body(answer: bytes) -> tuple[str, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), json.loads(body)


def test_a_declared_length_over_the_limit_is_refused_before_the_body(server: Server) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(
            head(
                "/chat/messages/",
                {
                    "Content-Type": "multipart/form-data; boundary=x",
                    "Content-Length": "10000000000",
                },
            )
        )
        answer = read_all(sock)  # no body sent: only an answer from the headers can come
        elapsed = time.monotonic() - started

    assert status_and_body(answer) == (
        "HTTP/1.1 413 Content Too Large",
        {
            "detail": f"The request body is too large (at most {LIMIT} bytes).",
            "code": "upload_too_large",
        },
    )
    assert b"Connection: close" in answer
    assert elapsed < 3


@pytest.mark.parametrize(
    ("origin", "readable"), [(FRONTEND, True), ("https://evil.example", False)]
)
def test_the_413_is_readable_by_the_frontends_origins_only(
    server: Server, origin: str, readable: bool
) -> None:
    headers = {
        "Content-Type": "multipart/form-data; boundary=x",
        "Content-Length": str(LIMIT + 1),
        "Origin": origin,
    }
    answer = exchange(server, "/chat/messages/", headers)

    assert answer.startswith(b"HTTP/1.1 413 ")
    allowed = f"Access-Control-Allow-Origin: {origin}\r\n".encode()
    assert (allowed in answer) is readable
    assert (b"Access-Control-Allow-Origin" in answer) is readable


def test_a_form_body_is_left_to_the_application(server: Server) -> None:
    """Twisted parsed form bodies itself, in the event loop, before the application
    saw the request (seconds of CPU for a body of many tiny parts, from anyone); its
    parser answered a bare 400 to a multipart body without a boundary."""
    body = b"--x\r\n" * 2000
    headers = {
        "Content-Type": "multipart/form-data",
        "Content-Length": str(len(body)),
        "Connection": "close",
    }
    answer = exchange(server, "/chat/messages/", headers, body)

    # The application's answer: the request is not signed in.
    status, payload = status_and_body(answer)
    assert status == "HTTP/1.1 401 Unauthorized"
    assert payload["code"] == "not_authenticated"


def test_expect_100_continue_gets_the_413_instead(server: Server) -> None:
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(LIMIT + 1),
        "Expect": "100-continue",
    }
    answer = exchange(server, "/accounts/token/", headers)

    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in answer


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(server: Server) -> None:
    chunk = b"x" * 32_768
    sent = 0
    with connect(server) as sock:
        sock.sendall(head("/chat/messages/", {"Transfer-Encoding": "chunked"}))
        # The server stops reading and closes: the sends fail once the kernel's socket
        # buffers (a few MB on loopback) are full, long before the end.
        with pytest.raises(OSError):
            while sent < 100 * LIMIT:
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
            pytest.fail(f"the server read {sent} bytes of a chunked body")


def test_a_body_within_the_limit_reaches_the_application(server: Server) -> None:
    body = b"{" + b" " * (LIMIT - 2) + b"x"  # not JSON: DRF's parse error proves it was read
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "Connection": "close",
    }
    answer = exchange(server, "/accounts/token/", headers, body)

    assert len(body) == LIMIT
    status, error = status_and_body(answer)
    assert (status, error["code"]) == ("HTTP/1.1 400 Bad Request", "parse_error")
