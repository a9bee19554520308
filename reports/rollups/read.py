"""Answers from the rollups: sums over days (``reports.selectors`` dispatches here).

A period is served from the rollups unless every day is marked (never built, or the
attribution rules changed) or too many stretches of it are: the days marked since their
rollup was computed are summed live by the caller, the others from the rollup rows, so an
answer is never older than the last committed change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum
from django.db.models.functions import TruncMonth

from reports.rollups.models import RollupChannelDay, RollupDay, RollupFunnel, RollupMark

#: The counts and revenue a ROI rollup row holds (``reports.selectors._touch_rows``).
ROI_FIELDS = ("leads", "mqls", "sqls", "opportunities", "won", "revenue")
#: The funnel rollup's figures (``reports.selectors.funnel``).
FUNNEL_FIELDS = ("leads", "mqls", "sqls", "opportunities", "won", "revenue", "lost", "disqualified")
#: More stretches of marked days than this in one period: the whole period is live.
MAX_LIVE_STRETCHES = 8


@dataclass(frozen=True)
class Plan:
    """How to answer a period: the rollup rows of its days but ``stale``, and the stale
    days live, as stretches of consecutive days (``stretches``)."""

    stale: frozenset[dt.date]

    def stretches(self) -> Iterator[tuple[dt.date, dt.date]]:
        days = sorted(self.stale)
        while days:
            low = high = days.pop(0)
            while days and days[0] == high + dt.timedelta(days=1):
                high = days.pop(0)
            yield low, high


def plan(start: dt.date | None = None, end: dt.date | None = None) -> Plan | None:
    """The plan for [start, end] (``None``: all time), in one query; ``None`` when the
    rollups cannot serve it (answer live)."""
    # One read of the ``rollup_mark_day`` index: the "every day" marks and the period's
    # (a bitmap OR of two index ranges; tests/reports/test_rollups.py explains it).
    in_period = Q(day__gte=start or dt.date.min, day__lte=end or dt.date.max)
    days = set(
        RollupMark.objects.filter(Q(day__isnull=True) | in_period)
        .order_by()
        .values_list("day", flat=True)
        .distinct()
    )
    if None in days:
        return None
    found = Plan(stale=frozenset(day for day in days if day is not None))
    if sum(1 for _ in found.stretches()) > MAX_LIVE_STRETCHES:
        return None
    return found


def roi_rows(
    *,
    start: dt.date,
    end: dt.date,
    model: str,
    key: str,
    channel_kind: str | None,
    extra: Q | None,
    skip: frozenset[dt.date],
) -> dict[Any, dict[str, float]]:
    """The ROI sums per ``key`` (``campaign_id`` or ``campaign__channel__code``) over the
    rollup rows of [start, end] but the days in ``skip``."""
    if key == "campaign__channel__code" and extra is None:  # per channel: its own rows
        return _summed(
            RollupChannelDay.objects.filter(model=model, day__gte=start, day__lte=end),
            key="channel__code",
            kind="channel__kind",
            channel_kind=channel_kind,
            skip=skip,
        )
    rows = RollupDay.objects.filter(model=model, day__gte=start, day__lte=end)
    if extra is not None:
        rows = rows.filter(extra)
    return _summed(
        rows, key=key, kind="campaign__channel__kind", channel_kind=channel_kind, skip=skip
    )


def campaign_sums(
    *,
    start: dt.date,
    end: dt.date,
    model: str,
    channel_kind: str | None,
    extra: Q | None,
    skip: frozenset[dt.date],
) -> Any:
    """The ROI sums per campaign (values ``campaign_id`` and ``ROI_FIELDS``) over the
    rollup rows of [start, end] but the days in ``skip``, as a grouped queryset."""
    rows = RollupDay.objects.filter(model=model, day__gte=start, day__lte=end)
    if extra is not None:
        rows = rows.filter(extra)
    return _grouped(
        rows,
        key="campaign_id",
        kind="campaign__channel__kind",
        channel_kind=channel_kind,
        skip=skip,
    )


def _grouped(
    rows: Any, *, key: str, kind: str, channel_kind: str | None, skip: frozenset[dt.date]
) -> Any:
    if skip:
        rows = rows.exclude(day__in=sorted(skip))
    if channel_kind:
        rows = rows.filter(**{kind: channel_kind})
    return rows.values(key).annotate(**{name: Sum(name) for name in ROI_FIELDS}).order_by()


def _summed(
    rows: Any, *, key: str, kind: str, channel_kind: str | None, skip: frozenset[dt.date]
) -> dict[Any, dict[str, float]]:
    summed = _grouped(rows, key=key, kind=kind, channel_kind=channel_kind, skip=skip)
    return {row[key]: row for row in summed}


def funnel_sums(
    *,
    start: dt.date,
    end: dt.date,
    channel_kind: str | None,
    channel: str | None,
    skip: frozenset[dt.date],
) -> dict[str, Any]:
    """The funnel counts over the rollup rows of [start, end] but the days in ``skip``."""
    rows = RollupFunnel.objects.filter(day__gte=start, day__lte=end)
    if skip:
        rows = rows.exclude(day__in=sorted(skip))
    if channel_kind:
        rows = rows.filter(channel__kind=channel_kind)
    if channel:
        rows = rows.filter(channel__code=channel)
    sums = rows.aggregate(**{name: Sum(name) for name in FUNNEL_FIELDS})
    return {
        name: (sums[name] or (Decimal("0") if name == "revenue" else 0)) for name in FUNNEL_FIELDS
    }


def funnel_by_month(
    *,
    start: dt.date,
    end: dt.date,
    channel_kind: str | None,
    channel: str | None,
    skip: frozenset[dt.date],
) -> list[dict[str, Any]]:
    """The funnel counts per month (``month``: its first day) over the rollup rows of
    [start, end] but the days in ``skip`` (the monthly trend)."""
    rows = RollupFunnel.objects.filter(day__gte=start, day__lte=end)
    if skip:
        rows = rows.exclude(day__in=sorted(skip))
    if channel_kind:
        rows = rows.filter(channel__kind=channel_kind)
    if channel:
        rows = rows.filter(channel__code=channel)
    names = ("leads", "mqls", "sqls", "won", "revenue")
    return list(
        rows.annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(**{name: Sum(name) for name in names})
        .order_by()
    )


def stale_revenue_rows(model: str, stale: frozenset[dt.date]) -> Any:
    """The rollup rows of ``model`` on the ``stale`` days (the campaign list takes them off
    each campaign's total, ``reports.rollups.totals``, and adds those days live)."""
    return RollupDay.objects.filter(model=model, day__in=sorted(stale))
