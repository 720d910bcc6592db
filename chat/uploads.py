"""Uploads: sniff the real type, refuse what must not be stored, scan, re-encode images.

Nothing the client says about a file is trusted: the type comes from its first bytes, the
stored name is random with an extension chosen from the sniffed type, and the original name
is kept only (sanitised) for display. Images are always re-encoded, which applies the EXIF
orientation and drops EXIF, XMP and comments; everything else is stored as uploaded and
served as a download.

The display name (and so the downloaded file's name) always ends in an extension of the
sniffed type: ``run.bat`` whose bytes are text is offered as ``run.bat.txt``, so no
operating system opens a download as a script or program its bytes do not claim to be.
"""

from __future__ import annotations

import codecs
import io
import os
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.translation import gettext_lazy
from PIL import Image, ImageOps

from chat.errors import UnsupportedFileType, UploadTooLarge, ValidationFailed, lazy_interpolate
from chat.scanning import get_scanner

SNIFF_SIZE = 8192
MAX_NAME_LENGTH = 200
MAX_EXTENSION_LENGTH = 16
FALLBACK_NAME = "file"

# Sniffed type → Pillow format, for the formats accepted as images.
IMAGE_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
}
# Stored extensions; a type missing here (HTML, SVG, XML, scripts, executables) is stored
# as ".bin" so that no web server in front of the storage ever serves it as active content.
STORAGE_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "application/zip": ".zip",
    "application/gzip": ".gz",
    "application/x-7z-compressed": ".7z",
    "application/vnd.rar": ".rar",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/vnd.oasis.opendocument.presentation": ".odp",
    "application/msword": ".doc",
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "audio/wav": ".wav",
    "audio/flac": ".flac",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
}
DEFAULT_EXTENSION = ".bin"

# Extensions a display name may keep for each sniffed type (the first is the one added to
# any other name). Text keeps the extensions of documents, data and compiled languages'
# sources; scripts an operating system runs when opened (.bat, .cmd, .ps1, .vbs, .js,
# .hta, .reg, .sh, .py, ...) get ".txt" added.
TEXT_EXTENSIONS = (
    ".txt",
    ".text",
    ".md",
    ".markdown",
    ".rst",
    ".csv",
    ".tsv",
    ".log",
    ".json",
    ".yaml",
    ".yml",
    ".toml",
    ".ini",
    ".cfg",
    ".conf",
    ".tex",
    ".bib",
    ".sql",
    ".c",
    ".h",
    ".cc",
    ".cpp",
    ".hpp",
    ".java",
    ".kt",
    ".rs",
    ".go",
    ".r",
    ".m",
    ".hs",
    ".ml",
    ".scala",
    ".swift",
)
NAME_EXTENSIONS: dict[str, tuple[str, ...]] = {
    **{content_type: (extension,) for content_type, extension in STORAGE_EXTENSIONS.items()},
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/tiff": (".tif", ".tiff"),
    "text/plain": TEXT_EXTENSIONS,
    "application/gzip": (".gz", ".tgz"),
    "application/msword": (".doc", ".xls", ".ppt"),  # OLE compound files
    "audio/ogg": (".ogg", ".oga", ".opus"),
    "video/mp4": (".mp4", ".m4v", ".m4a", ".mov"),
}

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"MZ", "application/x-dosexec"),
    (b"\x7fELF", "application/x-executable"),
    (b"\xfe\xed\xfa\xce", "application/x-mach-binary"),
    (b"\xfe\xed\xfa\xcf", "application/x-mach-binary"),
    (b"\xce\xfa\xed\xfe", "application/x-mach-binary"),
    (b"\xcf\xfa\xed\xfe", "application/x-mach-binary"),
    (b"#!", "application/x-sh"),
    (b"\x1f\x8b", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
    (b"\x1aE\xdf\xa3", "video/webm"),
)
_HTML_STARTS = (
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<body",
    b"<script",
    b"<iframe",
    b"<frameset",
    b"<object",
    b"<embed",
    b"<meta",
    b"<style",
    b"<title",
    b"<link",
    b"<form",
    b"<img",
    b"<div",
    b"<table",
    b"<a",
    b"<p",
    b"<br",
    b"<h1",
    b"<b",
    b"<font",
    b"<!--",
)
_TAG_ENDS = b" \t\n\r\f>/"
_UTF16_BOMS = ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\x1b")


class InfectedUpload(ValidationFailed):
    code = "infected_file"
    default_detail = gettext_lazy("The file was refused by the virus scanner.")


