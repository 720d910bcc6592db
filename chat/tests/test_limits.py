"""Each input limit is declared once (chat.limits) and the model, the REST
serializer and the service agree on it: one past the limit is refused by each."""

from __future__ import annotations

from typing import Any

import pytest

from chat import errors, limits, services
from chat.api import serializers as s
from chat.models import ChatMessage, ChatRoom, MessageReaction
from chat.tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("model", "field", "limit"),
    [
        (ChatRoom, "name", limits.ROOM_NAME_MAX),
        (ChatMessage, "client_id", limits.CLIENT_ID_MAX),
        (MessageReaction, "emoji", limits.EMOJI_MAX),
    ],
)
def test_the_column_is_as_wide_as_the_limit(model: Any, field: str, limit: int) -> None:
    assert model._meta.get_field(field).max_length == limit


@pytest.mark.parametrize(
    ("serializer", "field", "limit"),
    [
        (s.RoomCreateSerializer, "name", limits.ROOM_NAME_MAX),
        (s.RoomCreateSerializer, "description", limits.ROOM_DESCRIPTION_MAX),
        (s.RoomUpdateSerializer, "name", limits.ROOM_NAME_MAX),
        (s.MessageCreateSerializer, "client_id", limits.CLIENT_ID_MAX),
        (s.MessageReplySerializer, "client_id", limits.CLIENT_ID_MAX),
        (s.ReactionSerializer, "emoji", limits.EMOJI_MAX),
        (s.MessageSearchQuerySerializer, "q", limits.SEARCH_QUERY_MAX),
    ],
)
def test_the_serializer_refuses_one_past_the_limit(serializer: Any, field: str, limit: int) -> None:
    fits = serializer().fields[field].run_validation("a" * limit)
    assert len(fits) == limit
    with pytest.raises(Exception, match="no more than"):
        serializer().fields[field].run_validation("a" * (limit + 1))


def test_the_services_refuse_one_past_the_limit() -> None:
    alice = factories.make_user("alice")
    with pytest.raises(errors.ValidationFailed):
        services.room_create(actor=alice, name="n" * (limits.ROOM_NAME_MAX + 1), chat_type="public")
    room = services.room_create(actor=alice, name="n" * limits.ROOM_NAME_MAX, chat_type="public")
    assert len(room.name) == limits.ROOM_NAME_MAX
    with pytest.raises(errors.ValidationFailed):
        services.room_update(
            actor=alice, room=room, description="d" * (limits.ROOM_DESCRIPTION_MAX + 1)
        )
    with pytest.raises(errors.ValidationFailed):
        services.message_send(
            actor=alice, room=room, content="hi", client_id="c" * (limits.CLIENT_ID_MAX + 1)
        )
    sent = services.message_send(
        actor=alice, room=room, content="hi", client_id="c" * limits.CLIENT_ID_MAX
    )
    with pytest.raises(errors.ValidationFailed):
        services.reaction_add(actor=alice, message=sent.message, emoji="x" * (limits.EMOJI_MAX + 1))
    # The longest shortcodes fit the limit.
    services.reaction_add(
        actor=alice, message=sent.message, emoji=":woman_technologist_medium-dark_skin_tone:"
    )
