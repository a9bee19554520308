"""Attainment: every visible target of a period with its actual, attainment, pace and
status (DESIGN §11, docs/architecture.md "Targets and attainment").

Actuals come from the report selectors the dashboards and scorecards use — one formula
per figure, never a second one here. Which selector answers a target depends on its
metric and scope:

- company: leads, MQLs, SQLs, cost, cost per MQL from the funnel (cohort); won, revenue
  and win rate of deals signed in the period (``closed_in_period``); desk figures pooled
  over the whole desk (``desk_metrics(pooled=True)``); first response and follow-up
  compliance — the sales side of the marketing–sales agreement — over every rep for the
  period's marketing cohort (``cohort_first_response``, ``cohort_follow_up``: the
  compliance selectors narrowed to the leads created in the period);
- channel / campaign: the ROI rows, credit-weighted under the default model (cohort);
- user: the person's scorecard figures (marketer, desk or rep ones by metric);
- team: the members' rep figures added up (rates recomputed from the sums).

Pacing: cumulative metrics (counts, revenue, cost) are expected to grow with the share of
the period's working days elapsed (``reports.calendar``); levels (rates, medians, cost per
MQL) are expected to hold at the target all along. A target more than ``TARGET_AT_RISK``
below its pace is ``at_risk``; above it ``ahead``, else ``on_track``; once the period is
over, ``met`` or ``missed``; a count already at its target is ``met`` early.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from assignment.models import TeamMembership
from pipeline.roles import Role
from reports.calendar import Calendar
from reports.periods import period_bounds
from reports.scorecards import desk_metrics, marketer_metrics, rep_metrics
from reports.selectors import campaign_roi, channel_roi, closed_in_period, funnel
from reports.sla.compliance import (
    StateNow,
    compliance,
    open_owned_by_owner,
    overdue_now_by_owner,
    state_now_once,
)
from reports.sla.config import load_calendar, policies
from reports.trends import channel_quality
from targets.choices import (
    CUMULATIVE_METRICS,
    DESK_METRICS,
    MAX_METRICS,
    Metric,
    attainment_ratio,
    parse_period,
)
from targets.models import Target
from targets.selectors import targets_visible_to

T = TypeVar("T")

AHEAD, ON_TRACK, AT_RISK, MISSED, MET = "ahead", "on_track", "at_risk", "missed", "met"
STATUSES = (AHEAD, ON_TRACK, AT_RISK, MISSED, MET)
STATUS_LABELS = {
    AHEAD: gettext_lazy("Ahead"),
    ON_TRACK: gettext_lazy("On track"),
    AT_RISK: gettext_lazy("At risk"),
    MISSED: gettext_lazy("Missed"),
    MET: gettext_lazy("Met"),
}


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _row(report: Any) -> dict[str, Any]:
    return cast(dict[str, Any], report)


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


# --- pacing ---------------------------------------------------------------------------------


def elapsed_share(calendar: Calendar, start: dt.date, end: dt.date, today: dt.date) -> float:
    """The share of the period's working days elapsed by the end of ``today`` (0 before
    the period, 1 after it)."""
    if today < start:
        return 0.0
    if today >= end:
        return 1.0
    days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    working = [day for day in days if calendar.is_working_day(day)]
    if not working:
        return 1.0 if today >= end else 0.0
    return sum(1 for day in working if day <= today) / len(working)


def judge(
    *, metric: str, value: float, actual: float | None, share: float, over: bool, risk: float
) -> dict[str, Any]:
    """Attainment, what was expected by now, and the status of one target."""
    is_max = metric in MAX_METRICS
    cumulative = metric in CUMULATIVE_METRICS
    expected = round(value * share, 4) if cumulative else value
    attainment = attainment_ratio(metric, actual, value)
    if over:
        if actual is None:
            status = MET if is_max else MISSED
        else:
            status = MET if (actual <= value if is_max else actual >= value) else MISSED
        return {"attainment": attainment, "expected_by_now": expected, "status": status}
    if actual is None:
        status = ON_TRACK  # nothing to judge yet (a rate with no cases)
    elif cumulative and not is_max and actual >= value:
        status = MET
    else:
        if is_max:
            pace = expected / actual if actual else math.inf
        else:
            pace = actual / expected if expected else (math.inf if actual else 1.0)
        status = AHEAD if pace > 1 else ON_TRACK if pace >= 1 - risk else AT_RISK
    return {"attainment": attainment, "expected_by_now": expected, "status": status}


# --- actuals ---------------------------------------------------------------------------------


def _sum_rep_rows(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    rows = list(rows)
    won = sum(r["won"] for r in rows)
    lost = sum(r["lost"] for r in rows)
    return {
        "won": won,
        "revenue": sum((r["revenue"] for r in rows), Decimal("0")),
        "win_rate": _ratio(won, won + lost),
    }


def _compliance_of(rows: list[dict[str, Any]]) -> float | None:
    return _ratio(sum(r["in_time"] for r in rows), sum(r["due"] for r in rows))


def _follow_up(
    owners: Iterable[int] | None, overdue: dict[int, int], owned: dict[int, int]
) -> float | None:
    keys = list(owned) if owners is None else list(owners)
    open_now = sum(owned.get(k, 0) for k in keys)
    late = sum(overdue.get(k, 0) for k in keys)
    return None if not open_now else round(1 - late / open_now, 4)


def cohort_compliance(
    *,
    start: dt.date,
    end: dt.date,
    now: dt.datetime | None = None,
    state: StateNow | None = None,
) -> list[dict[str, Any]]:
    """The compliance rows (``reports.sla.compliance.compliance``) of the leads created in
    [start, end]: the marketing cohort, whenever they were assigned."""
    return compliance(start=start, end=end, now=now, cohort=True, state=state)


def cohort_first_response(
    *,
    start: dt.date,
    end: dt.date,
    now: dt.datetime | None = None,
    state: StateNow | None = None,
) -> float | None:
    """First responses in time over the period's cohort, every rep: in time / due."""
    return _compliance_of(cohort_compliance(start=start, end=end, now=now, state=state))


