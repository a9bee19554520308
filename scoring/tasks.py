from __future__ import annotations

from celery import shared_task

from scoring.services import lead_score, rescore_job_run, sweep_unscored


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def score_lead_task(lead_id: int) -> None:
    """Recompute one lead's score (on create, on a new touch, on a change of a scored field)."""
    lead_score(lead=lead_id)


@shared_task(acks_late=True)
def rescore_job_task(job_id: int) -> None:
    """Recompute every open lead for a rules/thresholds change; a second delivery is a no-op."""
    rescore_job_run(job_id=job_id)


@shared_task(acks_late=True)
def sweep_unscored_task() -> int:
    """Beat: score leads whose queued scoring never ran (broker down). Idempotent."""
    return sweep_unscored()
