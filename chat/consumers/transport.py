"""Broadcast frames on Daphne's own connections: framed once, written at once.

Daphne hands every ``websocket.send`` to autobahn, which frames the text again
for each socket and gives it to Twisted, which buffers it and asks the event
loop to tell it when the socket is writable (two ``epoll_ctl`` calls and a
loop turn per frame and socket). For an event going to hundreds of sockets the
hub instead frames it once (autobahn's prepared messages) and writes the bytes
straight to each socket whose Twisted buffer is empty, leaving only what the
kernel did not take to Twisted. Anything unusual (TLS on the connection,
per-message compression, a frame already queued) goes the ordinary way.

Under other servers (uvicorn, the test communicator) ``wire_of`` is None and
sockets send through the ASGI ``send`` as usual.
"""

from __future__ import annotations

import functools
from typing import Any


def _send_after_close_errors() -> tuple[type[BaseException], ...]:
    """What a server's ``send`` raises for a connection the client already closed:
    autobahn's ``Disconnected`` under Daphne, an ``OSError`` (uvicorn's
    ``ClientDisconnected`` is one) elsewhere."""
    try:
        from autobahn.exception import Disconnected
    except ImportError:
        return (OSError,)
    return (Disconnected, OSError)


SEND_AFTER_CLOSE = _send_after_close_errors()


def wire_of(send: Any) -> Any:
    """The autobahn protocol behind an ASGI ``send`` made by Daphne, else None."""
    if isinstance(send, functools.partial) and send.args:
        protocol = send.args[0]
        if hasattr(protocol, "sendPreparedMessage") and hasattr(protocol, "factory"):
            return protocol
    return None


def prepare(wire: Any, text: str) -> Any:
    """``text`` framed once, for every socket of this server."""
    return wire.factory.prepareMessage(text.encode())


def buffered(wire: Any) -> int:
    """Bytes written to this socket that the client has not taken yet."""
    transport = wire.transport
    return len(transport.dataBuffer) + transport._tempDataLen


def send_prepared(wire: Any, prepared: Any) -> None:
    """Write one prepared frame to one open socket."""
    if wire._perMessageCompress is not None or wire.send_queue:
        wire.sendPreparedMessage(prepared)
        return
    data = prepared.payloadHybi
    transport = wire.transport
    if (
        getattr(transport, "TLS", True)
        or transport.dataBuffer
        or transport._tempDataBuffer
        or not transport.connected
        or transport.disconnecting
    ):
        transport.write(data)
        return
    try:
        sent = transport.socket.send(data)
    except (BlockingIOError, InterruptedError):
        sent = 0
    except OSError:
        transport.write(data)  # Twisted notices the broken connection
        return
    if sent < len(data):
        transport.write(data[sent:])
