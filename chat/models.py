"""Chat tables, their constraints and indexes. Business rules live in policy/services."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

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
    # Seconds a member must wait between two messages; 0 = off. Moderators and
    # staff are exempt (chat.policy.slow_mode_exempt).
    slow_mode_seconds = models.PositiveIntegerField(default=0)
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
            models.CheckConstraint(
                condition=Q(slow_mode_seconds__gte=0)
                & Q(slow_mode_seconds__lte=limits.SLOW_MODE_MAX_SECONDS),
                name="room_slow_mode_in_range",
            ),
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
        POLL = "poll", "Poll"

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
    # Its thread: replies not deleted, and when the newest of them was sent. Kept
    # by chat.services.threads under the room's row lock, never counted on read.
    reply_count = models.PositiveIntegerField(default=0)
    last_reply_at = models.DateTimeField(null=True, blank=True)
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
                condition=Q(message_type__in=["text", "image", "file", "system", "poll"]),
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
            # Thread pages and thread read markers: WHERE reply_to = ? AND id > ? ORDER BY id.
            models.Index(fields=["reply_to", "id"], name="message_reply_to_id"),
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
    # The participant's own choice: no desktop notifications for this room's messages.
    notifications_muted = models.BooleanField(default=False)
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


class ThreadRead(models.Model):
    """A user's read marker in a thread (a message and its replies).

    A user follows a thread once they wrote its first message, replied, or read
    it. Unread replies are a subtraction, as a room's are: ``parent.reply_count -
    read_count``, where ``read_count`` is the replies not deleted up to the
    marker; chat.services.threads keeps both under the room's row lock.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="thread_reads"
    )
    parent = models.ForeignKey(ChatMessage, on_delete=models.CASCADE, related_name="thread_reads")
    last_read_reply = models.ForeignKey(
        ChatMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    read_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "parent"], name="threadread_unique_user_parent"
            ),
        ]
        indexes = [
            # Deleting a reply: the markers of its thread at or past it.
            models.Index(fields=["parent", "last_read_reply"], name="threadread_parent_marker"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read thread {self.parent_id} to {self.last_read_reply_id}"


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


class PinnedMessage(models.Model):
    """A message pinned to the top of its room by its staff (see policy.is_room_staff)."""

    message = models.OneToOneField(ChatMessage, on_delete=models.CASCADE, related_name="pin")
    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="pins")
    pinned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    pinned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pinned_at", "-id"]
        # A room's pins, newest first (the pinned bar and its count limit).
        indexes = [models.Index(fields=["room", "pinned_at"], name="pin_room_pinned_at")]

    def __str__(self) -> str:
        return f"pin of #{self.message_id} in {self.room_id}"


class Poll(models.Model):
    """The poll a ``poll`` message carries; its id is the message's."""

    message = models.OneToOneField(
        ChatMessage, on_delete=models.CASCADE, primary_key=True, related_name="poll"
    )
    question = models.CharField(max_length=limits.POLL_QUESTION_MAX)
    allows_multiple = models.BooleanField(default=False)
    # Who voted what is never shown, to anyone; the votes are kept to allow changing one.
    is_anonymous = models.BooleanField(default=False)
    closes_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return self.question


class PollOption(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField()
    text = models.CharField(max_length=limits.POLL_OPTION_MAX)

    class Meta:
        ordering = ["poll", "position"]
        constraints = [
            models.UniqueConstraint(fields=["poll", "position"], name="polloption_unique_position"),
        ]

    def __str__(self) -> str:
        return self.text


class PollVote(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="votes")
    option = models.ForeignKey(PollOption, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["option", "user"], name="pollvote_unique_option_user"),
        ]
        # A voter's ballot in a poll (changing a vote replaces it).
        indexes = [models.Index(fields=["poll", "user"], name="pollvote_poll_user")]

    def __str__(self) -> str:
        return f"vote on {self.option_id}"


class OfficeHours(models.Model):
    """Whether a course or support room's staff take questions from its queue now."""

    room = models.OneToOneField(
        ChatRoom, on_delete=models.CASCADE, primary_key=True, related_name="office_hours"
    )
    is_open = models.BooleanField(default=False)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"office hours of {self.room_id}: {'open' if self.is_open else 'closed'}"


class QueueEntry(models.Model):
    """One student's place in a room's office-hours queue, and how it ended."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        TAKEN = "taken", "Taken"
        LEFT = "left", "Left"
        CLOSED = "closed", "Closed with the office hours"

    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="queue_entries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    joined_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    private_room = models.ForeignKey(
        ChatRoom, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["room", "user"],
                condition=Q(status="waiting"),
                name="queueentry_one_waiting_per_user",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["waiting", "taken", "left", "closed"]),
                name="queueentry_status_valid",
            ),
        ]
        # The queue in order: WHERE room = ? AND status = 'waiting' ORDER BY id.
        indexes = [models.Index(fields=["room", "status", "id"], name="queueentry_room_status")]

    def __str__(self) -> str:
        return f"{self.user_id} in the queue of {self.room_id} ({self.status})"


class RoomBan(models.Model):
    """A user banned from a public or support room: the room is out of their sight
    (chat.policy.visible_rooms_q) until a moderator lifts the ban (the row goes)."""

    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="bans")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="room_bans"
    )
    banned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reason = models.CharField(max_length=limits.BAN_REASON_MAX, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="ban_unique_room_user"),
        ]
        # The unique constraint's index serves a room's list; visibility asks by user.
        indexes = [models.Index(fields=["user", "room"], name="ban_user_room")]

    def __str__(self) -> str:
        return f"{self.user_id} banned from {self.room_id}"


class MessageReport(models.Model):
    """A message reported to the room's moderators. Open until a moderator (or staff)
    resolves it: dismissed, the message hidden, or its author muted."""

    class Reason(models.TextChoices):
        SPAM = "spam", "Spam"
        HARASSMENT = "harassment", "Harassment"
        OFF_TOPIC = "off_topic", "Off topic"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    class Resolution(models.TextChoices):
        DISMISS = "dismiss", "Dismissed"
        HIDE = "hide", "Message hidden"
        MUTE = "mute", "Author muted"

    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="reports")
    message = models.ForeignKey(ChatMessage, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.CharField(max_length=limits.REPORT_NOTE_MAX, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(max_length=10, choices=Resolution.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    resolution_note = models.CharField(max_length=limits.REPORT_NOTE_MAX, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One open report per reporter and message: reporting again changes nothing.
            models.UniqueConstraint(
                fields=["message", "reporter"],
                condition=Q(status="open"),
                name="report_one_open_per_reporter",
            ),
            models.CheckConstraint(
                condition=Q(reason__in=["spam", "harassment", "off_topic", "other"]),
                name="report_reason_valid",
            ),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(resolution="") & Q(resolved_at__isnull=True))
                | (
                    Q(status="resolved")
                    & Q(resolution__in=["dismiss", "hide", "mute"])
                    & Q(resolved_at__isnull=False)
                ),
                name="report_resolution_matches_status",
            ),
        ]
        indexes = [
            # The moderation queue: WHERE room = ? AND status = ? ORDER BY id DESC.
            models.Index(fields=["room", "status", "-id"], name="report_room_status"),
            models.Index(fields=["message", "status"], name="report_message_status"),
        ]

    def __str__(self) -> str:
        return f"report #{self.pk} of message {self.message_id} ({self.status})"


class AuditEntry(models.Model):
    """One moderation action: who did what to whom in which room, and through which
    channel. Written by chat.services.audit inside the action's transaction; kept
    when the RoomEvent log is pruned (its own table)."""

    class Via(models.TextChoices):
        REST = "rest", "REST"
        SOCKET = "socket", "Socket"
        ADMIN = "admin", "Admin"
        SYSTEM = "system", "System"

    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="audit_entries")
    # SET_NULL: the record of what happened outlives the accounts involved.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # The action's name (chat.services.audit.Action); no choices, so a new kind of
    # moderation action needs no migration.
    action = models.CharField(max_length=40)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    message = models.ForeignKey(
        ChatMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    details = models.JSONField(default=dict, blank=True)
    via = models.CharField(max_length=10, choices=Via.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(via__in=["rest", "socket", "admin", "system"]),
                name="audit_via_valid",
            ),
            models.CheckConstraint(condition=~Q(action=""), name="audit_action_not_empty"),
        ]
        indexes = [
            # A room's log, newest first: WHERE room = ? ORDER BY id DESC.
            models.Index(fields=["room", "-id"], name="audit_room_id"),
            models.Index(fields=["created_at"], name="audit_created"),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id} in {self.room_id}"


class EmailPreference(models.Model):
    """A user's choice of email about what they missed while offline (mentions,
    answers to their private questions): never, batched (one email after a quiet
    delay) or immediately (the sender's next pass). No row: batched."""

    class Mode(models.TextChoices):
        NEVER = "never", "Never"
        BATCHED = "batched", "Batched"
        IMMEDIATELY = "immediately", "Immediately"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_email_preference"
    )
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.BATCHED)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(mode__in=["never", "batched", "immediately"]),
                name="email_preference_mode_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: email {self.mode}"


