"""The presence sweep of one server process.

Started once per process by the first socket that connects (Daphne has no
startup hook for this); it runs in that process's event loop every
CHAT_PRESENCE_SWEEP_INTERVAL seconds (at most a third of
CHAT_CONNECTION_TIMEOUT): it refreshes the heartbeat of this process's sockets
and sweeps the sockets of processes that stopped refreshing theirs (killed,
frozen), turning their users offline, and closes the polls whose ``closes_at``
has passed. ``manage.py presence_sweep`` does the same sweep from cron, for
deployments where no socket server is up.
"""

from __future__ import annotations

import asyncio
import logging
import time

from django.conf import settings

from chat.consumers.db import run_sync
from chat.services import polls as polls_services
from chat.services import presence as presence_services

logger = logging.getLogger(__name__)

_task: asyncio.Task[None] | None = None


def sweep_interval() -> float:
    """Seconds between sweeps; 0 or less disables the in-process sweep."""
    interval = float(getattr(settings, "CHAT_PRESENCE_SWEEP_INTERVAL", 5))
    if interval <= 0:
        return 0.0
    return max(0.2, min(interval, settings.CHAT_CONNECTION_TIMEOUT / 3))


def sweep_once(*, sweep_others: bool = True) -> tuple[int, list[int]]:
    """Refresh this process's registrations; sweep the dead ones of every process
    when ``sweep_others``; close the polls past their ``closes_at``. Returns how many
    of ours were refreshed and who went offline."""
    refreshed = presence_services.connections_refresh()
    offline = presence_services.presence_sweep() if sweep_others else []
    polls_services.polls_close_due()
    return refreshed, offline


async def _run() -> None:
    # After the database was out of reach, the other processes' registrations
    # look as dead as a killed process's until they refresh them: this process
    # sweeps others only once it has reached the database for a whole
    # CHAT_CONNECTION_TIMEOUT, and re-registers its own sockets whose rows were
    # swept meanwhile.
    unreachable_until = 0.0
    while True:
        from chat.consumers.hub import running_hub

        sweep_others = time.monotonic() >= unreachable_until
        try:
            refreshed, _ = await run_sync(sweep_once)(sweep_others=sweep_others)
        except Exception:
            logger.warning("presence sweep failed", exc_info=True)
            unreachable_until = time.monotonic() + float(settings.CHAT_CONNECTION_TIMEOUT)
        else:
            hub = running_hub()
            if hub is not None and refreshed < hub.registered_count():
                await hub.register_again()
        await asyncio.sleep(sweep_interval() or 5.0)


def ensure_started() -> None:
    """Start this process's sweeper in the running loop, once."""
    global _task
    if sweep_interval() <= 0:
        return
    loop = asyncio.get_running_loop()
    if _task is not None and not _task.done() and _task.get_loop() is loop:
        return
    _task = loop.create_task(_run())