def cohort_follow_up(
    *, start: dt.date, end: dt.date, now: dt.datetime
) -> tuple[dict[int, int], dict[int, int]]:
    """Per owner: the cohort's open owned leads overdue now, and all of them (the base of
    follow-up compliance, ``_follow_up``)."""
    created = period_bounds(start, end)
    return (
        overdue_now_by_owner(now=now, by_grade=policies(), created=created),
        open_owned_by_owner(created=created),
    )


class Actuals:
    """The actual of each target of one period, computed per (metric family, scope kind)
    in one go: a constant number of queries however many targets there are."""

    def __init__(self, start: dt.date, end: dt.date, targets: list[Target], now: dt.datetime):
        self.start, self.end, self.now = start, end, now
        self.targets = targets
        self._cache: dict[str, Any] = {}
        # Overdue now and open owned leads: read once for every figure that needs them.
        self.state = state_now_once(now)

    def _once(self, key: str, compute: Callable[[], T]) -> T:
        if key not in self._cache:
            self._cache[key] = compute()
        return cast(T, self._cache[key])

    def _ids(self, scope: str, metrics: Iterable[str] | None = None) -> list[int]:
        wanted = set(metrics) if metrics is not None else None
        return sorted(
            {
                getattr(t, f"{scope}_id")
                for t in self.targets
                if getattr(t, f"{scope}_id") is not None and (wanted is None or t.metric in wanted)
            }
        )

    def _funnel(self) -> dict[str, Any]:
        return self._once("funnel", lambda: funnel(start=self.start, end=self.end)["totals"])

    def _closed(self) -> dict[str, Any]:
        return self._once("closed", lambda: closed_in_period(start=self.start, end=self.end))

    def _compliance(self) -> list[dict[str, Any]]:
        return self._once(
            "compliance",
            lambda: compliance(start=self.start, end=self.end, now=self.now, state=self.state),
        )

    def _follow(self) -> tuple[dict[int, int], dict[int, int]]:
        return self.state.overdue(), self.state.open_owned()

    def _roi(self, kind: str) -> dict[Any, dict[str, Any]]:
        def compute() -> dict[Any, dict[str, Any]]:
            if kind == "channel":
                report = channel_roi(start=self.start, end=self.end)
                return {row["channel"]: row for row in report["rows"]}
            report = campaign_roi(start=self.start, end=self.end)
            return {row["campaign"]: row for row in report["rows"]}

        return self._once(kind, compute)

    def _users(self, family: str) -> dict[int, dict[str, Any]]:
        def compute() -> dict[int, dict[str, Any]]:
            if family == "marketer":
                ids = self._ids("user", {Metric.LEADS, Metric.MQLS, Metric.SQLS,
                                         Metric.COST_PER_MQL_MAX, Metric.BUDGET_MAX})  # fmt: skip
                return marketer_metrics(self.start, self.end, ids) if ids else {}
            if family == "desk":
                ids = self._ids("user", DESK_METRICS)
                return desk_metrics(self.start, self.end, ids) if ids else {}
            ids = sorted(set(self._ids("user")) | set(self._members()))
            return rep_metrics(self.start, self.end, ids) if ids else {}

        return self._once(f"users:{family}", compute)

    def _members(self) -> list[int]:
        def compute() -> dict[int, list[int]]:
            teams: dict[int, list[int]] = defaultdict(list)
            for team_id, user_id in TeamMembership.objects.filter(
                team_id__in=self._ids("team")
            ).values_list("team_id", "user_id"):
                teams[team_id].append(user_id)
            return dict(teams)

        teams = self._once("members", compute)
        return [uid for ids in teams.values() for uid in ids]

    def _team(self, team_id: int) -> list[int]:
        self._members()
        teams: dict[int, list[int]] = self._cache["members"]
        return teams.get(team_id, [])

    def _quality(self) -> dict[str, Any]:
        return _row(channel_quality(start=self.start, end=self.end)["totals"])

    def _desk_company(self) -> dict[str, Any]:
        def compute() -> dict[str, Any]:
            desk = list(
                get_user_model()
                .objects.filter(groups__name=Role.LEAD_DESK)
                .values_list("pk", flat=True)
            )
            return desk_metrics(self.start, self.end, desk, pooled=True)[0]

        return self._once("desk_company", compute)

    def of(self, target: Target) -> float | None:
        metric, scope = target.metric, target.scope
        if scope in ("channel", "campaign"):
            key = target.channel.code if target.channel else target.campaign_id
            row = self._roi(scope).get(key)
            return None if row is None else _roi_figure(metric, row)
        if scope == "company":
            return self._company(metric)
        if scope == "user":
            return self._user(metric, target.user_id)  # type: ignore[arg-type]
        return self._team_figure(metric, target.team_id)  # type: ignore[arg-type]

    def _company(self, metric: str) -> float | None:
        if metric in (Metric.WON, Metric.REVENUE, Metric.WIN_RATE):
            return _number(self._closed()[metric])
        if metric == Metric.ACCEPTANCE_RATE:
            # The scoreboard's figure: its verdict is judged against this target.
            return _number(self._once("quality", self._quality)["acceptance_rate"])
        if metric in DESK_METRICS:
            return _number(self._desk_company()[_DESK_KEY[metric]])
        # The agreement's sales side: the period's cohort, as marketing's figures.
        if metric == Metric.FIRST_RESPONSE_RATE:
            return _compliance_of(
                self._once(
                    "compliance:cohort",
                    lambda: cohort_compliance(
                        start=self.start, end=self.end, now=self.now, state=self.state
                    ),
                )
            )
        if metric == Metric.FOLLOW_UP_COMPLIANCE:
            follow = self._once(
                "follow:cohort",
                lambda: cohort_follow_up(start=self.start, end=self.end, now=self.now),
            )
            return _follow_up(None, *follow)
        return _roi_figure(metric, self._funnel())

    def _user(self, metric: str, user_id: int) -> float | None:
        if metric in (Metric.LEADS, Metric.MQLS, Metric.SQLS):
            return _number(self._users("marketer")[user_id][metric])
        if metric == Metric.COST_PER_MQL_MAX:
            return _number(self._users("marketer")[user_id]["cost_per_mql"])
        if metric == Metric.BUDGET_MAX:
            return _number(self._users("marketer")[user_id]["cost"])
        if metric in DESK_METRICS:
            return _number(self._users("desk")[user_id][_DESK_KEY[metric]])
        if metric == Metric.FOLLOW_UP_COMPLIANCE:
            return _follow_up([user_id], *self._follow())
        row = self._users("rep")[user_id]
        key = "compliance" if metric == Metric.FIRST_RESPONSE_RATE else metric
        return _number(row[key])

    def _team_figure(self, metric: str, team_id: int) -> float | None:
        members = self._team(team_id)
        if metric == Metric.FIRST_RESPONSE_RATE:
            wanted = set(members)
            return _compliance_of([r for r in self._compliance() if r["user"] in wanted])
        if metric == Metric.FOLLOW_UP_COMPLIANCE:
            return _follow_up(members, *self._follow())
        reps = self._users("rep")
        return _number(_sum_rep_rows(reps[uid] for uid in members)[metric])


