"""The wire layer: every shape and frame the server sends, in one place.

- ``Frame``: the type of every server frame (room events, ephemerals, replies);
- the output shapes (USER, ROOM, PARTICIPANT, MESSAGE, FILE, PRESENCE, ...): a
  serializer class declares each for the OpenAPI schema (and, through it, the
  AsyncAPI document of the sockets), a ``*_payload`` function builds it;
- one constructor per frame that is not a room event (room events are built by
  ``chat.events.append_room_event`` from a ``Frame`` and their fields).

REST answers, published events and replay share these, so one shape has one
definition; each payload is computed once per event. Callers load what the
builders touch (``selectors`` does: sender, reactions, mentions) so a page
costs constant queries. ``conftest.captured_events`` checks every published
frame against its declared shape (``chat.asyncapi``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from chat import policy
from chat.models import (
    AuditEntry,
    ChatMessage,
    ChatParticipant,
    ChatRoom,
    EmailPreference,
    MessageReport,
    PinnedMessage,
    Poll,
    QueueEntry,
    RoomBan,
    StaffQuestion,
    UserPresence,
)
from chat.rendering import EmojiEntry

# The socket protocol's version, in every socket's first frame (connection.ready,
# presence.snapshot): raised only by a change that breaks socket clients (CHANGELOG.md).
PROTOCOL_VERSION = 1


class Frame(StrEnum):
    """Every frame type the server sends."""

    # Room events: persisted with a per-room ``seq``, replayed after a reconnect.
    MESSAGE_CREATED = "message.created"
    MESSAGE_UPDATED = "message.updated"
    MESSAGE_DELETED = "message.deleted"
    REACTION_ADDED = "reaction.added"
    REACTION_REMOVED = "reaction.removed"
    PARTICIPANT_JOINED = "participant.joined"
    PARTICIPANT_LEFT = "participant.left"
    PARTICIPANT_UPDATED = "participant.updated"
    ROOM_UPDATED = "room.updated"
    MESSAGE_PINNED = "message.pinned"
    MESSAGE_UNPINNED = "message.unpinned"
    POLL_UPDATED = "poll.updated"
    QUEUE_UPDATED = "queue.updated"
    THREAD_UPDATED = "thread.updated"
    # Ephemeral: never stored.
    TYPING = "typing"
    PRESENCE = "presence"
    # To one user (their presence sockets).
    NOTIFICATION = "notification"
    UNREAD = "unread"
    QUEUE_TAKEN = "queue.taken"
    REPORT_CREATED = "report.created"  # to each moderator of the room
    REPORT_RESOLVED = "report.resolved"
    NOTIFICATIONS_UPDATED = "notifications.updated"
    STAFF_QUESTION_ASKED = "staff_question.asked"
    STAFF_QUESTION_ANSWERED = "staff_question.answered"
    ANONYMOUS_AUTHOR = "anonymous.author"  # to the room's staff
    THREAD_READ = "thread.read"  # to the reader's own sockets
    # Replies and connection frames of one socket.
    CONNECTION_READY = "connection.ready"
    PRESENCE_SNAPSHOT = "presence.snapshot"
    RESYNC_REQUIRED = "resync.required"
    PONG = "pong"
    ERROR = "error"


ROOM_EVENTS = frozenset(
    {
        Frame.MESSAGE_CREATED,
        Frame.MESSAGE_UPDATED,
        Frame.MESSAGE_DELETED,
        Frame.REACTION_ADDED,
        Frame.REACTION_REMOVED,
        Frame.PARTICIPANT_JOINED,
        Frame.PARTICIPANT_LEFT,
        Frame.PARTICIPANT_UPDATED,
        Frame.ROOM_UPDATED,
        Frame.MESSAGE_PINNED,
        Frame.MESSAGE_UNPINNED,
        Frame.POLL_UPDATED,
        Frame.QUEUE_UPDATED,
        Frame.THREAD_UPDATED,
    }
)

# Frames to single users that concern one room: besides their presence sockets, the
# user's sockets of that room (``room_id``) get them too.
ROOM_PRIVATE_FRAMES = frozenset(
    {
        Frame.STAFF_QUESTION_ASKED,
        Frame.STAFF_QUESTION_ANSWERED,
        Frame.ANONYMOUS_AUTHOR,
        Frame.THREAD_READ,
    }
)


# --- Shapes: declared for the schema ------------------------------------------------------
# Each is typed with what it serialises; ``Any`` for those also given a list
# (``many=True``), which the stubs would check against the same type.


class UserSerializer(serializers.Serializer[User]):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.SerializerMethodField()

    def get_display_name(self, user: User) -> str:
        return user.get_display_name()


class SenderSerializer(serializers.Serializer[Any]):
    """USER; on an anonymous post, the anonymous classmate (``id`` and ``username`` null)."""

    id = serializers.IntegerField(allow_null=True)
    username = serializers.CharField(allow_null=True)
    display_name = serializers.CharField()


ANONYMOUS_SENDER = {"id": None, "username": None, "display_name": "Anonymous classmate"}


class RoomSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    chat_type = serializers.ChoiceField(choices=ChatRoom.ChatType.choices)
    course = serializers.IntegerField(source="course_id", allow_null=True)
    created_by = UserSerializer()
    is_active = serializers.BooleanField()
    max_participants = serializers.IntegerField()
    slow_mode_seconds = serializers.IntegerField(
        help_text="Seconds a member waits between messages (0: off); moderators and "
        "staff are exempt."
    )
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


class ParticipantSerializer(serializers.Serializer[ChatParticipant]):
    user = UserSerializer()
    role = serializers.ChoiceField(choices=ChatParticipant.Role.choices)
    joined_at = serializers.DateTimeField()
    is_active = serializers.BooleanField()
    is_muted = serializers.BooleanField()


class FileSerializer(serializers.Serializer[dict[str, Any]]):
    url = serializers.CharField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    thumbnail_url = serializers.CharField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    preview = serializers.CharField(allow_null=True, help_text="First page of a text file.")


class ReactionSummarySerializer(serializers.Serializer[dict[str, Any]]):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    user_ids = serializers.ListField(child=serializers.IntegerField())


class ReactionUsersSerializer(serializers.Serializer[Any]):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    users = UserSerializer(many=True)


class PollOptionSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    text = serializers.CharField()
    vote_count = serializers.IntegerField()
    voter_ids = serializers.ListField(
        child=serializers.IntegerField(),
        allow_null=True,
        help_text="Who chose it; null in an anonymous poll, for everyone.",
    )


class PollSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The poll's message id.")
    question = serializers.CharField()
    allows_multiple = serializers.BooleanField()
    is_anonymous = serializers.BooleanField()
    closes_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    is_closed = serializers.BooleanField(help_text="Closed by hand, or past `closes_at`.")
    options = PollOptionSerializer(many=True)
    voter_count = serializers.IntegerField()
    my_votes = serializers.ListField(
        child=serializers.IntegerField(),
        allow_null=True,
        required=False,
        help_text="The viewer's options: filled in the poll's own REST answers, null elsewhere.",
    )


class MessageSerializer(serializers.Serializer[ChatMessage]):
    id = serializers.IntegerField()
    room_id = serializers.IntegerField()
    sender = serializers.SerializerMethodField()
    message_type = serializers.ChoiceField(choices=ChatMessage.MessageType.choices)
    content = serializers.CharField()
    content_html = serializers.CharField()
    mentions = serializers.SerializerMethodField()
    reply_to = serializers.IntegerField(source="reply_to_id", allow_null=True)
    client_id = serializers.CharField(allow_null=True)
    file = serializers.SerializerMethodField()
    reactions = serializers.SerializerMethodField()
    poll = serializers.SerializerMethodField()
    is_edited = serializers.BooleanField()
    is_deleted = serializers.BooleanField()
    is_question = serializers.BooleanField()
    endorsed_answer_id = serializers.IntegerField(
        allow_null=True, help_text="On a question: its endorsed answer (a reply to it)."
    )
    is_endorsed = serializers.BooleanField(
        help_text="This reply is its question's endorsed answer."
    )
    reply_count = serializers.IntegerField(help_text="Replies in its thread, deleted ones aside.")
    last_reply_at = serializers.DateTimeField(
        allow_null=True, help_text="When the newest reply in its thread was sent."
    )
    is_anonymous = serializers.BooleanField(
        help_text="Posted anonymously to classmates: `sender` is the anonymous classmate."
    )
    anonymous_author = serializers.SerializerMethodField(
        help_text="On an anonymous post, its author: only in REST answers to the room's "
        "staff and to the author; null everywhere else (and in every socket frame)."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(SenderSerializer())
    def get_sender(self, message: ChatMessage) -> dict[str, Any]:
        return sender_payload(message)

    @extend_schema_field(UserSerializer(allow_null=True))
    def get_anonymous_author(self, message: ChatMessage) -> dict[str, Any] | None:
        return None

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_mentions(self, message: ChatMessage) -> list[int]:
        return mention_ids(message)

    @extend_schema_field(FileSerializer(allow_null=True))
    def get_file(self, message: ChatMessage) -> dict[str, Any] | None:
        return file_payload(message)

    @extend_schema_field(ReactionSummarySerializer(many=True))
    def get_reactions(self, message: ChatMessage) -> list[dict[str, Any]]:
        return reactions_payload(message)

    @extend_schema_field(PollSerializer(allow_null=True))
    def get_poll(self, message: ChatMessage) -> dict[str, Any] | None:
        return message_poll_payload(message)


class PinSerializer(serializers.Serializer[Any]):
    message = MessageSerializer()
    pinned_by = UserSerializer()
    pinned_at = serializers.DateTimeField()
    seen_count = serializers.IntegerField(
        allow_null=True,
        help_text="Active participants (the sender aside) who have read up to it; "
        "for the room's staff only, null for others and in events.",
    )
    audience_count = serializers.IntegerField(
        allow_null=True, help_text="Active participants, the sender aside; as `seen_count`."
    )


class QueuePlaceSerializer(serializers.Serializer[Any]):
    user_id = serializers.IntegerField()
    position = serializers.IntegerField(min_value=1)


class QueueSerializer(serializers.Serializer[Any]):
    """The queue as everyone in the room sees it: ids and positions, no names."""

    is_open = serializers.BooleanField(help_text="Whether the office hours are open.")
    entries = QueuePlaceSerializer(many=True)


class QueueEntrySerializer(serializers.Serializer[Any]):
    user = UserSerializer()
    position = serializers.IntegerField(min_value=1)
    joined_at = serializers.DateTimeField()


class QueueViewSerializer(serializers.Serializer[Any]):
    """The queue as the viewer may see it: everyone their own place and its length;
    the room's staff also who waits."""

    room_id = serializers.IntegerField()
    is_open = serializers.BooleanField()
    length = serializers.IntegerField()
    my_position = serializers.IntegerField(allow_null=True)
    my_key = serializers.CharField(
        help_text="The viewer's key in this room's queue: their entry in `queue.updated`."
    )
    entries = QueueEntrySerializer(
        many=True, allow_null=True, help_text="For the room's staff; null for others."
    )


