"""WebSocket handshake authentication and the Origin check.

Two ways in, as the contract says:

- ``Authorization: Token <key>`` on the handshake (scripts, bots, the Academia
  frontend): the token's user; ``Origin`` is not needed, since a browser page
  cannot set that header on a WebSocket.
- ``?ticket=<ticket>`` (a browser page on another origin that signed in with a
  token: ``POST /accounts/ws-ticket/``, ``accounts.tickets``): good once, for
  the credential that asked for it; an unknown, used or expired ticket is
  closed with 4401 like a bad token. A browser's ``Origin`` must be listed in
  CHAT_CORS_ALLOWED_ORIGINS or be the server's own, else the handshake is
  refused (HTTP 403) and the ticket is left unused.
- the Django session cookie (the app's own pages): only when ``Origin`` is the
  server's own origin (scheme, host and port of the request, host in
  ALLOWED_HOSTS) or listed in CSRF_TRUSTED_ORIGINS, the rule Django's CSRF
  check applies. Anything else is refused before accept (HTTP 403), which stops
  cross-site WebSocket hijacking. Channels' AllowedHostsOriginValidator ignores
  scheme and port, so it is not used.

A handshake with none of these and no ``Origin`` (a script that forgot its
token) is accepted and closed with 4401, not authenticated.

Sockets re-check their credentials while open (``credentials_still_valid``,
for many sockets at once): a logout, a password change, a deactivated user or a
deleted token ends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import parse_cookie
from django.http.request import validate_host
from django.utils.crypto import constant_time_compare
from rest_framework.authtoken.models import Token

from academia.rest.authentication import possible_token_key
from accounts.tickets import ticket_redeem
from chat.compiled import CompiledQuery

DEFAULT_PORTS = {"http": 80, "https": 443}


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _origin_tuple(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def _request_scheme(scope: dict[str, Any]) -> str:
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        header, secure_value = proxy
        name = header.removeprefix("HTTP_").replace("_", "-").lower().encode()
        value = _header(scope, name)
        if value is not None:
            return "https" if value.split(",")[0].strip() == secure_value else "http"
    return "https" if scope.get("scheme") in ("wss", "https") else "http"


def _trusted(origin: tuple[str, str, int]) -> bool:
    scheme, host, port = origin
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        if "*" in entry:
            parts = urlsplit(entry.replace("*.", "wildcard.", 1))
            suffix = (parts.hostname or "").removeprefix("wildcard")
            entry_port = parts.port or DEFAULT_PORTS.get(parts.scheme)
            if parts.scheme == scheme and host.endswith(suffix) and entry_port == port:
                return True
        elif _origin_tuple(entry) == origin:
            return True
    return False


def _own_origin(scope: dict[str, Any]) -> tuple[str, str, int] | None:
    """The server's origin as the request names it (None if its host is not allowed)."""
    host = _header(scope, b"host")
    if not host:
        return None
    own = _origin_tuple(f"{_request_scheme(scope)}://{host}")
    if own is None or not validate_host(own[1], settings.ALLOWED_HOSTS):
        return None
    return own


def origin_allowed(scope: dict[str, Any]) -> bool:
    """The handshake's Origin is the server's own origin or a trusted one."""
    raw = _header(scope, b"origin")
    if raw is None:
        return False
    origin = _origin_tuple(raw)
    if origin is None:
        return False
    return _trusted(origin) or origin == _own_origin(scope)


def ticket_origin_allowed(scope: dict[str, Any]) -> bool:
    """A ticket handshake from a browser (which always sends Origin) comes from an
    origin of CHAT_CORS_ALLOWED_ORIGINS or the server's own; other clients send none."""
    raw = _header(scope, b"origin")
    if raw is None:
        return True
    origin = _origin_tuple(raw)
    if origin is None:
        return False
    cors = (_origin_tuple(entry) for entry in settings.CHAT_CORS_ALLOWED_ORIGINS)
    return origin in cors or origin == _own_origin(scope)


def _token_key(scope: dict[str, Any]) -> str | None:
    value = _header(scope, b"authorization")
    if value is None:
        return None
    keyword, _, key = value.strip().partition(" ")
    if keyword.lower() != "token":
        return None
    return key.strip()


# What a socket's user is used for (policy, payloads, services); the rest of the
# row (password hash, e-mail, dates) is left out of the many long-lived sockets.
SOCKET_USER_FIELDS = (
    "user__id",
    "user__username",
    "user__display_name",
    "user__language",
    "user__first_name",
    "user__last_name",
    "user__is_active",
    "user__is_staff",
    "user__is_superuser",
)


def _token_with_user(key: str) -> QuerySet[Token]:
    return (
        Token.objects.select_related("user")
        .only("key", "user_id", *SOCKET_USER_FIELDS)
        .filter(key=key)
    )


# Compiled once: every handshake with a token header runs it (see chat.compiled).
_TOKEN_WITH_USER = CompiledQuery(_token_with_user, ("key",), strings=("key",))


