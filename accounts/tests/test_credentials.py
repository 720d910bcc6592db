"""Credentials: lockout after repeated failures on every login path, token revocation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from chat.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def limit(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3


def token_attempt(
    username: str, password: str, address: str = "198.51.100.7", **headers: Any
) -> Any:
    return APIClient().post(
        "/accounts/token/",
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=address,
        **headers,
    )


# --- lockout ------------------------------------------------------------------------------


def test_a_username_is_locked_out_of_the_token_endpoint_whatever_the_address(
    alice: Any, bob: Any
) -> None:
    failures = [token_attempt("bob", "wrong", f"198.51.100.{n}").status_code for n in (1, 2)]
    locking = token_attempt("bob", "wrong", "198.51.100.3")
    right_password = token_attempt("bob", PASSWORD, "198.51.100.4")
    other_user = token_attempt("alice", PASSWORD, "198.51.100.5")

    assert failures == [400, 400]
    assert locking.status_code == 429
    assert right_password.status_code == 429
    assert right_password.json() == {
        "detail": "Too many failed sign-ins; try again in 15 minutes. "
        "Expected available in 900 seconds.",
        "code": "throttled",
    }
    assert right_password["Retry-After"] == "900"
    assert not Token.objects.filter(user=bob).exists()
    assert other_user.status_code == 200


def test_a_client_address_is_locked_out_whatever_the_username(
    alice: Any, bob: Any, charlie: Any
) -> None:
    codes = [token_attempt(name, "wrong", "203.0.113.9").status_code for name in ("a", "b", "c")]
    alice_there = token_attempt("alice", PASSWORD, "203.0.113.9")
    alice_elsewhere = token_attempt("alice", PASSWORD, "203.0.113.10")

    assert codes == [400, 400, 429]
    assert alice_there.status_code == 429
    assert alice_elsewhere.status_code == 200


def test_a_forged_forwarded_for_does_not_escape_the_address_lockout(alice: Any) -> None:
    codes = [
        token_attempt(
            f"user{n}", "wrong", "203.0.113.9", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"
        ).status_code
        for n in range(4)
    ]

    assert codes == [400, 400, 429, 429]


def test_a_trusted_proxy_s_forwarded_for_names_the_client(alice: Any, settings: Any) -> None:
    settings.CHAT_TRUSTED_PROXIES = ["127.0.0.1"]

    def via_proxy(username: str, client: str) -> int:
        return token_attempt(
            username, "wrong", "127.0.0.1", HTTP_X_FORWARDED_FOR=client
        ).status_code

    codes = [via_proxy(f"user{n}", "192.0.2.50") for n in range(3)]
    other_client = token_attempt("alice", PASSWORD, "127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.51")

    assert codes == [400, 400, 429]
    assert other_client.status_code == 200


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_the_login_pages_lock_out_too(bob: Any, stella: Any, path: str) -> None:
    client = Client(REMOTE_ADDR="198.51.100.20")

    def attempt(username: str, password: str) -> Any:
        return client.post(path, {"username": username, "password": password})

    failures = [attempt("stella", "wrong").status_code for _ in range(2)]
    locked = attempt("stella", "wrong")
    right_password = attempt("stella", PASSWORD)

    assert failures == [200, 200]
    assert locked.status_code == 429
    assert right_password.status_code == 429
    assert right_password["Retry-After"] == "900"
    assert "Too many failed sign-ins; try again in 15 minutes." in right_password.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_overlong_username_is_refused_and_counted_like_any_other(bob: Any) -> None:
    # Longer than django-axes' column for attempted usernames (255): PostgreSQL
    # refused the insert and every sign-in path answered 500.
    name = "u" * 300
    token_codes = [token_attempt(name, "wrong", "198.51.100.30").status_code for _ in range(3)]
    page_codes = [
        Client(REMOTE_ADDR=f"198.51.100.{n}")
        .post(path, {"username": name, "password": "wrong"})
        .status_code
        for n, path in ((31, "/accounts/login/"), (32, "/admin/login/"))
    ]

    assert token_codes == [400, 400, 429]
    # The name's three failures lock it on the pages too, from other addresses.
    assert page_codes == [429, 429]


def test_failures_are_forgotten_after_the_cool_off(bob: Any) -> None:
    from axes.models import AccessAttempt
    from django.utils import timezone

    for _ in range(3):
        token_attempt("bob", "wrong")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert token_attempt("bob", PASSWORD).status_code == 200


# --- tokens -------------------------------------------------------------------------------


def test_delete_revokes_the_caller_s_token(alice: Any, bob: Any) -> None:
    token = Token.objects.create(user=alice)
    kept = Token.objects.create(user=bob)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    revoked = client.delete("/accounts/token/")
    after = client.get("/accounts/me/")

    assert revoked.status_code == 204
    assert after.status_code == 401
    assert list(Token.objects.values_list("key", flat=True)) == [kept.key]


def test_delete_over_a_session_revokes_that_user_s_token(alice: Any) -> None:
    Token.objects.create(user=alice)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    client.cookies["csrftoken"] = "b" * 32

    without_csrf = client.delete("/accounts/token/")
    with_csrf = client.delete("/accounts/token/", HTTP_X_CSRFTOKEN="b" * 32)
    again = client.delete("/accounts/token/", HTTP_X_CSRFTOKEN="b" * 32)

    assert without_csrf.status_code == 403
    assert (with_csrf.status_code, again.status_code) == (204, 204)
    assert not Token.objects.filter(user=alice).exists()


def test_delete_needs_credentials() -> None:
    assert APIClient().delete("/accounts/token/").status_code == 401


def test_signing_in_ignores_a_stale_authorization_header(alice: Any) -> None:
    response = APIClient().post(
        "/accounts/token/",
        {"username": "alice", "password": PASSWORD},
        format="json",
        HTTP_AUTHORIZATION="Token revoked-long-ago",
    )

    assert response.status_code == 200


def test_a_password_change_revokes_the_user_s_tokens(alice: Any, bob: Any) -> None:
    Token.objects.create(user=alice)
    Token.objects.create(user=bob)

    alice.set_password("a new long passphrase")
    alice.save()

    assert list(Token.objects.values_list("user__username", flat=True)) == ["bob"]


def test_the_password_change_page_revokes_the_tokens(stella: Any) -> None:
    token = Token.objects.create(user=stella)
    client = Client()
    client.force_login(stella)

    response = client.post(
        "/admin/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a new long passphrase",
            "new_password2": "a new long passphrase",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/password_change/done/"
    assert not Token.objects.filter(key=token.key).exists()


def test_deactivation_revokes_the_user_s_tokens(alice: Any) -> None:
    token = Token.objects.create(user=alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    alice.is_active = False
    alice.save(update_fields=["is_active"])
    alice.is_active = True
    alice.save()

    assert not Token.objects.filter(user=alice).exists()
    assert client.get("/accounts/me/").status_code == 401


def test_other_saves_keep_the_tokens(alice: Any) -> None:
    token = Token.objects.create(user=alice)

    alice.display_name = "Alice A."
    alice.save()
    alice.last_login = alice.date_joined
    alice.save(update_fields=["last_login"])
    Client().post("/accounts/login/", {"username": "alice", "password": PASSWORD})

    assert Token.objects.filter(key=token.key).exists()
