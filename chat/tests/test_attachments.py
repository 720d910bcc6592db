"""Images and files end to end over REST: upload, stored form, download, deletion;
staff system alerts over REST; and an upload seen on a room socket."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from chat.models import ChatMessage
from chat.scanning import EICAR_SIGNATURE
from chat.tests import factories
from chat.tests.api_support import assert_message_shape, client_for
from chat.tests.ws import db, open_room, socket_settings  # noqa: F401


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CHAT_CLAMD_SOCKET = ""
    return settings.MEDIA_ROOT


@pytest.fixture
def room(db: None, alice: Any, bob: Any) -> Any:
    return factories.make_room(alice, chat_type="private", name="Lab", members=[bob])


def image_bytes(image_format: str, size: tuple[int, int] = (64, 48), **options: Any) -> bytes:
    mode = "P" if image_format == "GIF" else "RGB"
    output = io.BytesIO()
    Image.new(mode, size, 1 if mode == "P" else (10, 120, 200)).save(
        output, format=image_format, **options
    )
    return output.getvalue()


def jpeg_with_exif_orientation(size: tuple[int, int] = (80, 40)) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010F] = "SecretCam"  # Make
    output = io.BytesIO()
    Image.new("RGB", size, (0, 200, 0)).save(output, format="JPEG", exif=exif.tobytes())
    return output.getvalue()


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG whose header declares an enormous image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + width // 8) * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def upload(client: Any, room: Any, content: bytes, name: str, content_type: str = "") -> Any:
    file = SimpleUploadedFile(name, content, content_type=content_type or "application/x-unknown")
    return client.post(
        "/chat/messages/", {"room": room.pk, "file": file, "content": ""}, format="multipart"
    )


def download(client: Any, url: str) -> tuple[Any, bytes]:
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.status_code == 200 else b""
    return response, body


@pytest.mark.parametrize(
    ("image_format", "content_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_each_image_format_becomes_an_image_message_with_a_thumbnail(
    room: Any, bob: Any, alice: Any, image_format: str, content_type: str
) -> None:
    client = client_for(bob)
    response = upload(client, room, image_bytes(image_format), f"pic.{image_format.lower()}")
    assert response.status_code == 201, response.json()
    message = response.json()
    assert_message_shape(message)
    assert message["message_type"] == "image"
    assert message["file"]["content_type"] == content_type
    assert (message["file"]["width"], message["file"]["height"]) == (64, 48)
    assert message["file"]["url"] == f"/chat/messages/{message['id']}/file/"
    assert message["file"]["thumbnail_url"] == f"/chat/messages/{message['id']}/thumbnail/"
    assert message["file"]["preview"] is None

    file_response, body = download(client_for(alice), message["file"]["url"])
    assert file_response.status_code == 200
    assert file_response["Content-Type"] == content_type
    assert file_response["X-Content-Type-Options"] == "nosniff"
    assert file_response["Content-Security-Policy"] == "sandbox"
    assert "private" in file_response["Cache-Control"]
    assert Image.open(io.BytesIO(body)).format == image_format

    thumb_response, thumb = download(client_for(alice), message["file"]["thumbnail_url"])
    assert thumb_response.status_code == 200
    assert max(Image.open(io.BytesIO(thumb)).size) <= 320


def test_orientation_is_applied_and_exif_is_gone_from_the_served_image(room: Any, bob: Any) -> None:
    response = upload(client_for(bob), room, jpeg_with_exif_orientation(), "rotated.jpg")
    assert response.status_code == 201
    message = response.json()
    assert (message["file"]["width"], message["file"]["height"]) == (40, 80)
    _, body = download(client_for(bob), message["file"]["url"])
    served = Image.open(io.BytesIO(body))
    assert served.size == (40, 80)
    assert dict(served.getexif()) == {}
    assert b"SecretCam" not in body


def test_decompression_bomb_is_refused_and_the_server_stays_healthy(room: Any, bob: Any) -> None:
    response = upload(client_for(bob), room, png_bomb(), "bomb.png", "image/png")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "too large" in response.json()["detail"].lower()
    assert not ChatMessage.objects.filter(message_type="image").exists()
    assert client_for(bob).get("/healthz").status_code == 200


def test_text_named_png_is_stored_as_a_file_and_served_as_a_download(room: Any, bob: Any) -> None:
    response = upload(client_for(bob), room, b"just some notes\n", "photo.png", "image/png")
    assert response.status_code == 201
    message = response.json()
    assert message["message_type"] == "file"
    assert message["file"]["content_type"] == "text/plain"
    assert message["file"]["name"] == "photo.png.txt"
    assert message["file"]["thumbnail_url"] is None
    assert message["file"]["preview"] == "just some notes\n"
    file_response, body = download(client_for(bob), message["file"]["url"])
    assert body == b"just some notes\n"
    assert file_response["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "logo.svg"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "page.html"),
        (b"MZ\x90\x00" + b"\x00" * 60, "setup.exe"),
    ],
)
def test_active_content_and_executables_are_refused_with_415(
    room: Any, bob: Any, content: bytes, name: str
) -> None:
    response = upload(client_for(bob), room, content, name)
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_file_type"
    assert not ChatMessage.objects.filter(room=room, message_type="file").exists()


def test_an_explicitly_allowed_svg_is_only_ever_a_download(
    settings: Any, room: Any, bob: Any
) -> None:
    settings.CHAT_UPLOAD_ALLOW_TYPES = ["image/svg+xml"]
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>'
    response = upload(client_for(bob), room, svg, "logo.svg")
    assert response.status_code == 201
    message = response.json()
    assert message["message_type"] == "file"
    file_response, _ = download(client_for(bob), message["file"]["url"])
    assert file_response["Content-Type"] == "application/octet-stream"
    assert file_response["Content-Disposition"].startswith("attachment;")
    assert file_response["Content-Security-Policy"] == "sandbox"


def test_download_name_is_encoded_per_rfc_6266(room: Any, bob: Any) -> None:
    response = upload(client_for(bob), room, b"%PDF-1.4\n...", "Übung 1.pdf")
    message = response.json()
    assert message["file"]["name"] == "Übung 1.pdf"
    file_response, _ = download(client_for(bob), message["file"]["url"])
    assert "filename*=utf-8''%C3%9Cbung%201.pdf" in file_response["Content-Disposition"]


def test_oversized_upload_is_refused_with_413(settings: Any, room: Any, bob: Any) -> None:
    settings.CHAT_FILE_UPLOAD_LIMIT = 1024
    response = upload(client_for(bob), room, b"x" * 200_000, "big.txt")
    assert response.status_code == 413
    assert not ChatMessage.objects.filter(room=room, message_type="file").exists()


def test_eicar_is_refused_and_nothing_is_stored(room: Any, bob: Any, media_root: Any) -> None:
    response = upload(client_for(bob), room, EICAR_SIGNATURE, "eicar.com")
    assert response.status_code == 400
    assert response.json()["code"] == "infected_file"
    assert not ChatMessage.objects.filter(room=room, message_type="file").exists()
    stored = (
        [path for path in media_root.rglob("*") if path.is_file()] if media_root.exists() else []
    )
    assert stored == []


def test_outsider_gets_404_for_file_and_thumbnail(room: Any, bob: Any, charlie: Any) -> None:
    message = upload(client_for(bob), room, image_bytes("PNG"), "p.png").json()
    assert client_for(charlie).get(message["file"]["url"]).status_code == 404
    assert client_for(charlie).get(message["file"]["thumbnail_url"]).status_code == 404


def test_deleting_the_message_removes_its_files_from_storage(
    room: Any, bob: Any, django_capture_on_commit_callbacks: Any
) -> None:
    message = upload(client_for(bob), room, image_bytes("PNG"), "p.png").json()
    stored = ChatMessage.objects.get(pk=message["id"])
    assert stored.file.name and stored.thumbnail.name
    names = [stored.file.name, stored.thumbnail.name]
    assert all(default_storage.exists(name) for name in names)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(bob).delete(f"/chat/messages/{message['id']}/")
    assert response.status_code == 204
    assert not any(default_storage.exists(name) for name in names)
    deleted = client_for(bob).get(f"/chat/messages/{message['id']}/").json()
    assert deleted["is_deleted"] is True
    assert deleted["file"] is None
    assert client_for(bob).get(message["file"]["url"]).status_code == 404


def test_caption_is_rendered_with_the_upload(room: Any, bob: Any) -> None:
    file = SimpleUploadedFile("p.png", image_bytes("PNG"))
    response = client_for(bob).post(
        "/chat/messages/",
        {"room": room.pk, "file": file, "content": "**look**"},
        format="multipart",
    )
    assert response.status_code == 201
    assert response.json()["content_html"] == "<p><strong>look</strong></p>"


# --- staff system alerts over REST -------------------------------------------------------


def test_staff_alert_to_one_room(stella: Any, alice: Any) -> None:
    public = factories.make_room(alice, chat_type="public", name="Hall")
    response = client_for(stella).post(
        "/chat/alerts/", {"content": "Exam moved to Friday", "room": public.pk}, format="json"
    )
    assert response.status_code == 201
    [message] = response.json()["messages"]
    assert_message_shape(message)
    assert message["message_type"] == "system"
    assert message["room_id"] == public.pk
    assert message["content"] == "Exam moved to Friday"


def test_staff_alert_to_every_active_room(stella: Any, alice: Any) -> None:
    public, private = (factories.make_room(alice, chat_type=kind) for kind in ("public", "private"))
    response = client_for(stella).post("/chat/alerts/", {"content": "Down at 6"}, format="json")
    assert response.status_code == 201
    # Both rooms got it; the answer names only the one stella may see.
    assert response.json()["room_count"] == 2
    assert [m["room_id"] for m in response.json()["messages"]] == [public.pk]
    assert ChatMessage.objects.filter(room=private, content="Down at 6").count() == 1


def test_members_may_not_post_alerts(alice: Any) -> None:
    room = factories.make_room(alice, chat_type="public")
    response = client_for(alice).post(
        "/chat/alerts/", {"content": "hi", "room": room.pk}, format="json"
    )
    assert response.status_code == 403
    assert not ChatMessage.objects.filter(content="hi").exists()


# --- an upload reaches room sockets ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_an_upload_over_rest_reaches_the_room_socket(alice: Any, bob: Any) -> None:
    room = await db(lambda: factories.make_room(alice, chat_type="private", members=[bob]))()
    socket = await open_room(alice, room)
    response = await db(lambda: upload(client_for(bob), room, image_bytes("PNG"), "p.png"))()
    assert response.status_code == 201
    frame = await socket.receive_type("message.created")
    assert frame["message"]["id"] == response.json()["id"]
    assert frame["message"]["message_type"] == "image"
    assert frame["message"]["file"] == response.json()["file"]
    await socket.close()


def test_uploads_past_the_daily_quota_are_429_until_utc_midnight(
    room: Any, alice: Any, bob: Any, settings: Any
) -> None:
    settings.CHAT_UPLOAD_DAILY_QUOTA = 2500
    client = client_for(bob)
    text = b"notes\n" * 200  # 1200 bytes

    first = upload(client, room, text, "a.txt")
    refused = upload(client, room, b"<!doctype html><p>x", "page.html")  # 415 costs nothing
    second = upload(client, room, text, "b.txt")
    third = upload(client, room, text, "c.txt")
    words = client.post("/chat/messages/", {"room": room.pk, "content": "still"}, format="json")
    by_alice = upload(client_for(alice), room, text, "d.txt")

    assert [first.status_code, refused.status_code, second.status_code] == [201, 415, 201]
    assert third.status_code == 429
    body = third.json()
    assert body["code"] == "upload_quota_exceeded"
    assert body["detail"] == (
        "Daily upload quota reached: 2400 of 2500 bytes used today (UTC); this file needs 1200."
    )
    now = timezone.now()
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert abs(int(third["Retry-After"]) - (midnight - now).total_seconds()) <= 5
    assert body["retry_after"] == int(third["Retry-After"])
    assert words.status_code == 201
    assert by_alice.status_code == 201
    assert ChatMessage.objects.filter(sender=bob, message_type="file").count() == 2


def test_a_resent_upload_with_the_same_client_id_is_not_counted_twice(
    room: Any, bob: Any, settings: Any
) -> None:
    settings.CHAT_UPLOAD_DAILY_QUOTA = 3000
    client = client_for(bob)

    def send(client_id: str) -> int:
        file = SimpleUploadedFile("a.txt", b"x" * 1200, content_type="text/plain")
        return client.post(
            "/chat/messages/",
            {"room": room.pk, "file": file, "client_id": client_id},
            format="multipart",
        ).status_code

    codes = [send("upload-1"), send("upload-1"), send("upload-1"), send("upload-2")]

    assert codes == [201, 200, 200, 201]
    assert send("upload-3") == 429


def test_a_text_file_named_as_a_script_is_downloaded_as_text(
    room: Any, alice: Any, bob: Any
) -> None:
    sent = upload(client_for(bob), room, b"@echo off\r\nformat c:\r\n", "run.bat")
    # An upload stored before names followed the sniffed type.
    old = ChatMessage.objects.get(pk=sent.json()["id"])
    older = ChatMessage.objects.create(
        room=room,
        sender=bob,
        message_type="file",
        file=old.file.name,
        file_name="invoice.js",
        file_size=old.file_size,
        file_content_type="text/plain",
    )

    new_response, _ = download(client_for(alice), sent.json()["file"]["url"])
    old_response, _ = download(client_for(alice), f"/chat/messages/{older.pk}/file/")

    assert sent.json()["file"]["name"] == "run.bat.txt"
    assert new_response["Content-Type"] == "text/plain"
    assert new_response["Content-Disposition"] == 'attachment; filename="run.bat.txt"'
    assert old_response["Content-Disposition"] == 'attachment; filename="invoice.js.txt"'
