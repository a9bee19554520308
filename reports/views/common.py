"""What every report page shares: access, the filter form on the query string, the
quick periods, formatting (``fmt``), tables laid out for the template, the report tabs,
rendering or exporting a page, and the small chart helpers the pages have in common."""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from campaigns.models import Channel
from pipeline.pages import form_error_messages
from pipeline.people import display_name
from pipeline.roles import FORECAST_READERS, REPORT_READERS, SCORECARD_READERS, has_role
from reports import charts
from reports.charts import COLORS, Series, grouped
from reports.definitions import DEFINITIONS
from reports.exports import Table, column_kind, export_response, pick_table, requested_export
from reports.forms.reports import PeriodForm
from reports.periods import default_period, period_presets


def require(user, roles) -> None:
    if not has_role(user, *roles):
        raise PermissionDenied(_("You are not allowed to read this report."))


def bind_form(form_class: type[PeriodForm], request: HttpRequest) -> PeriodForm:
    """The page's filter form on the query string; without dates, the last 90 days.

    On success the effective period is written back, so the date inputs show it.
    """
    data = request.GET.copy()
    if not data.get("from") and not data.get("to"):
        start, end = default_period(None, None)
        data["from"], data["to"] = start.isoformat(), end.isoformat()
    form = form_class(data)
    if form.is_valid():
        data["from"] = form.cleaned_data["from"].isoformat()
        data["to"] = form.cleaned_data["to"].isoformat()
    return form


def query_string(request: HttpRequest, **changes: Any) -> str:
    """The current query string with ``changes`` (``None`` removes a key), no export."""
    params = request.GET.copy()
    for key in ("export", "table", "job", *changes):
        params.pop(key, None)
    for key, value in changes.items():
        if value is not None:
            params[key] = value
    return "?" + params.urlencode()


def preset_links(request: HttpRequest, form: PeriodForm) -> list[dict[str, Any]]:
    current = (
        (form.cleaned_data["from"], form.cleaned_data["to"]) if form.is_valid() else (None, None)
    )
    return [
        {
            "label": label,
            "url": query_string(request, **{"from": start.isoformat(), "to": end.isoformat()}),
            "active": current == (start, end),
        }
        for label, start, end in period_presets(timezone.localdate())
    ]


#: Currencies whose amounts are written without decimals (ISO 4217 minor unit 0); every
#: other one with two, as money is stored (DESIGN: ``CURRENCY``).
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "PYG"})


def money_places() -> int:
    """How many decimals amounts of the configured currency are written with."""
    return 0 if settings.CURRENCY in ZERO_DECIMAL_CURRENCIES else 2


def fmt(value: Any, kind: str) -> str:
    """A value as shown on the page; undefined (``None``) is "—"."""
    if value is None:
        return "—"
    if kind == "count":
        number = float(value)
        if number.is_integer():
            return grouped(int(number), 0)
        return grouped(number, 1)
    if kind in ("money", "unit_money"):
        return grouped(value, money_places())
    if kind == "pct":
        return charts.percent(value)
    if kind == "roi":
        text = charts.percent(abs(value))
        return f"+{text}" if value > 0 else (f"−{text}" if value < 0 else text)
    if kind == "hours":
        return _("%(n)s h") % {"n": grouped(float(value), 1)}
    if kind == "days":
        return _("%(n)s d") % {"n": grouped(float(value), 1)}
    if kind == "month":
        return month_label(value)
    return str(value)


def month_label(month: Any) -> str:
    """A month in the page's date style: "2026-12" in English, "2026年12月" in Chinese."""
    return formats.date_format(month, "YEAR_MONTH_FORMAT")


NUMERIC = frozenset({"count", "money", "unit_money", "pct", "roi", "hours", "days"})


