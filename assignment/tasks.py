from __future__ import annotations

from celery import shared_task

from assignment.services import lead_route


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def route_lead_task(lead_id: int) -> None:
    """Route one lead; a no-op if it was routed already."""
    lead_route(lead=lead_id)
