"""404 in JSON for any other path under the API's prefixes.

A path no route takes (``/chat/messages/abc/``: ids are digits) would otherwise
get Django's HTML page, the debug page listing every URL pattern when DEBUG is
on. API clients get the same ``{"detail", "code": "not_found"}`` as for an id
they may not see. Only paths ending in ``/``: one without still gets Django's
redirect to the path with the slash (``APPEND_SLASH``).
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, re_path
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

NAME = "api-not-found"


class NotFoundView(APIView):
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    schema = None  # not an endpoint of the OpenAPI document

    def dispatch_not_found(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFound()

    get = post = put = patch = delete = options = head = dispatch_not_found


def catch_all() -> URLPattern:
    """The last pattern of an API prefix's ``urlpatterns``."""
    return re_path(r"^.*/$", NotFoundView.as_view(), name=NAME)
