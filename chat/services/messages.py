"""Message writes: send (and reply), edit, delete, reactions, read markers, system alerts."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import emoji as emoji_lib
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from chat import errors, events, limits, policy, selectors, wire
from chat.errors import lazy_interpolate
from chat.models import ChatMessage, ChatParticipant, ChatRoom, MessageReaction
from chat.rendering import WILDCARD_MENTIONS, MentionTarget, extract_mentions, render_content
from chat.services import audit, counters, email_notifications, pins, questions, threads
from chat.wire import Frame, message_payload, user_payload

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from accounts.models import User

CLIENT_ID_RE = re.compile(rf"^[A-Za-z0-9_.:\-]{{1,{limits.CLIENT_ID_MAX}}}$")


@dataclass(frozen=True)
class SendResult:
    message: ChatMessage
    created: bool


# Characters that show nothing (zero-width space, joiners, word joiner, byte-order
# mark, soft hyphen, Mongolian vowel separator): a message of these alone is empty.
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
_DROP_INVISIBLE = str.maketrans("", "", INVISIBLE)


def clean_content(content: object, *, allow_empty: bool) -> str:
    """A message's text as stored (stripped, within CHAT_MAX_MESSAGE_LENGTH), or
    ValidationFailed: every path that writes message text checks it here."""
    if not isinstance(content, str):
        raise errors.ValidationFailed(
            gettext_lazy("content must be a string."),
            fields={"content": [gettext_lazy("Not a string.")]},
        )
    if "\x00" in content:
        raise errors.ValidationFailed(
            gettext_lazy("content may not contain NUL characters."),
            fields={"content": [gettext_lazy("NUL character.")]},
        )
    content = content.strip()
    if content and content[0] in INVISIBLE and not content.translate(_DROP_INVISIBLE).strip():
        content = ""  # only zero-width characters: nothing anyone could read
    if not content and not allow_empty:
        raise errors.ValidationFailed(
            gettext_lazy("A message cannot be empty."),
            fields={"content": [gettext_lazy("This field may not be blank.")]},
        )
    limit = settings.CHAT_MAX_MESSAGE_LENGTH
    if len(content) > limit:
        raise errors.ValidationFailed(
            lazy_interpolate(
                gettext_lazy("A message is limited to %(limit)s characters."), {"limit": limit}
            ),
            fields={
                "content": [
                    lazy_interpolate(
                        gettext_lazy("Ensure this field has no more than %(limit)s characters."),
                        {"limit": limit},
                    )
                ]
            },
        )
    return content


def clean_client_id(client_id: object) -> str | None:
    """A sender's deduplication id (``client_id``) as stored: None when absent."""
    if client_id is None or client_id == "":
        return None
    if not isinstance(client_id, str) or not CLIENT_ID_RE.match(client_id):
        raise errors.ValidationFailed(
            lazy_interpolate(
                gettext_lazy(
                    "client_id must be 1 to %(client_id_max)s letters, digits, "
                    "'-', '_', '.' or ':'."
                ),
                {"client_id_max": limits.CLIENT_ID_MAX},
            ),
            fields={"client_id": [gettext_lazy("Invalid client_id.")]},
        )
    return client_id


def clean_emoji(value: object) -> str:
    """A single emoji (or a ``:shortcode:`` of one), as Unicode."""
    if not isinstance(value, str) or not value.strip() or len(value) > limits.EMOJI_MAX:
        raise errors.ValidationFailed(
            gettext_lazy("emoji must be a single emoji."),
            fields={"emoji": [gettext_lazy("Invalid emoji.")]},
        )
    text = emoji_lib.emojize(value.strip(), language="alias")
    if not emoji_lib.purely_emoji(text) or emoji_lib.emoji_count(text) != 1:
        raise errors.ValidationFailed(
            gettext_lazy("emoji must be a single emoji."),
            fields={"emoji": [gettext_lazy("Invalid emoji.")]},
        )
    return normal_emoji(text)


def normal_emoji(text: str) -> str:
    """One emoji in its fully qualified form: "❤" (no emoji presentation selector)
    and "❤️" are one reaction, not two. By the names of Unicode's list (its
    aliases are not one-to-one: ":beetle:" is 🐞 there, 🪲 here)."""
    return emoji_lib.emojize(emoji_lib.demojize(text))


