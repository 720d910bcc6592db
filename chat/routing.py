"""WebSocket URL patterns (mounted by academia.asgi behind chat.ws_auth).

A path that matches no route (``/ws/chat/abc/``, ``/ws/nope/``) is refused at the
handshake (HTTP 403) by the last pattern; without it Channels' router raises,
which Daphne answers with a 500.
"""

from channels.security.websocket import WebsocketDenier
from django.urls import path, re_path

from chat.consumers import ChatConsumer, PresenceConsumer

websocket_urlpatterns = [
    path("ws/chat/<int:room_id>/", ChatConsumer.as_asgi()),
    path("ws/presence/", PresenceConsumer.as_asgi()),
    re_path(r"", WebsocketDenier.as_asgi()),
]