def present(table: Table) -> dict[str, Any]:
    """A ``Table`` laid out for the template: header cells, row cells with links, totals."""

    def cells(row: dict[str, Any], links: dict[str, str]) -> list[dict[str, Any]]:
        out = []
        for column in table.columns:
            value = row.get(column.key)
            kind = column_kind(column, row)
            css = "num" if kind in NUMERIC else kind
            if kind == "roi" and value is not None:
                css += " pos" if value > 0 else (" neg" if value < 0 else "")
            if column.secondary:
                css += " secondary"
            out.append(
                {
                    "text": fmt(value, kind),
                    "url": links.get(column.key, ""),
                    "title": table.link_title if kind == "count" else "",
                    "css": css.strip(),
                }
            )
        return out

    rows = list(table.rows)
    links = table.links or [{} for _ in rows]
    sorted_by = table.sort.lstrip("-")
    return {
        "name": table.name,
        "title": table.title,
        "count": len(rows) if table.count is None else table.count,
        "columns": [
            {
                "label": c.label,
                "short": c.short,
                "css": (
                    ("num" if c.kind in NUMERIC | {"row"} else c.kind)
                    + (" secondary" if c.secondary else "")
                ).strip(),
                "sort_url": table.sort_urls.get(c.key, ""),
                "sorted": (
                    ("descending" if table.sort.startswith("-") else "ascending")
                    if c.key == sorted_by
                    else ""
                ),
            }
            for c in table.columns
        ],
        "has_secondary": any(c.secondary for c in table.columns),
        "rows": [cells(row, link) for row, link in zip(rows, links, strict=False)],
        "totals": cells(table.totals, table.totals_links) if table.totals is not None else None,
        "definitions": [DEFINITIONS[key] for key in table.definitions],
    }


def report_tabs(request: HttpRequest, active: str) -> list[dict[str, Any]]:
    """The report pages this user may open, carrying the period and kind across."""
    user = request.user
    keep = {k: request.GET[k] for k in ("from", "to", "channel_kind") if request.GET.get(k)}
    query = ("?" + urlencode(keep)) if keep else ""
    tabs = [
        ("index", _("Dashboard"), REPORT_READERS),
        ("scoreboard", _("Marketing–sales scoreboard"), REPORT_READERS),
        ("scorecards", _("Scorecards"), SCORECARD_READERS),
        ("grade_calibration", _("Grade calibration"), REPORT_READERS),
        ("forecast", _("Forecast"), FORECAST_READERS),
    ]
    return [
        {"label": label, "url": reverse(f"reports:{name}") + query, "active": name == active}
        for name, label, roles in tabs
        if has_role(user, *roles)
    ]


def respond(
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
    context["report_tabs"] = report_tabs(request, tab)
    context["tables"] = {table.name: present(table) for table in tables}
    status = 400 if file_format and form.errors else 200
    return render(request, template, context, status=status)


def _stem(form: PeriodForm) -> str:
    data = form.cleaned_data
    return f"{data['from'].isoformat()}_{data['to'].isoformat()}"


def channel_names() -> dict[str | None, str]:
    names: dict[str | None, str] = {c.code: str(c) for c in Channel.objects.all()}
    names[None] = _("No campaign")
    names[""] = _("No campaign")
    return names


def display_names(user_ids: list[int]) -> dict[int, str]:
    """Display names of these users, in one query."""
    return {u.pk: display_name(u) for u in get_user_model().objects.filter(pk__in=user_ids)}


def money_float(value) -> float:
    return float(value or 0)


# --------------------------------------------------------------------------------------
# Charts: the series and the share charts every page draws alike
# --------------------------------------------------------------------------------------

#: One series of a chart over table rows: (name, a row key or a function of the row,
#: a ``reports.charts.COLORS`` key).
SeriesSpec = tuple[str, str | Callable[[dict[str, Any]], Any], str]


def series(rows: list[dict[str, Any]], *specs: SeriesSpec) -> list[Series]:
    """The series of a chart drawn over ``rows``: one per spec, one value per row."""
    out = []
    for name, value, color in specs:
        get = value if callable(value) else itemgetter(value)
        out.append(Series(name, [get(row) for row in rows], COLORS[color]))
    return out


def cost_and_revenue(rows: list[dict[str, Any]]) -> list[Series]:
    """Cost and revenue of each row, in their colours (the ROI and trend charts)."""
    return series(
        rows,
        (_("Cost"), lambda row: money_float(row["cost"]), "cost"),
        (_("Revenue"), lambda row: money_float(row["revenue"]), "revenue"),
    )


def rate_chart(names: list[str], rates: list[float | None], *, label: str, empty: str) -> str:
    """One bar per name for a share between 0 and 1 (compliance, win rate, acceptance),
    on the same 0–100 % scale whatever the largest value."""
    return charts.diverging_chart(names, rates, label=label, empty_message=empty, scale_to=1.0)
