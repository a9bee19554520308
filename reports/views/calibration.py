"""Grade calibration: per grade acceptance, win rate, revenue and speed, and why leads
bounce, by channel or campaign."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from leads.choices import DisqualifyReason, RejectReason
from pipeline.db import reading_replica
from pipeline.roles import REPORT_READERS
from reports import charts
from reports.exports import Column, Table
from reports.forms.reports import CalibrationForm
from reports.quality import bounce_reasons, grade_calibration
from reports.views.common import (
    SeriesSpec,
    bind_form,
    channel_names,
    fmt,
    preset_links,
    query_string,
    require,
    respond,
    series,
)


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


def _reason_table(name, title, items, labels, source_label, names, definitions=()) -> Table:
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
        definitions=definitions,
    )


def _grade_chart(rows, *specs: SeriesSpec, label: str, value_format) -> str:
    """Bars per grade for two figures of the calibration table."""
    return charts.bar_chart(
        [_("Grade %(grade)s") % {"grade": r["grade"]} for r in rows],
        series(rows, *specs),
        label=label,
        empty_message=_("No graded leads in this period."),
        value_format=value_format,
        height=220,
    )


@login_required
@reading_replica()
def grade_calibration_page(request: HttpRequest) -> HttpResponse:
    """Per grade: acceptance, win rate, revenue and speed, with a warning wherever a grade
    converts worse than the grade below it; why leads bounce, by channel or campaign."""
    require(request.user, REPORT_READERS)
    form = bind_form(CalibrationForm, request)
    context: dict[str, Any] = {"form": form, "presets": preset_links(request, form)}
    tables: list[Table] = []
    if form.is_valid():
        period, by = form.period, form.cleaned_data["by"]
        report = grade_calibration(**period)
        reasons = bounce_reasons(by=by, **period)
        names = channel_names() if by == "channel" else None
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
                definitions=("cohort", "funnel_counts", "acceptance", "calendar_days"),
            ),
            _reason_table(
                "rejected",
                _("Rejected by sales"),
                reasons["rejected"],
                {k: str(v) for k, v in RejectReason.choices},
                source_label,
                names,
                ("acceptance",),
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
                    {"label": label, "url": query_string(request, by=code), "active": by == code}
                    for code, label in (
                        ("channel", _("By channel")),
                        ("campaign", _("By campaign")),
                    )
                ],
                "warnings": [_warning_text(w) for w in report["warnings"]],
                "flagged": flagged,
                "acceptance_chart": _grade_chart(
                    report["rows"],
                    (_("Acceptance rate"), "acceptance_rate", "sqls"),
                    (_("Lead → won"), "lead_to_won", "won"),
                    label=_("Acceptance and lead → won per grade"),
                    value_format=charts.percent,
                ),
                "days_chart": _grade_chart(
                    report["rows"],
                    (_("Median days to SQL"), "median_days_to_sql", "sqls"),
                    (_("Median days to won"), "median_days_to_won", "won"),
                    label=_("Median days to SQL and to won per grade"),
                    value_format=lambda v: fmt(v, "days"),
                ),
            }
        )
    return respond(
        request,
        "reports/grade_calibration.html",
        context,
        form=form,
        tables=tables,
        tab="grade_calibration",
    )
