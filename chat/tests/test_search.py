"""The page's search (GET /chat/messages/search/): ranked hits with a highlighted
snippet, filters, and the history page around a hit (``?around=``). Runs on
both databases; ranking is PostgreSQL's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from chat import search, selectors, services
from chat.models import ChatMessage
from chat.tests import factories
from chat.tests.api_support import PAGE_KEYS, assert_message_shape, client_for
from chat.tests.test_api_permissions import PERSONAS, ROOM_TYPES, VISIBLE, build_room

pytestmark = pytest.mark.django_db

SEARCH = "/chat/messages/search/"
HIT_KEYS = {"message", "room", "highlight"}


def hits(user: Any, **params: Any) -> list[dict[str, Any]]:
    response = client_for(user).get(SEARCH, params)
    assert response.status_code == 200, response.data
    assert set(response.json()) == PAGE_KEYS
    return response.json()["results"]


def contents(user: Any, **params: Any) -> list[str]:
    return [hit["message"]["content"] for hit in hits(user, **params)]


@pytest.fixture
def lobby(alice: Any, bob: Any) -> Any:
    return factories.make_room(alice, name="Lobby", members=[bob])


def test_a_hit_names_its_message_room_and_highlighted_snippet(alice: Any, lobby: Any) -> None:
    message = factories.make_message(alice, lobby, "The eigenvalue trick")

    [hit] = hits(alice, q="eigenvalue")

    assert set(hit) == HIT_KEYS
    assert_message_shape(hit["message"])
    assert hit["message"]["id"] == message.pk
    assert hit["room"] == {"id": lobby.pk, "name": "Lobby", "chat_type": "public"}
    assert hit["highlight"] == "The <mark>eigenvalue</mark> trick"


def test_the_snippet_escapes_what_the_user_wrote_before_marking(alice: Any, lobby: Any) -> None:
    factories.make_message(alice, lobby, '<img src=x onerror="alert(1)"> eigenvalue & co')

    [hit] = hits(alice, q="eigenvalue")

    assert hit["highlight"] == (
        "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; <mark>eigenvalue</mark> &amp; co"
    )


def test_a_long_text_is_cut_around_its_first_match(alice: Any, lobby: Any) -> None:
    text = "word " * 60 + "eigenvalue " + "tail " * 60
    factories.make_message(alice, lobby, text)

    [hit] = hits(alice, q="eigenvalue")

    snippet = hit["highlight"]
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "<mark>eigenvalue</mark>" in snippet
    assert len(snippet.replace("<mark>", "").replace("</mark>", "")) == search.SNIPPET_CHARS + 2


def test_search_filters_by_room_sender_file_and_days(
    alice: Any, bob: Any, charlie: Any, lobby: Any
) -> None:
    other = factories.make_room(charlie, name="Other")
    old = factories.make_message(alice, lobby, "quasar old")
    factories.make_message(bob, lobby, "quasar by bob")
    attachment = factories.make_message(alice, lobby, "quasar notes")
    factories.make_message(charlie, other, "quasar elsewhere")
    # A file message as an upload leaves it; only its type matters to the filter.
    ChatMessage.objects.filter(pk=attachment.pk).update(message_type="file")
    ChatMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    today = timezone.localdate()

    assert set(contents(alice, q="quasar", room=other.pk)) == {"quasar elsewhere"}
    assert set(contents(alice, q="quasar", sender=bob.pk)) == {"quasar by bob"}
    assert set(contents(alice, q="quasar", has_file="true")) == {"quasar notes"}
    assert set(contents(alice, q="quasar", has_file="false")) == {
        "quasar old",
        "quasar by bob",
        "quasar elsewhere",
    }
    assert set(contents(alice, q="quasar", date_to=today - timedelta(days=5))) == {"quasar old"}
    assert "quasar old" not in contents(alice, q="quasar", date_from=today)
    assert len(contents(alice, q="quasar", date_from=today, date_to=today)) == 3


def test_the_plain_list_takes_the_same_filters(alice: Any, lobby: Any) -> None:
    attachment = factories.make_message(alice, lobby, "quasar notes")
    factories.make_message(alice, lobby, "quasar text")
    ChatMessage.objects.filter(pk=attachment.pk).update(message_type="file")

    response = client_for(alice).get("/chat/messages/", {"q": "quasar", "has_file": "true"})

    assert [m["content"] for m in response.json()["results"]] == ["quasar notes"]


def test_deleted_messages_are_never_found(alice: Any, lobby: Any) -> None:
    gone = factories.make_message(alice, lobby, "quasar gone")
    services.message_delete(actor=alice, message=gone)

    assert contents(alice, q="quasar") == []


def test_search_needs_words(alice: Any) -> None:
    response = client_for(alice).get(SEARCH, {"q": "  "})

    assert response.status_code == 400


def test_the_best_match_comes_first_on_postgresql(alice: Any, lobby: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("ranking is PostgreSQL's ts_rank; SQLite lists newest first")
    factories.make_message(alice, lobby, "quasar quasar quasar: all about the quasar")
    factories.make_message(alice, lobby, "a long note that says quasar once among many other words")

    assert contents(alice, q="quasar")[0] == "quasar quasar quasar: all about the quasar"


def test_sqlite_lists_matches_newest_first(alice: Any, lobby: Any) -> None:
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL ranks")
    factories.make_message(alice, lobby, "quasar first")
    factories.make_message(alice, lobby, "quasar second")

    assert contents(alice, q="quasar") == ["quasar second", "quasar first"]


def test_search_ranks_only_the_newest_window_of_matches(
    alice: Any, lobby: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chat.limits.SEARCH_RANK_WINDOW", 2)
    for n in range(4):
        factories.make_message(alice, lobby, f"quasar {n}")

    assert set(contents(alice, q="quasar")) == {"quasar 2", "quasar 3"}


def test_a_search_page_costs_constant_queries(
    alice: Any, lobby: Any, django_assert_max_num_queries: Any
) -> None:
    for n in range(12):
        factories.make_message(alice, lobby, f"quasar {n} @bob")
    client = client_for(alice)

    with django_assert_max_num_queries(8):
        response = client.get(SEARCH, {"q": "quasar"})

    assert response.json()["count"] == 12


def test_both_searches_show_each_hits_reactions_and_mentions(
    alice: Any, bob: Any, lobby: Any
) -> None:
    first = factories.make_message(alice, lobby, "quasar for @bob")
    second = factories.make_message(bob, lobby, "quasar again")
    services.reaction_add(actor=bob, message=first, emoji="👍")
    services.reaction_add(actor=alice, message=first, emoji="👍")
    services.reaction_add(actor=alice, message=second, emoji="🎉")
    listed = client_for(alice).get("/chat/messages/", {"q": "quasar"}).json()["results"]
    ranked = [hit["message"] for hit in hits(alice, q="quasar")]

    for found in (listed, ranked):
        shown = {m["id"]: (m["mentions"], m["reactions"]) for m in found}
        assert shown == {
            first.pk: (
                [bob.pk],
                [{"emoji": "👍", "count": 2, "user_ids": [bob.pk, alice.pk]}],
            ),
            second.pk: ([], [{"emoji": "🎉", "count": 1, "user_ids": [alice.pk]}]),
        }


@pytest.mark.parametrize(
    ("q", "text", "expected"),
    [
        (
            '"step by" -spoiler',
            "Step by step",
            "<mark>Step</mark> <mark>by</mark> <mark>step</mark>",
        ),
        ("cat or dog", "a dog", "a <mark>dog</mark>"),
    ],
)
def test_the_snippet_marks_the_words_of_a_websearch_query(q: str, text: str, expected: str) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite marks the query as one substring")
    assert search.highlight(text, q) == expected


def test_sqlite_marks_the_query_as_a_substring() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL marks whole words")
    assert search.highlight("Eigenvalues & more", "eigen") == "<mark>Eigen</mark>values &amp; more"


# --- the history page around a hit ----------------------------------------------------------


def test_history_around_a_message_centres_it_and_links_both_ways(alice: Any, lobby: Any) -> None:
    ids = [factories.make_message(alice, lobby, f"m{n}").pk for n in range(9)]
    client = client_for(alice)
    url = f"/chat/rooms/{lobby.pk}/messages/"

    page = client.get(url, {"around": ids[4], "limit": 4}).json()

    assert [m["id"] for m in page["results"]] == ids[3:7]
    older = client.get(page["older"]).json()
    newer = client.get(page["newer"]).json()
    assert [m["id"] for m in older["results"]][-2:] == ids[1:3]
    assert [m["id"] for m in newer["results"]] == ids[7:9]
    assert newer["newer"] is None


def test_history_around_the_first_message_has_nothing_older(alice: Any, lobby: Any) -> None:
    first = ChatMessage.objects.filter(room=lobby).order_by("id").first()
    assert first is not None
    for n in range(3):
        factories.make_message(alice, lobby, f"m{n}")

    page = client_for(alice).get(
        f"/chat/rooms/{lobby.pk}/messages/", {"around": first.pk, "limit": 3}
    )

    body = page.json()
    assert body["results"][0]["id"] == first.pk
    assert (body["older"], body["newer"] is not None) == (None, True)


def test_around_does_not_combine_with_before_or_after(alice: Any, lobby: Any) -> None:
    message = factories.make_message(alice, lobby, "m")

    response = client_for(alice).get(
        f"/chat/rooms/{lobby.pk}/messages/", {"around": message.pk, "before": message.pk}
    )

    assert (response.status_code, response.json()["code"]) == (400, "bad_request")


def test_around_a_message_of_another_room_or_none_is_404(alice: Any, lobby: Any) -> None:
    elsewhere = factories.make_room(alice, name="Elsewhere")
    theirs = factories.make_message(alice, elsewhere, "not here")
    gone = factories.make_message(alice, lobby, "deleted but in this room")
    services.message_delete(actor=alice, message=gone)
    url = f"/chat/rooms/{lobby.pk}/messages/"

    other_room = client_for(alice).get(url, {"around": theirs.pk})
    no_such = client_for(alice).get(url, {"around": theirs.pk + 1000})
    tombstone = client_for(alice).get(url, {"around": gone.pk})

    assert (other_room.status_code, other_room.json()["code"]) == (404, "not_found")
    assert other_room.json()["detail"] == "No such message in this room."
    assert no_such.status_code == 404
    assert tombstone.status_code == 200
    assert gone.pk in [m["id"] for m in tombstone.json()["results"]]


# --- who finds what ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("room_type", ROOM_TYPES)
def test_search_finds_a_rooms_messages_exactly_for_who_may_see_it(
    room_type: str, persona: str
) -> None:
    room, people = build_room(room_type)
    message = factories.make_message(people["admin"], room, "quasar here")
    client = client_for(people[persona])

    found = client.get(SEARCH, {"q": "quasar"}).json()["results"]
    listed = client.get("/chat/messages/", {"q": "quasar"}).json()["results"]
    around = client.get(f"/chat/rooms/{room.pk}/messages/", {"around": message.pk})

    visible = persona in VISIBLE[room_type]
    assert [hit["message"]["id"] for hit in found] == ([message.pk] if visible else [])
    assert [m["id"] for m in listed] == ([message.pk] if visible else [])
    assert around.status_code == (200 if visible else 404)


def test_a_member_who_left_a_private_room_no_longer_finds_it(alice: Any, bob: Any) -> None:
    room = factories.make_room(alice, chat_type="private", members=[bob])
    factories.make_message(alice, room, "quasar secret")
    services.room_leave(actor=bob, room=room)

    assert contents(bob, q="quasar") == []
    assert contents(alice, q="quasar") == ["quasar secret"]


def test_the_room_filter_does_not_reveal_a_private_room(alice: Any, charlie: Any) -> None:
    room = factories.make_room(alice, chat_type="private")
    factories.make_message(alice, room, "quasar secret")

    assert contents(charlie, q="quasar", room=room.pk) == []


def test_search_needs_a_signed_in_user(alice: Any, lobby: Any) -> None:
    assert client_for(None).get(SEARCH, {"q": "quasar"}).status_code in (401, 403)


def test_the_ranked_search_finds_its_window_through_the_gin_index(alice: Any, lobby: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the full-text index exists on PostgreSQL only")
    factories.make_message(alice, lobby, "quasar")
    ranked = search.message_search_ranked(alice, q="quasar")

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    try:
        assert selectors.SEARCH_INDEX in ranked.explain()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = on")


def test_a_file_is_found_by_its_name_and_its_snippet_marks_the_name(
    alice: Any, bob: Any, lobby: Any
) -> None:
    pdf = SimpleUploadedFile("Syllabus_2026-Linear Algebra.pdf", b"%PDF-1.4\n...")
    sent = client_for(alice).post(
        "/chat/messages/", {"room": lobby.pk, "file": pdf, "content": ""}, format="multipart"
    )
    assert sent.status_code == 201, sent.json()
    upload = ChatMessage.objects.get(pk=sent.json()["id"])
    factories.make_message(alice, lobby, "the syllabus is out")
    factories.make_message(alice, lobby, "nothing here")

    found = hits(bob, q="syllabus")
    by_name = next(hit for hit in found if hit["message"]["id"] == upload.pk)

    assert {hit["message"]["content"] for hit in found} == {"", "the syllabus is out"}
    assert by_name["highlight"].startswith("<mark>Syllabus</mark>")
    assert by_name["message"]["file"]["name"] == "Syllabus_2026-Linear Algebra.pdf"
    assert [hit["message"]["id"] for hit in hits(bob, q="algebra")] == [upload.pk]
    assert [hit["message"]["id"] for hit in hits(bob, q="Syllabus_2026")] == [upload.pk]
    listed = client_for(bob).get("/chat/messages/", {"q": "algebra"}).json()["results"]
    assert [m["id"] for m in listed] == [upload.pk]
    assert hits(bob, q="syllabus", has_file="true")[0]["message"]["id"] == upload.pk
