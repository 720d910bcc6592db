"""Validation of request bodies and query strings (input only: the output shapes
live in ``chat.wire``)."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.fields import empty

from academia.rest.fields import AwareDateTimeField, FlagField, TextField, client_id_field, id_field
from chat import limits
from chat.models import (
    ChatMessage,
    ChatParticipant,
    ChatRoom,
    EmailPreference,
    MessageReport,
    UserPresence,
)


class QueryBooleanField(serializers.BooleanField):
    """A yes/no filter of a query string: left out means no filter (DRF's
    BooleanField reads a missing form or query field as False)."""

    default_empty_html = empty


# Shapes and types only; the services own the domain rules (lengths after trimming,
# who may do what), so a socket frame and a REST body are judged the same way.


class RoomListQuerySerializer(serializers.Serializer):
    chat_type = serializers.ChoiceField(choices=ChatRoom.ChatType.choices, required=False)
    course = id_field(required=False)
    # Blank (after trimming) is no filter, so the schema's every string is accepted.
    search = TextField(
        required=False, allow_blank=True, max_length=limits.SEARCH_QUERY_MAX, trim_whitespace=True
    )


class RoomCreateSerializer(serializers.Serializer):
    name = TextField(max_length=limits.ROOM_NAME_MAX)
    description = TextField(
        required=False, allow_blank=True, max_length=limits.ROOM_DESCRIPTION_MAX
    )
    chat_type = serializers.ChoiceField(choices=ChatRoom.ChatType.choices)
    course = id_field(required=False, allow_null=True)
    max_participants = serializers.IntegerField(
        required=False, min_value=1, max_value=limits.ROOM_MAX_PARTICIPANTS_CEILING
    )


class RoomUpdateSerializer(serializers.Serializer):
    """PUT needs ``name``; PATCH takes any subset."""

    name = TextField(max_length=limits.ROOM_NAME_MAX)
    description = TextField(
        required=False, allow_blank=True, max_length=limits.ROOM_DESCRIPTION_MAX
    )
    max_participants = serializers.IntegerField(
        required=False, min_value=1, max_value=limits.ROOM_MAX_PARTICIPANTS_CEILING
    )
    slow_mode_seconds = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=limits.SLOW_MODE_MAX_SECONDS,
        help_text="Seconds a member waits between messages; 0 turns slow mode off.",
    )


class ParticipantInviteSerializer(serializers.Serializer):
    """An invitation: ``user`` (an id) or ``username``, one of them (the view says
    which is missing or too many, as a domain rule with its ``code``)."""

    user = id_field(required=False, help_text="The user's id; or give `username`.")
    username = TextField(
        required=False, max_length=150, help_text="The user's exact username, instead of `user`."
    )
    role = serializers.ChoiceField(
        choices=ChatParticipant.Role.choices, default=ChatParticipant.Role.MEMBER
    )


class ParticipantUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=ChatParticipant.Role.choices, required=False)
    is_muted = FlagField(required=False)


class HistoryQuerySerializer(serializers.Serializer):
    """``limit`` above CHAT_MESSAGE_HISTORY_LIMIT is clamped to it; below 1 is refused."""

    before = id_field(required=False)
    after = id_field(required=False)
    around = id_field(
        required=False,
        help_text="The page centred on this message id (not with `before` or `after`).",
    )
    limit = serializers.IntegerField(required=False, min_value=1)


class ThreadQuerySerializer(serializers.Serializer):
    """As ``HistoryQuerySerializer``, over a thread's replies."""

    before = id_field(required=False)
    after = id_field(required=False)
    limit = serializers.IntegerField(required=False, min_value=1)


class MarkReadSerializer(serializers.Serializer):
    message_id = id_field()


class RenderSerializer(serializers.Serializer):
    room = id_field()
    content = TextField(allow_blank=True, trim_whitespace=False)


class RoomNotificationsSerializer(serializers.Serializer):
    muted = FlagField()


class EmailNotificationsSerializer(serializers.Serializer):
    email_notifications = serializers.ChoiceField(choices=EmailPreference.Mode.choices)


class MessageSearchQuerySerializer(serializers.Serializer):
    room = id_field(required=False)
    sender = id_field(required=False)
    message_type = serializers.ChoiceField(choices=ChatMessage.MessageType.choices, required=False)
    q = TextField(required=False, max_length=limits.SEARCH_QUERY_MAX)
    has_file = QueryBooleanField(required=False)
    date_from = serializers.DateField(required=False, help_text="Sent on this day or later.")
    date_to = serializers.DateField(required=False, help_text="Sent on this day or earlier.")


