"""The signed-in user's language setting over the browser's.

Runs after ``LocaleMiddleware`` (which activated the ``Accept-Language`` choice)
and ``AuthenticationMiddleware``: a session user whose ``language`` is set gets
that language instead. Token clients are authenticated later, by DRF; their
setting is applied by ``academia.rest.authentication.TokenAuthentication``, and
sockets' by the consumer (``chat.consumers.base``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from academia.unavailable import DATABASE_ERRORS
from accounts.languages import user_language


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            language = user_language(request.user)
        except DATABASE_ERRORS:
            # The view meets the outage too, and answers 503 (academia.unavailable);
            # until then the browser's language stands.
            language = ""
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
