"""Bad input never yields a 500; authentication, throttling and the token endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from chat.tests import factories
from chat.tests.api_support import USER_KEYS, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_throttle_counts() -> Any:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(alice: Any, bob: Any, course: Any) -> dict[str, Any]:
    room = factories.make_room(alice, name="Lobby", members=[bob])
    message = factories.make_message(alice, room, "hello")
    return {"room": room.pk, "message": message.pk, "user": bob.pk, "course": course.pk}


# (method, path template, a valid-looking body): every write endpoint of the contract.
WRITE_ENDPOINTS = [
    ("post", "/chat/rooms/", {"name": "n", "chat_type": "public"}),
    ("put", "/chat/rooms/{room}/", {"name": "n"}),
    ("patch", "/chat/rooms/{room}/", {"name": "n"}),
    ("post", "/chat/rooms/{room}/participants/", {"user": "{user}", "role": "member"}),
    ("patch", "/chat/rooms/{room}/participants/{user}/", {"role": "member"}),
    ("post", "/chat/rooms/{room}/read/", {"message_id": "{message}"}),
    ("post", "/chat/messages/", {"room": "{room}", "content": "hi"}),
    ("put", "/chat/messages/{message}/", {"content": "hi"}),
    ("patch", "/chat/messages/{message}/", {"content": "hi"}),
    ("post", "/chat/messages/{message}/react/", {"emoji": "👍"}),
    ("delete", "/chat/messages/{message}/react/", {"emoji": "👍"}),
    ("post", "/chat/messages/{message}/reply/", {"content": "hi"}),
    ("put", "/chat/presence/", {"status": "away"}),
    ("post", "/courses/", {"title": "t", "code": "c"}),
    ("post", "/courses/{course}/enrollments/", {"user": "{user}", "role": "student"}),
]

NASTY_VALUES = [
    ["a", "list"],
    {"an": "object"},
    "not a number",
    -1,
    0,
    10**30,
    "nul\x00byte",
    "x" * 10_000,
    None,
    True,
    3.5,
]


def _fill(template: Any, ids: dict[str, Any]) -> Any:
    if isinstance(template, str) and template.startswith("{") and template.endswith("}"):
        return ids[template[1:-1]]
    if isinstance(template, str):
        return template.format(**ids)
    return template


@pytest.mark.parametrize(("method", "path", "body"), WRITE_ENDPOINTS)
def test_bad_input_never_yields_a_500(
    world: dict[str, Any],
    alice: Any,
    settings: Any,
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    _rate(settings, "100000/min")
    client = client_for(alice)
    url = path.format(**world)
    valid = {key: _fill(value, world) for key, value in body.items()}
    send = getattr(client, method)
    answers = [send(url, "{not json", content_type="application/json").status_code]
    answers.append(send(url, [1, 2], format="json").status_code)
    answers.append(send(url, "null", content_type="application/json").status_code)
    for field in valid:
        for value in NASTY_VALUES:
            answers.append(send(url, {**valid, field: value}, format="json").status_code)

    assert 500 not in answers
    assert 400 in answers
    assert all(code < 500 for code in answers)


@pytest.mark.parametrize(
    "url",
    [
        "/chat/rooms/?course=abc",
        "/chat/rooms/?chat_type=%00",
        "/chat/rooms/?search=" + "x" * 10_000,
        "/chat/rooms/?page=-1",
        "/chat/rooms/?page=99999999999999999999",
        "/chat/messages/?room=abc",
        "/chat/messages/?q=%00",
        "/chat/messages/?sender=-4",
        "/chat/messages/?message_type=nope",
        "/chat/rooms/{room}/messages/?limit=-1",
        "/chat/rooms/{room}/messages/?limit=1.5",
        "/chat/rooms/{room}/messages/?before=abc",
        "/chat/presence/?user=abc",
        "/chat/presence/online/",
        "/chat/presence/typing/?room=-1",
        "/chat/rooms/99999999999999999999999/",
        "/chat/messages/99999999999999999999999/",
    ],
)
def test_bad_query_strings_are_4xx(world: dict[str, Any], alice: Any, url: str) -> None:
    response = client_for(alice).get(url.format(**world))

    assert 400 <= response.status_code < 500


def test_unknown_ids_are_404(alice: Any) -> None:
    client = client_for(alice)

    answers = {
        client.get("/chat/rooms/424242/").status_code,
        client.post("/chat/rooms/424242/join/").status_code,
        client.get("/chat/messages/424242/").status_code,
        client.post("/chat/messages/424242/react/", {"emoji": "👍"}, format="json").status_code,
        client.post("/courses/424242/enrollments/", {"user": 1, "role": "student"}).status_code,
        client.get("/chat/presence/", {"user": 424242}).status_code,
    }

    assert answers == {404}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/chat/messages/abc/"),
        ("patch", "/chat/messages/-1/"),
        ("get", "/chat/messages/abc/file/"),
        ("post", "/chat/messages/abc/react/"),
        ("delete", "/chat/rooms/1.5/"),
        ("get", "/chat/rooms/abc/messages/"),
        ("get", "/chat/no-such-thing/"),
        ("post", "/courses/abc/enrollments/"),
    ],
)
def test_paths_no_route_takes_are_404_in_json(
    alice: Any, settings: Any, method: str, path: str
) -> None:
    settings.DEBUG = True  # Django's HTML page would list every URL pattern
    response = getattr(client_for(alice), method)(path)
    anonymous = getattr(APIClient(), method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    assert (anonymous.status_code, anonymous.json()["code"]) == (404, "not_found")


def test_a_path_without_its_slash_is_still_redirected(alice: Any) -> None:
    response = client_for(alice).get("/chat/rooms")

    assert (response.status_code, response["Location"]) == (301, "/chat/rooms/")


@pytest.mark.parametrize("path", ["/chat/messages/", "/chat/rooms/", "/accounts/token/"])
def test_a_body_over_djangos_memory_limit_is_413_in_json(
    alice: Any, settings: Any, path: str
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"content": "' + "x" * 2000 + '"}'

    response = client_for(alice).post(path, body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["code"] == "upload_too_large"


def test_a_form_with_too_many_fields_is_400_in_json(alice: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    fields = "&".join(f"f{n}=1" for n in range(50))

    response = client_for(alice).post(
        "/chat/rooms/", fields, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_message_body_that_is_not_json_is_400_with_a_code(
    world: dict[str, Any], alice: Any
) -> None:
    response = client_for(alice).post("/chat/messages/", "{broken", content_type="application/json")

    assert response.status_code == 400
    assert response.data["code"] == "parse_error"


def test_unauthenticated_token_client_gets_401(world: dict[str, Any]) -> None:
    client = APIClient()

    response = client.get("/chat/rooms/", HTTP_AUTHORIZATION="Token not-a-real-token")
    anonymous = client.get("/chat/rooms/")

    assert response.status_code == 401
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Token"


def test_unauthenticated_session_client_gets_403_without_csrf(
    world: dict[str, Any], bob: Any
) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(bob)

    without_csrf = client.post(
        "/chat/messages/", {"room": world["room"], "content": "hi"}, format="json"
    )

    assert without_csrf.status_code == 403
    assert "CSRF" in str(without_csrf.data["detail"])


def test_session_client_with_csrf_token_may_post(world: dict[str, Any], bob: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(bob)
    secret = "a" * 32
    client.cookies["csrftoken"] = secret

    response = client.post(
        "/chat/messages/",
        {"room": world["room"], "content": "with csrf"},
        format="json",
        HTTP_X_CSRFTOKEN=secret,
    )

    assert response.status_code == 201
    assert response.data["sender"]["username"] == "bob"


def test_token_endpoint_issues_a_token_that_authenticates(world: dict[str, Any]) -> None:
    client = APIClient()

    issued = client.post(
        "/accounts/token/", {"username": "bob", "password": factories.PASSWORD}, format="json"
    )
    again = client.post(
        "/accounts/token/", {"username": "bob", "password": factories.PASSWORD}, format="json"
    )
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.data['token']}")
    me = client.get("/accounts/me/")
    posted = client.post(
        "/chat/messages/", {"room": world["room"], "content": "by token"}, format="json"
    )

    assert issued.status_code == 200
    assert set(issued.data) == {"token"}
    assert again.data["token"] == issued.data["token"]
    assert me.status_code == 200
    assert set(me.data) == {*USER_KEYS, "language"}
    assert me.data["username"] == "bob"
    assert posted.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"username": "bob", "password": "wrong"},
        {"username": "nobody", "password": "x"},
        {"username": "bob"},
        {},
    ],
)
def test_token_endpoint_refuses_wrong_credentials_with_400(
    world: dict[str, Any], body: dict[str, Any]
) -> None:
    response = APIClient().post("/accounts/token/", body, format="json")

    assert response.status_code == 400
    assert "token" not in response.data


def test_me_needs_authentication() -> None:
    assert APIClient().get("/accounts/me/").status_code == 401


def _rate(settings: Any, rate: str) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"chat_write": rate},
    }


def test_writes_are_throttled_with_retry_after(
    world: dict[str, Any], bob: Any, settings: Any
) -> None:
    _rate(settings, "3/min")
    client = client_for(bob)

    codes = [
        client.post(
            "/chat/messages/", {"room": world["room"], "content": f"n{i}"}, format="json"
        ).status_code
        for i in range(4)
    ]
    throttled = client.post(
        "/chat/messages/", {"room": world["room"], "content": "again"}, format="json"
    )
    reads = client.get("/chat/rooms/")

    assert codes == [201, 201, 201, 429]
    assert throttled.status_code == 429
    assert throttled.data["code"] == "throttled"
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert reads.status_code == 200


def test_throttle_counts_each_user_separately(
    world: dict[str, Any], alice: Any, bob: Any, settings: Any
) -> None:
    _rate(settings, "1/min")

    by_bob = [
        client_for(bob)
        .post("/chat/messages/", {"room": world["room"], "content": f"b{i}"}, format="json")
        .status_code
        for i in range(2)
    ]
    by_alice = client_for(alice).post(
        "/chat/messages/", {"room": world["room"], "content": "a"}, format="json"
    )

    assert by_bob == [201, 429]
    assert by_alice.status_code == 201


def test_search_and_history_pages_share_a_read_throttle(
    world: dict[str, Any], alice: Any, bob: Any, settings: Any
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"chat_write": "100/min", "chat_read": "3/min"},
    }
    client = client_for(bob)

    reads = [
        client.get("/chat/messages/", {"q": "hello"}).status_code,
        client.get(f"/chat/rooms/{world['room']}/messages/").status_code,
        client.get("/chat/messages/", {"room": world["room"]}).status_code,
    ]
    throttled = client.get(f"/chat/rooms/{world['room']}/messages/", {"limit": 1000})
    cheap = [
        client.get("/chat/rooms/").status_code,
        client.get(f"/chat/messages/{world['message']}/").status_code,
    ]
    write = client.post(
        "/chat/messages/", {"room": world["room"], "content": "still"}, format="json"
    )
    by_alice = client_for(alice).get("/chat/messages/", {"q": "hello"})

    assert reads == [200, 200, 200]
    assert throttled.status_code == 429
    assert throttled.data["code"] == "throttled"
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert cheap == [200, 200]
    assert write.status_code == 201
    assert by_alice.status_code == 200


# (method, path template, body, the text field): numbers where the contract wants text.
TEXT_FIELDS = [
    ("post", "/chat/rooms/", {"name": "n", "chat_type": "public"}, "name"),
    ("patch", "/chat/rooms/{room}/", {"description": "d"}, "description"),
    ("post", "/chat/messages/", {"room": "{room}", "content": "hi"}, "content"),
    ("post", "/chat/messages/", {"room": "{room}", "content": "a", "client_id": "c"}, "client_id"),
    ("patch", "/chat/messages/{message}/", {"content": "hi"}, "content"),
    ("post", "/chat/messages/{message}/react/", {"emoji": "👍"}, "emoji"),
    ("post", "/chat/messages/{message}/reply/", {"content": "hi"}, "content"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), TEXT_FIELDS)
@pytest.mark.parametrize("value", [123, 4.5, True])
def test_text_fields_refuse_what_is_not_a_string_as_the_socket_does(
    world: dict[str, Any],
    alice: Any,
    settings: Any,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
    value: Any,
) -> None:
    """DRF's CharField would store 123 as "123"; the socket refuses it, so REST does."""
    _rate(settings, "100000/min")
    client = client_for(alice)
    valid = {key: _fill(item, world) for key, item in body.items()}

    response = getattr(client, method)(path.format(**world), {**valid, field: value}, format="json")

    assert response.status_code == 400
    assert response.json()[field] == ["Not a string."]
    assert getattr(client, method)(path.format(**world), valid, format="json").status_code < 300


