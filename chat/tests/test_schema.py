"""The OpenAPI schema covers the contract and validates; the docs are served locally."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from django.core.management import call_command

from chat.tests.api_support import client_for

CONTRACT_PATHS = {
    "/accounts/token/": {"post"},
    "/accounts/ws-ticket/": {"post"},
    "/accounts/me/": {"get", "patch"},
    "/chat/rooms/": {"get", "post"},
    "/chat/rooms/{id}/": {"get", "put", "patch", "delete"},
    "/chat/rooms/{id}/join/": {"post"},
    "/chat/rooms/{id}/leave/": {"post"},
    "/chat/rooms/{id}/participants/": {"get", "post"},
    "/chat/rooms/{id}/participants/{user_id}/": {"patch", "delete"},
    "/chat/rooms/{id}/messages/": {"get"},
    "/chat/rooms/{id}/read/": {"post"},
    "/chat/messages/": {"get", "post"},
    "/chat/messages/{id}/": {"get", "put", "patch", "delete"},
    "/chat/messages/{id}/react/": {"post", "delete"},
    "/chat/messages/{id}/reactions/": {"get"},
    "/chat/messages/{id}/reply/": {"post"},
    "/chat/messages/{id}/file/": {"get"},
    "/chat/messages/{id}/thumbnail/": {"get"},
    "/chat/presence/": {"get", "put"},
    "/chat/presence/online/": {"get"},
    "/chat/presence/typing/": {"get"},
    "/chat/email-notifications/": {"get", "put"},
    "/courses/": {"get", "post"},
    "/courses/{id}/enrollments/": {"post"},
    "/courses/{id}/enrollments/{user_id}/": {"delete"},
}


@pytest.fixture
def schema(alice: Any) -> dict[str, Any]:
    response = client_for(alice).get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_every_contract_path_and_method_is_in_the_schema(schema: dict[str, Any]) -> None:
    for path, methods in CONTRACT_PATHS.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), path


def test_schema_describes_the_contract_objects(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]

    assert set(components["Room"]["properties"]) >= {"my_role", "unread_count", "last_seq"}
    assert set(components["Message"]["properties"]) >= {"content_html", "reactions", "file"}
    history = schema["paths"]["/chat/rooms/{id}/messages/"]["get"]
    page_ref = history["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert page_ref.endswith("/HistoryPage")
    send = schema["paths"]["/chat/messages/"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(send)
    room_list = schema["paths"]["/chat/rooms/"]["get"]["responses"]["200"]["content"]
    assert room_list["application/json"]["schema"]["$ref"].endswith("/PaginatedRoomList")


def test_unmarking_a_question_answers_what_the_schema_says(
    schema: dict[str, Any], alice: Any
) -> None:
    from chat.tests import factories

    room = factories.make_room(alice)
    message = factories.make_message(alice, room, "Why?", is_question=True)

    answer = client_for(alice).delete(f"/chat/messages/{message.pk}/question/")

    documented = schema["paths"]["/chat/messages/{id}/question/"]["delete"]["responses"]
    assert (answer.status_code, answer.data["is_question"]) == (200, False)
    assert list(documented) == ["200"]
    assert documented["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Message")


def test_schema_validates_without_warnings(tmp_path: Any) -> None:
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )

    assert (tmp_path / "schema.yml").read_text().startswith("openapi: 3")


@pytest.mark.django_db
def test_docs_are_served_from_local_static_files(alice: Any) -> None:
    response = client_for(alice).get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn." not in page and "unpkg" not in page
