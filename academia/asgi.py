"""ASGI entry point: HTTP through Django, WebSockets through Channels.

Serve it with Daphne through ``academia.serve`` (Daphne's arguments, plus a
request body limit) and explicit WebSocket size limits (see README.md)::

    python -m academia.serve -b 127.0.0.1 -p 8000 --websocket-max-message-size 1048576 \
        --websocket-max-frame-size 1048576 academia.asgi:application
"""

import gc
import os
from typing import Any

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest


class SyncChainASGIHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain and the view run as one
    synchronous call, in the thread Django gives synchronous views.

    Some middlewares here are synchronous only, some can be both. Loaded for
    ASGI, Django then mixes the modes and hops between the event loop and that
    thread at every change: into the loop for the async-capable ones below a
    synchronous one, back to the thread for the view, and once more for every
    ``MiddlewareMixin`` that runs async (its ``process_*`` methods are
    synchronous). Each hop costs loop turns and thread switches; run as one
    synchronous chain, as under WSGI, a request makes one."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> Any:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academia.settings")
django.setup(set_prefix=False)  # as get_asgi_application() does
django_asgi_app = SyncChainASGIHandler()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from chat.routing import WebsocketRouter, websocket_urlpatterns  # noqa: E402
from chat.ws_auth import WebsocketAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": WebsocketAuthMiddleware(WebsocketRouter(websocket_urlpatterns)),
    }
)

# Load the URLconf (and every view with it) now, then take everything loaded so
# far out of the cyclic garbage collector's reach: otherwise each full
# collection walks these long-lived objects again, about 0.1 s every few dozen
# requests on a small machine (the p99 of make bench-history).
_url_patterns = get_resolver().url_patterns
gc.freeze()
