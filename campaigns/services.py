"""Campaigns and their costs: who may change them and what a valid one is."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Literal, overload

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils.text import slugify
from django.utils.translation import gettext as _

from campaigns.choices import CampaignStatus
from campaigns.models import Campaign, CampaignCost, Channel
from pipeline.errors import ServiceError
from pipeline.roles import Role, has_role

MAX_MONEY = Decimal("999999999999.99")

#: An amount as forms, the API and callers give it: a number, its text, or nothing.
MoneyInput = Decimal | int | float | str | None


def can_edit_campaign(actor: User, campaign: Campaign | None) -> bool:
    """Marketers edit the campaigns they own (and create new ones); superusers edit all."""
    if actor.is_superuser:
        return True
    if not has_role(actor, Role.MARKETER):
        return False
    return campaign is None or campaign.owner_id in (None, actor.pk)


@overload
def clean_money(value: MoneyInput, field: str, *, required: Literal[True] = ...) -> Decimal: ...
@overload
def clean_money(value: MoneyInput, field: str, *, required: bool) -> Decimal | None: ...
def clean_money(value: MoneyInput, field: str, *, required: bool = True) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise ServiceError(_("This field is required."), field=field)
        return None
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError) as exc:
        raise ServiceError(
            _("“%(value)s” is not an amount of money.") % {"value": value}, field=field
        ) from exc
    if not amount.is_finite():
        raise ServiceError(
            _("“%(value)s” is not an amount of money.") % {"value": value}, field=field
        )
    if amount < 0:
        raise ServiceError(_("The amount cannot be negative."), field=field)
    if amount > MAX_MONEY:
        raise ServiceError(_("The amount is out of range."), field=field)
    return amount.quantize(Decimal("0.01"))


def _other_campaigns(pk: int | None) -> QuerySet[Campaign]:
    """Every campaign but the one with ``pk`` (all of them for a campaign not saved yet)."""
    return Campaign.objects.all() if pk is None else Campaign.objects.exclude(pk=pk)


def _unique_utm(base: str, exclude_pk: int | None) -> str:
    slug = slugify(base)[:90] or "campaign"
    candidate, n = slug, 1
    while _other_campaigns(exclude_pk).filter(utm_campaign=candidate).exists():
        n += 1
        candidate = f"{slug}-{n}"
    return candidate


@transaction.atomic
def campaign_save(
    *,
    actor: User,
    campaign: Campaign | None = None,
    name: str,
    channel: Channel,
    owner: User | None = None,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
    budget: MoneyInput = 0,
    status: str = CampaignStatus.PLANNED,
    utm_campaign: str = "",
    accept_utm_only: bool = False,
    description: str = "",
) -> Campaign:
    """Create or change a campaign; ``utm_campaign`` is made from the name when left blank.

    ``accept_utm_only`` lets a capture name the campaign by its ``utm_campaign`` alone
    (``leads.capture.find_campaign``); otherwise the form's public key is required.
    """
    if not can_edit_campaign(actor, campaign):
        raise ServiceError(_("You may edit only the campaigns you own."), code="forbidden")
    if not (name or "").strip():
        raise ServiceError(_("A campaign needs a name."), field="name")
    if status not in CampaignStatus.values:
        raise ServiceError(
            _("“%(value)s” is not a valid choice.") % {"value": status}, field="status"
        )
    if start_date and end_date and end_date < start_date:
        raise ServiceError(_("The end date is before the start date."), field="end_date")
    budget_value = clean_money(budget, "budget", required=False) or Decimal("0.00")
    campaign_pk = campaign.pk if campaign is not None else None
    utm = (utm_campaign or "").strip()
    if utm:
        if slugify(utm) != utm.lower() or len(utm) > 100:
            raise ServiceError(
                _("Use only letters, digits, hyphens and underscores in utm_campaign."),
                field="utm_campaign",
            )
        if _other_campaigns(campaign_pk).filter(utm_campaign=utm).exists():
            raise ServiceError(_("Another campaign uses this utm_campaign."), field="utm_campaign")
    else:
        utm = _unique_utm(name, campaign_pk)
    if owner is not None and not (owner.is_active and has_role(owner, Role.MARKETER)):
        raise ServiceError(_("The owner must be an active marketer."), field="owner")
    campaign = campaign or Campaign()
    campaign.name, campaign.channel = name.strip()[:200], channel
    campaign.owner = owner or campaign.owner or (actor if has_role(actor, Role.MARKETER) else None)
    campaign.start_date, campaign.end_date, campaign.budget = start_date, end_date, budget_value
    campaign.status, campaign.utm_campaign = status, utm
    campaign.accept_utm_only = bool(accept_utm_only)
    campaign.description = description or ""
    campaign.save()
    return campaign


@transaction.atomic
def cost_save(
    *,
    actor: User,
    campaign: Campaign,
    cost: CampaignCost | None = None,
    date: dt.date | None,
    amount: MoneyInput,
    note: str = "",
) -> CampaignCost:
    """Add or change one line of actual spend."""
    if not can_edit_campaign(actor, campaign):
        raise ServiceError(_("You may edit only the campaigns you own."), code="forbidden")
    if date is None:
        raise ServiceError(_("The date is required."), field="date")
    value = clean_money(amount, "amount")
    cost = cost or CampaignCost(campaign=campaign)
    cost.date, cost.amount, cost.note = date, value, (note or "")[:300]
    cost.save()
    return cost


@transaction.atomic
def cost_delete(*, actor: User, cost: CampaignCost) -> None:
    if not can_edit_campaign(actor, cost.campaign):
        raise ServiceError(_("You may edit only the campaigns you own."), code="forbidden")
    cost.delete()