_DESK_KEY: dict[str, str] = {
    Metric.QUALIFIED: "qualified",
    Metric.QUALIFICATION_HOURS_P50_MAX: "median_hours_to_qualify",
    Metric.ACCEPTANCE_RATE: "acceptance",
}
_ROI_KEY: dict[str, str] = {
    Metric.LEADS: "leads",
    Metric.MQLS: "mqls",
    Metric.SQLS: "sqls",
    Metric.WON: "won",
    Metric.REVENUE: "revenue",
    Metric.COST_PER_MQL_MAX: "cost_per_mql",
    Metric.BUDGET_MAX: "cost",
}


def _roi_figure(metric: str, row: dict[str, Any]) -> float | None:
    return _number(row[_ROI_KEY[metric]])


# --- rows ------------------------------------------------------------------------------------


def actual_key(target: Target) -> str:
    """What a target's actual depends on: its metric and scope (``leads|team|7``), the key
    of the actuals a snapshot stores (``attainment_actuals``)."""
    scope_id = target.scope_id
    return f"{target.metric}|{target.scope}|{'' if scope_id is None else scope_id}"


def attainment_actuals(period: str, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The actual of every target of ``period``, company-wide, keyed by ``actual_key``:
    what an attainment snapshot stores (``reports.snapshots``). Each viewer's rows are then
    built from the targets they may read (``reports.attainment.served``)."""
    now = now or timezone.now()
    start, end = parse_period(period)
    chosen = visible_targets(Target.objects.all(), period)
    actuals = Actuals(start, end, chosen, now)
    return {"period": period, "actuals": {actual_key(t): actuals.of(t) for t in chosen}}


def attainment_report(
    chosen: list[Target],
    *,
    period: str,
    now: dt.datetime,
    actual_of: Callable[[Target], float | None],
) -> dict[str, Any]:
    """The attainment rows of ``chosen`` (targets of ``period``, their scope objects
    selected), each judged at ``now`` against the actual ``actual_of`` gives: the one row
    builder, live (``attainment_rows``) and from a snapshot (``reports.attainment.served``)."""
    start, end = parse_period(period)
    today = timezone.localdate(now)
    share = elapsed_share(load_calendar(around=start), start, end, today)
    risk = float(settings.TARGET_AT_RISK)
    # The metrics' labels once (``get_metric_display`` per row hashes every choice).
    labels = {value: str(label) for value, label in Metric.choices}
    rows = []
    for target in chosen:
        actual = actual_of(target)
        value = float(target.value)
        rows.append(
            {
                "target": target.pk,
                "metric": target.metric,
                "metric_label": labels.get(target.metric, target.metric),
                "scope": target.scope,
                "scope_id": target.channel.code if target.channel else target.scope_id,
                "scope_label": target.scope_label,
                "value": value,
                "actual": None if actual is None else round(actual, 4),
                **judge(
                    metric=target.metric,
                    value=value,
                    actual=actual,
                    share=share,
                    over=today > end,
                    risk=risk,
                ),
            }
        )
    return {
        "period": period,
        "from": start,
        "to": end,
        "elapsed": round(share, 4),
        "at_risk_below": risk,
        "rows": rows,
    }


def visible_targets(targets: QuerySet[Target], period: str) -> list[Target]:
    """The targets of ``period`` among ``targets``, with their scope objects (one query)."""
    return list(targets.filter(period=period).select_related("user", "team", "channel", "campaign"))


def attainment_rows(
    targets: QuerySet[Target], *, period: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The attainment of ``targets`` of ``period`` (``2026-12`` or ``2026-Q4``), live."""
    now = now or timezone.now()
    start, end = parse_period(period)
    chosen = visible_targets(targets, period)
    actuals = Actuals(start, end, chosen, now)
    return attainment_report(chosen, period=period, now=now, actual_of=actuals.of)


def attainment_for(user: User, *, period: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """The attainment of every target ``user`` may read in ``period``."""
    return attainment_rows(targets_visible_to(user), period=period, now=now)
