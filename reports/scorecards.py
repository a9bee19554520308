"""Scorecards (绩效考核) per role for a period, with the previous period beside it.

Marketers: leads, MQLs, cost and cost per MQL of the campaigns they own, and how many of
those leads sales accepted. Lead desk: throughput, time to qualify and to assign, and
acceptance of what they qualified. Sales reps: first-response compliance and time, win
rate and revenue (deals signed in the period).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Count, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from assignment.models import Assignment
from assignment.selectors import rep_ids_visible_to
from campaigns.models import CampaignCost
from leads.choices import EventKind
from leads.models import Lead, LeadEvent
from pipeline.roles import Role
from reports.definitions import funnel_counts, lost_between, with_rejected, won_between
from reports.periods import period_bounds
from reports.sla.compliance import compliance
from targets.choices import Metric, attainment_ratio
from targets.models import Target

ROLES = (Role.MARKETER, Role.LEAD_DESK, Role.SALES_REP)

#: Per role: which card figure a user target of each metric judges (DESIGN §11:
#: scorecards show attainment next to each figure that has a target).
TARGET_FIGURES: dict[str, dict[str, str]] = {
    Role.MARKETER: {
        Metric.LEADS: "leads",
        Metric.MQLS: "mqls",
        Metric.SQLS: "sqls",
        Metric.BUDGET_MAX: "cost",
        Metric.COST_PER_MQL_MAX: "cost_per_mql",
    },
    Role.LEAD_DESK: {
        Metric.QUALIFIED: "qualified",
        Metric.QUALIFICATION_HOURS_P50_MAX: "median_hours_to_qualify",
        Metric.ACCEPTANCE_RATE: "acceptance",
    },
    Role.SALES_REP: {
        Metric.FIRST_RESPONSE_RATE: "compliance",
        Metric.WON: "won",
        Metric.WIN_RATE: "win_rate",
        Metric.REVENUE: "revenue",
    },
}


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    length = (end - start).days + 1
    return start - dt.timedelta(days=length), start - dt.timedelta(days=1)


def _ratio(a: float | Decimal, b: float | Decimal) -> float | None:
    return round(float(a) / float(b), 4) if b else None


def _median_hours(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def marketer_metrics(
    start: dt.date, end: dt.date, user_ids: list[int]
) -> dict[int, dict[str, Any]]:
    low, high = period_bounds(start, end)
    leads = (
        with_rejected(
            Lead.objects.filter(
                created_at__gte=low, created_at__lt=high, source_campaign__owner_id__in=user_ids
            )
        )
        .values("source_campaign__owner_id")
        .annotate(**funnel_counts("leads", "mqls", "accepted", "rejected"))
        .order_by()
    )
    costs = dict(
        CampaignCost.objects.filter(date__gte=start, date__lte=end, campaign__owner_id__in=user_ids)
        .values("campaign__owner_id")
        .annotate(total=Sum("amount"))
        .values_list("campaign__owner_id", "total")
    )
    by_user = {row["source_campaign__owner_id"]: row for row in leads}
    result = {}
    for uid in user_ids:
        row = by_user.get(uid, {"leads": 0, "mqls": 0, "accepted": 0, "rejected": 0})
        cost = costs.get(uid) or Decimal("0")
        result[uid] = {
            "leads": row["leads"],
            "mqls": row["mqls"],
            # Accepted by sales is reaching SQL (``reports.definitions.ACCEPTED``).
            "sqls": row["accepted"],
            "cost": cost,
            "cost_per_mql": (cost / row["mqls"]).quantize(Decimal("0.01")) if row["mqls"] else None,
            "sql_acceptance": _ratio(row["accepted"], row["accepted"] + row["rejected"]),
        }
    return result


def desk_metrics(
    start: dt.date, end: dt.date, user_ids: list[int], *, pooled: bool = False
) -> dict[int, dict[str, Any]]:
    """Per desk user, or with ``pooled`` the work of all ``user_ids`` together under the
    key ``0`` (the company's qualification speed and acceptance: one median over every
    qualification, not a median of medians)."""
    low, high = period_bounds(start, end)
    events = LeadEvent.objects.filter(
        at__gte=low,
        at__lt=high,
        actor_id__in=user_ids,
        kind__in=[EventKind.QUALIFIED, EventKind.DISQUALIFIED],
    ).values("actor_id", "kind", "at", "lead__created_at", "lead__sql_at", "lead_id")
    first_assigned = (
        Assignment.objects.filter(lead_id=OuterRef("lead_id"), owner__isnull=False)
        .order_by()
        .values("lead_id")
        .annotate(first=Min("at"))
        .values("first")
    )
    events = events.annotate(first_assigned=Subquery(first_assigned))
    qualified_here = LeadEvent.objects.filter(
        at__gte=low, at__lt=high, actor_id__in=user_ids, kind=EventKind.QUALIFIED
    ).values("lead_id")
    rejected_ids = set(
        LeadEvent.objects.filter(kind=EventKind.REJECTED, lead_id__in=qualified_here).values_list(
            "lead_id", flat=True
        )
    )
    stats: dict[int, dict[str, Any]] = defaultdict(
        lambda: {
            "qualified": 0,
            "disqualified": 0,
            "to_qualify": [],
            "to_assign": [],
            "accepted": 0,
            "rejected": 0,
        }
    )
    for row in events.iterator(chunk_size=5000):
        item = stats[0 if pooled else row["actor_id"]]
        if row["kind"] == EventKind.DISQUALIFIED:
            item["disqualified"] += 1
            continue
        item["qualified"] += 1
        item["to_qualify"].append((row["at"] - row["lead__created_at"]).total_seconds() / 3600)
        if row["first_assigned"] is not None:
            item["to_assign"].append((row["first_assigned"] - row["at"]).total_seconds() / 3600)
        # Accepted and rejected as ``reports.definitions.ACCEPTED`` and ``REJECTED``.
        if row["lead__sql_at"] is not None:
            item["accepted"] += 1
        elif row["lead_id"] in rejected_ids:
            item["rejected"] += 1
    result = {}
    for uid in [0] if pooled else user_ids:
        item = stats[uid]
        result[uid] = {
            "qualified": item["qualified"],
            "disqualified": item["disqualified"],
            "median_hours_to_qualify": _median_hours(item["to_qualify"]),
            "median_hours_to_assign": _median_hours(item["to_assign"]),
            "acceptance": _ratio(item["accepted"], item["accepted"] + item["rejected"]),
        }
    return result


def rep_metrics(start: dt.date, end: dt.date, user_ids: list[int]) -> dict[int, dict[str, Any]]:
    low, high = period_bounds(start, end)
    rows = {row["user"]: row for row in compliance(start=start, end=end, user_ids=user_ids)}
    deals = {
        row["owner_id"]: row
        for row in Lead.objects.filter(owner_id__in=user_ids)
        .values("owner_id")
        .annotate(
            sqls=Count("id", filter=Q(sql_at__gte=low, sql_at__lt=high)),
            won=Count("id", filter=won_between(low, high)),
            lost=Count("id", filter=lost_between(low, high)),
            revenue=Coalesce(Sum("won_amount", filter=won_between(low, high)), Decimal("0")),
        )
        .order_by()
    }
    result = {}
    for uid in user_ids:
        sla = rows.get(uid, {})
        deal = deals.get(uid, {"sqls": 0, "won": 0, "lost": 0, "revenue": Decimal("0")})
        result[uid] = {
            "assigned": sla.get("assigned", 0),
            "compliance": sla.get("compliance"),
            "median_response_hours": sla.get("median_response_hours"),
            "overdue_now": sla.get("overdue_now", 0),
            "wasted": sla.get("wasted", 0),
            "backdated": sla.get("backdated", 0),
            "won": deal["won"],
            "lost": deal["lost"],
            "win_rate": _ratio(deal["won"], deal["won"] + deal["lost"]),
            "revenue": deal["revenue"],
        }
    return result


def scorecard_user_ids(user: User) -> list[int] | None:
    """Whose cards ``user`` reads (``None``: everyone's): managers all; a sales manager
    their own card and their teams'; anyone else, the desk included, only their own."""
    visible = rep_ids_visible_to(user, see_all=(Role.MANAGER,))
    return None if visible is None else sorted(visible)


METRICS: dict[str, Callable[[dt.date, dt.date, list[int]], dict[int, dict[str, Any]]]] = {
    Role.MARKETER: marketer_metrics,
    Role.LEAD_DESK: desk_metrics,
    Role.SALES_REP: rep_metrics,
}


def _attach_targets(cards: list[dict[str, Any]], *, start: dt.date, end: dt.date) -> None:
    """Each card's ``targets``: per figure with a user target of a period that starts on
    ``start`` and contains ``end`` (this month or quarter so far), the target's value and
    the attainment of the card's figure (one query)."""
    found: dict[int, list[Target]] = defaultdict(list)
    for target in Target.objects.filter(
        user_id__in={card["user"] for card in cards}, start=start, end__gte=end
    ).order_by("end"):
        found[target.user_id].append(target)  # type: ignore[index]
    for card in cards:
        figures = TARGET_FIGURES[card["role"]]
        card["targets"] = {}
        for target in found.get(card["user"], []):
            key = figures.get(target.metric)
            if key is None or key in card["targets"]:
                continue
            actual = card["metrics"].get(key)
            card["targets"][key] = {
                "target": target.pk,
                "period": target.period,
                "metric": target.metric,
                "value": float(target.value),
                "attainment": attainment_ratio(
                    target.metric, None if actual is None else float(actual), float(target.value)
                ),
            }


def scorecards(
    *, start: dt.date, end: dt.date, role: str | None = None, user_ids: list[int] | None = None
) -> dict[str, Any]:
    """Cards for every active user in the chosen roles (or only ``user_ids``)."""
    prev_start, prev_end = previous_period(start, end)
    users = get_user_model().objects.filter(is_active=True)
    if user_ids is not None:
        users = users.filter(pk__in=user_ids)
    cards = []
    for current_role in [role] if role else ROLES:
        members = dict(users.filter(groups__name=current_role).values_list("pk", "username"))
        if not members:
            continue
        ids = sorted(members)
        now = METRICS[current_role](start, end, ids)
        before = METRICS[current_role](prev_start, prev_end, ids)
        cards += [
            {
                "user": uid,
                "username": members[uid],
                "role": current_role,
                "metrics": now[uid],
                "previous": before[uid],
            }
            for uid in ids
        ]
    _attach_targets(cards, start=start, end=end)
    return {
        "from": start,
        "to": end,
        "previous_from": prev_start,
        "previous_to": prev_end,
        "cards": cards,
    }
