"""bench/history.py writes messages with COPY: its columns must cover every column
a message row needs (a new NOT NULL column without one breaks the bench's load)."""

from __future__ import annotations

import re

from bench import history
from chat.models import ChatMessage


def test_the_copy_names_every_required_column_of_a_message() -> None:
    columns = re.search(r"\((.*)\)", history.COPY_SQL, re.S)
    assert columns is not None
    named = set(columns.group(1).replace(" ", "").split(","))
    required = {
        field.column
        for field in ChatMessage._meta.concrete_fields
        if not field.null and not field.primary_key
    }

    assert required - named == set()
    assert named <= {field.column for field in ChatMessage._meta.concrete_fields}
