"""Arrival: how a person reaching us through a campaign becomes a lead, or a touch on the
lead we already have for them (the 撞单 guard).

The rule, written once:

- a person is known when an open lead (stage not won/lost/disqualified) has the same
  normalised phone or email;
- a known person gets a touch (``returned`` event), and their lead gets this campaign as
  source campaign if it had none;
- anyone else becomes a new lead in stage ``new`` with its first touch (``created``
  event).

``lead_create`` applies it to one arrival (capture, pages, API; an import row that raced
another arrival). Bulk writers — the import batch and the demo world — apply it to many
rows at once; they build their rows with the same value functions below
(``new_lead_values``, ``touch_values``, ``created_event_data``, ``returned_event_data``), so
a new lead, a touch and an event look the same whichever path wrote them.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from leads.choices import CLOSED_STAGES, EventKind, Stage, TouchKind
from leads.credits import sole_touch_credits
from leads.lifecycle.announcements import Announcement, announce
from leads.lifecycle.fields import LEAD_OWN_FIELDS, clean_lead_fields
from leads.lifecycle.primitives import Arrival, lock_lead, record_event, save_lead
from leads.lifecycle.rules import can_create_lead
from leads.models import Company, Lead, LeadEvent, LeadTouch, company_name_of
from leads.normalize import normalize_company_name
from pipeline.errors import ServiceError

#: The UTM parameters an arrival may carry (stored on a new lead; source and medium also
#: on each touch).
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
UTM_MAX_LENGTH = 100
LANDING_PAGE_MAX_LENGTH = 500

# --------------------------------------------------------------------------------------
# The rows an arrival writes (plain values, for the ORM and for bulk writers alike)
# --------------------------------------------------------------------------------------


def clean_utm(utm: Mapping[str, Any] | None) -> dict[str, str]:
    """UTM values as stored: known keys only, text, at most ``UTM_MAX_LENGTH`` each."""
    return {key: str((utm or {}).get(key) or "")[:UTM_MAX_LENGTH] for key in UTM_FIELDS}


def new_lead_values(
    data: Mapping[str, Any],
    *,
    campaign_id: int | None,
    company_id: int | None,
    actor_id: int | None,
    now: dt.datetime,
    utm: Mapping[str, str] | None = None,
    landing_page: str = "",
    company_name: str | None = None,
) -> dict[str, Any]:
    """The column values of a new lead from clean fields (``clean_lead_fields``);
    ``company_name`` is the company's name (``company_name_of``), with ``company_id``."""
    if (company_id is None) != (company_name is None):
        raise ValueError("company_id and company_name go together")
    return {
        **{key: data[key] for key in LEAD_OWN_FIELDS if key in data},
        "company_id": company_id,
        "company_name": company_name,
        "source_campaign_id": campaign_id,
        "created_by_id": actor_id,
        "created_at": now,
        "stage": Stage.NEW,
        **{key: value for key, value in clean_utm(utm).items() if value},
        **({"landing_page": landing_page[:LANDING_PAGE_MAX_LENGTH]} if landing_page else {}),
    }


def touch_values(
    *,
    campaign_id: int | None,
    kind: str,
    occurred_at: dt.datetime,
    is_first: bool,
    utm: Mapping[str, str] | None = None,
    landing_page: str = "",
) -> dict[str, Any]:
    """The column values of a touch (without ``lead_id``)."""
    utm = clean_utm(utm)
    return {
        "campaign_id": campaign_id,
        "kind": kind,
        "occurred_at": occurred_at,
        "is_first": is_first,
        "utm_source": utm["utm_source"],
        "utm_medium": utm["utm_medium"],
        "landing_page": landing_page[:LANDING_PAGE_MAX_LENGTH],
    }


def created_event_data(*, campaign_id: int | None, touch_kind: str, **extra: Any) -> dict[str, Any]:
    """The ``created`` event's data (bulk writers add where the row came from)."""
    return {"campaign": campaign_id, "touch_kind": touch_kind, **extra}


