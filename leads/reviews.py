"""Conflicting arrivals the desk reviews: a row (or arrival) whose phone or email matched
an open lead but that gave another name, or another email / phone (``ContactReview``).

The import kept it as a touch with what it gave (``LeadTouch.given``) and flagged the lead;
the desk (or an administrator) decides, through one service per decision:

- ``review_keep`` — the same person after all: the flag clears;
- ``review_update_contact`` — the same person with new details: the values the row gave
  that differ are applied to the lead through ``lead_update`` (its ``updated`` event);
- ``review_different_person`` — someone else who gave a shared or mistyped contact: the
  desk enters that person's own phone and/or email, a new lead is created through the one
  arrival service (``lead_create``, the touch's campaign as source), the touch moves to it,
  and both leads' credits are recomputed.

Each decision writes one ``contact_reviewed`` event on the flagged lead.

Refusals, in the API's order: 403 when the actor is not the desk or an administrator
(``check_can_review``; visibility — 404 — is the caller's scope, ``reviews_visible_to``),
409 when the review was decided already, 400 for a bad or still colliding contact.

Locking: each decision re-reads the review under ``select_for_update`` and checks it is
still open (check-then-do), then locks the lead; two desk users deciding one review at
once are serialised on that row, and the second is refused with a 409.

Application layer (``docs/architecture.md`` §2): above the lifecycle core, beside imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from leads.choices import EventKind, ReviewStatus
from leads.lifecycle import (
    Announcement,
    announce,
    clean_lead_fields,
    find_open_duplicate,
    lead_create,
    lead_update,
    lock_lead,
    record_event,
)
from leads.models import ContactReview, ImportRow, Lead, LeadTouch
from pipeline.errors import ServiceError
from pipeline.roles import Role, has_role

#: Who reads reviews (as import jobs: marketing, the desk, management) and who decides.
REVIEW_READERS = (Role.MARKETER, Role.LEAD_DESK, Role.MANAGER)
#: The lead fields a review compares and may apply, by their key in ``given``.
GIVEN_FIELDS = {"name": "name", "phone": "phone", "email": "email", "company": "company_name"}


def can_read_reviews(user: User | AnonymousUser | None) -> bool:
    return has_role(user, *REVIEW_READERS)


def can_review(user: User | AnonymousUser | None) -> bool:
    """The lead desk and administrators decide reviews."""
    return has_role(user, Role.LEAD_DESK)


def check_can_review(actor: User | AnonymousUser | None) -> None:
    if not can_review(actor):
        raise ServiceError(
            _("Only the lead desk or an administrator can decide a contact review."),
            code="forbidden",
        )


def reviews_visible_to(user: User | AnonymousUser | None) -> QuerySet[ContactReview]:
    """Every review for its readers, none for anyone else; with what a list shows."""
    reviews = ContactReview.objects.select_related(
        "lead__company", "lead__source_campaign", "touch__campaign", "job", "decided_by"
    ).order_by("created_at", "id")
    return reviews if can_read_reviews(user) else reviews.none()


def open_reviews(user: User | AnonymousUser | None) -> QuerySet[ContactReview]:
    return reviews_visible_to(user).filter(status=ReviewStatus.OPEN)


def desk_review_rows(reviews: QuerySet[ContactReview]) -> QuerySet[ContactReview]:
    """``reviews`` joined to only what the desk's review list shows: the lead with its
    company, the touch with its campaign. Each further join (the lead's campaign, the import
    job, the decider) multiplies the planner's work: planning the page with all of them took
    far longer than running it (docs/architecture.md, "Desk lists")."""
    return reviews.select_related(None).select_related("lead__company", "touch__campaign")


def search_reviews(reviews: QuerySet[ContactReview], text: str) -> QuerySet[ContactReview]:
    """Reviews whose lead or conflicting values match ``text`` (name, phone, email)."""
    text = (text or "").strip()[:100]
    if not text:
        return reviews
    return reviews.filter(
        Q(lead__name__icontains=text)
        | Q(touch__given__name__icontains=text)
        | Q(touch__given__email__icontains=text.lower())
        | Q(touch__given__phone__icontains=text)
    )


def differing_values(review: ContactReview, lead: Lead) -> dict[str, str]:
    """The values the arrival gave that differ from the lead now (lead field → value)."""
    given = review.touch.given or {}
    company = lead.company.name if lead.company_id and lead.company else ""
    current = {"name": lead.name, "phone": lead.phone, "email": lead.email, "company": company}
    return {
        GIVEN_FIELDS[key]: str(given[key])
        for key in GIVEN_FIELDS
        if given.get(key) and str(given[key]) != (current[key] or "")
    }


def _lock_open(review: ContactReview) -> ContactReview:
    """Re-read the review under a row lock; 409 unless it is still open."""
    locked = (
        ContactReview.objects.select_for_update(of=("self",))
        .select_related("touch")
        .filter(pk=review.pk)
        .first()
    )
    if locked is None:
        raise ServiceError(_("Review not found."), code="not_found")
    if locked.status != ReviewStatus.OPEN:
        raise ServiceError(
            _("This review was already decided: %(status)s.")
            % {"status": ReviewStatus(locked.status).label},
            code="conflict",
        )
    return locked


def _close(
    review: ContactReview,
    *,
    actor: User,
    lead: Lead,
    status: str,
    data: Mapping[str, Any] | None = None,
) -> ContactReview:
    review.status = status
    review.decided_by = actor
    review.decided_at = timezone.now()
    review.save(update_fields=["status", "decided_by", "decided_at", "new_lead"])
    record_event(
        lead=lead,
        kind=EventKind.CONTACT_REVIEWED,
        actor=actor,
        at=review.decided_at,
        data={"review": review.pk, "decision": status, **(data or {})},
    )
    return review


@transaction.atomic
def review_keep(*, review: ContactReview, actor: User) -> ContactReview:
    """The same person: the touch stays as it is and the lead's flag clears."""
    check_can_review(actor)
    review = _lock_open(review)
    lead = lock_lead(review.lead_id)
    return _close(review, actor=actor, lead=lead, status=ReviewStatus.KEPT)


