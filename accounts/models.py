from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A platform user. ``display_name`` is what other people see in chat;
    ``language`` is the one the page and the API's errors speak to them in
    (blank: the browser's, from ``Accept-Language``)."""

    class Language(models.TextChoices):
        BROWSER = "", _("Browser language")
        ENGLISH = "en", "English"
        GERMAN = "de", "Deutsch"

    display_name = models.CharField(max_length=150, blank=True)
    language = models.CharField(max_length=8, choices=Language.choices, blank=True, default="")

    def get_display_name(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def __str__(self) -> str:
        return self.username
