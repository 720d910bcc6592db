"""Prometheus metrics: the ``/metrics`` view, the request middleware, and the
one-line hooks the sockets call.

``/metrics`` is off (404) unless CHAT_METRICS_TOKEN is set, and then answers
only ``Authorization: Bearer <token>`` (401 otherwise). Several Daphne processes
of one host share their values through PROMETHEUS_MULTIPROC_DIR
(prometheus-client's multi-process mode, which reads the same variable): any of
them answers for all. Without it each process reports its own registry.

Every hook is a small function that never raises: a metrics failure is logged
once per hook and process and never breaks a request or a socket. Hooks on the
fan-out path use label children bound once, here, and count a broadcast once
per event (times its recipients), never once per socket write.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hmac
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    multiprocess,
    values,
)
from prometheus_client.exposition import choose_encoder

from chat.wire import Frame

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# prometheus-client chose its mode from PROMETHEUS_MULTIPROC_DIR when it was imported.
MULTIPROCESS = bool(getattr(values.ValueClass, "_multiprocess", False))

OTHER = "other"
SOCKET_KINDS = ("chat", "presence")
SERVER_FRAME_TYPES = tuple(Frame)  # every server frame type (chat.wire)
RESYNC_REASONS = ("bad_after_seq", "replay_pruned", "gap_pruned")
BROADCAST_STAGES = ("local", "layer")
DATABASE_ORIGINS = ("http", "socket")
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
REPLAY_BUCKETS = (0, 1, 10, 50, 100, 500, 1000, 2000, 5000)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _prepare_directory(path: str) -> None:
    """Before this process makes its first value: the directory exists, and the
    live gauges (open sockets) of processes that died without marking themselves
    dead (SIGKILL) are dropped, as are those of a dead process with this one's
    pid, which this process would otherwise carry on from."""
    os.makedirs(path, exist_ok=True)
    me = os.getpid()
    for name in os.listdir(path):
        if not (name.startswith("gauge_live") and name.endswith(".db")):
            continue
        pid = int(name.removesuffix(".db").rsplit("_", 1)[1])
        if pid == me or not _pid_alive(pid):
            with contextlib.suppress(OSError):  # another process swept it first
                multiprocess.mark_process_dead(pid, path)


def _mark_dead() -> None:
    """At exit: this process's open sockets no longer count (its counters stay)."""
    with contextlib.suppress(OSError):
        multiprocess.mark_process_dead(os.getpid(), settings.PROMETHEUS_MULTIPROC_DIR)


def _use_directory(path: str) -> bool:
    """Prepare the shared directory; if it cannot be used, this process reports
    its own values rather than failing to start."""
    try:
        _prepare_directory(path)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(f"cannot write into {path}")
    except OSError:
        logger.error(
            "PROMETHEUS_MULTIPROC_DIR=%r is not usable: this process reports its own metrics",
            path,
            exc_info=True,
        )
        values.ValueClass = values.MutexValue
        return False
    atexit.register(_mark_dead)
    return True


if MULTIPROCESS:
    MULTIPROCESS = _use_directory(settings.PROMETHEUS_MULTIPROC_DIR)

# The "_created" samples would double the series for nothing a query needs.
disable_created_metrics()

