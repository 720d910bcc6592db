"""drf-spectacular postprocessing: the schema says what the serializers refuse.

DRF's ``CharField`` refuses NUL characters in every string it validates and,
unless blank is allowed, a string that is only whitespace (it trims first);
the generated schema says neither. This hook adds both as a ``pattern`` to every
free-text string a client sends (request bodies, query and path parameters), so
data the schema calls valid is data the API accepts.
"""

from __future__ import annotations

from typing import Any

NO_NUL_PATTERN = "^[^\\u0000]*$"
# Python's str.strip() whitespace, spelled out (regex dialects disagree on \s).
WHITESPACE = (
    "\\t\\n\\u000b\\f\\r \\u001c-\\u001f\\u0085\\u00a0\\u1680\\u2000-\\u200a"
    "\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
)
NOT_BLANK_PATTERN = f"^[^\\u0000]*[^\\u0000{WHITESPACE}][^\\u0000]*$"
CONSTRAINED = ("enum", "format", "pattern", "$ref")


def _constrain(schema: Any) -> None:
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not any(key in schema for key in CONSTRAINED):
        blank_refused = schema.get("minLength", 0) >= 1
        schema["pattern"] = NOT_BLANK_PATTERN if blank_refused else NO_NUL_PATTERN
    for key in ("properties",):
        for child in schema.get(key, {}).values():
            _constrain(child)
    for key in ("items", "additionalProperties"):
        _constrain(schema.get(key))
    for key in ("allOf", "anyOf", "oneOf"):
        for child in schema.get(key, []):
            _constrain(child)


def strings_as_validated(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: request strings refuse NUL, and blank where DRF does."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            _constrain(component)
    for item in result.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") in ("query", "path"):
                    _constrain(parameter.get("schema"))
    return result
