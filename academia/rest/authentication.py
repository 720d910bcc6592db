"""DRF's token authentication, speaking the token user's language.

Session users get their language setting from ``accounts.middleware``; a token
is only known once DRF authenticates the request, so the setting is activated
here, before the view runs and raises.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from rest_framework import authentication
from rest_framework.request import Request

from accounts.languages import user_language


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is not None:
            language = user_language(result[0])
            if language:
                translation.activate(language)
                request._request.LANGUAGE_CODE = language
        return result
