from __future__ import annotations

import io
import re
import struct
import time
import zlib
from typing import BinaryIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageFile
from pytest_django.fixtures import Settings

from chat.checks import upload_type_lists
from chat.errors import UnsupportedFileType, UploadTooLarge, ValidationFailed
from chat.scanning import EICAR_SIGNATURE, ScanResult
from chat.uploads import (
    SNIFFABLE_TYPES,
    InfectedUpload,
    ProcessedUpload,
    process_upload,
    random_storage_name,
    sanitize_filename,
    sniff_content_type,
    text_preview,
)


@pytest.fixture(autouse=True)
def _eicar_scanner(settings: Settings) -> None:
    settings.CHAT_CLAMD_SOCKET = ""


def image_bytes(
    image_format: str, size: tuple[int, int] = (64, 48), mode: str = "RGB", **options: object
) -> bytes:
    output = io.BytesIO()
    Image.new(mode, size, "red" if mode != "1" else 1).save(output, format=image_format, **options)
    return output.getvalue()


def upload(content: bytes, name: str = "file.bin", content_type: str = "") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def reopen(processed: ProcessedUpload) -> Image.Image:
    processed.content.seek(0)
    return Image.open(io.BytesIO(processed.content.read()))


# --- images ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_format", "content_type", "mode"),
    [
        ("JPEG", "image/jpeg", "RGB"),
        ("PNG", "image/png", "RGBA"),
        ("WEBP", "image/webp", "RGB"),
        ("GIF", "image/gif", "P"),
    ],
)
def test_each_image_format_is_accepted_as_an_image(
    image_format: str, content_type: str, mode: str
) -> None:
    processed = process_upload(
        upload(image_bytes(image_format, (640, 480), mode), "pic", "application/octet-stream")
    )
    assert processed.message_type == "image"
    assert processed.content_type == content_type
    assert (processed.width, processed.height) == (640, 480)
    assert processed.force_download is False
    extension = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}[image_format]
    assert processed.name == f"pic.{extension}"
    reopened = reopen(processed)
    assert reopened.format == image_format
    assert reopened.size == (640, 480)
    processed.content.seek(0)
    assert processed.size == len(processed.content.read())
    assert processed.thumbnail is not None
    thumbnail = Image.open(io.BytesIO(processed.thumbnail.read()))
    assert thumbnail.size == (320, 240)
    assert max(thumbnail.size) <= 320


def test_thumbnails_keep_transparency_as_png_and_opaque_as_jpeg() -> None:
    transparent = process_upload(upload(image_bytes("PNG", (800, 800), "RGBA"), "a.png"))
    assert transparent.thumbnail_content_type == "image/png"
    assert transparent.thumbnail is not None
    assert Image.open(io.BytesIO(transparent.thumbnail.read())).format == "PNG"
    opaque = process_upload(upload(image_bytes("PNG", (800, 100), "RGB"), "b.png"))
    assert opaque.thumbnail_content_type == "image/jpeg"
    assert opaque.thumbnail is not None
    thumbnail = Image.open(io.BytesIO(opaque.thumbnail.read()))
    assert (thumbnail.format, thumbnail.size) == ("JPEG", (320, 40))


def test_exif_orientation_is_applied_and_exif_is_stripped() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010F] = "Spy Camera Inc."  # Make
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS latitude
    source = image_bytes("JPEG", (200, 100), exif=exif.tobytes(), comment=b"secret")
    assert Image.open(io.BytesIO(source)).getexif()[0x0112] == 6

    processed = process_upload(upload(source, "photo.jpg", "image/jpeg"))

    assert (processed.width, processed.height) == (100, 200)
    reopened = reopen(processed)
    assert reopened.size == (100, 200)
    assert dict(reopened.getexif()) == {}
    assert "exif" not in reopened.info
    assert "comment" not in reopened.info
    processed.content.seek(0)
    assert b"Spy Camera" not in processed.content.read()


@pytest.mark.parametrize("optimization", [True, False])
def test_metadata_is_stripped_whatever_the_optimization_setting(
    settings: Settings, optimization: bool
) -> None:
    settings.CHAT_IMAGE_OPTIMIZATION = optimization
    exif = Image.Exif()
    exif[0x010F] = "Spy Camera Inc."
    for image_format in ("JPEG", "PNG", "WEBP"):
        source = image_bytes(image_format, exif=exif.tobytes())
        processed = process_upload(upload(source))
        processed.content.seek(0)
        assert b"Spy Camera" not in processed.content.read(), image_format
        assert dict(reopen(processed).getexif()) == {}


