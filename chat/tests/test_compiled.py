"""chat.compiled: a query compiled once gives what the ORM gives, for every persona
and room type, on PostgreSQL and SQLite alike; ids must reach the parameters."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import F

from chat import policy, selectors, services, wire
from chat.compiled import CompiledQuery, CompiledUpdate, insert_new
from chat.models import ChatMessage, ChatParticipant, ChatRoom, RoomBan, RoomEvent
from chat.tests import factories
from chat.tests.test_api_permissions import PERSONAS, ROOM_TYPES, VISIBLE, build_room
from courses.models import Enrollment

ANNOTATIONS = ("participant_count", "my_role", "my_last_read", "unread_count", "banned")
FIELDS = [field.attname for field in ChatRoom._meta.concrete_fields]


def as_seen(room: Any, annotations: tuple[str, ...] = ANNOTATIONS) -> dict[str, Any]:
    values = {name: getattr(room, name) for name in (*FIELDS, *annotations)}
    values["created_by"] = (room.created_by.pk, room.created_by.username, room.created_by.email)
    return values


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("room_type", ROOM_TYPES)
def test_the_compiled_room_query_equals_the_orms(room_type: str, persona: str) -> None:
    room, people = build_room(room_type)
    user = people[persona]
    factories.make_message(people["admin"], room, "one")
    factories.make_message(people["admin"], room, "two")

    compiled = selectors._ROOM_FOR_VIEWER.first(user_id=user.pk, room_id=room.pk)
    orm = selectors._room_for_viewer(user.pk, room.pk).first()

    assert compiled is not None and orm is not None
    assert as_seen(compiled) == as_seen(orm)
    assert compiled._state.adding is False and compiled._state.db == "default"
    seen = persona in VISIBLE[room_type]
    if seen:
        assert selectors.room_get_for_user(user, room.pk).pk == room.pk


@pytest.mark.django_db
@pytest.mark.parametrize("persona", [*PERSONAS, "superuser", "enrolled", "banned", "inactive"])
@pytest.mark.parametrize("room_type", ROOM_TYPES)
def test_the_compiled_visibility_check_answers_as_the_orms_filter(
    room_type: str, persona: str
) -> None:
    room, people = build_room(room_type)
    people["superuser"] = factories.make_user("root", is_superuser=True)
    people["enrolled"] = factories.make_user("learner")
    if room.course_id is not None:  # enrolled without a participant row: the course rule
        Enrollment.objects.create(course_id=room.course_id, user=people["enrolled"])
    people["banned"] = people["member"]
    if persona == "banned":
        # A ban row (the service bans only in public and support rooms; the rule holds for all)
        RoomBan.objects.create(room=room, user=people["member"], banned_by=people["admin"])
    people["inactive"] = factories.make_user("gone", is_staff=True)
    people["inactive"].is_active = False
    user = people[persona]

    orm = ChatRoom.objects.filter(policy.visible_rooms_q(user), pk=room.pk).exists()
    compiled = policy.visible_room(user, room.pk)

    assert (compiled is not None) == orm
    assert policy.can_see_room(user, room) == orm
    if persona in PERSONAS:
        assert orm == (persona in VISIBLE[room_type])
    if persona == "superuser" or (persona == "enrolled" and room_type in {"public", "course"}):
        assert orm is True
    if persona in {"banned", "inactive"}:
        assert orm is False
    if compiled is not None:
        assert as_seen(compiled, ()) == as_seen(ChatRoom.objects.get(pk=room.pk), ())
    assert policy.visible_room(user, room.pk + 1000) is None


@pytest.mark.django_db
def test_a_banned_user_and_a_missing_room(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, name="Lounge", members=[bob], moderators=[alice])
    services.room_ban(actor=alice, room=room, user_id=bob.pk)

    banned: Any = selectors._ROOM_FOR_VIEWER.first(user_id=bob.pk, room_id=room.pk)

    assert banned is not None and banned.banned is True and banned.my_role is None
    assert selectors._ROOM_FOR_VIEWER.first(user_id=bob.pk, room_id=room.pk + 1000) is None
    too_big = 10**23  # past a 64-bit column: nothing, as from the ORM, on every database
    assert selectors._ROOM_FOR_VIEWER.first(user_id=bob.pk, room_id=too_big) is None
    assert selectors._room_for_viewer(bob.pk, too_big).first() is None


def test_ids_written_into_the_sql_are_refused() -> None:
    inlined = CompiledQuery(
        lambda user_id: ChatRoom.objects.extra(where=[f"id = {user_id}"]), ("user_id",)
    )

    with pytest.raises(ValueError, match="user_id"):
        inlined._compile(paged=False)


@pytest.mark.django_db(transaction=True)
def test_the_compiled_room_lock_reads_the_room_under_a_row_lock(alice: Any) -> None:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    room = factories.make_room(alice, name="Lounge")
    ChatRoom.objects.filter(pk=room.pk).update(slow_mode_seconds=30)
    factories.make_message(alice, room, "one")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = selectors.lock_room(room.pk)
    fresh = ChatRoom.objects.get(pk=room.pk)
    assert {name: getattr(locked, name) for name in FIELDS} == {
        name: getattr(fresh, name) for name in FIELDS
    }
    assert locked.last_seq == fresh.last_seq > 0 and locked.slow_mode_seconds == 30
    if connection.vendor == "postgresql":
        assert "FOR UPDATE" in queries.captured_queries[-1]["sql"]
    with transaction.atomic(), pytest.raises(ChatRoom.DoesNotExist):
        selectors.lock_room(room.pk + 1000)


@pytest.mark.django_db
def test_the_compiled_token_query_finds_the_socket_user_as_the_orm_does(alice: Any) -> None:
    from django.contrib.auth.models import AnonymousUser
    from rest_framework.authtoken.models import Token

    from chat import ws_auth

    key = Token.objects.create(user=alice).key
    compiled = ws_auth._TOKEN_WITH_USER.first(key=key)
    orm = ws_auth._token_with_user(key).first()
    assert compiled is not None and orm is not None
    fields = ("id", "username", "display_name", "language", "is_active", "is_staff")
    assert [getattr(compiled.user, name) for name in fields] == [
        getattr(orm.user, name) for name in fields
    ]
    assert compiled.user.get_deferred_fields() == orm.user.get_deferred_fields()
    assert ws_auth._token_user(key) == alice
    assert ws_auth._TOKEN_WITH_USER.first(key=key.upper() + "x") is None
    for unknown in ("", "x" * 41, "a\x00b", key[:-1]):
        assert isinstance(ws_auth._token_user(unknown), AnonymousUser)
    with pytest.raises(TypeError):
        ws_auth._TOKEN_WITH_USER.first(key=12)
    alice.is_active = False
    alice.save()
    assert isinstance(ws_auth._token_user(key), AnonymousUser)


ROOM_LIST_ANNOTATIONS = ("participant_count", "my_role", "my_last_read", "unread_count")


def listed(rooms: Any) -> list[dict[str, Any]]:
    return [as_seen(room, ROOM_LIST_ANNOTATIONS) for room in rooms]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("room_type", ROOM_TYPES)
def test_the_compiled_room_list_equals_the_orms(room_type: str, persona: str) -> None:
    room, people = build_room(room_type)
    factories.make_message(people["admin"], room, "one")
    other = factories.make_room(people["outsider"], name="Elsewhere", chat_type="private")
    user = people[persona]

    compiled = selectors.visible_room_rows(user)
    orm = list(selectors.visible_rooms(user))

    assert listed(compiled[0:50]) == listed(orm)
    assert (room.pk in [r.pk for r in orm]) == (persona in VISIBLE[room_type])
    assert (other.pk in [r.pk for r in orm]) == (persona == "outsider")
    assert compiled.count() == len(orm)


@pytest.mark.django_db
def test_the_compiled_room_list_pages_by_limit_and_offset(alice: Any, bob: Any) -> None:
    superuser = factories.make_user("root", is_superuser=True)
    rooms = [factories.make_room(bob, name=f"Room {n}", chat_type="private") for n in range(5)]
    factories.make_room(alice, name="Alice's", chat_type="private", members=[bob])

    everything = selectors.visible_room_rows(superuser)
    bobs = selectors.visible_room_rows(bob)

    assert [r.pk for r in everything[0:6]] == [r.pk for r in selectors.visible_rooms(superuser)]
    assert [r.name for r in bobs[1:3]] == ["Room 1", "Room 2"]
    assert [r.name for r in bobs[4:10]] == ["Room 4", "Alice's"]
    assert bobs[9:12] == [] and bobs[2:2] == []
    assert [r.my_role for r in bobs[0:6]] == ["admin"] * 5 + ["member"]
    assert [r.pk for r in selectors.visible_room_rows(alice)[0:9]] == [
        r.pk for r in selectors.visible_rooms(alice)
    ]
    assert len(rooms) == 5
    with pytest.raises(TypeError):
        bobs[0]  # type: ignore[index]


def test_rows_need_an_ordered_queryset() -> None:
    unordered = CompiledQuery(
        lambda user_id: ChatRoom.objects.filter(created_by_id=user_id).order_by(), ("user_id",)
    )

    with pytest.raises(ValueError, match="ordered"):
        unordered._compile(paged=True)


@pytest.mark.django_db
@pytest.mark.parametrize("room_type", ROOM_TYPES)
def test_room_payload_is_what_the_documented_serializer_writes(room_type: str) -> None:
    room, people = build_room(room_type)
    factories.make_message(people["admin"], room, "one")
    member = people["member"]

    for listed in selectors.visible_room_rows(member)[0:50]:
        expected = dict(wire.RoomSerializer(listed).data)
        assert wire.room_payload(listed) == expected
        assert list(wire.room_payload(listed)) == list(expected)  # the same order too
        assert expected["my_role"] == "member"
        assert expected["unread_count"] == selectors.unread_count(member, listed)
    fresh = selectors.room_get_for_user(people["admin"], room.pk)
    assert wire.room_payload(fresh, my_role="admin", unread_count=0) == dict(
        wire.RoomSerializer(fresh).data, my_role="admin", unread_count=0
    )
    assert wire.room_payload(fresh)["course"] == room.course_id


@pytest.mark.django_db
def test_insert_new_stores_what_bulk_create_stores(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, name="Lounge", members=[bob])

    def fresh(tag: str) -> list[Any]:
        return [
            ChatMessage(room=room, sender=alice, content=f"{tag} one", client_id=f"{tag}-1"),
            ChatMessage(room=room, sender=bob, content=f"{tag} two", is_question=True),
        ]

    ours = insert_new(fresh("ours"))
    theirs = ChatMessage.objects.bulk_create(fresh("theirs"))
    events = insert_new(
        [RoomEvent(room=room, seq=900 + n, type="test", payload={"n": n, "ü": [n]}) for n in (1, 2)]
    )

    def stored(message: Any) -> dict[str, Any]:
        row = ChatMessage.objects.filter(pk=message.pk).values().get()
        return {k: v for k, v in row.items() if k not in ("id", "content", "client_id")} | {
            "created_at": None,
            "updated_at": None,
        }

    assert all(m.pk and not m._state.adding and m._state.db == "default" for m in ours)
    assert ours[0].pk < ours[1].pk
    assert [stored(m) for m in ours] == [stored(m) for m in theirs]
    assert [m.content for m in ChatMessage.objects.filter(pk__in=[m.pk for m in ours])] == [
        "ours one",
        "ours two",
    ]
    assert ours[0].created_at is not None and ours[0].created_at == stored_created(ours[0])
    assert [e.payload for e in RoomEvent.objects.filter(pk__in=[e.pk for e in events])] == [
        {"n": 1, "ü": [1]},
        {"n": 2, "ü": [2]},
    ]
    assert insert_new([]) == []
    many = insert_new(
        [RoomEvent(room=room, seq=1000 + n, type="test", payload={}) for n in range(130)]
    )  # past INSERT_ROWS_MAX: bulk_create's batches
    assert len({event.pk for event in many}) == 130 and all(event.pk for event in many)
    with pytest.raises(ValueError, match="new rows"):
        insert_new(ours[:1])


def stored_created(message: Any) -> Any:
    return ChatMessage.objects.values_list("created_at", flat=True).get(pk=message.pk)


@pytest.mark.django_db
def test_a_compiled_update_changes_what_the_orms_would(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, name="Lounge", members=[bob])
    other = factories.make_room(bob, name="Other", members=[alice])
    add = CompiledUpdate(
        lambda room_id, user_id, count: ChatParticipant.objects.filter(
            room_id=room_id, user_id=user_id
        ),
        lambda room_id, user_id, count: {"read_count": F("read_count") + count},
        ("room_id", "user_id", "count"),
    )

    def counts() -> list[tuple[int, int, int]]:
        return list(
            ChatParticipant.objects.order_by("room_id", "user_id").values_list(
                "room_id", "user_id", "read_count"
            )
        )

    before = counts()
    assert add.run(room_id=room.pk, user_id=bob.pk, count=3) == 1
    assert add.run(room_id=room.pk, user_id=bob.pk, count=4) == 1
    assert add.run(room_id=room.pk, user_id=10**9, count=4) == 0
    expected = [(r, u, n + 7 if (r, u) == (room.pk, bob.pk) else n) for r, u, n in before]
    assert counts() == expected
    assert other.pk in {r for r, _, _ in counts()}
    with pytest.raises(TypeError):
        add.run(room_id=room.pk, user_id=str(bob.pk), count=1)  # type: ignore[arg-type]
    inlined = CompiledUpdate(
        lambda room_id: ChatRoom.objects.extra(where=[f"id = {room_id}"]),
        lambda room_id: {"slow_mode_seconds": 1},
        ("room_id",),
    )
    with pytest.raises(ValueError, match="room_id"):
        inlined.run(room_id=room.pk)


@pytest.mark.django_db(transaction=True)
def test_the_compiled_presence_lock_reads_the_row_and_its_user_under_a_lock(alice: Any) -> None:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from chat.models import UserPresence
    from chat.services import presence

    UserPresence.objects.create(user=alice, status=UserPresence.Status.ONLINE)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        row: Any = presence._PRESENCE_LOCKED.first(user_id=alice.pk)
        assert row is not None and row.user.username == "alice"  # no second query
        sql = [query["sql"] for query in queries.captured_queries]
        orm = presence._presence_locked(alice.pk).get()
    fields = [field.attname for field in UserPresence._meta.concrete_fields]
    assert [getattr(row, name) for name in fields] == [getattr(orm, name) for name in fields]
    assert len(sql) == 1
    if connection.vendor == "postgresql":
        assert "FOR UPDATE" in sql[0]
    assert presence._PRESENCE_LOCKED.first(user_id=alice.pk + 1000) is None
