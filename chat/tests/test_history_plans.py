"""History reads on PostgreSQL walk the (room, id) index, also for a big room that
went quiet, where ``ORDER BY id`` invites the planner to scan the primary key
backwards past every newer message of other rooms."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import selectors, services
from chat.models import ChatMessage
from chat.services import counters
from chat.tests import factories

pytestmark = pytest.mark.postgres

ROWS = 20_000
TABLE = ChatMessage._meta.db_table


@pytest.fixture
def quiet_room(db: None, alice: Any, bob: Any) -> Any:
    """A room with ROWS old messages, then as many newer ones in another room.
    (Rows written in bulk: this is about plans, not counters.)"""
    if connection.vendor != "postgresql":
        pytest.skip("query plans of PostgreSQL")
    quiet = factories.make_room(alice, name="Last term", members=[bob])
    busy = factories.make_room(alice, name="This term")
    for room in (quiet, busy):
        ChatMessage.objects.bulk_create(
            [ChatMessage(room=room, sender=alice, content=f"m{n}") for n in range(ROWS)],
            batch_size=5000,
        )
    counters.recount([quiet.pk, busy.pk])
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")
    return quiet


def message_plans(run: Callable[[], object]) -> list[str]:
    """EXPLAIN of every statement ``run`` makes that reads the messages table."""
    with CaptureQueriesContext(connection) as captured:
        run()
    plans = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if f'FROM "{TABLE}"' in sql or f"FROM {TABLE} " in sql:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN " + sql)
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


def walks_history(plan: str) -> bool:
    """A plan that scans the table, or the primary key filtering by room, instead of
    seeking the room in the (room, id) index."""
    by_room_on_the_key = "chat_chatmessage_pkey" in plan and re.search(r"Filter: \(+room_id", plan)
    return f"Seq Scan on {TABLE}" in plan or (
        bool(by_room_on_the_key) and "Index Cond: (id = " not in plan  # not a point lookup
    )


def test_history_pages_and_their_edges_seek_the_room_index(quiet_room: Any) -> None:
    ids = list(
        ChatMessage.objects.filter(room=quiet_room).order_by("id").values_list("id", flat=True)
    )
    middle = ROWS // 2
    reads = {
        "newest": lambda: selectors.room_history(quiet_room),
        "deep": lambda: selectors.room_history(quiet_room, before=ids[middle]),
        "after": lambda: selectors.room_history(quiet_room, after=ids[middle]),
        "room filter": lambda: list(
            selectors.message_search(quiet_room.created_by, room_id=quiet_room.pk)[:50]
        ),
    }

    for name, run in reads.items():
        plans = message_plans(run)
        assert plans, name
        assert [plan for plan in plans if walks_history(plan)] == [], name
        assert "message_room_id" in plans[0], name

    page = selectors.room_history(quiet_room, before=ids[middle])
    assert [m.pk for m in page.messages] == ids[middle - 50 : middle]
    assert (page.has_older, page.has_newer) == (True, True)


def test_read_marker_moves_and_connection_ready_seek(quiet_room: Any, bob: Any) -> None:
    newest = ChatMessage.objects.filter(room=quiet_room).latest("id")

    plans = message_plans(
        lambda: services.room_mark_read(actor=bob, room=quiet_room, message_id=newest.pk)
    )

    assert [plan for plan in plans if walks_history(plan)] == []
    assert message_plans(lambda: selectors.room_get_for_user(bob, quiet_room.pk)) == []
    assert selectors.unread_count(bob, quiet_room) == 0
