"""WebSocket tickets: POST /accounts/ws-ticket/, then ?ticket= on a socket URL, once."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from accounts import tickets
from chat.tests import factories
from chat.tests.ws import db, open_socket, socket_settings, token_for  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

FRONTEND = "https://academia.example.com"


@pytest.fixture(autouse=True)
def frontend_origin(settings: Any) -> None:
    settings.CHAT_CORS_ALLOWED_ORIGINS = [FRONTEND]


@pytest.fixture
def room(alice: Any, bob: Any) -> Any:
    return factories.make_room(alice, chat_type="private", name="Study group", members=[bob])


def token_client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def ticket_for(user: Any) -> str:
    response = token_client(user).post("/accounts/ws-ticket/")
    assert response.status_code == 200, response.content
    return response.json()["ticket"]


def browser_headers(origin: str = FRONTEND) -> list[tuple[bytes, bytes]]:
    return [(b"host", b"testserver"), (b"origin", origin.encode())]


def socket_paths(room: Any) -> dict[str, str]:
    return {"chat": f"/ws/chat/{room.pk}/", "presence": "/ws/presence/"}


FIRST_FRAME = {"chat": "connection.ready", "presence": "presence.snapshot"}


# --- the endpoint ----------------------------------------------------------------------------


def test_token_client_gets_a_single_use_ticket_valid_for_sixty_seconds(alice: Any) -> None:
    response = token_client(alice).post("/accounts/ws-ticket/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"ticket", "expires_in"}
    assert body["expires_in"] == 60
    assert len(body["ticket"]) >= 32
    assert tickets.TICKET_FORMAT.fullmatch(body["ticket"])


def test_every_ticket_is_new(alice: Any) -> None:
    assert ticket_for(alice) != ticket_for(alice)


def test_expires_in_follows_the_setting(alice: Any, settings: Any) -> None:
    settings.CHAT_WS_TICKET_TTL = 15

    assert token_client(alice).post("/accounts/ws-ticket/").json()["expires_in"] == 15


def test_unauthenticated_post_is_401(db: None) -> None:
    response = APIClient().post("/accounts/ws-ticket/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_bad_token_is_401(db: None) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    assert client.post("/accounts/ws-ticket/").status_code == 401


def test_get_is_not_allowed(alice: Any) -> None:
    assert token_client(alice).get("/accounts/ws-ticket/").status_code == 405


def test_session_client_needs_the_csrf_token(alice: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/accounts/login/")  # sets the csrftoken cookie

    refused = client.post("/accounts/ws-ticket/")
    allowed = client.post(
        "/accounts/ws-ticket/", headers={"x-csrftoken": client.cookies["csrftoken"].value}
    )

    assert refused.status_code == 403
    assert allowed.status_code == 200
    assert allowed.json()["expires_in"] == 60


def test_session_post_from_another_origin_is_refused(alice: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/accounts/login/")

    response = client.post(
        "/accounts/ws-ticket/",
        headers={"x-csrftoken": client.cookies["csrftoken"].value, "origin": FRONTEND},
        secure=True,
    )

    assert response.status_code == 403


def test_the_endpoint_is_throttled_like_the_token_endpoint(alice: Any, settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"chat_write": "2/min", "chat_read": "60/min"},
    }
    client = token_client(alice)

    codes = [client.post("/accounts/ws-ticket/").status_code for _ in range(3)]
    refused = client.post("/accounts/ws-ticket/")

    assert codes == [200, 200, 429]
    assert refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0


def test_the_endpoint_is_in_the_api_schema(alice: Any) -> None:
    response = token_client(alice).get("/api/schema/", headers={"accept": "application/json"})

    operation = response.json()["paths"]["/accounts/ws-ticket/"]["post"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    component = answer["$ref"].rsplit("/", 1)[-1]
    properties = response.json()["components"]["schemas"][component]["properties"]
    assert set(properties) == {"ticket", "expires_in"}
    assert {"tokenAuth", "cookieAuth"} <= {key for s in operation["security"] for key in s}


# --- redeeming ------------------------------------------------------------------------------


def test_a_ticket_is_redeemed_once(alice: Any) -> None:
    ticket = ticket_for(alice)

    grant = tickets.ticket_redeem(ticket)

    assert grant is not None
    assert (grant.user_id, grant.auth, grant.secret) == (alice.pk, "token", token_for(alice))
    assert tickets.ticket_redeem(ticket) is None


def test_only_the_process_whose_delete_removed_the_ticket_gets_it(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes read the ticket at once; the other one deletes it first."""
    ticket = ticket_for(alice)
    key = tickets.KEY_PREFIX + ticket
    read = cache.get

    def read_then_lose_the_race(name: str, *args: Any, **kwargs: Any) -> Any:
        value = read(name, *args, **kwargs)
        if name == key:
            assert cache.delete(key)  # the other process's redeem
        return value

    monkeypatch.setattr(cache, "get", read_then_lose_the_race)

    assert tickets.ticket_redeem(ticket) is None


@pytest.mark.parametrize("ticket", ["", "nope", "a" * 65, "bad ticket", "ä"])
def test_unknown_or_malformed_tickets_redeem_nothing(ticket: str, db: None) -> None:
    assert tickets.ticket_redeem(ticket) is None


