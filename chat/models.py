"""Chat tables, their constraints and indexes. Business rules live in policy/services."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from chat import limits


def default_max_participants() -> int:
    return settings.CHAT_ROOM_MAX_PARTICIPANTS


class ChatRoom(models.Model):
    class ChatType(models.TextChoices):
        PUBLIC = "public", "Public"
        PRIVATE = "private", "Private"
        COURSE = "course", "Course"
        SUPPORT = "support", "Support"

    CHAT_TYPE_CHOICES = ChatType.choices

    name = models.CharField(max_length=limits.ROOM_NAME_MAX)
    description = models.TextField(blank=True)
    chat_type = models.CharField(max_length=20, choices=ChatType.choices)
    course = models.ForeignKey(
        "courses.Course", on_delete=models.CASCADE, null=True, blank=True, related_name="rooms"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="created_rooms"
    )
    is_active = models.BooleanField(default=True)
    max_participants = models.PositiveIntegerField(default=default_max_participants)
    # The seq of the newest RoomEvent; bumped under the room's row lock.
    last_seq = models.BigIntegerField(default=0)
    # Messages that count as unread for someone: not deleted, not ``system``.
    # Kept by chat.services.counters under the room's row lock.
    message_count = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(chat_type__in=["public", "private", "course", "support"]),
                name="room_chat_type_valid",
            ),
            models.CheckConstraint(
                condition=~Q(chat_type="course") | Q(course__isnull=False),
                name="room_course_needs_course",
            ),
            models.CheckConstraint(condition=Q(max_participants__gte=1), name="room_max_gte_1"),
            models.CheckConstraint(condition=Q(last_seq__gte=0), name="room_last_seq_gte_0"),
        ]
        indexes = [models.Index(fields=["chat_type", "is_active"], name="room_type_active")]

    def __str__(self) -> str:
        return self.name


class ChatMessage(models.Model):
    class MessageType(models.TextChoices):
        TEXT = "text", "Text"
        IMAGE = "image", "Image"
        FILE = "file", "File"
        SYSTEM = "system", "System"

    MESSAGE_TYPE_CHOICES = MessageType.choices

    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_messages"
    )
    message_type = models.CharField(
        max_length=20, choices=MessageType.choices, default=MessageType.TEXT
    )
    content = models.TextField(blank=True)
    content_html = models.TextField(blank=True)
    file = models.FileField(upload_to="chat/files/", blank=True, max_length=255)
    file_name = models.CharField(max_length=255, blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    file_content_type = models.CharField(max_length=100, blank=True)
    # The first page of a text attachment, shown without downloading it.
    file_preview = models.TextField(blank=True)
    thumbnail = models.FileField(upload_to="chat/thumbnails/", blank=True, max_length=255)
    image_width = models.PositiveIntegerField(null=True, blank=True)
    image_height = models.PositiveIntegerField(null=True, blank=True)
    # NULL means "no client id": the partial unique constraint relies on it.
    client_id = models.CharField(max_length=limits.CLIENT_ID_MAX, null=True, blank=True)  # noqa: DJ001
    reply_to = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replies"
    )
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="mentioned_in"
    )
    is_edited = models.BooleanField(default=False)
    is_deleted = models.BooleanField(default=False)
    # Questions and their endorsed answer (a reply to the question), kept together
    # by chat.services.questions under the room's row lock.
    is_question = models.BooleanField(default=False)
    endorsed_answer = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    is_endorsed = models.BooleanField(default=False)
    # Posted anonymously to classmates (course rooms): broadcasts carry no sender;
    # only the room's staff and the sender learn it (chat.wire, chat.policy).
    is_anonymous = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # No attachment: a file's name and metadata could tell who posted it.
            models.CheckConstraint(
                condition=Q(is_anonymous=False) | Q(message_type="text"),
                name="message_anonymous_is_text",
            ),
            models.CheckConstraint(
                condition=Q(endorsed_answer__isnull=True) | Q(is_question=True),
                name="message_endorsed_answer_on_question",
            ),
            models.UniqueConstraint(
                fields=["sender", "client_id"],
                condition=Q(client_id__isnull=False),
                name="message_unique_sender_client_id",
            ),
            models.CheckConstraint(
                condition=Q(message_type__in=["text", "image", "file", "system"]),
                name="message_type_valid",
            ),
        ]
        indexes = [
            # History pages and read-marker moves: WHERE room = ? AND id > ? ORDER BY id.
            models.Index(fields=["room", "id"], name="message_room_id"),
            models.Index(fields=["sender", "created_at"], name="message_sender_created"),
            # The questions view of a room: WHERE room = ? AND is_question ORDER BY id DESC.
            models.Index(
                fields=["room", "id"],
                condition=Q(is_question=True),
                name="message_room_question",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} in room {self.room_id}"


class MessageReaction(models.Model):
    message = models.ForeignKey(ChatMessage, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_reactions"
    )
    emoji = models.CharField(max_length=limits.EMOJI_MAX)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "user", "emoji"], name="reaction_unique_message_user_emoji"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.emoji} by {self.user_id} on {self.message_id}"


class StaffQuestion(models.Model):
    """A member's private question to a course room's staff, and its answer.

    Not a message: it never enters history, search, unread counts or the room's
    events; only the asker and the room's staff (``policy.can_endorse``) see it.
    """

    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="staff_questions")
    asker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_questions"
    )
    content = models.TextField()
    content_html = models.TextField()
    answer = models.TextField(blank=True)
    answer_html = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # NULL while the question is open.
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(content=""), name="staff_question_content"),
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True) | ~Q(answer=""),
                name="staff_question_answered_has_answer",
            ),
        ]
        indexes = [
            # The staff's queue: WHERE room = ? [AND answered_at IS NULL] ORDER BY id.
            models.Index(fields=["room", "id"], name="staff_question_room_id"),
            models.Index(
                fields=["room", "id"],
                condition=Q(answered_at__isnull=True),
                name="staff_question_room_open",
            ),
            # An asker's own questions in a room.
            models.Index(fields=["asker", "room", "id"], name="staff_question_asker_room"),
        ]

    def __str__(self) -> str:
        return f"staff question #{self.pk} in room {self.room_id}"

    @property
    def status(self) -> str:
        return "open" if self.answered_at is None else "answered"


class ChatParticipant(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        MODERATOR = "moderator", "Moderator"
        ADMIN = "admin", "Admin"

    ROLE_CHOICES = Role.choices

    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_participations"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=True)
    is_muted = models.BooleanField(default=False)
    last_read_message = models.ForeignKey(
        ChatMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Counted messages (see ChatRoom.message_count) up to the read marker, and the
    # user's own counted messages after it: unread = room.message_count - both.
    read_count = models.BigIntegerField(default=0)
    own_after_read_count = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="participant_unique_room_user"),
            models.CheckConstraint(
                condition=Q(role__in=["member", "moderator", "admin"]),
                name="participant_role_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "is_active"], name="participant_user_active"),
            models.Index(fields=["room", "is_active"], name="participant_room_active"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.room_id} ({self.role})"


class UserPresence(models.Model):
    class Status(models.TextChoices):
        ONLINE = "online", "Online"
        AWAY = "away", "Away"
        BUSY = "busy", "Busy"
        OFFLINE = "offline", "Offline"

    STATUS_CHOICES = Status.choices

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OFFLINE)
    last_seen = models.DateTimeField(auto_now=True)
    is_typing = models.BooleanField(default=False)
    # When the typing flag was last raised; it counts only within CHAT_TYPING_TIMEOUT.
    typing_at = models.DateTimeField(null=True, blank=True)
    current_room = models.ForeignKey(
        ChatRoom, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["online", "away", "busy", "offline"]),
                name="presence_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["current_room", "is_typing"], name="presence_room_typing")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.status}"


class PresenceConnection(models.Model):
    """One live socket of a user, on any server process.

    A user is online while at least one row has a heartbeat younger than
    CHAT_CONNECTION_TIMEOUT; a process that dies stops refreshing its rows and
    the presence sweep removes them.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence_connections"
    )
    channel_name = models.CharField(max_length=200, unique=True)
    server_id = models.CharField(max_length=100, blank=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    last_heartbeat = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["user", "last_heartbeat"], name="presconn_user_heartbeat"),
            models.Index(fields=["last_heartbeat"], name="presconn_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} via {self.channel_name}"


class RoomEvent(models.Model):
    """The per-room event log: what was published is what is replayed."""

    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="events")
    seq = models.BigIntegerField()
    type = models.CharField(max_length=40)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["room", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="roomevent_unique_room_seq"),
        ]
        indexes = [models.Index(fields=["created_at"], name="roomevent_created")]

    def __str__(self) -> str:
        return f"{self.type} #{self.seq} in {self.room_id}"
