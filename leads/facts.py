"""A lead as plain facts: the one mapping the scorer and the router read from.

``LEAD_FACT_FIELDS`` names every field a rule may test and the kind of value it holds.
"""

from __future__ import annotations

from typing import Any

from leads.models import Lead
from pipeline.conditions import CHOICE, NUMBER, TEXT

LEAD_FACT_FIELDS: dict[str, str] = {
    "grade": CHOICE,
    "score": NUMBER,
    "stage": CHOICE,
    "title": TEXT,
    "product_interest": TEXT,
    "budget": NUMBER,
    "timeline": CHOICE,
    "decision_role": CHOICE,
    "need": TEXT,
    "email": TEXT,
    "phone": TEXT,
    "wechat": TEXT,
    "industry": TEXT,
    "company_size": CHOICE,
    "region": TEXT,
    "company": TEXT,
    "channel": CHOICE,
    "channel_kind": CHOICE,
    "campaign": CHOICE,
    "utm_source": TEXT,
    "utm_medium": TEXT,
    "touch_count": NUMBER,
    "touch_kinds": CHOICE,
}


#: Facts read from a related row, by the column path ``QuerySet.only`` names them with.
_RELATED_COLUMNS = {
    "industry": "company__industry",
    "company_size": "company__size",
    "region": "company__region",
    "company": "company__name",
    "channel": "source_campaign__channel__code",
    "channel_kind": "source_campaign__channel__kind",
    "campaign": "source_campaign__id",
}
#: The columns ``lead_facts`` reads (touches are counted apart), for ``QuerySet.only``
#: with ``select_related("company", "source_campaign__channel")`` (a set routed at once).
LEAD_FACT_COLUMNS: tuple[str, ...] = tuple(
    _RELATED_COLUMNS.get(name, name)
    for name in LEAD_FACT_FIELDS
    if name not in ("touch_count", "touch_kinds")
)


def lead_facts(
    lead: Lead, *, touch_count: int | None = None, touch_kinds: list[str] | None = None
) -> dict[str, Any]:
    """Plain values of a lead; expects company and source_campaign__channel loaded."""
    company = lead.company
    campaign = lead.source_campaign
    channel = campaign.channel if campaign is not None else None
    return {
        "grade": lead.grade,
        "score": lead.score,
        "stage": lead.stage,
        "title": lead.title,
        "product_interest": lead.product_interest,
        "budget": lead.budget,
        "timeline": lead.timeline,
        "decision_role": lead.decision_role,
        "need": lead.need,
        "email": lead.email,
        "phone": lead.phone,
        "wechat": lead.wechat,
        "industry": company.industry if company else "",
        "company_size": company.size if company else "",
        "region": company.region if company else "",
        "company": company.name if company else "",
        "channel": channel.code if channel else "",
        "channel_kind": channel.kind if channel else "",
        "campaign": str(campaign.pk) if campaign else "",
        "utm_source": lead.utm_source,
        "utm_medium": lead.utm_medium,
        "touch_count": touch_count if touch_count is not None else 0,
        "touch_kinds": touch_kinds or [],
    }
