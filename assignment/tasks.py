from __future__ import annotations

from celery import shared_task

from assignment.services import lead_route, leads_reroute, sweep_unrouted


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def route_lead_task(lead_id: int) -> None:
    """Route one lead; a no-op if it was routed already."""
    lead_route(lead=lead_id)


@shared_task(acks_late=True)
def reroute_after_sla_task(pairs: list[list[int]]) -> int:
    """Route leads the SLA scan took back, each without the owner who let it lapse."""
    return leads_reroute(pairs=[(lead, owner) for lead, owner in pairs])


@shared_task(acks_late=True)
def sweep_unrouted_task() -> int:
    """Beat: route qualified leads whose queued routing never ran (broker down)."""
    return sweep_unrouted()
