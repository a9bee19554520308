"""Data-subject requests (个人信息保护法, PIPL): export everything held about a person, erase
it, and the optional retention job that erases old closed leads.

A *person* is every lead that shares the lead's phone or email (a person may have several
leads over time, closed ones too). Requests are made by the lead desk or an administrator
(``check_privacy_request``) and logged as lead events (``data_exported``, ``data_erased``).

Erasing wipes what identifies the person — contact fields, names, free texts (the need,
follow-up notes and outcomes, grade and event reasons), the contact values inside event
data, identifying attribution text (landing pages, ``utm_term`` / ``utm_content``), the
capture's idempotency records, import error rows and row messages mentioning them, the
values a conflicting arrival gave (``LeadTouch.given``; its open review is dismissed),
the in-app notifications and chat-robot messages about one of their leads — and marks
each lead ``erased_at``.
Counts, stages, grades, scores, amounts, timestamps, campaigns, owners, reason codes and
attribution credits stay, so every report is the same before and after. The company is
an organisation, not the person: the link and the company row are kept. Event texts are
rewritten through ``LeadEventQuerySet.erase_personal_texts``, the one sanctioned rewrite
of the append-only timeline.

Locking: ``person_erase`` and ``retention_erase`` lock the leads they erase
(``select_for_update``) and skip those already erased, so two erasures of one person, or
two runs of the job, erase once.

Application layer (``docs/architecture.md`` §2): it reads the assignment records and the
import jobs beside the lead, so it sits above the lifecycle core.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from assignment.models import Assignment
from leads.choices import EventKind, ReviewStatus, Stage
from leads.lifecycle.primitives import record_event
from leads.models import (
    ContactReview,
    FollowUp,
    IdempotencyKey,
    ImportJob,
    ImportRow,
    Lead,
    LeadEvent,
    LeadTouch,
)
from notifications.models import Notification
from pipeline.errors import ServiceError
from pipeline.roles import Role, has_role
from webhooks.choices import SENDABLE, DeliveryStatus
from webhooks.models import Delivery

#: Lead fields that identify the person or hold what they said, wiped on erasure.
ERASED_LEAD_FIELDS = (
    "name",
    "title",
    "phone",
    "email",
    "wechat",
    "need",
    "grade_reason",
    "utm_term",
    "utm_content",
    "landing_page",
)
#: Keys of event data (and of an edit's ``changed`` map) whose values identify the person.
PERSONAL_DATA_KEYS = frozenset(
    {"name", "title", "phone", "email", "wechat", "need", "landing_page", "utm_term", "utm_content"}
)
#: What replaces an erased import error message.
ERASED_TEXT = "[erased]"
#: Leads erased per transaction by the retention job.
RETENTION_BATCH_SIZE = 200
#: Consent fields another module may add to the lead; read when present.
CONSENT_FIELDS = ("consent_at", "consent_version")


# --------------------------------------------------------------------------------------
# Who, and which leads
# --------------------------------------------------------------------------------------


def can_handle_privacy_requests(user: Any) -> bool:
    """The lead desk and administrators answer data-subject requests."""
    return has_role(user, Role.LEAD_DESK)


def check_privacy_request(actor: Any) -> None:
    """403 unless the actor may export or erase a person's data."""
    if not can_handle_privacy_requests(actor):
        raise ServiceError(
            _("Only the lead desk or an administrator can handle personal data requests."),
            code="forbidden",
        )


def person_leads(lead: Lead) -> QuerySet[Lead]:
    """Every lead of the lead's person: the lead and those with its phone or email."""
    match = Q(pk=lead.pk)
    if lead.phone:
        match |= Q(phone=lead.phone)
    if lead.email:
        match |= Q(email=lead.email)
    return Lead.objects.filter(match).order_by("created_at", "id")


# --------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------


def _user(user: User | None) -> str | None:
    return user.get_username() if user is not None else None


def _jobs_mentioning(needles: list[str]) -> QuerySet[ImportJob]:
    """Import jobs whose error rows may mention one of ``needles`` (a coarse text match
    in the database; ``_mentions`` decides per row)."""
    mentions = Q(pk__in=[])
    for needle in needles:
        mentions |= Q(errors__icontains=needle)
    return ImportJob.objects.filter(mentions).order_by("pk")