class EmailNotification(models.Model):
    """One thing a user missed while offline, waiting for the email sender
    (``manage.py send_notification_emails``): a mention (``message``) or the answer
    to their private question (``staff_question``).

    ``pending`` until a sender claims it (``claimed``, with that pass's ``claim``
    key, committed before the email is sent), then ``sent``, ``skipped`` (no longer
    worth an email: read, deleted, out of sight, opted out) or ``failed`` (the mail
    server refused). A crash between claim and send leaves rows ``claimed``: they
    are never sent twice (at most once)."""

    class Kind(models.TextChoices):
        MENTION = "mention", "Mention"
        STAFF_ANSWER = "staff_answer", "Answer to a private question"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CLAIMED = "claimed", "Claimed"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_email_notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.ForeignKey(
        ChatMessage, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    staff_question = models.ForeignKey(
        StaffQuestion, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # Mentioned through @all only (not by name): muting the room drops it.
    is_wildcard = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Which sender pass claimed it (a random key), and when.
    claim = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="mention", message__isnull=False, staff_question__isnull=True)
                    | Q(kind="staff_answer", message__isnull=True, staff_question__isnull=False)
                ),
                name="email_notification_kind_matches_target",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "claimed", "sent", "skipped", "failed"]),
                name="email_notification_status_valid",
            ),
            # Mentioned twice (an edit, @all and @name): one email item.
            models.UniqueConstraint(
                fields=["user", "message"],
                condition=Q(message__isnull=False),
                name="email_notification_one_per_message",
            ),
            # Answered again before the email went: still one item.
            models.UniqueConstraint(
                fields=["user", "staff_question"],
                condition=Q(status="pending", staff_question__isnull=False),
                name="email_notification_one_pending_answer",
            ),
        ]
        indexes = [
            # The sender's scan: WHERE status = 'pending', grouped by user.
            models.Index(
                fields=["user", "created_at"],
                condition=Q(status="pending"),
                name="email_notification_pending",
            ),
            # Pruning what is done (chat.services.email_sending.notification_emails_prune).
            models.Index(
                fields=["created_at"],
                condition=~Q(status="pending"),
                name="email_notification_done",
            ),
        ]

    def __str__(self) -> str:
        target = self.message_id or self.staff_question_id
        return f"{self.kind} {target} for {self.user_id} ({self.status})"
