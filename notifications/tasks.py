"""Notification tasks: each calls one function of ``notifications.events`` or the
email sender of ``notifications.services``."""

from __future__ import annotations

from celery import shared_task

from notifications.events import (
    tell_assigned,
    tell_assignments,
    tell_import_done,
    tell_import_duplicates,
    tell_recycled,
    tell_returned,
)
from notifications.services import send_emails

_RETRY = {"acks_late": True, "autoretry_for": (ConnectionError,), "retry_backoff": True}


@shared_task(max_retries=5, **_RETRY)
def send_emails_task(notification_ids: list[int]) -> int:
    """Email one ``notify`` call's notifications (queued after its commit)."""
    return send_emails(notification_ids=notification_ids)


@shared_task(max_retries=3, **_RETRY)
def tell_assigned_task(lead_id: int, owner_id: int, previous_owner_id: int | None) -> int:
    return tell_assigned(lead_id=lead_id, owner_id=owner_id, previous_owner_id=previous_owner_id)


@shared_task(max_retries=3, **_RETRY)
def tell_assignments_task(assignments: list[list[int | None]]) -> int:
    """One lead's or one set's assignments (``tell_assigned_task`` stays for tasks queued
    before sets were told together)."""
    return tell_assignments(assignments=assignments)


@shared_task(max_retries=3, **_RETRY)
def tell_returned_task(lead_id: int, owner_id: int | None) -> int:
    return tell_returned(lead_id=lead_id, owner_id=owner_id)


@shared_task(max_retries=3, **_RETRY)
def tell_recycled_task(pairs: list[list[int | None]]) -> int:
    return tell_recycled(pairs=pairs)


@shared_task(max_retries=3, **_RETRY)
def tell_import_duplicates_task(job_id: int, owner_id: int, count: int) -> int:
    return tell_import_duplicates(job_id=job_id, owner_id=owner_id, count=count)


@shared_task(max_retries=3, **_RETRY)
def tell_import_done_task(job_id: int) -> int:
    return tell_import_done(job_id=job_id)
