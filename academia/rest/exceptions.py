"""Maps the domain error family onto DRF's JSON error responses.

Database outages (``OperationalError``, ``InterfaceError``) become ``Unavailable``:
503 ``unavailable`` with ``Retry-After`` (see ``academia.unavailable``). Django's
refusals of a body it will not read (over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, too many
form fields or files) become 413 ``upload_too_large`` and 400 ``bad_request``
rather than its HTML 400.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from academia.unavailable import DATABASE_ERRORS, RETRY_AFTER_SECONDS, log_database_error
from chat.errors import (
    BadRequest,
    ChatError,
    RateLimited,
    Unavailable,
    UploadTooLarge,
    ValidationFailed,
    lazy_interpolate,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# The body's own keys: a field of the same name (a course's ``code``) is given under
# ``fields`` instead, so it never replaces the error's code or detail.
ERROR_KEYS = frozenset({"detail", "code", "retry_after", "fields"})


def error_body(exc: ChatError) -> dict[str, Any]:
    """``{"detail", "code"}`` and each field's errors beside them, as DRF writes them."""
    body: dict[str, Any] = {"detail": str(exc.detail), "code": exc.code}
    for name, problems in exc.fields.items():
        if name in ERROR_KEYS:
            body.setdefault("fields", {})[name] = problems
        else:
            body[name] = problems
    return body


def _first_problem(problems: Any) -> str:
    """The first message in DRF's nested field errors (lists and dicts of them)."""
    while isinstance(problems, dict | list) and problems:
        problems = next(iter(problems.values())) if isinstance(problems, dict) else problems[0]
    return str(problems) if problems else ""


def validation_failed(exc: ValidationError) -> ValidationFailed:
    """A serializer's field errors as the body of every other 400: ``code``
    ``validation_error``, a ``detail`` naming the first problem, and each field's
    errors beside them (as the socket's ``error`` frame says ``validation_error``)."""
    problems = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    name, first = next(iter(problems.items()), ("", []))
    message = _first_problem(first)
    detail: StrOrPromise | None = message or None
    if name and name != "non_field_errors" and message:
        detail = lazy_interpolate(
            gettext_lazy("%(field)s: %(problem)s"), {"field": name, "problem": message}
        )
    return ValidationFailed(detail, fields=dict(problems))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ValidationError):
        exc = validation_failed(exc)
    if isinstance(exc, RequestDataTooBig):
        # A body over DATA_UPLOAD_MAX_MEMORY_SIZE that is not a multipart upload.
        exc = UploadTooLarge(gettext_lazy("The request body is too large."))
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = BadRequest(gettext_lazy("The form has too many fields."))
    if isinstance(exc, DATABASE_ERRORS):
        log_database_error(context["request"], exc)
        exc = Unavailable()
    if isinstance(exc, ChatError):
        body = error_body(exc)
        headers = {}
        if isinstance(exc, RateLimited):
            body["retry_after"] = exc.retry_after
            headers["Retry-After"] = str(exc.retry_after)
        elif isinstance(exc, Unavailable):
            headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return Response(body, status=exc.status, headers=headers)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        code = getattr(response.data["detail"], "code", None)
        if code and "code" not in response.data:
            response.data["code"] = code
    return response
