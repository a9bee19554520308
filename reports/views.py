"""Report pages: the manager dashboard with drill-down, the marketing–sales scoreboard,
scorecards and grade calibration (DESIGN §8).

Views are thin: a filter form (the API's period rules), the report selectors, tables
(``reports.exports.Table``, shown and exported alike) and SVG charts
(``reports.charts``). Who may read what mirrors the report endpoints in ``reports.api``.
Invalid filters show the form's errors and compute nothing.

The dashboard and the channel drill-down read stored snapshots when fresh ones exist,
compute cheap periods live, and otherwise show the progress of the job computing them
(``reports.snapshots``); managers can ask for a recompute with the "refresh" button.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from assignment.selectors import rep_ids_visible_to
from campaigns.models import Channel
from leads.choices import DisqualifyReason, RejectReason
from leads.credits import MODELS
from leads.views import form_error_messages
from pipeline.context_processors import url_or_none
from pipeline.people import display_name
from pipeline.roles import Role, has_role
from reports import charts
from reports.api import (
    REPORT_REFRESHERS,
    ChannelRoiView,
    GradeCalibrationView,
    ScorecardsView,
)
from reports.charts import COLORS, GRADE_COLORS, Series, grouped
from reports.choices import ReportJobOrigin, ReportJobStatus, ReportKind
from reports.exports import (
    Column,
    Table,
    export_cell,
    export_response,
    pick_table,
    requested_export,
)
from reports.forms import (
    MODEL_HELP,
    MODEL_LABELS,
    CalibrationForm,
    PeriodForm,
    RoiForm,
    ScorecardForm,
)
from reports.models import ReportJob
from reports.periods import DEFAULT_DAYS, period_presets
from reports.quality import bounce_reasons, grade_calibration
from reports.scorecards import scorecard_user_ids, scorecards
from reports.snapshots import Answer, ReportKey, report_answer, report_job_request
from reports.trends import channel_quality, sales_follow_up

#: Who sees per-rep rows on the scoreboard (whose: ``rep_ids_visible_to``).
REP_ROW_READERS = (Role.MANAGER, Role.LEAD_DESK, Role.SALES_MANAGER)
#: Below this share a scoreboard verdict is flagged (acceptance, first responses in time).
TARGET = 0.7

# --------------------------------------------------------------------------------------
# Shared helpers: access, filters, formatting
# --------------------------------------------------------------------------------------


def _require(user, roles) -> None:
    if not has_role(user, *roles):
        raise PermissionDenied(_("You are not allowed to read this report."))


def _bind(form_class: type[PeriodForm], request: HttpRequest) -> PeriodForm:
    """The page's filter form on the query string; without dates, the last 90 days.

    On success the effective period is written back, so the date inputs show it.
    """
    data = request.GET.copy()
    if not data.get("from") and not data.get("to"):
        today = timezone.localdate()
        data["from"] = (today - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat()
        data["to"] = today.isoformat()
    form = form_class(data)
    if form.is_valid():
        data["from"] = form.cleaned_data["from"].isoformat()
        data["to"] = form.cleaned_data["to"].isoformat()
    return form


def _query(request: HttpRequest, **changes: Any) -> str:
    """The current query string with ``changes`` (``None`` removes a key), no export."""
    params = request.GET.copy()
    for key in ("export", "table", "job", *changes):
        params.pop(key, None)
    for key, value in changes.items():
        if value is not None:
            params[key] = value
    return "?" + params.urlencode()


def _presets(request: HttpRequest, form: PeriodForm) -> list[dict[str, Any]]:
    current = (
        (form.cleaned_data["from"], form.cleaned_data["to"]) if form.is_valid() else (None, None)
    )
    return [
        {
            "label": label,
            "url": _query(request, **{"from": start.isoformat(), "to": end.isoformat()}),
            "active": current == (start, end),
        }
        for label, start, end in period_presets(timezone.localdate())
    ]


def _money(value, places: int) -> str:
    return grouped(value, places)


def fmt(value: Any, kind: str) -> str:
    """A value as shown on the page; undefined (``None``) is "—"."""
    if value is None:
        return "—"
    if kind == "count":
        number = float(value)
        if number.is_integer():
            return grouped(int(number), 0)
        return grouped(number, 1)
    if kind == "money":
        return _money(value, 0)
    if kind == "unit_money":
        return _money(value, 2)
    if kind == "pct":
        return charts.percent(value)
    if kind == "roi":
        text = charts.percent(abs(value))
        return f"+{text}" if value > 0 else (f"−{text}" if value < 0 else text)
    if kind == "hours":
        return _("%(n)s h") % {"n": grouped(float(value), 1)}
    if kind == "days":
        return _("%(n)s d") % {"n": grouped(float(value), 1)}
    return str(value)


NUMERIC = frozenset({"count", "money", "unit_money", "pct", "roi", "hours", "days"})


def present(table: Table) -> dict[str, Any]:
    """A ``Table`` laid out for the template: header cells, row cells with links, totals."""

    def cells(row: dict[str, Any], links: dict[str, str]) -> list[dict[str, Any]]:
        out = []
        for column in table.columns:
            value = row.get(column.key)
            css = "num" if column.kind in NUMERIC else column.kind
            if column.kind == "roi" and value is not None:
                css += " pos" if value > 0 else (" neg" if value < 0 else "")
            out.append(
                {
                    "text": fmt(value, column.kind),
                    "url": links.get(column.key, ""),
                    "css": css.strip(),
                }
            )
        return out

    links = table.links or [{} for _ in table.rows]
    return {
        "name": table.name,
        "title": table.title,
        "columns": [
            {"label": c.label, "css": "num" if c.kind in NUMERIC else c.kind} for c in table.columns
        ],
        "rows": [cells(row, link) for row, link in zip(table.rows, links, strict=False)],
        "totals": cells(table.totals, {}) if table.totals is not None else None,
    }


def _tabs(request: HttpRequest, active: str) -> list[dict[str, Any]]:
    """The report pages this user may open, carrying the period and kind across."""
    user = request.user
    keep = {k: request.GET[k] for k in ("from", "to", "channel_kind") if request.GET.get(k)}
    query = ("?" + urlencode(keep)) if keep else ""
    tabs = [
        ("index", _("Dashboard"), ChannelRoiView.allowed_roles),
        ("scoreboard", _("Marketing–sales scoreboard"), ChannelRoiView.allowed_roles),
        ("scorecards", _("Scorecards"), ScorecardsView.allowed_roles),
        ("grade_calibration", _("Grade calibration"), GradeCalibrationView.allowed_roles),
    ]
    return [
        {"label": label, "url": reverse(f"reports:{name}") + query, "active": name == active}
        for name, label, roles in tabs
        if has_role(user, *roles)
    ]


def _respond(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    form: PeriodForm,
    tables: list[Table],
    tab: str,
) -> HttpResponse:
    """Render the page, or the requested table as a file when ``?export=`` asks for one.
    Invalid filters: the page with the form's errors, and nothing computed."""
    file_format = requested_export(request)
    if file_format and form.is_valid():
        table = pick_table(request, tables)
        if table is not None:
            return export_response(
                table, file_format=file_format, stem=f"{table.name}-{_stem(form)}"
            )
    context["errors"] = form_error_messages(form) if form.errors else []
    context["report_tabs"] = _tabs(request, tab)
    context["tables"] = {table.name: present(table) for table in tables}
    status = 400 if file_format and form.errors else 200
    return render(request, template, context, status=status)