def returned_event_data(
    *, campaign_id: int | None, touch_kind: str, name: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The ``duplicate`` event's data: the campaign and, when given, the name the person
    gave this time (it may differ from the lead's)."""
    data = {"campaign": campaign_id, "touch_kind": touch_kind, **extra}
    if name is not None:
        data["name"] = name
    return data


# --------------------------------------------------------------------------------------
# Finding the person
# --------------------------------------------------------------------------------------


def company_for(
    *, name: str, industry: str = "", size: str = "", region: str = ""
) -> Company | None:
    """Find the company by normalised name or create it; fill blanks it did not know yet."""
    key = normalize_company_name(name)
    if not key:
        return None
    company, created = Company.objects.get_or_create(
        normalized_name=key,
        defaults={"name": name.strip()[:200], "industry": industry, "size": size, "region": region},
    )
    if not created:
        changed = []
        for attr, value in (("industry", industry), ("size", size), ("region", region)):
            if value and not getattr(company, attr):
                setattr(company, attr, value)
                changed.append(attr)
        if changed:
            company.save(update_fields=changed)
    return company


def _lock_identity(keys: Iterable[str]) -> None:
    """Serialise concurrent arrivals of the same person (PostgreSQL advisory xact locks).

    The keys are hashed and locked in sorted order in one statement, so two transactions
    locking overlapping sets cannot deadlock. SQLite runs write transactions one at a time
    (IMMEDIATE mode), so it needs nothing.
    """
    if connection.vendor != "postgresql":
        return
    ids = sorted(
        {
            int.from_bytes(hashlib.blake2b(k.encode(), digest_size=8).digest(), "big", signed=True)
            for k in keys
        }
    )
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(k) FROM "
            "(SELECT k FROM unnest(%s::bigint[]) AS k ORDER BY k) AS ordered",
            [ids],
        )


def find_open_duplicate(*, phone: str, email: str) -> Lead | None:
    """The open lead with the same normalised phone or email (撞单 guard)."""
    match = Q()
    if phone:
        match |= Q(phone=phone)
    if email:
        match |= Q(email=email)
    if not match:
        return None
    return (
        Lead.objects.filter(match)
        .exclude(stage__in=CLOSED_STAGES)
        .order_by("created_at", "id")
        .first()
    )


# --------------------------------------------------------------------------------------
# One arrival
# --------------------------------------------------------------------------------------


@dataclass
class LeadCreateResult:
    lead: Lead
    duplicate: bool


def lead_create(
    *,
    actor: User | None,
    fields: Mapping[str, Any],
    campaign: Campaign | None = None,
    touch_kind: str = TouchKind.MANUAL,
    occurred_at: dt.datetime | None = None,
    utm: Mapping[str, str] | None = None,
    landing_page: str = "",
    consent_version: str = "",
) -> LeadCreateResult:
    """Create a lead, or add a touch to the open lead of the same person.

    ``consent_version``: the privacy notice the person agreed to with this arrival (web
    capture); kept on the lead with the arrival's time (``consent_at``), written with the
    new lead's row, or over an older consent of the known person's lead.

    Arrivals of one phone/email are serialised with an advisory lock so two parallel
    captures of one new person make one lead and one touch, not two leads. Bulk imports do
    not take those locks (thousands per batch would fill PostgreSQL's lock table); if one
    wrote this person after the check, the unique index refuses the new lead and the
    arrival becomes a touch on the imported lead.

    ``arrived`` and ``returned`` have an ``in_transaction`` subscriber (scoring), so the
    lead is committed already scored and graded (DESIGN §5). A new lead is handed to it
    with ``arrived`` just before its insert, so its score, grade and automatic
    qualification are written by that one insert and nothing is read again; a known
    person's lead is read again after it ran.

    When the unique index refuses the new lead, the arrival is redone as a touch: in a
    caller's transaction the insert runs in a savepoint, which is rolled back; as a
    transaction of its own (the public capture) the whole transaction is redone once
    instead, which saves the savepoint's two statements on every arrival.
    """
    arrival = functools.partial(
        _lead_create,
        actor=actor,
        fields=fields,
        campaign=campaign,
        touch_kind=touch_kind,
        occurred_at=occurred_at,
        utm=utm,
        landing_page=landing_page,
        consent_version=consent_version,
    )
    if transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return arrival(redo_in_savepoint=True)
    try:
        with transaction.atomic():
            return arrival(redo_in_savepoint=False)
    except IntegrityError:
        pass  # another writer stored this person meanwhile: now a touch on their lead
    with transaction.atomic():
        return arrival(redo_in_savepoint=True)


def _lead_create(
    *,
    actor: User | None,
    fields: Mapping[str, Any],
    campaign: Campaign | None,
    touch_kind: str,
    occurred_at: dt.datetime | None,
    utm: Mapping[str, str] | None,
    landing_page: str,
    consent_version: str,
    redo_in_savepoint: bool,
) -> LeadCreateResult:
    if not can_create_lead(actor):
        raise ServiceError(_("You are not allowed to create leads."), code="forbidden")
    if not can_create_lead(actor, campaign):
        raise ServiceError(
            _("You can only enter leads in your own campaigns."),
            code="forbidden",
            field="source_campaign",
        )
    data = clean_lead_fields(fields)
    if not data.get("phone") and not data.get("email") and not data.get("wechat"):
        raise ServiceError(
            _("Give at least one way to reach the person: phone, email or WeChat."), field="phone"
        )
    now = timezone.now()
    occurred_at = occurred_at or now
    identity = [k for k in (data.get("phone"), data.get("email")) if k]
    _lock_identity(identity)
    existing = find_open_duplicate(phone=data.get("phone", ""), email=data.get("email", ""))
    if existing is None:
        arrive = functools.partial(
            _arrive_new,
            actor=actor,
            data=data,
            campaign=campaign,
            touch_kind=touch_kind,
            occurred_at=occurred_at,
            now=now,
            utm=utm,
            landing_page=landing_page,
            consent_version=consent_version,
        )
        if not redo_in_savepoint:  # lead_create redoes the whole transaction instead
            return arrive()
        try:
            with transaction.atomic():  # a savepoint, so a refused insert can be redone
                return arrive()
        except IntegrityError:
            existing = find_open_duplicate(phone=data.get("phone", ""), email=data.get("email", ""))
            if existing is None:
                raise
    lead = lock_lead(existing)
    campaign_id = campaign.pk if campaign is not None else None
    LeadTouch.objects.create(
        lead=lead,
        **touch_values(
            campaign_id=campaign_id,
            kind=touch_kind,
            occurred_at=occurred_at,
            is_first=not lead.touches.exists(),
            utm=utm,
            landing_page=landing_page,
        ),
    )
    changed = []
    if lead.source_campaign_id is None and campaign is not None:
        lead.source_campaign = campaign
        changed.append("source_campaign")
    if consent_version:  # the latest consent replaces an older one
        lead.consent_at, lead.consent_version = now, consent_version
        changed += ["consent_at", "consent_version"]
    if changed:
        save_lead(lead, changed)
    record_event(
        lead=lead,
        kind=EventKind.DUPLICATE,
        actor=actor,
        at=now,
        data=returned_event_data(
            campaign_id=campaign_id, touch_kind=touch_kind, name=data.get("name", "")
        ),
    )
    announce(Announcement.TOUCHES_CHANGED, lead_ids=[lead.pk], saved=True)
    announce(Announcement.RETURNED, lead_id=lead.pk, owner_id=lead.owner_id)
    lead.refresh_from_db()  # in-transaction subscribers (scoring) wrote to it
    return LeadCreateResult(lead=lead, duplicate=True)


def _arrive_new(
    *,
    actor: User | None,
    data: Mapping[str, Any],
    campaign: Campaign | None,
    touch_kind: str,
    occurred_at: dt.datetime,
    now: dt.datetime,
    utm: Mapping[str, str] | None,
    landing_page: str,
    consent_version: str,
) -> LeadCreateResult:
    """A new lead with its first touch and its events: one insert each. The lead is
    announced (``arrived``) before its insert, so scoring's score, grade and automatic
    qualification are written by that insert (no update after it), their events with the
    ``created`` one. The touch is written with its credits (a lead's only touch before
    SQL: ``sole_touch_credits``), so nothing recomputes them."""
    company = company_for(
        name=data.get("company_name", "") or "",
        industry=data.get("industry", "") or "",
        size=data.get("company_size", "") or "",
        region=data.get("region", "") or "",
    )
    campaign_id = campaign.pk if campaign is not None else None
    lead = Lead(
        **new_lead_values(
            data,
            campaign_id=campaign_id,
            company_id=company.pk if company else None,
            company_name=company_name_of(company),
            actor_id=actor.pk if actor is not None else None,
            now=now,
            utm=utm,
            landing_page=landing_page,
        ),
        **({"consent_at": now, "consent_version": consent_version} if consent_version else {}),
    )
    # The objects at hand, so neither the save nor the scorer reads them again.
    lead.company, lead.source_campaign = company, campaign
    # Its in-transaction subscribers (scoring) complete the row before it is written: its
    # score and grade, and an automatic qualification (``primitives.Arrival``), so it is
    # inserted once, already scored and qualified.
    pending = Arrival()
    lead._arrival = pending  # type: ignore[attr-defined]
    lead._row_locked = True  # type: ignore[attr-defined]  # no other transaction sees it
    try:
        announce(Announcement.ARRIVED, lead=lead, touch_kind=touch_kind)
    finally:
        # The caller may keep the instance past this transaction: lock it again then.
        lead._row_locked = False  # type: ignore[attr-defined]
        del lead._arrival  # type: ignore[attr-defined]
    lead.save(force_insert=True)
    LeadTouch.objects.create(
        lead=lead,
        **touch_values(
            campaign_id=campaign_id,
            kind=touch_kind,
            occurred_at=occurred_at,
            is_first=True,
            utm=utm,
            landing_page=landing_page,
        ),
        **sole_touch_credits(),
    )
    created = LeadEvent(
        lead=lead,
        kind=EventKind.CREATED,
        actor=actor,
        at=now,
        to_stage=Stage.NEW,
        data=created_event_data(campaign_id=campaign_id, touch_kind=touch_kind),
    )
    # Its ``created`` event and those of what the subscribers did, in order: one insert.
    LeadEvent.objects.bulk_create([created, *pending.events])
    for announcement, payload in pending.after_insert:
        announce(announcement, lead_id=lead.pk, **payload)
    return LeadCreateResult(lead=lead, duplicate=False)
