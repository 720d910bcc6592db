"""Daphne with a request body limit: ``python -m academia.serve`` takes Daphne's arguments.

Daphne reads a request's whole body (to a temporary file past 100 kB) before the
application sees the request, so without a limit here any client, signed in or
not, could make a process receive and store gigabytes before its 401 or 413.
Twisted learns the length from the headers first (``gotLength``), so this server
answers a declared ``Content-Length`` above the limit with 413 and closes the
connection before the body is read; a chunked body is cut off the same way as
soon as what arrived passes the limit.

The limit is the largest body the API takes: an upload of CHAT_FILE_UPLOAD_LIMIT
bytes plus its multipart envelope (``chat.api.views.MULTIPART_OVERHEAD``).

On SIGTERM it stops gracefully, for rolling restarts: it stops listening,
closes every WebSocket with 1001 (going away; clients reconnect, to another
process or to this one restarted, and resume with ``after_seq``), lets each
socket's cleanup run and the writes in flight (requests, queued sends) finish,
for at most CHAT_SHUTDOWN_GRACE seconds, and only then cancels what is left
(plain Daphne cancels everything at once: no close frame, no cleanup).

Its access log (Daphne's default, on stdout) goes through logging as
``academia.access`` records, so it has time and level and follows CHAT_LOG_FORMAT;
``--access-log FILE`` still writes Daphne's own format to that file.

It also listens with a queue of CHAT_LISTEN_BACKLOG pending connections
(Twisted's default is 50): when a restarted process comes back, every client
reconnects at once, and connections beyond the queue would wait out TCP's SYN
retries (1, 3, 7, 15 s...) instead of being served.

Each connection's input queue is a LeanQueue rather than an ``asyncio.Queue``
(the same order and waiting), and WebSockets read autobahn's settings from
their factory rather than copying them (LeanWebSocketProtocol): a few KiB less
for every idle WebSocket.
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys
from functools import partial
from typing import Any

from daphne.access import AccessLogGenerator
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from twisted.internet import defer
from twisted.internet import reactor as installed_reactor

from academia import logs
from academia.logs import AccessLog

# The reactor Daphne installed: Twisted types the module, not the reactor it stands for.
reactor: Any = installed_reactor


def max_request_body() -> int:
    from django.conf import settings

    from chat.api.views import MULTIPART_OVERHEAD

    return int(settings.CHAT_FILE_UPLOAD_LIMIT) + MULTIPART_OVERHEAD


def with_backlog(endpoint: str) -> str:
    """A TCP endpoint description with CHAT_LISTEN_BACKLOG, unless it sets its own."""
    from django.conf import settings

    if endpoint.startswith(("tcp:", "tcp6:")) and "backlog=" not in endpoint:
        return f"{endpoint}:backlog={int(settings.CHAT_LISTEN_BACKLOG)}"
    return endpoint


GOING_AWAY = 1001


class BoundedWebRequest(WebRequest):
    """A request whose body may not exceed the server's ``max_request_body``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refused = False
        self.received = 0
        # Twisted would parse a form body (multipart or URL-encoded) into
        # ``request.args``, which Daphne never reads, in the event loop: 150 000
        # empty parts, from anyone, held every socket of the process for seconds.
        # The application parses the bodies it takes, after authentication.
        self._parsePOSTFormSubmission = False

    def gotLength(self, length: int | None) -> None:
        if length is not None and length > self.server.max_request_body:
            self.refuse()
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self.refused:
            return
        self.received += len(data)
        if self.received > self.server.max_request_body:
            self.refuse()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self.refused:  # the body arrived with the headers, but the answer is given
            return
        super().requestReceived(command, path, version)

    def cors_headers(self) -> str:
        """The CORS answer the application gives an origin of CHAT_CORS_ALLOWED_ORIGINS,
        so a frontend there can read this 413 too (else a browser shows no answer)."""
        from django.conf import settings

        origin = (self.getHeader(b"origin") or b"").decode("latin-1")
        if origin not in settings.CHAT_CORS_ALLOWED_ORIGINS:
            return ""
        return (
            f"Access-Control-Allow-Origin: {origin}\r\n"
            "Access-Control-Expose-Headers: Retry-After, X-Request-ID\r\n"
            "Vary: Origin\r\n"
        )

    def handle_reply(self, message: dict[str, Any]) -> None:
        """Daphne writes the access line while it handles the response's last part:
        the id the application answered with (``X-Request-ID``) is the line's
        ``request_id`` then, as it is for the application's own lines."""
        if message.get("type") == "http.response.start":
            self.request_id = next(
                (
                    value.decode("latin-1")
                    for name, value in message.get("headers", ())
                    if name.lower() == b"x-request-id"
                ),
                None,
            )
        with logs.request_id_bound(getattr(self, "request_id", None)):
            super().handle_reply(message)

    def refuse(self) -> None:
        """413 and close, without reading (or storing) the rest of the body."""
        if self.refused:
            return
        self.refused = True
        content = getattr(self, "content", None)
        if content is not None:
            content.close()  # drop what was stored of the body
        self.content = None
        # Twisted would answer "Expect: 100-continue" right after this method.
        self.requestHeaders.removeHeader(b"expect")
        limit = self.server.max_request_body
        body = json.dumps(
            {
                "detail": f"The request body is too large (at most {limit} bytes).",
                "code": "upload_too_large",
            }
        ).encode()
        head = (
            "HTTP/1.1 413 Content Too Large\r\n"
            "Content-Type: application/json\r\n"
            f"{self.cors_headers()}"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        self.channel.transport.write(head + body)
        self.channel.loseConnection()


class BoundedHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = BoundedWebRequest
        return protocol


class LeanQueue:
    """A connection's input queue (Daphne's ``create_application``), with what Daphne
    and an ASGI application use of ``asyncio.Queue``: ``put_nowait`` and ``get``.

    ``asyncio.Queue`` holds four deques and an Event from birth, about 3 KiB for
    every connection, most of them idle WebSockets; this one holds its items only
    while some wait to be read, and one future while the application waits. Items
    stay in the queue until a ``get`` returns them, so a cancelled ``get`` loses
    nothing. Unbounded, as Daphne's is: the consumers bound what they queue."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: collections.deque[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = collections.deque()
        self._items.append(item)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            if self._waiter is None or self._waiter.done():
                self._waiter = asyncio.get_running_loop().create_future()
            # Shielded: a getter that is cancelled leaves the future to the others.
            await asyncio.shield(self._waiter)
        assert self._items is not None
        item = self._items.popleft()
        if not self._items:
            self._items = None
        return item

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    def empty(self) -> bool:
        return not self._items


class FromFactory:
    """A protocol setting read from its factory until the protocol sets its own (a
    non-data descriptor: an instance attribute of the same name wins)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, protocol: Any, owner: type | None = None) -> Any:
        if protocol is None:
            return self
        return getattr(protocol.factory, self.name)


