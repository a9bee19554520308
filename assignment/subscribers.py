"""Routing listens to the lifecycle: a qualified lead is routed (when ``AUTO_ASSIGN`` is
on), and leads the SLA took back with ``reroute`` are routed again without their previous
owner. Connected in ``AssignmentConfig.ready()``.
"""

from __future__ import annotations

from django.conf import settings

from assignment.bulk import collect_for_set_routing
from assignment.tasks import reroute_after_sla_task, route_lead_task
from leads.lifecycle.announcements import IN_TRANSACTION, Announcement, subscribe
from pipeline.queue import enqueue, enqueue_on_commit


def route_qualified(*, lead_id: int, bulk: bool = False) -> None:
    """Queue routing after the commit; if the broker is down, ``sweep_unrouted`` catches
    up. In the transaction, so that a bulk path qualifying many leads inside
    ``assignment.bulk.routed_as_a_set`` routes them as one set instead. A lead qualified by
    a bulk path outside such a set is routed from the ``bulk`` queue, so imported leads
    never stand in front of a new web lead on ``realtime``."""
    if settings.AUTO_ASSIGN and not collect_for_set_routing(lead_id):
        enqueue_on_commit(route_lead_task, lead_id, queue="bulk" if bulk else None)


def reroute_recycled(*, pairs: list[tuple[int, int]], reroute: bool) -> None:
    if reroute and pairs:
        enqueue(reroute_after_sla_task, [[lead, owner] for lead, owner in pairs])


def connect() -> None:
    subscribe(Announcement.QUALIFIED, route_qualified, moment=IN_TRANSACTION)
    subscribe(Announcement.RECYCLED, reroute_recycled)
