"""The parts of the ROI pages (the dashboard and a channel's drill-down): figure columns,
KPI tiles, the attribution-model switch, the funnel, trend and ROI charts."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leads.credits import MODELS
from reports import charts
from reports.definitions import DEFINITIONS
from reports.exports import Column, Table
from reports.forms.reports import MODEL_HELP, MODEL_LABELS, RoiForm
from reports.views.common import (
    cost_and_revenue,
    fmt,
    month_label,
    preset_links,
    query_string,
    series,
)

#: The figures of the ROI tables: (key, label, kind, short header, secondary). The key
#: ones (cost, leads, the stages, revenue, CPL, CAC, ROI) fit 1366 px; the per-stage costs
#: and rates show with "All columns".
ROI_FIGURES: list[tuple[str, Any, str, Any, bool]] = [
    ("cost", gettext_lazy("Cost"), "money", "", False),
    ("leads", gettext_lazy("Leads"), "count", "", False),
    ("mqls", gettext_lazy("MQLs"), "count", "", False),
    ("sqls", gettext_lazy("SQLs"), "count", "", False),
    ("opportunities", gettext_lazy("Opportunities"), "count", gettext_lazy("Opp."), False),
    ("won", gettext_lazy("Won"), "count", "", False),
    ("revenue", gettext_lazy("Revenue"), "money", "", False),
    ("cpl", gettext_lazy("Cost per lead"), "unit_money", gettext_lazy("CPL"), False),
    ("cost_per_mql", gettext_lazy("Cost per MQL"), "unit_money", "", True),
    ("cost_per_sql", gettext_lazy("Cost per SQL"), "unit_money", "", True),
    ("cac", gettext_lazy("Cost per won deal"), "unit_money", gettext_lazy("CAC"), False),
    ("mql_rate", gettext_lazy("MQL rate"), "pct", "", True),
    ("sql_rate", gettext_lazy("SQL rate"), "pct", "", True),
    ("win_rate", gettext_lazy("Win rate"), "pct", "", True),
    ("roi", gettext_lazy("ROI"), "roi", "", False),
]


def figure_columns() -> list[Column]:
    return [
        Column(key, label, kind, short=short, secondary=secondary)
        for key, label, kind, short, secondary in ROI_FIGURES
    ]


def kpis(
    totals: dict[str, Any],
    *,
    weighted: bool = False,
    links: dict[str, str] | None = None,
    link_title: str = "",
) -> list[dict[str, Any]]:
    """The tiles: each figure of the totals with a small note under it and its definition
    (``reports.definitions``) behind a disclosure. ``weighted``: the totals are one
    channel's credit-weighted sums (its page), not the whole cohort's. ``links``: the
    lead list behind each count (``reports.views.drill.row_links``)."""
    counted = "credit_weighted" if weighted else "funnel_counts"
    links = links or {}

    def tile(key, label, kind, note="", definition=""):
        value = totals.get(key)
        text = fmt(value, kind)
        return {
            "key": key,
            "label": label,
            "value": text,
            "long": len(text) > 9,  # seven digits and cents: a smaller font, not "…"
            "url": links.get(key, ""),
            "url_title": link_title,
            "note": note,
            "definition": DEFINITIONS[definition] if definition else None,
            "tone": ("pos" if value and value > 0 else "neg" if value and value < 0 else "")
            if kind == "roi"
            else "",
        }

    def rate(key):
        return _("%(rate)s of the step before") % {"rate": charts.percent(totals.get(key))}

    return [
        tile("cost", _("Cost"), "money", _("Campaign costs dated in the period"), "cost"),
        tile(
            "leads",
            _("Leads"),
            "count",
            _("Created in the period"),
            "credit_weighted" if weighted else "cohort",
        ),
        tile("mqls", _("MQLs"), "count", rate("mql_rate"), counted),
        tile("sqls", _("SQLs"), "count", rate("sql_rate"), counted),
        tile("won", _("Won"), "count", rate("win_rate"), counted),
        tile(
            "revenue",
            _("Revenue"),
            "money",
            _("Deals won by these leads"),
            "credit_weighted" if weighted else "cohort_revenue",
        ),
        tile("cpl", _("CPL"), "unit_money", _("Cost per lead"), "unit_cost"),
        tile("cac", _("CAC"), "unit_money", _("Cost per won deal"), "unit_cost"),
        tile("roi", _("ROI"), "roi", _("(Revenue − cost) / cost"), "cohort_rates"),
    ]


def why_differ(
    *, cohort: dict[str, Any], closed: dict[str, Any], model_label: Any = ""
) -> dict[str, Any]:
    """The "Why do these differ?" section of the dashboard and the scoreboard: the
    cohort's figures beside the same names counted over the deals closed in the period
    (``reports.selectors.closed_in_period`` or the scoreboard's sales totals), each side
    with its definition, and why channel counts and times differ between pages."""
    cohort_term, closed_term = DEFINITIONS["cohort_revenue"], DEFINITIONS["signed_revenue"]
    pairs = [
        {
            "key": "revenue",
            "title": _("Revenue"),
            "cohort": fmt(cohort.get("revenue"), "money"),
            "closed": fmt(closed.get("revenue"), "money"),
            "cohort_term": cohort_term,
            "closed_term": closed_term,
        },
        {
            "key": "won",
            "title": _("Won deals"),
            "cohort": fmt(cohort.get("won"), "count"),
            "closed": fmt(closed.get("won"), "count"),
            "cohort_term": DEFINITIONS["funnel_counts"],
            "closed_term": DEFINITIONS["closed_in_period"],
        },
        {
            "key": "win_rate",
            "title": _("Win rate"),
            "cohort": fmt(cohort.get("win_rate"), "pct"),
            "closed": fmt(closed.get("win_rate"), "pct"),
            "cohort_term": DEFINITIONS["cohort_rates"],
            "closed_term": DEFINITIONS["closed_in_period"],
        },
    ]
    return {
        "pairs": pairs,
        "model_label": model_label,
        "terms": [
            DEFINITIONS[key]
            for key in ("credit_weighted", "lead_counts", "response_time", "desk_speed")
        ],
    }


def _model_switch(request: HttpRequest, current: str) -> list[dict[str, Any]]:
    return [
        {
            "code": model,
            "label": MODEL_LABELS[model],
            "help": MODEL_HELP[model],
            "url": query_string(request, model=model),
            "active": model == current,
        }
        for model in MODELS
    ]


def roi_context(request: HttpRequest, form: RoiForm) -> dict[str, Any]:
    """Filters of the ROI pages; the model switch shows even when the filters are wrong."""
    model = form.cleaned_data["model"] if form.is_valid() else request.GET.get("model", "")
    return {
        "form": form,
        "presets": preset_links(request, form),
        "models": _model_switch(request, model if model in MODELS else "first_touch"),
        "model_label": MODEL_LABELS[model] if form.is_valid() else "",
    }


def funnel_chart(funnel: dict[str, Any]) -> str:
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


def trend_charts(trend: list[dict[str, Any]]) -> dict[str, str]:
    months = [month_label(row["month"]) for row in trend]
    volume = charts.line_chart(
        months,
        series(
            trend,
            (_("Leads"), "leads", "leads"),
            (_("MQLs"), "mqls", "mqls"),
            (_("Won"), "won", "won"),
        ),
        label=_("Leads, MQLs and won deals per month"),
        empty_message=_("No months in this period."),
    )
    money = charts.bar_chart(
        months,
        cost_and_revenue(trend),
        label=_("Cost and revenue per month"),
        empty_message=_("No months in this period."),
    )
    return {"volume": volume, "money": money}


def trend_table(trend: list[dict[str, Any]]) -> Table:
    return Table(
        name="months",
        title=_("Per month"),
        columns=[
            Column("month", _("Month"), "month"),
            Column("leads", _("Leads"), "count"),
            Column("mqls", _("MQLs"), "count"),
            Column("sqls", _("SQLs"), "count"),
            Column("won", _("Won"), "count"),
            Column("revenue", _("Revenue"), "money"),
            Column("cost", _("Cost"), "money"),
        ],
        rows=trend,
        definitions=("cohort", "cohort_revenue", "cost"),
    )


def roi_charts(rows: list[dict[str, Any]], name_key: str) -> dict[str, str]:
    names = [str(row[name_key]) for row in rows]
    return {
        "money": charts.hbar_chart(
            names,
            cost_and_revenue(rows),
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
