"""WebSocket URL patterns (mounted by academia.asgi behind chat.ws_auth).

A path that matches no route (``/ws/chat/abc/``, ``/ws/nope/``) is refused at the
handshake (HTTP 403) by the last pattern; without it Channels' router raises,
which Daphne answers with a 500.
"""

from typing import Any

from channels.security.websocket import WebsocketDenier
from django.urls import URLPattern, path, re_path

from chat.consumers import ChatConsumer, PresenceConsumer

websocket_urlpatterns = [
    path("ws/chat/<int:room_id>/", ChatConsumer.as_asgi()),
    path("ws/presence/", PresenceConsumer.as_asgi()),
    re_path(r"", WebsocketDenier.as_asgi()),
]


class WebsocketRouter:
    """Channels' URLRouter, made lean for the many long-lived sockets of a
    process: it resolves the path with the same patterns, adds ``url_route`` to
    the scope and builds the consumer, and the auth middleware runs it. No copy
    of the scope and no waiting coroutine of its own for each open socket."""

    def __init__(self, patterns: list[URLPattern]) -> None:
        self.patterns = patterns

    def app_for(self, scope: dict[str, Any]) -> Any:
        route = scope["path"].lstrip("/")
        for pattern in self.patterns:
            match = pattern.resolve(route)
            if match is not None:
                scope["url_route"] = {"args": match.args, "kwargs": match.kwargs}
                app: Any = match.func  # built by as_asgi(), which gives it these attributes
                return app.consumer_class(**app.consumer_initkwargs)
        return WebsocketDenier()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        return await self.app_for(scope)(scope, receive, send)
