"""Turn offline the users whose sockets stopped heartbeating (run from cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from chat.services import polls, presence


class Command(BaseCommand):
    help = (
        "Delete socket registrations older than CHAT_CONNECTION_TIMEOUT and set "
        "offline (broadcast) the users left without a live socket; close the polls "
        "past their closes_at. Every server process also runs this sweep itself."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        offline = presence.presence_sweep()
        closed = polls.polls_close_due()
        self.stdout.write(f"{len(offline)} user(s) set offline, {len(closed)} poll(s) closed.")
