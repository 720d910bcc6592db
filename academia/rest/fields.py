"""Fields every API validates the same way."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from chat import limits


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """A database id: an integer within the range of a BigAutoField."""
    return serializers.IntegerField(min_value=1, max_value=limits.ID_MAX, **kwargs)


class TextField(serializers.CharField):
    """A CharField that takes text only: DRF's turns a JSON number into its digits,
    where the socket (and the services behind both) refuses anything but a string."""

    default_error_messages = {"not_text": gettext_lazy("Not a string.")}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_text")
        return super().to_internal_value(data)


def client_id_field(*, allow_null: bool = True) -> TextField:
    """A sender's deduplication id, taken as sent (never trimmed: the answer echoes it);
    the services check its form. Forms carry no null: ``allow_null=False`` there."""
    return TextField(
        required=False,
        allow_null=allow_null,
        allow_blank=True,
        max_length=limits.CLIENT_ID_MAX,
        trim_whitespace=False,
    )


class FlagField(serializers.BooleanField):
    """A BooleanField that takes ``true`` or ``false`` only in a JSON body: DRF's also
    takes "yes", 1 and "on", where the socket refuses anything but a boolean. A form
    or a query string, which carry text, may still say "true" or "false"."""

    default_error_messages = {"not_boolean": gettext_lazy("Must be true or false.")}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool) and not isinstance(self.root.initial_data, QueryDict):
            self.fail("not_boolean")
        return super().to_internal_value(data)


class AwareDateTimeField(serializers.DateTimeField):
    """A date and time with its time zone (``Z`` or ``+01:00``): DRF's would read one
    without as the server's, where the socket refuses it."""

    default_error_messages = {"naive": gettext_lazy("Give the time zone (Z or +01:00).")}

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            parsed = parse_datetime(value.strip())
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        return super().to_internal_value(value)
