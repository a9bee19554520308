"""Attainment pages: the targets of a period with actual, attainment, pace and status,
per role (a marketer their marketing targets, the desk its speed and acceptance, a rep
their revenue, compliance and win rate, managers everything), and the marketing–sales
agreement page with the scoreboard's verdict judged against the agreed targets."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy

from pipeline.db import reading_replica
from pipeline.roles import REPORT_READERS, Role, has_role
from reports.attainment.agreement import agreement_sides, agreement_verdict
from reports.attainment.selectors import STATUS_LABELS
from reports.attainment.served import agreement_served, attainment_periods, attainment_served
from reports.definitions import DEFINITIONS
from reports.views.common import fmt, require
from reports.views.scoreboard import headline, verdict_texts
from targets.choices import (
    DESK_METRICS,
    MAX_METRICS,
    RATE_METRICS,
    Metric,
    month_of,
    parse_period,
)

#: The page's sections: who reads each, and which targets it holds.
SECTIONS: tuple[tuple[str, Any, frozenset[str], frozenset[str]], ...] = (
    (
        "marketing",
        gettext_lazy("Marketing"),
        frozenset({Role.MARKETER, Role.MANAGER}),
        frozenset(
            {
                Metric.LEADS,
                Metric.MQLS,
                Metric.SQLS,
                Metric.COST_PER_MQL_MAX,
                Metric.BUDGET_MAX,
                Metric.WON,
                Metric.REVENUE,
            }
        ),
    ),
    ("desk", gettext_lazy("Lead desk"), frozenset({Role.LEAD_DESK, Role.MANAGER}), DESK_METRICS),
    (
        "sales",
        gettext_lazy("Sales"),
        frozenset({Role.SALES_REP, Role.SALES_MANAGER, Role.MANAGER}),
        frozenset(
            {
                Metric.REVENUE,
                Metric.WON,
                Metric.FIRST_RESPONSE_RATE,
                Metric.FOLLOW_UP_COMPLIANCE,
                Metric.WIN_RATE,
            }
        ),
    ),
)
#: Where revenue and won belong: cohort figures of channels and campaigns are marketing's,
#: deals signed (company, team, person) are sales'.
_MARKETING_SCOPES = frozenset({"channel", "campaign"})


def _kind(metric: str) -> str:
    if metric in RATE_METRICS:
        return "pct"
    if metric == Metric.REVENUE or metric == Metric.BUDGET_MAX:
        return "money"
    if metric == Metric.COST_PER_MQL_MAX:
        return "unit_money"
    if metric == Metric.QUALIFICATION_HOURS_P50_MAX:
        return "hours"
    return "count"


def present(row: dict[str, Any]) -> dict[str, Any]:
    kind = _kind(row["metric"])
    return {
        **row,
        "value_text": fmt(row["value"], kind),
        "actual_text": fmt(row["actual"], kind),
        "expected_text": fmt(row["expected_by_now"], kind),
        "attainment_text": fmt(row["attainment"], "pct"),
        "status_label": STATUS_LABELS[row["status"]],
        "less_is_better": row["metric"] in MAX_METRICS,
    }


def _signed_in(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # login_required lets only signed-in users through
        raise PermissionDenied
    return user


def _period(request: HttpRequest) -> tuple[str, str | None]:
    period = (request.GET.get("period") or "").strip() or month_of(timezone.localdate())
    try:
        parse_period(period)
    except ValueError as error:
        return month_of(timezone.localdate()), str(error)
    return period, None


def _periods() -> list[str]:
    return attainment_periods(timezone.localdate())


def _snapshot(served: Any) -> dict[str, Any]:
    """The "Computed at …" note (``reports/_snapshot.html``): the snapshot's time, or live."""
    return {"computed_at": served.computed_at, "refresh": None}


@login_required
@reading_replica()
def attainment_page(request: HttpRequest) -> HttpResponse:
    period, error = _period(request)
    served = attainment_served(_signed_in(request), period=period)
    report = served.report
    sections = []
    for key, label, roles, metrics in SECTIONS:
        if not has_role(request.user, *roles):
            continue
        rows = [
            present(row)
            for row in report["rows"]
            if row["metric"] in metrics
            and (
                row["metric"] not in (Metric.REVENUE, Metric.WON)
                or (row["scope"] in _MARKETING_SCOPES) == (key == "marketing")
            )
        ]
        sections.append({"key": key, "label": label, "rows": rows})
    context = {
        "period": period,
        "error": error,
        "periods": _periods(),
        "report": report,
        "elapsed_text": fmt(report["elapsed"], "pct"),
        "risk_text": fmt(report["at_risk_below"], "pct"),
        "sections": sections,
        "snapshot": _snapshot(served),
    }
    return render(request, "reports/attainment.html", context, status=400 if error else 200)


@login_required
@reading_replica()
def agreement_page(request: HttpRequest) -> HttpResponse:
    """市场与销售的服务协议: the agreed targets of both sides, their attainment, and the
    scoreboard's verdict judged against them."""
    require(request.user, REPORT_READERS)
    period, error = _period(request)
    served = agreement_served(_signed_in(request), period=period)
    report, figures = served.report, served.figures or {}
    sides = agreement_sides(report)
    # The same figures as the agreement's acceptance and first-response rows (cohort).
    judged = agreement_verdict(
        start=report["from"],
        end=report["to"],
        acceptance=figures["acceptance"],
        in_time=figures["in_time"],
    )
    context = {
        "period": period,
        "error": error,
        "periods": _periods(),
        "marketing": [present(r) for r in sides["marketing"]],
        "sales": [present(r) for r in sides["sales"]],
        "cohort_term": DEFINITIONS["cohort"],
        "compliance_term": DEFINITIONS["agreement_compliance"],
        "snapshot": _snapshot(served),
        "verdict": {
            **verdict_texts(judged),
            "marketing": judged["marketing"]["verdict"],
            "sales": judged["sales"]["verdict"],
            "headline": headline(judged["marketing"]["verdict"], judged["sales"]["verdict"]),
        },
    }
    return render(request, "reports/agreement.html", context, status=400 if error else 200)