@transaction.atomic
def review_update_contact(*, review: ContactReview, actor: User) -> ContactReview:
    """The same person with new details: the given values that differ from the lead are
    applied through ``lead_update`` (its ``updated`` event lists them; a phone or email
    another open lead holds is refused there with a 400 on that field)."""
    check_can_review(actor)
    review = _lock_open(review)
    lead = lock_lead(review.lead_id)
    changes = differing_values(review, lead)
    if changes:
        lead = lead_update(lead=lead, actor=actor, fields=changes)
    return _close(
        review,
        actor=actor,
        lead=lead,
        status=ReviewStatus.UPDATED,
        data={"fields": sorted(changes)},
    )


def _taken(field: str) -> ServiceError:
    if field == "phone":
        message = _("This phone number already belongs to an open lead: enter the person's own.")
    else:
        message = _("This email address already belongs to an open lead: enter the person's own.")
    return ServiceError(message, field=field)


def _held(field: str, value: str) -> bool:
    """Whether an open lead holds this phone or email (two open leads never share one)."""
    return find_open_duplicate(**{"phone": "", "email": "", field: value}) is not None


@transaction.atomic
def review_different_person(
    *,
    review: ContactReview,
    actor: User,
    phone: str = "",
    email: str = "",
    name: str = "",
) -> ContactReview:
    """Someone else: a new lead for them, with the contact the desk entered (a phone or
    email no open lead holds: two open leads never share one) and, where the desk entered
    none, the one the arrival gave if no open lead holds it; the name they gave (or
    ``name``) and their company; created by ``lead_create`` from the touch's campaign.
    The touch moves to the new lead as its first touch; both leads' credits are recomputed
    (``TOUCHES_CHANGED``)."""
    check_can_review(actor)
    review = _lock_open(review)
    old = lock_lead(review.lead_id)
    touch = review.touch
    given = touch.given or {}
    fields: dict[str, Any] = {
        "name": (name or given.get("name") or "").strip(),
        "phone": phone.strip(),
        "email": email.strip(),
    }
    if given.get("company"):
        fields["company_name"] = given["company"]
    data = clean_lead_fields(fields)
    for field in ("phone", "email"):
        if data.get(field) and _held(field, data[field]):
            raise _taken(field)
    # A contact the arrival gave that no open lead holds is the person's own: kept too.
    for field in ("phone", "email"):
        if not data.get(field) and given.get(field) and not _held(field, given[field]):
            fields[field] = data[field] = given[field]
    if not data.get("phone") and not data.get("email"):
        raise ServiceError(
            _("Enter the other person's own phone or email (or both)."), field="phone"
        )
    answer = lead_create(
        actor=actor,
        fields=fields,
        campaign=touch.campaign,
        touch_kind=touch.kind,
        occurred_at=touch.occurred_at,
    )
    if answer.duplicate:  # someone took the contact since the check
        raise _taken("phone" if data.get("phone") else "email")
    new = answer.lead
    # The arrival is this touch: it replaces the one lead_create wrote, as the first.
    LeadTouch.objects.filter(lead=new).exclude(pk=touch.pk).delete()
    was_first = touch.is_first
    touch.lead = new
    touch.is_first = True
    touch.given = {}
    touch.save(update_fields=["lead", "is_first", "given"])
    if was_first:
        earliest = LeadTouch.objects.filter(lead=old).order_by("occurred_at", "id").first()
        if earliest is not None:
            LeadTouch.objects.filter(pk=earliest.pk).update(is_first=True)
    if review.job_id is not None and review.row is not None:
        ImportRow.objects.filter(job_id=review.job_id, row=review.row).update(lead=new)
    announce(Announcement.TOUCHES_CHANGED, lead_ids=[old.pk, new.pk])
    review.new_lead = new
    return _close(
        review, actor=actor, lead=old, status=ReviewStatus.SPLIT, data={"new_lead": new.pk}
    )
