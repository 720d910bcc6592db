"""Log lines with their context: time, level, logger, request id, user id, room
id and socket id, as text or as JSON lines (``CHAT_LOG_FORMAT``).

The context lives in context variables. ``RequestIdMiddleware`` sets a request's
id (the client's or proxy's ``X-Request-ID`` when it looks like one, else a new
one, echoed in the response) and the request itself, whose user is read once
authentication has looked it up; a socket's consumer calls ``bind_socket`` at
connect, in the socket's own task. ``ContextFilter``, on the console handler,
copies them onto every record, so any logger's lines carry them.

A task the socket starts (its room's writer, for one) inherits the socket's
variables, although it works for every socket of the room: the filter keeps
the socket's fields only in the socket's own task (and in the database threads
it calls, which run in a copy of its context).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
# What an incoming X-Request-ID may look like (nginx's $request_id, UUIDs, most
# tracing ids); anything else is replaced, so a client cannot forge log lines.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
CONTEXT_FIELDS = ("request_id", "user_id", "room_id", "socket_id")


@dataclass(frozen=True)
class SocketContext:
    task: asyncio.Task[Any] | None
    socket_id: str
    user_id: int
    room_id: int | None


_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_request: ContextVar[HttpRequest | None] = ContextVar("request", default=None)
_socket: ContextVar[SocketContext | None] = ContextVar("socket", default=None)


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # a thread without an event loop
        return None


def bind_socket(scope: dict[str, Any], *, socket_id: str, user_id: int) -> None:
    """Call in the socket's own task once it is authenticated: every line it
    logs from then on carries its socket id, user id and room id (from the route)."""
    room_id = scope.get("url_route", {}).get("kwargs", {}).get("room_id")
    _socket.set(
        SocketContext(
            task=_current_task(),
            socket_id=socket_id,
            user_id=user_id,
            room_id=int(room_id) if room_id is not None else None,
        )
    )


def _request_user_id(request: Any) -> int | None:
    """The request's user id if authentication has already looked the user up
    (a log call never queries the database)."""
    if not isinstance(request, HttpRequest):
        return None
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = user._wrapped
        if user is empty:
            return None
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


def _socket_context() -> SocketContext | None:
    context = _socket.get()
    if context is None:
        return None
    task = _current_task()
    if task is not None and context.task is not None and task is not context.task:
        return None  # a task the socket started, not the socket itself
    return context


class ContextFilter(logging.Filter):
    """Adds ``request_id``, ``user_id``, ``room_id`` and ``socket_id`` (None when
    unknown) to every record. Put it on the handlers: a logger's own filters
    do not see records propagated from its children."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Django's request loggers pass the request, logged after the middleware returned.
        request = _request.get() or getattr(record, "request", None)
        socket = _socket_context()
        record.request_id = _request_id.get() or getattr(request, "request_id", None)
        record.user_id = socket.user_id if socket else _request_user_id(request)
        record.room_id = socket.room_id if socket else None
        record.socket_id = socket.socket_id if socket else None
        return True


def _iso_time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    """``2025-03-01T09:30:00.123+00:00 WARNING django.request [request_id=… user_id=3] …``:
    time (UTC), level, logger, the context fields that are known, the message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(context)s%(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _iso_time(record)

    def format(self, record: logging.LogRecord) -> str:
        known = [
            f"{name}={value}"
            for name in CONTEXT_FIELDS
            if (value := getattr(record, name, None)) is not None
        ]
        record.context = f"[{' '.join(known)}] " if known else ""
        return super().format(record)


class JsonFormatter(BaseJsonFormatter):
    """One JSON object per line: ``time``, ``level``, ``logger``, ``message``, the
    context fields (null when unknown), ``exc_info`` and any ``extra``."""

    def __init__(self) -> None:
        super().__init__(
            ["asctime", "levelname", "name", "message", *CONTEXT_FIELDS],
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            # Django's request loggers pass the request object: not a field.
            reserved_attrs=[*RESERVED_ATTRS, "request", "context"],
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _iso_time(record)


@contextlib.contextmanager
def request_id_bound(request_id: str | None) -> Iterator[None]:
    """Log lines written meanwhile carry ``request_id`` (the server's access line)."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


class RequestIdMiddleware:
    """Outermost middleware: the request's id for its log lines, echoed in the
    ``X-Request-ID`` response header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        id_token = _request_id.set(request_id)
        request_token = _request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(id_token)
            _request.reset(request_token)
        response[REQUEST_ID_HEADER] = request_id
        return response


WEBSOCKET_ACTIONS = {
    "connecting": "WSCONNECTING",
    "rejected": "WSREJECT",
    "connected": "WSCONNECT",
    "disconnected": "WSDISCONNECT",
}


class AccessLog:
    """Daphne's access log (its "action logger") as records of ``academia.access``,
    so access lines take CHAT_LOG_FORMAT too: ``client "METHOD path" status size``
    with the fields apart (``client``, ``method``, ``path``, ``status``, ``size``)."""

    logger = logging.getLogger("academia.access")

    def __call__(self, protocol: str, action: str, details: dict[str, Any]) -> None:
        client, path = details.get("client"), details.get("path")
        if protocol == "http" and action == "complete":
            method, status, size = details.get("method"), details.get("status"), details.get("size")
        elif protocol == "websocket" and action in WEBSOCKET_ACTIONS:
            method, status, size = WEBSOCKET_ACTIONS[action], None, None
        else:
            return
        self.logger.info(
            '%s "%s %s" %s %s',
            client,
            method,
            path,
            status if status is not None else "-",
            size if size is not None else "-",
            extra={
                "client": client,
                "method": method,
                "path": path,
                "status": status,
                "size": size,
            },
        )
