"""Fields every API validates the same way."""

from __future__ import annotations

from typing import Any

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