def _token_user(key: str) -> Any:
    if not possible_token_key(key):
        return AnonymousUser()
    token = _TOKEN_WITH_USER.first(key=key)
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


def _ticket(scope: dict[str, Any]) -> str | None:
    """The ``ticket`` query parameter, if the handshake has one."""
    query = scope.get("query_string", b"").decode("latin-1")
    values = parse_qs(query, keep_blank_values=True).get("ticket")
    return values[0] if values else None


def _session_cookie(scope: dict[str, Any]) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    return parse_cookie(raw).get(settings.SESSION_COOKIE_NAME) or None


def _with_session_or_origin(scope: dict[str, Any]) -> bool:
    """A session cookie or a browser's ``Origin``: the Origin rule applies. A handshake
    with neither carries no credentials at all: it is accepted as anonymous and
    closed with 4401, as a bad token is."""
    return _session_cookie(scope) is not None or _header(scope, b"origin") is not None


def _session_user(session_key: str | None) -> tuple[Any, Any]:
    """The session's user (Django's own rules: a known backend, a matching
    session auth hash, an active user) and the session store."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user_id = store.get(SESSION_KEY)
    backend_path = store.get(BACKEND_SESSION_KEY)
    if user_id is None or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return AnonymousUser(), store
    user = load_backend(backend_path).get_user(user_id)
    if user is None or not constant_time_compare(
        store.get(HASH_SESSION_KEY) or "", user.get_session_auth_hash()
    ):
        return AnonymousUser(), store
    return user, store


def _ticket_credentials(ticket: str) -> dict[str, Any]:
    """What a ticket's handshake puts in the scope: the credential the ticket was
    issued for, as if the handshake had carried it (so the socket re-checks it
    while open), or an anonymous user for an unknown, used or expired ticket."""
    grant = ticket_redeem(ticket)
    if grant is None:
        return {"user": AnonymousUser(), "auth": "ticket"}
    if grant.auth == "token":
        user = _token_user(grant.secret)
        credentials = {"auth": "token", "token_key": grant.secret}
    else:
        user, session = _session_user(grant.secret)
        credentials = {"auth": "session", "session": session}
    if user.pk != grant.user_id:
        user = AnonymousUser()
    return {"user": user, **credentials}


class WebsocketAuthMiddleware:
    """Token header, ticket or session cookie + Origin check, then ``inner``.

    Sets ``scope["user"]`` and ``scope["auth"]``: ``"token"`` (with
    ``scope["token_key"]``) or ``"session"`` (with ``scope["session"]``), also
    for a ticket, which stands for one of them; ``"ticket"`` for a bad ticket.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        from chat.consumers.db import run_sync

        # The server makes a new scope per connection; it is filled in place (a
        # copy per layer would stay alive as long as each socket).
        key = _token_key(scope)
        ticket = _ticket(scope) if key is None else None
        if key is not None:
            user = await run_sync(_token_user)(key) if key else AnonymousUser()
            scope.update(user=user, auth="token", token_key=key)
        elif ticket is not None:
            if not ticket_origin_allowed(scope):
                return await WebsocketDenier()(scope, receive, send)
            scope.update(await run_sync(_ticket_credentials)(ticket))
        elif _with_session_or_origin(scope) and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        else:
            user, session = await run_sync(_session_user)(_session_cookie(scope))
            scope.update(user=user, session=session, auth="session")
        app_for = getattr(self.inner, "app_for", None)
        if app_for is not None:
            return await app_for(scope)(scope, receive, send)
        return await self.inner(scope, receive, send)


def credentials_still_valid(checks: Sequence[tuple[str, int, str | None]]) -> list[bool]:
    """Are these handshakes' credentials still good? One answer per ``(auth, user id,
    secret)``, ``secret`` being the token key or the session key; in one query for
    all the tokens (their users active) and one for the users of sessions; each
    session is read from its store. Sync (call it from a database thread)."""
    token_keys = {secret for auth, _, secret in checks if auth == "token" and secret}
    tokens = (
        set(
            Token.objects.filter(key__in=token_keys, user__is_active=True).values_list(
                "key", "user_id"
            )
        )
        if token_keys
        else set()
    )
    session_user_ids = {user_id for auth, user_id, secret in checks if auth != "token" and secret}
    users = (
        {
            user.pk: user
            for user in get_user_model().objects.filter(pk__in=session_user_ids, is_active=True)
        }
        if session_user_ids
        else {}
    )
    results = []
    for auth, user_id, secret in checks:
        if not secret:
            results.append(False)
        elif auth == "token":
            results.append((secret, user_id) in tokens)
        else:
            user = users.get(user_id)
            results.append(user is not None and _session_still_valid(user, secret))
    return results


def _session_still_valid(user: Any, session_key: str) -> bool:
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    if str(store.get(SESSION_KEY)) != str(user.pk):
        return False
    stored_hash = store.get(HASH_SESSION_KEY) or ""
    return constant_time_compare(stored_hash, user.get_session_auth_hash())
