"""Pruning the RoomEvent log to its retention window."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F

from chat.models import RoomEvent

# Events deleted per statement: a log that grew for months is pruned in short
# statements (each well within DATABASE_STATEMENT_TIMEOUT), never in one.
PRUNE_BATCH = 5000


def room_events_prune(*, before: datetime) -> int:
    """Delete events created before ``before``, except the newest event of each
    room (it anchors ``last_seq`` for clients that are up to date). Returns the
    number deleted; clients reconnecting from before then get ``resync.required``."""
    stale = RoomEvent.objects.filter(created_at__lt=before).exclude(seq=F("room__last_seq"))
    total = 0
    while True:
        batch = list(stale.order_by("pk").values_list("pk", flat=True)[:PRUNE_BATCH])
        if not batch:
            return total
        deleted, _ = RoomEvent.objects.filter(pk__in=batch).delete()
        total += deleted
