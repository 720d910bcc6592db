"""Pruning the RoomEvent log to its retention window."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F

from chat.models import RoomEvent


def room_events_prune(*, before: datetime) -> int:
    """Delete events created before ``before``, except the newest event of each
    room (it anchors ``last_seq`` for clients that are up to date). Returns the
    number deleted; clients reconnecting from before then get ``resync.required``."""
    deleted, _ = (
        RoomEvent.objects.filter(created_at__lt=before).exclude(seq=F("room__last_seq")).delete()
    )
    return deleted
