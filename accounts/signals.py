"""A password change or a deactivation revokes the user's API tokens.

Whatever makes the change (the password-change views, ``set_password`` in a
shell or a command, the admin's user form or its actions) saves the user, so
the check sits on the save itself. ``QuerySet.update()`` bypasses it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from accounts.services import tokens_revoke

CREDENTIAL_FIELDS = frozenset({"password", "is_active"})


def note_credential_change(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """pre_save: remember whether this save changes the password or deactivates."""
    update_fields = kwargs.get("update_fields")
    if raw or instance.pk is None:
        return
    if update_fields is not None and not CREDENTIAL_FIELDS & set(update_fields):
        return
    before = (
        get_user_model().objects.filter(pk=instance.pk).values_list("password", "is_active").first()
    )
    if before is None:
        return
    password, was_active = before
    instance._revoke_tokens = password != instance.password or (
        was_active and not instance.is_active
    )


def revoke_tokens_after_credential_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    """post_save: the change is saved, so the tokens go."""
    if getattr(instance, "_revoke_tokens", False):
        instance._revoke_tokens = False
        tokens_revoke(user=instance)
