"""Demo targets (DESIGN §11): for the current and the previous month, company, channel,
team and personal targets for every role, set from the demo world's own figures so the
attainment pages show a realistic mix of met, missed, ahead, on-track and at-risk targets.

The previous month's actuals are computed once (``reports.attainment.selectors.Actuals``,
the report selectors) and every target is set around them: a constant number of queries
whatever the number of leads.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from campaigns.models import Campaign, Channel
from leads.demo import data
from leads.demo.world import demo_rng
from reports.attainment.selectors import Actuals
from targets.choices import (
    MAX_METRICS,
    RATE_METRICS,
    Metric,
    month_of,
    parse_period,
    previous_period,
)
from targets.models import Target

COMPANY = (
    Metric.LEADS, Metric.MQLS, Metric.SQLS, Metric.WON, Metric.REVENUE, Metric.COST_PER_MQL_MAX,
    Metric.BUDGET_MAX, Metric.QUALIFIED, Metric.ACCEPTANCE_RATE,
    Metric.QUALIFICATION_HOURS_P50_MAX, Metric.FIRST_RESPONSE_RATE,
    Metric.FOLLOW_UP_COMPLIANCE, Metric.WIN_RATE,
)  # fmt: skip
PER_ROLE = {
    "marketer": (Metric.LEADS, Metric.MQLS, Metric.SQLS, Metric.COST_PER_MQL_MAX),
    "lead_desk": (Metric.QUALIFIED, Metric.ACCEPTANCE_RATE, Metric.QUALIFICATION_HOURS_P50_MAX),
    "sales_rep": (Metric.REVENUE, Metric.WON, Metric.FIRST_RESPONSE_RATE, Metric.WIN_RATE),
}
TEAM = (Metric.REVENUE, Metric.WON, Metric.FIRST_RESPONSE_RATE)
CHANNEL = (Metric.LEADS, Metric.MQLS)
#: Defaults where the previous month has no figure.
DEFAULTS = {m: Decimal("0.7") for m in RATE_METRICS} | {
    Metric.QUALIFICATION_HOURS_P50_MAX: Decimal("8"),
    Metric.COST_PER_MQL_MAX: Decimal("300"),
}


def _scopes(users: dict[str, int], team_ids: list[int]) -> list[tuple[str, dict[str, int]]]:
    roles = {name: r for name, _f, _l, r, _s in data.DEMO_USERS}
    scopes: list[tuple[str, dict[str, int]]] = [(m, {}) for m in COMPANY]
    for username, user_id in users.items():
        for role in roles.get(username, ()):
            scopes += [(m, {"user_id": user_id}) for m in PER_ROLE.get(role, ())]
    scopes += [(m, {"team_id": team_id}) for team_id in team_ids for m in TEAM]
    channels = Campaign.objects.values_list("channel_id", flat=True).distinct().order_by()
    scopes += [(m, {"channel_id": cid}) for cid in sorted(set(channels)) for m in CHANNEL]
    return scopes


def _value(metric: str, actual: float | None, factor: float) -> Decimal:
    if not actual:
        base = DEFAULTS.get(metric, Decimal("10"))
    elif metric in MAX_METRICS:
        base = Decimal(str(actual)) / Decimal(str(factor))  # a stricter cap when factor > 1
    else:
        base = Decimal(str(actual)) * Decimal(str(factor))
    if metric in RATE_METRICS:
        return min(Decimal("1"), base).quantize(Decimal("0.01"))
    if metric in (Metric.REVENUE, Metric.BUDGET_MAX, Metric.COST_PER_MQL_MAX):
        return base.quantize(Decimal("100")) if base >= 1000 else base.quantize(Decimal("1"))
    return max(Decimal("1"), base.quantize(Decimal("1")))


def create_targets(*, users: dict[str, int], team_ids: list[int], today: dt.date, seed: int) -> int:
    """The demo targets of this month and the previous one; answers how many."""
    rng = demo_rng(seed, "targets")
    current = month_of(today)
    previous = previous_period(current)
    scopes = _scopes(users, team_ids)
    creator = users.get("boss")
    start, end = parse_period(previous)
    drafts = [
        Target(period=previous, start=start, end=end, metric=m, value=Decimal("1"), **scope)
        for m, scope in scopes
    ]
    channels = Channel.objects.in_bulk({t.channel_id for t in drafts if t.channel_id})
    for target in drafts:  # Actuals reads a channel target's code
        if target.channel_id:
            target.channel = channels[target.channel_id]
    now = timezone.make_aware(dt.datetime.combine(today, dt.time(10)))
    actuals = Actuals(start, end, drafts, now)
    rows = []
    cur_start, cur_end = parse_period(current)
    for draft, (metric, scope) in zip(drafts, scopes, strict=True):
        actual = actuals.of(draft)
        # Last month: some met, some missed. This month: a bit above last month's figure.
        rows.append(
            Target(period=previous, start=start, end=end, metric=metric, created_by_id=creator,
                   value=_value(metric, actual, rng.choice((0.8, 0.95, 1.05, 1.25))), **scope)
        )  # fmt: skip
        rows.append(
            Target(period=current, start=cur_start, end=cur_end, metric=metric,
                   created_by_id=creator,
                   value=_value(metric, actual, rng.choice((0.9, 1.05, 1.15, 1.3))), **scope)
        )  # fmt: skip
    Target.objects.bulk_create(rows)
    return len(rows)
