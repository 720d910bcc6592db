"""The benchmark's light WebSocket client: frames, masks, and no loss against the raw server.

No timing is asserted: figures come from ``make bench``, not from tests.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import load, wsclient

BASE_DIR = Path(__file__).resolve().parent.parent


def unmask(data: bytes, key: bytes) -> bytes:
    return bytes(byte ^ key[index % 4] for index, byte in enumerate(data))


def parse_client_frame(frame: bytes) -> tuple[int, bytes, bytes]:
    """(first byte, masking key, unmasked payload) of one whole client frame."""
    assert frame[1] & 0x80, "client frames must be masked"
    length = frame[1] & 0x7F
    offset = 2
    if length == 126:
        length = int.from_bytes(frame[2:4], "big")
        offset = 4
    elif length == 127:
        length = int.from_bytes(frame[2:10], "big")
        offset = 10
    key = frame[offset : offset + 4]
    payload = frame[offset + 4 :]
    assert len(payload) == length
    return frame[0], key, unmask(payload, key)


def server_frame(opcode: int, payload: bytes, *, final: bool = True) -> bytes:
    length = len(payload)
    first = (0x80 if final else 0) | opcode
    if length < 126:
        return bytes((first, length)) + payload
    if length < 65536:
        return bytes((first, 126)) + length.to_bytes(2, "big") + payload
    return bytes((first, 127)) + length.to_bytes(8, "big") + payload


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True


async def open_fake() -> tuple[wsclient.WebSocket, FakeTransport]:
    key = base64.b64encode(b"0123456789abcdef")
    ws = wsclient.WebSocket(b"GET / HTTP/1.1\r\n\r\n", key, max_size=2**20)
    transport = FakeTransport()
    ws.connection_made(transport)
    transport.written.clear()
    answer = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + wsclient.accept_value(key) + b"\r\n\r\n"
    )
    ws.data_received(answer)
    assert ws.handshake.done() and ws.handshake.exception() is None
    return ws, transport


@pytest.mark.parametrize("length", [0, 1, 125, 126, 65535, 65536, 70000])
def test_client_frames_are_masked_and_sized(length: int) -> None:
    payload = bytes(range(256)) * (length // 256) + bytes(range(length % 256))
    first, key, decoded = parse_client_frame(wsclient.encode_frame(wsclient.OP_TEXT, payload))
    assert first == 0x81
    assert decoded == payload
    assert len(key) == 4


async def test_frames_split_anywhere_are_parsed_in_order() -> None:
    ws, _ = await open_fake()
    got: list[bytes] = []
    ws.set_handler(lambda payload, now: got.append(payload))
    messages = [b"a", b"x" * 125, b"y" * 126, b"z" * 300, b"w" * 70000]
    stream = b"".join(server_frame(wsclient.OP_TEXT, message) for message in messages)
    for step in (1, 7, 4096):
        got.clear()
        for start in range(0, len(stream), step):
            ws.data_received(stream[start : start + step])
        assert got == messages


async def test_fragments_pings_and_close() -> None:
    ws, transport = await open_fake()
    got: list[bytes] = []
    ws.set_handler(lambda payload, now: got.append(payload))
    ws.data_received(
        server_frame(wsclient.OP_TEXT, b"hel", final=False)
        + server_frame(wsclient.OP_PING, b"are you there")
        + server_frame(wsclient.OP_CONTINUATION, b"lo", final=False)
        + server_frame(wsclient.OP_CONTINUATION, b"!")
    )
    assert got == [b"hello!"]
    first, _, payload = parse_client_frame(bytes(transport.written))
    assert (first, payload) == (0x80 | wsclient.OP_PONG, b"are you there")
    transport.written.clear()
    ws.data_received(server_frame(wsclient.OP_CLOSE, (4403).to_bytes(2, "big")))
    assert ws.close_code == 4403
    first, _, payload = parse_client_frame(bytes(transport.written))
    assert (first, payload) == (0x80 | wsclient.OP_CLOSE, (4403).to_bytes(2, "big"))
    assert transport.closing


async def test_a_masked_server_frame_ends_the_connection() -> None:
    ws, transport = await open_fake()
    ws.data_received(bytes((0x81, 0x80 | 1)) + b"abcd" + b"x")
    assert ws.close_code == 1002
    assert transport.closing


async def test_queued_messages_go_to_the_handler_first() -> None:
    ws, _ = await open_fake()
    ws.data_received(
        server_frame(wsclient.OP_TEXT, b"one") + server_frame(wsclient.OP_TEXT, b"two")
    )
    assert await ws.recv(timeout=1) == b"one"
    got: list[bytes] = []
    ws.set_handler(lambda payload, now: got.append(payload))
    ws.data_received(server_frame(wsclient.OP_TEXT, b"three"))
    assert got == [b"two", b"three"]


def test_client_id_is_found_without_decoding() -> None:
    assert load.client_id_of(b'{"message":{"client_id":"3-14","x":1}}') == b"3-14"
    assert load.client_id_of(b'{"message": {"client_id": "3-14"}}') == b"3-14"
    assert load.client_id_of(b'{"message":{"client_id":null}}') is None
    assert load.client_id_of(b'{"type":"pong"}') is None


@pytest.fixture
def raw_server() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, str(BASE_DIR / "bench" / "raw_server.py"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield f"ws://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_no_loss_against_the_raw_server(raw_server: str) -> None:
    target = load.Target(name="raw", base=raw_server)
    rooms = [
        load.Room(room_id=number, tokens=[f"t{number}x{n}" for n in range(5)])
        for number in (1, 2, 3)
    ]
    result = await load.run_load(target, rooms, mode="window", seconds=0.5)
    assert result["sent"] > 0
    assert result["deliveries"] == result["sent"] * 5
    assert (result["lost"], result["duplicates"], result["out_of_order"], result["seq_gaps"]) == (
        0,
        0,
        0,
        0,
    )
    assert result["errors"] == 0


async def test_a_refused_upgrade_raises_with_its_status(raw_server: str) -> None:
    with pytest.raises(wsclient.HandshakeError) as refused:
        await wsclient.connect(f"{raw_server}/not-a-room/", timeout=5)
    assert refused.value.status == 404
