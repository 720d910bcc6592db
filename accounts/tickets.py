"""WebSocket tickets: how a browser page on another origin opens a socket.

A page that signs in with an API token cannot put ``Authorization`` on a
WebSocket handshake, and the session cookie does not cross sites. It asks
``POST /accounts/ws-ticket/`` for a ticket and opens the socket with
``?ticket=<ticket>`` (``chat.ws_auth``).

A ticket lives in the cache (Redis when configured, so any process can redeem
it) for CHAT_WS_TICKET_TTL seconds and is good once: redeeming deletes it, and
only the caller whose delete removed the key gets the grant, so two processes
racing for one ticket cannot both win. It stands for the credential that asked
for it (the token, or the session), which the socket then keeps re-checking
like any other, so revoking that credential ends the socket too.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.core.cache import cache

KEY_PREFIX = "chat:ws-ticket:"
# What ticket_issue makes (token_urlsafe(32): 43 URL-safe characters), with room to spare.
TICKET_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class TicketGrant:
    """What a redeemed ticket stands for: the user and the credential that asked for it."""

    user_id: int
    auth: Literal["token", "session"]
    secret: str  # the token key, or the session key


def ticket_ttl() -> int:
    return int(settings.CHAT_WS_TICKET_TTL)


def ticket_issue(*, user_id: int, auth: Literal["token", "session"], secret: str) -> str:
    """A new single-use ticket for the user's credential (``auth``, ``secret``)."""
    ticket = secrets.token_urlsafe(32)
    cache.set(
        KEY_PREFIX + ticket,
        {"user_id": user_id, "auth": auth, "secret": secret},
        timeout=ticket_ttl(),
    )
    return ticket


def ticket_redeem(ticket: str) -> TicketGrant | None:
    """The ticket's grant, once: None for an unknown, expired or used ticket.

    Atomic across processes: the cache's delete says whether it removed the key
    (Redis DEL's count), and only that caller gets the grant."""
    if not TICKET_FORMAT.fullmatch(ticket):
        return None
    key = KEY_PREFIX + ticket
    value = cache.get(key)
    if not isinstance(value, dict) or not cache.delete(key):
        return None
    return TicketGrant(user_id=int(value["user_id"]), auth=value["auth"], secret=value["secret"])
