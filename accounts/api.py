"""Token sign-in for scripts and the Academia frontend, and the current user."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.api.serializers import UserSerializer
from chat.api.throttles import ChatWriteThrottle
from chat.payloads import user_payload


class TokenView(APIView):
    """``POST {"username", "password"}`` → ``{"token"}``; wrong credentials → 400."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ChatWriteThrottle]

    @extend_schema(
        request=AuthTokenSerializer,
        responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}),
        summary="Exchange a username and password for an API token",
    )
    def post(self, request: Request) -> Response:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})


class MeView(APIView):
    @extend_schema(responses=UserSerializer, summary="The signed-in user")
    def get(self, request: Request) -> Response:
        return Response(user_payload(request.user))
