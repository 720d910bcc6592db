"""DRF's token authentication, speaking the token user's language.

Session users get their language setting from ``accounts.middleware``; a token
is only known once DRF authenticates the request, so the setting is activated
here, before the view runs and raises.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token
from rest_framework.request import Request

from accounts.languages import user_language
from chat.compiled import CompiledQuery


def _token(key: str) -> QuerySet[Token]:
    return Token.objects.select_related("user").filter(key=key)


# Compiled once (see chat.compiled): every token request reads it.
_TOKEN = CompiledQuery(_token, ("key",), strings=("key",))
TOKEN_KEY_MAX = Token._meta.get_field("key").max_length or 40


def possible_token_key(key: str) -> bool:
    """False for a key no token can have (too long, or with a NUL, which
    PostgreSQL refuses in text): refused without a query, over REST and sockets."""
    return len(key) <= TOKEN_KEY_MAX and "\x00" not in key


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        """DRF's, with the token and its user read by a query compiled once; keys no
        token can have are refused without one."""
        token = _TOKEN.first(key=key) if possible_token_key(key) else None
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is not None:
            language = user_language(result[0])
            if language:
                translation.activate(language)
                request._request.LANGUAGE_CODE = language
        return result
