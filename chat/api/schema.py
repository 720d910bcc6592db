"""drf-spectacular postprocessing: the schema says what the serializers refuse.

DRF's ``CharField`` refuses NUL characters in every string it validates, which
the generated schema does not say; this hook adds that as a ``pattern`` to every
free-text string a client sends (request bodies, query and path parameters), so
data the schema calls valid is data the API accepts.
"""

from __future__ import annotations

from typing import Any

NO_NUL_PATTERN = "^[^\\u0000]*$"
CONSTRAINED = ("enum", "format", "pattern", "$ref")


def _forbid_nul(schema: Any) -> None:
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not any(key in schema for key in CONSTRAINED):
        schema["pattern"] = NO_NUL_PATTERN
    for key in ("properties",):
        for child in schema.get(key, {}).values():
            _forbid_nul(child)
    for key in ("items", "additionalProperties"):
        _forbid_nul(schema.get(key))
    for key in ("allOf", "anyOf", "oneOf"):
        for child in schema.get(key, []):
            _forbid_nul(child)


def forbid_nul_characters(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: request components and parameters refuse NUL."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            _forbid_nul(component)
    for item in result.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") in ("query", "path"):
                    _forbid_nul(parameter.get("schema"))
    return result
