"""The declared shape of every server frame, for tests to check real frames against.

The shapes are the AsyncAPI document's (``chat.asyncapi``, built on the output
shapes of ``chat.wire``), with every object closed: a frame may carry no field
the document does not name. ``conftest.captured_events`` checks each frame the
services publish; ``test_asyncapi`` checks whole socket sessions.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

from chat import asyncapi

DOCUMENT_URI = "urn:academia-chat:asyncapi"


def closed(node: Any) -> Any:
    """Every object schema that lists its properties, closed to others."""
    if isinstance(node, list):
        return [closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: closed(value) for key, value in node.items()}
    if "properties" in result and result.get("type") == "object":
        result.setdefault("additionalProperties", False)
    return result


def validator(document: dict[str, Any], pointer: str) -> jsonschema.Draft7Validator:
    """A validator for the schema at ``pointer``, its references resolved in the
    document, every object closed (see ``closed``)."""
    strict = copy.deepcopy(document)
    strict["components"]["schemas"] = closed(strict["components"]["schemas"])
    for message in strict["components"]["messages"].values():
        message["payload"] = closed(message["payload"])
    resource = referencing.Resource.from_contents(
        strict, default_specification=referencing.jsonschema.DRAFT7
    )
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(
        DOCUMENT_URI, resource
    )
    return jsonschema.Draft7Validator(
        {"$ref": f"{DOCUMENT_URI}{pointer}"},
        registry=registry,
        format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER,
    )


def problems(document: dict[str, Any], pointer: str, instance: Any) -> list[str]:
    return [
        f"{list(error.absolute_path)}: {error.message[:200]}"
        for error in validator(document, pointer).iter_errors(instance)
    ]


@functools.cache
def server_frame_validators() -> dict[str, jsonschema.Draft7Validator]:
    """Frame type → the validator of its declared shape, for every server frame."""
    document = asyncapi.document(host="testserver", secure=False)
    found = {}
    for name in asyncapi.SERVER_FRAMES:
        payload = document["components"]["messages"][name]["payload"]
        found[payload["properties"]["type"]["const"]] = validator(
            document, f"#/components/messages/{name}/payload"
        )
    return found


def frame_problems(frame: dict[str, Any]) -> list[str]:
    """What is wrong with a server frame against its declared shape (nothing: [])."""
    checker = server_frame_validators().get(frame.get("type"))  # type: ignore[arg-type]
    if checker is None:
        return [f"undeclared frame type {frame.get('type')!r}"]
    return [
        f"{list(error.absolute_path)}: {error.message[:200]}"
        for error in checker.iter_errors(frame)
    ]
