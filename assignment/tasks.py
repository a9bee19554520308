from __future__ import annotations

from celery import shared_task

from assignment.bulk import leads_reroute, leads_route_set, sweep_unrouted
from assignment.services import lead_route


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


@shared_task(acks_late=True)
def route_leads_task(lead_ids: list[int]) -> int:
    """Route a set of qualified leads set-based (an import's auto-qualified leads); leads
    routed meanwhile are skipped. Returns how many got an owner."""
    return leads_route_set(lead_ids=lead_ids).assigned
