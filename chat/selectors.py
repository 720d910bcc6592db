"""Every non-trivial read. Fetch through the user: what they may not see is NotFound."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, TypedDict, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Field,
    Func,
    IntegerField,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy

from chat import errors, policy
from chat.compiled import CompiledQuery, CompiledRows
from chat.models import (
    AuditEntry,
    ChatMessage,
    ChatParticipant,
    ChatRoom,
    MessageReaction,
    MessageReport,
    PinnedMessage,
    Poll,
    PollOption,
    PollVote,
    QueueEntry,
    RoomBan,
    StaffQuestion,
    ThreadRead,
    UserPresence,
)
from chat.services import counters

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from accounts.models import User


class ViewerFields(TypedDict):
    """What ``visible_rooms`` annotates on each room, for its viewer."""

    participant_count: int
    my_role: str | None
    my_last_read: int | None
    unread_count: int


if TYPE_CHECKING:
    ViewerRoom = WithAnnotations[ChatRoom, ViewerFields]


def _count_subquery(queryset: QuerySet[Any], field: str) -> Subquery:
    return Subquery(
        queryset.order_by().values(field).annotate(n=Count("pk")).values("n")[:1],
        output_field=IntegerField(),
    )


def _participant_count() -> Coalesce:
    active = ChatParticipant.objects.filter(room=OuterRef("pk"), is_active=True)
    return Coalesce(_count_subquery(active, "room"), Value(0))


def with_participant_count(rooms: QuerySet[ChatRoom]) -> QuerySet[ChatRoom]:
    return rooms.annotate(participant_count=_participant_count())


def visible_rooms(user: User) -> QuerySet[ViewerRoom]:
    """Rooms the user may see, with ``participant_count``, ``my_role`` and
    ``unread_count`` computed in the one query. Unread is a subtraction of the
    counters that chat.services.counters keeps, whatever the room's history."""
    mine = ChatParticipant.objects.filter(room=OuterRef("pk"), user=user, is_active=True)
    read = mine.values(n=counters.accounted_expression())[:1]
    rooms = (
        ChatRoom.objects.filter(policy.visible_rooms_q(user))
        .select_related("created_by")
        .annotate(
            participant_count=_participant_count(),
            my_role=Subquery(mine.values("role")[:1]),
            my_last_read=Subquery(mine.values("last_read_message_id")[:1]),
            unread_count=Coalesce(F("message_count") - Subquery(read), Value(0)),
        )
    )
    return rooms.order_by("id")


def _visible_rooms_of_kind(kind: tuple[bool, bool, bool]) -> CompiledQuery[Any]:
    def build(user_id: int) -> QuerySet[ViewerRoom]:
        return visible_rooms(policy.user_of_kind(user_id, kind))

    return CompiledQuery(build, ("user_id",))


# ``visible_rooms`` compiled once per kind of user (its filter depends on the kind).
_VISIBLE_ROOMS = {
    (superuser, staff, support): _visible_rooms_of_kind((superuser, staff, support))
    for superuser, staff, support in itertools.product((False, True), repeat=3)
}


def visible_room_rows(user: User) -> CompiledRows[Any] | QuerySet[ViewerRoom]:
    """``visible_rooms(user)`` for a paginator, its SQL compiled once per kind of
    user (superuser, staff, support staff): building and compiling that query
    costs several milliseconds, every room list runs it."""
    if not user.is_authenticated or not user.is_active:
        return visible_rooms(user)  # nothing: an empty filter, no query to compile
    query = _VISIBLE_ROOMS[policy.user_kind(user)]
    return CompiledRows(query, lambda: visible_rooms(user).count(), user_id=user.pk)