@dataclass
class ProcessedUpload:
    message_type: str
    name: str
    content_type: str
    size: int
    content: File
    thumbnail: ContentFile | None
    width: int | None
    height: int | None
    force_download: bool
    thumbnail_content_type: str | None = None
    preview: str = ""


def process_upload(upload: UploadedFile) -> ProcessedUpload:
    """Validate, scan and (for images) re-encode an upload; nothing is saved here.

    Raises UploadTooLarge, UnsupportedFileType, ValidationFailed (empty file, broken or
    oversized image), InfectedUpload, or Unavailable when the scanner cannot be reached.
    """
    size = upload.size or 0
    if size > settings.CHAT_FILE_UPLOAD_LIMIT:
        raise UploadTooLarge(
            lazy_interpolate(
                gettext_lazy(
                    "The file is too large: %(size)s bytes "
                    "(at most %(chat_file_upload_limit)s allowed)."
                ),
                {"size": size, "chat_file_upload_limit": settings.CHAT_FILE_UPLOAD_LIMIT},
            )
        )
    stream = cast(BinaryIO, upload)
    stream.seek(0)
    head = stream.read(SNIFF_SIZE)
    stream.seek(0)
    if size == 0 or not head:
        raise ValidationFailed(gettext_lazy("The file is empty."))

    content_type = sniff_content_type(head)
    if (
        content_type in settings.CHAT_UPLOAD_DENY_TYPES
        and content_type not in settings.CHAT_UPLOAD_ALLOW_TYPES
    ):
        raise UnsupportedFileType(
            lazy_interpolate(
                gettext_lazy("Files of type %(content_type)s are not accepted."),
                {"content_type": content_type},
            )
        )

    result = get_scanner().scan(stream)
    if not result.clean:
        raise InfectedUpload(fields={"signature": result.signature})

    name = name_for_type(sanitize_filename(upload.name or ""), content_type)
    if content_type in IMAGE_FORMATS:
        return _process_image(stream, name=name, content_type=content_type)
    upload.seek(0)
    return ProcessedUpload(
        message_type="file",
        name=name,
        content_type=content_type,
        size=size,
        content=upload,
        thumbnail=None,
        width=None,
        height=None,
        force_download=True,
        preview=text_preview(head) if content_type == "text/plain" else "",
    )


PREVIEW_LINES = 20
PREVIEW_CHARS = 1000


def text_preview(head: bytes) -> str:
    """The first page of a text file (at most 20 lines and 1000 characters), with
    control characters other than tabs and newlines removed."""
    text = head.decode("utf-8", errors="ignore").replace("\r\n", "\n")
    lines = text.split("\n")[:PREVIEW_LINES]
    page = "\n".join(lines)[:PREVIEW_CHARS]
    return "".join(ch for ch in page if ch in "\t\n" or (ch.isprintable() and ch != "\x7f"))


def sniff_content_type(head: bytes) -> str:
    """The media type of a file judged from its first bytes only."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(head)
    markup = _sniff_markup(head)
    if markup:
        return markup
    if _is_text(head):
        return "text/plain"
    return "application/octet-stream"


# Every type ``sniff_content_type`` returns: what CHAT_UPLOAD_DENY_TYPES and
# CHAT_UPLOAD_ALLOW_TYPES can name (chat.checks warns about anything else).
SNIFFABLE_TYPES = frozenset(
    {content_type for _, content_type in _MAGIC}
    | {
        "image/webp",
        "audio/wav",
        "video/mp4",
        "application/zip",
        "application/java-archive",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "image/svg+xml",
        "application/xml",
        "application/xhtml+xml",
        "text/html",
        "text/plain",
        "application/octet-stream",
    }
)


def sanitize_filename(name: str) -> str:
    """A display name: basename only, no control characters, NFC, at most 200 characters."""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = name.strip().rstrip(". ")
    if not name.strip("."):
        return FALLBACK_NAME
    if len(name) > MAX_NAME_LENGTH:
        stem, extension = os.path.splitext(name)
        if len(extension) > MAX_EXTENSION_LENGTH:
            stem, extension = name, ""
        name = stem[: MAX_NAME_LENGTH - len(extension)].rstrip() + extension
    return name


def name_for_type(name: str, content_type: str) -> str:
    """``name`` if its extension is one of ``content_type``'s, else ``name`` plus that
    type's extension (``.bin`` for types with none): ``run.bat`` of text → ``run.bat.txt``."""
    allowed = NAME_EXTENSIONS.get(content_type, (DEFAULT_EXTENSION,))
    if os.path.splitext(name)[1].lower() in allowed:
        return name
    return name + allowed[0]


