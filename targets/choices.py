"""Target metrics and periods (DESIGN §11): pure definitions, no database.

A period is a month (``2026-12``) or a quarter (``2026-Q4``); ``period_dates`` gives its
first and last day and ``previous_period`` the period before it of the same kind.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class Metric(models.TextChoices):
    # Marketing (cohort: leads created in the period, credit-weighted per channel/campaign).
    LEADS = "leads", gettext_lazy("Leads")
    MQLS = "mqls", gettext_lazy("MQLs")
    SQLS = "sqls", gettext_lazy("SQLs")
    WON = "won", gettext_lazy("Won deals")
    REVENUE = "revenue", gettext_lazy("Revenue")
    COST_PER_MQL_MAX = "cost_per_mql_max", gettext_lazy("Cost per MQL (at most)")
    BUDGET_MAX = "budget_max", gettext_lazy("Cost (at most)")
    # Lead desk.
    QUALIFIED = "qualified", gettext_lazy("Leads qualified")
    QUALIFICATION_HOURS_P50_MAX = (
        "qualification_hours_p50_max",
        gettext_lazy("Median hours to qualify (at most)"),
    )
    ACCEPTANCE_RATE = "acceptance_rate", gettext_lazy("Acceptance by sales")
    # Sales.
    FIRST_RESPONSE_RATE = "first_response_rate", gettext_lazy("First response in time")
    FOLLOW_UP_COMPLIANCE = "follow_up_compliance", gettext_lazy("Follow-up compliance")
    WIN_RATE = "win_rate", gettext_lazy("Win rate")


#: Metrics where less is better: attainment is value / actual.
MAX_METRICS = frozenset(
    {Metric.COST_PER_MQL_MAX, Metric.BUDGET_MAX, Metric.QUALIFICATION_HOURS_P50_MAX}
)
#: Metrics that are fractions (0.8 = 80 %); the value must lie in [0, 1].
RATE_METRICS = frozenset(
    {
        Metric.ACCEPTANCE_RATE,
        Metric.FIRST_RESPONSE_RATE,
        Metric.FOLLOW_UP_COMPLIANCE,
        Metric.WIN_RATE,
    }
)
#: Metrics that accumulate over the period (paced by working days); the others are levels
#: (rates, medians, cost per MQL) judged as they stand.
CUMULATIVE_METRICS = frozenset(
    {
        Metric.LEADS,
        Metric.MQLS,
        Metric.SQLS,
        Metric.WON,
        Metric.REVENUE,
        Metric.BUDGET_MAX,
        Metric.QUALIFIED,
    }
)
MARKETING_METRICS = frozenset(
    {Metric.LEADS, Metric.MQLS, Metric.SQLS, Metric.COST_PER_MQL_MAX, Metric.BUDGET_MAX}
)
DESK_METRICS = frozenset(
    {Metric.QUALIFIED, Metric.QUALIFICATION_HOURS_P50_MAX, Metric.ACCEPTANCE_RATE}
)
SALES_METRICS = frozenset(
    {Metric.FIRST_RESPONSE_RATE, Metric.FOLLOW_UP_COMPLIANCE, Metric.WIN_RATE}
)

SCOPES = ("user", "team", "channel", "campaign")

#: Which scopes each metric may have ("company": no scope).
ALLOWED_SCOPES: dict[str, frozenset[str]] = {
    **{m: frozenset({"company", "channel", "campaign", "user"}) for m in MARKETING_METRICS},
    Metric.WON: frozenset({"company", "channel", "campaign", "user", "team"}),
    Metric.REVENUE: frozenset({"company", "channel", "campaign", "user", "team"}),
    **{m: frozenset({"company", "user"}) for m in DESK_METRICS},
    **{m: frozenset({"company", "user", "team"}) for m in SALES_METRICS},
}

_PERIOD = re.compile(r"^(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))$")


def parse_period(period: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``2026-12`` or ``2026-Q4`` (surrounding blanks ignored);
    ``ValueError`` with a readable message otherwise. The one period parser: targets,
    attainment, the agreement and the forecast (page, API) all read periods with it."""
    match = _PERIOD.match((period or "").strip())
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise ValueError(_("Use a month like 2026-12 or a quarter like 2026-Q4."))
    year = int(match.group(1))
    if match.group(2):
        first_month = last_month = int(match.group(2))
    else:
        first_month = 3 * (int(match.group(3)) - 1) + 1
        last_month = first_month + 2
    start = dt.date(year, first_month, 1)
    after = dt.date(year + last_month // 12, last_month % 12 + 1, 1)
    return start, after - dt.timedelta(days=1)


def previous_period(period: str) -> str:
    """The month or quarter before ``period`` (``2026-01`` → ``2025-12``)."""
    start, _end = parse_period(period)
    if "Q" in period:
        quarter = (start.month - 1) // 3 + 1
        return f"{start.year - 1}-Q4" if quarter == 1 else f"{start.year}-Q{quarter - 1}"
    before = start - dt.timedelta(days=1)
    return f"{before.year}-{before.month:02d}"


def month_of(day: dt.date) -> str:
    return f"{day.year}-{day.month:02d}"


def quarter_of(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def attainment_ratio(metric: str, actual: float | None, value: float) -> float | None:
    """actual / value, or value / actual for the ``_max`` metrics (less is better);
    ``None`` when undefined."""
    if actual is None:
        return None
    if metric in MAX_METRICS:
        return round(value / actual, 4) if actual else None
    return round(actual / value, 4) if value else None
