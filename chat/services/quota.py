"""The daily upload quota: bytes a user may upload per UTC day (CHAT_UPLOAD_DAILY_QUOTA).

Beside the per-file limit (CHAT_FILE_UPLOAD_LIMIT, 413): a user over the quota
gets 429 ``upload_quota_exceeded`` with ``Retry-After`` (seconds until the next
UTC midnight, when the count starts again). The count lives in the cache, like
the throttles, and fails open the same way when the cache is unreachable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext_lazy

from academia.unavailable import CACHE_ERRORS, warn_cache_unreachable
from chat import errors
from chat.errors import lazy_interpolate

if TYPE_CHECKING:
    from accounts.models import User


def _next_midnight(now: datetime) -> datetime:
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


class QuotaReservation:
    """Bytes counted against a user's quota of today; ``refund()`` gives them back."""

    def __init__(self, key: str | None, size: int) -> None:
        self.key, self.size = key, size

    def refund(self) -> None:
        if self.key is None or not self.size:
            return
        try:
            cache.decr(self.key, self.size)
        except ValueError:  # the day ended and the key expired: nothing to give back
            pass
        except CACHE_ERRORS:
            warn_cache_unreachable("the upload quota")
        self.key = None


def upload_quota_reserve(*, actor: User, size: int) -> QuotaReservation:
    """Count ``size`` bytes against the actor's quota of the current UTC day, or raise
    UploadQuotaExceeded (nothing counted) if that would go over CHAT_UPLOAD_DAILY_QUOTA."""
    quota = settings.CHAT_UPLOAD_DAILY_QUOTA
    if quota <= 0 or size <= 0:
        return QuotaReservation(None, 0)
    now = timezone.now().astimezone(UTC)
    midnight = _next_midnight(now)
    key = f"chat:upload-bytes:{actor.pk}:{now:%Y%m%d}"
    try:
        cache.add(key, 0, timeout=int((midnight - now).total_seconds()) + 60)
        used = cache.incr(key, size)
        if used > quota:
            cache.decr(key, size)
    except CACHE_ERRORS:
        warn_cache_unreachable("the upload quota")
        return QuotaReservation(None, 0)
    if used > quota:
        raise errors.UploadQuotaExceeded(
            lazy_interpolate(
                gettext_lazy(
                    "Daily upload quota reached: %(used)s of %(quota)s bytes used today (UTC); "
                    "this file needs %(size)s."
                ),
                {"used": used - size, "quota": quota, "size": size},
            ),
            retry_after=int((midnight - now).total_seconds()) + 1,
        )
    return QuotaReservation(key, size)


@contextmanager
def upload_quota(*, actor: User, size: int) -> Iterator[QuotaReservation]:
    """Reserve ``size`` bytes of the actor's daily quota for the block; refunded if
    the block raises (a refused upload costs nothing)."""
    reservation = upload_quota_reserve(actor=actor, size=size)
    try:
        yield reservation
    except BaseException:
        reservation.refund()
        raise
