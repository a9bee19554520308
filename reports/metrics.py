"""Report arithmetic over plain numbers: ratios are null when undefined (docs/architecture.md
§4)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

COUNTS = ("leads", "mqls", "sqls", "opportunities", "won")


def _exact(value: float | Decimal) -> float | Decimal:
    """A credit-weighted sum without float noise: summed in another order (by the database,
    or day by day from the rollups) it differs in the 12th decimal, which must not move a
    ratio or an amount across a half cent. Nine decimals keep every real difference."""
    return round(value, 9) if isinstance(value, float) else value


def _money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _count(value: float) -> float | int:
    """Whole counts stay integers; credit-weighted ones keep four decimals."""
    rounded = round(float(value), 4)
    return int(rounded) if rounded.is_integer() else rounded


def _ratio(numerator: float | Decimal, denominator: float | Decimal, digits: int = 4):
    if not denominator:
        return None
    return round(float(numerator) / float(denominator), digits)


def _money_ratio(numerator: Decimal, denominator: float) -> Decimal | None:
    if not denominator:
        return None
    return _money(Decimal(numerator) / Decimal(str(denominator)))


def money(value: float | Decimal | None) -> Decimal:
    """An amount as the reports give it: rounded to the cent, half up."""
    return _money(_exact(value or 0))


def roi(*, revenue: float | Decimal | None, cost: Decimal | None) -> float | None:
    """(revenue − cost) / cost over amounts rounded to the cent; ``None`` without cost."""
    cost, revenue = _money(cost or 0), _money(revenue or 0)
    return _ratio(revenue - cost, cost) if cost else None


def figures(
    *,
    cost: Decimal,
    revenue: float | Decimal,
    leads: float,
    mqls: float,
    sqls: float,
    opportunities: float,
    won: float,
) -> dict[str, Any]:
    """One row of a funnel/ROI table with every derived figure."""
    cost = _money(cost or 0)
    revenue = _money(_exact(revenue or 0))
    leads, mqls, sqls = _exact(leads), _exact(mqls), _exact(sqls)
    opportunities, won = _exact(opportunities), _exact(won)
    return {
        "cost": cost,
        "leads": _count(leads),
        "mqls": _count(mqls),
        "sqls": _count(sqls),
        "opportunities": _count(opportunities),
        "won": _count(won),
        "revenue": revenue,
        "cpl": _money_ratio(cost, leads),
        "cost_per_mql": _money_ratio(cost, mqls),
        "cost_per_sql": _money_ratio(cost, sqls),
        "cac": _money_ratio(cost, won),
        "mql_rate": _ratio(mqls, leads),
        "sql_rate": _ratio(sqls, mqls),
        "win_rate": _ratio(won, sqls),
        "roi": roi(revenue=revenue, cost=cost),
    }


def add_up(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals of several rows, with the ratios recomputed from the sums."""
    sums = {key: sum(float(row[key]) for row in rows) for key in COUNTS}
    return figures(
        cost=sum((row["cost"] for row in rows), Decimal("0")),
        revenue=sum((row["revenue"] for row in rows), Decimal("0")),
        **sums,
    )