def _stem(form: PeriodForm) -> str:
    data = form.cleaned_data
    return f"{data['from'].isoformat()}_{data['to'].isoformat()}"


def _channel_names() -> dict[str | None, str]:
    names: dict[str | None, str] = {c.code: str(c) for c in Channel.objects.all()}
    names[None] = _("No campaign")
    names[""] = _("No campaign")
    return names


# --------------------------------------------------------------------------------------
# Dashboard and drill-down
# --------------------------------------------------------------------------------------

ROI_FIGURES: list[tuple[str, Any, str]] = [
    ("cost", gettext_lazy("Cost"), "money"),
    ("leads", gettext_lazy("Leads"), "count"),
    ("mqls", gettext_lazy("MQLs"), "count"),
    ("sqls", gettext_lazy("SQLs"), "count"),
    ("opportunities", gettext_lazy("Opportunities"), "count"),
    ("won", gettext_lazy("Won"), "count"),
    ("revenue", gettext_lazy("Revenue"), "money"),
    ("cpl", gettext_lazy("CPL"), "unit_money"),
    ("cost_per_mql", gettext_lazy("Cost per MQL"), "unit_money"),
    ("cost_per_sql", gettext_lazy("Cost per SQL"), "unit_money"),
    ("cac", gettext_lazy("CAC"), "unit_money"),
    ("mql_rate", gettext_lazy("MQL rate"), "pct"),
    ("sql_rate", gettext_lazy("SQL rate"), "pct"),
    ("win_rate", gettext_lazy("Win rate"), "pct"),
    ("roi", gettext_lazy("ROI"), "roi"),
]


def _figure_columns() -> list[Column]:
    return [Column(key, label, kind) for key, label, kind in ROI_FIGURES]


def _kpis(totals: dict[str, Any]) -> list[dict[str, Any]]:
    """The tiles: each figure of the totals with a small note under it."""

    def tile(key, label, kind, note=""):
        value = totals.get(key)
        return {
            "key": key,
            "label": label,
            "value": fmt(value, kind),
            "note": note,
            "tone": ("pos" if value and value > 0 else "neg" if value and value < 0 else "")
            if kind == "roi"
            else "",
        }

    def rate(key):
        return _("%(rate)s of the step before") % {"rate": charts.percent(totals.get(key))}

    return [
        tile("cost", _("Cost"), "money", _("Campaign costs dated in the period")),
        tile("leads", _("Leads"), "count", _("Created in the period")),
        tile("mqls", _("MQLs"), "count", rate("mql_rate")),
        tile("sqls", _("SQLs"), "count", rate("sql_rate")),
        tile("won", _("Won"), "count", rate("win_rate")),
        tile("revenue", _("Revenue"), "money", _("Deals won by these leads")),
        tile("cpl", _("CPL"), "unit_money", _("Cost per lead")),
        tile("cac", _("CAC"), "unit_money", _("Cost per won deal")),
        tile("roi", _("ROI"), "roi", _("(Revenue − cost) / cost")),
    ]


