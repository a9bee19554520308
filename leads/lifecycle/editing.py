"""Editing a lead's contact, company and need fields (one ``updated`` event per save)."""

from __future__ import annotations

from collections.abc import Mapping
from types import EllipsisType
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from leads.choices import EventKind
from leads.lifecycle.announcements import Announcement, announce
from leads.lifecycle.arrival import company_for
from leads.lifecycle.fields import COMPANY_FIELDS, LEAD_OWN_FIELDS, clean_lead_fields
from leads.lifecycle.primitives import lock_lead, record_event
from leads.lifecycle.rules import can_edit_lead
from leads.models import Lead
from pipeline.errors import ServiceError


@transaction.atomic
def lead_update(
    *,
    lead: Lead,
    actor: User,
    fields: Mapping[str, Any],
    source_campaign: Campaign | EllipsisType | None = ...,
) -> Lead:
    """Edit contact, company and need fields; one ``updated`` event lists what changed."""
    lead = lock_lead(lead)
    if not can_edit_lead(actor, lead):
        raise ServiceError(_("You are not allowed to edit this lead."), code="forbidden")
    data = clean_lead_fields(fields, partial=True)
    changed: dict[str, list[Any]] = {}
    if set(COMPANY_FIELDS) & set(data):
        current = lead.company
        name = data.get("company_name", current.name if current else "")
        company = company_for(
            name=name or "",
            industry=data.get("industry", current.industry if current else ""),
            size=data.get("company_size", current.size if current else ""),
            region=data.get("region", current.region if current else ""),
        )
        if company is not None and current is not None and company.pk == current.pk:
            for attr, key in (
                ("industry", "industry"),
                ("size", "company_size"),
                ("region", "region"),
            ):
                if key in data and getattr(company, attr) != data[key]:
                    changed[key] = [getattr(company, attr), data[key]]
                    setattr(company, attr, data[key])
            company.save()
        if (company.pk if company else None) != lead.company_id:
            changed["company"] = [current.name if current else "", company.name if company else ""]
            lead.company = company
    for key in LEAD_OWN_FIELDS:
        if key in data and getattr(lead, key) != data[key]:
            changed[key] = [str(getattr(lead, key) or ""), str(data[key] or "")]
            setattr(lead, key, data[key])
    if source_campaign is not ... and source_campaign != lead.source_campaign:
        changed["source_campaign"] = [lead.source_campaign_id, getattr(source_campaign, "pk", None)]
        lead.source_campaign = source_campaign
    if not changed:
        return lead
    lead.save()
    record_event(lead=lead, kind=EventKind.UPDATED, actor=actor, data={"changed": changed})
    if lead.is_open:
        announce(Announcement.CHANGED, lead_id=lead.pk)
    return lead
