"""The figures of ``reports.metrics.figures`` as SQL expressions over a row of raw sums, so a
report can sort and page in the database (``reports.selectors.campaign_roi_page``).

Each expression takes the same steps as the Python: the credit-weighted sums rounded to nine
decimals (``_exact``), amounts to the cent half up (``_money``), counts to four decimals,
unit costs as the exact quotient rounded to the cent, rates and ROI as the floating-point
quotient rounded to four decimals; undefined (a zero denominator) is NULL.
tests/reports/test_campaign_page.py proves them equal to ``figures`` on random worlds.

PostgreSQL computes in ``numeric`` (exact decimal, as ``Decimal``); SQLite in REAL with
its ``ROUND``, which agrees but for values within a rounding error of a half.
"""

from __future__ import annotations

from collections.abc import Callable

from reports.metrics import COUNTS

#: The figures a campaign report can be sorted by (``sort=roi`` or ``sort=-roi``).
SORTABLE = (
    "cost",
    *COUNTS,
    "revenue",
    "cpl",
    "cost_per_mql",
    "cost_per_sql",
    "cac",
    "mql_rate",
    "sql_rate",
    "win_rate",
    "roi",
)
#: The raw sums a row of the report is computed from (``figures``' arguments).
RAW = ("cost", *COUNTS, "revenue")


def _expressions(vendor: str) -> dict[str, str]:
    """The SQL of every figure in ``SORTABLE`` over columns named as in ``RAW``."""
    if vendor == "postgresql":

        def exact(column: str) -> str:
            # float8 → text → numeric: the shortest exact digits, as Python's repr.
            return f"ROUND(CAST(CAST(COALESCE({column}, 0) AS TEXT) AS NUMERIC), 9)"

        def to_float(sql: str) -> str:
            return f"CAST({sql} AS DOUBLE PRECISION)"

        def rounded(sql: str, digits: int) -> str:
            return f"ROUND(CAST({sql} AS NUMERIC), {digits})"

    else:

        def exact(column: str) -> str:
            return f"ROUND(COALESCE({column}, 0), 9)"

        def to_float(sql: str) -> str:
            return f"CAST({sql} AS REAL)"

        def rounded(sql: str, digits: int) -> str:
            return f"ROUND({sql}, {digits})"

    cost = "ROUND(COALESCE(cost, 0), 2)"

    revenue = rounded(exact("revenue"), 2)

    def unit_cost(count: str) -> str:
        return f"CASE WHEN {exact(count)} = 0 THEN NULL ELSE ROUND({cost} / {exact(count)}, 2) END"

    def rate(numerator: str, denominator: str) -> str:
        quotient = f"{to_float(exact(numerator))} / {to_float(exact(denominator))}"
        return f"CASE WHEN {exact(denominator)} = 0 THEN NULL ELSE {rounded(quotient, 4)} END"

    roi_quotient = f"{to_float(f'({revenue} - {cost})')} / {to_float(cost)}"
    return {
        "cost": cost,
        **{count: rounded(exact(count), 4) for count in COUNTS},
        "revenue": revenue,
        "cpl": unit_cost("leads"),
        "cost_per_mql": unit_cost("mqls"),
        "cost_per_sql": unit_cost("sqls"),
        "cac": unit_cost("won"),
        "mql_rate": rate("mqls", "leads"),
        "sql_rate": rate("sqls", "mqls"),
        "win_rate": rate("won", "sqls"),
        "roi": f"CASE WHEN {cost} = 0 THEN NULL ELSE {rounded(roi_quotient, 4)} END",
    }


def figure_sql(figure: str, vendor: str) -> str:
    """The SQL of one sortable figure over the raw sums (``RAW``) of a row."""
    return _expressions(vendor)[figure]


def parse_sort(sort: str | None, default: str = "-revenue") -> tuple[str, bool]:
    """``("roi", True)`` for ``-roi``; ``ValueError`` for a figure not in ``SORTABLE``."""
    sort = sort or default
    descending = sort.startswith("-")
    figure = sort.lstrip("-")
    if figure not in SORTABLE:
        raise ValueError(f"cannot sort by {sort!r}")
    return figure, descending


def order_sql(sort: str, vendor: str, key: str) -> str:
    """ORDER BY of ``sort``: undefined values last either way, then ``key`` ascending."""
    figure, descending = parse_sort(sort)
    value = figure_sql(figure, vendor)
    return f"({value}) IS NULL, {value} {'DESC' if descending else 'ASC'}, {key}"


def sort_key(sort: str, key: str) -> Callable[[dict], tuple]:
    """The same order over computed rows (``figures``): the definition the database order
    is tested against, and the order of a report read whole (a snapshot)."""
    figure, descending = parse_sort(sort)

    def ordered(row: dict) -> tuple:
        value = row[figure]
        if value is None:
            return (1, 0, row[key])
        return (0, -value if descending else value, row[key])

    return ordered
