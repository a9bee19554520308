"""A channel's drill-down: its campaigns, each linked to its page and its leads."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _

from campaigns.models import Channel
from pipeline.context_processors import url_or_none
from pipeline.db import reading_replica
from pipeline.roles import REPORT_READERS
from reports.exports import Column, Table, requested_export
from reports.forms.reports import RoiForm
from reports.metrics_sql import SORTABLE
from reports.selectors import DEFAULT_CAMPAIGN_SORT
from reports.snapshots import RoiPage
from reports.views.common import bind_form, query_string, require, respond
from reports.views.drill import lead_list_url, link_title, row_links
from reports.views.jobs import job_page, page_answer, page_keys, snapshot_context
from reports.views.roi import (
    figure_columns,
    funnel_chart,
    kpis,
    roi_charts,
    roi_context,
    trend_charts,
    trend_table,
)

#: Campaigns per page of a channel's table (the API's default page size).
CAMPAIGNS_PER_PAGE = 50


def _page_number(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


@login_required
@reading_replica()
def channel_detail(request: HttpRequest, code: str) -> HttpResponse:
    """Drill-down: the campaigns of one channel, each linked to its page and its leads."""
    require(request.user, REPORT_READERS)
    channel = get_object_or_404(Channel, code=code)
    form = bind_form(RoiForm, request)
    context: dict[str, Any] = {
        **roi_context(request, form),
        "channel": channel,
        "dashboard_url": reverse("reports:index") + query_string(request),
    }
    tables: list[Table] = []
    if form.is_valid():
        period = form.period
        keys = page_keys(form, channel.code)
        sort = request.GET.get("sort") or DEFAULT_CAMPAIGN_SORT
        if sort.lstrip("-") not in SORTABLE:
            sort = DEFAULT_CAMPAIGN_SORT
        exporting = requested_export(request) is not None and request.GET.get("table") in (
            None,
            "",
            "campaigns",
        )
        number = _page_number(request.GET.get("page"))
        page = RoiPage(
            sort=sort,
            offset=(number - 1) * CAMPAIGNS_PER_PAGE,
            limit=None if exporting else CAMPAIGNS_PER_PAGE,  # an export: every row
        )
        answer = page_answer(request, keys, page)
        if answer.job is not None:
            title = _("Channel: %(channel)s") % {"channel": channel}
            return job_page(request, answer.job, context, title=title, tab="index")
        roi, funnel, trend = (answer.reports[key] for key in keys)
        model = form.cleaned_data["model"]
        channel_links = row_links(request.user, period=period, model=model, channel=channel.code)
        campaigns = Table(
            name="campaigns",
            title=_("Campaigns of %(channel)s") % {"channel": channel},
            columns=[Column("campaign_name", _("Campaign")), *figure_columns()],
            rows=roi["rows"],
            totals={**roi["totals"], "campaign_name": _("Total")},
            totals_links=channel_links,
            link_title=link_title(model),
            definitions=("credit_weighted", "cohort", "cohort_revenue", "cost"),
            count=roi["count"],
            sort=sort,
            sort_urls={
                figure: query_string(
                    request, sort=figure if sort == f"-{figure}" else f"-{figure}", page=None
                )
                for figure in SORTABLE
            },
        )
        if exporting:  # every campaign, streamed in the report's order
            return respond(
                request,
                "reports/channel_detail.html",
                context,
                form=form,
                tables=[campaigns],
                tab="index",
            )
        paginator = Paginator(range(roi["count"]), CAMPAIGNS_PER_PAGE)
        shown = paginator.get_page(number)
        context["page_obj"] = shown
        context["page_range"] = paginator.get_elided_page_range(shown.number)
        context["snapshot"] = snapshot_context(request, form, answer, channel.code)
        span = {
            "created_after": period["start"].isoformat(),
            "created_before": period["end"].isoformat(),
        }
        for row in roi["rows"]:
            item = row_links(request.user, period=period, model=model, campaign=row["campaign"])
            campaign_url = url_or_none("campaigns:detail", row["campaign"])
            if campaign_url:
                item["campaign_name"] = campaign_url
            campaigns.links.append(item)
        tables = [campaigns, trend_table(trend)]
        top = roi["rows"][:12]
        context.update(
            {
                "kpis": kpis(
                    roi["totals"],
                    weighted=True,
                    links=channel_links,
                    link_title=link_title(model),
                ),
                "funnel_chart": funnel_chart(funnel),
                "campaign_charts": roi_charts(top, "campaign_name"),
                "more_campaigns": max(0, roi["count"] - len(top)),
                "trend_charts": trend_charts(trend),
                "channel_leads_url": lead_list_url({"channel": channel.pk, **span}),
            }
        )
    return respond(
        request, "reports/channel_detail.html", context, form=form, tables=tables, tab="index"
    )
