"""What every socket shares: frame parsing, error frames, re-checking credentials,
its place in the process hub (chat.consumers.hub) and its registration."""

from __future__ import annotations

import contextlib
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import DatabaseError
from django.utils import translation
from django.utils.translation import gettext_lazy

from academia import logs, metrics
from accounts.languages import socket_language
from chat import errors, wire
from chat.consumers.db import run_sync
from chat.consumers.hub import Hub, get_hub, socket_key
from chat.consumers.transport import SEND_AFTER_CLOSE, buffered, send_prepared, wire_of
from chat.errors import lazy_interpolate
from chat.services import audit
from chat.ws_auth import credentials_still_valid

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_HEARTBEAT = 4408
CLOSE_TOO_LARGE = 4413
CLOSE_TOO_MANY_SOCKETS = 4429
CLOSE_POLICY_VIOLATION = 1008  # sustained frames past twice CHAT_WS_FRAME_RATE

MAX_DEPTH = 8
AUTH_CACHE_SECONDS = 1.0
RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|sec|m|min|h|hour|d|day)\s*$")
RATE_UNITS = {
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}


class CloseSocket(Exception):
    """Raised inside a frame's handling: end the socket with ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def signed_out(sockets: Sequence[SocketConsumer], *, force: bool = False) -> set[SocketConsumer]:
    """The sockets whose session or token ended, checked together in a database
    thread (a socket checked less than AUTH_CACHE_SECONDS ago is taken as good
    unless ``force``)."""
    now = time.monotonic()
    due = list(
        {
            id(socket): socket
            for socket in sockets
            if force or now - socket.auth_checked >= AUTH_CACHE_SECONDS
        }.values()
    )
    if not due:
        return set()
    valid = credentials_still_valid([socket.credentials() for socket in due])
    now = time.monotonic()
    ended = set()
    for socket, still_valid in zip(due, valid, strict=True):
        if still_valid:
            socket.auth_checked = now
        else:
            ended.add(socket)
    return ended


def _depth(value: Any) -> int:
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_frame(text: str) -> dict[str, Any]:
    """A client frame: a JSON object with a string ``type``, nested at most MAX_DEPTH deep."""
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise errors.BadRequest(gettext_lazy("Frames must be JSON.")) from None
    if not isinstance(frame, dict):
        raise errors.BadRequest(gettext_lazy("A frame must be a JSON object."))
    if _depth(frame) > MAX_DEPTH:
        raise errors.BadRequest(gettext_lazy("The frame is nested too deeply."))
    if not isinstance(frame.get("type"), str):
        raise errors.BadRequest(gettext_lazy("Missing field: type."))
    return frame


def frame_ref(frame: dict[str, Any] | None) -> str | None:
    """What an error frame's ``ref`` echoes: the client_id, else the type."""
    if not frame:
        return None
    client_id = frame.get("client_id")
    if isinstance(client_id, str) and client_id:
        return client_id[:64]
    kind = frame.get("type")
    return kind[:64] if isinstance(kind, str) else None


def refusal_ref(text: str | None) -> str | None:
    """``ref`` of a frame refused before it is handled (over the frame rate): its
    client_id or type when it parses, else null."""
    if text is None:
        return None
    try:
        return frame_ref(parse_frame(text))
    except errors.ChatError:
        return None


def parse_rate(rate: str) -> tuple[int, int]:
    """``"20/10s"`` → (20, 10): at most 20 in each 10-second window."""
    match = RATE_RE.match(rate)
    if match is None:
        raise ValueError(f"Bad rate: {rate!r}")
    count, multiple, unit = match.groups()
    return int(count), int(multiple or 1) * RATE_UNITS[unit]


def check_send_rate(user_id: int) -> None:
    """Count one write of the user against CHAT_WS_SEND_RATE, shared by all their
    sockets on every process (the counter lives in the cache); RateLimited when over."""
    refused = count_sends(user_id, 1)
    if refused:
        raise refused[0]