SOCKETS_OPEN = Gauge(
    "academia_sockets_open",
    "Open WebSockets, by kind (chat: /ws/chat/<id>/, presence: /ws/presence/).",
    ["kind"],
    multiprocess_mode="livesum",
)
FRAMES_RECEIVED = Counter(
    "academia_socket_frames_received",
    "Client frames received, by socket kind and frame type (unknown types: other).",
    ["kind", "type"],
)
FRAMES_SENT = Counter(
    "academia_socket_frames_sent",
    "Frames sent to sockets, by frame type; a broadcast counts once per recipient.",
    ["type"],
)
SEND_LATENCY = Histogram(
    "academia_send_latency_seconds",
    "From a message.send frame received to its message.created published.",
    buckets=LATENCY_BUCKETS,
)
BROADCAST_FAILURES = Counter(
    "academia_broadcast_failures",
    "Events not delivered: to this process's sockets (local) or to the channel layer (layer).",
    ["stage"],
)
GAP_FILLS = Counter(
    "academia_gap_fills",
    "Reads of the room event log to fill a gap in a room feed.",
)
GAP_FILL_EVENTS = Counter(
    "academia_gap_fill_events",
    "Room events read from the log to fill gaps.",
)
RESYNCS = Counter(
    "academia_resyncs",
    "resync.required sent to a socket, by reason.",
    ["reason"],
)
REPLAY_SIZE = Histogram(
    "academia_replay_size_events",
    "Room events a socket resuming with after_seq asked for.",
    buckets=REPLAY_BUCKETS,
)
HTTP_LATENCY = Histogram(
    "academia_http_request_duration_seconds",
    "HTTP requests, by view (URL name or route), method and status class.",
    ["view", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
DB_QUERY = Histogram(
    "academia_db_query_duration_seconds",
    "Database queries, by origin (http: requests, socket: socket work in database threads).",
    ["origin"],
    buckets=QUERY_BUCKETS,
)

# Label children bound once (a label lookup costs more than the increment).
_sockets_open = {kind: SOCKETS_OPEN.labels(kind) for kind in SOCKET_KINDS}
# Client frame types are those the consumers' frame tables declare (bound on first
# use, the consumers import this module); any other type counts as OTHER.
_frames_received = {(kind, OTHER): FRAMES_RECEIVED.labels(kind, OTHER) for kind in SOCKET_KINDS}
_frames_sent = {
    frame_type: FRAMES_SENT.labels(frame_type) for frame_type in (*SERVER_FRAME_TYPES, OTHER)
}
_broadcast_failures = {stage: BROADCAST_FAILURES.labels(stage) for stage in BROADCAST_STAGES}
_resyncs = {reason: RESYNCS.labels(reason) for reason in RESYNC_REASONS}
_db_query = {origin: DB_QUERY.labels(origin) for origin in DATABASE_ORIGINS}
_http_latency: dict[tuple[str, str, str], Any] = {}  # bounded by the URLconf

_failed_hooks: set[str] = set()


def never_raises(function: Callable[P, R]) -> Callable[P, R | None]:
    """A hook: its failure is logged (once per hook and process), never raised."""

    @functools.wraps(function)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return function(*args, **kwargs)
        except Exception:
            if function.__name__ not in _failed_hooks:
                _failed_hooks.add(function.__name__)
                logger.warning("metrics hook %s failed", function.__name__, exc_info=True)
            return None

    return guarded


# --- sockets --------------------------------------------------------------------------


def _socket_kind(scope: Mapping[str, Any]) -> str:
    return "presence" if "/ws/presence" in scope.get("path", "") else "chat"


@never_raises
def socket_opened(scope: Mapping[str, Any]) -> None:
    _sockets_open[_socket_kind(scope)].inc()


@never_raises
def socket_closed(scope: Mapping[str, Any]) -> None:
    _sockets_open[_socket_kind(scope)].dec()


@never_raises
def frame_in(scope: Mapping[str, Any], frame_type: str) -> None:
    """One client frame of a socket (``scope``), by its ``type`` (OTHER unless its
    consumer declares that type)."""
    kind = _socket_kind(scope)
    key = (kind, frame_type if frame_type in _client_frame_types()[kind] else OTHER)
    child = _frames_received.get(key)
    if child is None:
        child = _frames_received[key] = FRAMES_RECEIVED.labels(*key)
    child.inc()


@functools.cache
def _client_frame_types() -> dict[str, frozenset[str]]:
    from chat.consumers import ChatConsumer, PresenceConsumer

    return {"chat": frozenset(ChatConsumer.frames), "presence": frozenset(PresenceConsumer.frames)}


def _sent_child(text: str) -> Any:
    """Frames are JSON objects that start with their type: ``{"type":"pong"}``."""
    if text.startswith('{"type":"'):
        child = _frames_sent.get(text[9 : text.find('"', 9)])
        if child is not None:
            return child
    return _frames_sent[OTHER]


@never_raises
def frame_out(text: str) -> None:
    """One frame written to one socket."""
    _sent_child(text).inc()


@never_raises
def frames_out(text: str, recipients: int) -> None:
    """One broadcast, framed once for ``recipients`` sockets."""
    if recipients > 0:
        _sent_child(text).inc(recipients)


RECEIVED_AT = "__metrics_received_at"  # set on a message.send frame when it arrives


@never_raises
def send_received(frame: dict[str, Any]) -> None:
    """A ``message.send`` frame arrived (the start of its send latency)."""
    frame[RECEIVED_AT] = time.perf_counter()


@never_raises
def sends_published(batch: Sequence[tuple[Any, dict[str, Any]]], outcomes: Sequence[Any]) -> None:
    """A writer's batch is committed and its events handed to the hub: the send
    latency of each frame that created a message (its outcome is None)."""
    now = time.perf_counter()
    for (_, frame), outcome in zip(batch, outcomes, strict=True):
        start = frame.get(RECEIVED_AT)
        if outcome is None and isinstance(start, float):
            SEND_LATENCY.observe(now - start)


@never_raises
def broadcast_failed(stage: str) -> None:
    """An event that did not reach this process's sockets (``local``) or the channel
    layer (``layer``)."""
    _broadcast_failures[stage].inc()


@never_raises
def gap_filled(events: int) -> None:
    """A room feed read ``events`` missing events from the log."""
    GAP_FILLS.inc()
    GAP_FILL_EVENTS.inc(events)


@never_raises
def resync(reason: str) -> None:
    """``resync.required`` sent to one socket (see RESYNC_REASONS)."""
    _resyncs[reason].inc()


@never_raises
def replay_size(events: int) -> None:
    """A socket resuming with ``after_seq`` asks for ``events`` events."""
    REPLAY_SIZE.observe(max(0, events))


# --- the database -----------------------------------------------------------------------


def _query_timer(child: Any) -> Callable[..., Any]:
    def timed(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            _observe(child, time.perf_counter() - start)

    return timed


@never_raises
def _observe(child: Any, seconds: float) -> None:
    child.observe(seconds)


_query_timers = {origin: _query_timer(child) for origin, child in _db_query.items()}


def database_timer(origin: str) -> contextlib.AbstractContextManager[None]:
    """Time every query the block makes on this thread's connection (``origin``:
    ``http`` or ``socket``). Install it on the thread that runs the queries:
    Django's connections belong to threads."""
    return connection.execute_wrapper(_query_timers[origin])


# --- HTTP -------------------------------------------------------------------------------


def _view_label(request: HttpRequest) -> str:
    """The URL's name (with its namespace), else its route: bounded by the URLconf."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


@never_raises
def request_done(request: HttpRequest, response: HttpResponse, seconds: float) -> None:
    method = request.method if request.method in HTTP_METHODS else OTHER
    key = (_view_label(request), str(method), f"{response.status_code // 100}xx")
    child = _http_latency.get(key)
    if child is None:
        child = _http_latency[key] = HTTP_LATENCY.labels(*key)
    child.observe(seconds)


class RequestMetricsMiddleware:
    """Request latency by view, and the time each request spends in the database.

    Synchronous on purpose: the database timer must sit on the thread the view's
    queries run on (under ASGI Django runs a request's synchronous middleware and
    view on one thread)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        with database_timer("http"):
            response = self.get_response(request)
        request_done(request, response, time.perf_counter() - start)
        return response


# --- /metrics ---------------------------------------------------------------------------


def registry() -> Any:
    """What ``/metrics`` reports: every process of the directory, or this one."""
    if MULTIPROCESS:
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected, path=settings.PROMETHEUS_MULTIPROC_DIR)
        return collected
    return REGISTRY


def authorized(request: HttpRequest, token: str) -> bool:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    )


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition (text, or OpenMetrics when asked) for a scraper that
    sends ``Authorization: Bearer <CHAT_METRICS_TOKEN>``."""
    token = str(settings.CHAT_METRICS_TOKEN)
    if not token:
        return JsonResponse({"detail": "Not found."}, status=404)
    if not authorized(request, token):
        response = JsonResponse(
            {"detail": "A valid bearer token is required.", "code": "not_authenticated"},
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
        response["Allow"] = "GET, HEAD"
        return response
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(registry()), content_type=content_type)
