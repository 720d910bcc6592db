from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_save, pre_save

        from accounts import signals

        uid = "accounts.tokens.credentials"
        pre_save.connect(
            signals.note_credential_change, sender=settings.AUTH_USER_MODEL, dispatch_uid=uid
        )
        post_save.connect(
            signals.revoke_tokens_after_credential_change,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid=uid,
        )