def _mentions(error: Any, needles: list[str]) -> bool:
    """Whether one import error row mentions one of ``needles`` (lower-case)."""
    if not isinstance(error, dict):
        return False
    text = " ".join(str(value) for value in error.values()).lower()
    return any(needle in text for needle in needles)


def _needles(contacts: Iterable[str]) -> list[str]:
    """The person's phones and emails as matched in import errors (lower-case)."""
    return sorted({contact.lower() for contact in contacts if contact})


def _import_errors_mentioning(contacts: Iterable[str]) -> list[dict[str, Any]]:
    """Import error rows that mention one of the person's phones or emails."""
    needles = _needles(contacts)
    if not needles:
        return []
    return [
        {"import": job.pk, "file": job.original_name, **error}
        for job in _jobs_mentioning(needles)
        for error in job.errors
        if _mentions(error, needles)
    ]


def _rows_mentioning(needles: list[str], lead_ids: list[int]) -> QuerySet[ImportRow]:
    """Import rows of these leads, or whose messages mention one of ``needles``."""
    match = Q(lead_id__in=lead_ids)
    for needle in needles:
        match |= Q(messages__icontains=needle)
    return ImportRow.objects.filter(match).order_by("job_id", "row")


def _import_rows_mentioning(contacts: Iterable[str], lead_ids: list[int]) -> list[dict[str, Any]]:
    """The import rows that are about the person (their leads' rows, and refused rows whose
    messages quote one of their phones or emails)."""
    needles = _needles(contacts)
    return [
        {"import": row.job_id, "row": row.row, "outcome": row.outcome, "messages": row.messages}
        for row in _rows_mentioning(needles, lead_ids)
        if row.lead_id in lead_ids or _mentions({"m": row.messages}, needles)
    ]


def _lead_data(lead: Lead) -> dict[str, Any]:
    company = lead.company
    return {
        "id": lead.pk,
        "name": lead.name,
        "title": lead.title,
        "phone": lead.phone,
        "email": lead.email,
        "wechat": lead.wechat,
        "company": (
            {
                "name": company.name,
                "industry": company.industry,
                "size": company.size,
                "region": company.region,
            }
            if company is not None
            else None
        ),
        "product_interest": lead.product_interest,
        "budget": lead.budget,
        "timeline": lead.timeline,
        "decision_role": lead.decision_role,
        "need": lead.need,
        "source_campaign": lead.source_campaign.name if lead.source_campaign else None,
        "utm": {
            key: getattr(lead, key)
            for key in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
        },
        "landing_page": lead.landing_page,
        "stage": lead.stage,
        "grade": lead.grade,
        "grade_reason": lead.grade_reason,
        "score": lead.score,
        "owner": _user(lead.owner),
        "created_at": lead.created_at,
        "mql_at": lead.mql_at,
        "sql_at": lead.sql_at,
        "won_at": lead.won_at,
        "lost_at": lead.lost_at,
        "disqualified_at": lead.disqualified_at,
        "expected_amount": lead.expected_amount,
        "won_amount": lead.won_amount,
        "signed_at": lead.signed_at,
        "erased_at": lead.erased_at,
        # Consent (may be added by the capture's consent module): present or None.
        "consent": {name: getattr(lead, name, None) for name in CONSENT_FIELDS},
        "touches": [
            {
                "campaign": touch.campaign.name if touch.campaign else None,
                "kind": touch.kind,
                "occurred_at": touch.occurred_at,
                "utm_source": touch.utm_source,
                "utm_medium": touch.utm_medium,
                "landing_page": touch.landing_page,
                # What an arrival gave that differed from the lead (a conflict to review).
                "given": touch.given,
            }
            for touch in LeadTouch.objects.filter(lead=lead).select_related("campaign")
        ],
        "contact_reviews": [
            {
                "status": review.status,
                "import": review.job_id,
                "row": review.row,
                "given": review.touch.given,
                "created_at": review.created_at,
                "decided_at": review.decided_at,
                "decided_by": _user(review.decided_by),
                "new_lead": review.new_lead_id,
            }
            for review in ContactReview.objects.filter(lead=lead)
            .select_related("touch", "decided_by")
            .order_by("created_at", "id")
        ],
        "events": [
            {
                "kind": event.kind,
                "at": event.at,
                "from_stage": event.from_stage,
                "to_stage": event.to_stage,
                "actor": _user(event.actor),
                "reason": event.reason,
                "data": event.data,
            }
            for event in LeadEvent.objects.filter(lead=lead)
            .select_related("actor")
            .order_by("at", "id")
        ],
        "follow_ups": [
            {
                "at": follow_up.at,
                "author": _user(follow_up.author),
                "method": follow_up.method,
                "outcome": follow_up.outcome,
                "note": follow_up.note,
                "next_follow_up_at": follow_up.next_follow_up_at,
            }
            for follow_up in FollowUp.objects.filter(lead=lead)
            .select_related("author")
            .order_by("at", "id")
        ],
        "assignments": [
            {
                "at": assignment.at,
                "owner": _user(assignment.owner),
                "strategy": assignment.strategy,
                "reason": assignment.reason,
            }
            for assignment in Assignment.objects.filter(lead=lead)
            .select_related("owner")
            .order_by("at", "id")
        ],
    }