def random_storage_name(content_type: str, kind: str) -> str:
    """``chat/<kind>/<yyyy>/<mm>/<uuid><ext>`` with the extension of the sniffed type.

    Pass the type sniffed from the bytes (``ProcessedUpload.content_type``), never anything
    derived from the client's file name.
    """
    extension = STORAGE_EXTENSIONS.get(content_type, DEFAULT_EXTENSION)
    now = timezone.now()
    return f"chat/{kind}/{now:%Y}/{now:%m}/{uuid.uuid4().hex}{extension}"


# --- sniffing helpers -------------------------------------------------------------------


def _sniff_zip(head: bytes) -> str:
    if b"META-INF/MANIFEST.MF" in head:
        return "application/java-archive"
    if b"mimetypeapplication/vnd.oasis.opendocument." in head:
        kind = head.split(b"mimetypeapplication/vnd.oasis.opendocument.", 1)[1][:12]
        for suffix in ("text", "spreadsheet", "presentation"):
            if kind.startswith(suffix.encode()):
                return f"application/vnd.oasis.opendocument.{suffix}"
    if b"[Content_Types].xml" in head or b"_rels/.rels" in head:
        for marker, content_type in (
            (b"word/", "wordprocessingml.document"),
            (b"xl/", "spreadsheetml.sheet"),
            (b"ppt/", "presentationml.presentation"),
        ):
            if marker in head:
                return f"application/vnd.openxmlformats-officedocument.{content_type}"
    return "application/zip"


def _sniff_markup(head: bytes) -> str | None:
    text = head.removeprefix(codecs.BOM_UTF8)
    for bom, encoding in _UTF16_BOMS:
        if head.startswith(bom):
            text = head[len(bom) :].decode(encoding, "ignore").encode("utf-8")
            break
    text = text.lstrip(b" \t\n\r\f").lower()
    if not text.startswith(b"<"):
        return None
    if text.startswith(b"<svg") or (
        text.startswith((b"<?xml", b"<!doctype svg")) and b"<svg" in text
    ):
        return "image/svg+xml"
    if text.startswith(b"<?xml"):
        return "application/xhtml+xml" if b"<html" in text else "application/xml"
    for start in _HTML_STARTS:
        # The tag name must end there: "<bold" is not "<b", "<plan" is not "<p".
        if text.startswith(start) and text[len(start) : len(start) + 1] in _TAG_ENDS:
            return "text/html"
    return None


def _is_text(head: bytes) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # final=False: a character cut in half at the end of the sniffed bytes is fine.
        text = decoder.decode(head, final=len(head) < SNIFF_SIZE)
    except UnicodeDecodeError:
        return False
    return not any(ord(ch) < 0x20 and ord(ch) not in _TEXT_CONTROLS for ch in text)


# --- images ---------------------------------------------------------------------------


