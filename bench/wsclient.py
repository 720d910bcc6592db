"""A light RFC 6455 WebSocket client on ``asyncio.BufferedProtocol``, for the load benchmark.

A general-purpose client (the ``websockets`` library) spends about 13 µs of one
core per received frame and so stops near 75 k frames/s, below what the raw
server can send; this one parses frames straight out of the bytes the transport
hands over and gives each text message to a callback as ``bytes``, with no
decoding, so one core absorbs well over 100 k frames/s.

What it does:

- the HTTP/1.1 upgrade handshake with extra headers (``Authorization: Token ...``),
  checking ``101`` and ``Sec-WebSocket-Accept``; anything else raises
  :class:`HandshakeError` with the status;
- client frames masked with a fresh random key each (RFC 6455 section 5.3);
- server frames: text (reassembled when fragmented), ping (answered with a pong),
  pong (ignored), close (answered, then the connection ends); binary messages
  are counted and dropped; a masked server frame, a frame over ``max_size`` or a
  continuation out of place ends the connection with 1002/1009.

No extensions (no compression), no TLS: ``ws://`` only.

Use it either with ``await ws.recv()`` (messages queue until read) or, for load,
with ``ws.set_handler(callback)``: from then on every text message (first those
already queued) is handed to ``callback(payload, received_at)`` as it is parsed,
where ``received_at`` is ``time.perf_counter()`` when its bytes arrived.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import hashlib
import os
import time
from collections.abc import Callable, Mapping
from typing import cast
from urllib.parse import urlsplit

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA
MAX_HANDSHAKE_BYTES = 65536
RECEIVE_BUFFER_BYTES = 131072

TextHandler = Callable[[bytes, float], None]


class HandshakeError(Exception):
    """The server did not switch protocols (``status`` is None when it sent no
    status line, e.g. the connection was closed first)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ConnectionClosed(Exception):
    """The connection ended (``code`` is the close code received, if any)."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"connection closed (code {code})")
        self.code = code


def mask(payload: bytes, key: bytes) -> bytes:
    """XOR ``payload`` with the 4-byte ``key`` repeated (its own inverse)."""
    length = len(payload)
    if not length:
        return b""
    repeated = (key * ((length >> 2) + 1))[:length]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(repeated, "little")).to_bytes(
        length, "little"
    )


def encode_frame(opcode: int, payload: bytes, *, key: bytes | None = None) -> bytes:
    """One final, masked client frame."""
    length = len(payload)
    if length < 126:
        header = bytes((0x80 | opcode, 0x80 | length))
    elif length < 65536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
    if key is None:
        key = os.urandom(4)
    return header + key + mask(payload, key)


def accept_value(key: bytes) -> bytes:
    """The ``Sec-WebSocket-Accept`` a server must answer to ``key``."""
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


class WebSocket(asyncio.BufferedProtocol):
    """One client connection. Create it with :func:`connect`."""

    # One receive buffer for every connection of the process: the transport reads
    # into it and ``buffer_updated`` copies the bytes out before the next read, so
    # no read allocates (``asyncio.Protocol`` allocates its 256 KiB maximum on every
    # read and then shrinks it, which costs more than the parsing).
    _scratch = memoryview(bytearray(RECEIVE_BUFFER_BYTES))

    def __init__(self, request: bytes, key: bytes, *, max_size: int) -> None:
        loop = asyncio.get_running_loop()
        self._request = request
        self._key = key
        self.max_size = max_size
        self.transport: asyncio.Transport | None = None
        self.handshake: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[int | None] = loop.create_future()
        self.on_text: TextHandler | None = None
        self.close_code: int | None = None
        self.binary_dropped = 0
        self._inbox: collections.deque[tuple[bytes, float]] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._head = b""
        self._buffer = b""
        self._fragments: list[bytes] | None = None
        self._closing = False

    # --- asyncio.BufferedProtocol -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self._request)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._scratch

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(self._scratch[:nbytes].tobytes())

    def data_received(self, data: bytes) -> None:
        if not self.handshake.done():
            data = self._handshake_received(data)
            if not data:
                return
        self._frames_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.handshake.done():
            self.handshake.set_exception(HandshakeError(f"connection lost: {exc}"))
        if not self.closed.done():
            self.closed.set_result(self.close_code)
        self._wake()

    # --- handshake ----------------------------------------------------------------------

    def _handshake_received(self, data: bytes) -> bytes:
        """Parse the upgrade answer; return the bytes after it (frames)."""
        head = self._head + data
        end = head.find(b"\r\n\r\n")
        if end < 0:
            if len(head) > MAX_HANDSHAKE_BYTES:
                self._fail_handshake(HandshakeError("handshake answer too long"))
            else:
                self._head = head
            return b""
        self._head = b""
        lines = head[:end].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        try:
            status = int(parts[1])
        except (IndexError, ValueError):
            self._fail_handshake(HandshakeError(f"bad status line {lines[0]!r}"))
            return b""
        if status != 101:
            self._fail_handshake(HandshakeError(f"HTTP {status}", status))
            return b""
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("upgrade", "").lower() != "websocket":
            self._fail_handshake(HandshakeError("no Upgrade: websocket", status))
            return b""
        if headers.get("sec-websocket-accept", "").encode() != accept_value(self._key):
            self._fail_handshake(HandshakeError("wrong Sec-WebSocket-Accept", status))
            return b""
        self.handshake.set_result(None)
        return head[end + 4 :]

    def _fail_handshake(self, error: HandshakeError) -> None:
        if not self.handshake.done():
            self.handshake.set_exception(error)
        if self.transport is not None:
            self.transport.abort()

    # --- frames -------------------------------------------------------------------------

    def _frames_received(self, data: bytes) -> None:
        if self._buffer:
            data = self._buffer + data
        size = len(data)
        position = 0
        handler = self.on_text
        now = time.perf_counter()
        while size - position >= 2:
            first = data[position]
            length = data[position + 1]
            if length < 126:
                start = position + 2
            elif length == 126:
                if size - position < 4:
                    break
                length = (data[position + 2] << 8) | data[position + 3]
                start = position + 4
            elif length == 127:
                if size - position < 10:
                    break
                length = int.from_bytes(data[position + 2 : position + 10], "big")
                start = position + 10
            else:  # the mask bit: servers must not mask
                self._fail(1002)
                return
            if length > self.max_size:
                self._fail(1009)
                return
            end = start + length
            if end > size:
                break
            if first == 0x81 and handler is not None and self._fragments is None:
                handler(data[start:end], now)
            else:
                self._frame(first, data[start:end], now)
                if self.transport is not None and self.transport.is_closing():
                    self._buffer = b""
                    return
                handler = self.on_text
            position = end
        self._buffer = data[position:] if position < size else b""

    def _frame(self, first: int, payload: bytes, now: float) -> None:
        """Every frame but an unfragmented text message while a handler is set."""
        opcode = first & 0x0F
        final = bool(first & 0x80)
        if first & 0x70:  # RSV bits: no extension was negotiated
            self._fail(1002)
        elif opcode in (OP_TEXT, OP_BINARY):
            if self._fragments is not None:
                self._fail(1002)
            elif not final:
                self._fragments = [bytes((opcode,)), payload]
            else:
                self._message(opcode, payload, now)
        elif opcode == OP_CONTINUATION:
            if self._fragments is None:
                self._fail(1002)
                return
            self._fragments.append(payload)
            if sum(len(part) for part in self._fragments) > self.max_size:
                self._fail(1009)
            elif final:
                kind, *parts = self._fragments
                self._fragments = None
                self._message(kind[0], b"".join(parts), now)
        elif opcode == OP_PING:
            self._write(OP_PONG, payload)
        elif opcode == OP_PONG:
            pass
        elif opcode == OP_CLOSE:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            if not self._closing:
                self._closing = True
                self._write(OP_CLOSE, payload[:2])
            if self.transport is not None:
                self.transport.close()
        else:
            self._fail(1002)

    def _message(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == OP_BINARY:
            self.binary_dropped += 1
        elif self.on_text is not None:
            self.on_text(payload, now)
        else:
            self._inbox.append((payload, now))
            self._wake()

    def _fail(self, code: int) -> None:
        self.close_code = code
        self._closing = True
        if self.transport is not None:
            self._write(OP_CLOSE, code.to_bytes(2, "big"))
            self.transport.abort()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _write(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_frame(opcode, payload))

    # --- public -------------------------------------------------------------------------

    @property
    def open(self) -> bool:
        return self.handshake.done() and not self.closed.done() and not self._closing

    def send_text(self, text: str | bytes) -> None:
        """Queue one text message (a single masked frame) on the transport."""
        if not self.open:
            raise ConnectionClosed(self.close_code)
        payload = text.encode() if isinstance(text, str) else text
        assert self.transport is not None
        self.transport.write(encode_frame(OP_TEXT, payload))

    async def recv(self, timeout: float | None = None) -> bytes:
        """The next text message not handed to ``on_text``."""
        async with asyncio.timeout(timeout):
            while not self._inbox:
                if self.closed.done():
                    raise ConnectionClosed(self.close_code)
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter
        return self._inbox.popleft()[0]

    def set_handler(self, handler: TextHandler) -> None:
        """Hand every text message to ``handler`` from now on, first those queued."""
        while self._inbox:
            payload, received_at = self._inbox.popleft()
            handler(payload, received_at)
        self.on_text = handler

    async def close(self, code: int = 1000, timeout: float = 5.0) -> None:
        """Send a close frame, wait for the server's (or the end), then drop the socket."""
        if self.transport is None:
            return
        if not self._closing and not self.closed.done():
            self._closing = True
            self._write(OP_CLOSE, code.to_bytes(2, "big"))
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)
        except TimeoutError:
            pass
        finally:
            self.transport.abort()

    def abort(self) -> None:
        """Drop the TCP connection at once, with no closing handshake."""
        if self.transport is not None:
            self.transport.abort()


async def connect(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    max_size: int = 2**20,
) -> WebSocket:
    """Open ``ws://host:port/path?query`` and complete the upgrade handshake."""
    parts = urlsplit(url)
    if parts.scheme != "ws" or not parts.hostname:
        raise ValueError(f"only ws:// URLs: {url!r}")
    host = parts.hostname
    port = parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    key = base64.b64encode(os.urandom(16))
    lines = [
        f"GET {target} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key.decode()}",
        "Sec-WebSocket-Version: 13",
    ]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout):
        _, protocol = await loop.create_connection(
            lambda: WebSocket(request, key, max_size=max_size), host, port
        )
        try:
            await protocol.handshake
        except BaseException:
            protocol.abort()
            raise
    return protocol
