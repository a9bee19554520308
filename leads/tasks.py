from __future__ import annotations

from celery import shared_task

from leads.exports import export_cleanup, export_run
from leads.imports import import_inspect, import_run, requeue_stale_imports, staging_cleanup
from leads.privacy import retention_erase


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_run_task(job_id: int) -> None:
    """Run an import; redelivered after a worker died, it resumes after the last batch."""
    import_run(job_id=job_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_inspect_task(job_id: int) -> None:
    """Read an uploaded file's headers for the column-mapping page (never in the request)."""
    import_inspect(job_id=job_id)


@shared_task(acks_late=True)
def requeue_stale_imports_task() -> int:
    """Beat: queue again the imports whose worker died or that were never picked up."""
    return requeue_stale_imports()


@shared_task(acks_late=True)
def import_staging_cleanup_task() -> int:
    """Beat, daily: drop uploads (jobs and files) whose column mapping nobody confirmed."""
    return staging_cleanup()


@shared_task(acks_late=True)
def retention_erase_task() -> int:
    """Beat, daily: erase leads lost or disqualified longer than ``RETENTION_DAYS`` ago."""
    return retention_erase()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def export_run_task(job_id: int) -> None:
    """Write a large lead export's file (``bulk`` queue); redelivered, it starts over."""
    export_run(job_id=job_id)


@shared_task(acks_late=True)
def export_cleanup_task() -> int:
    """Beat: delete the export files past their expiry."""
    return export_cleanup()
