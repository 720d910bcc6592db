"""Every URL pattern, walked: OPTIONS answers, and no body can make an endpoint fail with a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from academia.rest.parsers import MAX_JSON_DEPTH
from chat import services
from chat.tests import factories
from chat.tests.api_support import client_for
from chat.tests.url_patterns import Endpoint, endpoints

pytestmark = pytest.mark.django_db

BODY_METHODS = ("post", "put", "patch", "delete")
# (method, path) of every endpoint that reads a JSON body.
READS_A_BODY = {
    ("post", "/accounts/token/"),
    ("post", "/courses/"),
    ("post", "/courses/{course}/enrollments/"),
    ("put", "/chat/presence/"),
    ("post", "/chat/alerts/"),
    ("post", "/chat/rooms/"),
    ("put", "/chat/rooms/{room}/"),
    ("patch", "/chat/rooms/{room}/"),
    ("post", "/chat/rooms/{room}/participants/"),
    ("patch", "/chat/rooms/{room}/participants/{user}/"),
    ("post", "/chat/rooms/{room}/read/"),
    ("post", "/chat/messages/"),
    ("put", "/chat/messages/{message}/"),
    ("patch", "/chat/messages/{message}/"),
    ("post", "/chat/messages/{message}/react/"),
    ("delete", "/chat/messages/{message}/react/"),
    ("post", "/chat/messages/{message}/reply/"),
    ("post", "/chat/polls/"),
    ("post", "/chat/polls/{poll}/vote/"),
    ("post", "/chat/rooms/{room}/office-hours/"),
    ("post", "/chat/messages/{message}/report/"),
    ("post", "/chat/rooms/{room}/bans/"),
    ("post", "/chat/reports/{report}/resolve/"),
    ("post", "/chat/rooms/{room}/staff-questions/"),
    ("post", "/chat/staff-questions/{staff_question}/answer/"),
    ("put", "/chat/email-notifications/"),
}


@pytest.fixture
def world(stella: Any, alice: Any, bob: Any, course: Any) -> dict[str, Any]:
    """stella (staff) administers a room with bob in it, a message with a reaction, a
    poll and a report of bob's message."""
    room = factories.make_room(stella, name="Lobby", members=[bob, alice])
    message = factories.make_message(stella, room, "hello")
    services.reaction_add(actor=stella, message=message, emoji="👍")
    poll = services.poll_create(actor=stella, room=room, question="Q?", options=["a", "b"])
    reported = factories.make_message(bob, room, "spam")
    report, _ = services.report_create(actor=alice, message=reported, reason="spam")
    """stella (staff) administers a room with bob in it and a message with a reaction;
    alice asked her course's staff a private question."""
    room = factories.make_room(stella, name="Lobby", members=[bob, alice])
    message = factories.make_message(stella, room, "hello")
    services.reaction_add(actor=stella, message=message, emoji="👍")
    asked = services.staff_question_ask(
        actor=alice, room=factories.course_room(course), content="A private one"
    )
    return {
        "room": str(room.pk),
        "message": str(message.pk),
        "poll": str(poll.message.pk),
        "report": str(report.pk),
        "user": str(bob.pk),
        "course": str(course.pk),
        "staff_question": str(asked.pk),
    }


def all_endpoints(world: dict[str, Any]) -> list[Endpoint]:
    def value_for(before: str, name: str) -> str:
        if name == "pk":
            for prefix, key in (
                ("/chat/rooms/", "room"),
                ("/chat/messages/", "message"),
                ("/chat/polls/", "poll"),
                ("/chat/reports/", "report"),
                ("/chat/staff-questions/", "staff_question"),
            ):
                if before.startswith(prefix):
                    return world[key]
            if before.startswith("/courses/"):
                return world["course"]
        if name == "user_id":
            return world["user"]
        if name in ("room_id", "object_id"):
            return world["room"]
        if name == "path":
            return "chat/client.js"
        return "x"

    return endpoints(value_for)


