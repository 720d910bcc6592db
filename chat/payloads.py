"""The one place a model becomes its wire shape (USER, ROOM, MESSAGE, ...).

Used by REST answers, published events and replay alike; each payload is
computed once per event. Callers load what the serializers touch
(``selectors`` does: sender, reactions, mentions) so a page costs constant queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.urls import reverse
from django.utils import timezone

from chat import policy
from chat.api import serializers as s
from chat.models import ChatMessage, ChatParticipant, ChatRoom, UserPresence

if TYPE_CHECKING:
    from accounts.models import User


def user_payload(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "username": user.username, "display_name": user.get_display_name()}


def room_payload(
    room: ChatRoom, *, my_role: str | None = None, unread_count: int | None = None
) -> dict[str, Any]:
    """ROOM. ``participant_count`` comes from an annotation when present."""
    if not hasattr(room, "participant_count"):
        room.participant_count = room.participants.filter(is_active=True).count()  # type: ignore[attr-defined]
    data = dict(s.RoomSerializer(room).data)
    data["my_role"] = my_role if my_role is not None else getattr(room, "my_role", None)
    data["unread_count"] = (
        unread_count if unread_count is not None else getattr(room, "unread_count", None)
    )
    return data


def rooms_payload(rooms: list[ChatRoom]) -> list[dict[str, Any]]:
    """ROOM of each room (annotated as ``selectors.visible_rooms`` does), in one pass."""
    data = s.RoomSerializer(rooms, many=True).data
    return [
        dict(
            item,
            my_role=getattr(room, "my_role", None),
            unread_count=getattr(room, "unread_count", None),
        )
        for room, item in zip(rooms, data, strict=True)
    ]


def participant_payload(participant: ChatParticipant) -> dict[str, Any]:
    return dict(s.ParticipantSerializer(participant).data)


def _datetime(value: datetime | None) -> str | None:
    """As DRF's DateTimeField writes it: ISO 8601 in the current time zone, UTC as Z."""
    if value is None:
        return None
    text = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def file_payload(message: ChatMessage) -> dict[str, Any] | None:
    if message.is_deleted or not message.file:
        return None
    thumbnail_url = None
    if message.thumbnail:
        thumbnail_url = reverse("chat-message-thumbnail", kwargs={"pk": message.pk})
    return {
        "url": reverse("chat-message-file", kwargs={"pk": message.pk}),
        "name": message.file_name,
        "size": message.file_size or 0,
        "content_type": message.file_content_type,
        "thumbnail_url": thumbnail_url,
        "width": message.image_width,
        "height": message.image_height,
        "preview": message.file_preview or None,
    }


def reactions_payload(message: ChatMessage) -> list[dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for reaction in message.reactions.all():
        entry = summary.setdefault(
            reaction.emoji, {"emoji": reaction.emoji, "count": 0, "user_ids": []}
        )
        entry["count"] += 1
        entry["user_ids"].append(reaction.user_id)
    return list(summary.values())


def message_payload(message: ChatMessage) -> dict[str, Any]:
    """MESSAGE, exactly as ``MessageSerializer`` (which documents it in the OpenAPI
    schema) writes it, built directly: every send builds one, so it is hot."""
    return {
        "id": message.pk,
        "room_id": message.room_id,
        "sender": user_payload(message.sender),
        "message_type": message.message_type,
        "content": message.content,
        "content_html": message.content_html,
        "mentions": sorted(user.pk for user in message.mentions.all()),
        "reply_to": message.reply_to_id,
        "client_id": message.client_id,
        "file": file_payload(message),
        "reactions": reactions_payload(message),
        "is_edited": message.is_edited,
        "is_deleted": message.is_deleted,
        "created_at": _datetime(message.created_at),
        "updated_at": _datetime(message.updated_at),
    }


def messages_payload(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    return [message_payload(message) for message in messages]


def presences_payload(
    presences: Iterable[UserPresence], *, viewer: User | None
) -> list[dict[str, Any]]:
    """PRESENCE of each, as ``viewer`` may see it: ``current_room`` only when the viewer
    may see that room (else null, so a private room's id never reaches outsiders);
    always null without a viewer. One query for the lot."""
    presences = list(presences)
    data = [dict(item) for item in s.PresenceSerializer(presences, many=True).data]
    room_ids = {p.current_room_id for p in presences if p.current_room_id is not None}
    visible: set[int] = set()
    if room_ids and viewer is not None:
        visible = set(
            ChatRoom.objects.filter(policy.visible_rooms_q(viewer), pk__in=room_ids).values_list(
                "pk", flat=True
            )
        )
    for item in data:
        if item["current_room"] not in visible:
            item["current_room"] = None
    return data


def presence_payload(presence: UserPresence, *, viewer: User | None = None) -> dict[str, Any]:
    """PRESENCE as ``viewer`` may see it (see ``presences_payload``)."""
    return presences_payload([presence], viewer=viewer)[0]
