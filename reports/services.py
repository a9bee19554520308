"""Writes of the reports app: compliance snapshots (the SLA scan lives in reports.sla)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from reports.models import ComplianceSnapshot
from reports.sla.compliance import compliance


@transaction.atomic
def compliance_snapshot_store(*, day: dt.date | None = None) -> int:
    """Store each rep's compliance for the cohort assigned on ``day`` (default: yesterday).

    Upserts one row per (day, user): running it twice has one effect.
    """
    day = day or timezone.localdate() - dt.timedelta(days=1)
    rows = compliance(start=day, end=day)
    for row in rows:
        ComplianceSnapshot.objects.update_or_create(
            day=day,
            user_id=row["user"],
            defaults={
                "assigned": row["assigned"],
                "due": row["due"],
                "in_time": row["in_time"],
                "median_response_hours": row["median_response_hours"],
                "p95_response_hours": row["p95_response_hours"],
                "overdue_now": row["overdue_now"],
                "wasted": row["wasted"],
            },
        )
    return len(rows)
