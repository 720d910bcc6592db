"""Message search on PostgreSQL: the full-text GIN index answers it, and it still
finds exactly what the user may see."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from chat import selectors, services
from chat.tests import factories
from chat.tests.api_support import client_for

pytestmark = pytest.mark.postgres

INDEX = selectors.SEARCH_INDEX


@pytest.fixture(autouse=True)
def postgresql(db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the full-text index exists on PostgreSQL only")


def plan(queryset: Any) -> str:
    """EXPLAIN of ``queryset``, with sequential scans priced out as on a big table."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    try:
        return queryset.explain()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = on")


@pytest.fixture
def rooms(alice: Any, bob: Any, charlie: Any) -> dict[str, Any]:
    shared = factories.make_room(alice, chat_type="private", name="Shared", members=[bob])
    secret = factories.make_room(alice, chat_type="private", name="Secret")
    public = factories.make_room(charlie, name="Lobby")
    factories.make_message(alice, shared, "The eigenvalue trick, step by step")
    factories.make_message(bob, shared, "eigenvalues of a matrix")
    gone = factories.make_message(bob, shared, "eigenvalue spoiler")
    services.message_delete(actor=bob, message=gone)
    factories.make_message(alice, secret, "eigenvalue secret")
    factories.make_message(charlie, public, "Eigenvalue party in the lobby")
    factories.make_message(charlie, public, "nothing to see")
    return {"shared": shared, "secret": secret, "public": public}


def contents(user: Any, q: str, **filters: Any) -> list[str]:
    return [m.content for m in selectors.message_search(user, q=q, **filters)]


def test_the_search_and_its_count_use_the_gin_index(bob: Any, rooms: dict[str, Any]) -> None:
    found = selectors.message_search(bob, q="eigenvalue")

    assert INDEX in plan(found)
    assert INDEX in plan(found.order_by())  # the paginator's COUNT(*)


def test_search_finds_words_of_visible_undeleted_messages_newest_first(
    alice: Any, bob: Any, charlie: Any, rooms: dict[str, Any]
) -> None:
    assert contents(bob, "eigenvalue") == [
        "Eigenvalue party in the lobby",
        "The eigenvalue trick, step by step",
    ]
    assert contents(alice, "EIGENVALUE") == [
        "Eigenvalue party in the lobby",
        "eigenvalue secret",
        "The eigenvalue trick, step by step",
    ]
    assert contents(charlie, "eigenvalue") == ["Eigenvalue party in the lobby"]
    assert contents(charlie, "secret") == []
    assert contents(bob, "spoiler") == []


def test_search_speaks_websearch_syntax(alice: Any, rooms: dict[str, Any]) -> None:
    assert contents(alice, '"step by step"') == ["The eigenvalue trick, step by step"]
    assert contents(alice, "eigenvalue -secret -lobby") == ["The eigenvalue trick, step by step"]
    assert contents(alice, "matrix or party") == [
        "Eigenvalue party in the lobby",
        "eigenvalues of a matrix",
    ]
    assert contents(alice, "eigenvalue", room_id=rooms["secret"].pk) == ["eigenvalue secret"]


def test_search_over_rest_counts_only_what_the_user_may_see(
    bob: Any, rooms: dict[str, Any]
) -> None:
    response = client_for(bob).get("/chat/messages/", {"q": "eigenvalue secret"})
    everything = client_for(bob).get("/chat/messages/", {"q": "eigenvalue"})

    assert (response.status_code, response.json()["count"]) == (200, 0)
    assert everything.json()["count"] == 2
    assert [m["room_id"] for m in everything.json()["results"]] == [
        rooms["public"].pk,
        rooms["shared"].pk,
    ]
