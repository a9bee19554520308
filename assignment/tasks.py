from __future__ import annotations

from celery import shared_task

from assignment.services import lead_route


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def route_lead_task(lead_id: int) -> None:
    """Route one lead; a no-op if it was routed already."""
    lead_route(lead=lead_id)


@shared_task(acks_late=True)
def reroute_after_sla_task(pairs: list[list[int]]) -> int:
    """Route leads the SLA scan took back, each without the owner who let it lapse."""
    from assignment.services import leads_reroute

    return leads_reroute(pairs=[(lead, owner) for lead, owner in pairs])
