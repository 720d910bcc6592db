"""The one place a model becomes its wire shape (USER, ROOM, MESSAGE, ...).

Used by REST answers, published events and replay alike; each payload is
computed once per event. Callers load what the serializers touch
(``selectors`` does: sender, reactions, mentions) so a page costs constant queries.
"""

from __future__ import annotations

from typing import Any

from chat.api import serializers as s
from chat.models import ChatMessage, ChatParticipant, ChatRoom, UserPresence


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


def message_payload(message: ChatMessage) -> dict[str, Any]:
    return dict(s.MessageSerializer(message).data)


def messages_payload(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    return [dict(item) for item in s.MessageSerializer(messages, many=True).data]


def presence_payload(presence: UserPresence) -> dict[str, Any]:
    return dict(s.PresenceSerializer(presence).data)
