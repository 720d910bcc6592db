"""Delete RoomEvents older than CHAT_EVENT_RETENTION_HOURS (never a room's newest)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from chat import replay, services


class Command(BaseCommand):
    help = (
        "Delete room events older than CHAT_EVENT_RETENTION_HOURS; clients that "
        "reconnect from before then get resync.required."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--hours", type=int, default=None, help="Override CHAT_EVENT_RETENTION_HOURS."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["hours"] is not None:
            cutoff = timezone.now() - timedelta(hours=options["hours"])
        else:
            cutoff = replay.retention_cutoff()
        deleted = services.room_events_prune(before=cutoff)
        self.stdout.write(f"Deleted {deleted} room events older than {cutoff.isoformat()}.")
