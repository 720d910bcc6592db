"""Sign-in for scripts (token) and browsers (login/logout pages), and the current user."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from chat.tests.factories import PASSWORD


def test_token_for_the_right_password(alice: Any) -> None:
    response = APIClient().post(
        "/accounts/token/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=alice).key}


def test_token_again_returns_the_same_token(alice: Any) -> None:
    client = APIClient()
    body = {"username": "alice", "password": PASSWORD}
    first = client.post("/accounts/token/", body, format="json").json()
    assert client.post("/accounts/token/", body, format="json").json() == first


def test_wrong_password_gets_400_and_no_token(alice: Any) -> None:
    response = APIClient().post(
        "/accounts/token/", {"username": "alice", "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "token" not in response.json()
    assert not Token.objects.filter(user=alice).exists()


def test_me_with_a_token_is_the_user(alice: Any) -> None:
    token = Token.objects.create(user=alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get("/accounts/me/")
    assert response.status_code == 200
    assert response.json() == {
        "id": alice.pk,
        "username": "alice",
        "display_name": "Alice",
        "language": "",
    }


def test_me_without_credentials_is_401_with_the_token_challenge(db: None) -> None:
    response = APIClient().get("/accounts/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_me_with_a_bad_token_is_401(db: None) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/accounts/me/").status_code == 401


def test_login_page_has_a_csrf_protected_form(client: Client, db: None) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "csrfmiddlewaretoken" in page
    assert 'name="username"' in page and 'name="password"' in page


def test_login_signs_in_and_redirects_to_the_chat(alice: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("login"))
    token = page.context["csrf_token"]
    response = client.post(
        reverse("login"),
        {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": str(token)},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("chat-page")
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_login_with_a_wrong_password_stays_on_the_page(client: Client, alice: Any) -> None:
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_and_signs_out(client: Client, alice: Any) -> None:
    client.force_login(alice)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session
