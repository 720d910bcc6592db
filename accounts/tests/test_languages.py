"""The user's language: the setting (PATCH /accounts/me/), and the language the
page, the JavaScript catalogue and the API's error details are answered in
(the setting, else the browser's Accept-Language)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.services import user_language_set
from chat import errors
from chat.tests import factories


def session_client(user: Any, **headers: str) -> APIClient:
    client = APIClient(headers=headers)
    client.force_login(user)
    return client


# --- the setting --------------------------------------------------------------------------


def test_a_new_user_follows_the_browser(alice: Any) -> None:
    assert alice.language == ""
    assert session_client(alice).get("/accounts/me/").json()["language"] == ""


def test_the_service_sets_and_clears_the_language(alice: Any) -> None:
    user_language_set(user=alice, language="de")
    alice.refresh_from_db()
    assert alice.language == "de"

    user_language_set(user=alice, language="")
    alice.refresh_from_db()
    assert alice.language == ""


def test_the_service_refuses_an_unknown_language(alice: Any) -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        user_language_set(user=alice, language="fr")
    assert "language" in refused.value.fields
    alice.refresh_from_db()
    assert alice.language == ""


def test_patch_me_sets_the_language(alice: Any) -> None:
    client = session_client(alice)

    response = client.patch("/accounts/me/", {"language": "de"}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "id": alice.pk,
        "username": "alice",
        "display_name": "Alice",
        "language": "de",
    }
    alice.refresh_from_db()
    assert alice.language == "de"
    assert client.get("/accounts/me/").json()["language"] == "de"


def test_patch_me_with_a_token_sets_the_language(alice: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}")

    assert client.patch("/accounts/me/", {"language": "en"}, format="json").status_code == 200
    alice.refresh_from_db()
    assert alice.language == "en"


def test_patch_me_with_an_unknown_language_is_400_in_the_error_format(alice: Any) -> None:
    response = session_client(alice).patch("/accounts/me/", {"language": "xx"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["detail"] == "Unknown language; choose one of '', 'en', 'de'."
    assert body["language"] == ["Not one of the available languages."]
    alice.refresh_from_db()
    assert alice.language == ""


@pytest.mark.parametrize("value", [5, None, ["de"], "de\x00", "DE"])
def test_patch_me_refuses_what_is_not_a_language_code(alice: Any, value: Any) -> None:
    response = session_client(alice).patch("/accounts/me/", {"language": value}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_patch_me_without_language_changes_nothing(alice: Any) -> None:
    response = session_client(alice).patch("/accounts/me/", {}, format="json")

    assert response.status_code == 200
    assert response.json()["language"] == ""


def test_patch_me_refusal_is_in_german_for_a_german_browser(alice: Any) -> None:
    client = session_client(alice, accept_language="de-DE,de;q=0.9")

    body = client.patch("/accounts/me/", {"language": "xx"}, format="json").json()

    assert body["code"] == "validation_error"
    assert body["detail"] == "Unbekannte Sprache; wähle eine aus '', 'en', 'de'."
    assert body["language"] == ["Keine der verfügbaren Sprachen."]


def test_patch_me_needs_credentials(db: None) -> None:
    response = APIClient().patch("/accounts/me/", {"language": "de"}, format="json")
    assert response.status_code == 401


# --- API error details ------------------------------------------------------------------


def test_api_error_detail_is_english_without_accept_language(alice: Any) -> None:
    body = session_client(alice).get("/chat/rooms/999999/").json()
    assert body == {"detail": "No such room.", "code": "not_found"}


def test_api_error_detail_is_german_for_accept_language_de(alice: Any) -> None:
    response = session_client(alice, accept_language="de").get("/chat/rooms/999999/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Diesen Raum gibt es nicht.", "code": "not_found"}
    assert response["Content-Language"] == "de"


def test_api_validation_details_are_german_for_accept_language_de(alice: Any) -> None:
    room = factories.make_room(alice, chat_type="public", name="Lobby")
    client = session_client(alice, accept_language="de")

    response = client.post("/chat/messages/", {"room": room.pk, "content": "   "}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["detail"] == "Eine Nachricht darf nicht leer sein."
    assert body["content"] == ["Dieses Feld darf nicht leer sein."]


def test_drf_own_errors_are_german_too(db: None) -> None:
    response = APIClient(headers={"accept-language": "de"}).get("/accounts/me/")

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Anmeldedaten fehlen.",
        "code": "not_authenticated",
    }


def test_the_users_setting_overrides_the_browser(alice: Any) -> None:
    alice.language = "en"
    alice.save()

    body = session_client(alice, accept_language="de").get("/chat/rooms/999999/").json()

    assert body == {"detail": "No such room.", "code": "not_found"}


def test_the_users_german_setting_applies_without_accept_language(alice: Any) -> None:
    alice.language = "de"
    alice.save()

    body = session_client(alice).get("/chat/rooms/999999/").json()

    assert body["detail"] == "Diesen Raum gibt es nicht."


def test_a_token_users_setting_overrides_the_browser(alice: Any) -> None:
    alice.language = "de"
    alice.save()
    client = APIClient(headers={"accept-language": "en"})
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}")

    body = client.get("/chat/rooms/999999/").json()

    assert body == {"detail": "Diesen Raum gibt es nicht.", "code": "not_found"}


def test_a_sign_in_lockout_is_german_for_a_german_browser(db: None, settings: Any) -> None:
    factories.make_user("dora")
    client = APIClient(headers={"accept-language": "de"})
    body = {"username": "dora", "password": "wrong"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/token/", body, format="json")

    response = client.post("/accounts/token/", body, format="json")

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert response.json()["detail"].startswith("Zu viele fehlgeschlagene Anmeldungen")


# --- the page and the JavaScript catalogue -----------------------------------------------


def test_the_page_is_german_for_a_german_browser(alice: Any) -> None:
    client = Client(headers={"accept-language": "de-DE,de;q=0.9,en;q=0.5"})
    client.force_login(alice)

    page = client.get("/").content.decode()

    assert '<html lang="de">' in page
    assert 'placeholder="Schreib eine Nachricht…"' in page
    assert ">Senden</button>" in page
    assert ">Neuer Raum</button>" in page
    assert 'aria-label="Abmelden"' in page
    # The catalogue is loaded before the modules that use it.
    assert page.index("/jsi18n/") < page.index("chat/main.js")


def test_the_page_is_english_by_default(alice: Any) -> None:
    client = Client()
    client.force_login(alice)

    page = client.get("/").content.decode()

    assert '<html lang="en">' in page
    assert 'placeholder="Write a message…"' in page
    assert ">Send</button>" in page


def test_the_page_follows_the_users_setting_over_the_browser(alice: Any) -> None:
    alice.language = "en"
    alice.save()
    client = Client(headers={"accept-language": "de"})
    client.force_login(alice)

    page = client.get("/").content.decode()

    assert '<html lang="en">' in page
    assert ">Send</button>" in page
    assert '<option value="en" lang="en" selected>' in page


def test_the_login_page_is_german_for_a_german_browser(db: None) -> None:
    page = Client(headers={"accept-language": "de"}).get("/accounts/login/").content.decode()

    assert '<html lang="de">' in page
    assert '<h1 id="auth-title">Anmelden</h1>' in page
    assert "Benutzername" in page


def test_jsi18n_serves_the_german_catalogue(db: None) -> None:
    response = Client(headers={"accept-language": "de"}).get("/jsi18n/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    script = response.content.decode()
    assert '"Edit message": "Nachricht bearbeiten"' in script
    assert '"Reconnecting\\u2026": "Verbindung wird wiederhergestellt\\u2026"' in script
    assert '"%(count)s reply": [' in script
    assert "globals.ngettext = django.ngettext" in script


def test_jsi18n_follows_the_users_setting(alice: Any) -> None:
    alice.language = "de"
    alice.save()
    client = Client()
    client.force_login(alice)

    assert '"Edit message": "Nachricht bearbeiten"' in client.get("/jsi18n/").content.decode()


def test_jsi18n_is_english_without_a_german_browser(db: None) -> None:
    script = Client().get("/jsi18n/").content.decode()

    assert "Nachricht bearbeiten" not in script
    assert "globals.gettext = django.gettext" in script