class QueueTakenSerializer(serializers.Serializer[Any]):
    """A student taken from the queue, and the private room opened for them."""

    room = RoomSerializer()
    user = UserSerializer()


class QuestionSerializer(serializers.Serializer[Any]):
    question = MessageSerializer()
    answer = MessageSerializer(
        allow_null=True, help_text="The endorsed answer (a reply to the question), if any."
    )


class StaffQuestionSerializer(serializers.Serializer[StaffQuestion]):
    id = serializers.IntegerField()
    room_id = serializers.IntegerField()
    asker = UserSerializer()
    content = serializers.CharField()
    content_html = serializers.CharField()
    status = serializers.ChoiceField(
        choices=[("open", "Open (not answered)"), ("answered", "Answered")]
    )
    answer = serializers.CharField(allow_null=True, help_text="The staff's answer, once given.")
    answer_html = serializers.CharField(allow_null=True)
    answered_by = UserSerializer(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class PresenceSerializer(serializers.Serializer[Any]):
    user = UserSerializer()
    status = serializers.ChoiceField(choices=UserPresence.Status.choices)
    last_seen = serializers.DateTimeField()
    is_typing = serializers.BooleanField()
    current_room = serializers.IntegerField(
        source="current_room_id",
        allow_null=True,
        help_text="The room the user last typed in; null unless the viewer may see it "
        "(and then is_typing is false).",
    )


class HistoryPageSerializer(serializers.Serializer[dict[str, Any]]):
    results = MessageSerializer(many=True)
    older = serializers.CharField(allow_null=True)
    newer = serializers.CharField(allow_null=True)


class SystemAlertResultSerializer(serializers.Serializer[dict[str, Any]]):
    messages = MessageSerializer(many=True, help_text="The alerts in rooms the sender may see.")
    room_count = serializers.IntegerField(help_text="Every room the alert reached.")


class RoomNotificationsSerializer(serializers.Serializer[dict[str, Any]]):
    room_id = serializers.IntegerField()
    muted = serializers.BooleanField()


class MutedRoomsSerializer(serializers.Serializer[dict[str, Any]]):
    muted_rooms = serializers.ListField(child=serializers.IntegerField())


class EmailNotificationsSerializer(serializers.Serializer[dict[str, Any]]):
    email_notifications = serializers.ChoiceField(
        choices=EmailPreference.Mode.choices,
        help_text="Email about mentions and answers to one's private questions missed "
        "while offline: `never`, `batched` (one email once things are quiet) or "
        "`immediately`.",
    )
    has_email = serializers.BooleanField(
        help_text="Whether the account has an email address (without one nothing is sent)."
    )


class RenderedSerializer(serializers.Serializer[dict[str, Any]]):
    content_html = serializers.CharField()


class EmojiSerializer(serializers.Serializer[dict[str, Any]]):
    emoji = serializers.CharField()
    name = serializers.CharField()
    aliases = serializers.ListField(child=serializers.CharField())


class RoomReadSerializer(serializers.Serializer[dict[str, Any]]):
    room_id = serializers.IntegerField()
    unread_count = serializers.IntegerField()


class ReportSerializer(serializers.Serializer[Any]):
    """REPORT: a message reported to the room's moderators (only they and staff see it)."""

    id = serializers.IntegerField()
    room_id = serializers.IntegerField()
    message = serializers.SerializerMethodField()
    reporter = UserSerializer(allow_null=True)
    reason = serializers.ChoiceField(choices=MessageReport.Reason.choices)
    note = serializers.CharField()
    status = serializers.ChoiceField(choices=MessageReport.Status.choices)
    resolution = serializers.ChoiceField(
        choices=MessageReport.Resolution.choices, allow_null=True, source="resolution_or_none"
    )
    resolved_by = UserSerializer(allow_null=True)
    resolution_note = serializers.CharField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    @extend_schema_field(MessageSerializer)
    def get_message(self, report: MessageReport) -> dict[str, Any]:
        viewer = self.context.get("viewer")
        if viewer is not None:
            return message_payload_for(viewer, report.message)
        return message_payload(report.message)


class BanSerializer(serializers.Serializer[Any]):
    """BAN: a user banned from a room."""

    user = UserSerializer()
    banned_by = UserSerializer(allow_null=True)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class AuditEntrySerializer(serializers.Serializer[Any]):
    """AUDIT_ENTRY: one moderation action (chat.services.audit)."""

    id = serializers.IntegerField()
    room_id = serializers.IntegerField()
    action = serializers.CharField(
        help_text="mute, unmute, role_change, remove, ban, unban, room_update, archive, "
        "hide, endorse, unendorse, pin, unpin, report_resolve"
    )
    actor = UserSerializer(allow_null=True)
    target_user = UserSerializer(allow_null=True)
    message_id = serializers.IntegerField(allow_null=True)
    details = serializers.DictField(help_text="What changed, e.g. `changes`, `reason`.")
    via = serializers.ChoiceField(choices=AuditEntry.Via.choices)
    created_at = serializers.DateTimeField()


class ThreadPageSerializer(serializers.Serializer[dict[str, Any]]):
    """A thread: its first message, a page of its replies (oldest first) and
    where the viewer is in it."""

    parent = MessageSerializer()
    results = MessageSerializer(many=True)
    older = serializers.CharField(allow_null=True)
    newer = serializers.CharField(allow_null=True)
    unread_count = serializers.IntegerField(
        help_text="Replies after the viewer's marker (0 when they do not follow the thread)."
    )
    last_read_id = serializers.IntegerField(allow_null=True)


class ThreadStateSerializer(serializers.Serializer[Any]):
    """THREAD_STATE: the viewer's unread replies in one thread."""

    message_id = serializers.IntegerField()
    unread_count = serializers.IntegerField()
    last_read_id = serializers.IntegerField(allow_null=True)


class RoomBriefSerializer(serializers.Serializer[ChatRoom]):
    """ROOM_BRIEF: what a search hit says of its room."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    chat_type = serializers.ChoiceField(choices=ChatRoom.ChatType.choices)


class SearchHitSerializer(serializers.Serializer[dict[str, Any]]):
    """SEARCH_HIT: a message that matched, its room, and a snippet of its text."""

    message = MessageSerializer()
    room = RoomBriefSerializer()
    highlight = serializers.CharField(
        help_text=(
            "Up to 200 characters of the text around the first match, HTML-escaped, "
            "matches inside <mark></mark>, cuts marked with …"
        )
    )


# --- Shapes: built ------------------------------------------------------------------------


def user_payload(user: User) -> dict[str, Any]:
    return {"id": user.pk, "username": user.username, "display_name": user.get_display_name()}


def room_payload(
    room: ChatRoom, *, my_role: str | None = None, unread_count: int | None = None
) -> dict[str, Any]:
    """ROOM, exactly as ``RoomSerializer`` (which documents it in the OpenAPI schema)
    writes it, built directly: every room list and socket handshake builds it.
    ``participant_count`` comes from an annotation when present."""
    if not hasattr(room, "participant_count"):
        room.participant_count = room.participants.filter(is_active=True).count()  # type: ignore[attr-defined]
    created_by = room.created_by
    return {
        "id": room.pk,
        "name": room.name,
        "description": room.description,
        "chat_type": str(room.chat_type),
        "course": room.course_id,
        "created_by": user_payload(created_by) if created_by is not None else None,
        "is_active": room.is_active,
        "max_participants": room.max_participants,
        "slow_mode_seconds": room.slow_mode_seconds,
        "participant_count": room.participant_count,  # type: ignore[attr-defined]
        "last_seq": room.last_seq,
        "my_role": my_role if my_role is not None else getattr(room, "my_role", None),
        "unread_count": (
            unread_count if unread_count is not None else getattr(room, "unread_count", None)
        ),
        "created_at": _datetime(room.created_at),
        "updated_at": _datetime(room.updated_at),
    }


def rooms_payload(rooms: Sequence[ChatRoom]) -> list[dict[str, Any]]:
    """ROOM of each room (annotated as ``selectors.visible_rooms`` does)."""
    return [room_payload(room) for room in rooms]


def participant_payload(participant: ChatParticipant) -> dict[str, Any]:
    return dict(ParticipantSerializer(participant).data)


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


def _loaded(message: ChatMessage) -> Any:
    """``selectors.load_message_relations``'s reactions and mentions of a page's
    message, or None (a message loaded otherwise: read through its managers)."""
    return message.__dict__.get("loaded_relations")


def mention_ids(message: ChatMessage) -> list[int]:
    loaded = _loaded(message)
    if loaded is not None:
        return sorted(loaded.mention_ids)
    return sorted(user.pk for user in message.mentions.all())


def reactions_payload(message: ChatMessage) -> list[dict[str, Any]]:
    loaded = _loaded(message)
    pairs = (
        loaded.reactions
        if loaded is not None
        else [(reaction.emoji, reaction.user_id) for reaction in message.reactions.all()]
    )
    summary: dict[str, dict[str, Any]] = {}
    for emoji, user_id in pairs:
        entry = summary.setdefault(emoji, {"emoji": emoji, "count": 0, "user_ids": []})
        entry["count"] += 1
        entry["user_ids"].append(user_id)
    return list(summary.values())


def poll_payload(poll: Poll, *, my_votes: list[int] | None = None) -> dict[str, Any]:
    """POLL: counts per option, voters unless anonymous; ``my_votes`` per viewer."""
    voters: dict[int, list[int]] = {}
    everyone: set[int] = set()
    for vote in poll.votes.all():
        voters.setdefault(vote.option_id, []).append(vote.user_id)
        everyone.add(vote.user_id)
    closes_at = poll.closes_at
    return {
        "id": poll.pk,
        "question": poll.question,
        "allows_multiple": poll.allows_multiple,
        "is_anonymous": poll.is_anonymous,
        "closes_at": _datetime(closes_at),
        "closed_at": _datetime(poll.closed_at),
        "is_closed": poll.closed_at is not None
        or (closes_at is not None and closes_at <= timezone.now()),
        "options": [
            {
                "id": option.pk,
                "text": option.text,
                "vote_count": len(voters.get(option.pk, [])),
                "voter_ids": None if poll.is_anonymous else sorted(voters.get(option.pk, [])),
            }
            for option in poll.options.all()
        ],
        "voter_count": len(everyone),
        "my_votes": my_votes,
    }


def message_poll_payload(message: ChatMessage) -> dict[str, Any] | None:
    """The POLL of a ``poll`` message (queried only for those), else None."""
    if message.message_type != ChatMessage.MessageType.POLL or message.is_deleted:
        return None
    try:
        poll = message.poll
    except Poll.DoesNotExist:
        return None
    return poll_payload(poll)


def pin_payload(pin: PinnedMessage, viewer: User | None = None) -> dict[str, Any]:
    """PIN; the counts come from ``selectors.room_pins`` for the room's staff, else None.
    With ``viewer``, a REST answer: its message as ``message_payload_for`` writes it."""
    message = message_payload_for(viewer, pin.message) if viewer else message_payload(pin.message)
    return {
        "message": message,
        "pinned_by": user_payload(pin.pinned_by),
        "pinned_at": _datetime(pin.pinned_at),
        "seen_count": getattr(pin, "seen_count", None),
        "audience_count": getattr(pin, "audience_count", None),
    }


def queue_key(room_id: int, user_id: int) -> str:
    """A user's place marker in a room's queue: stable, and names nobody. The room's
    ``queue.updated`` shows who waits by these keys only; each user learns their own
    (``my_key``) from ``GET /chat/rooms/{id}/queue/``."""
    return salted_hmac("chat.queue", f"{room_id}:{user_id}").hexdigest()[:16]


def queue_payload(room_id: int, is_open: bool, waiting: list[QueueEntry]) -> dict[str, Any]:
    """QUEUE: its length and the waiting entries, in order, as keys and positions."""
    return {
        "is_open": is_open,
        "length": len(waiting),
        "entries": [
            {"key": queue_key(room_id, entry.user_id), "position": number}
            for number, entry in enumerate(waiting, 1)
        ],
    }


def queue_view_payload(view: Any, *, viewer: Any) -> dict[str, Any]:
    """The queue as ``viewer`` sees it (QueueViewSerializer), from ``selectors.queue_view``."""
    room_id, is_open, waiting, staff = view.room_id, view.is_open, view.waiting, view.staff
    mine = [number for number, entry in enumerate(waiting, 1) if entry.user_id == viewer.pk]
    return {
        "room_id": room_id,
        "is_open": is_open,
        "length": len(waiting),
        "my_position": mine[0] if mine else None,
        "my_key": queue_key(room_id, viewer.pk),
        "entries": [
            {
                "user": user_payload(entry.user),
                "position": number,
                "joined_at": _datetime(entry.joined_at),
            }
            for number, entry in enumerate(waiting, 1)
        ]
        if staff
        else None,
    }


def sender_payload(message: ChatMessage) -> dict[str, Any]:
    """The sender as everyone may see it: nobody in particular on an anonymous post."""
    return dict(ANONYMOUS_SENDER) if message.is_anonymous else user_payload(message.sender)


def message_payload(message: ChatMessage, *, reveal: bool = False) -> dict[str, Any]:
    """MESSAGE, exactly as ``MessageSerializer`` (which documents it in the OpenAPI
    schema) writes it, built directly: every send builds one, so it is hot.

    Events, replay and notifications use it as is, so an anonymous post names
    no one; ``reveal`` (a REST answer to the room's staff or the author, see
    ``messages_payload_for``) fills ``anonymous_author``."""
    return {
        "id": message.pk,
        "room_id": message.room_id,
        "sender": sender_payload(message),
        "message_type": message.message_type,
        "content": message.content,
        "content_html": message.content_html,
        "mentions": mention_ids(message),
        "reply_to": message.reply_to_id,
        "client_id": message.client_id,
        "file": file_payload(message),
        "reactions": reactions_payload(message),
        "poll": message_poll_payload(message),
        "is_edited": message.is_edited,
        "is_deleted": message.is_deleted,
        "is_question": message.is_question,
        "endorsed_answer_id": message.endorsed_answer_id,
        "is_endorsed": message.is_endorsed,
        "reply_count": message.reply_count,
        "last_reply_at": _datetime(message.last_reply_at),
        "is_anonymous": message.is_anonymous,
        "anonymous_author": (
            user_payload(message.sender) if reveal and message.is_anonymous else None
        ),
        "created_at": _datetime(message.created_at),
        "updated_at": _datetime(message.updated_at),
    }


def messages_payload(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    return [message_payload(message) for message in messages]


def messages_payload_for(viewer: User, messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """MESSAGEs as a REST answer to ``viewer``: the author of an anonymous post is
    revealed to its room's staff (``policy.sees_anonymous_authors``, asked once per
    room) and to the author."""
    staff_of: dict[int, bool] = {}

    def reveal(message: ChatMessage) -> bool:
        if not message.is_anonymous:
            return False
        if message.sender_id == viewer.pk:
            return True
        if message.room_id not in staff_of:
            staff_of[message.room_id] = policy.sees_anonymous_authors(viewer, message.room)
        return staff_of[message.room_id]

    return [message_payload(message, reveal=reveal(message)) for message in messages]


def message_payload_for(viewer: User, message: ChatMessage) -> dict[str, Any]:
    return messages_payload_for(viewer, [message])[0]


def question_payload(question: ChatMessage) -> dict[str, Any]:
    """QUESTION: the question and its endorsed answer (loaded by
    ``selectors.room_questions``), or null."""
    answer = question.endorsed_answer
    return {
        "question": message_payload(question),
        "answer": message_payload(answer) if answer is not None else None,
    }


def report_payload(report: MessageReport, viewer: User | None = None) -> dict[str, Any]:
    """REPORT (load it with ``selectors.with_report_relations``). With ``viewer``, a
    REST answer: its message as ``message_payload_for`` writes it."""
    report.resolution_or_none = report.resolution or None  # type: ignore[attr-defined]
    return dict(ReportSerializer(report, context={"viewer": viewer}).data)


def reports_payload(
    reports: Iterable[MessageReport], viewer: User | None = None
) -> list[dict[str, Any]]:
    return [report_payload(report, viewer) for report in reports]


def ban_payload(ban: RoomBan) -> dict[str, Any]:
    return dict(BanSerializer(ban).data)


def audit_entries_payload(entries: Iterable[AuditEntry]) -> list[dict[str, Any]]:
    """AUDIT_ENTRY of each (load ``actor`` and ``target_user`` with them)."""
    return [dict(item) for item in AuditEntrySerializer(entries, many=True).data]


def thread_updated_body(
    message_id: int, reply_count: int, last_reply_at: datetime | None
) -> dict[str, Any]:
    """The fields of a ``thread.updated`` room event: a thread's new counts."""
    return {
        "message_id": message_id,
        "reply_count": reply_count,
        "last_reply_at": _datetime(last_reply_at),
    }