def as_id(value: object) -> int | None:
    """``value`` (from a URL or a frame, so anything) as an id: an integer, or the
    text of one; None for anything else (a float is not truncated to some other
    message's id, nor is ``true`` read as 1)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str | bytes):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def user_id_by_username(username: str) -> int:
    """The id of the active user with exactly this username, for an invitation by
    name (ValidationFailed, as for an unknown id)."""
    user_id = (
        get_user_model()
        .objects.filter(username=username, is_active=True)
        .values_list("pk", flat=True)
        .first()
    )
    if user_id is None:
        raise errors.ValidationFailed(
            gettext_lazy("No such user."), fields={"username": [gettext_lazy("No such user.")]}
        )
    return user_id


def _room_for_viewer(user_id: int, room_id: int) -> QuerySet[ChatRoom]:
    """The room with ``user_id``'s annotations (``room_get_for_user``'s one query)."""
    mine = ChatParticipant.objects.filter(room=OuterRef("pk"), user_id=user_id, is_active=True)
    read = mine.values(n=counters.accounted_expression())[:1]
    return (
        ChatRoom.objects.filter(pk=room_id)
        .select_related("created_by")
        .annotate(
            participant_count=_participant_count(),
            my_role=Subquery(mine.values("role")[:1]),
            my_last_read=Subquery(mine.values("last_read_message_id")[:1]),
            unread_count=Coalesce(F("message_count") - Subquery(read), Value(0)),
            banned=Exists(RoomBan.objects.filter(room=OuterRef("pk"), user_id=user_id)),
        )
    )


# Compiled once: every room socket's handshake runs it (see chat.compiled).
_ROOM_FOR_VIEWER = CompiledQuery(_room_for_viewer, ("user_id", "room_id"))


def visible_room_ids(user: User, room_ids: Iterable[int]) -> set[int]:
    """Which of ``room_ids`` the user may see."""
    return set(
        ChatRoom.objects.filter(policy.visible_rooms_q(user), pk__in=list(room_ids)).values_list(
            "pk", flat=True
        )
    )


def room_get_for_user(user: User, room_id: object) -> ViewerRoom:
    """The room with its per-viewer annotations, or NotFound if it is not visible.

    One query in the usual cases (the handshake of every room socket comes
    here): the room with the viewer's participant row; an active participant
    sees it, and everyone signed in sees a public room. Other rooms go through
    the full visibility rule (``visible_rooms``, whose unread count is 0 for
    non-members, as here)."""
    room_pk = as_id(room_id)
    if room_pk is None:
        raise errors.NotFound(gettext_lazy("No such room."))
    if user.is_authenticated and user.is_active:
        # Annotated as _room_for_viewer says (the compiled rows carry no static type).
        room: Any = _ROOM_FOR_VIEWER.first(user_id=user.pk, room_id=room_pk)
        if (
            room is not None
            and not room.banned
            and (room.my_role is not None or room.chat_type == ChatRoom.ChatType.PUBLIC)
        ):
            return cast("ViewerRoom", room)
    visible = visible_rooms(user).filter(pk=room_pk).first()
    if visible is None:
        raise errors.NotFound(gettext_lazy("No such room."))
    return visible


# Compiled once: every write to a room (each batch of sends) takes this lock.
_ROOM_LOCKED = CompiledQuery(
    lambda room_id: ChatRoom.objects.select_for_update().filter(pk=room_id), ("room_id",)
)


def lock_room(room_id: int) -> ChatRoom:
    """Re-read a room under a row lock; call inside a transaction (services do).
    ChatRoom.DoesNotExist if it is gone."""
    room = _ROOM_LOCKED.first(room_id=room_id)
    if room is None:
        raise ChatRoom.DoesNotExist("ChatRoom matching query does not exist.")
    return room


def with_message_relations(messages: QuerySet[ChatMessage]) -> QuerySet[ChatMessage]:
    """What MESSAGE touches, loaded in a constant number of queries."""
    return messages.select_related("sender").prefetch_related(
        Prefetch("reactions", queryset=MessageReaction.objects.order_by("id")),
        "mentions",
    )


@dataclass(frozen=True, slots=True)
class LoadedRelations:
    """What MESSAGE reads of a message besides its row and its sender."""

    reactions: list[tuple[str, int]]  # (emoji, user_id), oldest first
    mention_ids: list[int]


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.column
    return field.column


def _relation_sql(model: type[Model], columns: tuple[str, ...], by: str, order: str) -> str:
    quote = connection.ops.quote_name
    names = ", ".join(quote(_column(model, name)) for name in columns)
    key = quote(_column(model, by))
    return f"SELECT {names} FROM {quote(model._meta.db_table)} WHERE {key} {{}} ORDER BY {order}"


# Written out: for a page of fifty messages the ORM's building, compiling and
# quoting of each ``IN`` list cost more than the queries themselves.
_REACTIONS_SQL = _relation_sql(MessageReaction, ("message", "emoji", "user"), "message", "id")
_MENTIONS_SQL = _relation_sql(
    ChatMessage.mentions.through, ("chatmessage", "user"), "chatmessage", "id"
)


def _by_message_id(sql: str, ids: list[int]) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` (with ``{}`` for its test) for these message ids: one
    array parameter on PostgreSQL, a list of them elsewhere."""
    params: list[Any]
    if connection.vendor == "postgresql":
        test, params = "= ANY(%s)", [ids]
    else:
        test, params = f"IN ({', '.join(['%s'] * len(ids))})", list(ids)
    with connection.cursor() as cursor:
        cursor.execute(sql.format(test), params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def load_message_relations(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Give each of a page's messages (loaded with their ``sender``) its reactions
    and mentions as ``loaded_relations``, in two queries for the lot; ``chat.wire``
    reads them there before asking the related managers.

    For pages of messages: ``prefetch_related`` builds a related manager and a
    queryset for every message and relation, half of a history page's CPU."""
    if not messages:
        return messages
    ids = [message.pk for message in messages]
    reactions: dict[int, list[tuple[str, int]]] = {}
    mentions: dict[int, list[int]] = {}
    for message_id, emoji, user_id in _by_message_id(_REACTIONS_SQL, ids):
        reactions.setdefault(message_id, []).append((emoji, user_id))
    for message_id, user_id in _by_message_id(_MENTIONS_SQL, ids):
        mentions.setdefault(message_id, []).append(user_id)
    for message in messages:
        message.loaded_relations = LoadedRelations(  # type: ignore[attr-defined]
            reactions.get(message.pk, []), mentions.get(message.pk, [])
        )
    return messages


def _page(messages: QuerySet[ChatMessage], rows: int) -> list[ChatMessage]:
    """The first ``rows`` of ``messages`` (ordered) with what MESSAGE reads."""
    return load_message_relations(list(messages.select_related("sender")[:rows]))


def message_get_for_user(user: User, message_id: object) -> ChatMessage:
    """A message in a room the user may see, or NotFound."""
    message_pk = as_id(message_id)
    if message_pk is None:
        raise errors.NotFound(gettext_lazy("No such message."))
    message = (
        with_message_relations(ChatMessage.objects.select_related("room", "room__created_by"))
        .filter(pk=message_pk, room__in=ChatRoom.objects.filter(policy.visible_rooms_q(user)))
        .first()
    )
    if message is None:
        raise errors.NotFound(gettext_lazy("No such message."))
    return message


def message_load(message_id: int) -> ChatMessage:
    """Reload one message with its relations (after a write, for its payload)."""
    return with_message_relations(ChatMessage.objects.all()).get(pk=message_id)


def prime_new_message(message: ChatMessage, *, sender: User, mentions: Sequence[User]) -> None:
    """Give a message created a moment ago what MESSAGE reads (its sender, no
    reactions, its mentions) without querying the rows just written."""
    message.sender = sender
    _set_prefetched(message, "reactions", [])
    _set_prefetched(message, "mentions", mentions)


def _set_prefetched(instance: Model, relation: str, objects: Sequence[Model]) -> None:
    """Leave ``instance.<relation>.all()`` as ``prefetch_related`` would, with
    ``objects`` as its results, without a query.

    Django has no public API for results already in hand
    (``prefetch_related_objects`` always queries), so this writes what its
    ``prefetch_one_level`` writes: the related manager's queryset with its results
    filled in, kept in the instance's ``_prefetched_objects_cache``. Iterating it
    costs nothing; anything chained onto it (filter, values_list) still queries.
    """
    queryset = getattr(instance, relation).get_queryset()
    queryset._result_cache = list(objects)
    queryset._prefetch_done = True
    cache: dict[str, QuerySet[Any]] = getattr(instance, "_prefetched_objects_cache", {})
    cache[relation] = queryset
    instance._prefetched_objects_cache = cache  # type: ignore[attr-defined]


def messages_loaded_by_id(ids: Iterable[int]) -> list[ChatMessage]:
    """Messages by id with their relations, in id order, in constant queries."""
    ids = list(ids)
    if not ids:
        return []
    return load_message_relations(
        list(ChatMessage.objects.filter(pk__in=ids).select_related("sender").order_by("id"))
    )


def messages_loaded(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Reload several messages with their relations, in id order, in constant queries."""
    return messages_loaded_by_id(message.pk for message in messages)


@dataclass(frozen=True)
class HistoryPage:
    messages: list[ChatMessage]
    has_older: bool
    has_newer: bool


# Keyset reads of one room walk the (room, id) index in its own order. The room
# is matched as a one-value range, not ``room = X``: with an equality PostgreSQL
# also sees the primary key as ordered for ``ORDER BY id`` and, for a big room
# that went quiet, may walk it past every newer message of the other rooms
# (0.6 s instead of 0.1 ms for the newest page, measured with 3 M messages).
KEYSET_UP = ("room_id", "id")
KEYSET_DOWN = ("-room_id", "-id")


def room_messages(room_id: int) -> QuerySet[ChatMessage]:
    """A room's messages, for reads ordered by ``KEYSET_UP``/``KEYSET_DOWN``."""
    return ChatMessage.objects.filter(room_id__gte=room_id, room_id__lte=room_id)


def _history_window(
    room_id: int, before: int | None = None, after: int | None = None
) -> QuerySet[ChatMessage]:
    """A room's messages below ``before`` and above ``after``, newest first unless
    only ``after`` is given, with their senders."""
    window = room_messages(room_id)
    if after is not None:
        window = window.filter(id__gt=after)
    if before is not None:
        window = window.filter(id__lt=before)
    forward = after is not None and before is None
    return window.select_related("sender").order_by(*(KEYSET_UP if forward else KEYSET_DOWN))


def _edge(room_id: int, before: int | None = None, after: int | None = None) -> QuerySet[Any]:
    """The nearest message id below ``before`` or above ``after`` (whether a page has
    a neighbour)."""
    return _history_window(room_id, before, after).select_related(None).only("id")


# Compiled once: every history page runs these (see chat.compiled).
_HISTORY_WINDOWS = {
    anchors: CompiledQuery(_history_window, ("room_id", *anchors))
    for anchors in [(), ("before",), ("after",), ("before", "after")]
}
_OLDER = CompiledQuery(_edge, ("room_id", "before"))
_NEWER = CompiledQuery(_edge, ("room_id", "after"))


def room_history(
    room: ChatRoom, *, before: int | None = None, after: int | None = None, limit: int = 50
) -> HistoryPage:
    """One page of a room's messages, oldest first, by keyset on (room, id).

    No anchor: the newest page. ``after`` alone: the page right after that id.
    ``before`` (with or without ``after``): the newest page below ``before``.
    At most three queries for the page and its edges, whatever the room's size
    (and two for the page's reactions and mentions).
    """
    anchors = {
        name: value for name, value in (("before", before), ("after", after)) if value is not None
    }
    window = _HISTORY_WINDOWS[tuple(anchors)]
    rows = load_message_relations(window.rows(limit + 1, room_id=room.pk, **anchors))
    forward = after is not None and before is None
    more = len(rows) > limit
    rows = rows[:limit]
    messages = rows if forward else rows[::-1]
    if not messages:
        return HistoryPage(messages=[], has_older=False, has_newer=False)
    room_id, first, last = room.pk, messages[0].pk, messages[-1].pk
    if forward:
        has_newer = more
        has_older = _OLDER.first(room_id=room_id, before=first) is not None
    else:
        has_older = more or (
            after is not None and _OLDER.first(room_id=room_id, before=first) is not None
        )
        has_newer = before is not None and _NEWER.first(room_id=room_id, after=last) is not None
    return HistoryPage(messages=messages, has_older=has_older, has_newer=has_newer)


QUESTION_STATUSES = ("open", "answered")


def room_questions(room: ChatRoom, *, status: str | None = None) -> QuerySet[ChatMessage]:
    """The room's questions (not deleted), newest first, with their endorsed answer
    (``endorsed_answer``, its relations loaded): ``open`` ones have none,
    ``answered`` ones have one."""
    questions = room_messages(room.pk).filter(is_question=True, is_deleted=False)
    if status == "open":
        questions = questions.filter(endorsed_answer__isnull=True)
    elif status == "answered":
        questions = questions.filter(endorsed_answer__isnull=False)
    answers = with_message_relations(ChatMessage.objects.all())
    return with_message_relations(questions.order_by(*KEYSET_DOWN)).prefetch_related(
        Prefetch("endorsed_answer", queryset=answers)
    )


def room_audit(user: User, room: ChatRoom) -> QuerySet[AuditEntry]:
    """The room's moderation log, newest first, for its moderators and staff
    (Forbidden for others who see the room)."""
    if not policy.can_read_audit(user, room):
        raise errors.Forbidden(
            gettext_lazy("Only the room's moderators and staff may read its audit log.")
        )
    return (
        AuditEntry.objects.filter(room=room).select_related("actor", "target_user").order_by("-id")
    )


def room_bans(user: User, room: ChatRoom) -> QuerySet[RoomBan]:
    """Who is banned from the room, newest first (its moderators; Forbidden for others)."""
    policy.require_moderator(user, room, gettext_lazy("Only moderators may see the room's bans."))
    return RoomBan.objects.filter(room=room).select_related("user", "banned_by").order_by("-id")


def with_report_relations(reports: QuerySet[MessageReport]) -> QuerySet[MessageReport]:
    """What REPORT touches (the MESSAGE with its relations), in constant queries."""
    return reports.select_related("reporter", "resolved_by").prefetch_related(
        Prefetch(
            "message",
            queryset=with_message_relations(ChatMessage.objects.select_related("room")),
        )
    )


def room_reports(
    user: User, room: ChatRoom, *, status: str | None = None
) -> QuerySet[MessageReport]:
    """The room's reports, newest first, for its moderators and staff (Forbidden for
    others); never those about the viewer's own messages (they are reviewed by others)."""
    if not policy.can_review_reports(user, room):
        raise errors.Forbidden(
            gettext_lazy("Only the room's moderators and staff may see its reports.")
        )
    reports = MessageReport.objects.filter(policy.reviewable_reports_q(user), room=room)
    if status is not None:
        reports = reports.filter(status=status)
    return with_report_relations(reports).order_by("-id")


def room_moderator_ids(room: ChatRoom) -> set[int]:
    """Who moderates the room: its active moderators and admins, and the instructors
    of its course (a course room)."""
    ids = set(
        ChatParticipant.objects.filter(
            room=room, is_active=True, role__in=policy.MODERATOR_ROLES
        ).values_list("user_id", flat=True)
    )
    if room.chat_type == ChatRoom.ChatType.COURSE and room.course_id is not None:
        from courses.models import Enrollment

        ids |= set(
            Enrollment.objects.filter(
                course_id=room.course_id, role=Enrollment.Role.INSTRUCTOR
            ).values_list("user_id", flat=True)
        )
    return ids


def report_get_for_reviewer(user: User, report_id: object) -> MessageReport:
    """A report its viewer may review (a moderator of its room, or staff, who sees the
    room and did not write the message), or NotFound."""
    try:
        report_pk = int(report_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise errors.NotFound(gettext_lazy("No such report.")) from None
    report = (
        with_report_relations(MessageReport.objects.select_related("room"))
        .filter(
            policy.reviewable_reports_q(user),
            pk=report_pk,
            room__in=ChatRoom.objects.filter(policy.visible_rooms_q(user)),
        )
        .first()
    )
    if report is None or not policy.can_review_reports(user, report.room):
        raise errors.NotFound(gettext_lazy("No such report."))
    return report


def room_history_around(room: ChatRoom, *, around: int, limit: int = 50) -> HistoryPage:
    """The page of a room's messages centred on the message ``around``, oldest first:
    it and up to ``(limit - 1) // 2`` before it, the rest after; NotFound when it is
    not a message of this room (a page of somewhere else would look like its place).
    Two keyset reads, one each way on (room, id)."""
    base = room_messages(room.pk)
    if not ChatMessage.objects.filter(pk=around, room_id=room.pk).exists():
        raise errors.NotFound(gettext_lazy("No such message in this room."))
    older_n = (limit + 1) // 2
    newer_n = limit - older_n
    down = _page(base.filter(id__lte=around).order_by(*KEYSET_DOWN), older_n + 1)
    up = _page(base.filter(id__gt=around).order_by(*KEYSET_UP), newer_n + 1)
    return HistoryPage(
        messages=down[:older_n][::-1] + up[:newer_n],
        has_older=len(down) > older_n,
        has_newer=len(up) > newer_n,
    )


def thread_history(
    parent: ChatMessage, *, before: int | None = None, after: int | None = None, limit: int = 50
) -> HistoryPage:
    """One page of the replies to ``parent``, oldest first, by keyset on
    (reply_to, id); the anchors mean what they mean for ``room_history``."""
    base = ChatMessage.objects.filter(reply_to_id=parent.pk)
    window = base
    if after is not None:
        window = window.filter(id__gt=after)
    if before is not None:
        window = window.filter(id__lt=before)
    forward = after is not None and before is None
    rows = _page(window.order_by("id" if forward else "-id"), limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    messages = rows if forward else rows[::-1]
    if not messages:
        return HistoryPage(messages=[], has_older=False, has_newer=False)
    if forward:
        has_newer = more
        has_older = base.filter(id__lt=messages[0].pk).exists()
    else:
        has_older = more or (after is not None and base.filter(id__lt=messages[0].pk).exists())
        has_newer = before is not None and base.filter(id__gt=messages[-1].pk).exists()
    return HistoryPage(messages=messages, has_older=has_older, has_newer=has_newer)


@dataclass(frozen=True)
class ThreadState:
    """Where a user is in a thread: unread replies, and their marker."""

    message_id: int
    unread_count: int
    last_read_id: int | None


def thread_state(user: User, parent: ChatMessage) -> ThreadState:
    """The user's unread replies in ``parent``'s thread: a subtraction of the
    counters chat.services.threads keeps; none when they do not follow it."""
    marker = (
        ThreadRead.objects.filter(user=user, parent=parent)
        .values_list("read_count", "last_read_reply_id")
        .first()
    )
    if marker is None:
        return ThreadState(parent.pk, 0, None)
    return ThreadState(parent.pk, max(parent.reply_count - marker[0], 0), marker[1])


def unread_threads(user: User, room: ChatRoom) -> list[ThreadState]:
    """The threads of ``room`` the user follows that have unread replies, newest
    reply first (one query over the user's markers)."""
    rows = (
        ThreadRead.objects.filter(user=user, parent__room=room)
        .annotate(unread=F("parent__reply_count") - F("read_count"))
        .filter(unread__gt=0)
        .order_by("-parent__last_reply_at")
        .values_list("parent_id", "unread", "last_read_reply_id")
    )
    return [ThreadState(pk, unread, last_read) for pk, unread, last_read in rows]


def staff_question_get_for_user(user: User, question_id: object) -> StaffQuestion:
    """A private question to staff that ``user`` asked or answers for its room
    (``policy.can_see_staff_question``), or NotFound."""
    question_pk = as_id(question_id)
    if question_pk is None:
        raise errors.NotFound(gettext_lazy("No such question."))
    question = (
        StaffQuestion.objects.select_related("room", "asker", "answered_by")
        .filter(pk=question_pk, room__in=ChatRoom.objects.filter(policy.visible_rooms_q(user)))
        .first()
    )
    if question is None or not policy.can_see_staff_question(user, question):
        raise errors.NotFound(gettext_lazy("No such question."))
    return question


def room_staff_questions(
    user: User, room: ChatRoom, *, status: str | None = None
) -> QuerySet[StaffQuestion]:
    """The private questions to ``room``'s staff that ``user`` may see, oldest
    first (a queue): all of them for its staff, their own for anyone else;
    ``open`` ones have no answer yet, ``answered`` ones have one."""
    questions = StaffQuestion.objects.filter(room=room)
    if not policy.can_endorse(user, room):
        questions = questions.filter(asker=user)
    if status == "open":
        questions = questions.filter(answered_at__isnull=True)
    elif status == "answered":
        questions = questions.filter(answered_at__isnull=False)
    return questions.select_related("asker", "answered_by").order_by("id")


def room_participants(room: ChatRoom) -> QuerySet[ChatParticipant]:
    return (
        ChatParticipant.objects.filter(room=room, is_active=True)
        .select_related("user")
        .order_by("id")
    )


def participant_get(room: ChatRoom, user_id: object) -> ChatParticipant:
    user_pk = as_id(user_id)
    if user_pk is None:
        raise errors.NotFound(gettext_lazy("No such participant."))
    participant = (
        ChatParticipant.objects.filter(room=room, user_id=user_pk, is_active=True)
        .select_related("user")
        .first()
    )
    if participant is None:
        raise errors.NotFound(gettext_lazy("No such participant."))
    return participant


def _day_start(day: date) -> datetime:
    """Midnight of ``day`` in the current time zone (a range on ``created_at``, not
    ``__date``, so the comparison needs no function per row)."""
    return timezone.make_aware(datetime.combine(day, time.min))


FILE_TYPES = (ChatMessage.MessageType.IMAGE, ChatMessage.MessageType.FILE)

# What message search matches on PostgreSQL: a message's text and its file's name,
# whole and split at punctuation ("Syllabus_2026.pdf", which the parser keeps as
# one word, and syllabus, 2026, pdf). The GIN index SEARCH_INDEX (migration 0016)
# is built on this expression, character for character and with no parameters,
# so the planner can use it.
SEARCH_INDEX = "message_search_document"
SEARCH_DOCUMENT_SQL = (
    "to_tsvector('simple'::regconfig, COALESCE({content}, '') || ' ' || "
    "COALESCE({file_name}, '') || ' ' || "
    "regexp_replace(COALESCE({file_name}, ''), '[^[:alnum:]]+', ' ', 'g'))"
)
SEARCH_INDEX_SQL = (
    f"CREATE INDEX IF NOT EXISTS {SEARCH_INDEX} ON chat_chatmessage USING gin "
    f"({SEARCH_DOCUMENT_SQL.format(content='content', file_name='file_name')})"
)


class SearchDocument(Func):
    """A message's full-text document (SEARCH_DOCUMENT_SQL), for filters and ranking."""

    def __init__(self) -> None:
        from django.contrib.postgres.search import SearchVectorField

        super().__init__(F("content"), F("file_name"), output_field=SearchVectorField())

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra: Any
    ) -> tuple[str, list[Any]]:
        content, file_name = (compiler.compile(source) for source in self.get_source_expressions())
        sql = SEARCH_DOCUMENT_SQL.format(content=content[0], file_name=file_name[0])
        return sql, [*content[1], *file_name[1], *file_name[1]]


def message_search(
    user: User,
    *,
    q: str | None = None,
    room_id: int | None = None,
    sender_id: int | None = None,
    message_type: str | None = None,
    has_file: bool | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[ChatMessage]:
    """Messages of rooms the user may see, newest first, with their senders.
    Full-text on PostgreSQL. Give a page of them what MESSAGE reads besides with
    ``load_message_relations``.

    ``has_file``: only messages with (True) or without (False) an attachment;
    ``date_from``/``date_to``: sent on those days or between them (both included,
    days of the server's time zone)."""
    visible = ChatRoom.objects.filter(policy.visible_rooms_q(user))
    full_text = bool(q) and connection.vendor == "postgresql"
    messages: QuerySet[ChatMessage]
    if full_text:
        # Left to itself, PostgreSQL loops over the visible rooms and ANDs the
        # full-text index's bitmap with each room's (room, id) bitmap: the whole
        # word's index entries read once per room (85 rooms, 2 M messages: 144 ms
        # for a page, 96 for its count). Hidden from that index (``room_id + 0``),
        # the rooms are kept by a hash over one full-text scan: 13 and 4 ms.
        room_key = ExpressionWrapper(F("room_id") + 0, output_field=BigIntegerField())
        messages = ChatMessage.objects.alias(room_key=room_key).filter(room_key__in=visible)
    else:
        messages = ChatMessage.objects.filter(room__in=visible)
    messages = messages.filter(is_deleted=False)
    order: tuple[str, ...] = ("-id",)
    if room_id is not None:
        messages = messages.filter(room_id__gte=room_id, room_id__lte=room_id)
        order = KEYSET_DOWN
    if sender_id is not None:
        messages = messages.filter(sender_id=sender_id)
        if sender_id != user.pk:
            # Anonymous posts match their author only where the viewer sees authors.
            messages = messages.filter(
                Q(is_anonymous=False)
                | Q(room__in=ChatRoom.objects.filter(policy.anonymous_authors_rooms_q(user)))
            )
    if message_type:
        messages = messages.filter(message_type=message_type)
    if has_file is not None:
        with_file = Q(message_type__in=FILE_TYPES)
        messages = messages.filter(with_file if has_file else ~with_file)
    if date_from is not None:
        messages = messages.filter(created_at__gte=_day_start(date_from))
    if date_to is not None:
        messages = messages.filter(created_at__lt=_day_start(date_to + timedelta(days=1)))
    if q:
        if full_text:
            from django.contrib.postgres.search import SearchQuery

            messages = messages.alias(search=SearchDocument()).filter(
                search=SearchQuery(q, config="simple", search_type="websearch")
            )
        else:
            messages = messages.filter(Q(content__icontains=q) | Q(file_name__icontains=q))
    return messages.select_related("sender").order_by(*order)


def unread_count(user: User, room: ChatRoom) -> int:
    """Counted messages after the user's read marker that others sent (0 for non-members)."""
    unread = (
        ChatParticipant.objects.filter(room=room, user=user, is_active=True)
        .values_list(counters.unread_expression())
        .first()
    )
    return unread[0] if unread else 0


def muted_room_ids(user: User) -> list[int]:
    """Rooms whose desktop notifications the user muted (active participations only)."""
    return list(
        ChatParticipant.objects.filter(user=user, is_active=True, notifications_muted=True)
        .order_by("room_id")
        .values_list("room_id", flat=True)
    )


def co_member_ids(user: User) -> QuerySet[ChatParticipant, Any]:
    """Ids of users who share at least one active room with ``user`` (the user included)."""
    my_rooms = ChatParticipant.objects.filter(user=user, is_active=True).values("room_id")
    return (
        ChatParticipant.objects.filter(room_id__in=my_rooms, is_active=True)
        .values("user_id")
        .distinct()
    )


def user_room_ids(user_id: int) -> list[int]:
    return list(
        ChatParticipant.objects.filter(user_id=user_id, is_active=True).values_list(
            "room_id", flat=True
        )
    )


def presences_for(user_ids: QuerySet[ChatParticipant, Any] | list[int]) -> QuerySet[UserPresence]:
    return UserPresence.objects.filter(user_id__in=user_ids).select_related("user")


def co_member_presences(user: User, room_ids: Iterable[int] | None = None) -> list[UserPresence]:
    """PRESENCE of every user who shares a room with ``user`` (of ``room_ids``, if
    given), by username; those who never connected are offline since they joined.
    Two queries."""
    if room_ids is None:
        member_ids = co_member_ids(user)
    else:
        member_ids = ChatParticipant.objects.filter(
            room_id__in=list(room_ids), is_active=True
        ).values("user_id")
    members = (
        get_user_model()
        .objects.filter(pk__in=member_ids)
        .select_related("presence")
        .order_by("username")
    )
    result = []
    for member in members:
        try:
            presence = member.presence
        except UserPresence.DoesNotExist:
            presence = UserPresence(
                user=member,
                status=UserPresence.Status.OFFLINE,
                last_seen=member.last_login or member.date_joined,
            )
        presence.user = member
        result.append(presence)
    return result


def online_in_room(room: ChatRoom) -> QuerySet[UserPresence]:
    members = ChatParticipant.objects.filter(room=room, is_active=True).values("user_id")
    return (
        presences_for(members)
        .exclude(status=UserPresence.Status.OFFLINE)
        .order_by("user__username")
    )


def typing_in_room(room: ChatRoom) -> QuerySet[UserPresence]:
    since = timezone.now() - timedelta(milliseconds=settings.CHAT_TYPING_TIMEOUT)
    members = ChatParticipant.objects.filter(room=room, is_active=True).values("user_id")
    return presences_for(members).filter(
        Q(current_room=room) & Q(is_typing=True) & Q(typing_at__gte=since)
    )


class ReactionUsers(TypedDict):
    emoji: str
    count: int
    users: list[User]


def message_reactions(message: ChatMessage) -> list[ReactionUsers]:
    """``[{"emoji", "count", "users": [user]}]`` in order of each emoji's first use."""
    users: dict[str, list[User]] = {}
    for reaction in (
        MessageReaction.objects.filter(message=message).select_related("user").order_by("id")
    ):
        users.setdefault(reaction.emoji, []).append(reaction.user)
    return [{"emoji": emoji, "count": len(who), "users": who} for emoji, who in users.items()]


def co_member_get(user: User, other_id: int) -> User:
    """Another active user who shares an active room with ``user``, or NotFound."""
    other = (
        get_user_model()
        .objects.filter(pk=other_id, is_active=True, pk__in=co_member_ids(user))
        .first()
    )
    if other is None:
        raise errors.NotFound(gettext_lazy("No such user."))
    return other


def room_get_visible(user: User, room_id: int) -> ChatRoom:
    """The bare room if ``user`` may see it (one query, no annotations), else NotFound."""
    room = policy.visible_room(user, room_id)
    if room is None:
        raise errors.NotFound(gettext_lazy("No such room."))
    return room


def room_last_seq(room_id: int) -> int:
    return ChatRoom.objects.filter(pk=room_id).values_list("last_seq", flat=True).first() or 0


@dataclass(frozen=True)
class UnreadState:
    room_id: int
    unread_count: int
    last_read_id: int
    last_seq: int  # the room's event the count includes: later ones may still change it


def member_unread_states(user: User, room_ids: list[int] | None = None) -> list[UnreadState]:
    """Unread count and read marker of each room the user is an active participant of
    (or of ``room_ids`` among them), and the room's ``last_seq`` they were counted at,
    in one query (one snapshot: the counters move in the transaction that adds the
    event)."""
    rooms = visible_rooms(user).filter(my_role__isnull=False)
    if room_ids is not None:
        rooms = rooms.filter(pk__in=room_ids)
    return [
        UnreadState(room_id=pk, unread_count=count, last_read_id=last_read or 0, last_seq=seq)
        for pk, count, last_read, seq in rooms.values_list(
            "pk", "unread_count", "my_last_read", "last_seq"
        )
    ]


def rooms_last_seq(room_ids: list[int]) -> list[tuple[int, int]]:
    """``(room id, last_seq)`` of several rooms, in one query."""
    return list(ChatRoom.objects.filter(pk__in=room_ids).values_list("pk", "last_seq"))


# --- pins and polls --------------------------------------------------------------------------


def _pins() -> QuerySet[PinnedMessage]:
    return PinnedMessage.objects.select_related(
        "pinned_by", "message__sender", "message__room"
    ).prefetch_related(
        Prefetch("message__reactions", queryset=MessageReaction.objects.order_by("id")),
        "message__mentions",
    )


def pin_load(pin_id: int) -> PinnedMessage:
    return _pins().get(pk=pin_id)


def room_pins(room: ChatRoom, *, viewer: User) -> list[PinnedMessage]:
    """The room's pinned messages, newest pin first; for the room's staff each has
    ``seen_count`` and ``audience_count`` (``pins_seen``), for others they are None."""
    pins = list(_pins().filter(room=room, message__is_deleted=False).order_by("-pinned_at", "-id"))
    seen = pins_seen(room, pins) if policy.is_room_staff(viewer, room) else {}
    for pin in pins:
        pin.seen_count, pin.audience_count = seen.get(pin.pk, (None, None))  # type: ignore[attr-defined]
    return pins


def pins_seen(room: ChatRoom, pins: list[PinnedMessage]) -> dict[int, tuple[int, int]]:
    """Pin id → (seen, audience): active participants other than the message's
    sender, and those of them whose read marker is at or past it. One query."""
    if not pins:
        return {}
    aggregates: dict[str, Any] = {}
    for pin in pins:
        others = ~Q(user_id=pin.message.sender_id)
        aggregates[f"audience_{pin.pk}"] = Count("pk", filter=others)
        aggregates[f"seen_{pin.pk}"] = Count(
            "pk", filter=others & Q(last_read_message_id__gte=pin.message_id)
        )
    counts = ChatParticipant.objects.filter(room=room, is_active=True).aggregate(**aggregates)
    return {pin.pk: (counts[f"seen_{pin.pk}"], counts[f"audience_{pin.pk}"]) for pin in pins}


def poll_load(poll_id: int) -> Poll:
    """A poll with its options and votes (what POLL reads), in three queries."""
    return (
        Poll.objects.select_related("message")
        .prefetch_related(
            Prefetch("options", queryset=PollOption.objects.order_by("position")),
            Prefetch("votes", queryset=PollVote.objects.order_by("id")),
        )
        .get(pk=poll_id)
    )


def poll_get_for_user(user: User, poll_id: object) -> Poll:
    """A poll of a room the user may see (its message not deleted), or NotFound."""
    try:
        poll_pk = int(poll_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise errors.NotFound(gettext_lazy("No such poll.")) from None
    visible = Poll.objects.filter(
        pk=poll_pk,
        message__is_deleted=False,
        message__room__in=ChatRoom.objects.filter(policy.visible_rooms_q(user)),
    )
    if not visible.exists():
        raise errors.NotFound(gettext_lazy("No such poll."))
    return poll_load(poll_pk)


def poll_my_votes(poll: Poll, user: User) -> list[int]:
    """The options ``user`` chose, by position."""
    return list(
        PollVote.objects.filter(poll=poll, user=user)
        .order_by("option__position")
        .values_list("option_id", flat=True)
    )


# --- office hours ----------------------------------------------------------------------------


def office_hours_open(room: ChatRoom) -> bool:
    from chat.models import OfficeHours

    return OfficeHours.objects.filter(room=room, is_open=True).exists()


def room_queue(room: ChatRoom) -> list[QueueEntry]:
    """The waiting entries of the room's queue, first come first, with their users."""
    return list(
        QueueEntry.objects.filter(room=room, status=QueueEntry.Status.WAITING)
        .select_related("user")
        .order_by("id")
    )


@dataclass(frozen=True)
class QueueView:
    """The queue as one viewer may see it: ``staff`` viewers see who waits."""

    room_id: int
    is_open: bool
    waiting: list[QueueEntry]
    staff: bool


def queue_view(room: ChatRoom, *, viewer: User) -> QueueView:
    return QueueView(
        room_id=room.pk,
        is_open=office_hours_open(room),
        waiting=room_queue(room),
        staff=policy.is_room_staff(viewer, room),
    )
