from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_delete, pre_delete

        from chat import checks  # noqa: F401 - registers the system checks
        from chat.services import counters

        # Deleting a user deletes their messages outright: keep unread counters exact.
        uid = "chat.counters.user"
        pre_delete.connect(
            counters.remember_rooms_of_user, sender=settings.AUTH_USER_MODEL, dispatch_uid=uid
        )
        post_delete.connect(
            counters.recount_rooms_of_user, sender=settings.AUTH_USER_MODEL, dispatch_uid=uid
        )
