"""One family of domain errors, mapped to HTTP statuses and to WebSocket error frames.

``detail`` is for people, in the request's or socket's language; ``code`` is for
programs and never translated.

| exception            | code (error frame / JSON) | HTTP |
| -------------------- | ------------------------- | ---- |
| BadRequest           | bad_request               | 400  |
| ValidationFailed     | validation_error          | 400  |
| Forbidden            | forbidden                 | 403  |
| NotFound             | not_found                 | 404  |
| EditWindowClosed     | edit_window_closed        | 403  |
| RoomArchived         | room_archived             | 403  |
| Muted                | muted                     | 403  |
| RoomFull             | room_full                 | 409  |
| UploadTooLarge       | upload_too_large          | 413  |
| UnsupportedFileType  | unsupported_file_type     | 415  |
| RateLimited          | rate_limited              | 429  |
| SlowMode             | slow_mode                 | 429  |
| UploadQuotaExceeded  | upload_quota_exceeded     | 429  |
| Unavailable          | unavailable               | 503  |
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class ChatError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    default_detail: ClassVar[StrOrPromise] = _("The request could not be completed.")

    def __init__(
        self, detail: StrOrPromise | None = None, *, fields: dict[str, Any] | None = None
    ) -> None:
        # Lazy: rendered in the language active where the error is answered, the
        # request's (the user's setting, else Accept-Language) or the socket's
        # (chat.consumers.base), not where it was raised (a room's batched sends
        # are written for several sockets at once).
        self.detail: StrOrPromise = detail or self.default_detail
        self.fields = fields or {}
        super().__init__(self.detail)


class BadRequest(ChatError):
    code = "bad_request"
    default_detail = _("Malformed request.")


class ValidationFailed(ChatError):
    code = "validation_error"
    default_detail = _("Invalid input.")


class Forbidden(ChatError):
    code = "forbidden"
    status = 403
    default_detail = _("You are not allowed to do this.")


class NotFound(ChatError):
    code = "not_found"
    status = 404
    default_detail = _("Not found.")


class EditWindowClosed(ChatError):
    code = "edit_window_closed"
    status = 403
    default_detail = _("The time to change this message has passed.")


class RoomArchived(ChatError):
    code = "room_archived"
    status = 403
    default_detail = _("This room is archived.")


class Muted(ChatError):
    code = "muted"
    status = 403
    default_detail = _("You are muted in this room.")


class RoomFull(ChatError):
    code = "room_full"
    status = 409
    default_detail = _("This room is full.")


class UploadTooLarge(ChatError):
    code = "upload_too_large"
    status = 413
    default_detail = _("The file is too large.")


class UnsupportedFileType(ChatError):
    code = "unsupported_file_type"
    status = 415
    default_detail = _("This type of file is not accepted.")


class RateLimited(ChatError):
    code = "rate_limited"
    status = 429
    default_detail = _("Too many requests; slow down.")

    def __init__(self, detail: StrOrPromise | None = None, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))


class SlowMode(RateLimited):
    """The room's slow mode: the member's previous message is too recent."""

    code = "slow_mode"
    default_detail = _("Slow mode is on in this room; wait before sending again.")


class UploadQuotaExceeded(RateLimited):
    code = "upload_quota_exceeded"
    default_detail = _("Daily upload quota reached.")


class Unavailable(ChatError):
    code = "unavailable"
    status = 503
    default_detail = _("The service is temporarily unavailable.")


def _interpolate(message: StrOrPromise, params: dict[str, Any]) -> str:
    return str(message) % params


#: ``message % params``, done when the string is used: a lazily translated
#: ``message`` is then rendered in the language active where the error is sent.
lazy_interpolate = lazy(_interpolate, str)
