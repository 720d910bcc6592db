"""Messages over REST: send, idempotency, edit, delete, reactions, replies, search, files."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import FileResponse
from django.utils import timezone
from PIL import Image

from chat import services
from chat.models import ChatMessage
from chat.tests import factories
from chat.tests.api_support import (
    FILE_KEYS,
    PAGE_KEYS,
    USER_KEYS,
    assert_message_shape,
    client_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def room(alice: Any, bob: Any) -> Any:
    return factories.make_room(alice, name="Lobby", members=[bob])


def _age(message: ChatMessage, seconds: int) -> None:
    ChatMessage.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )


def png_bytes(size: tuple[int, int] = (40, 30)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(output, format="PNG")
    return output.getvalue()


def test_send_returns_201_with_the_message(room: Any, bob: Any) -> None:
    response = client_for(bob).post(
        "/chat/messages/",
        {"room": room.pk, "content": "  **hi** @alice  ", "client_id": "c-1"},
        format="json",
    )

    assert response.status_code == 201
    message = response.data
    assert_message_shape(message)
    assert message["room_id"] == room.pk
    assert message["sender"]["username"] == "bob"
    assert message["message_type"] == "text"
    assert message["content"] == "**hi** @alice"
    assert "<strong>hi</strong>" in message["content_html"]
    assert message["mentions"] == [room.created_by_id]
    assert message["client_id"] == "c-1"
    assert message["file"] is None
    assert message["reactions"] == []
    assert (message["is_edited"], message["is_deleted"]) == (False, False)


def test_same_client_id_twice_gives_the_first_message_with_200(room: Any, bob: Any) -> None:
    client = client_for(bob)
    body = {"room": room.pk, "content": "once", "client_id": "dup-1"}

    first = client.post("/chat/messages/", body, format="json")
    second = client.post("/chat/messages/", {**body, "content": "twice"}, format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.data["id"] == first.data["id"]
    assert second.data["content"] == "once"
    assert ChatMessage.objects.filter(sender=bob, client_id="dup-1").count() == 1


@pytest.mark.parametrize("change", ["muted", "archived"])
def test_a_resent_client_id_is_answered_with_the_first_message_after_posting_closed(
    room: Any, alice: Any, bob: Any, change: str
) -> None:
    """A client resending after a reconnect gets its acknowledgement, even when it
    may no longer post: the message is there already."""
    client = client_for(bob)

    def send_each_kind() -> list[Any]:
        """A text, an upload and a poll, each with its own client_id."""
        return [
            client.post(
                "/chat/messages/",
                {"room": room.pk, "content": "sent", "client_id": "t-1"},
                format="json",
            ),
            client.post(
                "/chat/messages/",
                {
                    "room": room.pk,
                    "client_id": "u-1",
                    "file": SimpleUploadedFile("p.png", png_bytes()),
                },
                format="multipart",
            ),
            client.post(
                "/chat/polls/",
                {
                    "room": room.pk,
                    "question": "Lunch?",
                    "options": ["yes", "no"],
                    "client_id": "p-1",
                },
                format="json",
            ),
        ]

    first = send_each_kind()
    assert [response.status_code for response in first] == [201, 201, 201]
    if change == "muted":
        services.participant_update(actor=alice, room=room, user_id=bob.pk, is_muted=True)
    else:
        services.room_archive(actor=alice, room=room)

    again = send_each_kind()
    new = client.post(
        "/chat/messages/", {"room": room.pk, "content": "new", "client_id": "t-2"}, format="json"
    )

    assert [response.status_code for response in again] == [200, 200, 200]
    assert [response.data["id"] for response in again] == [r.data["id"] for r in first]
    assert new.status_code == 403
    assert new.data["code"] == ("muted" if change == "muted" else "room_archived")
    assert ChatMessage.objects.filter(sender=bob).count() == 3


@pytest.mark.parametrize("content", ["\u200b", " \u200b\u200d ", "\ufeff\u2060"])
def test_a_message_of_zero_width_characters_only_is_empty(
    room: Any, bob: Any, content: str
) -> None:
    client = client_for(bob)

    refused = client.post("/chat/messages/", {"room": room.pk, "content": content}, format="json")
    joined = client.post("/chat/messages/", {"room": room.pk, "content": "a\u200db"}, format="json")

    assert (refused.status_code, refused.json()["code"]) == (400, "validation_error")
    assert refused.json()["detail"] == "A message cannot be empty."
    assert (joined.status_code, joined.json()["content"]) == (201, "a\u200db")


def test_send_to_invisible_room_is_404(alice: Any, charlie: Any) -> None:
    secret = factories.make_room(alice, chat_type="private")

    response = client_for(charlie).post(
        "/chat/messages/", {"room": secret.pk, "content": "hi"}, format="json"
    )

    assert response.status_code == 404


def test_send_to_visible_room_without_joining_is_403(room: Any, charlie: Any) -> None:
    response = client_for(charlie).post(
        "/chat/messages/", {"room": room.pk, "content": "hi"}, format="json"
    )

    assert response.status_code == 403
    assert response.data["code"] == "forbidden"


def test_reply_to_a_message_of_another_room_is_400(alice: Any, room: Any, bob: Any) -> None:
    other = factories.make_room(alice, name="Other")
    foreign = factories.make_message(alice, other)

    response = client_for(bob).post(
        "/chat/messages/",
        {"room": room.pk, "content": "re", "reply_to": foreign.pk},
        format="json",
    )

    assert response.status_code == 400
    assert "reply_to" in response.data


def test_a_reply_to_a_deleted_message_is_refused_as_such(alice: Any, room: Any, bob: Any) -> None:
    gone = factories.make_message(alice, room, "withdrawn")
    services.message_delete(actor=alice, message=gone)

    direct = client_for(bob).post(
        "/chat/messages/", {"room": room.pk, "content": "re", "reply_to": gone.pk}, format="json"
    )
    threaded = client_for(bob).post(
        f"/chat/messages/{gone.pk}/reply/", {"content": "re"}, format="json"
    )

    for response in (direct, threaded):
        assert (response.status_code, response.data["code"]) == (400, "validation_error")
        assert response.data["detail"] == "A deleted message takes no replies."
        assert response.data["reply_to"] == ["Deleted."]


def test_all_mention_by_a_member_is_403(room: Any, bob: Any) -> None:
    response = client_for(bob).post(
        "/chat/messages/", {"room": room.pk, "content": "hey @all"}, format="json"
    )

    assert response.status_code == 403


def test_mention_of_a_user_who_cannot_see_the_room_is_not_stored(
    alice: Any, bob: Any, charlie: Any
) -> None:
    secret = factories.make_room(alice, chat_type="private", members=[bob])

    response = client_for(bob).post(
        "/chat/messages/", {"room": secret.pk, "content": "@charlie @alice"}, format="json"
    )

    assert response.status_code == 201
    assert response.data["mentions"] == [alice.pk]


def test_content_over_the_limit_is_400(room: Any, bob: Any, settings: Any) -> None:
    settings.CHAT_MAX_MESSAGE_LENGTH = 10

    response = client_for(bob).post(
        "/chat/messages/", {"room": room.pk, "content": "x" * 11}, format="json"
    )

    assert response.status_code == 400
    assert "content" in response.data


def test_get_message(room: Any, alice: Any, bob: Any) -> None:
    message = factories.make_message(alice, room, "look")

    response = client_for(bob).get(f"/chat/messages/{message.pk}/")

    assert response.status_code == 200
    assert_message_shape(response.data)
    assert response.data["content"] == "look"


def test_outsider_gets_404_for_a_private_message(alice: Any, charlie: Any) -> None:
    secret = factories.make_room(alice, chat_type="private")
    message = factories.make_message(alice, secret)

    assert client_for(charlie).get(f"/chat/messages/{message.pk}/").status_code == 404


@pytest.mark.parametrize("method", ["put", "patch"])
def test_sender_edits_within_the_window(room: Any, bob: Any, method: str) -> None:
    message = factories.make_message(bob, room, "draft")

    response = getattr(client_for(bob), method)(
        f"/chat/messages/{message.pk}/", {"content": "final"}, format="json"
    )

    assert response.status_code == 200
    assert response.data["content"] == "final"
    assert response.data["is_edited"] is True


def test_edit_after_the_window_is_403_edit_window_closed(room: Any, bob: Any) -> None:
    message = factories.make_message(bob, room, "draft")
    _age(message, 301)

    response = client_for(bob).patch(
        f"/chat/messages/{message.pk}/", {"content": "late"}, format="json"
    )

    assert response.status_code == 403
    assert response.data["code"] == "edit_window_closed"


def test_edit_window_follows_the_setting(room: Any, bob: Any, settings: Any) -> None:
    settings.CHAT_MESSAGE_EDIT_TIMEOUT = 5
    message = factories.make_message(bob, room, "draft")
    _age(message, 6)

    response = client_for(bob).patch(
        f"/chat/messages/{message.pk}/", {"content": "late"}, format="json"
    )

    assert response.status_code == 403


def test_only_the_sender_edits(room: Any, alice: Any, bob: Any) -> None:
    message = factories.make_message(bob, room, "mine")

    response = client_for(alice).patch(
        f"/chat/messages/{message.pk}/", {"content": "yours"}, format="json"
    )

    assert response.status_code == 403


def test_sender_deletes_within_the_window_and_the_message_keeps_its_place(
    room: Any, bob: Any
) -> None:
    message = factories.make_message(bob, room, "oops")
    client = client_for(bob)

    response = client.delete(f"/chat/messages/{message.pk}/")
    shown = client.get(f"/chat/messages/{message.pk}/")

    assert response.status_code == 204
    assert shown.data["is_deleted"] is True
    assert (shown.data["content"], shown.data["content_html"], shown.data["file"]) == (
        "",
        "",
        None,
    )


def test_sender_may_not_delete_after_the_window_but_a_moderator_may(
    room: Any, alice: Any, bob: Any
) -> None:
    message = factories.make_message(bob, room, "old")
    _age(message, 301)

    by_sender = client_for(bob).delete(f"/chat/messages/{message.pk}/")
    by_admin = client_for(alice).delete(f"/chat/messages/{message.pk}/")

    assert by_sender.status_code == 403
    assert by_sender.data["code"] == "edit_window_closed"
    assert by_admin.status_code == 204


def test_react_adds_once_and_lists_users(room: Any, alice: Any, bob: Any) -> None:
    message = factories.make_message(alice, room, "vote")
    client = client_for(bob)

    first = client.post(f"/chat/messages/{message.pk}/react/", {"emoji": "👍"}, format="json")
    again = client.post(
        f"/chat/messages/{message.pk}/react/", {"emoji": ":thumbsup:"}, format="json"
    )
    client_for(alice).post(f"/chat/messages/{message.pk}/react/", {"emoji": "👍"}, format="json")
    listed = client.get(f"/chat/messages/{message.pk}/reactions/")

    assert (first.status_code, again.status_code) == (201, 200)
    assert_message_shape(first.data)
    assert first.data["reactions"] == [{"emoji": "👍", "count": 1, "user_ids": [bob.pk]}]
    assert listed.status_code == 200
    assert [(r["emoji"], r["count"]) for r in listed.data] == [("👍", 2)]
    assert [u["username"] for u in listed.data[0]["users"]] == ["bob", "alice"]
    assert set(listed.data[0]["users"][0]) == USER_KEYS


def test_an_emoji_with_or_without_its_presentation_selector_is_one_reaction(
    room: Any, alice: Any, bob: Any
) -> None:
    message = factories.make_message(alice, room, "love it")
    react = f"/chat/messages/{message.pk}/react/"

    plain = client_for(bob).post(react, {"emoji": "\u2764"}, format="json")  # ❤
    qualified = client_for(bob).post(react, {"emoji": "\u2764\ufe0f"}, format="json")  # ❤️
    by_alice = client_for(alice).post(react, {"emoji": ":red_heart:"}, format="json")
    beetle = client_for(alice).post(react, {"emoji": "\U0001fab2"}, format="json")  # 🪲
    removed = client_for(bob).delete(react, {"emoji": "\u2764"}, format="json")

    assert (plain.status_code, qualified.status_code, by_alice.status_code) == (201, 200, 201)
    assert plain.data["reactions"] == [{"emoji": "\u2764\ufe0f", "count": 1, "user_ids": [bob.pk]}]
    assert [r["emoji"] for r in beetle.data["reactions"]] == ["\u2764\ufe0f", "\U0001fab2"]
    assert removed.status_code == 204
    remaining = client_for(bob).get(f"/chat/messages/{message.pk}/reactions/").data
    assert [(r["emoji"], r["count"]) for r in remaining] == [("\u2764\ufe0f", 1), ("\U0001fab2", 1)]


def test_the_migration_merges_reactions_stored_both_ways(room: Any, alice: Any, bob: Any) -> None:
    import importlib

    from django.apps import apps

    from chat.models import MessageReaction

    message = factories.make_message(alice, room, "old data")
    for user, emoji in ((bob, "\u2764"), (bob, "\u2764\ufe0f"), (alice, "\u2764")):
        MessageReaction.objects.create(message=message, user=user, emoji=emoji)
    migration = importlib.import_module("chat.migrations.0018_reactions_fully_qualified")

    migration.forwards(apps, None)

    assert sorted(
        MessageReaction.objects.filter(message=message).values_list("user__username", "emoji")
    ) == [("alice", "\u2764\ufe0f"), ("bob", "\u2764\ufe0f")]


def test_unreact_with_body_or_query(room: Any, alice: Any, bob: Any) -> None:
    message = factories.make_message(alice, room, "vote")
    services.reaction_add(actor=bob, message=message, emoji="🎉")
    services.reaction_add(actor=bob, message=message, emoji="👍")
    client = client_for(bob)

    by_body = client.delete(f"/chat/messages/{message.pk}/react/", {"emoji": "🎉"}, format="json")
    by_query = client.delete(f"/chat/messages/{message.pk}/react/?emoji=%F0%9F%91%8D")

    assert (by_body.status_code, by_query.status_code) == (204, 204)
    assert client.get(f"/chat/messages/{message.pk}/reactions/").data == []


@pytest.mark.parametrize("emoji", ["", "abc", "👍👍", 5, "x" * 70])
def test_react_rejects_what_is_not_one_emoji(room: Any, alice: Any, bob: Any, emoji: Any) -> None:
    message = factories.make_message(alice, room)

    response = client_for(bob).post(
        f"/chat/messages/{message.pk}/react/", {"emoji": emoji}, format="json"
    )

    assert response.status_code == 400


def test_reply_sets_reply_to_in_the_same_room(room: Any, alice: Any, bob: Any) -> None:
    parent = factories.make_message(alice, room, "question")

    response = client_for(bob).post(
        f"/chat/messages/{parent.pk}/reply/",
        {"content": "answer", "client_id": "r-1"},
        format="json",
    )

    assert response.status_code == 201
    assert_message_shape(response.data)
    assert (response.data["reply_to"], response.data["room_id"]) == (parent.pk, room.pk)


def test_reply_takes_a_file_like_a_message(room: Any, alice: Any, bob: Any) -> None:
    parent = factories.make_message(alice, room, "send me the plot")
    upload = SimpleUploadedFile("plot.png", png_bytes(), content_type="image/png")

    response = client_for(bob).post(
        f"/chat/messages/{parent.pk}/reply/",
        {"content": "here", "file": upload},
        format="multipart",
    )

    assert response.status_code == 201, response.data
    assert_message_shape(response.data)
    assert (response.data["message_type"], response.data["content"]) == ("image", "here")
    assert response.data["file"]["name"] == "plot.png"
    assert (response.data["reply_to"], response.data["room_id"]) == (parent.pk, room.pk)


@pytest.mark.parametrize("path", ["/chat/messages/", "/chat/messages/{parent}/reply/"])
def test_two_files_in_one_message_are_refused(room: Any, alice: Any, bob: Any, path: str) -> None:
    parent = factories.make_message(alice, room, "files?")
    before = ChatMessage.objects.filter(room=room).count()
    body = {
        "room": room.pk,
        "file": [
            SimpleUploadedFile("x.txt", b"x\n", content_type="text/plain"),
            SimpleUploadedFile("y.txt", b"y\n", content_type="text/plain"),
        ],
    }

    response = client_for(bob).post(path.format(parent=parent.pk), body, format="multipart")

    assert response.status_code == 400
    assert "file" in response.data
    assert ChatMessage.objects.filter(room=room).count() == before


def test_search_across_visible_rooms(alice: Any, bob: Any, charlie: Any) -> None:
    shared = factories.make_room(alice, name="Shared", members=[bob])
    secret = factories.make_room(alice, chat_type="private", name="Secret")
    factories.make_message(alice, shared, "the eigenvalue trick")
    factories.make_message(alice, secret, "eigenvalue secret")
    factories.make_message(bob, shared, "unrelated words")

    found = client_for(bob).get("/chat/messages/", {"q": "eigenvalue"})
    by_sender = client_for(bob).get("/chat/messages/", {"sender": bob.pk, "room": shared.pk})
    for_charlie = client_for(charlie).get("/chat/messages/", {"q": "secret"})

    assert found.status_code == 200
    assert set(found.data) == PAGE_KEYS
    assert [m["content"] for m in found.data["results"]] == ["the eigenvalue trick"]
    assert_message_shape(found.data["results"][0])
    assert [m["content"] for m in by_sender.data["results"]] == ["unrelated words"]
    assert for_charlie.data["count"] == 0


def test_search_filters_by_message_type(room: Any, alice: Any, bob: Any) -> None:
    factories.make_message(alice, room, "text one")

    response = client_for(bob).get("/chat/messages/", {"message_type": "system"})

    assert response.status_code == 200
    assert {m["message_type"] for m in response.data["results"]} == {"system"}
    assert response.data["count"] >= 1


@pytest.mark.parametrize("rows", [5, 30])
def test_message_search_query_count_is_constant(
    alice: Any, bob: Any, rows: int, django_assert_max_num_queries: Any
) -> None:
    room = factories.make_room(alice, members=[bob])
    for index in range(rows):
        message = factories.make_message(alice, room, f"needle {index} @bob")
        services.reaction_add(actor=bob, message=message, emoji="👍")

    with django_assert_max_num_queries(7):
        response = client_for(bob).get("/chat/messages/", {"q": "needle"})

    assert response.data["count"] == rows


def test_png_upload_becomes_an_image_message_with_a_file(room: Any, bob: Any) -> None:
    upload = SimpleUploadedFile("photo.png", png_bytes(), content_type="image/png")

    response = client_for(bob).post(
        "/chat/messages/",
        {"room": room.pk, "content": "caption", "file": upload},
        format="multipart",
    )

    assert response.status_code == 201, response.data
    assert_message_shape(response.data)
    assert response.data["message_type"] == "image"
    file = response.data["file"]
    assert set(file) == FILE_KEYS
    assert file["name"] == "photo.png"
    assert (file["width"], file["height"]) == (40, 30)
    assert file["content_type"] == "image/png"
    message_id = response.data["id"]
    assert file["url"] == f"/chat/messages/{message_id}/file/"
    assert file["thumbnail_url"] == f"/chat/messages/{message_id}/thumbnail/"


def test_image_is_served_inline_with_safe_headers(room: Any, alice: Any, bob: Any) -> None:
    upload = SimpleUploadedFile("ph oto é.png", png_bytes(), content_type="image/png")
    message = services.message_send(actor=bob, room=room, upload=upload).message
    client = client_for(alice)

    response = client.get(f"/chat/messages/{message.pk}/file/")
    thumbnail = client.get(f"/chat/messages/{message.pk}/thumbnail/")

    assert response.status_code == 200
    assert isinstance(response, FileResponse)
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\x89PNG")
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline")
    assert "filename*=utf-8''ph%20oto%20%C3%A9.png" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["Cache-Control"].startswith("private")
    assert thumbnail.status_code == 200
    assert thumbnail["Content-Type"].startswith("image/")


def test_plain_file_is_served_as_an_attachment(room: Any, alice: Any, bob: Any) -> None:
    upload = SimpleUploadedFile("notes.txt", b"plain notes\n", content_type="text/html")

    sent = client_for(bob).post(
        "/chat/messages/", {"room": room.pk, "file": upload}, format="multipart"
    )
    response = client_for(alice).get(f"/chat/messages/{sent.data['id']}/file/")

    assert sent.status_code == 201
    assert sent.data["message_type"] == "file"
    assert sent.data["file"]["thumbnail_url"] is None
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"].startswith("attachment")
    assert isinstance(response, FileResponse)
    assert b"".join(response.streaming_content) == b"plain notes\n"
    no_thumbnail = client_for(alice).get(f"/chat/messages/{sent.data['id']}/thumbnail/")
    assert no_thumbnail.status_code == 404


def test_file_of_a_private_room_is_404_for_an_outsider(alice: Any, charlie: Any) -> None:
    secret = factories.make_room(alice, chat_type="private")
    upload = SimpleUploadedFile("a.png", png_bytes(), content_type="image/png")
    message = services.message_send(actor=alice, room=secret, upload=upload).message

    assert client_for(charlie).get(f"/chat/messages/{message.pk}/file/").status_code == 404


def test_file_of_a_deleted_message_is_404(room: Any, bob: Any) -> None:
    upload = SimpleUploadedFile("a.png", png_bytes(), content_type="image/png")
    message = services.message_send(actor=bob, room=room, upload=upload).message
    services.message_delete(actor=bob, message=message)

    assert client_for(bob).get(f"/chat/messages/{message.pk}/file/").status_code == 404


def test_text_message_has_no_file(room: Any, bob: Any) -> None:
    message = factories.make_message(bob, room)

    assert client_for(bob).get(f"/chat/messages/{message.pk}/file/").status_code == 404


def test_oversized_upload_is_413_before_the_body_is_parsed(
    room: Any, bob: Any, settings: Any
) -> None:
    settings.CHAT_FILE_UPLOAD_LIMIT = 1024
    upload = SimpleUploadedFile("big.bin", b"\x01" * (200 * 1024), content_type="image/png")

    response = client_for(bob).post(
        "/chat/messages/", {"room": room.pk, "file": upload}, format="multipart"
    )

    assert response.status_code == 413
    assert response.data["code"] == "upload_too_large"
    assert not ChatMessage.objects.filter(room=room, message_type="file").exists()


def test_upload_just_over_the_limit_is_413(room: Any, bob: Any, settings: Any) -> None:
    settings.CHAT_FILE_UPLOAD_LIMIT = 1024
    upload = SimpleUploadedFile("big.txt", b"a" * 1025, content_type="text/plain")

    response = client_for(bob).post(
        "/chat/messages/", {"room": room.pk, "file": upload}, format="multipart"
    )

    assert response.status_code == 413


def test_html_upload_is_415(room: Any, bob: Any) -> None:
    upload = SimpleUploadedFile(
        "page.txt",
        b"<!DOCTYPE html><html><script>alert(1)</script></html>",
        content_type="text/plain",
    )

    response = client_for(bob).post(
        "/chat/messages/", {"room": room.pk, "file": upload}, format="multipart"
    )

    assert response.status_code == 415
    assert response.data["code"] == "unsupported_file_type"
