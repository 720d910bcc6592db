"""Property-based testing of the REST API from its OpenAPI schema (schemathesis).

A live server, a user with rooms, messages, a reaction and a course, and their
token; every operation of ``/api/schema/`` gets generated requests (valid and
invalid) against those real objects. Nothing may answer 5xx, every answer must
match the schema, data the schema calls valid must be accepted (the schema is
as strict as the validation) and data it calls invalid refused.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from chat import services
from chat.tests import factories
from courses import services as course_services

pytestmark = pytest.mark.django_db(transaction=True)

MAX_EXAMPLES = 12


def valid_data_passes_the_serializers(ctx: Any, response: Any, case: Any) -> bool | None:
    """Data the schema calls valid may still break a domain rule (a 400 with a ``code``:
    a room that does not exist, wrong credentials, a message too long once trimmed),
    but never a serializer's own check (a 400 of field errors, no ``code``): that
    would make the schema looser than the validation."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code == 400 and "code" not in response.json():
        raise AssertionError(
            f"Valid data refused by a serializer: {response.status_code} {response.text}"
        )
    return None


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    valid_data_passes_the_serializers,
]


@pytest.fixture
def world(live_server: Any, settings: Any, tmp_path: Any) -> dict[str, Any]:
    """What the requests work on: stella (staff) has rooms, messages and a course."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"chat_write": "100000/min", "chat_read": "100000/min"},
    }
    stella = factories.make_user("stella", is_staff=True)
    bob = factories.make_user("bob")
    course = course_services.course_create(actor=stella, title="Maths", code="M1")
    room = factories.make_room(stella, name="Lobby", members=[bob])
    message = factories.make_message(bob, room, "hello @stella")
    services.reaction_add(actor=stella, message=message, emoji="👍")
    factories.make_message(stella, room, "a reply", reply_to=message.pk)
    return {
        "url": live_server.url,
        "token": Token.objects.create(user=stella).key,
        # Path parameters name these real objects, so operations get past their 404.
        "path": {"id": room.pk, "user_id": bob.pk},
        "message": message.pk,
        "course": course.pk,
    }


def operations() -> list[tuple[str, str]]:
    """(method, path) of every operation the schema describes, for one test each."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    methods = {"get", "put", "patch", "post", "delete"}
    return [(m.upper(), path) for path, item in paths.items() for m in item if m in methods]


@pytest.mark.parametrize(("method", "path"), operations(), ids=lambda value: value)
def test_the_api_conforms_to_its_schema(method: str, path: str, world: dict[str, Any]) -> None:
    operation = schemathesis.openapi.from_url(f"{world['url']}/api/schema/")[path][method]
    ids = dict(world["path"])
    if path.startswith("/chat/messages/"):
        ids["id"] = world["message"]
    elif path.startswith("/courses/"):
        ids["id"] = world["course"]
    names = {parameter.name for parameter in operation.path_parameters}
    headers = {"Authorization": f"Token {world['token']}"}

    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategy = operation.as_strategy(
            generation_mode=mode, path_parameters={n: ids[n] for n in names} or None
        )

        @given(case=strategy)
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            case.call_and_validate(base_url=world["url"], headers=headers, checks=CHECKS)

        try:
            check()
        except Unsatisfiable:
            # Negative mode: nothing to make invalid once the path names real objects.
            if mode is GenerationMode.POSITIVE:
                raise