def test_a_serializers_400_has_a_code_and_a_detail_like_every_other_error(
    world: dict[str, Any], alice: Any
) -> None:
    client = client_for(alice)

    missing = client.post(f"/chat/messages/{world['message']}/react/", {}, format="json")
    wrong = client.post("/chat/messages/", {"room": world["room"], "content": 5}, format="json")
    german = client.post(
        "/chat/messages/", {"room": "x", "content": "hi"}, format="json", HTTP_ACCEPT_LANGUAGE="de"
    )

    assert (missing.status_code, missing.json()) == (
        400,
        {
            "detail": "emoji: This field is required.",
            "code": "validation_error",
            "emoji": ["This field is required."],
        },
    )
    assert wrong.json() == {
        "detail": "content: Not a string.",
        "code": "validation_error",
        "content": ["Not a string."],
    }
    assert german.json()["code"] == "validation_error"
    assert german.json()["detail"] == "room: " + german.json()["room"][0]
    assert german.json()["room"] == ["Eine gültige Ganzzahl ist erforderlich."]


# (path template, body, the flag): JSON booleans the socket takes as true/false only.
FLAGS = [
    ("/chat/messages/", {"room": "{room}", "content": "hi"}, "is_question"),
    ("/chat/polls/", {"room": "{room}", "question": "q", "options": ["a", "b"]}, "is_anonymous"),
    ("/chat/polls/", {"room": "{room}", "question": "q", "options": ["a", "b"]}, "allows_multiple"),
]