@transaction.atomic
def personal_data_export(*, lead: Lead, actor: User | None) -> dict[str, Any]:
    """Everything held about the lead's person, as JSON-ready values (dates and decimals
    are left to the JSON encoder); logged as a ``data_exported`` event on each lead."""
    check_privacy_request(actor)
    leads = list(person_leads(lead).select_related("company", "source_campaign", "owner"))
    contacts = {v for person in leads for v in (person.phone, person.email) if v}
    answer = {
        "exported_at": timezone.now(),
        "leads": [_lead_data(person) for person in leads],
        "import_errors": _import_errors_mentioning(sorted(contacts)),
        "import_rows": _import_rows_mentioning(sorted(contacts), [p.pk for p in leads]),
    }
    for person in leads:
        record_event(
            lead=person,
            kind=EventKind.DATA_EXPORTED,
            actor=actor,
            data={"request_lead": lead.pk},
        )
    return answer


# --------------------------------------------------------------------------------------
# Erasure
# --------------------------------------------------------------------------------------


def scrub_event_data(data: Any) -> Any:
    """An event's data without the person's values: identifying keys are emptied, and
    an edit's ``changed`` pairs of those keys become ``["", ""]`` (which field changed,
    and every code, id, amount and date, stay)."""
    if not isinstance(data, dict):
        return data
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if key == "changed" and isinstance(value, dict):
            clean[key] = {
                name: (["", ""] if name in PERSONAL_DATA_KEYS else change)
                for name, change in value.items()
            }
        elif key in PERSONAL_DATA_KEYS:
            clean[key] = ""
        else:
            clean[key] = value
    return clean


@dataclass(frozen=True)
class ErasureResult:
    """The leads erased by one request (none when all were erased already)."""

    lead_ids: list[int]
    erased_at: dt.datetime | None


def _erase_import_errors(contacts: set[str]) -> int:
    """Replace import error rows that mention one of ``contacts``; returns rows replaced."""
    needles = _needles(contacts)
    if not needles:
        return 0
    replaced = 0
    for job in _jobs_mentioning(needles).select_for_update():
        rows = []
        for error in job.errors:
            if _mentions(error, needles):
                rows.append({"row": error.get("row"), "column": "", "message": ERASED_TEXT})
                replaced += 1
            else:
                rows.append(error)
        job.errors = rows
        job.save(update_fields=["errors"])
    return replaced


