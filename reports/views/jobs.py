"""Stored snapshots on the ROI pages: which reports a page needs, "computed at", the
managers' refresh, and the page shown while a job computes them (``reports.snapshots``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from campaigns.models import Channel
from pipeline.roles import REPORT_REFRESHERS, has_role
from reports.choices import ReportJobOrigin, ReportJobStatus, ReportKind
from reports.forms.reports import RoiForm
from reports.models import ReportJob
from reports.snapshots import Answer, ReportKey, RoiPage, report_answer, report_job_request
from reports.views.common import query_string, report_tabs, require


def page_keys(form: RoiForm, channel: str | None = None) -> list[ReportKey]:
    """The reports of the dashboard (``channel`` None) or of one channel's page, in the
    order (ROI, funnel, trend)."""
    period, model = form.period, form.cleaned_data["model"]
    roi = ReportKind.CAMPAIGN_ROI if channel else ReportKind.CHANNEL_ROI
    return [
        ReportKey.of(roi, model=model, channel=channel, **period),
        ReportKey.of(ReportKind.FUNNEL, channel=channel, **period),
        ReportKey.of(ReportKind.TREND, channel=channel, **period),
    ]


def page_answer(request: HttpRequest, keys: list[ReportKey], page: RoiPage | None = None) -> Answer:
    """The page's reports (``page``: which campaigns of a campaign ROI report)."""
    return report_answer(keys=keys, actor=request.user, job_id=request.GET.get("job"), page=page)


def snapshot_context(
    request: HttpRequest, form: RoiForm, answer: Answer, channel: str | None = None
) -> dict[str, Any]:
    """ "Computed at …" (or live) and, for managers, the refresh form of this page."""
    refresh = None
    if has_role(request.user, *REPORT_REFRESHERS):
        data = form.cleaned_data
        fields = [
            ("from", data["from"].isoformat()),
            ("to", data["to"].isoformat()),
            ("model", data["model"]),
        ]
        if data["channel_kind"]:
            fields.append(("channel_kind", data["channel_kind"]))
        if channel:
            fields.append(("channel", channel))
        refresh = {"url": reverse("reports:refresh"), "fields": fields}
    return {"computed_at": answer.computed_at, "refresh": refresh}


def job_page(
    request: HttpRequest,
    job: ReportJob,
    context: dict[str, Any],
    *,
    title: str,
    tab: str,
) -> HttpResponse:
    """The page while its reports are being computed: a progress bar that follows the
    job's JSON status and reloads the page when it is done."""
    context.update(
        {
            "title": title,
            "job": job,
            "poll_url": reverse("report-job", args=[job.pk]),
            # Done: the page following this job shows its result; failed: its error.
            "done_url": request.path + query_string(request, job=str(job.pk)),
            "retry_url": request.path + query_string(request),
            "can_refresh": has_role(request.user, *REPORT_REFRESHERS),
            "status_labels": {code: str(label) for code, label in ReportJobStatus.choices},
            "report_tabs": report_tabs(request, tab),
            "errors": [],
        }
    )
    return render(request, "reports/report_job.html", context, status=200)


@login_required
@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    """Managers: recompute the reports of the dashboard (or of one channel's page) for the
    posted filters in the background, then follow the job on that page."""
    require(request.user, REPORT_REFRESHERS)
    channel = None
    if request.POST.get("channel"):
        channel = get_object_or_404(Channel, code=request.POST["channel"]).code
    form = RoiForm(request.POST)
    page = reverse("reports:channel", args=[channel]) if channel else reverse("reports:index")
    if not form.is_valid():
        return HttpResponseRedirect(page)
    job = report_job_request(
        keys=page_keys(form, channel), actor=request.user, origin=ReportJobOrigin.REFRESH
    )
    data = form.cleaned_data
    params = {"from": data["from"].isoformat(), "to": data["to"].isoformat()}
    params["model"] = data["model"]
    if data["channel_kind"]:
        params["channel_kind"] = data["channel_kind"]
    params["job"] = str(job.pk)
    return HttpResponseRedirect(page + "?" + urlencode(params))