@dataclass(frozen=True)
class Rendered:
    """A message's text as stored (``content_html``) and whom it mentions."""

    html: str
    mentioned: list[Any]
    wildcard: bool


def render_message(actor: User, room: ChatRoom, content: str) -> Rendered:
    """Render content; resolve ``@username`` to users who may see the room."""
    names = extract_mentions(content)
    wildcard = bool({name.lower() for name in names} & WILDCARD_MENTIONS)
    if wildcard and not policy.can_mention_everyone(actor, room):
        raise errors.Forbidden(gettext_lazy("Only moderators may mention @all or @here."))
    usernames = {name.lower() for name in names} - WILDCARD_MENTIONS
    if len(usernames) > limits.MENTIONS_MAX:
        raise errors.ValidationFailed(
            lazy_interpolate(
                gettext_lazy("A message may mention at most %(mentions_max)s people."),
                {"mentions_max": limits.MENTIONS_MAX},
            ),
            fields={"content": [gettext_lazy("Too many mentions.")]},
        )
    mentioned: list[Any] = []
    if usernames:
        lookup = Q()
        for name in usernames:
            lookup |= Q(username__iexact=name)
        candidates = get_user_model().objects.filter(lookup, is_active=True)
        mentioned = [user for user in candidates if policy.can_see_room(user, room)]
    targets = {
        user.username.lower(): MentionTarget(
            user_id=user.pk, username=user.username, display_name=user.get_display_name()
        )
        for user in mentioned
    }
    html = render_content(content, mentions=targets, wildcards=wildcard)
    return Rendered(html=html, mentioned=mentioned, wildcard=wildcard)


def message_preview(*, actor: User, room: ChatRoom, content: object) -> str:
    """``content_html`` as sending ``content`` to ``room`` would store it (the same
    validation, mentions resolved the same way); nothing is written."""
    return render_message(actor, room, clean_content(content, allow_empty=True)).html


def notify_mentions(
    message: ChatMessage, payload: dict[str, Any], users: list[Any], wildcard: bool
) -> None:
    """A ``notification`` to each user the new ``message`` mentions (for a wildcard,
    every active member who did not mute the room: a room-wide ping is not addressed
    to them, as the emails have it), not its sender; an email later to those offline."""
    recipients = {user.pk for user in users}
    if wildcard:
        recipients |= set(
            ChatParticipant.objects.filter(
                room_id=message.room_id, is_active=True, notifications_muted=False
            ).values_list("user_id", flat=True)
        )
    recipients.discard(message.sender_id)
    frame = wire.notification("mention", message.room_id, payload)
    for user_id in sorted(recipients):
        events.publish_to_user(user_id, frame)
    # Those without a live socket get an email later (in this transaction: a
    # rolled-back message queues nothing).
    email_notifications.mentions_enqueue(
        message, direct=[user.pk for user in users], wildcard=wildcard
    )


def posting_participant(actor: User, room: ChatRoom) -> ChatParticipant:
    """The actor's participant row if they may post in ``room``; NotFound if they
    may not even see it (active participants always may, so one query usually)."""
    participant = policy.participant_of(actor, room)
    if participant is None and not policy.can_see_room(actor, room):
        raise errors.NotFound(gettext_lazy("No such room."))
    denial = policy.post_denial(room, participant)
    if denial is not None:
        raise denial
    assert participant is not None
    return participant


def check_slow_mode(actor: User, room: ChatRoom, participant: ChatParticipant) -> None:
    """Under the lock: SlowMode unless the actor may send now (uploads and polls; text
    sends check it in chat.services.sending, for a batch at once)."""
    if not room.slow_mode_seconds or policy.slow_mode_exempt(actor, room, participant):
        return
    from chat.services.sending import slow_mode_waits

    wait = slow_mode_waits(room, {actor.pk}).get(actor.pk)
    if wait is not None:
        raise errors.SlowMode(retry_after=math.ceil(wait))