def thread_state_payload(state: Any) -> dict[str, Any]:
    """THREAD_STATE of a ``chat.services.threads.ThreadState``."""
    return {
        "message_id": state.message_id,
        "unread_count": state.unread_count,
        "last_read_id": state.last_read_id,
    }


def thread_read(room_id: int, state: Any) -> dict[str, Any]:
    """To the reader's own sockets: their marker in a thread moved (another tab read it)."""
    return {"type": Frame.THREAD_READ, "room_id": room_id, **thread_state_payload(state)}


def search_hits_payload_for(
    viewer: User, messages: Sequence[ChatMessage], highlights: Sequence[str]
) -> list[dict[str, Any]]:
    """SEARCH_HITs of messages loaded with their rooms, as a REST answer to ``viewer``
    (an anonymous post's author as ``messages_payload_for`` reveals it)."""
    return [
        {
            "message": payload,
            "room": {
                "id": message.room.pk,
                "name": message.room.name,
                "chat_type": message.room.chat_type,
            },
            "highlight": highlight,
        }
        for message, payload, highlight in zip(
            messages, messages_payload_for(viewer, messages), highlights, strict=True
        )
    ]


def question_payload_for(viewer: User, question: ChatMessage) -> dict[str, Any]:
    """QUESTION as a REST answer to ``viewer`` (see ``messages_payload_for``)."""
    answer = question.endorsed_answer
    shown = messages_payload_for(viewer, [question] if answer is None else [question, answer])
    return {"question": shown[0], "answer": shown[1] if answer is not None else None}


