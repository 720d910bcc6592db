"""Send the offline-notification emails: a worker loop, or one pass with ``--once``."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from chat.services.email_sending import notification_emails_prune, notification_emails_send

logger = logging.getLogger(__name__)

PRUNE_EVERY = 3600.0  # s: the loop drops what is done and a month old once an hour


class Command(BaseCommand):
    help = (
        "Email users what they missed while offline (mentions, answers to their private "
        "questions): one email per user and batch. Loops every CHAT_EMAIL_SEND_INTERVAL "
        "seconds until SIGTERM/SIGINT; --once runs one pass. Several may run at once: "
        "no item is mailed twice. Rows done for 30 days are deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one pass and exit.")
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="Seconds between passes (default: CHAT_EMAIL_SEND_INTERVAL).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbose = int(options["verbosity"]) > 1
        if options["once"]:
            notification_emails_prune()
            self._pass()
            return
        interval = options["interval"] or float(settings.CHAT_EMAIL_SEND_INTERVAL)
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(f"Sending notification emails every {interval:g} s.")
        pruned_at = 0.0
        while not stop.is_set():
            close_old_connections()
            try:
                if time.monotonic() - pruned_at >= PRUNE_EVERY:
                    notification_emails_prune()
                    pruned_at = time.monotonic()
                self._pass()
            except Exception:
                # A database or mail server outage: log it and try again next time.
                logger.exception("notification email pass failed")
            stop.wait(interval)

    def _pass(self) -> None:
        report = notification_emails_send()
        if report.emails or report.skipped or report.failed or self.verbose:
            self.stdout.write(
                f"{report.emails} email(s) sent ({report.sent} item(s)), "
                f"{report.skipped} skipped, {report.failed} failed."
            )
