"""Who is told what: each source of a notification, as one function over plain ids.

The lifecycle's announcements reach these through ``notifications.subscribers`` (a task
each, after the commit); imports queue theirs by name; the SLA scan and digest and the
report jobs call ``notifications.services.notify`` themselves. Every function reads what it
needs and calls ``notify`` — the one path to people.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse

from assignment.models import Assignment
from leads.choices import EventKind, ImportStatus
from leads.models import ImportJob, Lead, LeadEvent, LeadTouch
from notifications.choices import Event
from notifications.services import notify
from pipeline.people import display_name
from reports.choices import ReportJobOrigin, ReportJobStatus
from reports.models import ReportJob

User = get_user_model()


def tell_assigned(*, lead_id: int, owner_id: int, previous_owner_id: int | None) -> int:
    """The new owner hears of the lead and why; the previous owner (a reassignment) hears
    who took it over, who decided and why. Returns how many notifications were written."""
    lead = Lead.objects.select_related("company").filter(pk=lead_id).first()
    if lead is None:
        return 0
    decision = (
        Assignment.objects.filter(lead_id=lead_id, owner_id=owner_id)
        .select_related("actor", "owner")
        .order_by("-at", "-id")
        .first()
    )
    why: dict[str, Any] = {}
    actor_id = None
    if decision is not None:
        actor_id = decision.actor_id
        why = {
            "reason_code": decision.reason_code,
            "reason_params": decision.reason_params,
            "reason": decision.reason,
        }
    told = notify(
        event=Event.LEAD_ASSIGNED,
        recipients=[owner_id],
        lead=lead,
        actor_id=actor_id,
        lead_name=lead.name,
        company=str(lead.company or ""),
        grade=lead.grade,
        **why,
    )
    if previous_owner_id and previous_owner_id != owner_id:
        owner = decision.owner if decision else User.objects.filter(pk=owner_id).first()
        told += notify(
            event=Event.LEAD_REASSIGNED,
            recipients=[previous_owner_id],
            lead=lead,
            actor_id=actor_id,
            lead_name=lead.name,
            owner=display_name(owner),
            by=display_name(decision.actor) if decision else "",
            **why,
        )
    return len(told)


def tell_assignments(*, assignments: Sequence[Sequence[int | None]]) -> int:
    """A lead's or a set's assignments, (lead, owner, previous owner) each: an owner given
    one lead hears of it as ``tell_assigned`` says; an owner given several hears once,
    with the list (``n``, ``items``); likewise a previous owner who lost several leads.
    Returns how many notifications were written."""
    rows = [(int(lead), int(owner), prev) for lead, owner, prev in assignments if lead and owner]
    gained: dict[int, list[int]] = defaultdict(list)
    lost: dict[int, list[tuple[int, int]]] = defaultdict(list)
    previous_of: dict[tuple[int, int], int | None] = {}
    for lead_id, owner_id, previous in rows:
        gained[owner_id].append(lead_id)
        previous_of[lead_id, owner_id] = previous
        if previous and previous != owner_id:
            lost[int(previous)].append((lead_id, owner_id))
    told = 0
    for owner_id, lead_ids in gained.items():
        if len(lead_ids) == 1:  # the one-lead notice, and its previous owner's
            lead_id = lead_ids[0]
            previous = previous_of[lead_id, owner_id]
            told += tell_assigned(lead_id=lead_id, owner_id=owner_id, previous_owner_id=previous)
            if previous and previous != owner_id:
                lost[int(previous)].remove((lead_id, owner_id))
    leads = {
        lead["pk"]: lead
        for lead in Lead.objects.filter(pk__in=[row[0] for row in rows]).values(
            "pk", "name", "grade"
        )
    }
    many = {owner: ids for owner, ids in gained.items() if len(ids) > 1}
    for owner_id, lead_ids in many.items():
        items = [_item(leads, lead_id) for lead_id in lead_ids if lead_id in leads]
        if items:
            told += len(
                notify(
                    event=Event.LEAD_ASSIGNED,
                    recipients=[owner_id],
                    url=reverse("sales:my_leads"),
                    n=len(items),
                    items=items,
                )
            )
    for previous, pairs in lost.items():
        if not pairs:
            continue
        owners = {
            user.pk: display_name(user)
            for user in User.objects.filter(pk__in={owner for _lead, owner in pairs})
        }
        items = [
            {**_item(leads, lead_id), "owner": owners.get(owner_id, "")}
            for lead_id, owner_id in pairs
            if lead_id in leads
        ]
        if items:
            told += len(
                notify(
                    event=Event.LEAD_REASSIGNED,
                    recipients=[previous],
                    lead=items[0]["id"] if len(items) == 1 else None,
                    url=reverse("sales:my_leads") if len(items) > 1 else "",
                    n=len(items),
                    items=items,
                )
            )
    return told


def _item(leads: Mapping[int, Mapping[str, Any]], lead_id: int) -> dict[str, Any]:
    lead = leads[lead_id]
    return {"id": lead_id, "name": lead["name"], "grade": lead["grade"]}


def tell_returned(*, lead_id: int, owner_id: int | None) -> int:
    """The owner hears that a known person came back (a new touch on their open lead)."""
    if owner_id is None:
        return 0
    lead = Lead.objects.filter(pk=lead_id).only("pk", "name").first()
    if lead is None:
        return 0
    touch = (
        LeadTouch.objects.filter(lead_id=lead_id)
        .select_related("campaign")
        .order_by("-occurred_at", "-id")
        .first()
    )
    return len(
        notify(
            event=Event.DUPLICATE_TOUCH,
            recipients=[owner_id],
            lead=lead,
            lead_name=lead.name,
            campaign=str(touch.campaign) if touch else "",
        )
    )


def tell_recycled(*, pairs: Sequence[Sequence[int | None]]) -> int:
    """Each previous owner hears which of their leads went back to the pool and why (one
    notification per owner, however many leads); nobody hears of their own recycle."""
    owners = {int(lead_id): owner for lead_id, owner in pairs if lead_id and owner}
    if not owners:
        return 0
    names = dict(Lead.objects.filter(pk__in=list(owners)).values_list("pk", "name"))
    latest: dict[int, LeadEvent] = {}
    for event in (
        LeadEvent.objects.filter(lead_id__in=list(owners), kind=EventKind.RECYCLED)
        .select_related("actor")
        .order_by("lead_id", "-at", "-id")
    ):
        latest.setdefault(event.lead_id, event)
    items: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for lead_id, owner_id in owners.items():
        event = latest.get(lead_id)
        if event is not None and event.actor_id == owner_id:
            continue  # they recycled it themselves
        person = event is not None and event.actor_id is not None
        items[owner_id].append(
            {
                "id": lead_id,
                "name": names.get(lead_id, ""),
                "code": (event.data or {}).get("reason_code", "") if event else "",
                # A person's typed reason; a job's reason is its code, worded per reader.
                "note": event.reason if person and event else "",
                "by": display_name(event.actor) if person and event else "",
            }
        )
    told = 0
    for owner_id, leads in items.items():
        told += len(
            notify(
                event=Event.LEAD_RECYCLED,
                recipients=[owner_id],
                lead=leads[0]["id"] if len(leads) == 1 else None,
                url="" if len(leads) == 1 else reverse("assignment:pool"),
                items=leads,
            )
        )
    return told


def tell_import_duplicates(*, job_id: int, owner_id: int, count: int) -> int:
    """One notification per owner per import: N of your open leads came back via a list."""
    job = ImportJob.objects.select_related("campaign").filter(pk=job_id).first()
    if job is None:
        return 0
    return len(
        notify(
            event=Event.DUPLICATE_TOUCH,
            recipients=[owner_id],
            url=reverse("sales:my_leads"),
            n=count,
            campaign=str(job.campaign),
            file=job.original_name,
        )
    )


def tell_import_done(*, job_id: int) -> int:
    """Whoever started an import hears that it finished (or stopped), with its counts."""
    job = ImportJob.objects.select_related("campaign").filter(pk=job_id).first()
    if job is None or job.status not in (ImportStatus.DONE, ImportStatus.FAILED):
        return 0
    return len(
        notify(
            event=Event.IMPORT_DONE,
            recipients=[job.created_by_id],
            url=reverse("imports:detail", args=[job.pk]),
            file=job.original_name,
            campaign=str(job.campaign),
            created=job.created,
            duplicates=job.duplicates,
            conflicts=job.conflicts,
            failed=job.failed,
            failed_job=job.status == ImportStatus.FAILED,
            message=job.message,
        )
    )


def tell_report_ready(*, job_id: int) -> int:
    """Whoever asked for a report job hears that it is ready (or failed); scheduled
    refreshes tell nobody."""
    job = ReportJob.objects.filter(pk=job_id).first()
    if (
        job is None
        or job.requested_by_id is None
        or job.origin == ReportJobOrigin.SCHEDULED
        or job.status not in (ReportJobStatus.DONE, ReportJobStatus.FAILED)
    ):
        return 0
    return len(
        notify(
            event=Event.REPORT_READY,
            recipients=[job.requested_by_id],
            url=reverse("reports:index"),
            n=job.processed,
            error=job.error if job.status == ReportJobStatus.FAILED else "",
        )
    )


def tell_lead_lists(
    *,
    event: Event,
    grouped: dict[int, list[dict[str, Any]]],
    kind: str = "",
) -> int:
    """SLA reminders, escalations and the overdue digest: one notification per recipient
    listing their leads (``{"name", "grade", "due"}`` each)."""
    told = 0
    for user_id, leads in grouped.items():
        params: dict[str, Any] = {"n": len(leads), "items": leads}
        if kind:
            params["kind"] = kind
        told += len(
            notify(event=event, recipients=[user_id], url=reverse("notifications:today"), **params)
        )
    return told
