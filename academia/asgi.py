"""ASGI entry point: HTTP through Django, WebSockets through Channels.

Serve it with Daphne through ``academia.serve`` (Daphne's arguments, plus a
request body limit) and explicit WebSocket size limits (see README.md)::

    python -m academia.serve -b 127.0.0.1 -p 8000 --websocket-max-message-size 1048576 \
        --websocket-max-frame-size 1048576 academia.asgi:application
"""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academia.settings")
django_asgi_app = get_asgi_application()

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