def animated_gif(frames: int, size: tuple[int, int] = (32, 32)) -> bytes:
    images = [Image.new("RGB", size, (index * 7 % 256, 200, 0)) for index in range(frames)]
    output = io.BytesIO()
    images[0].save(
        output,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=70,
        loop=0,
        comment=b"hidden comment",
    )
    return output.getvalue()


def test_animated_gif_keeps_its_frames_and_drops_comments() -> None:
    processed = process_upload(upload(animated_gif(5), "anim.gif"))
    assert processed.message_type == "image"
    reopened = reopen(processed)
    assert getattr(reopened, "n_frames", 1) == 5
    assert reopened.info.get("duration") == 70
    assert reopened.info.get("loop") == 0
    assert "comment" not in reopened.info
    assert processed.thumbnail is not None
    thumbnail = Image.open(io.BytesIO(processed.thumbnail.read()))
    assert getattr(thumbnail, "n_frames", 1) == 1


def test_too_many_gif_frames_are_refused(settings: Settings) -> None:
    settings.CHAT_IMAGE_MAX_FRAMES = 3
    with pytest.raises(ValidationFailed, match="too many frames: 5"):
        process_upload(upload(animated_gif(5), "anim.gif"))


def png_bomb(width: int, height: int) -> bytes:
    """A real 1-bit PNG of the given size, compressed to a few kilobytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack("!I", len(data)) + body + struct.pack("!I", zlib.crc32(body))

    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row * 1000) for _ in range(height // 1000))
    idat += compressor.compress(row * (height % 1000)) + compressor.flush()
    header = struct.pack("!IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.fixture
def no_pixel_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.mark.usefixtures("no_pixel_decoding")
def test_a_decompression_bomb_is_refused_without_decoding() -> None:
    bomb = png_bomb(20_000, 20_000)
    assert len(bomb) < 100_000
    started = time.monotonic()
    with pytest.raises(ValidationFailed, match="Image is too large") as excinfo:
        process_upload(upload(bomb, "bomb.png", "image/png"))
    assert time.monotonic() - started < 2
    assert excinfo.value.status == 400


@pytest.mark.usefixtures("no_pixel_decoding")
def test_an_image_over_the_pixel_limit_is_refused_from_its_header(settings: Settings) -> None:
    settings.CHAT_IMAGE_MAX_PIXELS = 1_000_000
    with pytest.raises(ValidationFailed, match=r"Image is too large: 2000x2000 pixels"):
        process_upload(upload(png_bomb(2000, 2000), "big.png"))


@pytest.mark.usefixtures("no_pixel_decoding")
def test_an_image_over_the_side_limit_is_refused(settings: Settings) -> None:
    settings.CHAT_IMAGE_MAX_SIDE = 1000
    with pytest.raises(ValidationFailed, match=r"Image is too large: 3000x8 pixels"):
        process_upload(upload(png_bomb(3000, 8), "wide.png"))


def test_a_corrupt_image_is_refused() -> None:
    truncated = image_bytes("PNG", (300, 300))[:200]
    with pytest.raises(ValidationFailed, match="Not a valid image"):
        process_upload(upload(truncated, "broken.png"))
    with pytest.raises(ValidationFailed, match="Not a valid image"):
        process_upload(upload(b"\xff\xd8\xff" + b"\x00" * 500, "broken.jpg"))


# --- sniffing, not trusting the client ---------------------------------------------------


def test_text_named_png_becomes_a_text_file() -> None:
    processed = process_upload(upload(b"just some notes\n", "photo.png", "image/png"))
    assert processed.message_type == "file"
    assert processed.content_type == "text/plain"
    assert processed.force_download is True
    assert processed.thumbnail is None
    assert (processed.width, processed.height) == (None, None)
    assert processed.name == "photo.png.txt"
    assert processed.size == 16
    processed.content.seek(0)
    assert processed.content.read() == b"just some notes\n"


@pytest.mark.parametrize(
    ("content", "sniffed"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml"),
        (b'\xef\xbb\xbf <?xml version="1.0"?>\n<svg></svg>', "image/svg+xml"),
        (b"<!DOCTYPE html><p>hi", "text/html"),
        (b"\n  <HTML><body>", "text/html"),
        (b"<script>alert(1)</script>", "text/html"),
        (b"MZ\x90\x00\x03\x00\x00\x00", "application/x-dosexec"),
        (b"\x7fELF\x02\x01\x01", "application/x-executable"),
        (b"#!/bin/sh\nrm -rf /\n", "application/x-sh"),
    ],
)
def test_dangerous_types_are_refused_by_default(content: bytes, sniffed: str) -> None:
    assert sniff_content_type(content) == sniffed
    with pytest.raises(UnsupportedFileType) as excinfo:
        process_upload(upload(content, "harmless.txt", "text/plain"))
    assert excinfo.value.status == 415
    assert sniffed in excinfo.value.detail


def test_an_allowed_svg_is_kept_as_a_forced_download(settings: Settings) -> None:
    settings.CHAT_UPLOAD_ALLOW_TYPES = ["image/svg+xml"]
    processed = process_upload(upload(b"<svg></svg>", "logo.svg", "image/svg+xml"))
    assert processed.message_type == "file"
    assert processed.content_type == "image/svg+xml"
    assert processed.force_download is True
    assert processed.thumbnail is None
    assert random_storage_name(processed.content_type, "files").endswith(".bin")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.7\n", "application/pdf"),
        (b"PK\x03\x04\x14\x00\x00\x00some.txt", "application/zip"),
        (
            b"PK\x03\x04\x14\x00[Content_Types].xml....PK\x03\x04word/document.xml",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (b"PK\x03\x04\x14\x00META-INF/MANIFEST.MF", "application/java-archive"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        ("héllo wörld ✓".encode(), "text/plain"),
        (b"<bold>not a tag we know</bold>", "text/plain"),
        (b"\x00\x01\x02\x03binary", "application/octet-stream"),
        (b"\xff\xfe\xfd", "application/octet-stream"),
    ],
)
def test_sniff_content_type(head: bytes, expected: str) -> None:
    assert sniff_content_type(head) == expected


def test_a_multibyte_character_cut_by_the_sniff_window_is_still_text() -> None:
    content = b"a" * 8191 + "é".encode() + b"tail"
    processed = process_upload(upload(content, "notes.txt"))
    assert processed.content_type == "text/plain"
    assert processed.size == len(content)


# --- limits and scanning -----------------------------------------------------------------


def test_an_oversized_upload_is_refused(settings: Settings) -> None:
    settings.CHAT_FILE_UPLOAD_LIMIT = 10
    with pytest.raises(UploadTooLarge) as excinfo:
        process_upload(upload(b"x" * 11, "big.txt"))
    assert excinfo.value.status == 413
    assert process_upload(upload(b"x" * 10, "ok.txt")).size == 10


def test_an_empty_upload_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="empty"):
        process_upload(upload(b"", "empty.txt"))


def test_an_eicar_upload_is_refused_as_infected() -> None:
    with pytest.raises(InfectedUpload) as excinfo:
        process_upload(upload(b"prefix " + EICAR_SIGNATURE, "eicar.txt"))
    assert excinfo.value.code == "infected_file"
    assert excinfo.value.status == 400
    assert excinfo.value.fields == {"signature": "Eicar-Test-Signature"}
    assert isinstance(excinfo.value, ValidationFailed)


def test_the_scanner_sees_the_original_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bytes] = []

    class RecordingScanner:
        def scan(self, stream: BinaryIO) -> ScanResult:
            seen.append(stream.read())
            stream.seek(0)
            return ScanResult(clean=True)

    monkeypatch.setattr("chat.uploads.get_scanner", RecordingScanner)
    source = image_bytes("PNG")
    process_upload(upload(source, "a.png"))
    assert seen == [source]


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("a\x00b\nc.txt", "abc.txt"),
        ("C:\\Users\\me\\Desktop\\report.pdf", "report.pdf"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("  spaced.txt  ", "spaced.txt"),
        ("evil\u202etxt.exe", "eviltxt.exe"),
        ("cafe\u0301.txt", "caf\u00e9.txt"),
        ("Übung 1 \N{EN DASH} Lösung.pdf", "Übung 1 \N{EN DASH} Lösung.pdf"),
        ("日本語のファイル.docx", "日本語のファイル.docx"),
        ("", "file"),
        ("..", "file"),
        ("/", "file"),
        ("dir/", "file"),
        ("\x00\x01", "file"),
    ],
)
def test_sanitize_filename(name: str, expected: str) -> None:
    assert sanitize_filename(name) == expected


def test_sanitize_filename_trims_long_names_keeping_the_extension() -> None:
    result = sanitize_filename("x" * 500 + ".tar.gz")
    assert len(result) == 200
    assert result.endswith("x.gz")
    no_extension = sanitize_filename("y" * 300)
    assert no_extension == "y" * 200


def test_random_storage_name_uses_the_sniffed_extension() -> None:
    name = random_storage_name("image/png", "images")
    assert re.fullmatch(r"chat/images/\d{4}/\d{2}/[0-9a-f]{32}\.png", name)
    assert random_storage_name("image/jpeg", "images").endswith(".jpg")
    assert random_storage_name("text/plain", "files").endswith(".txt")
    assert random_storage_name("text/html", "files").endswith(".bin")
    assert random_storage_name("application/x-dosexec", "files").endswith(".bin")
    assert random_storage_name("image/png", "images") != name


def test_stored_names_never_come_from_the_client() -> None:
    processed = process_upload(upload(b"plain text", "evil.html", "text/html"))
    stored = random_storage_name(processed.content_type, "files")
    assert stored.endswith(".txt")
    assert "evil" not in stored


def test_a_text_file_gets_a_first_page_preview() -> None:
    lines = [f"line {n}" for n in range(1, 41)]
    processed = process_upload(upload("\n".join(lines).encode(), "notes.txt"))
    assert processed.message_type == "file"
    assert processed.preview.splitlines() == lines[:20]


def test_the_preview_drops_control_characters_and_stops_at_a_page() -> None:
    assert text_preview(b"a\x1b[31mb\tc\r\nd") == "a[31mb\tc\nd"
    assert len(text_preview(b"x" * 5000)) == 1000


def test_binary_files_get_no_preview() -> None:
    processed = process_upload(upload(b"%PDF-1.7\n" + bytes(range(256)), "paper.pdf"))
    assert processed.preview == ""


# --- names follow the sniffed type ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "offered"),
    [
        ("run.bat", b"@echo off\r\ndel /q *\r\n", "run.bat.txt"),
        ("setup.ps1", b"Remove-Item -Recurse C:\\", "setup.ps1.txt"),
        ("payload.js", b"WScript.Shell.Run('calc')", "payload.js.txt"),
        ("macro.vbs", b'CreateObject("WScript.Shell")', "macro.vbs.txt"),
        ("tool.exe", b"just text", "tool.exe.txt"),
        ("page.html", b"hello, no tags here", "page.html.txt"),
        ("script.py", b"print('hi')", "script.py.txt"),
        ("README", b"read me", "README.txt"),
        ("notes.TXT", b"kept", "notes.TXT"),
        ("data.csv", b"a,b\n1,2\n", "data.csv"),
        ("main.c", b"int main(void) { return 0; }", "main.c"),
        ("report.exe", b"%PDF-1.7\n", "report.exe.pdf"),
        ("paper.pdf", b"%PDF-1.7\n", "paper.pdf"),
        ("blob.dat", b"\x00\x01\x02binary", "blob.dat.bin"),
    ],
)
def test_files_are_offered_under_an_extension_of_their_sniffed_type(
    name: str, content: bytes, offered: str
) -> None:
    assert process_upload(upload(content, name)).name == offered


@pytest.mark.parametrize(
    ("name", "offered"), [("photo.jpeg", "photo.jpeg"), ("photo.png", "photo.png.jpg")]
)
def test_images_are_offered_under_an_extension_of_their_format(name: str, offered: str) -> None:
    assert process_upload(upload(image_bytes("JPEG"), name)).name == offered


def test_every_default_deny_entry_is_a_type_the_sniffer_returns() -> None:
    from django.conf import settings

    assert set(settings.CHAT_UPLOAD_DENY_TYPES) <= SNIFFABLE_TYPES
    assert "text/javascript" not in settings.CHAT_UPLOAD_DENY_TYPES
    assert upload_type_lists() == []


def test_a_deny_entry_the_sniffer_never_returns_is_a_check_warning(settings: Settings) -> None:
    settings.CHAT_UPLOAD_DENY_TYPES = ["text/html", "application/javascript"]
    settings.CHAT_UPLOAD_ALLOW_TYPES = ["image/png", "image/heic"]

    warnings = upload_type_lists()

    assert [(w.id, w.msg) for w in warnings] == [
        (
            "chat.W001",
            "CHAT_UPLOAD_DENY_TYPES names application/javascript: no upload is ever sniffed "
            "as that type, so the entry has no effect.",
        ),
        (
            "chat.W001",
            "CHAT_UPLOAD_ALLOW_TYPES names image/heic: no upload is ever sniffed as that "
            "type, so the entry has no effect.",
        ),
    ]
