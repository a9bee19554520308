"""Lead quality reads: grade calibration and why leads bounce (see docs/architecture.md)."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections import defaultdict
from decimal import Decimal
from typing import Any, cast

from django.db.models import Count, F

from leads.choices import GRADES, DisqualifyReason, RejectReason, Stage
from reports.definitions import REJECTED, funnel_counts, with_rejected, with_rejection_reason
from reports.selectors import cohort


def _median_days(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def grade_calibration(
    *, start: dt.date, end: dt.date, channel_kind: str | None = None, channel: str | None = None
) -> dict[str, Any]:
    """Per grade: leads, sales acceptance, win rate, revenue, median days to SQL and won;
    a warning where a grade converts worse than the grade below it."""
    leads = cohort(start=start, end=end, channel_kind=channel_kind, channel=channel)
    rows = {
        row["grade"]: row
        for row in with_rejected(leads.filter(grade__in=GRADES))
        .values("grade")
        .annotate(**funnel_counts("leads", "mqls", "accepted", "rejected", "won", "revenue"))
        .order_by()
    }
    to_sql: dict[str, list[float]] = defaultdict(list)
    to_won: dict[str, list[float]] = defaultdict(list)
    timings = leads.filter(grade__in=GRADES, sql_at__isnull=False).values_list(
        "grade", "created_at", "sql_at", "won_at"
    )
    for grade, created, sql_at, won_at in timings.iterator(chunk_size=5000):
        # Not None: filtered on sql_at__isnull=False.
        to_sql[grade].append((cast(dt.datetime, sql_at) - created).total_seconds() / 86400)
        if won_at is not None:
            to_won[grade].append((won_at - created).total_seconds() / 86400)
    table = []
    for grade in GRADES:
        row = rows.get(
            grade,
            {
                "leads": 0,
                "mqls": 0,
                "accepted": 0,
                "rejected": 0,
                "won": 0,
                "revenue": Decimal("0"),
            },
        )
        decided = row["accepted"] + row["rejected"]
        table.append(
            {
                "grade": grade,
                "leads": row["leads"],
                "mqls": row["mqls"],
                "accepted": row["accepted"],
                "rejected": row["rejected"],
                "acceptance_rate": round(row["accepted"] / decided, 4) if decided else None,
                "won": row["won"],
                "win_rate": round(row["won"] / row["accepted"], 4) if row["accepted"] else None,
                "lead_to_won": round(row["won"] / row["leads"], 4) if row["leads"] else None,
                "revenue": row["revenue"],
                "median_days_to_sql": _median_days(to_sql[grade]),
                "median_days_to_won": _median_days(to_won[grade]),
            }
        )
    warnings = []
    for better, worse in itertools.pairwise(table):
        for metric in ("acceptance_rate", "lead_to_won"):
            high, low = better[metric], worse[metric]
            if high is not None and low is not None and high < low:
                warnings.append(
                    {
                        "grade": better["grade"],
                        "below": worse["grade"],
                        "metric": metric,
                        "value": high,
                        "below_value": low,
                    }
                )
    return {"from": start, "to": end, "rows": table, "warnings": warnings}


def bounce_reasons(
    *,
    start: dt.date,
    end: dt.date,
    by: str = "channel",
    channel_kind: str | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """Why the period's leads bounced: sales rejections and desk disqualifications, by
    reason code and by channel (or campaign).

    Rejected counts leads, as everywhere (``reports.definitions.REJECTED``): those sales
    sent back and that never reached SQL since, each once, under the reason of its latest
    rejection, so the counts add up to the calibration's and the scoreboard's "rejected".
    """
    leads = cohort(start=start, end=end, channel_kind=channel_kind, channel=channel)
    key = "source_campaign__channel__code" if by == "channel" else "source_campaign__name"
    rejections = (
        with_rejection_reason(with_rejected(leads).filter(REJECTED))
        .values(source=F(key), code=F("rejection_reason"))
        .annotate(count=Count("id"))
        .order_by("-count")
    )
    disqualified = (
        leads.filter(stage=Stage.DISQUALIFIED)
        .values(source=F(key), code=F("disqualify_reason"))
        .annotate(count=Count("id"))
        .order_by("-count")
    )
    labels = dict(RejectReason.choices)
    dq_labels = dict(DisqualifyReason.choices)
    return {
        "from": start,
        "to": end,
        "by": by,
        "rejected": [
            {
                "source": r["source"] or "",
                "reason": r["code"] or "other",
                "reason_label": str(labels.get(r["code"], r["code"] or "")),
                "count": r["count"],
            }
            for r in rejections
        ],
        "disqualified": [
            {
                "source": r["source"] or "",
                "reason": r["code"] or "other",
                "reason_label": str(dq_labels.get(r["code"], r["code"] or "")),
                "count": r["count"],
            }
            for r in disqualified
        ],
    }
