"""Token sign-in for scripts and the Academia frontend, socket tickets, and the current user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from academia.rest.fields import TextField
from academia.rest.request import AuthenticatedRequest
from academia.rest.throttles import ChatWriteThrottle
from accounts.lockout import cooloff_seconds, lockout_detail
from accounts.models import User
from accounts.services import tokens_revoke, user_language_set
from accounts.tickets import ticket_issue, ticket_ttl
from chat import errors
from chat.wire import UserSerializer, user_payload

if TYPE_CHECKING:
    from rest_framework.permissions import _SupportsHasPermission


class TokenView(APIView):
    """``POST {"username", "password"}`` → ``{"token"}``; wrong credentials → 400;
    a username or client address with CHAT_LOGIN_FAILURE_LIMIT recent failures → 429.
    ``DELETE`` (token or session) revokes the caller's token → 204."""

    throttle_classes = [ChatWriteThrottle]

    def _signing_in(self) -> bool:
        # (No request when the schema is generated without one.)
        return getattr(self.request, "method", None) != "DELETE"

    def get_authenticators(self) -> list[BaseAuthentication]:
        # Signing in takes no credentials but the body's: a stale Authorization
        # header must not turn it into a 401.
        return [] if self._signing_in() else super().get_authenticators()

    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        return [AllowAny()] if self._signing_in() else super().get_permissions()

    @extend_schema(
        request=AuthTokenSerializer,
        responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}),
        summary="Exchange a username and password for an API token",
        description=(
            "400 for wrong credentials; 429 `throttled` with `Retry-After` once the "
            "username or the client address has CHAT_LOGIN_FAILURE_LIMIT recent failures."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            # django-axes flags the request when the username or address is locked out.
            if getattr(request, "axes_locked_out", False):
                raise Throttled(wait=cooloff_seconds(), detail=lockout_detail())
            if set(serializer.errors) == {"non_field_errors"}:
                # Well-formed but wrong: a refusal with a code, like the domain's.
                raise errors.ValidationFailed(
                    gettext_lazy("Unable to log in with provided credentials."),
                    fields=dict(serializer.errors),
                )
            raise ValidationError(serializer.errors)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})

    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="The token is revoked.")},
        summary="Revoke the caller's API token (sign out a script)",
    )
    def delete(self, request: AuthenticatedRequest) -> Response:
        tokens_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeSerializer(UserSerializer):
    """USER, and the user's own settings."""

    language = serializers.ChoiceField(
        choices=User.Language.choices,
        help_text="The page's and the API's language: `en`, `de`, or '' for the browser's.",
    )


class MeUpdateSerializer(serializers.Serializer[User]):
    language = TextField(allow_blank=True, max_length=8)


def me_payload(user: User) -> dict[str, Any]:
    return {**user_payload(user), "language": user.language}


class MeView(APIView):
    """``GET`` the signed-in user; ``PATCH {"language"}`` changes their settings."""

    @extend_schema(responses=MeSerializer, summary="The signed-in user")
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(me_payload(request.user))

    @extend_schema(
        request=MeUpdateSerializer,
        responses=MeSerializer,
        summary="Change the signed-in user's settings (their language)",
        description=(
            "`language`: `en`, `de`, or '' to follow the browser's `Accept-Language`. "
            "Another value is 400 `validation_error`."
        ),
    )
    def patch(self, request: AuthenticatedRequest) -> Response:
        # The service checks the value, so any refusal is the domain's 400
        # validation_error (MeUpdateSerializer only documents the body).
        if not isinstance(request.data, dict):
            raise errors.BadRequest(gettext_lazy("The body must be a JSON object."))
        if "language" in request.data:
            user_language_set(user=request.user, language=request.data["language"])
        return Response(me_payload(request.user))


class WsTicketView(APIView):
    """``POST`` (token or session) → ``{"ticket", "expires_in"}``: a single-use
    ticket for ``?ticket=`` on a socket URL (``accounts.tickets``)."""

    throttle_classes = [ChatWriteThrottle]

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "WsTicketResponse",
            {
                "ticket": serializers.CharField(),
                "expires_in": serializers.IntegerField(help_text="Seconds the ticket is valid."),
            },
        ),
        summary="A single-use ticket to open a WebSocket from a page on another origin",
        description=(
            "A browser page cannot set `Authorization` on a WebSocket handshake: it opens "
            "`/ws/chat/<room>/?ticket=<ticket>` or `/ws/presence/?ticket=<ticket>` instead, "
            "from an origin listed in CHAT_CORS_ALLOWED_ORIGINS. The ticket is good once, "
            "for CHAT_WS_TICKET_TTL seconds, and stands for the credential that asked for "
            "it; a used, unknown or expired ticket closes the socket with 4401. Session "
            "clients send the CSRF token, as for every write."
        ),
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        if isinstance(request.successful_authenticator, TokenAuthentication):
            ticket = ticket_issue(user_id=request.user.pk, auth="token", secret=request.auth.key)
        else:
            # Signed in by its session, so the session has a key.
            session_key = request.session.session_key or ""
            ticket = ticket_issue(user_id=request.user.pk, auth="session", secret=session_key)
        return Response({"ticket": ticket, "expires_in": ticket_ttl()})
