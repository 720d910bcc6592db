"""The browser chat page: one template, configured from settings through ``json_script``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from accounts.requests import signed_in_user
from chat import errors, policy, selectors
from chat.services import email_notifications
from chat.wire import user_payload


def page_config(request: HttpRequest, room_id: int | None) -> dict[str, Any]:
    """What the page's script needs from the server: socket URLs, limits, the viewer.

    The socket URLs are passed as configured; the script swaps in the page's own
    origin when the configured host is the built-in default (``localhost:8000``)
    and the page is served from elsewhere (see ``resolveSocketUrl`` in ``static/chat/client.js``).
    """
    return {
        "websocketUrl": settings.CHAT_WEBSOCKET_URL,
        "presenceWebsocketUrl": settings.CHAT_PRESENCE_WEBSOCKET_URL,
        "maxMessageLength": settings.CHAT_MAX_MESSAGE_LENGTH,
        "messageEditTimeout": settings.CHAT_MESSAGE_EDIT_TIMEOUT,
        "messageDeleteTimeout": settings.CHAT_MESSAGE_DELETE_TIMEOUT,
        "heartbeatInterval": settings.CHAT_HEARTBEAT_INTERVAL,
        "typingTimeout": settings.CHAT_TYPING_TIMEOUT,
        "fileUploadLimit": settings.CHAT_FILE_UPLOAD_LIMIT,
        "user": user_payload(signed_in_user(request)),
        # What the page needs to mirror chat.policy.is_room_staff and slow-mode
        # exemption (the server decides).
        "isStaff": bool(request.user.is_staff),
        "isSupportStaff": policy.is_support_staff(signed_in_user(request)),
        "pageUrl": reverse("chat-page"),
        "loginUrl": resolve_url(settings.LOGIN_URL),
        "roomId": room_id,
    }


@login_required
@ensure_csrf_cookie
def chat_page(request: HttpRequest, room_id: int | None = None) -> HttpResponse:
    """The chat page, opened on ``room_id`` when given (404 if the viewer may not see it)."""
    room = None
    if room_id is not None:
        try:
            room = selectors.room_get_for_user(signed_in_user(request), room_id)
        except errors.NotFound:
            raise Http404("No such room.") from None
    return render(
        request,
        "chat/page.html",
        {"room": room, "chat_config": page_config(request, room_id)},
    )


@csrf_exempt  # the signed token is the credential; mail clients POST without a session
@require_http_methods(["GET", "POST"])
def email_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The link in every notification email. ``GET`` asks to confirm (it changes
    nothing: mail scanners follow links); ``POST``, from the page's button or a mail
    client's one-click unsubscribe (RFC 8058), turns the emails off. A forged,
    mangled or expired token: 400 with a page that says so."""
    try:
        if request.method == "POST":
            user = email_notifications.email_unsubscribe(token=token)
            done = True
        else:
            user = email_notifications.unsubscribe_user(token)
            done = False
    except errors.ValidationFailed as refused:
        return render(request, "chat/unsubscribe.html", {"error": refused.detail}, status=400)
    return render(
        request,
        "chat/unsubscribe.html",
        {"done": done, "email": user.email, "page_url": reverse("chat-page")},
    )
