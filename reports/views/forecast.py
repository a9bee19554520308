"""Pipeline forecast (DESIGN §11): per rep, team and company for a month or quarter, with
the open deals behind a rep's or team's figures (the drill-down). Same scopes as
``reports.api.ForecastView``: reps their own, sales managers their teams, managers all."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from assignment.selectors import teams_visible_to
from leads.choices import Stage
from pipeline.db import reading_replica
from pipeline.errors import ServiceError
from pipeline.people import display_name
from pipeline.roles import FORECAST_READERS, Role, has_role
from reports.definitions import DEFINITIONS
from reports.forecast.engine import OPEN_DEAL_STAGES
from reports.forecast.selectors import forecast_scope, open_deals, pipeline_forecast
from reports.forms.reports import ForecastForm
from reports.views.common import fmt, report_tabs, require
from targets.choices import month_of, quarter_of

#: The figures of a forecast row, with the definition each is shown beside.
FIGURES = (
    ("won", "signed_revenue"),
    ("open_amount", "open_deals"),
    ("undated_amount", "open_deals"),
    ("best_case", "forecast"),
    ("weighted", "forecast"),
    ("committed", "forecast"),
    ("target", "forecast_gap"),
    ("gap", "forecast_gap"),
)

#: The drill-down lists at most this many open deals, largest first.
DEALS_SHOWN = 200


def _cells(row: dict[str, Any]) -> list[str]:
    return [fmt(row["open_count"], "count")] + [fmt(row[key], "money") for key, _term in FIGURES]


def _leads_url(owner_id: int) -> str:
    """The lead list filtered to one rep's open deal stages."""
    query = [("owner", owner_id), *[("stage", stage) for stage in OPEN_DEAL_STAGES]]
    return reverse("leads:list") + "?" + urlencode(query)


@login_required
@reading_replica()
def forecast_page(request: HttpRequest) -> HttpResponse:
    """The forecast table (reps, teams, company), the stage win rates, and the open deals
    of the rep or team chosen (or the reader's own, for a rep)."""
    user = request.user
    require(user, FORECAST_READERS)
    teams = teams_visible_to(user) if has_role(user, Role.MANAGER, Role.SALES_MANAGER) else None
    form = ForecastForm(request.GET or None, teams=teams)
    today = timezone.localdate()
    this_month = month_of(today)
    context: dict[str, Any] = {
        "form": form,
        "report_tabs": report_tabs(request, "forecast"),
        "show_teams": teams is not None,
        "term": {key: DEFINITIONS[term] for key, term in FIGURES},
        "win_rate_term": DEFINITIONS["stage_win_rate"],
        "presets": [
            {"label": _("This month"), "url": "?" + urlencode({"period": this_month})},
            {
                "label": _("This quarter"),
                "url": "?" + urlencode({"period": quarter_of(today)}),
            },
        ],
        "errors": [],
    }
    if request.GET and not form.is_valid():
        context["errors"] = [e for errors in form.errors.values() for e in errors]
        return render(request, "reports/forecast.html", context, status=400)
    data = form.cleaned_data if request.GET else {"period": this_month}
    period = data.get("period") or this_month
    try:
        scope = forecast_scope(user, team=data.get("team"), rep=data.get("user"))
    except ServiceError as error:
        raise PermissionDenied(str(error)) from error
    report = pipeline_forecast(period=period, scope=scope)
    base = {"period": period}
    for row in report["rows"]:
        row["cells"] = _cells(row)
        row["detail_url"] = "?" + urlencode({**base, "user": row["user"]})
        row["leads_url"] = _leads_url(row["user"])
    for team in report["teams"]:
        team["cells"] = _cells(team)
        team["detail_url"] = "?" + urlencode({**base, "team": team["team"]})
    if report["company"] is not None:
        report["company"]["cells"] = _cells(report["company"])
    for rate in report["win_rates"]:
        rate["label"] = Stage(rate["stage"]).label
        rate["shown"] = fmt(rate["win_rate"], "pct")
    context.update(report=report, period=period)
    for preset in context["presets"]:
        preset["active"] = preset["url"] == "?" + urlencode({"period": period})
    if scope.user_ids is not None:
        rates = {rate["stage"]: rate["win_rate"] for rate in report["win_rates"]}
        deals = list(open_deals(period=period, user_ids=scope.user_ids, limit=DEALS_SHOWN))
        context["deals"] = [
            {
                "lead": lead,
                "owner": display_name(lead.owner),
                "close": lead.expected_close_date,
                "stage": lead.get_stage_display(),
                "amount": fmt(lead.expected_amount, "money"),
                "rate": fmt(rates.get(lead.stage), "pct"),
            }
            for lead in deals
        ]
        context["deals_limited"] = len(deals) >= DEALS_SHOWN
    return render(request, "reports/forecast.html", context)