def _process_image(stream: BinaryIO, *, name: str, content_type: str) -> ProcessedUpload:
    image_format = IMAGE_FORMATS[content_type]
    stream.seek(0)
    try:
        with Image.open(stream, formats=[image_format]) as image:
            _check_dimensions(image)
            encoded, width, height = _reencode(image, image_format)
            thumbnail, thumbnail_type = _thumbnail(image)
    except Image.DecompressionBombError as exc:
        raise ValidationFailed(
            lazy_interpolate(
                gettext_lazy("Image is too large: more than %(chat_image_max_pixels)s pixels."),
                {"chat_image_max_pixels": settings.CHAT_IMAGE_MAX_PIXELS},
            )
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ValidationFailed(gettext_lazy("Not a valid image.")) from exc
    finally:
        stream.seek(0)
    return ProcessedUpload(
        message_type="image",
        name=name,
        content_type=content_type,
        size=len(encoded),
        content=ContentFile(encoded, name=name),
        thumbnail=thumbnail,
        width=width,
        height=height,
        force_download=False,
        thumbnail_content_type=thumbnail_type,
    )


def _check_dimensions(image: Image.Image) -> None:
    """Refuse oversized images from the header alone, before any pixel is decoded."""
    width, height = image.size
    max_side = settings.CHAT_IMAGE_MAX_SIDE
    max_pixels = settings.CHAT_IMAGE_MAX_PIXELS
    if width <= 0 or height <= 0:
        raise ValidationFailed(gettext_lazy("Not a valid image."))
    if width > max_side or height > max_side:
        raise ValidationFailed(
            lazy_interpolate(
                gettext_lazy(
                    "Image is too large: %(width)sx%(height)s pixels "
                    "(at most %(max_side)s per side)."
                ),
                {"width": width, "height": height, "max_side": max_side},
            )
        )
    if width * height > max_pixels:
        raise ValidationFailed(
            lazy_interpolate(
                gettext_lazy(
                    "Image is too large: %(width)sx%(height)s pixels "
                    "(at most %(max_pixels)s pixels)."
                ),
                {"width": width, "height": height, "max_pixels": max_pixels},
            )
        )
    frames = getattr(image, "n_frames", 1)
    if frames > settings.CHAT_IMAGE_MAX_FRAMES:
        raise ValidationFailed(
            lazy_interpolate(
                gettext_lazy(
                    "Image has too many frames: %(frames)s (at most %(chat_image_max_frames)s)."
                ),
                {"frames": frames, "chat_image_max_frames": settings.CHAT_IMAGE_MAX_FRAMES},
            )
        )
    # Every frame of an animation is decoded on re-encoding: bound the total work too.
    if frames > 1 and width * height * frames > max_pixels:
        raise ValidationFailed(
            lazy_interpolate(
                gettext_lazy(
                    "Animation is too large: %(frames)s frames of %(width)sx%(height)s pixels "
                    "(at most %(max_pixels)s pixels in all)."
                ),
                {"frames": frames, "width": width, "height": height, "max_pixels": max_pixels},
            )
        )


def _reencode(image: Image.Image, image_format: str) -> tuple[bytes, int, int]:
    optimize = bool(settings.CHAT_IMAGE_OPTIMIZATION)
    output = io.BytesIO()
    if getattr(image, "n_frames", 1) > 1:
        options = _save_options(image_format, image, optimize=optimize)
        # Metadata is only written when passed explicitly, except GIF comments.
        image.save(output, format=image_format, save_all=True, **options)
        width, height = image.size
        image.seek(0)
    else:
        image.load()
        clean = _without_metadata(ImageOps.exif_transpose(image))
        clean = _encodable(clean, image_format)
        options = _save_options(image_format, clean, optimize=optimize)
        clean.save(output, format=image_format, **options)
        width, height = clean.size
    return output.getvalue(), width, height


def _without_metadata(image: Image.Image) -> Image.Image:
    kept: dict[str | tuple[int, int], Any] = {
        key: image.info[key]
        for key in ("icc_profile", "transparency", "background")
        if key in image.info
    }
    image.info = kept
    return image


def _encodable(image: Image.Image, image_format: str) -> Image.Image:
    if image_format == "JPEG" and image.mode not in ("L", "RGB"):
        converted = image.convert("RGB")
        if image.mode == "CMYK":
            # The profile describes the CMYK source, not the converted pixels.
            converted.info.pop("icc_profile", None)
        return converted
    if image_format == "WEBP" and image.mode not in ("RGB", "RGBA"):
        return image.convert("RGBA" if _has_alpha(image) else "RGB")
    return image


def _save_options(image_format: str, image: Image.Image, *, optimize: bool) -> dict[str, Any]:
    options: dict[str, Any] = {"exif": b""}
    icc_profile = image.info.get("icc_profile")
    if icc_profile:
        options["icc_profile"] = icc_profile
    if image_format == "JPEG":
        options.update(quality=85 if optimize else 95, optimize=optimize, progressive=optimize)
        options["comment"] = b""
    elif image_format == "PNG":
        options["optimize"] = optimize
    elif image_format == "WEBP":
        options.update(quality=85 if optimize else 95)
    elif image_format == "GIF":
        options.update(optimize=optimize, comment=b"", loop=image.info.get("loop", 0))
    return options


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode in ("P", "L", "RGB") and "transparency" in image.info
    )


def _thumbnail(image: Image.Image) -> tuple[ContentFile, str]:
    image.seek(0)
    frame = ImageOps.exif_transpose(image)
    box = settings.CHAT_THUMBNAIL_SIZE
    output = io.BytesIO()
    if _has_alpha(frame):
        thumb = frame.convert("RGBA")
        thumb.thumbnail((box, box))
        thumb.save(output, format="PNG", optimize=True)
        return ContentFile(output.getvalue(), name="thumbnail.png"), "image/png"
    thumb = frame.convert("RGB")
    thumb.thumbnail((box, box))
    thumb.save(output, format="JPEG", quality=80, optimize=True)
    return ContentFile(output.getvalue(), name="thumbnail.jpg"), "image/jpeg"
