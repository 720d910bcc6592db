"""Wire shapes of the contract (output) and validation of request bodies (input).

Output serializers are used only through ``chat.payloads``, so REST answers,
broadcast events and replayed events share one shape and one OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from chat import limits
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
    # Labels of its own, so the schema names this per-viewer enum MyRoleEnum only.
    my_role = serializers.ChoiceField(
        choices=[(value, f"{label} (you)") for value, label in ChatParticipant.Role.choices],
        allow_null=True,
        required=False,
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
    preview = serializers.CharField(allow_null=True, help_text="First page of a text file.")


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
        from chat.payloads import file_payload

        return file_payload(message)

    @extend_schema_field(ReactionSummarySerializer(many=True))
    def get_reactions(self, message: ChatMessage) -> list[dict[str, Any]]:
        from chat.payloads import reactions_payload

        return reactions_payload(message)


class PresenceSerializer(serializers.Serializer):
    user = UserSerializer()
    status = serializers.ChoiceField(choices=UserPresence.Status.choices)
    last_seen = serializers.DateTimeField()
    is_typing = serializers.BooleanField()
    current_room = serializers.IntegerField(
        source="current_room_id",
        allow_null=True,
        help_text="The room the user last typed in; null unless the viewer may see it.",
    )


class HistoryPageSerializer(serializers.Serializer):
    results = MessageSerializer(many=True)
    older = serializers.CharField(allow_null=True)
    newer = serializers.CharField(allow_null=True)


class RoomReadSerializer(serializers.Serializer):
    room_id = serializers.IntegerField()
    unread_count = serializers.IntegerField()


class EnrollmentSerializer(serializers.Serializer):
    course = serializers.IntegerField(source="course_id")
    user = UserSerializer()
    role = serializers.CharField()


# --- Input ------------------------------------------------------------------------
# Shapes and types only; the services own the domain rules (lengths after trimming,
# who may do what), so a socket frame and a REST body are judged the same way.


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """A database id: an integer within the range of a BigAutoField."""
    return serializers.IntegerField(min_value=1, max_value=limits.ID_MAX, **kwargs)


class RoomListQuerySerializer(serializers.Serializer):
    chat_type = serializers.ChoiceField(choices=ChatRoom.ChatType.choices, required=False)
    course = id_field(required=False)
    # Blank (after trimming) is no filter, so the schema's every string is accepted.
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=limits.SEARCH_QUERY_MAX, trim_whitespace=True
    )


class RoomCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=limits.ROOM_NAME_MAX)
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=limits.ROOM_DESCRIPTION_MAX
    )
    chat_type = serializers.ChoiceField(choices=ChatRoom.ChatType.choices)
    course = id_field(required=False, allow_null=True)
    max_participants = serializers.IntegerField(
        required=False, min_value=1, max_value=limits.ROOM_MAX_PARTICIPANTS_CEILING
    )


class RoomUpdateSerializer(serializers.Serializer):
    """PUT needs ``name``; PATCH takes any subset."""

    name = serializers.CharField(max_length=limits.ROOM_NAME_MAX)
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=limits.ROOM_DESCRIPTION_MAX
    )
    max_participants = serializers.IntegerField(
        required=False, min_value=1, max_value=limits.ROOM_MAX_PARTICIPANTS_CEILING
    )


class ParticipantInviteSerializer(serializers.Serializer):
    user = id_field()
    role = serializers.ChoiceField(
        choices=ChatParticipant.Role.choices, default=ChatParticipant.Role.MEMBER
    )


class ParticipantUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=ChatParticipant.Role.choices, required=False)
    is_muted = serializers.BooleanField(required=False)


class HistoryQuerySerializer(serializers.Serializer):
    """``limit`` above CHAT_MESSAGE_HISTORY_LIMIT is clamped to it; below 1 is refused."""

    before = id_field(required=False)
    after = id_field(required=False)
    limit = serializers.IntegerField(required=False, min_value=1)


class MarkReadSerializer(serializers.Serializer):
    message_id = id_field()


class MessageSearchQuerySerializer(serializers.Serializer):
    room = id_field(required=False)
    sender = id_field(required=False)
    message_type = serializers.ChoiceField(choices=ChatMessage.MessageType.choices, required=False)
    q = serializers.CharField(required=False, max_length=limits.SEARCH_QUERY_MAX)


class MessageCreateSerializer(serializers.Serializer):
    """A message as JSON."""

    room = id_field()
    content = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    client_id = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=limits.CLIENT_ID_MAX
    )
    reply_to = id_field(required=False, allow_null=True)


class MessageUploadSerializer(serializers.Serializer):
    """A message as multipart form data: a ``file`` (``content`` is then an optional
    caption). Form fields are strings, so nothing here is null: leave a field out."""

    room = id_field()
    content = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    client_id = serializers.CharField(
        required=False, allow_blank=True, max_length=limits.CLIENT_ID_MAX
    )
    reply_to = id_field(required=False)
    file = serializers.FileField(required=False, allow_empty_file=True, use_url=False)


class MessageEditSerializer(serializers.Serializer):
    content = serializers.CharField(allow_blank=True, trim_whitespace=False)


class MessageReplySerializer(serializers.Serializer):
    content = serializers.CharField(trim_whitespace=False)
    client_id = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=limits.CLIENT_ID_MAX
    )


class ReactionSerializer(serializers.Serializer):
    # Untrimmed: whether it is one emoji is the service's rule (a 400 with a code).
    emoji = serializers.CharField(max_length=limits.EMOJI_MAX, trim_whitespace=False)


class PresenceQuerySerializer(serializers.Serializer):
    user = id_field(required=False)


class PresenceUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=UserPresence.Status.choices)


class RoomQuerySerializer(serializers.Serializer):
    room = id_field()


class SystemAlertSerializer(serializers.Serializer):
    """A staff alert: to one room (``room``), or to every active room when it is omitted."""

    content = serializers.CharField(trim_whitespace=False)
    room = id_field(required=False, allow_null=True)


class SystemAlertResultSerializer(serializers.Serializer):
    messages = MessageSerializer(many=True)
