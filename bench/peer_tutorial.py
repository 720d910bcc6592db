"""The Channels tutorial consumer as a peer of the benchmark.

The consumer of the Channels tutorial ("Write your first consumer", async
version): on connect it joins the group of its room, on every text frame it
decodes the JSON and ``group_send``s it to the room, and every socket of the
room encodes and forwards what it receives. No database, no authentication, no
ordering or replay. It runs under the same Daphne command line as the
application, on the same channel layer (``channels_redis`` pub/sub on
``REDIS_URL``), with minimal settings of its own so none of the application is
loaded::

    REDIS_URL=redis://127.0.0.1:6379/5 python -m daphne -p 8766 bench.peer_tutorial:application

Two changes make it a peer for the load client, which drives every server the
same way: the socket path is ours (``/ws/chat/<room_id>/``, group
``room.<room_id>``), and it sends ``{"type": "connection.ready"}`` on connect and
wraps each forwarded frame as ``{"type": "message.created", "message": <frame>}``
(the tutorial's ``{"message": ...}``). ``GET /healthz`` (any HTTP path) answers
200 so the benchmark can wait for it to listen.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-peer-tutorial",
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": os.environ.get(
                    "CHAT_CHANNEL_LAYER_BACKEND", "channels_redis.pubsub.RedisPubSubChannelLayer"
                ),
                "CONFIG": {"hosts": [os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")]},
            }
        },
        USE_TZ=True,
    )
    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class TutorialConsumer(AsyncWebsocketConsumer):
    """The tutorial's ``ChatConsumer``, on our socket path."""

    async def connect(self) -> None:
        self.room_group_name = f"room.{self.scope['url_route']['kwargs']['room_id']}"
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)
        await self.accept()
        await self.send(text_data=json.dumps({"type": "connection.ready"}))

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        message = json.loads(text_data or "null")
        await self.channel_layer.group_send(
            self.room_group_name, {"type": "chat.message", "message": message}
        )

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send(
            text_data=json.dumps({"type": "message.created", "message": event["message"]})
        )


async def healthz(scope: Scope, receive: Receive, send: Send) -> None:
    """Every HTTP request: 200 ``ok``."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"3")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok\n"})


application = ProtocolTypeRouter(
    {
        "http": healthz,
        "websocket": URLRouter([path("ws/chat/<int:room_id>/", TutorialConsumer.as_asgi())]),
    }
)
