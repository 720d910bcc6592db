"""Attachments handed to nginx with X-Accel-Redirect when CHAT_X_ACCEL_REDIRECT_PREFIX is set.

The access check stays in Django; only the bytes move to nginx. Without the
setting (the default) Django streams the file as before.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import FileResponse
from PIL import Image

from chat.models import ChatMessage
from chat.tests import factories
from chat.tests.api_support import client_for

pytestmark = pytest.mark.django_db

PREFIX = "/protected-media/"
PAYLOAD = bytes(range(256)) * 40


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CHAT_CLAMD_SOCKET = ""
    return settings.MEDIA_ROOT


@pytest.fixture
def accel(settings: Any) -> None:
    settings.CHAT_X_ACCEL_REDIRECT_PREFIX = PREFIX


@pytest.fixture
def room(alice: Any, bob: Any) -> Any:
    return factories.make_room(alice, chat_type="private", name="Lab", members=[bob])


def upload(client: Any, room: Any, content: bytes, name: str) -> dict[str, Any]:
    file = SimpleUploadedFile(name, content, content_type="application/x-unknown")
    response = client.post(
        "/chat/messages/", {"room": room.pk, "file": file, "content": ""}, format="multipart"
    )
    assert response.status_code == 201, response.content
    return response.json()


def png(size: tuple[int, int] = (640, 480)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(output, format="PNG")
    return output.getvalue()


def test_without_the_setting_django_streams_the_file(room: Any, bob: Any) -> None:
    message = upload(client_for(bob), room, PAYLOAD, "data.bin")
    response = client_for(bob).get(message["file"]["url"])
    assert response.status_code == 200
    assert "X-Accel-Redirect" not in response
    assert isinstance(response, FileResponse)
    assert b"".join(response.streaming_content) == PAYLOAD


def test_a_member_gets_an_x_accel_redirect_with_the_download_headers(
    accel: None, room: Any, bob: Any, media_root: Path
) -> None:
    message = upload(client_for(bob), room, PAYLOAD, "lab notes.bin")
    stored = ChatMessage.objects.get(pk=message["id"]).file.name
    assert stored is not None

    response = client_for(bob).get(message["file"]["url"])

    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"{PREFIX}{stored}"
    assert not getattr(response, "streaming", False)
    assert response.content == b""
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="lab notes.bin"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, max-age=3600"
    assert response["Content-Security-Policy"] == "sandbox"
    # nginx's internal location maps the prefix onto MEDIA_ROOT: the file is there.
    assert (media_root / stored).read_bytes() == PAYLOAD


def test_an_image_and_its_thumbnail_are_handed_over_inline(
    accel: None, room: Any, bob: Any
) -> None:
    message = upload(client_for(bob), room, png(), "photo.png")
    row = ChatMessage.objects.get(pk=message["id"])
    assert row.thumbnail

    image = client_for(bob).get(message["file"]["url"])
    thumbnail = client_for(bob).get(message["file"]["thumbnail_url"])

    assert (image.status_code, thumbnail.status_code) == (200, 200)
    assert image["X-Accel-Redirect"] == f"{PREFIX}{row.file.name}"
    assert image["Content-Type"] == "image/png"
    assert image["Content-Disposition"] == 'inline; filename="photo.png"'
    assert thumbnail["X-Accel-Redirect"] == f"{PREFIX}{row.thumbnail.name}"
    assert thumbnail["Content-Type"].startswith("image/")
    assert thumbnail["Content-Disposition"].startswith("inline;")


def test_a_prefix_without_trailing_slash_gives_the_same_path(
    settings: Any, room: Any, bob: Any
) -> None:
    settings.CHAT_X_ACCEL_REDIRECT_PREFIX = "/protected-media"
    message = upload(client_for(bob), room, PAYLOAD, "data.bin")
    stored = ChatMessage.objects.get(pk=message["id"]).file.name
    response = client_for(bob).get(message["file"]["url"])
    assert response["X-Accel-Redirect"] == f"/protected-media/{stored}"


def test_an_outsider_gets_404_and_no_redirect(
    accel: None, room: Any, bob: Any, charlie: Any
) -> None:
    message = upload(client_for(bob), room, png(), "photo.png")
    for url in (message["file"]["url"], message["file"]["thumbnail_url"]):
        response = client_for(charlie).get(url)
        assert response.status_code == 404
        assert "X-Accel-Redirect" not in response


def test_a_missing_or_deleted_file_is_404_not_a_redirect(accel: None, room: Any, bob: Any) -> None:
    gone = upload(client_for(bob), room, PAYLOAD, "gone.bin")
    default_storage.delete(str(ChatMessage.objects.get(pk=gone["id"]).file.name))
    deleted = upload(client_for(bob), room, PAYLOAD, "deleted.bin")
    assert client_for(bob).delete(f"/chat/messages/{deleted['id']}/").status_code == 204

    for message in (gone, deleted):
        response = client_for(bob).get(f"/chat/messages/{message['id']}/file/")
        assert response.status_code == 404
        assert "X-Accel-Redirect" not in response
