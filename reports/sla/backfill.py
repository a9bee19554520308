"""Fill stored SLA figures for rows written before they were kept, or loaded in bulk."""

from __future__ import annotations

import datetime as dt
from typing import cast

from django.db.models import (
    Min,
    OuterRef,
    Q,
    Subquery,
)
from django.utils import timezone

from assignment.models import Assignment
from leads.lifecycle.followups import effective_at_expression
from leads.lifecycle.rules import OWNABLE_STAGES
from leads.models import FollowUp, Lead
from reports.calendar import (
    Calendar,
    add_working_hours,
    working_seconds_between,
)
from reports.sla.config import config, load_calendar


def backfill_sla_clocks(*, batch: int = 5000) -> int:
    """Fill SLA figures written before they were kept, or loaded in bulk (demo data,
    migrations from another CRM); safe to run again (only empty fields are filled).

    Leads: the first-response due time (and whether it was met) of open owned leads.
    Assignments to an owner: the due time, the owner's first follow-up at or after the
    assignment, and both delays in working seconds (routing: lead created → assignment;
    response: assignment → that follow-up). Returns the number of rows updated.
    """
    hours = config()["first_response"]
    calendars: dict[int, Calendar] = {}

    def calendar_for(moment: dt.datetime) -> Calendar:
        year = timezone.localdate(moment).year
        if year not in calendars:
            calendars[year] = load_calendar(around=dt.date(year, 7, 1))
        return calendars[year]

    # The owner's first follow-up since the assignment, at the time it counts for the SLA.
    owner_reply = (
        FollowUp.objects.annotate(counts_at=effective_at_expression())
        .filter(
            lead_id=OuterRef("pk"),
            author_id=OuterRef("owner_id"),
            counts_at__gte=OuterRef("assigned_at"),
        )
        .order_by()
        .values("lead_id")
        .annotate(first=Min("counts_at"))
        .values("first")
    )
    pending = (
        Lead.objects.filter(
            owner__isnull=False,
            stage__in=OWNABLE_STAGES,
            response_due_at__isnull=True,
            assigned_at__isnull=False,
        )
        .annotate(owner_reply=Subquery(owner_reply))
        .values_list("pk", "grade", "assigned_at", "owner_reply")
    )
    updated = 0
    rows: list[Lead] = []
    for pk, grade, assigned_at, first_contact in pending.iterator(chunk_size=batch):
        assigned_at = cast(dt.datetime, assigned_at)  # filtered on assigned_at__isnull=False
        due = add_working_hours(calendar_for(assigned_at), assigned_at, hours.get(grade or "D", 8))
        responded = first_contact if first_contact and first_contact >= assigned_at else None
        rows.append(Lead(pk=pk, response_due_at=due, responded_at=responded))
        if len(rows) >= batch:
            updated += len(rows)
            Lead.objects.bulk_update(rows, ["response_due_at", "responded_at"])
            rows = []
    Lead.objects.bulk_update(rows, ["response_due_at", "responded_at"])
    updated += len(rows)

    owned = Assignment.objects.filter(owner__isnull=False).exclude(strategy="pool")
    first_reply = (
        FollowUp.objects.annotate(counts_at=effective_at_expression())
        .filter(
            lead_id=OuterRef("lead_id"),
            author_id=OuterRef("owner_id"),
            counts_at__gte=OuterRef("at"),
        )
        .order_by()
        .values("lead_id")
        .annotate(first=Min("counts_at"))
        .values("first")
    )
    owned.filter(first_response_at__isnull=True).update(first_response_at=Subquery(first_reply))
    fields = ["response_due_at", "routing_work_seconds", "response_work_seconds"]
    missing = owned.filter(
        Q(response_due_at__isnull=True)
        | Q(routing_work_seconds__isnull=True)
        | Q(first_response_at__isnull=False, response_work_seconds__isnull=True)
    ).values_list("pk", "at", "lead__grade", "lead__created_at", "first_response_at", *fields)
    assignments: list[Assignment] = []
    for pk, at, grade, created, replied, due, routing, response in missing.iterator(
        chunk_size=batch
    ):
        calendar = calendar_for(at)
        if due is None and (grade or "D") in hours:
            due = add_working_hours(calendar, at, hours[grade or "D"])
        if routing is None:
            routing = working_seconds_between(calendar, created, at)
        if response is None and replied is not None:
            response = working_seconds_between(calendar, at, replied)
        assignments.append(
            Assignment(
                pk=pk,
                response_due_at=due,
                routing_work_seconds=routing,
                response_work_seconds=response,
            )
        )
        if len(assignments) >= batch:
            updated += len(assignments)
            Assignment.objects.bulk_update(assignments, fields)
            assignments = []
    Assignment.objects.bulk_update(assignments, fields)
    return updated + len(assignments)