# --- on the sockets -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["chat", "presence"])
async def test_a_ticket_opens_either_socket_once(alice: Any, room: Any, kind: str) -> None:
    path = socket_paths(room)[kind]
    ticket = await db(ticket_for)(alice)

    first = await open_socket(f"{path}?ticket={ticket}", headers=browser_headers())
    frame = await first.receive()
    again = await open_socket(f"{path}?ticket={ticket}", headers=browser_headers())

    assert frame["type"] == FIRST_FRAME[kind]
    if kind == "chat":
        assert frame["user"]["id"] == alice.pk
        assert frame["room"]["id"] == room.pk
    assert again.accepted
    assert await again.close_code() == 4401
    await first.close()


async def test_a_chat_socket_opened_with_a_ticket_resumes_after_seq(alice: Any, room: Any) -> None:
    await db(lambda: factories.make_message(alice, room, "missed"))()
    ticket = await db(ticket_for)(alice)

    socket = await open_socket(
        f"/ws/chat/{room.pk}/?after_seq={room.last_seq}&ticket={ticket}", headers=[]
    )
    ready = await socket.receive()
    replayed = await socket.receive()

    assert ready["type"] == "connection.ready"
    assert replayed["type"] == "message.created"
    assert replayed["message"]["content"] == "missed"
    await socket.close()


async def test_an_expired_ticket_is_closed_with_4401(alice: Any, room: Any, settings: Any) -> None:
    settings.CHAT_WS_TICKET_TTL = 0  # expires as it is stored
    ticket = await db(ticket_for)(alice)

    socket = await open_socket(f"/ws/chat/{room.pk}/?ticket={ticket}", headers=browser_headers())

    assert socket.accepted
    assert await socket.close_code() == 4401


async def test_a_ticket_whose_key_is_gone_is_closed_with_4401(alice: Any, room: Any) -> None:
    ticket = await db(ticket_for)(alice)
    await db(cache.delete)(tickets.KEY_PREFIX + ticket)

    socket = await open_socket("/ws/presence/?ticket=" + ticket, headers=browser_headers())

    assert await socket.close_code() == 4401


@pytest.mark.parametrize("ticket", ["", "unknown-ticket", "x" * 200])
async def test_unknown_tickets_are_closed_with_4401(room: Any, ticket: str) -> None:
    socket = await open_socket(f"/ws/chat/{room.pk}/?ticket={ticket}", headers=browser_headers())

    assert socket.accepted
    assert await socket.close_code() == 4401


async def test_a_ticket_from_a_disallowed_origin_is_refused_and_stays_unused(
    alice: Any, room: Any
) -> None:
    ticket = await db(ticket_for)(alice)
    path = f"/ws/chat/{room.pk}/?ticket={ticket}"

    refused = await open_socket(path, headers=browser_headers("https://evil.example"))
    allowed = await open_socket(path, headers=browser_headers())

    # Refused before accept: Daphne answers the handshake with HTTP 403.
    assert refused.accepted is False
    assert (await allowed.receive())["type"] == "connection.ready"
    await allowed.close()


@pytest.mark.parametrize(
    "origin", ["https://academia.example.com:8443", "http://academia.example.com", "null"]
)
async def test_origins_that_only_look_like_the_frontend_are_refused(
    alice: Any, room: Any, origin: str
) -> None:
    ticket = await db(ticket_for)(alice)

    socket = await open_socket(
        f"/ws/chat/{room.pk}/?ticket={ticket}", headers=browser_headers(origin)
    )

    assert socket.accepted is False


async def test_a_ticket_from_the_servers_own_origin_is_accepted(alice: Any, room: Any) -> None:
    ticket = await db(ticket_for)(alice)

    socket = await open_socket(
        f"/ws/chat/{room.pk}/?ticket={ticket}", headers=browser_headers("http://testserver")
    )

    assert (await socket.receive())["type"] == "connection.ready"
    await socket.close()


async def test_without_cors_origins_a_browser_on_another_origin_is_refused(
    alice: Any, room: Any, settings: Any
) -> None:
    settings.CHAT_CORS_ALLOWED_ORIGINS = []
    ticket = await db(ticket_for)(alice)

    socket = await open_socket(f"/ws/chat/{room.pk}/?ticket={ticket}", headers=browser_headers())

    assert socket.accepted is False


async def test_a_ticket_of_a_revoked_token_is_closed_with_4401(alice: Any, room: Any) -> None:
    ticket = await db(ticket_for)(alice)
    revoked = await db(lambda: token_client(alice).delete("/accounts/token/").status_code)()

    socket = await open_socket(f"/ws/chat/{room.pk}/?ticket={ticket}", headers=browser_headers())

    assert revoked == 204
    assert await socket.close_code() == 4401


async def test_a_session_ticket_opens_a_socket_that_ends_with_the_session(
    alice: Any, room: Any, settings: Any
) -> None:
    settings.CHAT_WS_TICK_SECONDS = 0.1
    settings.CHAT_WS_REVALIDATE_SECONDS = 0.1

    def session_ticket() -> tuple[Client, str]:
        client = Client()
        client.force_login(alice)
        return client, client.post("/accounts/ws-ticket/").json()["ticket"]

    client, ticket = await db(session_ticket)()
    socket = await open_socket(f"/ws/chat/{room.pk}/?ticket={ticket}", headers=browser_headers())
    ready = await socket.receive()
    await db(lambda: client.post("/accounts/logout/"))()

    assert ready["user"]["id"] == alice.pk
    assert await socket.close_code() == 4401


async def test_an_outsider_with_a_ticket_still_gets_4404_for_a_private_room(
    charlie: Any, room: Any
) -> None:
    ticket = await db(ticket_for)(charlie)

    socket = await open_socket(f"/ws/chat/{room.pk}/?ticket={ticket}", headers=browser_headers())

    assert await socket.close_code() == 4404
