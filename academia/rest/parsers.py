"""Request body parsers: DRF's JSON parser with a nesting limit (DRF's default parser here).

No body of the contract nests deeper than a few levels. Python's JSON decoder
recurses once per level, so a body of a few thousand ``[`` would otherwise end
in a RecursionError (a 500) inside the decoder or in whatever walks the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.utils.translation import gettext_lazy
from rest_framework import parsers

from chat import errors
from chat.errors import lazy_interpolate

MAX_JSON_DEPTH = 32


def json_depth_exceeds(data: Any, limit: int) -> bool:
    """True if ``data`` (decoded JSON) nests lists and objects deeper than ``limit``.

    Iterative, so checking a deep value cannot itself exhaust the stack.
    """
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    """JSON bodies nested deeper than ``MAX_JSON_DEPTH`` are a 400 ``bad_request``."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise self._too_deep() from None
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise self._too_deep()
        return data

    @staticmethod
    def _too_deep() -> errors.BadRequest:
        return errors.BadRequest(
            lazy_interpolate(
                gettext_lazy("JSON nested more than %(max_json_depth)s levels deep."),
                {"max_json_depth": MAX_JSON_DEPTH},
            )
        )
