"""WebSocket URL patterns (mounted by academia.asgi behind chat.ws_auth)."""

from django.urls import path

from chat.consumers import ChatConsumer, PresenceConsumer

websocket_urlpatterns = [
    path("ws/chat/<int:room_id>/", ChatConsumer.as_asgi()),
    path("ws/presence/", PresenceConsumer.as_asgi()),
]