def count_sends(user_id: int, count: int) -> list[errors.RateLimited]:
    """Count ``count`` writes of the user at once (one Redis round trip); the
    refusal of each write over CHAT_WS_SEND_RATE, in order (empty: all allowed)."""
    limit, period = parse_rate(getattr(settings, "CHAT_WS_SEND_RATE", "20/10s"))
    now = time.time()
    window = int(now // period)
    key = f"chat:ws-rate:{user_id}:{window}"
    try:
        used = _add_to_counter(key, count, timeout=period + 1)
    except Exception:
        # The cache (Redis) is down: sends keep working, unlimited, as the REST
        # throttles do (academia.rest.throttles), and the outage is logged.
        logger.warning("send rate not counted: the cache is unavailable", exc_info=True)
        return []
    over = min(count, max(0, used - limit))
    retry_after = math.ceil((window + 1) * period - now)
    return [errors.RateLimited(retry_after=retry_after) for _ in range(over)]


def _add_to_counter(key: str, count: int, *, timeout: int) -> int:
    """Add ``count`` to the cache's counter ``key`` (made with ``timeout``); its new value.

    On Django's Redis cache, INCRBY and EXPIRE in one pipeline: one round trip where
    the cache API takes three (``add``, then ``incr``, which checks that the key
    exists first). Integers are stored as plain numbers there, so ``cache.get``
    reads the same counter. Other caches go through the cache API."""
    backend = caches["default"]  # ``cache`` is a proxy: isinstance does not see through it
    redis_cache = getattr(backend, "_cache", None)
    if isinstance(backend, RedisCache) and redis_cache is not None:
        cache_key = backend.make_and_validate_key(key)
        pipeline = redis_cache.get_client(cache_key, write=True).pipeline(transaction=False)
        pipeline.incrby(cache_key, count)
        pipeline.expire(cache_key, timeout)
        return int(pipeline.execute()[0])
    cache.add(key, 0, timeout=timeout)
    try:
        return int(cache.incr(key, count))
    except ValueError:
        cache.set(key, count, timeout=timeout)
        return count


@dataclass(frozen=True)
class ClientFrame:
    """One client frame type, declared once in its consumer's ``frames`` table.

    ``required``: the fields it must carry (else ``bad_request``). It is handled
    by ``call``, a sync function ``(socket, frame)`` run in a database thread
    after the credentials are re-checked (services and selectors), or by ``run``,
    an async one for a frame with its own path (queued sends, typing, ping).
    A ``write`` is counted against CHAT_WS_SEND_RATE and handled after the
    socket's queued ``message.send`` frames, so a client's frames keep their
    order. Every frame counts against CHAT_WS_FRAME_RATE before any of this.
    Failures are raised as ChatError (an ``error`` frame) or CloseSocket.
    """

    required: tuple[str, ...] = ()
    call: Callable[[Any, dict[str, Any]], Any] | None = None
    run: Callable[[Any, dict[str, Any]], Awaitable[Any]] | None = None
    write: bool = False


class SocketConsumer(AsyncWebsocketConsumer):
    """Base of the room and presence sockets.

    A socket owns no channel-layer channel: the process hub receives each event
    once and hands it to the sockets that want it. Client frames are declared in
    ``frames`` (frame type → ClientFrame) and handled by one path (``receive``,
    ``handle``); a client's ``type`` never names a method. Every outcome of a
    frame is a broadcast event or an ``error`` frame; the socket stays open
    unless the user's credentials or access ended.
    """

    frames: ClassVar[dict[str, ClientFrame]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user: Any = None
        # What its error frames speak: the user's setting, else the handshake's
        # Accept-Language (consumers run outside the request middleware).
        self.language = str(settings.LANGUAGE_CODE)
        self.hub: Hub | None = None
        self.key = ""
        self.closed = False
        self.registered = False
        self.last_activity = time.monotonic()
        self.next_check = 0.0
        self.auth_checked = 0.0
        self.ws_protocol: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Only the client's messages: no channel of its own (see chat.consumers.hub)."""
        self.scope = scope
        self.channel_layer = None
        self.channel_name = ""
        self.server_send = send
        self.base_send = self.send_unless_gone
        self.ws_protocol = wire_of(send)
        with contextlib.suppress(StopConsumer):
            while True:
                await self.dispatch(await receive())

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "websocket.receive":
            await self.websocket_receive(message)
        elif kind == "websocket.connect":
            await self.websocket_connect(message)
        elif kind == "websocket.disconnect":
            await self.disconnect(message.get("code", 1000))
            raise StopConsumer

    # --- sending ----------------------------------------------------------------------

    async def send_unless_gone(self, message: dict[str, Any]) -> None:
        """Every message to the server. A client that closed while an answer was on
        its way (three pings, then close) makes the server's send raise: that would
        end the consumer before its ``websocket.disconnect`` arrives, so its cleanup
        would never run (its presence row kept alive, until the user's sockets were
        all "in use" and the next was closed with 4429). The disconnect follows."""
        try:
            await self.server_send(message)
        except SEND_AFTER_CLOSE:
            logger.debug("the client went away before a %s", message["type"])
            self.closed = True

    async def send_text(self, text: str) -> None:
        if not self.closed and not self.over_buffer():
            metrics.frame_out(text)
            await self.base_send({"type": "websocket.send", "text": text})

    def send_prepared(self, prepared: Any) -> None:
        """A frame the hub framed once for every socket of the server (chat.consumers.transport)."""
        protocol = self.ws_protocol
        if not self.closed and protocol.state == protocol.STATE_OPEN and not self.over_buffer():
            send_prepared(protocol, prepared)

    def over_buffer(self) -> bool:
        """A client that does not read while its room is busy would make the server
        buffer without limit: past CHAT_WS_MAX_BUFFER_BYTES waiting to be sent, its
        connection is dropped (it reconnects and resumes with ``after_seq``)."""
        protocol = self.ws_protocol
        if protocol is None or buffered(protocol) <= int(settings.CHAT_WS_MAX_BUFFER_BYTES):
            return False
        logger.warning("dropping a socket of user %s that does not read", self.user.pk)
        self.closed = True
        protocol.dropConnection(abort=True)
        return True

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.send_text(orjson.dumps(frame).decode())

    async def send_error(self, error: errors.ChatError, ref: str | None) -> None:
        retry_after = error.retry_after if isinstance(error, errors.RateLimited) else None
        with translation.override(self.language):
            detail = str(error.detail)
        await self.send_frame(wire.error(error.code, detail, ref, retry_after=retry_after))

    async def end(self, code: int) -> None:
        if not self.closed:
            self.closed = True
            await self.close(code=code)

    # --- connect / disconnect -----------------------------------------------------------

    async def authenticate(self) -> bool:
        """Accept, and close with 4401 if the handshake carried no valid credentials;
        else take this socket's place in the process hub."""
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.end(CLOSE_UNAUTHENTICATED)
            return False
        self.user = user
        self.language = socket_language(user, self.scope.get("headers", []))
        self.auth_checked = time.monotonic()
        self.key = socket_key()
        self.hub = get_hub()
        # After get_hub: the hub's own tasks must not inherit this socket's log context.
        logs.bind_socket(self.scope, socket_id=self.key, user_id=user.pk)
        await self.hub.add_socket(self)
        return True

    async def register(self) -> bool:
        """Count this socket for the user's presence (online across processes).
        False, and the socket closed with 4429, when the user has
        CHAT_WS_MAX_SOCKETS_PER_USER sockets already."""
        assert self.hub is not None
        if not await self.hub.register("open", self.user, self.key):
            await self.end(CLOSE_TOO_MANY_SOCKETS)
            return False
        self.registered = True
        return True

    def start(self) -> None:
        """The socket is set up: the hub's ticker watches it from now on."""
        self.last_activity = time.monotonic()
        self.next_check = self.last_activity + float(
            getattr(settings, "CHAT_WS_REVALIDATE_SECONDS", 15)
        )

    async def disconnect(self, code: int) -> None:
        self.closed = True
        if self.hub is None:
            return
        try:
            await self.on_disconnect()
        finally:
            await self.hub.remove_socket(self)
            if self.registered:
                await self.hub.register("close", self.user, self.key)

    async def on_disconnect(self) -> None:
        """Subclass hook: leave the hub's feeds, extra cleanup."""

    # --- heartbeat and re-validation (driven by the hub's ticker) ----------------------------

    async def timed_out(self) -> None:
        await self.end(CLOSE_HEARTBEAT)

    def check_credentials_sync(self, *, force: bool = False) -> None:
        """Raise CloseSocket(4401) if the session or token ended (cached ~1 s)."""
        if signed_out([self], force=force):
            raise CloseSocket(CLOSE_UNAUTHENTICATED)

    def credentials(self) -> tuple[str, int, str | None]:
        """What ``chat.ws_auth.credentials_still_valid`` checks for this socket."""
        if self.scope.get("auth") == "token":
            secret = self.scope.get("token_key")
        else:
            session = self.scope.get("session")
            secret = session.session_key if session is not None else None
        return str(self.scope.get("auth")), self.user.pk, secret

    def speak(self, language: str) -> None:
        """The user changed their language setting ('' for the browser's, which is
        this socket's handshake's): its error frames speak it from now on."""
        self.user.language = language
        self.language = socket_language(self.user, self.scope.get("headers", []))

    def revalidate_sync(self) -> None:
        """Periodic check in a database thread, after the hub checked the credentials
        of every socket due (``signed_out``); subclasses extend it. Raises CloseSocket."""

    async def revalidated(self) -> None:
        """After a periodic check passed: subclass hook."""

    # --- receiving frames ------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        with translation.override(self.language):
            await self.receive_frame(text_data, bytes_data)

    async def receive_frame(self, text_data: str | None, bytes_data: bytes | None) -> None:
        self.last_activity = time.monotonic()
        if self.closed:
            return
        limit = int(getattr(settings, "CHAT_WS_MAX_FRAME_BYTES", 64 * 1024))
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > limit:
            await self.end(CLOSE_TOO_LARGE)
            return
        if self.hub is not None and self.user is not None:
            over = self.hub.spend_frame(self.user.pk)
            if over is not None:
                retry_after, abusive = over
                if abusive:
                    await self.end(CLOSE_POLICY_VIOLATION)
                else:
                    await self.send_error(
                        errors.RateLimited(retry_after=math.ceil(retry_after)),
                        refusal_ref(text_data),
                    )
                return
        if text_data is None:
            await self.send_error(
                errors.BadRequest(gettext_lazy("Binary frames are not accepted.")), None
            )
            return
        frame: dict[str, Any] | None = None
        try:
            frame = parse_frame(text_data)
            spec = self.frames.get(frame["type"])
            metrics.frame_in(self.scope, frame["type"])
            if spec is None:
                raise errors.BadRequest(
                    lazy_interpolate(
                        gettext_lazy("Unknown frame type: %(type)s."), {"type": frame["type"][:64]}
                    )
                )
            for field in spec.required:
                if field not in frame:
                    raise errors.BadRequest(
                        lazy_interpolate(
                            gettext_lazy("Missing field: %(field)s."), {"field": field}
                        )
                    )
            answer = await self.handle(spec, frame)
            if isinstance(answer, str):
                await self.acknowledge_repeat(answer)
            elif isinstance(answer, dict):
                await self.send_frame(answer)  # an answer to this socket alone
        except errors.ChatError as error:
            await self.send_error(error, frame_ref(frame))
        except CloseSocket as close:
            await self.end(close.code)
        except (DatabaseError, OSError):
            logger.exception("frame failed")
            await self.send_error(errors.Unavailable(), frame_ref(frame))
        except Exception:
            logger.exception("frame failed")
            await self.send_error(
                errors.BadRequest(gettext_lazy("The frame could not be handled.")), frame_ref(frame)
            )

    async def handle(self, spec: ClientFrame, frame: dict[str, Any]) -> Any:
        """The one path of a declared client frame; returns what its handler returns."""
        if spec.run is not None:
            return await spec.run(self, frame)
        assert spec.call is not None
        call = spec.call
        if spec.write:
            await self.sends_settled()

        def run() -> Any:
            self.check_credentials_sync()
            if spec.write:
                check_send_rate(self.user.pk)
            with audit.via(audit.Via.SOCKET):
                return call(self, frame)

        return await run_sync(run)()

    async def sends_settled(self) -> None:
        """Return once the socket's queued writes are answered (none here)."""

    async def acknowledge_repeat(self, text: str) -> None:
        """Answer a frame repeated with a ``client_id`` already used: ``text`` is the
        first one's frame again (or ``resync.required``)."""
        await self.send_text(text)

    async def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run ``function`` (sync: services, selectors) in a database thread after
        re-checking credentials."""

        def run() -> Any:
            self.check_credentials_sync()
            with audit.via(audit.Via.SOCKET):
                return function(*args)

        return await run_sync(run)()

    async def frame_ping(self, frame: dict[str, Any]) -> None:
        if time.monotonic() - self.auth_checked >= AUTH_CACHE_SECONDS:
            await run_sync(self.check_credentials_sync)()
        await self.send_text(wire.PONG)