@pytest.mark.parametrize(("path", "body", "flag"), FLAGS)
@pytest.mark.parametrize("value", ["yes", "true", 1, "on"])
def test_json_flags_take_true_or_false_only_as_the_socket_does(
    world: dict[str, Any],
    alice: Any,
    settings: Any,
    path: str,
    body: dict[str, Any],
    flag: str,
    value: Any,
) -> None:
    _rate(settings, "100000/min")
    valid = {key: _fill(item, world) for key, item in body.items()}

    refused = client_for(alice).post(path, {**valid, flag: value}, format="json")
    taken = client_for(alice).post(path, {**valid, flag: True}, format="json")

    assert (refused.status_code, refused.json()[flag]) == (400, ["Must be true or false."])
    assert taken.status_code == 201


def test_a_form_may_still_say_true_for_a_flag(world: dict[str, Any], alice: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client_for(alice).post(
        "/chat/messages/",
        {
            "room": world["room"],
            "file": SimpleUploadedFile("notes.txt", b"notes", content_type="text/plain"),
            "is_question": "false",
        },
        format="multipart",
    )

    assert response.status_code == 201, response.json()


def test_a_client_id_is_taken_as_sent_or_refused_never_trimmed(
    world: dict[str, Any], alice: Any
) -> None:
    client = client_for(alice)
    body = {"room": world["room"], "content": "hi"}

    padded = client.post("/chat/messages/", {**body, "client_id": " c-1"}, format="json")
    exact = client.post("/chat/messages/", {**body, "client_id": "c-1"}, format="json")

    assert (padded.status_code, padded.json()["code"]) == (400, "validation_error")
    assert (exact.status_code, exact.json()["client_id"]) == (201, "c-1")


def test_a_poll_closing_time_needs_its_time_zone(world: dict[str, Any], alice: Any) -> None:
    body = {"room": world["room"], "question": "q", "options": ["a", "b"]}
    client = client_for(alice)

    naive = client.post("/chat/polls/", {**body, "closes_at": "2030-01-01T00:00:00"}, format="json")
    aware = client.post(
        "/chat/polls/", {**body, "closes_at": "2030-01-01T00:00:00Z"}, format="json"
    )

    assert (naive.status_code, naive.json()["closes_at"]) == (
        400,
        ["Give the time zone (Z or +01:00)."],
    )
    assert aware.status_code == 201
