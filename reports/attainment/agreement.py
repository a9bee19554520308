"""The marketing–sales agreement (市场与销售的服务协议, DESIGN §11): for one period,
marketing's MQL/SQL volume and quality targets beside sales' first-response and follow-up
targets, each with its attainment (company targets: the agreement is between the two
departments).

Both sides count the same leads: the period's marketing cohort (leads created in the
period, ``reports.definitions`` "cohort"). Marketing's MQLs, SQLs and acceptance are
cohort figures already; sales' first-response and follow-up compliance of the agreement
are the compliance selectors (``reports.sla.compliance``) narrowed to that cohort
(definition ``agreement_compliance``), not the assignments made in the period.

The scoreboard's verdict (``reports.views.scoreboard``, the agreement page) is judged
against the agreed acceptance and first-response targets by the attainment status rule
(``reports.attainment.selectors.judge``, one rule for both pages): a side is "good" while
its status is met, ahead or on track, "bad" when at risk or missed. Without an agreed
target it is judged against ``DEFAULT_TARGET`` (README, "Scoreboard"), labelled so.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from reports.attainment.selectors import AT_RISK, MISSED, cohort_first_response, judge
from reports.sla.compliance import StateNow
from reports.trends import channel_quality
from targets.choices import Metric, month_of, parse_period, quarter_of
from targets.models import Target
from targets.selectors import COMPANY

#: Marketing's side: volume (MQLs, SQLs) and quality (acceptance by sales, cost per MQL).
MARKETING = (Metric.MQLS, Metric.SQLS, Metric.ACCEPTANCE_RATE, Metric.COST_PER_MQL_MAX)
#: Sales' side: answering the leads in time and following them up.
SALES = (Metric.FIRST_RESPONSE_RATE, Metric.FOLLOW_UP_COMPLIANCE)
#: The figures the verdict judges: marketing's acceptance and sales' first responses.
VERDICT_METRICS = (Metric.ACCEPTANCE_RATE, Metric.FIRST_RESPONSE_RATE)
#: Without an agreed target, each side of the verdict is judged against this share.
DEFAULT_TARGET = 0.7


def agreement_sides(report: dict[str, Any]) -> dict[str, Any]:
    """Split the company rows of an attainment report (``attainment_rows``) into the two
    sides of the agreement, in the agreement's order."""
    company = {row["metric"]: row for row in report["rows"] if row["scope"] == "company"}
    return {
        "marketing": [company[m] for m in MARKETING if m in company],
        "sales": [company[m] for m in SALES if m in company],
    }


# --- the verdict ------------------------------------------------------------------------------


def agreement_figures(
    *,
    start: dt.date,
    end: dt.date,
    now: dt.datetime | None = None,
    state: StateNow | None = None,
) -> dict[str, float | None]:
    """The two figures the verdict judges for [start, end], company-wide: marketing's
    acceptance (the scoreboard's, ``channel_quality``) and sales' first responses in time
    of the cohort (``cohort_first_response``) — what an agreement snapshot stores.
    ``state``: the overdue-now figures already read in this request (``state_now_once``)."""
    return {
        "acceptance": channel_quality(start=start, end=end)["totals"]["acceptance_rate"],
        "in_time": cohort_first_response(start=start, end=end, now=now, state=state),
    }


def agreement_period(start: dt.date, end: dt.date) -> str | None:
    """The target period a report's [start, end] is judged in: the month that holds it,
    else the quarter; ``None`` when it spans more than a quarter."""
    if month_of(start) == month_of(end):
        return month_of(start)
    if quarter_of(start) == quarter_of(end):
        return quarter_of(start)
    return None


def agreed_targets(period: str | None) -> dict[str, Decimal]:
    """The company's agreed acceptance and first-response targets of ``period`` (one
    query; none without a period)."""
    if period is None:
        return {}
    return dict(
        Target.objects.filter(COMPANY, period=period, metric__in=VERDICT_METRICS).values_list(
            "metric", "value"
        )
    )


def _side(
    metric: str,
    actual: float | None,
    agreed: Decimal | None,
    *,
    period: str | None,
    over: bool,
) -> dict[str, Any]:
    value = float(agreed) if agreed is not None else DEFAULT_TARGET
    if actual is None:
        verdict, status = "none", None
    else:
        # Rates are levels: expected by now is the target whatever share has elapsed.
        status = judge(
            metric=metric,
            value=value,
            actual=actual,
            share=1.0,
            over=over,
            risk=float(settings.TARGET_AT_RISK),
        )["status"]
        verdict = "bad" if status in (AT_RISK, MISSED) else "good"
    return {
        "actual": actual,
        "target": value,
        "agreed": agreed is not None,
        "period": period if agreed is not None else None,
        "status": status,
        "verdict": verdict,
    }


def agreement_verdict(
    *,
    start: dt.date,
    end: dt.date,
    acceptance: float | None,
    in_time: float | None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Each side of the scoreboard's verdict for [start, end]: marketing's ``acceptance``
    and sales' first responses ``in_time`` of the cohort
    (``reports.attainment.selectors.cohort_first_response``),
    judged against the agreed targets of the period that holds [start, end] — or
    ``DEFAULT_TARGET`` where none is agreed (``agreed`` False)."""
    period = agreement_period(start, end)
    targets = agreed_targets(period)
    today = timezone.localdate(now or timezone.now())
    last = parse_period(period)[1] if period is not None else end
    over = today > last
    return {
        "period": period,
        "marketing": _side(
            Metric.ACCEPTANCE_RATE,
            acceptance,
            targets.get(Metric.ACCEPTANCE_RATE),
            period=period,
            over=over,
        ),
        "sales": _side(
            Metric.FIRST_RESPONSE_RATE,
            in_time,
            targets.get(Metric.FIRST_RESPONSE_RATE),
            period=period,
            over=over,
        ),
    }