def _model_switch(request: HttpRequest, current: str) -> list[dict[str, Any]]:
    return [
        {
            "code": model,
            "label": MODEL_LABELS[model],
            "help": MODEL_HELP[model],
            "url": _query(request, model=model),
            "active": model == current,
        }
        for model in MODELS
    ]


def _roi_context(request: HttpRequest, form: RoiForm) -> dict[str, Any]:
    """Filters of the ROI pages; the model switch shows even when the filters are wrong."""
    model = form.cleaned_data["model"] if form.is_valid() else request.GET.get("model", "")
    return {
        "form": form,
        "presets": _presets(request, form),
        "models": _model_switch(request, model if model in MODELS else "first_touch"),
        "model_label": MODEL_LABELS[model] if form.is_valid() else "",
    }


def _funnel_chart(funnel: dict[str, Any]) -> str:
    labels = {
        "leads": _("Leads"),
        "mql": _("MQL"),
        "sql": _("SQL"),
        "opportunity": _("Opportunity"),
        "won": _("Won"),
    }
    return charts.funnel_chart(
        [(labels[s["stage"]], s["count"]) for s in funnel["stages"]],
        label=_("Funnel: leads → MQL → SQL → opportunity → won"),
        conversion_label=_("From the step before"),
        empty_message=_("No leads in this period."),
    )


def _money_float(value) -> float:
    return float(value or 0)


def _trend_charts(trend: list[dict[str, Any]]) -> dict[str, str]:
    months = [row["month"].strftime("%Y-%m") for row in trend]
    volume = charts.line_chart(
        months,
        [
            Series(_("Leads"), [row["leads"] for row in trend], COLORS["leads"]),
            Series(_("MQLs"), [row["mqls"] for row in trend], COLORS["mqls"]),
            Series(_("Won"), [row["won"] for row in trend], COLORS["won"]),
        ],
        label=_("Leads, MQLs and won deals per month"),
        empty_message=_("No months in this period."),
    )
    money = charts.bar_chart(
        months,
        [
            Series(_("Cost"), [_money_float(row["cost"]) for row in trend], COLORS["cost"]),
            Series(
                _("Revenue"), [_money_float(row["revenue"]) for row in trend], COLORS["revenue"]
            ),
        ],
        label=_("Cost and revenue per month"),
        empty_message=_("No months in this period."),
    )
    return {"volume": volume, "money": money}


def _trend_table(trend: list[dict[str, Any]]) -> Table:
    return Table(
        name="months",
        title=_("Per month"),
        columns=[
            Column("month_label", _("Month")),
            Column("leads", _("Leads"), "count"),
            Column("mqls", _("MQLs"), "count"),
            Column("sqls", _("SQLs"), "count"),
            Column("won", _("Won"), "count"),
            Column("revenue", _("Revenue"), "money"),
            Column("cost", _("Cost"), "money"),
        ],
        rows=[{**row, "month_label": row["month"].strftime("%Y-%m")} for row in trend],
    )


def _roi_charts(rows: list[dict[str, Any]], name_key: str) -> dict[str, str]:
    names = [str(row[name_key]) for row in rows]
    return {
        "money": charts.hbar_chart(
            names,
            [
                Series(_("Cost"), [_money_float(r["cost"]) for r in rows], COLORS["cost"]),
                Series(_("Revenue"), [_money_float(r["revenue"]) for r in rows], COLORS["revenue"]),
            ],
            label=_("Cost and revenue"),
            empty_message=_("No cost or leads in this period."),
        ),
        "roi": charts.diverging_chart(
            names,
            [r["roi"] for r in rows],
            label=_("ROI; “—” where there was no cost"),
            empty_message=_("No cost or leads in this period."),
        ),
    }


def _lead_list_url(params: dict[str, Any]) -> str:
    return reverse("leads:list") + "?" + urlencode(params)


# --------------------------------------------------------------------------------------
# Stored snapshots: which reports a page needs, "computed at", refresh, job progress
# --------------------------------------------------------------------------------------


def _page_keys(form: RoiForm, channel: str | None = None) -> list[ReportKey]:
    """The reports of the dashboard (``channel`` None) or of one channel's page, in the
    order (ROI, funnel, trend)."""
    period, model = form.period, form.cleaned_data["model"]
    roi = ReportKind.CAMPAIGN_ROI if channel else ReportKind.CHANNEL_ROI
    return [
        ReportKey.of(roi, model=model, channel=channel, **period),
        ReportKey.of(ReportKind.FUNNEL, channel=channel, **period),
        ReportKey.of(ReportKind.TREND, channel=channel, **period),
    ]


def _page_answer(request: HttpRequest, keys: list[ReportKey]) -> Answer:
    return report_answer(keys=keys, actor=request.user, job_id=request.GET.get("job"))


