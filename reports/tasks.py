from __future__ import annotations

from celery import shared_task
from django.conf import settings

from pipeline.db import reading_replica
from reports.attainment.alerts import targets_at_risk_notify
from reports.rollups.build import rebuild_rollups, refresh_marked, sweep_recent
from reports.services import compliance_snapshot_store
from reports.sla.digest import digest_overdue
from reports.sla.scan import sla_scan
from reports.snapshots import report_job_run, snapshots_refresh_standard


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


@shared_task(acks_late=True)
@reading_replica()
def report_job_task(job_id: int) -> str | None:
    """Compute the reports of one job into snapshots (claimed: a second delivery is a
    no-op)."""
    job = report_job_run(job_id=job_id)
    return job.status if job is not None else None


@shared_task(acks_late=True)
@reading_replica()
def refresh_report_snapshots_task() -> str | None:
    """Beat: recompute the snapshots of the report pages' quick periods, every model."""
    job = snapshots_refresh_standard()
    return job.status if job is not None else None


@shared_task(acks_late=True)
def targets_at_risk_task() -> int:
    """Beat, weekly: tell the owners and managers of at-risk targets (once a week each)."""
    return targets_at_risk_notify()


@shared_task(acks_late=True)
def rollup_refresh_task() -> int:
    """Recompute the rollups of the days marked stale (debounced, realtime queue)."""
    return refresh_marked()


@shared_task(acks_late=True)
def rollup_rebuild_task() -> int:
    """Recompute every day's rollups (``manage.py rebuild_rollups``; reports queue)."""
    return rebuild_rollups()


@shared_task(acks_late=True)
def rollup_sweep_task() -> int:
    """Beat: mark the days of leads updated since the last sweeps (writers without a
    signal) and refresh every marked day, including marks whose queueing was lost."""
    return sweep_recent(seconds=3 * settings.ROLLUP_SWEEP_SECONDS)