def template(path: str, world: dict[str, Any]) -> str:
    for key in ("room", "message", "poll", "course", "report", "staff_question"):
        if f"/{world[key]}/" in path:
            prefix = {
                "room": "/chat/rooms/",
                "message": "/chat/messages/",
                "poll": "/chat/polls/",
                "course": "/courses/",
                "report": "/chat/reports/",
                "staff_question": "/chat/staff-questions/",
            }
            if path.startswith(prefix[key]):
                path = path.replace(f"/{world[key]}/", f"/{{{key}}}/", 1)
    return path.replace(f"/{world['user']}/", "/{user}/")


def test_the_walk_finds_every_api_endpoint(world: dict[str, Any]) -> None:
    paths = {endpoint.path for endpoint in all_endpoints(world)}

    assert {path.format(**world) for _, path in READS_A_BODY} <= paths
    assert {"/", "/healthz", "/readyz", "/api/schema/", "/admin/login/"} <= paths


def test_options_answers_drf_metadata_on_every_endpoint(world: dict[str, Any], stella: Any) -> None:
    client = Client()
    client.force_login(stella)

    answers = {
        e.path: (e, client.options(e.path, HTTP_ACCEPT="application/json"))
        for e in all_endpoints(world)
    }

    assert {path: r.status_code for path, (_, r) in answers.items() if r.status_code >= 500} == {}
    drf = {path: response for path, (e, response) in answers.items() if e.is_drf}
    assert {path: r.status_code for path, r in drf.items() if r.status_code != 200} == {}
    assert all({"name", "renders", "parses"} <= set(r.json()) for r in drf.values())
    rooms = drf["/chat/rooms/"].json()["actions"]["POST"]
    assert {"name", "description", "chat_type", "course", "max_participants"} <= set(rooms)
    assert rooms["name"] == {
        "type": "string",
        "required": True,
        "read_only": False,
        "label": "Name",
        "max_length": 200,
    }
    assert set(drf[f"/chat/messages/{world['message']}/react/"].json()["actions"]["POST"]) == {
        "emoji"
    }
    assert drf[f"/chat/rooms/{world['room']}/join/"].json()["actions"]["POST"] == {}


def test_options_needs_no_more_than_the_endpoint_itself(world: dict[str, Any]) -> None:
    anonymous = Client()

    codes = {e.path: anonymous.options(e.path).status_code for e in all_endpoints(world)}

    assert {path: code for path, code in codes.items() if code >= 500} == {}
    assert codes["/chat/rooms/"] == 401
    assert codes["/accounts/token/"] == 200


def nested(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize(("depth", "kind"), [(5000, "list"), (5000, "object")])
def test_deeply_nested_json_is_bad_request_on_every_endpoint(
    world: dict[str, Any], stella: Any, depth: int, kind: str, settings: Any
) -> None:
    # Four writes per endpoint: more than CHAT_WRITE_THROTTLE_RATE's default allows.
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "chat_write": "1000/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    client = client_for(stella)
    body = nested(depth, kind)
    answers: dict[tuple[str, str], Any] = {}

    for endpoint in all_endpoints(world):
        if not endpoint.is_drf:
            continue
        for method in BODY_METHODS:
            response = getattr(client, method)(endpoint.path, body, content_type="application/json")
            answers[(method, template(endpoint.path, world))] = response

    assert {key: r.status_code for key, r in answers.items() if r.status_code >= 500} == {}
    assert {
        key: (answers[key].status_code, answers[key].json()["code"]) for key in READS_A_BODY
    } == {key: (400, "bad_request") for key in READS_A_BODY}
    assert answers[("post", "/chat/rooms/")].json()["detail"] == (
        f"JSON nested more than {MAX_JSON_DEPTH} levels deep."
    )


def test_json_up_to_the_depth_limit_is_parsed(world: dict[str, Any], stella: Any) -> None:
    client = client_for(stella)
    url = f"/chat/messages/{world['message']}/react/"

    def emoji_nested(depth: int) -> str:
        return '{"emoji":' + nested(depth - 1, "list") + "}"

    at_limit = client.post(url, emoji_nested(MAX_JSON_DEPTH), content_type="application/json")
    over = client.post(url, emoji_nested(MAX_JSON_DEPTH + 1), content_type="application/json")

    # Parsed: the serializer, not the parser, refuses it (a field error).
    assert (at_limit.status_code, at_limit.json()["code"]) == (400, "validation_error")
    assert "emoji" in at_limit.json()
    assert (over.status_code, over.json()["code"]) == (400, "bad_request")