def _snapshot_context(
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


def _job_page(
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
            "done_url": request.path + _query(request, job=str(job.pk)),
            "retry_url": request.path + _query(request),
            "can_refresh": has_role(request.user, *REPORT_REFRESHERS),
            "status_labels": {code: str(label) for code, label in ReportJobStatus.choices},
            "report_tabs": _tabs(request, tab),
            "errors": [],
        }
    )
    return render(request, "reports/report_job.html", context, status=200)


@login_required
@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    """Managers: recompute the reports of the dashboard (or of one channel's page) for the
    posted filters in the background, then follow the job on that page."""
    _require(request.user, REPORT_REFRESHERS)
    channel = None
    if request.POST.get("channel"):
        channel = get_object_or_404(Channel, code=request.POST["channel"]).code
    form = RoiForm(request.POST)
    page = reverse("reports:channel", args=[channel]) if channel else reverse("reports:index")
    if not form.is_valid():
        return HttpResponseRedirect(page)
    job = report_job_request(
        keys=_page_keys(form, channel), actor=request.user, origin=ReportJobOrigin.REFRESH
    )
    data = form.cleaned_data
    params = {"from": data["from"].isoformat(), "to": data["to"].isoformat()}
    params["model"] = data["model"]
    if data["channel_kind"]:
        params["channel_kind"] = data["channel_kind"]
    params["job"] = str(job.pk)
    return HttpResponseRedirect(page + "?" + urlencode(params))


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Funnel, KPIs, cost vs revenue and ROI per channel, the monthly trend and the
    channel table, for the cohort of leads created in the period."""
    _require(request.user, ChannelRoiView.allowed_roles)
    form = _bind(RoiForm, request)
    context: dict[str, Any] = _roi_context(request, form)
    tables: list[Table] = []
    if form.is_valid():
        keys = _page_keys(form)
        answer = _page_answer(request, keys)
        if answer.job is not None:
            return _job_page(
                request, answer.job, context, title=_("Marketing dashboard"), tab="index"
            )
        roi, funnel, trend = (answer.reports[key] for key in keys)
        context["snapshot"] = _snapshot_context(request, form, answer)
        channel_links = [
            {"channel_name": reverse("reports:channel", args=[row["channel"]]) + _query(request)}
            for row in roi["rows"]
        ]
        kind_labels = {"online": _("Online"), "offline": _("Offline")}
        tables = [
            Table(
                name="channels",
                title=_("Channels"),
                columns=[
                    Column("channel_name", _("Channel")),
                    Column("kind_label", _("Kind")),
                    *_figure_columns(),
                ],
                rows=[{**r, "kind_label": kind_labels.get(r["kind"], "")} for r in roi["rows"]],
                totals={**roi["totals"], "channel_name": _("Total"), "kind_label": ""},
                links=channel_links,
            ),
            _trend_table(trend),
        ]
        context.update(
            {
                "kpis": _kpis(roi["totals"]),
                "funnel": funnel,
                "funnel_chart": _funnel_chart(funnel),
                "channel_charts": _roi_charts(roi["rows"], "channel_name"),
                "trend_charts": _trend_charts(trend),
                "no_cost_channels": [r["channel_name"] for r in roi["rows"] if r["roi"] is None],
            }
        )
    return _respond(
        request, "reports/dashboard.html", context, form=form, tables=tables, tab="index"
    )


@login_required
def channel_detail(request: HttpRequest, code: str) -> HttpResponse:
    """Drill-down: the campaigns of one channel, each linked to its page and its leads."""
    _require(request.user, ChannelRoiView.allowed_roles)
    channel = get_object_or_404(Channel, code=code)
    form = _bind(RoiForm, request)
    context: dict[str, Any] = {
        **_roi_context(request, form),
        "channel": channel,
        "dashboard_url": reverse("reports:index") + _query(request),
    }
    tables: list[Table] = []
    if form.is_valid():
        period = form.period
        keys = _page_keys(form, channel.code)
        answer = _page_answer(request, keys)
        if answer.job is not None:
            title = _("Channel: %(channel)s") % {"channel": channel}
            return _job_page(request, answer.job, context, title=title, tab="index")
        roi, funnel, trend = (answer.reports[key] for key in keys)
        context["snapshot"] = _snapshot_context(request, form, answer, channel.code)
        span = {
            "created_after": period["start"].isoformat(),
            "created_before": period["end"].isoformat(),
        }
        links = []
        for row in roi["rows"]:
            item = {"leads": _lead_list_url({"campaign": row["campaign"], **span})}
            campaign_url = url_or_none("campaigns:detail", row["campaign"])
            if campaign_url:
                item["campaign_name"] = campaign_url
            links.append(item)
        tables = [
            Table(
                name="campaigns",
                title=_("Campaigns of %(channel)s") % {"channel": channel},
                columns=[Column("campaign_name", _("Campaign")), *_figure_columns()],
                rows=roi["rows"],
                totals={**roi["totals"], "campaign_name": _("Total")},
                links=links,
            ),
            _trend_table(trend),
        ]
        top = roi["rows"][:12]
        context.update(
            {
                "kpis": _kpis(roi["totals"]),
                "funnel_chart": _funnel_chart(funnel),
                "campaign_charts": _roi_charts(top, "campaign_name"),
                "more_campaigns": max(0, len(roi["rows"]) - len(top)),
                "trend_charts": _trend_charts(trend),
                "channel_leads_url": _lead_list_url({"channel": channel.pk, **span}),
            }
        )
    return _respond(
        request, "reports/channel_detail.html", context, form=form, tables=tables, tab="index"
    )


# --------------------------------------------------------------------------------------
# Marketing–sales scoreboard
# --------------------------------------------------------------------------------------


def _rep_ids_visible(user) -> set[int] | None:
    """Whose per-rep rows this user sees (``None`` = everyone's), like the compliance API
    (``assignment.selectors.rep_ids_visible_to``); a reader who is neither a manager, the
    desk nor a sales manager (a marketer) sees no rep's rows."""
    if not has_role(user, *REP_ROW_READERS):
        return set()
    return rep_ids_visible_to(user)


def _names(user_ids: list[int]) -> dict[int, str]:
    """Display names of these users, in one query."""
    return {u.pk: display_name(u) for u in get_user_model().objects.filter(pk__in=user_ids)}


def _rep_charts(rows: list[dict[str, Any]]) -> dict[str, str]:
    if not rows:
        return {}
    ordered = sorted(rows, key=lambda r: (r["compliance"] is None, -(r["compliance"] or 0)))
    names = [r["name"] for r in ordered]
    return {
        "compliance": charts.diverging_chart(
            names,
            [r["compliance"] for r in ordered],
            label=_("First responses in time per rep"),
            empty_message=_("No rep had a response due."),
            scale_to=1.0,
        ),
        "win_rate": charts.diverging_chart(
            names,
            [r["win_rate"] for r in ordered],
            label=_("Win rate per rep"),
            empty_message=_("No deal was closed."),
            scale_to=1.0,
        ),
    }


def _verdict(value: float | None) -> str:
    if value is None:
        return "none"
    return "good" if value >= TARGET else "bad"


def _headline(acceptance: float | None, in_time: float | None) -> str:
    marketing, sales = _verdict(acceptance), _verdict(in_time)
    if "none" in (marketing, sales):
        return _("Not enough decided leads in this period to compare the two sides.")
    if marketing == "good" and sales == "bad":
        return _("Sales accept the leads but answer too late: follow-up is the gap.")
    if marketing == "bad" and sales == "good":
        return _("Sales answer in time but turn many leads down: lead quality is the gap.")
    if marketing == "good":
        return _("Both sides are on target.")
    return _("Both sides are below target: lead quality and follow-up.")


def _quality_table(quality: dict[str, Any], reasons: dict[str, Any], names) -> Table:
    top: dict[str, list[str]] = {}
    for item in reasons["rejected"]:
        source = item["source"] or ""
        if len(top.setdefault(source, [])) < 3:
            top[source].append(f"{item['reason_label'] or item['reason']} ({item['count']})")
    rows = []
    for row in sorted(quality["rows"], key=lambda r: -r["leads"]):
        rows.append(
            {
                **row,
                "channel_name": names.get(row["channel"], row["channel"]),
                **{f"grade_{g or 'none'}": row["grades"][g] for g in row["grades"]},
                "top_reasons": "; ".join(top.get(row["channel"] or "", [])),
            }
        )
    totals = quality["totals"]
    return Table(
        name="quality",
        title=_("Lead quality per channel"),
        columns=[
            Column("channel_name", _("Channel")),
            Column("leads", _("Leads"), "count"),
            Column("grade_A", _("Grade A"), "count"),
            Column("grade_B", _("Grade B"), "count"),
            Column("grade_C", _("Grade C"), "count"),
            Column("grade_D", _("Grade D"), "count"),
            Column("grade_none", _("No grade"), "count"),
            Column("mqls", _("MQLs"), "count"),
            Column("qualification_rate", _("Desk qualification rate"), "pct"),
            Column("accepted", _("Accepted by sales"), "count"),
            Column("rejected", _("Rejected by sales"), "count"),
            Column("acceptance_rate", _("Sales acceptance"), "pct"),
            Column("top_reasons", _("Top rejection reasons"), "note"),
        ],
        rows=rows,
        totals={
            **totals,
            "channel_name": _("Total"),
            **{f"grade_{g or 'none'}": totals["grades"][g] for g in totals["grades"]},
            "top_reasons": "",
        },
    )


@login_required
def scoreboard(request: HttpRequest) -> HttpResponse:
    """Channel lead quality beside sales follow-up for the same period, each side with a
    one-line verdict: settles "your leads are bad" against "you don't follow up"."""
    user = request.user
    _require(user, ChannelRoiView.allowed_roles)
    form = _bind(PeriodForm, request)
    context: dict[str, Any] = {
        "form": form,
        "presets": _presets(request, form),
        "target_text": charts.percent(TARGET, 0),
    }
    tables: list[Table] = []
    if form.is_valid():
        period = form.period
        start, end = period["start"], period["end"]
        names = _channel_names()
        quality = channel_quality(**period)
        reasons = bounce_reasons(by="channel", **period)
        follow_up = sales_follow_up(start=start, end=end)
        sales, routing = follow_up["totals"], follow_up["routing"]
        visible = _rep_ids_visible(user)
        totals = quality["totals"]
        shown = [r for r in follow_up["rows"] if visible is None or r["user"] in visible]
        people = _names([r["user"] for r in shown])
        shown = [{**r, "name": people.get(r["user"], r["username"])} for r in shown]
        rep_table = Table(
            name="reps",
            title=_("Follow-up per rep"),
            columns=[
                Column("name", _("Rep")),
                Column("assigned", _("Assigned"), "count"),
                Column("due", _("Response due"), "count"),
                Column("in_time", _("In time"), "count"),
                Column("compliance", _("SLA compliance"), "pct"),
                Column("median_response_hours", _("Response p50"), "hours"),
                Column("p95_response_hours", _("Response p95"), "hours"),
                Column("overdue_now", _("Overdue now"), "count"),
                Column("wasted", _("Wasted leads"), "count"),
                Column("won", _("Won"), "count"),
                Column("lost", _("Lost"), "count"),
                Column("win_rate", _("Win rate"), "pct"),
                Column("revenue", _("Revenue"), "money"),
            ],
            rows=shown,
        )
        tables = [_quality_table(quality, reasons, names), rep_table]
        ordered = sorted(quality["rows"], key=lambda r: -r["leads"])
        context.update(
            {
                "marketing": {
                    "verdict": _verdict(totals["acceptance_rate"]),
                    "verdict_text": _("Acceptance of marketing's MQLs: %(rate)s")
                    % {"rate": charts.percent(totals["acceptance_rate"])},
                    "figures": [
                        (_("Leads"), fmt(totals["leads"], "count")),
                        (_("MQLs"), fmt(totals["mqls"], "count")),
                        (_("Desk qualification rate"), fmt(totals["qualification_rate"], "pct")),
                        (
                            _("Accepted / rejected by sales"),
                            f"{fmt(totals['accepted'], 'count')} / "
                            f"{fmt(totals['rejected'], 'count')}",
                        ),
                        (
                            _("Time to assign p50 / p95"),
                            f"{fmt(routing['median'], 'hours')} / {fmt(routing['p95'], 'hours')}",
                        ),
                    ],
                },
                "sales": {
                    "verdict": _verdict(sales["compliance"]),
                    "verdict_text": _("First responses in time: %(rate)s")
                    % {"rate": charts.percent(sales["compliance"])},
                    "figures": [
                        (
                            _("Responses due / in time"),
                            f"{fmt(sales['due'], 'count')} / {fmt(sales['in_time'], 'count')}",
                        ),
                        (
                            _("Response time p50 / p95"),
                            f"{fmt(sales['p50_response_hours'], 'hours')} / "
                            f"{fmt(sales['p95_response_hours'], 'hours')}",
                        ),
                        (_("Overdue now"), fmt(sales["overdue_now"], "count")),
                        (_("Wasted leads"), fmt(sales["wasted"], "count")),
                        (_("Win rate"), fmt(sales["win_rate"], "pct")),
                        (_("Revenue signed"), fmt(sales["revenue"], "money")),
                    ],
                },
                "headline": _headline(totals["acceptance_rate"], sales["compliance"]),
                "reps_hidden": visible is not None and not visible,
                "rep_charts": _rep_charts(shown),
                "grade_chart": charts.share_chart(
                    [names.get(r["channel"], r["channel"]) for r in ordered],
                    [
                        Series(
                            _("Grade %(grade)s") % {"grade": g} if g else _("No grade"),
                            [r["grades"][g] for r in ordered],
                            GRADE_COLORS[g],
                        )
                        for g in ("A", "B", "C", "D", "")
                    ],
                    label=_("Grade mix per channel"),
                    empty_message=_("No leads in this period."),
                ),
                "acceptance_chart": charts.diverging_chart(
                    [names.get(r["channel"], r["channel"]) for r in ordered],
                    [r["acceptance_rate"] for r in ordered],
                    label=_("Sales acceptance per channel"),
                    empty_message=_("No leads in this period."),
                    scale_to=1.0,
                ),
            }
        )
    return _respond(
        request, "reports/scoreboard.html", context, form=form, tables=tables, tab="scoreboard"
    )


# --------------------------------------------------------------------------------------
# Scorecards
# --------------------------------------------------------------------------------------

#: Per role: (metric key, label, kind, which way is better; None = neutral, "now" = a
#: current count with nothing to compare).
SCORECARD_METRICS: dict[str, list[tuple[str, Any, str, str | None]]] = {
    Role.MARKETER: [
        ("leads", gettext_lazy("Leads"), "count", "up"),
        ("mqls", gettext_lazy("MQLs"), "count", "up"),
        ("cost", gettext_lazy("Cost"), "money", None),
        ("cost_per_mql", gettext_lazy("Cost per MQL"), "unit_money", "down"),
        ("sql_acceptance", gettext_lazy("Sales acceptance"), "pct", "up"),
    ],
    Role.LEAD_DESK: [
        ("qualified", gettext_lazy("Qualified"), "count", "up"),
        ("disqualified", gettext_lazy("Disqualified"), "count", None),
        ("median_hours_to_qualify", gettext_lazy("Time to qualify (median)"), "hours", "down"),
        ("median_hours_to_assign", gettext_lazy("Time to assign (median)"), "hours", "down"),
        ("acceptance", gettext_lazy("Sales acceptance"), "pct", "up"),
    ],
    Role.SALES_REP: [
        ("assigned", gettext_lazy("Assigned"), "count", None),
        ("compliance", gettext_lazy("First responses in time"), "pct", "up"),
        ("median_response_hours", gettext_lazy("Response time (median)"), "hours", "down"),
        ("overdue_now", gettext_lazy("Overdue now"), "count", "now"),
        ("wasted", gettext_lazy("Wasted leads"), "count", "down"),
        ("won", gettext_lazy("Won"), "count", "up"),
        ("win_rate", gettext_lazy("Win rate"), "pct", "up"),
        ("revenue", gettext_lazy("Revenue"), "money", "up"),
    ],
}


def change(current: Any, previous: Any, kind: str, better: str | None) -> dict[str, str]:
    """The ▲/▼ indicator of one metric against the previous period."""
    if better == "now" or current is None or previous is None:
        return {"arrow": "", "text": "", "tone": ""}
    diff = float(current) - float(previous)
    if abs(diff) < 1e-9:
        return {"arrow": "＝", "text": _("no change"), "tone": "flat"}
    arrow = "▲" if diff > 0 else "▼"
    if kind == "pct":
        text = _("%(n)s pp") % {"n": grouped(abs(diff) * 100, 1)}
    else:
        text = fmt(abs(diff), kind)
    tone = "flat" if better is None else ("good" if (diff > 0) == (better == "up") else "bad")
    return {"arrow": arrow, "text": text, "tone": tone}


@login_required
def scorecards_page(request: HttpRequest) -> HttpResponse:
    """绩效考核: a card per person and role, the previous period beside each figure."""
    user = request.user
    _require(user, ScorecardsView.allowed_roles)
    form = _bind(ScorecardForm, request)
    context: dict[str, Any] = {
        "form": form,
        "presets": _presets(request, form),
        "sees_all": has_role(user, Role.MANAGER),
    }
    tables: list[Table] = []
    if form.is_valid():
        data = form.cleaned_data
        report = scorecards(
            start=data["from"],
            end=data["to"],
            role=data["role"],
            user_ids=scorecard_user_ids(user),
        )
        groups: dict[str, dict[str, Any]] = {}
        export = []
        people = _names([card["user"] for card in report["cards"]])
        for card in report["cards"]:
            role = card["role"]
            metrics = []
            for key, label, kind, better in SCORECARD_METRICS[role]:
                now, before = card["metrics"].get(key), card["previous"].get(key)
                metrics.append(
                    {
                        "label": label,
                        "value": fmt(now, kind),
                        "previous": "" if better == "now" else fmt(before, kind),
                        "change": change(now, before, kind, better),
                    }
                )
                export.append(
                    {
                        "role": Role(role).label,
                        "username": card["username"],
                        "name": people.get(card["user"], card["username"]),
                        "metric": label,
                        "kind": kind,
                        "current": now,
                        "previous": None if better == "now" else before,
                    }
                )
            group = groups.setdefault(role, {"label": Role(role).label, "cards": []})
            group["cards"].append(
                {
                    "username": card["username"],
                    "name": people.get(card["user"], card["username"]),
                    "is_me": card["user"] == user.pk,
                    "metrics": metrics,
                }
            )
        # One export row per metric: its kind decides how both values are written.
        tables = [
            Table(
                name="scorecards",
                title=_("Scorecards"),
                columns=[
                    Column("role", _("Role")),
                    Column("name", _("Person")),
                    Column("metric", _("Metric")),
                    Column("current_text", _("This period")),
                    Column("previous_text", _("Previous period")),
                ],
                rows=[
                    {
                        **row,
                        "current_text": export_cell(row["current"], row["kind"]),
                        "previous_text": export_cell(row["previous"], row["kind"]),
                    }
                    for row in export
                ],
            )
        ]
        context.update(
            {
                "groups": list(groups.values()),
                "previous_from": report["previous_from"],
                "previous_to": report["previous_to"],
            }
        )
    return _respond(
        request, "reports/scorecards.html", context, form=form, tables=tables, tab="scorecards"
    )


# --------------------------------------------------------------------------------------
# Grade calibration
# --------------------------------------------------------------------------------------


def _warning_text(warning: dict[str, Any]) -> str:
    metric = _("acceptance") if warning["metric"] == "acceptance_rate" else _("lead → won")
    return _(
        "Grade %(grade)s converts worse than grade %(below)s: %(metric)s %(value)s vs %(other)s"
    ) % {
        "grade": warning["grade"],
        "below": warning["below"],
        "metric": metric,
        "value": charts.percent(warning["value"]),
        "other": charts.percent(warning["below_value"]),
    }


def _reason_table(name, title, items, labels, source_label, names) -> Table:
    """A source × reason pivot of ``bounce_reasons`` items, largest sources first."""
    codes = [code for code in labels if any(i["reason"] == code for i in items)]
    codes += sorted({i["reason"] for i in items} - set(codes))
    pivot: dict[str, dict[str, Any]] = {}
    for item in items:
        source = item["source"] or ""
        row = pivot.setdefault(
            source, {"source": names.get(source, source) if names else source or _("No campaign")}
        )
        row[item["reason"]] = row.get(item["reason"], 0) + item["count"]
        row["total"] = row.get("total", 0) + item["count"]
    rows = sorted(pivot.values(), key=lambda r: -r["total"])
    for row in rows:
        for code in codes:
            row.setdefault(code, 0)
    totals = {"source": _("Total"), "total": sum(r["total"] for r in rows)}
    for code in codes:
        totals[code] = sum(r[code] for r in rows)
    return Table(
        name=name,
        title=title,
        columns=[
            Column("source", source_label),
            *[Column(code, labels.get(code, code), "count") for code in codes],
            Column("total", _("Total"), "count"),
        ],
        rows=rows,
        totals=totals if rows else None,
    )


@login_required
def grade_calibration_page(request: HttpRequest) -> HttpResponse:
    """Per grade: acceptance, win rate, revenue and speed, with a warning wherever a grade
    converts worse than the grade below it; why leads bounce, by channel or campaign."""
    _require(request.user, GradeCalibrationView.allowed_roles)
    form = _bind(CalibrationForm, request)
    context: dict[str, Any] = {"form": form, "presets": _presets(request, form)}
    tables: list[Table] = []
    if form.is_valid():
        period, by = form.period, form.cleaned_data["by"]
        report = grade_calibration(**period)
        reasons = bounce_reasons(by=by, **period)
        names = _channel_names() if by == "channel" else None
        source_label = _("Channel") if by == "channel" else _("Campaign")
        tables = [
            Table(
                name="grades",
                title=_("Per grade"),
                columns=[
                    Column("grade", _("Grade")),
                    Column("leads", _("Leads"), "count"),
                    Column("mqls", _("MQLs"), "count"),
                    Column("accepted", _("Accepted"), "count"),
                    Column("rejected", _("Rejected"), "count"),
                    Column("acceptance_rate", _("Acceptance rate"), "pct"),
                    Column("won", _("Won"), "count"),
                    Column("win_rate", _("Win rate"), "pct"),
                    Column("lead_to_won", _("Lead → won"), "pct"),
                    Column("revenue", _("Revenue"), "money"),
                    Column("median_days_to_sql", _("Median days to SQL"), "days"),
                    Column("median_days_to_won", _("Median days to won"), "days"),
                ],
                rows=report["rows"],
            ),
            _reason_table(
                "rejected",
                _("Rejected by sales"),
                reasons["rejected"],
                {k: str(v) for k, v in RejectReason.choices},
                source_label,
                names,
            ),
            _reason_table(
                "disqualified",
                _("Disqualified by the desk"),
                reasons["disqualified"],
                {k: str(v) for k, v in DisqualifyReason.choices},
                source_label,
                names,
            ),
        ]
        flagged = {w["grade"] for w in report["warnings"]}
        context.update(
            {
                "by": by,
                "by_links": [
                    {"label": label, "url": _query(request, by=code), "active": by == code}
                    for code, label in (
                        ("channel", _("By channel")),
                        ("campaign", _("By campaign")),
                    )
                ],
                "warnings": [_warning_text(w) for w in report["warnings"]],
                "flagged": flagged,
                "acceptance_chart": charts.bar_chart(
                    [_("Grade %(grade)s") % {"grade": r["grade"]} for r in report["rows"]],
                    [
                        Series(
                            _("Acceptance rate"),
                            [r["acceptance_rate"] for r in report["rows"]],
                            COLORS["sqls"],
                        ),
                        Series(
                            _("Lead → won"),
                            [r["lead_to_won"] for r in report["rows"]],
                            COLORS["won"],
                        ),
                    ],
                    label=_("Acceptance and lead → won per grade"),
                    empty_message=_("No graded leads in this period."),
                    value_format=charts.percent,
                    height=220,
                ),
                "days_chart": charts.bar_chart(
                    [_("Grade %(grade)s") % {"grade": r["grade"]} for r in report["rows"]],
                    [
                        Series(
                            _("Median days to SQL"),
                            [r["median_days_to_sql"] for r in report["rows"]],
                            COLORS["sqls"],
                        ),
                        Series(
                            _("Median days to won"),
                            [r["median_days_to_won"] for r in report["rows"]],
                            COLORS["won"],
                        ),
                    ],
                    label=_("Median days to SQL and to won per grade"),
                    empty_message=_("No graded leads in this period."),
                    value_format=lambda v: fmt(v, "days"),
                    height=220,
                ),
            }
        )
    return _respond(
        request,
        "reports/grade_calibration.html",
        context,
        form=form,
        tables=tables,
        tab="grade_calibration",
    )
