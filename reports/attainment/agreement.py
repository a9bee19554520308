"""The marketing–sales agreement (市场与销售的服务协议, DESIGN §11): for one period,
marketing's MQL/SQL volume and quality targets beside sales' first-response and follow-up
targets, each with its attainment (company targets: the agreement is between the two
departments)."""

from __future__ import annotations

from typing import Any

from targets.choices import Metric

#: Marketing's side: volume (MQLs, SQLs) and quality (acceptance by sales, cost per MQL).
MARKETING = (Metric.MQLS, Metric.SQLS, Metric.ACCEPTANCE_RATE, Metric.COST_PER_MQL_MAX)
#: Sales' side: answering the leads in time and following them up.
SALES = (Metric.FIRST_RESPONSE_RATE, Metric.FOLLOW_UP_COMPLIANCE)


def agreement_sides(report: dict[str, Any]) -> dict[str, Any]:
    """Split the company rows of an attainment report (``attainment_rows``) into the two
    sides of the agreement, in the agreement's order; the agreed acceptance and
    first-response targets (``None`` when not agreed) judge the scoreboard's verdict."""
    company = {row["metric"]: row for row in report["rows"] if row["scope"] == "company"}
    return {
        "marketing": [company[m] for m in MARKETING if m in company],
        "sales": [company[m] for m in SALES if m in company],
        "acceptance_target": (company.get(Metric.ACCEPTANCE_RATE) or {}).get("value"),
        "in_time_target": (company.get(Metric.FIRST_RESPONSE_RATE) or {}).get("value"),
    }
