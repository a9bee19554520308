"""Computing rollups: each day by the live report selectors restricted to it
(``reports.selectors.day_touch_rows`` and ``day_funnel_rows``), never by a formula of its own.

``refresh_marked`` recomputes only the marked days (the debounced job);
``rebuild_rollups`` recomputes every day from the first lead's to today (the command,
repairs, a change of the attribution rules). Each day is written in its own short
transaction holding a per-day lock (PostgreSQL advisory lock), and only the marks read
before it was computed are deleted: a change committed meanwhile keeps its mark, so its day
is computed again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from leads.credits import MODELS
from leads.models import Lead
from reports.rollups.marks import cohort_day
from reports.rollups.models import RollupChannelDay, RollupDay, RollupFunnel, RollupMark
from reports.rollups.read import FUNNEL_FIELDS, ROI_FIELDS
from reports.selectors import day_funnel_rows, day_touch_rows

logger = logging.getLogger(__name__)

#: The advisory lock class of rollup days (the second key is the day's ordinal).
_LOCK_CLASS = 7217
_REBUILDING_KEY = "reports:rollup-rebuilding"


def _lock(day: dt.date) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, day.toordinal()])


def compute_day(day: dt.date, mark_ids: Iterable[int] = ()) -> int:
    """Recompute the rollup rows of ``day`` and delete the marks ``mark_ids`` (read before),
    in one transaction. Returns the rows written."""
    with transaction.atomic():
        _lock(day)
        roi = [
            RollupDay(
                day=day,
                campaign_id=campaign_id,
                model=model,
                **{name: float(row[name] or 0) for name in ROI_FIELDS},
            )
            for model in MODELS
            for campaign_id, row in day_touch_rows(day=day, model=model, key="campaign_id").items()
        ]
        channels = [
            RollupChannelDay(
                day=day,
                channel_id=channel_id,
                model=model,
                **{name: float(row[name] or 0) for name in ROI_FIELDS},
            )
            for model in MODELS
            for channel_id, row in day_touch_rows(
                day=day, model=model, key="campaign__channel_id"
            ).items()
        ]
        funnel = [
            RollupFunnel(
                day=day,
                channel_id=row["source_campaign__channel_id"],
                **{name: row[name] or 0 for name in FUNNEL_FIELDS},
            )
            for row in day_funnel_rows(day=day)
        ]
        for table in (RollupDay, RollupChannelDay, RollupFunnel):
            table.objects.filter(day=day).delete()
        RollupDay.objects.bulk_create(roi)
        RollupChannelDay.objects.bulk_create(channels)
        RollupFunnel.objects.bulk_create(funnel)
        ids = list(mark_ids)
        if ids:
            RollupMark.objects.filter(pk__in=ids).delete()
    return len(roi) + len(channels) + len(funnel)


def refresh_marked() -> int:
    """Recompute the days marked stale (not while every day is: that needs the rebuild).
    Returns the days recomputed."""
    marks = list(RollupMark.objects.order_by("id").values_list("id", "day"))
    if any(day is None for _pk, day in marks):
        return 0
    by_day: dict[dt.date, list[int]] = defaultdict(list)
    for pk, day in marks:
        if day is not None:
            by_day[day].append(pk)
    for day in sorted(by_day, reverse=True):  # today's (the likeliest asked for) first
        compute_day(day, by_day[day])
    return len(by_day)


def rebuild_rollups(*, progress: Callable[[int, int], object] | None = None) -> int:
    """Recompute every day from the first lead's to today's, drop rows outside, and clear
    the marks that were there when it started (``None`` included). Returns the days."""
    started = list(RollupMark.objects.values_list("id", flat=True))
    first = Lead.objects.order_by("created_at").values_list("created_at", flat=True).first()
    last = Lead.objects.order_by("-created_at").values_list("created_at", flat=True).first()
    today = timezone.localdate()
    low = cohort_day(first) if first else today
    high = max(cohort_day(last), today) if last else today
    for table in (RollupDay, RollupChannelDay, RollupFunnel):
        table.objects.exclude(day__gte=low, day__lte=high).delete()
    total = (high - low).days + 1
    for offset in range(total):
        compute_day(low + dt.timedelta(days=offset))
        if progress:
            progress(offset + 1, total)
    RollupMark.objects.filter(pk__in=started).delete()
    logger.info("Rollups rebuilt: %d days", total)
    return total


def sweep_recent(*, seconds: float) -> int:
    """Mark the cohort days of leads updated in the last ``seconds`` (``updated_at``): the
    safety net for writers that change leads without a lifecycle announcement or a model
    signal (imports' ``COPY``, set-based updates), then refresh. Returns the days refreshed."""
    since = timezone.now() - dt.timedelta(seconds=seconds)
    days = {
        cohort_day(at)
        for at in Lead.objects.filter(updated_at__gte=since)
        .order_by()
        .values_list("created_at", flat=True)
        .iterator(chunk_size=20_000)
    }
    if days:
        with transaction.atomic():
            RollupMark.objects.bulk_create([RollupMark(day=day) for day in days])
    if RollupMark.objects.filter(day__isnull=True).exists():
        return rebuild_once()
    return refresh_marked()


def rebuild_once() -> int:
    """``rebuild_rollups`` unless one is running (a cache lock): the sweep builds the
    rollups after an upgrade, or after every day was marked. Returns the days."""
    if not cache.add(_REBUILDING_KEY, 1, timeout=3600):
        return 0
    try:
        return rebuild_rollups()
    finally:
        cache.delete(_REBUILDING_KEY)