def message_send(
    *,
    actor: User,
    room: ChatRoom,
    content: object = "",
    client_id: object = None,
    reply_to: object = None,
    upload: UploadedFile[bytes] | None = None,
    is_question: object = False,
    anonymous: object = False,
) -> SendResult:
    """Send a message (text, or an ``image``/``file`` upload with an optional caption).

    Idempotent per sender and ``client_id``: the same id again in the same room
    returns the first message with ``created=False`` and publishes nothing (in
    another room it is refused). Mentioned users who may see the room are stored
    in ``mentions`` and notified on their own stream. ``is_question`` posts it as a
    question (where ``policy.takes_questions``); ``anonymous`` posts it anonymously to
    classmates (``policy.anonymous_denial``; text only). Text goes through
    ``chat.services.sending``, one path with the socket's batched sends.
    """
    if upload is None:
        from chat.services.sending import message_send_text

        return message_send_text(
            actor=actor,
            room=room,
            content=content,
            client_id=client_id,
            reply_to=reply_to,
            is_question=is_question,
            anonymous=anonymous,
        )
    client_id = clean_client_id(client_id)
    if client_id is not None:
        # A repeat answers with the first message, even to a sender muted since.
        existing = ChatMessage.objects.filter(sender=actor, client_id=client_id).first()
        if existing is not None:
            if existing.room_id != room.pk:
                raise errors.ValidationFailed(
                    gettext_lazy("This client_id was already used for another message."),
                    fields={"client_id": [gettext_lazy("Already used.")]},
                )
            return SendResult(selectors.message_load(existing.pk), created=False)
    posting_participant(actor, room)
    if anonymous is not False:
        raise errors.ValidationFailed(
            gettext_lazy(
                "An anonymous post cannot carry a file (its name and metadata could tell who "
                "posted it)."
            ),
            fields={"anonymous": [gettext_lazy("Not with a file.")]},
        )
    question = questions.question_flag(room, is_question)
    content = clean_content(content, allow_empty=True)
    parent: ChatMessage | None = None
    if reply_to is not None:
        if isinstance(reply_to, bool) or not isinstance(reply_to, int):
            raise errors.ValidationFailed(
                gettext_lazy("reply_to must be a message id."),
                fields={"reply_to": [gettext_lazy("Not an id.")]},
            )
        parent = ChatMessage.objects.filter(pk=reply_to, room=room, is_deleted=False).first()
        if parent is None:
            raise errors.ValidationFailed(
                gettext_lazy("reply_to must be a message of this room."),
                fields={"reply_to": [gettext_lazy("Not a message of this room.")]},
            )
    rendered = render_message(actor, room, content) if content else Rendered("", [], False)
    processed = None
    if upload is not None:
        from chat.uploads import process_upload

        processed = process_upload(upload)
    stored: list[str] = []
    try:
        with transaction.atomic():
            room = selectors.lock_room(room.pk)
            participant = posting_participant(actor, room)
            check_slow_mode(actor, room, participant)
            message = ChatMessage(
                room=room,
                sender=actor,
                content=content,
                content_html=rendered.html,
                client_id=client_id,
                reply_to=parent,
                is_question=question,
            )
            if processed is not None:
                _attach(message, processed, stored)
            message.save()
            counters.message_added(message)
            if rendered.mentioned:
                message.mentions.set(rendered.mentioned)
            selectors.prime_new_message(message, sender=actor, mentions=rendered.mentioned)
            payload = message_payload(message)
            events.append_room_events(
                room,
                [(Frame.MESSAGE_CREATED, {"message": payload}), *threads.replies_added([message])],
            )
            notify_mentions(message, payload, rendered.mentioned, rendered.wildcard)
    except IntegrityError:
        for name in stored:
            default_storage.delete(name)
        existing = ChatMessage.objects.filter(sender=actor, client_id=client_id).first()
        if client_id is None or existing is None:
            raise
        return SendResult(selectors.message_load(existing.pk), created=False)
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise
    return SendResult(message, created=True)


