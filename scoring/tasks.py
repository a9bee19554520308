from __future__ import annotations

from celery import shared_task

from scoring.services import rescore_job_run, rescore_resume


@shared_task(acks_late=True)
def rescore_job_task(job_id: int, version: int | None = None) -> None:
    """Bring open leads to a rule set version (debounced: a delivery for a version the job
    has left since does nothing); a second delivery is a no-op."""
    rescore_job_run(job_id=job_id, version=version)


@shared_task(acks_late=True)
def rescore_resume_task() -> int:
    """Beat: queue again the rescores whose worker died or whose queueing was lost."""
    return rescore_resume()