class MessageRankedSearchQuerySerializer(serializers.Serializer):
    """The page's search: words (websearch syntax on PostgreSQL) and filters."""

    q = TextField(max_length=limits.SEARCH_QUERY_MAX)
    room = id_field(required=False)
    sender = id_field(required=False)
    has_file = QueryBooleanField(required=False)
    date_from = serializers.DateField(required=False, help_text="Sent on this day or later.")
    date_to = serializers.DateField(required=False, help_text="Sent on this day or earlier.")


class MessageReplySerializer(serializers.Serializer):
    """A reply as JSON: a message's fields but its room and ``reply_to``."""

    content = TextField(trim_whitespace=False)
    client_id = client_id_field()
    is_question = FlagField(required=False, default=False)
    anonymous = FlagField(
        required=False,
        default=False,
        help_text="Post anonymously to classmates (course rooms, students; text only).",
    )


class MessageCreateSerializer(MessageReplySerializer):
    """A message as JSON."""

    room = id_field()
    content = TextField(required=False, allow_blank=True, trim_whitespace=False)
    reply_to = id_field(required=False, allow_null=True)


class MessageReplyUploadSerializer(serializers.Serializer):
    """A reply as multipart form data: a ``file`` and an optional caption (a text
    reply is JSON). Form fields are strings, so nothing here is null: leave a field out."""

    content = TextField(required=False, allow_blank=True, trim_whitespace=False)
    client_id = client_id_field(allow_null=False)
    is_question = FlagField(required=False, default=False)
    anonymous = FlagField(
        required=False, default=False, help_text="Refused with a file: anonymous posts are text."
    )
    file = serializers.FileField(allow_empty_file=True, use_url=False)


class MessageUploadSerializer(MessageReplyUploadSerializer):
    """A message as multipart form data: a ``file`` (``content`` is then an optional
    caption), or a text as a form."""

    room = id_field()
    reply_to = id_field(required=False)
    file = serializers.FileField(required=False, allow_empty_file=True, use_url=False)


class MessageEditSerializer(serializers.Serializer):
    content = TextField(allow_blank=True, trim_whitespace=False)


class QuestionsQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[("open", "Open (no endorsed answer)"), ("answered", "Answered")],
        required=False,
    )


class StaffQuestionAskSerializer(serializers.Serializer):
    # Untrimmed and unbounded here: the service cleans it as a message's content.
    content = TextField(trim_whitespace=False)


class StaffQuestionAnswerSerializer(serializers.Serializer):
    content = TextField(trim_whitespace=False)


class StaffQuestionsQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[("open", "Open (not answered)"), ("answered", "Answered")], required=False
    )


class ReactionSerializer(serializers.Serializer):
    # Untrimmed: whether it is one emoji is the service's rule (a 400 with a code).
    emoji = TextField(max_length=limits.EMOJI_MAX, trim_whitespace=False)


class PresenceQuerySerializer(serializers.Serializer):
    user = id_field(required=False)


class PresenceUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=UserPresence.Status.choices)


class RoomQuerySerializer(serializers.Serializer):
    room = id_field()


class SystemAlertSerializer(serializers.Serializer):
    """A staff alert: to one room (``room``), or to every active room when it is omitted."""

    content = TextField(trim_whitespace=False)
    room = id_field(required=False, allow_null=True)


class PollCreateSerializer(serializers.Serializer):
    room = id_field()
    question = TextField(max_length=limits.POLL_QUESTION_MAX, trim_whitespace=False)
    options = serializers.ListField(
        child=TextField(max_length=limits.POLL_OPTION_MAX, trim_whitespace=False),
        min_length=limits.POLL_OPTIONS_MIN,
        max_length=limits.POLL_OPTIONS_MAX,
    )
    allows_multiple = FlagField(default=False)
    is_anonymous = FlagField(default=False)
    closes_at = AwareDateTimeField(required=False, allow_null=True)
    client_id = client_id_field()


class PollVoteSerializer(serializers.Serializer):
    """The actor's whole vote: one option, several if the poll allows, none to take it back."""

    option_ids = serializers.ListField(child=id_field(), max_length=limits.POLL_OPTIONS_MAX)


class OfficeHoursSerializer(serializers.Serializer):
    open = FlagField()


class BanCreateSerializer(serializers.Serializer):
    user = id_field()
    reason = TextField(required=False, allow_blank=True, max_length=limits.BAN_REASON_MAX)


class ReportCreateSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=MessageReport.Reason.choices)
    note = TextField(required=False, allow_blank=True, max_length=limits.REPORT_NOTE_MAX)


class ReportListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=MessageReport.Status.choices, required=False)


class ReportResolveSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=MessageReport.Resolution.choices)
    note = TextField(required=False, allow_blank=True, max_length=limits.REPORT_NOTE_MAX)