class LeanWebSocketProtocol(WebSocketProtocol):
    """Daphne's WebSocket protocol without autobahn's per-connection copy of its
    ~30 factory settings (``CONFIG_ATTRS``): they are read from the factory, which
    every connection shares, so each open socket's attribute table stays smaller,
    and the handshake no longer pretty-prints them for a debug log that is off."""

    CONFIG_ATTRS: tuple[str, ...] = ()

    def serverClose(self, code: int | None = None) -> None:
        """The application's close. autobahn's ``sendClose`` takes only 1000 and
        3000 to 4999 from an application and raised for the protocol's own codes an
        endpoint may send (1008 for a client flooding frames): the socket then
        ended with 1011. Those go out as the close frame itself, as Daphne's own
        errors do."""
        if code is not None and 1000 < code < 3000:
            self.sendCloseFrame(code=code, isReply=False)
            return
        super().serverClose(code=code)


for _setting in WebSocketProtocol.CONFIG_ATTRS:
    setattr(LeanWebSocketProtocol, _setting, FromFactory(_setting))


class BoundedServer(Server):
    """Daphne's server with ``BoundedHTTPFactory`` (``Server.run`` assigns
    ``self.http_factory = HTTPFactory(self)``; the property swaps in ours)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_request_body = max_request_body()
        self.endpoints: list[str] = [with_backlog(endpoint) for endpoint in self.endpoints]
        self.action_logger: Any
        if (
            isinstance(self.action_logger, AccessLogGenerator)
            and self.action_logger.stream is sys.stdout
        ):
            # The default access log (stdout) goes through logging instead, so its
            # lines have time and level, and are JSON with CHAT_LOG_FORMAT=json.
            self.action_logger = AccessLog()

    def kill_all_applications(self) -> Any:
        """At shutdown: close gracefully first (see the module's docstring)."""
        import time

        from django.conf import settings
        from twisted.internet import tcp

        for reader in reactor.getReaders():
            if isinstance(reader, tcp.Port):
                reader.stopListening()  # no new connections while draining
        for protocol in list(self.connections):
            if getattr(protocol, "state", None) == getattr(protocol, "STATE_OPEN", object()):
                # autobahn's sendClose refuses 1001 from an application; the frame
                # itself is what Daphne sends for its own errors.
                protocol.sendCloseFrame(code=GOING_AWAY, isReply=False)
        deadline = time.monotonic() + float(settings.CHAT_SHUTDOWN_GRACE)
        finished: defer.Deferred[None] = defer.Deferred()

        def check() -> None:
            if self._busy() and time.monotonic() < deadline:
                reactor.callLater(0.05, check)
                return
            # What is left is cancelled, as Daphne does (a connection that was
            # upgraded to a WebSocket has no application of its own).
            left = [instance for instance in self._applications() if not instance.done()]
            for instance in left:
                instance.cancel()
            waited = defer.Deferred.fromFuture(asyncio.gather(*left, return_exceptions=True))
            waited.addBoth(lambda _: finished.callback(None))

        check()
        return finished

    def _applications(self) -> list[Any]:
        return [
            details["application_instance"]
            for details in list(self.connections.values())
            if details.get("application_instance") is not None
        ]

    def _busy(self) -> bool:
        """Applications still running (a socket's cleanup, a request) or sends
        still being written."""
        from chat.consumers.hub import running_hub

        if any(not instance.done() for instance in self._applications()):
            return True
        hub = running_hub()
        return hub is not None and hub.busy()

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        """Daphne's, with a LeanQueue for the connection's input."""
        assert "application_instance" not in self.connections[protocol]
        input_queue = LeanQueue()
        scope.setdefault("asgi", {"version": "3.0"})
        application_instance = self.application(
            scope=scope, receive=input_queue.get, send=partial(self.handle_reply, protocol)
        )
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            application_instance, loop=asyncio.get_event_loop()
        )
        return input_queue

    @property
    def ws_factory(self) -> WebSocketFactory:
        return self._ws_factory

    @ws_factory.setter
    def ws_factory(self, factory: WebSocketFactory) -> None:
        factory.protocol = LeanWebSocketProtocol
        self._ws_factory = factory

    @property
    def http_factory(self) -> HTTPFactory:
        return self._http_factory

    @http_factory.setter
    def http_factory(self, factory: HTTPFactory) -> None:
        self._http_factory = BoundedHTTPFactory(self)


class BoundedCommandLineInterface(CommandLineInterface):
    server_class = BoundedServer


if __name__ == "__main__":
    BoundedCommandLineInterface.entrypoint()
