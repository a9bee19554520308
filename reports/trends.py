"""Report reads for the dashboard pages: the monthly trend and channel lead quality.

Both are SQL aggregations with a constant number of queries, whatever the number of
leads, campaigns or months. Months are calendar months in the business time zone
(``TIME_ZONE``): a lead created on 31 March 23:30 in Shanghai is a March lead, even
though it is still 31 March 15:30 UTC.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from assignment.selectors import rep_ids_visible_to
from campaigns.models import CampaignCost
from leads.choices import GRADES as LEAD_GRADES
from pipeline.roles import Role, has_role
from reports.definitions import funnel_counts, with_rejected
from reports.rollups import read as rollups
from reports.scorecards import rep_metrics
from reports.selectors import cohort
from reports.sla.compliance import compliance, delays

#: Grades in the channel-quality table; "" collects leads without one.
GRADES = (*LEAD_GRADES, "")
#: Who sees per-rep rows of the sales follow-up (whose: ``follow_up_rep_ids``).
REP_ROW_READERS = (Role.MANAGER, Role.LEAD_DESK, Role.SALES_MANAGER)


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """First days of every calendar month that [start, end] touches, in order."""
    months, cursor = [], start.replace(day=1)
    while cursor <= end:
        months.append(cursor)
        cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
    return months


def _month_key(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value, timezone.get_current_timezone())
        return value.date().replace(day=1)
    return value.replace(day=1)


def _live_months(
    *, start: dt.date, end: dt.date, channel_kind: str | None, channel: str | None
) -> list[dict[str, Any]]:
    tz = timezone.get_current_timezone()
    return list(
        cohort(start=start, end=end, channel_kind=channel_kind, channel=channel)
        .annotate(month=TruncMonth("created_at", tzinfo=tz))
        .values("month")
        .annotate(**funnel_counts("leads", "mqls", "sqls", "won", "revenue"))
        .order_by()
    )


def monthly_trend(
    *,
    start: dt.date,
    end: dt.date,
    channel_kind: str | None = None,
    channel: str | None = None,
    live: bool = False,
) -> list[dict[str, Any]]:
    """Per month of [start, end]: the cohort's leads, MQLs, SQLs, won and revenue (by the
    month the lead was created, like every period report) and the cost dated in it.

    Two queries: leads grouped by ``TruncMonth(created_at)`` in the business time zone,
    costs grouped by ``TruncMonth(date)``. Months without anything are zeros. The lead
    counts come from the daily funnel rollups grouped by month where current, the stale
    days live (``reports.rollups``; ``live``: all live).
    """
    plan = None if live else rollups.plan(start, end)
    stretches = [(start, end)] if plan is None else list(plan.stretches())
    leads: list[dict[str, Any]] = []
    if plan is not None:
        leads += rollups.funnel_by_month(
            start=start, end=end, channel_kind=channel_kind, channel=channel, skip=plan.stale
        )
    for low, high in stretches:
        leads += _live_months(start=low, end=high, channel_kind=channel_kind, channel=channel)
    costs = CampaignCost.objects.filter(date__gte=start, date__lte=end)
    if channel_kind:
        costs = costs.filter(campaign__channel__kind=channel_kind)
    if channel:
        costs = costs.filter(campaign__channel__code=channel)
    cost_rows = (
        costs.annotate(month=TruncMonth("date")).values("month").annotate(cost=Sum("amount"))
    ).order_by()
    by_month: dict[dt.date, dict[str, Any]] = {
        month: {
            "month": month,
            "leads": 0,
            "mqls": 0,
            "sqls": 0,
            "won": 0,
            "revenue": Decimal("0"),
            "cost": Decimal("0"),
        }
        for month in months_between(start, end)
    }
    for row in leads:
        item = by_month.get(_month_key(row["month"]))
        if item is not None:
            for key in ("leads", "mqls", "sqls", "won", "revenue"):
                item[key] += row[key] or 0
    for row in cost_rows:
        item = by_month.get(_month_key(row["month"]))
        if item is not None:
            item["cost"] += row["cost"] or Decimal("0")
    return list(by_month.values())


def channel_quality(
    *, start: dt.date, end: dt.date, channel_kind: str | None = None
) -> dict[str, Any]:
    """Per source channel of the period's leads: the grade mix, MQLs and how sales
    judged them. One query: the leads grouped by channel and grade.

    ``accepted`` counts leads that reached SQL; ``rejected`` those sales sent back and that
    never reached SQL (``reports.definitions``, as in ``reports.quality.grade_calibration``).
    Qualification rate = MQLs / leads; acceptance = accepted / (accepted + rejected).
    Leads without a source campaign are the channel ``None``.
    """
    rows = (
        with_rejected(cohort(start=start, end=end, channel_kind=channel_kind))
        .values("source_campaign__channel__code", "grade")
        .annotate(**funnel_counts("leads", "mqls", "accepted", "rejected"))
        .order_by()
    )
    channels: dict[str | None, dict[str, Any]] = {}
    for row in rows:
        code = row["source_campaign__channel__code"]
        item = channels.setdefault(
            code,
            {
                "channel": code,
                "grades": dict.fromkeys(GRADES, 0),
                "leads": 0,
                "mqls": 0,
                "accepted": 0,
                "rejected": 0,
            },
        )
        grade = row["grade"] if row["grade"] in GRADES else ""
        item["grades"][grade] += row["leads"]
        for key in ("leads", "mqls", "accepted", "rejected"):
            item[key] += row[key]
    totals = {
        "leads": sum(c["leads"] for c in channels.values()),
        "mqls": sum(c["mqls"] for c in channels.values()),
        "accepted": sum(c["accepted"] for c in channels.values()),
        "rejected": sum(c["rejected"] for c in channels.values()),
        "grades": {g: sum(c["grades"][g] for c in channels.values()) for g in GRADES},
    }
    for item in [*channels.values(), totals]:
        decided = item["accepted"] + item["rejected"]
        item["qualification_rate"] = (
            round(item["mqls"] / item["leads"], 4) if item["leads"] else None
        )
        item["acceptance_rate"] = round(item["accepted"] / decided, 4) if decided else None
    return {"from": start, "to": end, "rows": list(channels.values()), "totals": totals}


def follow_up_rep_ids(user: User | AnonymousUser | None) -> set[int] | None:
    """Whose per-rep follow-up rows ``user`` sees on the scoreboard (``None``: everyone's):
    the report visibility rule (``assignment.selectors.rep_ids_visible_to``), except that a
    reader who is neither a manager, the desk nor a sales manager (a marketer) sees no
    rep's rows."""
    if not has_role(user, *REP_ROW_READERS):
        return set()
    return rep_ids_visible_to(user)


def sales_follow_up(*, start: dt.date, end: dt.date) -> dict[str, Any]:
    """The sales side of the scoreboard: per rep, first-response compliance and response
    times (``reports.sla.compliance``) with won/lost, win rate and revenue
    (``reports.scorecards.rep_metrics``); totals over every rep; and the period's
    response and routing delays (``reports.sla.compliance.delays``: medians and 95th percentiles,
    working hours). Reps are active sales reps plus anyone who owned leads in the period.
    """
    users = get_user_model().objects
    rows_sla = {row["user"]: row for row in compliance(start=start, end=end)}
    reps = users.filter(is_active=True, groups__name=Role.SALES_REP).values_list("pk", flat=True)
    rep_ids = sorted(set(rows_sla) | set(reps))
    deals = rep_metrics(start, end, rep_ids)
    usernames = dict(users.filter(pk__in=rep_ids).values_list("pk", "username"))
    rows = []
    for uid in rep_ids:
        sla, deal = rows_sla.get(uid, {}), deals[uid]
        rows.append(
            {
                "user": uid,
                "username": usernames.get(uid, str(uid)),
                "assigned": sla.get("assigned", 0),
                "due": sla.get("due", 0),
                "in_time": sla.get("in_time", 0),
                "compliance": sla.get("compliance"),
                "median_response_hours": sla.get("median_response_hours"),
                "p95_response_hours": sla.get("p95_response_hours"),
                "overdue_now": sla.get("overdue_now", 0),
                "wasted": sla.get("wasted", 0),
                "backdated": sla.get("backdated", 0),
                "won": deal["won"],
                "lost": deal["lost"],
                "win_rate": deal["win_rate"],
                "revenue": deal["revenue"],
            }
        )
    totals: dict[str, Any] = {
        key: sum(row[key] for row in rows)
        for key in (
            "assigned",
            "due",
            "in_time",
            "overdue_now",
            "wasted",
            "backdated",
            "won",
            "lost",
        )
    }
    totals["revenue"] = sum((row["revenue"] for row in rows), Decimal("0"))
    totals["compliance"] = round(totals["in_time"] / totals["due"], 4) if totals["due"] else None
    decided = totals["won"] + totals["lost"]
    totals["win_rate"] = round(totals["won"] / decided, 4) if decided else None
    timing = delays(start=start, end=end)
    totals["p50_response_hours"] = timing["rep"]["median"]
    totals["p95_response_hours"] = timing["rep"]["p95"]
    return {"rows": rows, "totals": totals, "routing": timing["routing"]}
