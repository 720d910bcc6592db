"""Sending several messages to a room in one transaction (the socket's batches),
and the MESSAGE payload built without the serializer."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import errors, selectors, services
from chat.models import ChatMessage, RoomEvent
from chat.services.messages import SendResult
from chat.services.sending import SendRequest, message_send_many
from chat.tests import factories
from chat.wire import MessageSerializer, message_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(alice: Any, bob: Any) -> Any:
    return factories.make_room(alice, name="Lobby", members=[bob])


def test_each_request_gets_its_own_outcome_in_order(
    alice: Any, bob: Any, charlie: Any, room: Any
) -> None:
    services.participant_update(actor=alice, room=room, user_id=bob.pk, is_muted=True)
    start = selectors.room_last_seq(room.pk)
    outcomes = message_send_many(
        room=room,
        requests=[
            SendRequest(actor=alice, content="one", client_id="a-1"),
            SendRequest(actor=bob, content="muted"),
            SendRequest(actor=alice, content="   "),
            SendRequest(actor=charlie, content="not a member"),
            SendRequest(actor=alice, content="two", client_id="a-2"),
            SendRequest(actor=alice, content="one again", client_id="a-1"),
        ],
    )
    kinds = [type(outcome).__name__ for outcome in outcomes]
    assert kinds == [
        "SendResult",
        "Muted",
        "ValidationFailed",
        "Forbidden",
        "SendResult",
        "SendResult",
    ]
    first, second, repeat = (outcomes[0], outcomes[4], outcomes[5])
    assert isinstance(first, SendResult) and isinstance(second, SendResult)
    assert isinstance(repeat, SendResult)
    assert [first.created, second.created, repeat.created] == [True, True, False]
    assert repeat.message.pk == first.message.pk
    stored = list(
        ChatMessage.objects.filter(room=room)
        .exclude(message_type="system")
        .values_list("content", flat=True)
    )
    assert stored == ["one", "two"]
    logged = RoomEvent.objects.filter(room=room, seq__gt=start).order_by("seq")
    assert [(e.seq, e.type, e.payload["message"]["content"]) for e in logged] == [
        (start + 1, "message.created", "one"),
        (start + 2, "message.created", "two"),
    ]
    assert selectors.room_last_seq(room.pk) == start + 2


def test_a_private_room_stays_not_found_before_any_validation_error(
    alice: Any, charlie: Any
) -> None:
    secret = factories.make_room(alice, chat_type="private", name="Secret")
    (outcome,) = message_send_many(room=secret, requests=[SendRequest(actor=charlie, content="")])
    assert isinstance(outcome, errors.NotFound)


def test_a_client_id_used_in_another_room_is_refused_without_showing_that_message(
    alice: Any, bob: Any, room: Any
) -> None:
    other = factories.make_room(bob, name="Elsewhere", members=[alice])
    services.message_send(actor=alice, room=other, content="private words", client_id="c-7")
    with pytest.raises(errors.ValidationFailed) as refused:
        services.message_send(actor=alice, room=room, content="new", client_id="c-7")
    assert "private words" not in str(refused.value.detail)
    assert not ChatMessage.objects.filter(room=room, client_id="c-7").exists()


def test_many_sends_cost_the_queries_of_one(alice: Any, bob: Any, room: Any) -> None:
    def cost(count: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            outcomes = message_send_many(
                room=room,
                requests=[
                    SendRequest(actor=alice, content=f"m {count} {n}", client_id=f"q-{count}-{n}")
                    for n in range(count)
                ],
            )
        assert all(isinstance(outcome, SendResult) and outcome.created for outcome in outcomes)
        return len(queries)

    assert cost(1) == cost(20)


def _both(message: ChatMessage) -> tuple[dict[str, Any], dict[str, Any]]:
    loaded = selectors.message_load(message.pk)
    return message_payload(loaded), dict(MessageSerializer(loaded).data)


def test_payload_is_what_the_serializer_writes(alice: Any, bob: Any, room: Any) -> None:
    parent = factories.make_message(bob, room, "question for @alice")
    reply = services.message_send(
        actor=alice, room=room, content="**answer** @bob", reply_to=parent.pk
    ).message
    services.reaction_add(actor=bob, message=reply, emoji="👍")
    services.reaction_add(actor=alice, message=reply, emoji="👍")
    services.reaction_add(actor=alice, message=reply, emoji="🎉")
    services.message_edit(actor=alice, message=reply, content="**answer**, edited")
    upload = SimpleUploadedFile("notes.txt", b"first line\nsecond line\n", "text/plain")
    attached = services.message_send(actor=bob, room=room, upload=upload).message
    deleted = factories.make_message(bob, room, "gone")
    services.message_delete(actor=bob, message=deleted)
    for message in (parent, reply, attached, deleted):
        ours, serializer = _both(message)
        assert ours == serializer
    ours, _ = _both(reply)
    assert ours["reactions"] == [
        {"emoji": "👍", "count": 2, "user_ids": [bob.pk, alice.pk]},
        {"emoji": "🎉", "count": 1, "user_ids": [alice.pk]},
    ]
    assert ours["created_at"].endswith("Z")
