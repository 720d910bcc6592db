"""Every URL pattern of the project as a concrete path, for tests that must cover them all."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from academia.rest import not_found

ROUTE_PARAM = re.compile(r"<(?:[^>:]+:)?(\w+)>")

# (the path up to the parameter, the parameter's name) → the value to put there
ValueFor = Callable[[str, str], str]


@dataclass(frozen=True)
class Endpoint:
    path: str
    name: str | None
    callback: Any

    @property
    def is_drf(self) -> bool:
        """An APIView or a viewset (DRF answers OPTIONS with its metadata)."""
        return hasattr(self.callback, "cls") and hasattr(self.callback.cls, "metadata_class")


def _regex_to_path(regex: str, before: str, value_for: ValueFor) -> str:
    """``^rooms/(?P<pk>[0-9]+)/join/$`` → ``rooms/7/join/``."""
    regex = regex.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    out: list[str] = []
    i = 0
    while i < len(regex):
        if regex.startswith("(?P<", i):
            name = regex[i + 4 : regex.index(">", i)]
            depth, j = 0, i
            while True:
                depth += {"(": 1, ")": -1}.get(regex[j], 0)
                if depth == 0:
                    break
                j += 1
            out.append(value_for(before + "".join(out), name))
            i = j + 1
        elif regex[i] == "\\":
            out.append(regex[i + 1])
            i += 2
        elif regex[i] in "?*+":
            i += 1
        else:
            out.append(regex[i])
            i += 1
    return "".join(out)


def _route_to_path(route: str, before: str, value_for: ValueFor) -> str:
    out: list[str] = []
    last = 0
    for match in ROUTE_PARAM.finditer(route):
        out.append(route[last : match.start()])
        out.append(value_for(before + "".join(out), match[1]))
        last = match.end()
    out.append(route[last:])
    return "".join(out)


def _walk(patterns: list[Any], before: str, value_for: ValueFor) -> Iterator[Endpoint]:
    for pattern in patterns:
        text = str(pattern.pattern)
        if hasattr(pattern.pattern, "_route"):
            part = _route_to_path(text, before, value_for)
        else:
            part = _regex_to_path(text, before, value_for)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, before + part, value_for)
        elif isinstance(pattern, URLPattern) and pattern.name != not_found.NAME:
            yield Endpoint(before + part, pattern.name, pattern.callback)


def endpoints(value_for: ValueFor) -> list[Endpoint]:
    """Every URL pattern of the project as a path, its parameters filled by ``value_for``
    (but the API prefixes' catch-all 404, which is no endpoint)."""
    return list(_walk(get_resolver().url_patterns, "/", value_for))
