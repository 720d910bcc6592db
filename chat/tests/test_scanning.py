from __future__ import annotations

import io
import os
import socketserver
import struct
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from pytest_django.fixtures import Settings

from chat.errors import Unavailable
from chat.scanning import (
    CHUNK_SIZE,
    EICAR_SIGNATURE,
    ClamdScanner,
    EicarScanner,
    ScanResult,
    get_scanner,
)


def test_eicar_is_detected_at_the_start() -> None:
    stream = io.BytesIO(EICAR_SIGNATURE)
    result = EicarScanner().scan(stream)
    assert result == ScanResult(clean=False, signature="Eicar-Test-Signature")
    assert stream.tell() == 0


def test_eicar_is_detected_in_the_middle_of_a_large_file() -> None:
    data = b"a" * (3 * CHUNK_SIZE + 17) + EICAR_SIGNATURE + b"b" * 1000
    assert EicarScanner().scan(io.BytesIO(data)).clean is False


@pytest.mark.parametrize("split", [1, 10, len(EICAR_SIGNATURE) // 2, len(EICAR_SIGNATURE) - 1])
def test_eicar_is_detected_across_a_chunk_boundary(split: int) -> None:
    data = b"x" * (CHUNK_SIZE - split) + EICAR_SIGNATURE + b"y" * 10
    assert EicarScanner().scan(io.BytesIO(data)).clean is False


def test_a_clean_file_passes_and_is_rewound() -> None:
    stream = io.BytesIO(b"hello " * 50_000)
    stream.seek(100)
    assert EicarScanner().scan(stream) == ScanResult(clean=True)
    assert stream.tell() == 0


def test_an_empty_file_is_clean() -> None:
    assert EicarScanner().scan(io.BytesIO(b"")).clean is True


# --- clamd -----------------------------------------------------------------------------


@dataclass
class FakeClamd:
    socket_path: str
    reply: bytes = b"stream: OK\0"
    commands: list[bytes] = field(default_factory=list)
    received: list[bytes] = field(default_factory=list)


def _read_exact(rfile: io.BufferedIOBase, size: int) -> bytes:
    data = rfile.read(size)
    assert data is not None
    assert len(data) == size
    return data


@pytest.fixture
def fake_clamd() -> Iterator[FakeClamd]:
    with tempfile.TemporaryDirectory() as directory:
        fake = FakeClamd(socket_path=os.path.join(directory, "clamd.sock"))

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                command = b""
                while not command.endswith(b"\0"):
                    command += _read_exact(self.rfile, 1)
                fake.commands.append(command)
                body = b""
                while size := struct.unpack("!I", _read_exact(self.rfile, 4))[0]:
                    body += _read_exact(self.rfile, size)
                fake.received.append(body)
                self.wfile.write(fake.reply)

        server = socketserver.ThreadingUnixStreamServer(fake.socket_path, Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield fake
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def test_clamd_ok_reply_is_clean(fake_clamd: FakeClamd) -> None:
    data = os.urandom(CHUNK_SIZE * 2 + 5)
    stream = io.BytesIO(data)
    result = ClamdScanner(fake_clamd.socket_path, timeout=5).scan(stream)
    assert result == ScanResult(clean=True)
    assert fake_clamd.commands == [b"zINSTREAM\0"]
    assert fake_clamd.received == [data]
    assert stream.tell() == 0


def test_clamd_found_reply_names_the_signature(fake_clamd: FakeClamd) -> None:
    fake_clamd.reply = b"stream: Win.Test.EICAR_HDB-1 FOUND\0"
    result = ClamdScanner(fake_clamd.socket_path, timeout=5).scan(io.BytesIO(EICAR_SIGNATURE))
    assert result == ScanResult(clean=False, signature="Win.Test.EICAR_HDB-1")


def test_clamd_error_reply_fails_closed(fake_clamd: FakeClamd) -> None:
    fake_clamd.reply = b"INSTREAM size limit exceeded. ERROR\0"
    with pytest.raises(Unavailable) as excinfo:
        ClamdScanner(fake_clamd.socket_path, timeout=5).scan(io.BytesIO(b"data"))
    assert excinfo.value.detail == "The virus scanner is unavailable."


def test_unreachable_clamd_fails_closed() -> None:
    with tempfile.TemporaryDirectory() as directory:
        scanner = ClamdScanner(os.path.join(directory, "missing.sock"), timeout=1)
        stream = io.BytesIO(b"data")
        with pytest.raises(Unavailable) as excinfo:
            scanner.scan(stream)
    assert excinfo.value.status == 503
    assert excinfo.value.detail == "The virus scanner is unavailable."
    assert stream.tell() == 0


def test_get_scanner_follows_the_setting(settings: Settings) -> None:
    settings.CHAT_CLAMD_SOCKET = ""
    assert isinstance(get_scanner(), EicarScanner)
    settings.CHAT_CLAMD_SOCKET = "/run/clamav/clamd.ctl"
    scanner = get_scanner()
    assert isinstance(scanner, ClamdScanner)
    assert scanner.socket_path == "/run/clamav/clamd.ctl"
