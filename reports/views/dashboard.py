"""The manager dashboard: funnel, KPIs, cost vs revenue and ROI per channel, the monthly
trend and the channel table."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from pipeline.db import reading_replica
from pipeline.roles import REPORT_READERS
from reports.exports import Column, Table
from reports.forms.reports import RoiForm
from reports.selectors import closed_in_period
from reports.views.common import bind_form, query_string, require, respond
from reports.views.drill import link_title, row_links
from reports.views.jobs import job_page, page_answer, page_keys, snapshot_context
from reports.views.roi import (
    figure_columns,
    funnel_chart,
    kpis,
    roi_charts,
    roi_context,
    trend_charts,
    trend_table,
    why_differ,
)


@login_required
@reading_replica()
def dashboard(request: HttpRequest) -> HttpResponse:
    """Funnel, KPIs, cost vs revenue and ROI per channel, the monthly trend and the
    channel table, for the cohort of leads created in the period."""
    require(request.user, REPORT_READERS)
    form = bind_form(RoiForm, request)
    context: dict[str, Any] = roi_context(request, form)
    tables: list[Table] = []
    if form.is_valid():
        keys = page_keys(form)
        answer = page_answer(request, keys)
        if answer.job is not None:
            return job_page(
                request, answer.job, context, title=_("Marketing dashboard"), tab="index"
            )
        roi, funnel, trend = (answer.reports[key] for key in keys)
        context["snapshot"] = snapshot_context(request, form, answer)
        period, model = form.period, roi["model"]
        channel_links = [
            {
                "channel_name": reverse("reports:channel", args=[row["channel"]])
                + query_string(request),
                **row_links(request.user, period=period, model=model, channel=row["channel"]),
            }
            for row in roi["rows"]
        ]
        total_links = row_links(request.user, period=period, model=model)
        kind_labels = {"online": _("Online"), "offline": _("Offline")}
        tables = [
            Table(
                name="channels",
                title=_("Channels"),
                columns=[
                    Column("channel_name", _("Channel")),
                    Column("kind_label", _("Kind"), secondary=True),
                    *figure_columns(),
                ],
                rows=[{**r, "kind_label": kind_labels.get(r["kind"], "")} for r in roi["rows"]],
                totals={**roi["totals"], "channel_name": _("Total"), "kind_label": ""},
                links=channel_links,
                totals_links=total_links,
                link_title=link_title(model),
                definitions=("credit_weighted", "cohort", "cohort_revenue", "cost"),
            ),
            trend_table(trend),
        ]
        closed = closed_in_period(**period)
        context.update(
            {
                "kpis": kpis(roi["totals"], links=total_links, link_title=link_title(model)),
                "why": why_differ(
                    cohort=funnel["totals"], closed=closed, model_label=context["model_label"]
                ),
                "funnel": funnel,
                "funnel_chart": funnel_chart(funnel),
                "channel_charts": roi_charts(roi["rows"], "channel_name"),
                "trend_charts": trend_charts(trend),
                "no_cost_channels": [r["channel_name"] for r in roi["rows"] if r["roi"] is None],
            }
        )
    return respond(
        request, "reports/dashboard.html", context, form=form, tables=tables, tab="index"
    )
