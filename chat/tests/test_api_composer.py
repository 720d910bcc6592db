"""The composer's endpoints: the Markdown preview (``POST /chat/render/``) and the emoji
picker's catalogue (``GET /chat/emoji/``)."""

from __future__ import annotations

from typing import Any

import pytest

from chat import services
from chat.rendering import SKIN_TONES, render_content
from chat.tests import factories
from chat.tests.api_support import client_for

pytestmark = pytest.mark.django_db


def preview(user: Any, room: Any, content: str) -> Any:
    return client_for(user).post(
        "/chat/render/", {"room": room.pk, "content": content}, format="json"
    )


# --- the preview ---------------------------------------------------------------------------


def test_the_preview_is_what_sending_stores(alice: Any, bob: Any, charlie: Any) -> None:
    room = factories.make_room(alice, chat_type="private", name="Pair", members=[bob])
    text = "**Hi** @bob and @charlie: `x = 1` :thumbsup: $a^2$ https://example.com/a"

    answer = preview(alice, room, text)

    assert answer.status_code == 200
    sent = services.message_send(actor=alice, room=room, content=text).message
    assert answer.data == {"content_html": sent.content_html}
    assert "<strong>Hi</strong>" in sent.content_html
    assert "👍" in sent.content_html
    # bob is in the room and marked up; charlie may not see it and stays plain text.
    assert f'data-user-id="{bob.pk}"' in sent.content_html
    assert f'data-user-id="{charlie.pk}"' not in sent.content_html


def test_the_preview_stores_and_sends_nothing(captured_events: Any, alice: Any) -> None:
    room = factories.make_room(alice)
    captured_events.clear()

    assert preview(alice, room, "just looking").status_code == 200

    assert captured_events == []
    assert room.messages.filter(content="just looking").exists() is False


def test_an_empty_preview_is_empty_html(alice: Any) -> None:
    room = factories.make_room(alice)

    assert preview(alice, room, "   ").data == {"content_html": ""}


def test_the_preview_checks_the_content_as_sending_does(
    alice: Any, bob: Any, settings: Any
) -> None:
    settings.CHAT_MAX_MESSAGE_LENGTH = 10
    room = factories.make_room(alice, chat_type="public", members=[bob])

    too_long = preview(bob, room, "x" * 11)
    everyone = preview(bob, room, "@all hello")

    assert too_long.status_code == 400
    assert everyone.status_code == 403
    assert preview(alice, room, "@all hi").status_code == 200


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("alice", 200),  # room admin
        ("bob", 200),  # member
        ("ines", 404),  # instructor of a course, not in this private room
        ("charlie", 404),  # outsider
        ("sam", 404),  # support staff
        ("stella", 404),  # is_staff
    ],
)
def test_who_may_preview_in_a_private_room(
    persona: str, expected: int, request: pytest.FixtureRequest, alice: Any, bob: Any
) -> None:
    room = factories.make_room(alice, chat_type="private", name="Pair", members=[bob])

    answer = preview(request.getfixturevalue(persona), room, "hello")

    assert answer.status_code == expected


def test_anyone_who_sees_a_public_room_may_preview_in_it(alice: Any, charlie: Any) -> None:
    room = factories.make_room(alice, chat_type="public")

    assert preview(charlie, room, "*hi*").data == {"content_html": "<p><em>hi</em></p>"}


def test_signed_out_previews_are_refused(alice: Any) -> None:
    room = factories.make_room(alice)

    answer = client_for(None).post(
        "/chat/render/", {"room": room.pk, "content": "x"}, format="json"
    )

    assert answer.status_code in {401, 403}


def test_previews_have_their_own_throttle_and_leave_sending_alone(
    alice: Any, settings: Any
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "chat_preview": "2/min",
        },
    }
    room = factories.make_room(alice)
    api = client_for(alice)

    codes = [preview(alice, room, f"draft {n}").status_code for n in range(3)]

    assert codes == [200, 200, 429]
    sent = api.post("/chat/messages/", {"room": room.pk, "content": "sent"}, format="json")
    assert sent.status_code == 201


# --- the emoji catalogue -------------------------------------------------------------------


def test_the_catalogue_names_each_emoji_with_its_shortcodes(alice: Any) -> None:
    answer = client_for(alice).get("/chat/emoji/")

    assert answer.status_code == 200
    assert "max-age=86400" in answer["Cache-Control"]
    by_emoji = {item["emoji"]: item for item in answer.data}
    assert by_emoji["👍"] == {"emoji": "👍", "name": "thumbs up", "aliases": ["thumbsup", "+1"]}
    assert answer.data[0]["emoji"] == "😀"
    assert len(by_emoji) == len(answer.data) > 1500
    assert not [e for e in by_emoji if any(ord(char) in SKIN_TONES for char in e)]


@pytest.mark.parametrize("emoji", ["😀", "🎉", "🐍", "❤️", "🇩🇪"])
def test_a_catalogue_name_typed_as_a_shortcode_renders_that_emoji(alice: Any, emoji: str) -> None:
    by_emoji = {item["emoji"]: item for item in client_for(alice).get("/chat/emoji/").data}
    name = by_emoji[emoji]["name"].replace(" ", "_")

    assert render_content(f":{name}:") == f"<p>{emoji}</p>"


def test_signed_out_clients_get_no_catalogue() -> None:
    assert client_for(None).get("/chat/emoji/").status_code in {401, 403}
