"""Fields every API validates the same way."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from chat import limits


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """A database id: an integer within the range of a BigAutoField."""
    return serializers.IntegerField(min_value=1, max_value=limits.ID_MAX, **kwargs)
