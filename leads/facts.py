"""A lead as plain facts: the one mapping the scorer and the router read from.

``LEAD_FACT_FIELDS`` names every field a rule may test and the kind of value it holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from campaigns.models import Campaign
from leads.models import Company, Lead
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
#: with ``select_related("company", "source_campaign__channel")``.
LEAD_FACT_COLUMNS: tuple[str, ...] = tuple(
    _RELATED_COLUMNS.get(name, name)
    for name in LEAD_FACT_FIELDS
    if name not in ("touch_count", "touch_kinds")
)
#: The lead's own columns ``lead_facts`` reads with ``related`` facts read apart
#: (``related_facts``): its fields, and its company's and campaign's ids.
LEAD_OWN_FACT_COLUMNS: tuple[str, ...] = (
    *(
        name
        for name in LEAD_FACT_FIELDS
        if name not in _RELATED_COLUMNS and name not in ("touch_count", "touch_kinds")
    ),
    "company",
    "source_campaign",
)
#: The related facts of a lead without company (the first four) or campaign (the rest).
_NO_COMPANY = {"industry": "", "company_size": "", "region": "", "company": ""}
_NO_CAMPAIGN = {"channel": "", "channel_kind": "", "campaign": ""}


def related_facts(
    company_ids: Iterable[int], campaign_ids: Iterable[int]
) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """The facts of these companies and of these campaigns (with their channel) as plain
    values, two queries for a set of leads (``lead_facts(…, related=…)``): the same values
    ``lead_facts`` reads from a lead's loaded company and campaign, without a model object
    per lead."""
    companies = {
        pk: {"industry": industry, "company_size": size, "region": region, "company": name}
        for pk, industry, size, region, name in Company.objects.filter(pk__in=set(company_ids))
        .order_by()
        .values_list("pk", "industry", "size", "region", "name")
    }
    campaigns = {
        pk: {"channel": code, "channel_kind": kind, "campaign": str(pk)}
        for pk, code, kind in Campaign.objects.filter(pk__in=set(campaign_ids))
        .order_by()
        .values_list("pk", "channel__code", "channel__kind")
    }
    return companies, campaigns


def lead_related(
    lead: Lead,
    companies: Mapping[int, Mapping[str, Any]],
    campaigns: Mapping[int, Mapping[str, Any]],
) -> dict[str, Any]:
    """A lead's related facts out of ``related_facts``' answer."""
    company = companies.get(lead.company_id) if lead.company_id else None
    campaign = campaigns.get(lead.source_campaign_id) if lead.source_campaign_id else None
    return {**(company or _NO_COMPANY), **(campaign or _NO_CAMPAIGN)}


def lead_facts(
    lead: Lead,
    *,
    touch_count: int | None = None,
    touch_kinds: list[str] | None = None,
    related: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Plain values of a lead; expects company and source_campaign__channel loaded, or
    their facts given as ``related`` (``lead_related``: a set reads them once per company
    and campaign)."""
    if related is None:
        company = lead.company
        campaign = lead.source_campaign
        channel = campaign.channel if campaign is not None else None
        related = {
            "industry": company.industry if company else "",
            "company_size": company.size if company else "",
            "region": company.region if company else "",
            "company": company.name if company else "",
            "channel": channel.code if channel else "",
            "channel_kind": channel.kind if channel else "",
            "campaign": str(campaign.pk) if campaign else "",
        }
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
        "industry": related["industry"],
        "company_size": related["company_size"],
        "region": related["region"],
        "company": related["company"],
        "channel": related["channel"],
        "channel_kind": related["channel_kind"],
        "campaign": related["campaign"],
        "utm_source": lead.utm_source,
        "utm_medium": lead.utm_medium,
        "touch_count": touch_count if touch_count is not None else 0,
        "touch_kinds": touch_kinds or [],
    }
