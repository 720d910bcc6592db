"""Virus scanning of uploads: clamd when configured, otherwise an EICAR-only stand-in.

Scanners fail closed: when clamd cannot be reached or answers with an error the upload is
refused with ``Unavailable`` rather than stored unscanned.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from django.conf import settings
from django.utils.translation import gettext_lazy

from chat.errors import Unavailable

EICAR_SIGNATURE = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_NAME = "Eicar-Test-Signature"
CHUNK_SIZE = 64 * 1024
UNAVAILABLE_DETAIL = gettext_lazy("The virus scanner is unavailable.")


@dataclass(frozen=True)
class ScanResult:
    clean: bool
    signature: str | None = None


class Scanner(Protocol):
    def scan(self, stream: BinaryIO) -> ScanResult:
        """Scan ``stream`` from its start; leave it rewound to position 0."""
        ...


class EicarScanner:
    """Finds the EICAR test string anywhere in the stream; for development and tests."""

    def scan(self, stream: BinaryIO) -> ScanResult:
        overlap = len(EICAR_SIGNATURE) - 1
        tail = b""
        stream.seek(0)
        try:
            while chunk := stream.read(CHUNK_SIZE):
                window = tail + chunk
                if EICAR_SIGNATURE in window:
                    return ScanResult(clean=False, signature=EICAR_NAME)
                tail = window[-overlap:]
            return ScanResult(clean=True)
        finally:
            stream.seek(0)


class ClamdScanner:
    """Streams the file to clamd over its UNIX socket with ``zINSTREAM``."""

    def __init__(self, socket_path: str, *, timeout: float = 30.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def scan(self, stream: BinaryIO) -> ScanResult:
        stream.seek(0)
        try:
            reply = self._instream(stream)
        except OSError as exc:
            raise Unavailable(UNAVAILABLE_DETAIL) from exc
        finally:
            stream.seek(0)
        return self._parse(reply)

    def _instream(self, stream: BinaryIO) -> bytes:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(self.timeout)
            conn.connect(self.socket_path)
            conn.sendall(b"zINSTREAM\0")
            while chunk := stream.read(CHUNK_SIZE):
                conn.sendall(struct.pack("!I", len(chunk)) + chunk)
            conn.sendall(struct.pack("!I", 0))
            reply = b""
            while not reply.endswith(b"\0"):
                data = conn.recv(4096)
                if not data:
                    break
                reply += data
        return reply

    @staticmethod
    def _parse(reply: bytes) -> ScanResult:
        text = reply.rstrip(b"\0\n").decode("utf-8", "replace").strip()
        _, _, verdict = text.partition(": ")
        if verdict == "OK":
            return ScanResult(clean=True)
        if verdict.endswith(" FOUND"):
            return ScanResult(clean=False, signature=verdict.removesuffix(" FOUND").strip())
        # "… ERROR" (e.g. the stream size limit) or an unexpected answer: refuse the upload.
        raise Unavailable(UNAVAILABLE_DETAIL)


def get_scanner() -> Scanner:
    """clamd when ``CHAT_CLAMD_SOCKET`` is set, otherwise the EICAR-only scanner."""
    if settings.CHAT_CLAMD_SOCKET:
        return ClamdScanner(settings.CHAT_CLAMD_SOCKET)
    return EicarScanner()
