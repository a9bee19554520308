"""The beat schedule in the embedded default: periodic jobs without Redis or a worker.

Without ``REDIS_URL`` tasks run eagerly in the web process and no ``celery beat`` runs, so
nothing would ever scan SLAs, recycle, send the digest or refresh snapshots: the demo would
not age like production (DESIGN §14). ``./scripts/dev demo`` serves with ``runserver``; when
``EMBEDDED_SCHEDULER`` is on (the default when ``CELERY_TASK_ALWAYS_EAGER``), that server
starts one daemon thread that reads ``CELERY_BEAT_SCHEDULE`` and runs each due entry by
calling its task eagerly, as ``celery beat`` would queue it.

Why a thread and not ``celery worker --beat`` on a local transport: the memory transport is
per process (a beat in another process cannot reach the web process), a filesystem
transport adds two processes writing the same SQLite file and a queue directory to clean,
and the eager tasks are already in-process. A thread in the server that is serving anyway
is one moving part, and stops with it.

Due-ness is celery's own: each entry's schedule object (``celery.schedules.schedule`` for
seconds, ``crontab`` as written) answers ``is_due(last_run_at)``. Interval entries are due
at start (the demo's overdue leads are scanned at once); crontab entries at their next time.
A failing task is logged and its entry waits for its next time; the server never crashes.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from celery import Celery  # type: ignore[import-untyped]
from celery.schedules import BaseSchedule, schedule  # type: ignore[import-untyped]
from django.conf import settings
from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

#: Seconds between two looks at the schedule (the shortest beat entry is 2 minutes).
TICK_SECONDS = 15.0


@dataclass
class Entry:
    name: str
    task: str
    schedule: BaseSchedule
    last_run_at: dt.datetime


class EmbeddedScheduler:
    """The entries of a beat schedule, each run eagerly when its celery schedule says due."""

    def __init__(self, app: Celery, beat_schedule: Mapping[str, Mapping[str, Any]]) -> None:
        self.app = app
        self.entries: list[Entry] = []
        now = app.now()
        for name, spec in beat_schedule.items():
            raw = spec["schedule"]
            if isinstance(raw, BaseSchedule):
                sched: BaseSchedule = raw
                last = now
            else:
                seconds = raw.total_seconds() if isinstance(raw, dt.timedelta) else float(raw)
                sched = schedule(run_every=dt.timedelta(seconds=seconds), app=app)
                last = now - dt.timedelta(seconds=seconds)  # due at start
            self.entries.append(Entry(name, str(spec["task"]), sched, last))

    def tick(self) -> list[str]:
        """Run every due entry once; the names of the entries run (failed ones included)."""
        ran = []
        for entry in self.entries:
            due, _next = entry.schedule.is_due(entry.last_run_at)
            if not due:
                continue
            entry.last_run_at = self.app.now()
            ran.append(entry.name)
            self.run(entry)
        return ran

    def run(self, entry: Entry) -> None:
        try:
            self.app.loader.import_default_modules()
            self.app.tasks[entry.task].apply(throw=True)
        except Exception:
            logger.exception("Periodic job %s (%s) failed", entry.name, entry.task)

    def loop(self, stop: threading.Event, interval: float = TICK_SECONDS) -> None:
        while not stop.wait(interval):
            # This thread's own connection, like a request's: a broken one is not reused.
            close_old_connections()
            try:
                self.tick()
            except Exception:  # never let the thread die: the next tick tries again
                logger.exception("Embedded scheduler tick failed")
            finally:
                close_old_connections()
        connections.close_all()


def should_start(argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Start only in the serving process of ``runserver`` with ``EMBEDDED_SCHEDULER`` on.

    The autoreloader's parent only watches files (``RUN_MAIN`` is set in its child, the one
    that serves); ``--noreload`` serves from the one process. Tests, gunicorn, workers and
    every other command never start it.
    """
    if not getattr(settings, "EMBEDDED_SCHEDULER", False):
        return False
    if len(argv) < 2 or argv[1] != "runserver":
        return False
    return environ.get("RUN_MAIN") == "true" or "--noreload" in argv


_started: threading.Event | None = None


def start(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """Start the scheduler thread once, when :func:`should_start`; whether it started."""
    global _started
    if _started is not None or not should_start(
        sys.argv if argv is None else argv, os.environ if environ is None else environ
    ):
        return False
    from pipeline.celery import app

    _started = threading.Event()
    scheduler = EmbeddedScheduler(app, settings.CELERY_BEAT_SCHEDULE)
    thread = threading.Thread(
        target=scheduler.loop, args=(_started,), name="embedded-beat", daemon=True
    )
    thread.start()
    logger.warning(
        "Embedded scheduler: running %d periodic jobs in this process", len(scheduler.entries)
    )
    return True
