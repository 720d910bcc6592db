"""The admin's answer to query values it does not check itself: 400, not 500.

Django's admin passes some values of the address and of action forms straight
to the database layer, which raises on them: a date filter with a year out of
range (``?created_at__year=99999``), a selected row that is not a number
(``_selected_action=abc``). This middleware answers such a ``ValueError`` (or
``OverflowError``, ``ValidationError``) in an admin page with 400 Bad Request,
and logs it; other paths and other errors are left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse

logger = logging.getLogger(__name__)

BAD_INPUT = (ValueError, OverflowError, ValidationError)


class AdminBadInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, BAD_INPUT) or not request.path.startswith(
            reverse("admin:index")
        ):
            return None
        logger.warning(
            "admin: bad input in %s %s: %s", request.method, request.get_full_path(), exception
        )
        return HttpResponseBadRequest(
            b"Bad request: a value in the address or the form is not valid here."
        )
