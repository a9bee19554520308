"""Computing rollups: a stretch of days at once, by the live report selectors with the
cohort day as one more dimension (``reports.selectors.day_touch_rows`` and
``day_funnel_rows``), never by a formula of its own.

``compute_days`` computes a stretch of consecutive days (at most ``CHUNK_DAYS``) in one
transaction: it takes the per-day locks (PostgreSQL advisory locks) in day order, deletes
the stretch's rows and writes them again with one ``INSERT … SELECT`` per table and model
whose ``SELECT`` is the selector's own grouped query, and deletes only the marks read
before it started: a change committed meanwhile keeps its mark, so its day is computed
again. ``refresh_marked`` recomputes the marked days, consecutive ones together (the
debounced job); ``rebuild_rollups`` every day from the first lead's to today's, a chunk
at a time (the command, repairs, a change of the attribution rules).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from leads.credits import MODELS
from leads.models import Lead
from reports.rollups import totals
from reports.rollups.marks import cohort_day
from reports.rollups.models import RollupChannelDay, RollupDay, RollupFunnel, RollupMark
from reports.rollups.read import FUNNEL_FIELDS, ROI_FIELDS
from reports.selectors import day_funnel_rows, day_touch_rows

logger = logging.getLogger(__name__)

#: The advisory lock class of rollup days (the second key is the day's ordinal).
_LOCK_CLASS = 7217
_REBUILDING_KEY = "reports:rollup-rebuilding"
#: The most days computed in one transaction (one grouped query per table and model).
CHUNK_DAYS = 31


def _lock(low: dt.date, high: dt.date) -> None:
    """The per-day locks of [low, high], in day order (so two writers never deadlock)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for ordinal in range(low.toordinal(), high.toordinal() + 1):
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, ordinal])


def _insert(table: type[Model], fixed: dict[str, Any], rows: QuerySet[Any], key: str) -> int:
    """``INSERT INTO table … SELECT`` the selector's grouped ``rows`` (values
    ``cohort_day``, ``group_key`` and the figures; a null figure is 0), with the ``fixed``
    columns. Returns the rows written."""
    quote = connection.ops.quote_name
    figures = ROI_FIELDS if table is not RollupFunnel else FUNNEL_FIELDS
    sql, params = rows.query.sql_with_params()
    columns: list[str] = ["day", key, *fixed, *figures]  # each field's column is its attname
    selected = [
        "rows.cohort_day",
        "rows.group_key",
        *("%s" for _ in fixed),
        *(f"COALESCE(rows.{quote(name)}, 0)" for name in figures),
    ]
    # Names from the models' metadata; every value is a parameter.
    statement = (
        f"INSERT INTO {quote(table._meta.db_table)} ({', '.join(map(quote, columns))}) "  # noqa: S608
        f"SELECT {', '.join(selected)} FROM ({sql}) rows"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*fixed.values(), *params])
        return max(int(cursor.rowcount), 0)


def compute_days(low: dt.date, high: dt.date, mark_ids: Iterable[int] = ()) -> int:
    """Recompute the rollup rows of the days [low, high] and delete the marks ``mark_ids``
    (read before), in one transaction. Returns the rows written."""
    written = 0
    with transaction.atomic(), totals.recomputed(low, high, lock=_lock):
        _lock(low, high)
        for table in (RollupDay, RollupChannelDay, RollupFunnel):
            table.objects.filter(day__gte=low, day__lte=high).delete()
        for model in MODELS:
            for table, key in (
                (RollupDay, "campaign_id"),
                (RollupChannelDay, "campaign__channel_id"),
            ):
                rows = day_touch_rows(start=low, end=high, model=model, key=key)
                written += _insert(table, {"model": model}, rows, key.rsplit("__", 1)[-1])
        written += _insert(RollupFunnel, {}, day_funnel_rows(start=low, end=high), "channel_id")
        ids = list(mark_ids)
        if ids:
            RollupMark.objects.filter(pk__in=ids).delete()
    return written


def compute_day(day: dt.date, mark_ids: Iterable[int] = ()) -> int:
    """``compute_days`` of one day."""
    return compute_days(day, day, mark_ids)


def stretches(
    days: Iterable[dt.date], longest: int = CHUNK_DAYS
) -> Iterator[tuple[dt.date, dt.date]]:
    """Consecutive ``days`` as [low, high] stretches of at most ``longest`` days, in order."""
    ordered = sorted(set(days))
    index = 0
    while index < len(ordered):
        low = high = ordered[index]
        index += 1
        while (
            index < len(ordered)
            and ordered[index] == high + dt.timedelta(days=1)
            and (ordered[index] - low).days < longest
        ):
            high = ordered[index]
            index += 1
        yield low, high


def refresh_marked() -> int:
    """Recompute the days marked stale, consecutive ones together (not while every day
    is: that needs the rebuild). Returns the days recomputed."""
    marks = list(RollupMark.objects.order_by("id").values_list("id", "day"))
    if any(day is None for _pk, day in marks):
        return 0
    by_day: dict[dt.date, list[int]] = defaultdict(list)
    for pk, day in marks:
        if day is not None:
            by_day[day].append(pk)
    # today's (the likeliest asked for) first
    for low, high in sorted(stretches(by_day), reverse=True):
        ids = [pk for day, pks in by_day.items() if low <= day <= high for pk in pks]
        compute_days(low, high, ids)
    return len(by_day)


def rebuild_rollups(
    *, progress: Callable[[int, int], object] | None = None, chunk: int = CHUNK_DAYS
) -> int:
    """Recompute every day from the first lead's to today's, ``chunk`` days per
    transaction, drop rows outside, and clear the marks that were there when it started
    (``None`` included: with the last chunk's). Returns the days."""
    started = list(RollupMark.objects.values_list("id", "day"))
    first = Lead.objects.order_by("created_at").values_list("created_at", flat=True).first()
    last = Lead.objects.order_by("-created_at").values_list("created_at", flat=True).first()
    today = timezone.localdate()
    low = cohort_day(first) if first else today
    high = max(cohort_day(last), today) if last else today
    for table in (RollupDay, RollupChannelDay, RollupFunnel):
        table.objects.exclude(day__gte=low, day__lte=high).delete()
    totals.recompute_all()
    total = (high - low).days + 1
    done = 0
    for start, end in stretches((low + dt.timedelta(days=n) for n in range(total)), chunk):
        done += (end - start).days + 1
        ids = [pk for pk, day in started if day is not None and start <= day <= end]
        if done == total:  # the rest: every-day marks and days outside
            ids = [pk for pk, _day in started]
        compute_days(start, end, ids)
        if progress:
            progress(done, total)
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
