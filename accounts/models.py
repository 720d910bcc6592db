from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A platform user. ``display_name`` is what other people see in chat."""

    display_name = models.CharField(max_length=150, blank=True)

    def get_display_name(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def __str__(self) -> str:
        return self.username
