"""Editing a lead's contact, company and need fields (one ``updated`` event per save)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import EllipsisType
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from leads.choices import CLOSED_STAGES, EventKind, Stage
from leads.lifecycle.announcements import Announcement, announce
from leads.lifecycle.arrival import company_for
from leads.lifecycle.fields import COMPANY_FIELDS, LEAD_OWN_FIELDS, clean_lead_fields
from leads.lifecycle.primitives import lock_lead, record_event
from leads.lifecycle.rules import acts_for_owner, can_edit_lead, can_use_campaign
from leads.models import Lead
from leads.selectors import contact_masked, leads_visible_to
from pipeline.errors import ServiceError

#: The contact fields one open lead holds alone, and the unique index that says so.
_UNIQUE_CONTACTS = {"phone": "lead_open_phone_unique", "email": "lead_open_email_unique"}


def _taken_error(*, actor: User, field: str, other: Lead | None) -> ServiceError:
    """The 400 for a phone or email another open lead already has. The other lead is named
    only to an editor who may see it with its contact details; anyone else learns only
    that the value is taken (which the 撞单 guard tells every capture anyway)."""
    if (
        other is not None
        and leads_visible_to(actor).filter(pk=other.pk).exists()
        and not contact_masked(actor, other)
    ):
        if field == "phone":
            message = _("This phone number already belongs to an open lead: %(name)s.")
        else:
            message = _("This email address already belongs to an open lead: %(name)s.")
        return ServiceError(message % {"name": other.name}, field=field)
    if field == "phone":
        message = _("This phone number already belongs to another open lead.")
    else:
        message = _("This email address already belongs to another open lead.")
    return ServiceError(message, field=field)


def _check_contacts_free(*, lead: Lead, actor: User, changed: Mapping[str, Any]) -> None:
    """Refuse a phone or email that another open lead holds (the open-lead unique indexes)."""
    if not lead.is_open:
        return
    for field in _UNIQUE_CONTACTS:
        value = getattr(lead, field)
        if field not in changed or not value:
            continue
        other = (
            Lead.objects.filter(**{field: value})
            .exclude(pk=lead.pk)
            .exclude(stage__in=CLOSED_STAGES)
            .order_by("created_at", "id")
            .first()
        )
        if other is not None:
            raise _taken_error(actor=actor, field=field, other=other)


#: The stages of an open deal: the only leads with an expected close date to set.
DEAL_STAGES = (Stage.SQL, Stage.OPPORTUNITY)
#: An expected close date this many years ahead is a typo, not a plan.
CLOSE_DATE_YEARS_AHEAD = 5


def may_set_expected_close(actor: User | None, lead: Lead) -> bool:
    """The owner and their managers (``acts_for_owner``) plan when the deal closes, while
    the lead is an open deal."""
    return lead.stage in DEAL_STAGES and lead.erased_at is None and acts_for_owner(actor, lead)


def _check_expected_close(*, lead: Lead, actor: User, given: Any) -> dt.date | None:
    """The expected close date as given (``None`` clears it), or a ``ServiceError`` on
    the field ``expected_close_date``."""
    if given is None or given == "":
        return None
    if isinstance(given, dt.date) and not isinstance(given, dt.datetime):
        value = given
    else:
        try:
            value = dt.date.fromisoformat(str(given).strip())
        except ValueError:
            raise ServiceError(
                _("Enter a date like 2026-12-31."), field="expected_close_date"
            ) from None
    if lead.stage not in DEAL_STAGES:
        raise ServiceError(
            _("Only an open deal (SQL or opportunity) has an expected close date."),
            field="expected_close_date",
        )
    if not acts_for_owner(actor, lead):
        raise ServiceError(
            _("Only the owner and their managers set when a deal is expected to close."),
            code="forbidden",
            field="expected_close_date",
        )
    created = timezone.localdate(lead.created_at)
    if value < created:
        raise ServiceError(
            _("The deal cannot close before the lead came in (%(day)s).") % {"day": created},
            field="expected_close_date",
        )
    if value.year > timezone.localdate().year + CLOSE_DATE_YEARS_AHEAD:
        raise ServiceError(
            _("Give a date within the next %(years)d years.") % {"years": CLOSE_DATE_YEARS_AHEAD},
            field="expected_close_date",
        )
    return value


@transaction.atomic
def lead_update(
    *,
    lead: Lead,
    actor: User,
    fields: Mapping[str, Any],
    source_campaign: Campaign | EllipsisType | None = ...,
    expected_close: dt.date | str | EllipsisType | None = ...,
) -> Lead:
    """Edit contact, company and need fields; one ``updated`` event lists what changed.

    Who may edit is ``can_edit_lead``; moving the lead to another campaign also needs
    ``can_use_campaign``. A phone or email that another open lead holds is refused with a
    400 on that field, before anything is written; a parallel edit that takes the value
    between the check and the save hits the unique index, which gives the same answer.

    ``expected_close`` (a date, ``None`` to clear; ``...`` leaves it) is the deal's
    expected close date: only on an open deal, by its owner or their managers, not before
    the lead came in (``_check_expected_close``).
    """
    lead = lock_lead(lead)
    if not can_edit_lead(actor, lead):
        raise ServiceError(_("You are not allowed to edit this lead."), code="forbidden")
    if (
        source_campaign is not ...
        and source_campaign != lead.source_campaign
        and not can_use_campaign(actor, source_campaign)
    ):
        raise ServiceError(
            _("You cannot move this lead to that campaign: it is not one of yours."),
            code="forbidden",
            field="source_campaign",
        )
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
    if expected_close is not ...:
        close = _check_expected_close(lead=lead, actor=actor, given=expected_close)
        if close != lead.expected_close_date:
            changed["expected_close_date"] = [
                lead.expected_close_date.isoformat() if lead.expected_close_date else "",
                close.isoformat() if close else "",
            ]
            lead.expected_close_date = close
    if not changed:
        return lead
    _check_contacts_free(lead=lead, actor=actor, changed=changed)
    try:
        with transaction.atomic():  # a savepoint: a refused save leaves nothing behind
            lead.save()
    except IntegrityError as error:
        text = str(error)  # PostgreSQL names the index, SQLite the column
        taken = next(
            (f for f, index in _UNIQUE_CONTACTS.items() if index in text or f"lead.{f}" in text),
            None,
        )
        if taken is None:
            raise
        raise _taken_error(actor=actor, field=taken, other=None) from error
    record_event(lead=lead, kind=EventKind.UPDATED, actor=actor, data={"changed": changed})
    if lead.is_open:
        announce(Announcement.CHANGED, lead_id=lead.pk)
        lead.refresh_from_db()  # in-transaction subscribers (scoring) wrote to it
    return lead
