"""Reads of leads, always through the user's visibility (applied here and only here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from assignment.selectors import team_member_ids_managed_by
from leads.models import Lead, LeadEvent
from pipeline.roles import SALES_ROLES, Role, has_role, sees_all_leads


def lead_visibility_q(user: User | AnonymousUser | None) -> Q | None:
    """The filter a user's lead visibility adds; ``None`` means every lead."""
    if sees_all_leads(user):
        return None
    if has_role(user, *SALES_ROLES):
        condition = Q(owner=user) | Q(in_pool=True)
        if has_role(user, Role.SALES_MANAGER):
            condition |= Q(owner__in=team_member_ids_managed_by(user))
        return condition
    return Q(pk__in=[])


def leads_visible_to(user: User | AnonymousUser | None) -> QuerySet[Lead]:
    """Every lead ``user`` may see, with what list pages and the API read."""
    queryset = Lead.objects.select_related("company", "owner", "source_campaign__channel")
    if user is None or not user.is_authenticated:
        return queryset.none()
    condition = lead_visibility_q(user)
    return queryset if condition is None else queryset.filter(condition)


def contact_masked(user: User | AnonymousUser | None, lead: Lead) -> bool:
    """Contact details of a pooled lead are hidden from sales until someone claims it."""
    return lead.in_pool and not sees_all_leads(user)


def mask_phone(phone: str) -> str:
    if len(phone) <= 7:
        return "*" * len(phone)
    return f"{phone[:-8]}****{phone[-4:]}"


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    if not domain:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_text(text: str) -> str:
    return f"{text[:1]}***" if text else ""


def lead_events(lead: Lead) -> QuerySet[LeadEvent]:
    """The timeline, oldest first."""
    return lead.events.select_related("actor").order_by("at", "id")


#: How each contact field is masked for users who may not see it.
CONTACT_MASKERS = {"phone": mask_phone, "email": mask_email, "wechat": mask_text}


def mask_contact(key: str, value: Any) -> Any:
    if not value or key not in CONTACT_MASKERS:
        return value
    return CONTACT_MASKERS[key](str(value))


def masked_event_data(data: dict[str, Any]) -> dict[str, Any]:
    """An event's data with contact values masked (edits record old and new values)."""
    masked = {key: mask_contact(key, value) for key, value in data.items()}
    changed = data.get("changed")
    if isinstance(changed, dict):
        masked["changed"] = {
            key: [mask_contact(key, v) for v in values] if isinstance(values, list) else values
            for key, values in changed.items()
        }
    return masked


@dataclass(frozen=True)
class Contact:
    """A lead's contact details as one user may see them."""

    phone: str
    email: str
    wechat: str
    masked: bool


def contact_for(user: User | AnonymousUser | None, lead: Lead) -> Contact:
    """The lead's contact details as ``user`` may see them (masked in the pool for sales):
    the only way pages get a lead's phone, email and WeChat."""
    if contact_masked(user, lead):
        return Contact(
            phone=mask_phone(lead.phone) if lead.phone else "",
            email=mask_email(lead.email) if lead.email else "",
            wechat=mask_text(lead.wechat),
            masked=True,
        )
    return Contact(phone=lead.phone, email=lead.email, wechat=lead.wechat, masked=False)