def staff_question_payload(question: StaffQuestion) -> dict[str, Any]:
    """STAFF_QUESTION: for its asker and the room's staff only (select ``asker``
    and ``answered_by`` with it)."""
    answered = question.answered_at is not None
    return {
        "id": question.pk,
        "room_id": question.room_id,
        "asker": user_payload(question.asker),
        "content": question.content,
        "content_html": question.content_html,
        "status": question.status,
        "answer": question.answer if answered else None,
        "answer_html": question.answer_html if answered else None,
        "answered_by": (
            user_payload(question.answered_by) if question.answered_by is not None else None
        ),
        "answered_at": _datetime(question.answered_at),
        "created_at": _datetime(question.created_at),
    }


def presences_payload(
    presences: Iterable[UserPresence], *, viewer: User | None
) -> list[dict[str, Any]]:
    """PRESENCE of each, as ``viewer`` may see it: ``current_room`` and ``is_typing``
    only when the viewer may see that room (else null and false, so neither a private
    room's id nor activity in it reaches outsiders); so always without a viewer. One
    query for the lot."""
    presences = list(presences)
    data = [dict(item) for item in PresenceSerializer(presences, many=True).data]
    room_ids = {p.current_room_id for p in presences if p.current_room_id is not None}
    visible: set[int] = set()
    if room_ids and viewer is not None:
        visible = set(
            ChatRoom.objects.filter(policy.visible_rooms_q(viewer), pk__in=room_ids).values_list(
                "pk", flat=True
            )
        )
    typed_since = timezone.now() - timedelta(milliseconds=settings.CHAT_TYPING_TIMEOUT)
    for presence, item in zip(presences, data, strict=True):
        if item["current_room"] not in visible:
            # Nor that they are typing there: the viewer may not know of that room.
            item["current_room"] = None
            item["is_typing"] = False
        elif item["is_typing"] and (presence.typing_at is None or presence.typing_at < typed_since):
            item["is_typing"] = False  # expired, as GET /chat/presence/typing/ says
    return data


