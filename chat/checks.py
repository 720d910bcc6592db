"""System checks of the chat's settings (``manage.py check``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

from chat.uploads import SNIFFABLE_TYPES


@register()
def upload_type_lists(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A deny or allow entry the sniffer never returns would silently do nothing."""
    messages: list[CheckMessage] = []
    for name in ("CHAT_UPLOAD_DENY_TYPES", "CHAT_UPLOAD_ALLOW_TYPES"):
        unknown = [item for item in getattr(settings, name) if item not in SNIFFABLE_TYPES]
        if unknown:
            messages.append(
                Warning(
                    f"{name} names {', '.join(unknown)}: no upload is ever sniffed as "
                    "that type, so the entry has no effect.",
                    hint="Use the types chat.uploads.SNIFFABLE_TYPES lists.",
                    id="chat.W001",
                )
            )
    return messages
