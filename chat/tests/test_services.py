"""The one write path: each change appends one RoomEvent and publishes exactly it, after commit."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from chat import errors, services
from chat.models import ChatMessage, ChatParticipant, ChatRoom, MessageReaction, RoomEvent
from chat.tests import factories
from chat.tests.api_support import client_for
from courses import services as course_services


class World:
    def __init__(self, alice: Any, bob: Any, charlie: Any) -> None:
        self.alice, self.bob, self.charlie = alice, bob, charlie
        self.room = factories.make_room(alice, name="Lobby", members=[bob])
        self.message = factories.make_message(bob, self.room, "first")
        services.reaction_add(actor=alice, message=self.message, emoji="👍")

    def events_after(self, seq: int) -> list[dict[str, Any]]:
        return list(
            RoomEvent.objects.filter(room=self.room, seq__gt=seq)
            .order_by("seq")
            .values_list("payload", flat=True)
        )


ACTIONS: dict[str, tuple[str | tuple[str, ...], Callable[[World], Any]]] = {
    "room_update": (
        "room.updated",
        lambda w: services.room_update(actor=w.alice, room=w.room, name="Hall"),
    ),
    "room_archive": ("room.updated", lambda w: services.room_archive(actor=w.alice, room=w.room)),
    "room_join": ("participant.joined", lambda w: services.room_join(actor=w.charlie, room=w.room)),
    "room_leave": ("participant.left", lambda w: services.room_leave(actor=w.bob, room=w.room)),
    "participant_invite": (
        "participant.joined",
        lambda w: services.participant_invite(actor=w.alice, room=w.room, user=w.charlie.pk),
    ),
    "participant_update": (
        "participant.updated",
        lambda w: services.participant_update(
            actor=w.alice, room=w.room, user_id=w.bob.pk, is_muted=True
        ),
    ),
    "participant_remove": (
        "participant.left",
        lambda w: services.participant_remove(actor=w.alice, room=w.room, user_id=w.bob.pk),
    ),
    "message_send": (
        "message.created",
        lambda w: services.message_send(actor=w.alice, room=w.room, content="hi @bob"),
    ),
    "message_send (a reply)": (
        ("message.created", "thread.updated"),
        lambda w: services.message_send(
            actor=w.alice, room=w.room, content="re", reply_to=w.message.pk
        ),
    ),
    "message_edit": (
        "message.updated",
        lambda w: services.message_edit(actor=w.bob, message=w.message, content="edited"),
    ),
    "message_delete": (
        "message.deleted",
        lambda w: services.message_delete(actor=w.bob, message=w.message),
    ),
    "reaction_add": (
        "reaction.added",
        lambda w: services.reaction_add(actor=w.bob, message=w.message, emoji="🎉"),
    ),
    "reaction_remove": (
        "reaction.removed",
        lambda w: services.reaction_remove(actor=w.alice, message=w.message, emoji="👍"),
    ),
}


@pytest.mark.parametrize("name", list(ACTIONS))
def test_each_service_publishes_exactly_its_room_events(
    captured_events: Any, alice: Any, bob: Any, charlie: Any, name: str
) -> None:
    world = World(alice, bob, charlie)
    before = ChatRoom.objects.get(pk=world.room.pk).last_seq
    captured_events.clear()
    event_type, act = ACTIONS[name]

    act(world)

    group = f"room.{world.room.pk}"
    published = captured_events.payloads(group)
    stored = world.events_after(before)
    types = [event_type] if isinstance(event_type, str) else list(event_type)
    assert [p["type"] for p in published] == types
    assert [p["seq"] for p in published] == [before + 1 + n for n in range(len(types))]
    assert published == stored
    assert published[0]["room_id"] == world.room.pk
    assert ChatRoom.objects.get(pk=world.room.pk).last_seq == before + len(types)


def test_seq_is_consecutive_over_a_series_of_changes(
    captured_events: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    world = World(alice, bob, charlie)
    for name in ["message_send", "reaction_add", "message_edit", "room_join", "room_update"]:
        ACTIONS[name][1](world)

    published = captured_events.payloads(f"room.{world.room.pk}")
    stored = world.events_after(0)
    assert [p["seq"] for p in published] == list(range(1, len(stored) + 1))
    # Stored as published, but that the edit restated the message's creation in the
    # log with the message as it is now (a replay never shows the text edited away).
    (edited,) = [p for p in published if p["type"] == "message.updated"]
    restated = [
        {**p, "message": edited["message"]}
        if p["type"] == "message.created" and p["message"]["id"] == edited["message"]["id"]
        else p
        for p in published
    ]
    assert restated != published
    assert stored == restated


def test_a_rolled_back_change_publishes_nothing(
    captured_events: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    world = World(alice, bob, charlie)
    before = ChatRoom.objects.get(pk=world.room.pk).last_seq
    captured_events.clear()

    with pytest.raises(RuntimeError), transaction.atomic():
        services.message_send(actor=alice, room=world.room, content="never")
        raise RuntimeError("abort")

    assert captured_events == []
    assert world.events_after(before) == []
    assert ChatRoom.objects.get(pk=world.room.pk).last_seq == before
    assert not ChatMessage.objects.filter(content="never").exists()


def test_a_refused_change_publishes_nothing(
    captured_events: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    world = World(alice, bob, charlie)
    captured_events.clear()

    with pytest.raises(errors.Forbidden):
        services.message_send(actor=charlie, room=world.room, content="not a member")

    assert captured_events == []


def test_same_client_id_twice_makes_one_message_and_one_event(
    captured_events: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    world = World(alice, bob, charlie)
    captured_events.clear()

    first = services.message_send(actor=bob, room=world.room, content="a", client_id="k-1")
    second = services.message_send(actor=bob, room=world.room, content="b", client_id="k-1")

    assert (first.created, second.created) == (True, False)
    assert first.message.pk == second.message.pk
    assert ChatMessage.objects.filter(sender=bob, client_id="k-1").count() == 1
    assert captured_events.types(f"room.{world.room.pk}") == ["message.created"]


def test_reacting_twice_publishes_once(
    captured_events: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    world = World(alice, bob, charlie)
    captured_events.clear()

    added = [
        services.reaction_add(actor=bob, message=world.message, emoji=":tada:") for _ in range(2)
    ]

    assert added == [True, False]
    assert captured_events.types(f"room.{world.room.pk}") == ["reaction.added"]


def test_rest_answer_and_published_message_are_the_same_payload(
    captured_events: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    world = World(alice, bob, charlie)
    captured_events.clear()

    response = client_for(bob).post(
        "/chat/messages/",
        {"room": world.room.pk, "content": "same @alice", "client_id": "rest-1"},
        format="json",
    )

    published = captured_events.payloads(f"room.{world.room.pk}")
    assert response.status_code == 201
    assert [p["type"] for p in published] == ["message.created"]
    assert published[0]["message"] == json.loads(response.content)


def test_mention_notifies_the_mentioned_user_on_their_stream(
    captured_events: Any, alice: Any, bob: Any, charlie: Any
) -> None:
    world = World(alice, bob, charlie)
    captured_events.clear()

    sent = services.message_send(actor=bob, room=world.room, content="hey @alice").message

    notes = captured_events.payloads(f"user.{alice.pk}")
    assert [(n["type"], n["kind"], n["message"]["id"]) for n in notes] == [
        ("notification", "mention", sent.pk)
    ]
    assert captured_events.payloads(f"user.{bob.pk}") == []


def test_enrolment_publishes_participant_joined_in_the_course_room(
    captured_events: Any, stella: Any, charlie: Any
) -> None:
    course = factories.make_course(stella)
    room = factories.course_room(course)
    captured_events.clear()

    course_services.enrollment_create(actor=stella, course=course, user=charlie, role="student")

    published = captured_events.payloads(f"room.{room.pk}")
    assert [p["type"] for p in published] == ["participant.joined"]
    assert published == list(
        RoomEvent.objects.filter(room=room, seq=published[0]["seq"]).values_list(
            "payload", flat=True
        )
    )


@pytest.mark.django_db
class TestValidation:
    def test_reply_to_a_message_of_another_room_is_refused(self, alice: Any, bob: Any) -> None:
        room = factories.make_room(alice, members=[bob])
        other = factories.make_room(alice, name="other")
        foreign = factories.make_message(alice, other)

        with pytest.raises(errors.ValidationFailed):
            services.message_send(actor=bob, room=room, content="x", reply_to=foreign.pk)

    def test_mention_of_a_user_who_cannot_see_the_room_is_not_stored(
        self, alice: Any, bob: Any, charlie: Any
    ) -> None:
        room = factories.make_room(alice, chat_type="private", members=[bob])

        message = services.message_send(actor=bob, room=room, content="@charlie @alice").message

        assert list(message.mentions.values_list("username", flat=True)) == ["alice"]
        assert "@charlie" in message.content_html

    def test_all_mention_needs_a_moderator(self, alice: Any, bob: Any) -> None:
        room = factories.make_room(alice, members=[bob])

        with pytest.raises(errors.Forbidden):
            services.message_send(actor=bob, room=room, content="@all look")
        by_admin = services.message_send(actor=alice, room=room, content="@all look").message

        assert by_admin.pk is not None

    @pytest.mark.parametrize("content", ["", "   ", "\x00", ["x"], 5])
    def test_bad_content_is_refused(self, alice: Any, content: Any) -> None:
        room = factories.make_room(alice)

        with pytest.raises(errors.ValidationFailed):
            services.message_send(actor=alice, room=room, content=content)

    def test_content_length_counts_after_trimming(self, alice: Any, settings: Any) -> None:
        settings.CHAT_MAX_MESSAGE_LENGTH = 5
        room = factories.make_room(alice)

        ok = services.message_send(actor=alice, room=room, content="  abcde  ").message
        with pytest.raises(errors.ValidationFailed):
            services.message_send(actor=alice, room=room, content="abcdef")

        assert ok.content == "abcde"

    def test_edit_window(self, alice: Any, settings: Any) -> None:
        settings.CHAT_MESSAGE_EDIT_TIMEOUT = 60
        room = factories.make_room(alice)
        message = factories.make_message(alice, room, "draft")
        ChatMessage.objects.filter(pk=message.pk).update(
            created_at=timezone.now() - timedelta(seconds=61)
        )

        with pytest.raises(errors.EditWindowClosed):
            services.message_edit(actor=alice, message=message, content="late")

    def test_delete_window_binds_the_sender_not_a_moderator(
        self, alice: Any, bob: Any, settings: Any
    ) -> None:
        settings.CHAT_MESSAGE_DELETE_TIMEOUT = 60
        room = factories.make_room(alice, members=[bob])
        message = factories.make_message(bob, room, "old")
        ChatMessage.objects.filter(pk=message.pk).update(
            created_at=timezone.now() - timedelta(seconds=61)
        )

        with pytest.raises(errors.EditWindowClosed):
            services.message_delete(actor=bob, message=message)
        deleted = services.message_delete(actor=alice, message=message)

        assert deleted.is_deleted is True

    def test_muted_participant_may_not_post(self, alice: Any, bob: Any) -> None:
        room = factories.make_room(alice, members=[bob])
        services.participant_update(actor=alice, room=room, user_id=bob.pk, is_muted=True)

        with pytest.raises(errors.Muted):
            services.message_send(actor=bob, room=room, content="hi")

    def test_full_room_refuses_a_join(self, alice: Any, bob: Any) -> None:
        room = services.room_create(
            actor=alice, name="tiny", chat_type="public", max_participants=1
        )

        with pytest.raises(errors.RoomFull):
            services.room_join(actor=bob, room=room)

        assert not ChatParticipant.objects.filter(room=room, user=bob).exists()


def test_published_message_equals_the_message_read_back(
    alice: Any, bob: Any, captured_events: Any
) -> None:
    """message_send builds its payload without re-reading the rows it wrote."""
    from chat import selectors
    from chat.wire import message_payload

    room = factories.make_room(alice, members=[bob])
    parent = factories.make_message(alice, room, "question")
    captured_events.clear()
    sent = services.message_send(
        actor=bob, room=room, content="**yes** @alice", client_id="c-42", reply_to=parent.pk
    ).message
    event, thread = captured_events.payloads(f"room.{room.pk}")
    assert thread["type"] == "thread.updated"
    read_back = message_payload(selectors.message_load(sent.pk))
    assert event["message"] == read_back
    assert read_back["mentions"] == [alice.pk]
    assert list(sent.mentions.values_list("username", flat=True)) == ["alice"]


@pytest.mark.django_db
class TestMutedAndArchivedMeanNoWrites:
    """Muted means no writes; an archived room is read-only for everyone."""

    def _world(self, alice: Any, bob: Any) -> tuple[ChatRoom, ChatMessage]:
        room = factories.make_room(alice, name="Quiet", members=[bob])
        message = factories.make_message(bob, room, "mine")
        services.reaction_add(actor=bob, message=message, emoji="👍")
        services.reaction_add(actor=alice, message=message, emoji="🎉")
        return room, message

    def _seq(self, room: ChatRoom) -> int:
        return ChatRoom.objects.get(pk=room.pk).last_seq

    def test_muted_member_may_not_remove_a_reaction(self, alice: Any, bob: Any) -> None:
        room, message = self._world(alice, bob)
        services.participant_update(actor=alice, room=room, user_id=bob.pk, is_muted=True)
        before = self._seq(room)

        with pytest.raises(errors.Muted):
            services.reaction_remove(actor=bob, message=message, emoji="👍")

        assert self._seq(room) == before
        assert list(message.reactions.values_list("user__username", "emoji")) == [
            ("bob", "👍"),
            ("alice", "🎉"),
        ]

    def test_muted_sender_may_not_delete_their_message(self, alice: Any, bob: Any) -> None:
        room, message = self._world(alice, bob)
        services.participant_update(actor=alice, room=room, user_id=bob.pk, is_muted=True)

        with pytest.raises(errors.Muted):
            services.message_delete(actor=bob, message=message)

        assert ChatMessage.objects.get(pk=message.pk).is_deleted is False

    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_nobody_removes_a_reaction_in_an_archived_room(
        self, alice: Any, bob: Any, who: str
    ) -> None:
        room, message = self._world(alice, bob)
        services.room_archive(actor=alice, room=room)
        before = self._seq(room)
        actor, emoji = (alice, "🎉") if who == "alice" else (bob, "👍")

        with pytest.raises(errors.RoomArchived):
            services.reaction_remove(actor=actor, message=message, emoji=emoji)

        assert self._seq(room) == before
        assert MessageReaction.objects.filter(message=message).count() == 2

    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_nobody_deletes_a_message_in_an_archived_room(
        self, alice: Any, bob: Any, who: str
    ) -> None:
        room, message = self._world(alice, bob)
        services.room_archive(actor=alice, room=room)
        before = self._seq(room)

        with pytest.raises(errors.RoomArchived):
            services.message_delete(actor=alice if who == "alice" else bob, message=message)

        assert self._seq(room) == before
        assert ChatMessage.objects.get(pk=message.pk).content == "mine"

    def test_archived_room_refuses_deletes_and_reaction_removal_over_rest(
        self, alice: Any, bob: Any
    ) -> None:
        room, message = self._world(alice, bob)
        services.room_archive(actor=alice, room=room)

        unreact = client_for(bob).delete(
            f"/chat/messages/{message.pk}/react/", {"emoji": "👍"}, format="json"
        )
        delete = client_for(alice).delete(f"/chat/messages/{message.pk}/")

        assert (unreact.status_code, unreact.data["code"]) == (403, "room_archived")
        assert (delete.status_code, delete.data["code"]) == (403, "room_archived")
