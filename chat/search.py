"""Message search for people: ranked hits with a highlighted snippet.

Builds on ``selectors.message_search`` (what the user may see, the filters, the
full-text match the GIN index answers). Ranking is bounded: the newest
``limits.SEARCH_RANK_WINDOW`` matches are found through the index in id order,
as the plain list does, and only those are ranked (``ts_rank`` on PostgreSQL;
SQLite, which has no ranking, keeps them newest first). A query costs the same
whatever the history's size, however common its words.

The snippet is built here from the plain text, never from ``content_html``:
escaped first, then the matched words wrapped in ``<mark>``, so nothing a user
wrote can become markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import F, FloatField, QuerySet, Value
from django.utils.html import escape

from chat import limits, selectors
from chat.models import ChatMessage

if TYPE_CHECKING:
    from datetime import date

    from accounts.models import User

SNIPPET_CHARS = 200
SNIPPET_LEAD = 60  # characters of context kept before the first match
WEBSEARCH_TOKEN = re.compile(r'-?"[^"]*"|\S+')
WORD = re.compile(r"\w+")
# A word of a file's name, as the search index splits it: letters and digits.
FILE_NAME_WORD = r"[^\W_]"


@dataclass(frozen=True)
class SearchFilters:
    """What ``GET /chat/messages/search/`` narrows by, besides the words."""

    room_id: int | None = None
    sender_id: int | None = None
    has_file: bool | None = None
    date_from: date | None = None
    date_to: date | None = None


def search_terms(q: str) -> list[str]:
    """The words of a websearch query that a match contains: quoted phrases split
    into words, ``or`` and excluded (``-word``) terms left out. Lower case."""
    words: list[str] = []
    for token in WEBSEARCH_TOKEN.findall(q):
        if token.startswith("-") or token.lower() == "or":
            continue
        for word in WORD.findall(token.lower()):
            if word not in words:
                words.append(word)
    return words


def _match_pattern(q: str, word: str = r"\w") -> re.Pattern[str] | None:
    """What the snippet marks: whole words on PostgreSQL (the 'simple' parser
    matches words; ``word`` is what a word is made of), the query as a substring
    on SQLite (as its filter does)."""
    if connection.vendor == "postgresql":
        terms = search_terms(q)
        if not terms:
            return None
        alternatives = "|".join(re.escape(term) for term in sorted(terms, key=len, reverse=True))
        return re.compile(rf"(?<!{word})(?:{alternatives})(?!{word})", re.IGNORECASE)
    text = q.strip()
    return re.compile(re.escape(text), re.IGNORECASE) if text else None


def highlight(content: str, q: str, word: str = r"\w") -> str:
    """At most SNIPPET_CHARS of ``content`` around its first match, HTML-escaped,
    with every match inside ``<mark>…</mark>`` (and ``…`` where text was cut)."""
    pattern = _match_pattern(q, word)
    first = pattern.search(content) if pattern else None
    start = 0
    if first is not None and len(content) > SNIPPET_CHARS:
        start = max(0, min(first.start() - SNIPPET_LEAD, len(content) - SNIPPET_CHARS))
    end = min(len(content), start + SNIPPET_CHARS)
    window = content[start:end]
    parts = ["…"] if start > 0 else []
    position = 0
    for match in pattern.finditer(window) if pattern else ():
        parts.append(escape(window[position : match.start()]))
        parts.append(f"<mark>{escape(match.group())}</mark>")
        position = match.end()
    parts.append(escape(window[position:]))
    if end < len(content):
        parts.append("…")
    return "".join(parts)


def snippet(message: ChatMessage, q: str) -> str:
    """A hit's snippet: from its text, or from its file's name when only the name
    matched (search splits a file's name at punctuation, so "syllabus" marks
    "Syllabus_2026.pdf")."""
    pattern = _match_pattern(q)
    if message.file_name and not (pattern and pattern.search(message.content)):
        return highlight(message.file_name, q, word=FILE_NAME_WORD)
    return highlight(message.content, q)


def message_search_ranked(
    user: User, *, q: str, filters: SearchFilters = SearchFilters()
) -> QuerySet[ChatMessage]:
    """The newest SEARCH_RANK_WINDOW matches of ``q`` the user may see, best first
    (``rank`` annotated on PostgreSQL, then newest first), with their rooms and
    senders (a page's relations: ``selectors.load_message_relations``)."""
    matches = selectors.message_search(
        user,
        q=q,
        room_id=filters.room_id,
        sender_id=filters.sender_id,
        has_file=filters.has_file,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    # In the list's own order (newest first, by the index it walks).
    window = matches.values("id")[: limits.SEARCH_RANK_WINDOW]
    hits = ChatMessage.objects.filter(pk__in=window).select_related("room", "sender")
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank

        query = SearchQuery(q, config="simple", search_type="websearch")
        rank = SearchRank(selectors.SearchDocument(), query)
        hits = hits.annotate(rank=rank)
    else:
        hits = hits.annotate(rank=Value(None, output_field=FloatField()))
    return hits.order_by(F("rank").desc(nulls_last=True), "-id")
