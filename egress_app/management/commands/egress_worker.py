"""`manage.py egress_worker`: the reconciler loop (see egress_app/actions/reconcile.py), which
also sends the alerts that are due (egress_app/actions/alert_delivery.py), starts scheduled
recipes (egress_app/actions/schedules.py) and purges transcripts past their retention
(egress_app/actions/transcripts.py), each step once per EGRESS_WORKER_INTERVAL."""

from __future__ import annotations

import logging
import time
from dataclasses import fields
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from egress_app import metrics
from egress_app.actions.alert_delivery import deliver_due
from egress_app.actions.reconcile import reconcile
from egress_app.actions.schedules import run_schedules
from egress_app.actions.transcripts import purge_transcripts

logger = logging.getLogger("egress_app.worker")


class Command(BaseCommand):
    help = (
        "Reconcile jobs with LiveKit every EGRESS_WORKER_INTERVAL seconds: apply what webhooks "
        "missed, flag stuck and lost jobs, adopt egress started elsewhere, stop jobs at their "
        "maximum duration; start scheduled recipes; delete transcripts "
        "past TRANSCRIPT_RETENTION_DAYS. Safe to run several."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run once and exit.")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        interval = float(settings.EGRESS_WORKER_INTERVAL)
        if not once:
            self.stdout.write(f"Reconciling with {settings.LIVEKIT_URL} every {interval:g} s.")
        while True:
            started = time.monotonic()
            try:
                run = reconcile()
            except Exception:  # one bad run (a database blip) must not end the worker
                logger.exception("Reconciler run failed")
                metrics.reconciler_ran(None)
            else:
                metrics.reconciler_ran(run)
                for error in run.errors:
                    logger.warning("Reconciler could not read LiveKit: %s", error)
                done = {f.name: getattr(run, f.name) for f in fields(run) if f.name != "errors"}
                # Every run claims jobs to check: say something when it did more.
                if once or any(count for name, count in done.items() if name != "claimed"):
                    self.stdout.write(", ".join(f"{name} {count}" for name, count in done.items()))
            self._deliver_alerts()
            self._run_schedules()
            self._purge_transcripts(once=once)
            if once:
                return
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
            close_old_connections()  # a long-lived loop: drop a connection the database closed

    def _deliver_alerts(self) -> None:
        """Alerts raised since the last loop go out (and failed ones are retried when due)."""
        try:
            run = deliver_due()
        except Exception:  # like a failed reconciler run: the next loop tries again
            logger.exception("Alert delivery failed")
            return
        if run:
            self.stdout.write(
                f"alerts sent {run.sent}, retrying {run.retrying}, failed {run.failed}, "
                f"rate-limited {run.rate_limited}"
            )

    def _run_schedules(self) -> None:
        """Due schedules taken, waiting runs started once their room exists (said when any)."""
        try:
            done = run_schedules()
        except Exception:  # like a failed reconciler run: the next loop tries again
            logger.exception("Schedule pass failed")
            return
        if done:
            self.stdout.write("schedules: " + ", ".join(f"{k} {v}" for k, v in vars(done).items()))

    def _purge_transcripts(self, *, once: bool) -> None:
        """Transcripts past `TRANSCRIPT_RETENTION_DAYS` go (none when it is empty)."""
        try:
            purged = purge_transcripts()
        except Exception:  # like a failed reconciler run: the next loop tries again
            logger.exception("Transcript purge failed")
            return
        if purged or (once and settings.TRANSCRIPT_RETENTION_DAYS is not None):
            self.stdout.write(f"transcripts purged {purged}")