def erase_leads(
    *, lead_ids: Iterable[int], actor: User | None, retention: bool = False
) -> ErasureResult:
    """Erase the personal data of these leads (the caller holds a transaction).

    Locks them, skips those already erased, wipes them as the module docstring says and
    appends one ``data_erased`` event each (actor ``None``: the retention job).
    """
    now = timezone.now()
    leads = list(
        Lead.objects.select_for_update()
        .filter(pk__in=list(lead_ids), erased_at__isnull=True)
        .order_by("pk")
    )
    if not leads:
        return ErasureResult(lead_ids=[], erased_at=None)
    ids = [lead.pk for lead in leads]
    contacts = {v for lead in leads for v in (lead.phone, lead.email) if v}
    for lead in leads:
        for name in ERASED_LEAD_FIELDS:
            setattr(lead, name, "")
        lead.erased_at = now
        lead.updated_at = now
    Lead.objects.bulk_update(leads, [*ERASED_LEAD_FIELDS, "erased_at", "updated_at"])
    FollowUp.objects.filter(lead_id__in=ids).update(note="", outcome="")
    # The values a conflicting arrival gave are personal data too; its review closes.
    LeadTouch.objects.filter(lead_id__in=ids).update(landing_page="", given={})
    ContactReview.objects.filter(lead_id__in=ids, status=ReviewStatus.OPEN).update(
        status=ReviewStatus.DISMISSED, decided_at=now
    )
    events = LeadEvent.objects.filter(lead_id__in=ids).only("pk", "reason", "data")
    rewrites = {
        event.pk: ("", scrub_event_data(event.data))
        for event in events
        if event.reason or scrub_event_data(event.data) != event.data
    }
    LeadEvent.objects.erase_personal_texts(rewrites)
    IdempotencyKey.objects.filter(response__lead__in=ids).delete()
    # In-app notifications about one of these leads carry the person's name in their text.
    Notification.objects.filter(lead_id__in=ids).delete()
    # So do the chat-robot messages about them: the log keeps its status and timings, the
    # texts go, and one not sent yet is never sent.
    Delivery.objects.filter(lead_id__in=ids).update(text="", payload={}, last_error="")
    Delivery.objects.filter(lead_id__in=ids, status__in=SENDABLE).update(
        status=DeliveryStatus.GAVE_UP, claimed_until=None
    )
    import_rows = _erase_import_errors(contacts)
    needles = _needles(contacts)
    if needles:  # refused rows quoting the person's contact: their messages go
        for row in _rows_mentioning(needles, []):
            if _mentions({"m": row.messages}, needles):
                ImportRow.objects.filter(pk=row.pk).update(
                    messages=[{"column": "", "message": ERASED_TEXT}]
                )
    for lead in leads:
        record_event(
            lead=lead,
            kind=EventKind.DATA_ERASED,
            actor=actor,
            at=now,
            data={"retention": retention, "import_error_rows": import_rows},
        )
    return ErasureResult(lead_ids=ids, erased_at=now)


@transaction.atomic
def person_erase(*, lead: Lead, actor: User | None, confirm: Any) -> ErasureResult:
    """Erase the lead's person: every one of their leads (``person_leads``).

    Refusals in the API's order: 403 (not desk/admin), 409 (this lead is erased
    already), 400 (``confirm`` is not true).
    """
    check_privacy_request(actor)
    if Lead.objects.filter(pk=lead.pk, erased_at__isnull=False).exists():
        raise ServiceError(_("This lead's personal data is already erased."), code="conflict")
    if confirm is not True and str(confirm).lower() not in ("true", "on", "1", "yes"):
        raise ServiceError(
            _("Confirm the erasure: it cannot be undone."), field="confirm", code="invalid"
        )
    ids = list(person_leads(lead).values_list("pk", flat=True))
    result = erase_leads(lead_ids=ids, actor=actor)
    if lead.pk not in result.lead_ids:
        # A parallel erasure of this person won the row locks and erased it first.
        raise ServiceError(_("This lead's personal data is already erased."), code="conflict")
    return result


# --------------------------------------------------------------------------------------
# Retention
# --------------------------------------------------------------------------------------


def retention_due_q(*, now: dt.datetime, days: int) -> Q:
    """Leads lost or disqualified more than ``days`` ago and not yet erased."""
    cutoff = now - dt.timedelta(days=days)
    return Q(erased_at__isnull=True) & (
        Q(stage=Stage.LOST, lost_at__lt=cutoff)
        | Q(stage=Stage.DISQUALIFIED, disqualified_at__lt=cutoff)
    )


def retention_erase(*, batch_size: int = RETENTION_BATCH_SIZE) -> int:
    """Erase leads closed (lost, disqualified) longer than ``RETENTION_DAYS`` ago, in
    batches of ``batch_size`` (one transaction each); 0 days means off. Only those leads
    are erased — not the person's other leads. Returns how many were erased; a second
    run finds none (erased leads are skipped)."""
    days = int(getattr(settings, "RETENTION_DAYS", 0) or 0)
    if days <= 0:
        return 0
    due = retention_due_q(now=timezone.now(), days=days)
    erased = 0
    while True:
        with transaction.atomic():
            ids = list(
                Lead.objects.filter(due).order_by("pk").values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return erased
            result = erase_leads(lead_ids=ids, actor=None, retention=True)
            erased += len(result.lead_ids)
        if len(ids) < batch_size:
            return erased