def presence_payload(presence: UserPresence, *, viewer: User | None = None) -> dict[str, Any]:
    """PRESENCE as ``viewer`` may see it (see ``presences_payload``)."""
    return presences_payload([presence], viewer=viewer)[0]


# --- Frames other than room events --------------------------------------------------------


def connection_ready(room: dict[str, Any], user: dict[str, Any], last_seq: int) -> dict[str, Any]:
    """The room socket's first frame: the room as this user sees it, the user and
    the room's ``last_seq`` (resume with ``after_seq`` from there)."""
    return {
        "type": Frame.CONNECTION_READY,
        "protocol": PROTOCOL_VERSION,
        "room": room,
        "user": user,
        "last_seq": last_seq,
    }


def presence_snapshot(users: list[dict[str, Any]]) -> dict[str, Any]:
    """The presence socket's first frame: PRESENCE of everyone the user shares a room with."""
    return {"type": Frame.PRESENCE_SNAPSHOT, "protocol": PROTOCOL_VERSION, "users": users}


def typing(room_id: int, user: dict[str, Any], is_typing: bool) -> dict[str, Any]:
    return {"type": Frame.TYPING, "room_id": room_id, "user": user, "is_typing": is_typing}


def presence(presence: UserPresence) -> dict[str, Any]:
    """A user's status changed (``current_room`` is never broadcast)."""
    return {
        "type": Frame.PRESENCE,
        "user": user_payload(presence.user),
        "status": presence.status,
        "last_seen": _datetime(presence.last_seen),
    }


