from __future__ import annotations

from celery import shared_task

from reports.services import compliance_snapshot_store
from reports.sla import digest_overdue, sla_scan


@shared_task(acks_late=True)
def sla_scan_task() -> dict:
    """Beat: flag late first responses, escalate, recycle neglected leads. Idempotent."""
    result = sla_scan()
    return {
        "reminded": result.reminded,
        "escalated": result.escalated,
        "final": result.final,
        "recycled_for_neglect": result.recycled_for_neglect,
    }


@shared_task(acks_late=True)
def overdue_digest_task() -> int:
    """Beat, daily: each rep's overdue follow-ups in one email."""
    return digest_overdue()


@shared_task(acks_late=True)
def compliance_snapshot_task() -> int:
    """Beat, nightly: store yesterday's compliance per rep (upsert)."""
    return compliance_snapshot_store()