def _attach(message: ChatMessage, processed: Any, stored: list[str]) -> None:
    from chat.uploads import random_storage_name

    message.message_type = processed.message_type
    name = default_storage.save(
        random_storage_name(processed.content_type, "files"), processed.content
    )
    stored.append(name)
    message.file.name = name
    message.file_name = processed.name
    message.file_size = processed.size
    message.file_content_type = processed.content_type
    message.file_preview = processed.preview
    message.image_width = processed.width
    message.image_height = processed.height
    if processed.thumbnail is not None:
        thumb = default_storage.save(
            random_storage_name(
                processed.thumbnail_content_type or processed.content_type, "thumbnails"
            ),
            processed.thumbnail,
        )
        stored.append(thumb)
        message.thumbnail.name = thumb


@transaction.atomic
def message_edit(*, actor: User, message: ChatMessage, content: object) -> ChatMessage:
    """Edit by the sender within CHAT_MESSAGE_EDIT_TIMEOUT; re-renders, re-resolves
    mentions and notifies only the newly mentioned."""
    room = selectors.lock_room(message.room_id)
    message = ChatMessage.objects.select_related("room").get(pk=message.pk)
    denial = policy.edit_denial(actor, message, timezone.now())
    if denial is not None:
        raise denial
    participant = policy.participant_of(actor, room)
    denial = policy.post_denial(room, participant)
    if denial is not None:
        raise denial
    content = clean_content(content, allow_empty=bool(message.file))
    if content == message.content:
        return selectors.message_load(message.pk)
    rendered = render_message(actor, room, content) if content else Rendered("", [], False)
    before = set(message.mentions.values_list("pk", flat=True))
    message.content = content
    message.content_html = rendered.html
    message.is_edited = True
    message.save(update_fields=["content", "content_html", "is_edited", "updated_at"])
    message.mentions.set(rendered.mentioned)
    payload = message_payload(selectors.message_load(message.pk))
    events.append_room_event(room, Frame.MESSAGE_UPDATED, {"message": payload})
    new_mentions = [user for user in rendered.mentioned if user.pk not in before]
    notify_mentions(message, payload, new_mentions, wildcard=False)
    return selectors.message_load(message.pk)


@transaction.atomic
def message_delete(*, actor: User, message: ChatMessage) -> ChatMessage:
    """Soft-delete: the row keeps its id and place; content, HTML, mentions,
    reactions and stored files are removed. The sender within
    CHAT_MESSAGE_DELETE_TIMEOUT, moderators at any time."""
    room = selectors.lock_room(message.room_id)
    message = ChatMessage.objects.select_related("room").get(pk=message.pk)
    denial = policy.delete_denial(actor, message, timezone.now())
    if denial is not None:
        raise denial
    counters.message_deleted(message)
    unendorsed = questions.answer_deleted(message)
    thread_event = threads.reply_deleted(message)
    files = [name for name in (message.file.name, message.thumbnail.name) if name]
    message.content = ""
    message.content_html = ""
    message.is_deleted = True
    message.file = ""
    message.thumbnail = ""
    message.file_name = ""
    message.file_size = None
    message.file_content_type = ""
    message.file_preview = ""
    message.image_width = None
    message.image_height = None
    message.save()
    message.mentions.clear()
    message.reactions.all().delete()
    if message.sender_id != actor.pk:
        audit.record(actor, room, audit.Action.HIDE, target_user=message.sender, message=message)
    payload = message_payload(selectors.message_load(message.pk))
    events.append_room_events(
        room, [(Frame.MESSAGE_DELETED, {"message": payload}), *filter(None, [thread_event])]
    )
    if unendorsed is not None:
        question = message_payload(selectors.message_load(unendorsed.pk))
        events.append_room_event(room, Frame.MESSAGE_UPDATED, {"message": question})
    pins.pin_dropped(room, message)
    if files:

        def delete_files() -> None:
            for name in files:
                default_storage.delete(name)

        events.on_commit(delete_files)
    return selectors.message_load(message.pk)


def _reaction_target(actor: User, message: ChatMessage) -> ChatRoom:
    room = selectors.lock_room(message.room_id)
    if ChatMessage.objects.filter(pk=message.pk, is_deleted=False).count() == 0:
        raise errors.NotFound(gettext_lazy("No such message."))
    posting_participant(actor, room)
    return room


