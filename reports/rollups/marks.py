"""Marking the cohort days whose rollups a change made stale, and asking for the refresh.

A mark is one inserted row (``RollupMark``), written in the transaction of the change, so
it commits with it (one statement in that transaction, no transaction of its own);
concurrent writers never wait for each other. After the marking transaction commits, the
refresh job (``reports.tasks.rollup_refresh_task``, on the realtime queue) is queued
``ROLLUP_DEBOUNCE_SECONDS`` later, once per debounce window (a cache key): a burst of
changes makes one refresh of the days they marked. With eager tasks (the embedded default,
no broker) the refresh runs right after the commit.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django.utils import timezone

from leads.models import Lead
from pipeline.queue import enqueue
from reports.rollups.models import RollupMark

#: The refresh task, by its registered name (the task module imports this one).
REFRESH_TASK = "reports.tasks.rollup_refresh_task"
#: The rebuild task (``rebuild_rollups``), on the reports queue.
REBUILD_TASK = "reports.tasks.rollup_rebuild_task"
_QUEUED_KEY = "reports:rollup-refresh-queued"


def cohort_day(at: dt.datetime) -> dt.date:
    """The cohort day of a lead created at ``at``: its date in the business time zone
    (``reports.periods.period_bounds``)."""
    return timezone.localtime(at).date()


class _Marked:
    """Days marked in one transaction (their rows are written in it): once it commits, the
    refresh is asked for, once for every ``_Marked`` of that transaction (``requested``
    is shared by them)."""

    def __init__(self, days: set[dt.date | None], requested: list[bool]) -> None:
        self.days = days
        self.requested = requested
        self.done = False

    def __call__(self) -> None:
        self.done = True
        if not self.requested[0]:
            self.requested[0] = True
            request_refresh()


def _write(days: Iterable[dt.date | None]) -> None:
    RollupMark.objects.bulk_create([RollupMark(day=day) for day in days])


def mark_days(days: Iterable[dt.date | None]) -> None:
    """Mark these days stale (``None``: every day): in the current transaction, so the
    marks commit with the change (a rolled-back change marks nothing), each day once per
    transaction; the refresh is asked for after the commit. Outside a transaction, at once.

    A day is written again only if no live mark of this transaction covers it: a mark
    written in a savepoint that was rolled back is gone, and so is its ``on_commit``
    entry (Django drops the callbacks of a rolled-back savepoint), which is how the days
    written are known.
    """
    wanted = set(days)
    if not wanted:
        return
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _write(wanted)
        request_refresh()
        return
    live = [
        func
        for _sids, func, _robust in connection.run_on_commit
        if isinstance(func, _Marked) and not func.done
    ]
    new = wanted.difference(*(marked.days for marked in live))
    if not new:
        return
    _write(new)
    # Registered in the current savepoint: rolled back with the rows it stands for.
    transaction.on_commit(_Marked(new, live[0].requested if live else [False]))


def mark_leads(lead_ids: Iterable[int]) -> None:
    """Mark the cohort days of these leads."""
    ids = sorted(set(lead_ids))
    days: set[dt.date | None] = set()
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        days.update(
            cohort_day(at)
            for at in Lead.objects.filter(pk__in=chunk).values_list("created_at", flat=True)
        )
    mark_days(days)


def mark_everything() -> None:
    """Every day is stale (the attribution rules changed): reports answer live until
    ``rebuild_rollups`` has run; the rebuild is queued on the reports queue."""
    mark_days([None])
    transaction.on_commit(lambda: enqueue(REBUILD_TASK))


#: Until when (``time.time()``) a refresh queued by some process is known to be still
#: ahead, so this process need not ask again (``request_refresh``).
_ahead_until = 0.0
#: Clock skew allowed between the processes that share the debounce key.
_SKEW_SECONDS = 0.5


def request_refresh() -> None:
    """Queue the refresh of the marked days, debounced (see the module's docstring).

    The debounce key holds the time the window's refresh was queued: a refresh queued at
    ``t`` runs at ``t + ROLLUP_DEBOUNCE_SECONDS`` or later and then reads every mark
    committed before, so until shortly before then this process asks nothing — one Redis
    call per window and process instead of one per change."""
    global _ahead_until
    if settings.CELERY_TASK_ALWAYS_EAGER:
        enqueue(REFRESH_TASK)
        return
    delay = settings.ROLLUP_DEBOUNCE_SECONDS
    if not delay:
        enqueue(REFRESH_TASK)
        return
    now = time.time()
    if now < _ahead_until:
        return
    try:
        first, queued_at = _claim_window(now, delay)
    except Exception:  # a cache outage: queue anyway (the refresh is idempotent)
        first, queued_at = True, now
    if first:
        enqueue(REFRESH_TASK, countdown=delay)
    _ahead_until = queued_at + delay - _SKEW_SECONDS


def _claim_window(now: float, delay: int) -> tuple[bool, float]:
    """Set the debounce key to ``now`` unless it is there: (whether this call set it, the
    time the window's refresh was queued — 0 when unknown). On Redis in one call (``SET
    NX GET``), which also returns the time another process stored."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        redis_cache: Any = backend  # its client is not typed
        client = redis_cache._cache.get_client(_QUEUED_KEY, write=True)
        key = backend.make_and_validate_key(_QUEUED_KEY)
        previous = client.set(key, repr(now), nx=True, ex=delay, get=True)
        if previous is None:
            return True, now
        try:
            return False, float(previous)
        except ValueError:  # a value of another kind: say nothing about the window
            return False, 0.0
    if backend.add(_QUEUED_KEY, now, timeout=delay):
        return True, now
    return False, 0.0
