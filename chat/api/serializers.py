"""Wire shapes of the contract (output) and validation of request bodies (input).

Output serializers are used only through ``chat.payloads``, so REST answers,
broadcast events and replayed events share one shape and one OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from chat.models import ChatMessage, ChatParticipant, ChatRoom, UserPresence

# --- Output -----------------------------------------------------------------------


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.SerializerMethodField()

    def get_display_name(self, user: Any) -> str:
        return user.get_display_name()


class RoomSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    chat_type = serializers.ChoiceField(choices=ChatRoom.ChatType.choices)
    course = serializers.IntegerField(source="course_id", allow_null=True)
    created_by = UserSerializer()
    is_active = serializers.BooleanField()
    max_participants = serializers.IntegerField()
    participant_count = serializers.IntegerField()
    last_seq = serializers.IntegerField()
    my_role = serializers.ChoiceField(
        choices=ChatParticipant.Role.choices, allow_null=True, required=False
    )
    unread_count = serializers.IntegerField(allow_null=True, required=False)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ParticipantSerializer(serializers.Serializer):
    user = UserSerializer()
    role = serializers.ChoiceField(choices=ChatParticipant.Role.choices)
    joined_at = serializers.DateTimeField()
    is_active = serializers.BooleanField()
    is_muted = serializers.BooleanField()


class FileSerializer(serializers.Serializer):
    url = serializers.CharField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    thumbnail_url = serializers.CharField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)


class ReactionSummarySerializer(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    user_ids = serializers.ListField(child=serializers.IntegerField())


class ReactionUsersSerializer(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    users = UserSerializer(many=True)


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    room_id = serializers.IntegerField()
    sender = UserSerializer()
    message_type = serializers.ChoiceField(choices=ChatMessage.MessageType.choices)
    content = serializers.CharField()
    content_html = serializers.CharField()
    mentions = serializers.SerializerMethodField()
    reply_to = serializers.IntegerField(source="reply_to_id", allow_null=True)
    client_id = serializers.CharField(allow_null=True)
    file = serializers.SerializerMethodField()
    reactions = serializers.SerializerMethodField()
    is_edited = serializers.BooleanField()
    is_deleted = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_mentions(self, message: ChatMessage) -> list[int]:
        return sorted(user.pk for user in message.mentions.all())

    @extend_schema_field(FileSerializer(allow_null=True))
    def get_file(self, message: ChatMessage) -> dict[str, Any] | None:
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
        }

    @extend_schema_field(ReactionSummarySerializer(many=True))
    def get_reactions(self, message: ChatMessage) -> list[dict[str, Any]]:
        summary: dict[str, dict[str, Any]] = {}
        for reaction in message.reactions.all():
            entry = summary.setdefault(
                reaction.emoji, {"emoji": reaction.emoji, "count": 0, "user_ids": []}
            )
            entry["count"] += 1
            entry["user_ids"].append(reaction.user_id)
        return list(summary.values())


class PresenceSerializer(serializers.Serializer):
    user = UserSerializer()
    status = serializers.ChoiceField(choices=UserPresence.Status.choices)
    last_seen = serializers.DateTimeField()
    is_typing = serializers.BooleanField()
    current_room = serializers.IntegerField(source="current_room_id", allow_null=True)


class HistoryPageSerializer(serializers.Serializer):
    results = MessageSerializer(many=True)
    older = serializers.CharField(allow_null=True)
    newer = serializers.CharField(allow_null=True)