@transaction.atomic
def reaction_add(*, actor: User, message: ChatMessage, emoji: object) -> bool:
    """Add the actor's reaction; True if it was new (and published), False if it existed."""
    value = clean_emoji(emoji)
    room = _reaction_target(actor, message)
    if message.is_anonymous and message.sender_id == actor.pk:
        # Everyone sees who reacted: on one's own anonymous post that names its author.
        raise errors.ValidationFailed(
            gettext_lazy("You cannot react to your own anonymous post."),
            fields={"message_id": [gettext_lazy("Your own anonymous post.")]},
        )
    _, created = MessageReaction.objects.get_or_create(message=message, user=actor, emoji=value)
    if created:
        events.append_room_event(
            room,
            Frame.REACTION_ADDED,
            {"message_id": message.pk, "emoji": value, "user": user_payload(actor)},
        )
    return created


@transaction.atomic
def reaction_remove(*, actor: User, message: ChatMessage, emoji: object) -> bool:
    """Remove the actor's reaction; True if there was one (and it was published).
    The same rule as adding: a muted member, or anyone in an archived room, may not."""
    value = clean_emoji(emoji)
    room = _reaction_target(actor, message)
    deleted, _ = MessageReaction.objects.filter(message=message, user=actor, emoji=value).delete()
    if deleted:
        events.append_room_event(
            room,
            Frame.REACTION_REMOVED,
            {"message_id": message.pk, "emoji": value, "user": user_payload(actor)},
        )
    return bool(deleted)


@transaction.atomic
def room_mark_read(*, actor: User, room: ChatRoom, message_id: object) -> int:
    """Move the actor's read marker forward to ``message_id`` (an id, or its text);
    returns the new unread count, which is also sent to the actor's own stream as an
    ``unread`` frame when the marker moved."""
    message_id = selectors.as_id(message_id)
    if message_id is None:
        raise errors.ValidationFailed(
            gettext_lazy("message_id must be a message id."),
            fields={"message_id": [gettext_lazy("Not an id.")]},
        )
    participant = (
        ChatParticipant.objects.select_for_update()
        .filter(room=room, user=actor, is_active=True)
        .first()
    )
    if participant is None:
        raise errors.Forbidden(gettext_lazy("Join the room first."))
    if not ChatMessage.objects.filter(pk=message_id, room=room).exists():
        raise errors.ValidationFailed(
            gettext_lazy("message_id must be a message of this room."),
            fields={"message_id": [gettext_lazy("Not a message of this room.")]},
        )
    before = participant.last_read_message_id
    counters.read_marker_moved(participant, message_id)
    count = selectors.unread_count(actor, room)
    if participant.last_read_message_id != before:
        events.publish_to_user(actor.pk, wire.unread(room.pk, count))
    return count


def system_alert(
    *, actor: User, content: object, room: ChatRoom | None = None
) -> list[ChatMessage]:
    """Staff post a ``system`` alert to one room they may see (else NotFound, as for
    any room out of sight; RoomArchived if archived), or to every active room (a
    site-wide announcement)."""
    if not actor.is_staff:
        raise errors.Forbidden(gettext_lazy("Only staff may post system alerts."))
    if room is not None and not policy.can_see_room(actor, room):
        raise errors.NotFound(gettext_lazy("No such room."))
    text = clean_content(content, allow_empty=False)
    room_ids = (
        [room.pk]
        if room is not None
        else list(ChatRoom.objects.filter(is_active=True).values_list("pk", flat=True))
    )
    sent = []
    for room_id in room_ids:
        with transaction.atomic():
            locked = selectors.lock_room(room_id)
            if not locked.is_active:
                if room is not None:
                    raise errors.RoomArchived()
                continue  # archived since the list was read
            message = ChatMessage.objects.create(
                room=locked,
                sender=actor,
                message_type=ChatMessage.MessageType.SYSTEM,
                content=text,
                content_html=render_content(text),
            )
            counters.message_added(message)
            payload = message_payload(selectors.message_load(message.pk))
            events.append_room_event(
                locked, Frame.MESSAGE_CREATED, {"message": payload, "details": {"action": "alert"}}
            )
            sent.append(message)
    return sent