def notification(kind: str, room_id: int, message: dict[str, Any]) -> dict[str, Any]:
    return {"type": Frame.NOTIFICATION, "kind": kind, "room_id": room_id, "message": message}


def unread(room_id: int, unread_count: int) -> dict[str, Any]:
    return {"type": Frame.UNREAD, "room_id": room_id, "unread_count": unread_count}


def queue_taken(
    room_id: int, private_room: dict[str, Any], staff: dict[str, Any], student: dict[str, Any]
) -> dict[str, Any]:
    """To the ``student`` taken from ``room_id``'s queue (their presence sockets), and to
    the ``staff`` member's socket that took them: the private room opened between them."""
    return {
        "type": Frame.QUEUE_TAKEN,
        "room_id": room_id,
        "private_room": private_room,
        "staff": staff,
        "student": student,
    }


def report_frame(frame_type: Frame, report: dict[str, Any]) -> dict[str, Any]:
    """``report.created`` / ``report.resolved``, for one moderator's own stream."""
    return {"type": frame_type, "room_id": report["room_id"], "report": report}


def emoji_catalogue_payload(entries: Iterable[EmojiEntry]) -> list[dict[str, Any]]:
    return [
        {"emoji": entry.emoji, "name": entry.name, "aliases": list(entry.aliases)}
        for entry in entries
    ]


