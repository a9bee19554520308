"""Report tables, and their export to CSV and XLSX.

A page builds each of its tables once as a ``Table`` (columns with a kind, rows of raw
values); the template shows it formatted for reading, and ``?export=csv|xlsx`` (with
``&table=<name>`` when a page has several) downloads the same rows. Files reuse the lead
export helpers: CSV with a UTF-8 BOM and formulas neutralised, XLSX with text cells only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse

from leads.exports import csv_stream, xlsx_file

EXPORT_FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: How a column's values are written: counts, money, fractions shown as percentages…
#: ``note`` is free text that may wrap on the page; ``row``: each row's ``kind`` says
#: (a table of metrics of several kinds, such as the scorecards').
KINDS = ("text", "note", "count", "money", "unit_money", "pct", "roi", "hours", "days", "row")


@dataclass
class Column:
    """One column. On the page, ``short`` is the header (an abbreviation, with the label
    as its ``<abbr title>``); a ``secondary`` column is hidden until the reader asks for
    every column, so the key ones fit a 1366 px screen. Exports always have every column,
    headed by the label."""

    key: str
    label: Any
    kind: str = "text"
    short: Any = ""
    secondary: bool = False


@dataclass
class Table:
    """One report table: the page shows it, the export writes it."""

    name: str
    title: Any
    columns: list[Column]
    rows: Iterable[dict[str, Any]]
    totals: dict[str, Any] | None = None
    #: Per row, links for some cells on the page (``{column key: url}``); not exported.
    links: list[dict[str, str]] = field(default_factory=list)
    #: Links of the totals row (``{column key: url}``), and the title of every link.
    totals_links: dict[str, str] = field(default_factory=dict)
    link_title: Any = ""
    #: Keys of ``reports.definitions.DEFINITIONS`` that say what the figures count; shown
    #: on the page above the table, not exported.
    definitions: tuple[str, ...] = ()
    #: A paged table (the campaign ROI): the rows of the whole table (``rows`` is one
    #: page), the order it is shown in (``-roi``…) and the page's link per sortable
    #: column key; ``None``/empty for a table shown whole.
    count: int | None = None
    sort: str = ""
    sort_urls: dict[str, str] = field(default_factory=dict)


def export_cell(value: Any, kind: str) -> str:
    """A plain, locale-independent text for a spreadsheet cell; undefined → empty."""
    if value is None or value == "":
        return ""
    if kind in ("money", "unit_money"):
        return f"{Decimal(str(value)):.2f}"
    if kind in ("pct", "roi"):
        return f"{float(value) * 100:.1f}%"
    if kind in ("hours", "days"):
        return f"{float(value):g}"
    if kind == "count":
        number = float(value)
        return str(int(number)) if number.is_integer() else f"{number:.4f}".rstrip("0")
    if kind == "month":
        return f"{value:%Y-%m}"
    return str(value)


def column_kind(column: Column, row: dict[str, Any]) -> str:
    """The kind of one cell: the column's, or the row's for a ``row`` column."""
    return str(row.get("kind") or "text") if column.kind == "row" else column.kind


def export_rows(table: Table) -> Iterator[list[str]]:
    """Header, the rows, then the totals row (if any)."""
    yield [str(column.label) for column in table.columns]
    for row in table.rows:
        yield [export_cell(row.get(c.key), column_kind(c, row)) for c in table.columns]
    if table.totals is not None:
        totals = table.totals
        yield [export_cell(totals.get(c.key), column_kind(c, totals)) for c in table.columns]


def requested_export(request: HttpRequest) -> str | None:
    """``csv`` or ``xlsx`` when the query asks for a file, else ``None``."""
    value = request.GET.get("export", "")
    return value if value in EXPORT_FORMATS else None


def pick_table(request: HttpRequest, tables: list[Table]) -> Table | None:
    """The table named by ``?table=`` (the first one without it)."""
    if not tables:
        return None
    wanted = request.GET.get("table")
    if not wanted:
        return tables[0]
    return next((t for t in tables if t.name == wanted), None)


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "report"


def _sheet_title(table: Table) -> str:
    """Sheet names may not hold []:*?/\\ (Excel refuses the file otherwise)."""
    return re.sub(r"[\[\]:*?/\\]+", " ", str(table.title)).strip() or table.name


def export_response(table: Table, *, file_format: str, stem: str) -> HttpResponse:
    """The table as a CSV (streamed) or XLSX download named ``<stem>.<format>``."""
    filename = f"{_safe_name(stem)}.{file_format}"
    if file_format == "xlsx":
        return FileResponse(
            xlsx_file(export_rows(table), title=_sheet_title(table)),
            as_attachment=True,
            filename=filename,
            content_type=XLSX_TYPE,
        )
    response = StreamingHttpResponse(
        csv_stream(export_rows(table)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
