"""The daily reminder of each rep's overdue follow-ups (a ``sla_reminder`` notification)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TypedDict

from django.db import transaction
from django.utils import timezone

from leads.models import Lead
from notifications.choices import Event
from notifications.events import tell_lead_lists
from reports.models import DigestSent
from reports.sla.compliance import overdue_q
from reports.sla.config import policies


class OverdueRow(TypedDict):
    owner_id: int
    name: str
    grade: str
    next_follow_up_at: dt.datetime | None


def digest_overdue(*, now: dt.datetime | None = None) -> int:
    """The daily reminder: each rep's overdue follow-ups, one notification per rep per day
    (in their language, by email too if they chose it).

    A ``DigestSent`` row per (rep, day) is claimed before sending, so a second run, or two
    workers at once, send nothing twice.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    rows = (
        Lead.objects.filter(overdue_q(now=now, by_grade=policies()))
        .values("owner_id", "name", "grade", "next_follow_up_at")
        .order_by("owner_id", "pk")
    )
    grouped: dict[int, list[OverdueRow]] = defaultdict(list)
    for row in rows.iterator(chunk_size=5000):
        grouped[row["owner_id"]].append(row)
    sent = 0
    for owner_id, items in grouped.items():
        with transaction.atomic():
            _claimed, created = DigestSent.objects.get_or_create(
                user_id=owner_id, day=day, defaults={"leads": len(items)}
            )
            if not created:
                continue
            tell_lead_lists(
                event=Event.SLA_REMINDER,
                grouped={owner_id: [{"name": x["name"], "grade": x["grade"]} for x in items]},
                kind="overdue",
            )
        sent += 1
    return sent