def email_notifications(user: User, mode: str) -> dict[str, Any]:
    return {"email_notifications": mode, "has_email": bool(user.email)}


def room_notifications(room_id: int, muted: bool) -> dict[str, Any]:
    return {"room_id": room_id, "muted": muted}


def notifications_updated(room_id: int, muted: bool) -> dict[str, Any]:
    """The user muted or unmuted a room's desktop notifications (their other tabs follow)."""
    return {"type": Frame.NOTIFICATIONS_UPDATED, **room_notifications(room_id, muted)}


def staff_question(event_type: Frame, question: dict[str, Any]) -> dict[str, Any]:
    """To one user: a private question to staff was asked (to the room's staff) or
    answered (to its asker and the room's staff)."""
    return {"type": event_type, "room_id": question["room_id"], "question": question}


def anonymous_author(message: ChatMessage) -> dict[str, Any]:
    """To each of the room's staff: who wrote an anonymous post (``message_id``), which
    the room's own ``message.created`` does not say."""
    return {
        "type": Frame.ANONYMOUS_AUTHOR,
        "room_id": message.room_id,
        "message_id": message.pk,
        "author": user_payload(message.sender),
    }


def error(
    code: str, detail: str, ref: str | None, *, retry_after: int | None = None
) -> dict[str, Any]:
    """The answer to a client frame that failed; ``ref`` echoes its ``client_id`` or type."""
    frame: dict[str, Any] = {"type": Frame.ERROR, "code": code, "detail": detail, "ref": ref}
    if retry_after is not None:
        frame["retry_after"] = retry_after
    return frame


def room_event(event_type: Frame, room_id: int, seq: int, fields: dict[str, Any]) -> dict[str, Any]:
    """A persisted room event as every socket receives it."""
    return {"type": event_type, "room_id": room_id, "seq": seq, **fields}


PONG = '{"type":"pong"}'
RESYNC_REQUIRED = '{"type":"resync.required"}'
