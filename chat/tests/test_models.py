"""Every constraint and choice of the chat tables holds in the database itself.

Rows are written with ``bulk_create`` or ``.update()``, which skip model
validation, so these prove the database refuses what the services never write.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from chat.models import (
    ChatMessage,
    ChatParticipant,
    ChatRoom,
    MessageReaction,
    RoomEvent,
    UserPresence,
)
from courses.models import Course


def room_row(owner: Any, **fields: Any) -> ChatRoom:
    return ChatRoom.objects.create(
        **{"name": "Room", "chat_type": "public", "created_by": owner, **fields}
    )


def refused(action: Any) -> bool:
    try:
        with transaction.atomic():
            action()
    except IntegrityError:
        return True
    return False


def test_choices_are_those_of_the_design() -> None:
    assert ChatRoom.ChatType.values == ["public", "private", "course", "support"]
    assert ChatMessage.MessageType.values == ["text", "image", "file", "system", "poll"]
    assert ChatParticipant.Role.values == ["member", "moderator", "admin"]
    assert UserPresence.Status.values == ["online", "away", "busy", "offline"]


def test_room_defaults(alice: Any, settings: Any) -> None:
    settings.CHAT_ROOM_MAX_PARTICIPANTS = 42
    room = room_row(alice)
    assert (room.max_participants, room.is_active, room.last_seq) == (42, True, 0)
    assert room.created_at is not None and room.updated_at is not None


@pytest.mark.parametrize("chat_type", ["public", "private", "support"])
def test_every_valid_chat_type_is_stored(alice: Any, chat_type: str) -> None:
    room = room_row(alice)
    ChatRoom.objects.filter(pk=room.pk).update(chat_type=chat_type)
    assert ChatRoom.objects.get(pk=room.pk).chat_type == chat_type


def test_invalid_chat_type_is_refused(alice: Any) -> None:
    room = room_row(alice)
    assert refused(lambda: ChatRoom.objects.filter(pk=room.pk).update(chat_type="secret"))


def test_course_room_needs_a_course(alice: Any) -> None:
    assert refused(lambda: room_row(alice, chat_type="course"))
    course = Course.objects.create(title="Maths", code="M1")
    assert room_row(alice, chat_type="course", course=course).course == course


def test_max_participants_and_last_seq_bounds(alice: Any) -> None:
    room = room_row(alice)
    assert refused(lambda: ChatRoom.objects.filter(pk=room.pk).update(max_participants=0))
    assert refused(lambda: ChatRoom.objects.filter(pk=room.pk).update(last_seq=-1))


def test_one_participant_row_per_room_and_user(alice: Any) -> None:
    room = room_row(alice)
    ChatParticipant.objects.create(room=room, user=alice)
    assert refused(lambda: ChatParticipant.objects.create(room=room, user=alice, role="admin"))


def test_participant_defaults_and_roles(alice: Any, bob: Any) -> None:
    room = room_row(alice)
    participant = ChatParticipant.objects.create(room=room, user=alice)
    assert (participant.role, participant.is_active, participant.is_muted) == (
        "member",
        True,
        False,
    )
    assert participant.last_read_message is None
    for role in ("moderator", "admin"):
        ChatParticipant.objects.filter(pk=participant.pk).update(role=role)
    assert refused(lambda: ChatParticipant.objects.filter(pk=participant.pk).update(role="owner"))
    assert refused(
        lambda: ChatParticipant.objects.bulk_create(
            [ChatParticipant(room=room, user=bob, role="king")]
        )
    )


def test_one_presence_row_per_user(alice: Any) -> None:
    UserPresence.objects.create(user=alice)
    assert refused(lambda: UserPresence.objects.create(user=alice, status="online"))


def test_presence_statuses(alice: Any) -> None:
    presence = UserPresence.objects.create(user=alice)
    assert (presence.status, presence.is_typing, presence.current_room) == ("offline", False, None)
    for status in ("online", "away", "busy"):
        UserPresence.objects.filter(pk=presence.pk).update(status=status)
    assert refused(lambda: UserPresence.objects.filter(pk=presence.pk).update(status="asleep"))


def test_client_id_is_unique_per_sender_but_may_repeat_across_senders(alice: Any, bob: Any) -> None:
    room = room_row(alice)
    ChatMessage.objects.create(room=room, sender=alice, content="a", client_id="c-1")
    ChatMessage.objects.create(room=room, sender=bob, content="b", client_id="c-1")
    assert refused(
        lambda: ChatMessage.objects.create(room=room, sender=alice, content="c", client_id="c-1")
    )


def test_many_messages_without_client_id_are_allowed(alice: Any) -> None:
    room = room_row(alice)
    ChatMessage.objects.bulk_create(
        [ChatMessage(room=room, sender=alice, content=str(i)) for i in range(3)]
    )
    assert ChatMessage.objects.filter(sender=alice, client_id__isnull=True).count() == 3


def test_message_defaults_types_and_reply(alice: Any) -> None:
    room = room_row(alice)
    first = ChatMessage.objects.create(room=room, sender=alice, content="q")
    assert (first.message_type, first.is_edited, first.is_deleted) == ("text", False, False)
    reply = ChatMessage.objects.create(room=room, sender=alice, content="a", reply_to=first)
    reply.mentions.add(alice)
    assert list(first.replies.all()) == [reply]
    assert list(alice.mentioned_in.all()) == [reply]
    for message_type in ("image", "file", "system"):
        ChatMessage.objects.filter(pk=first.pk).update(message_type=message_type)
    assert refused(lambda: ChatMessage.objects.filter(pk=first.pk).update(message_type="video"))
    first.delete()
    reply.refresh_from_db()
    assert reply.reply_to is None


def test_one_reaction_per_message_user_and_emoji(alice: Any, bob: Any) -> None:
    message = ChatMessage.objects.create(room=room_row(alice), sender=alice, content="hi")
    MessageReaction.objects.create(message=message, user=alice, emoji="👍")
    MessageReaction.objects.create(message=message, user=alice, emoji="🎉")
    MessageReaction.objects.create(message=message, user=bob, emoji="👍")
    assert refused(lambda: MessageReaction.objects.create(message=message, user=alice, emoji="👍"))


def test_one_room_event_per_room_and_seq(alice: Any) -> None:
    room, other = room_row(alice), room_row(alice)
    RoomEvent.objects.create(room=room, seq=1, type="room.updated", payload={})
    RoomEvent.objects.create(room=other, seq=1, type="room.updated", payload={})
    assert refused(lambda: RoomEvent.objects.create(room=room, seq=1, type="x", payload={}))


def test_room_event_payload_round_trips_json(alice: Any) -> None:
    room = room_row(alice)
    payload = {"type": "message.created", "nested": {"list": [1, "é", None, True]}}
    RoomEvent.objects.create(room=room, seq=1, type="message.created", payload=payload)
    assert RoomEvent.objects.get(room=room, seq=1).payload == payload


def test_last_read_message_is_cleared_when_the_message_goes(alice: Any) -> None:
    room = room_row(alice)
    message = ChatMessage.objects.create(room=room, sender=alice, content="x")
    participant = ChatParticipant.objects.create(room=room, user=alice, last_read_message=message)
    message.delete()
    participant.refresh_from_db()
    assert participant.last_read_message is None


@pytest.mark.django_db
def test_history_and_event_indexes_exist() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        message_indexes = connection.introspection.get_constraints(
            cursor, ChatMessage._meta.db_table
        )
        event_constraints = connection.introspection.get_constraints(
            cursor, RoomEvent._meta.db_table
        )
    assert any(info["columns"] == ["room_id", "id"] for info in message_indexes.values())
    assert any(
        info["columns"] == ["room_id", "seq"] and info["unique"]
        for info in event_constraints.values()
    )
