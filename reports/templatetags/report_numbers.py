"""Numbers on the pages, one way everywhere: ``{{ value|money }}`` (thousands separators,
whole units), ``|unit_money`` (two decimals: cost per lead …), ``|count`` (credit-weighted
counts keep one decimal), ``|pct`` for a fraction (0.625 → 62.5%), ``|roi`` (1.5 → +150%,
−20%), ``|hours`` and ``|days`` for working-time durations; ``None`` is "—".

The report tables (``reports.views.common.present``) format their cells with the same
``fmt``; the API keeps raw numbers (DESIGN §9).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import template

from reports.views.common import fmt

register = template.Library()


def _filter(kind: str) -> Callable[[Any], str]:
    def format_value(value: Any) -> str:
        if value == "":
            value = None
        return fmt(value, kind)

    format_value.__name__ = kind
    return format_value


for _kind in ("money", "unit_money", "count", "roi", "hours", "days"):
    register.filter(_kind, _filter(_kind))
# ``pct`` is the bars' class filter (pipeline.templatetags.bars): this one is ``percent``.
register.filter("percent", _filter("pct"))
