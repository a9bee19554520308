"""Routing listens to the lifecycle: a qualified lead is routed (when ``AUTO_ASSIGN`` is
on), and leads the SLA took back with ``reroute`` are routed again without their previous
owner. Connected in ``AssignmentConfig.ready()``.
"""

from __future__ import annotations

from django.conf import settings

from assignment.tasks import reroute_after_sla_task, route_lead_task
from leads.lifecycle.announcements import Announcement, subscribe
from pipeline.queue import enqueue


def route_qualified(*, lead_id: int, bulk: bool = False) -> None:
    """Queue routing; if the broker is down, ``sweep_unrouted`` catches up. A lead qualified
    by a bulk path (an import) is routed from the ``bulk`` queue, so 100,000 imported leads
    never stand in front of a new web lead on ``realtime``."""
    if settings.AUTO_ASSIGN:
        enqueue(route_lead_task, lead_id, queue="bulk" if bulk else None)


def reroute_recycled(*, pairs: list[tuple[int, int]], reroute: bool) -> None:
    if reroute and pairs:
        enqueue(reroute_after_sla_task, [[lead, owner] for lead, owner in pairs])


def connect() -> None:
    subscribe(Announcement.QUALIFIED, route_qualified)
    subscribe(Announcement.RECYCLED, reroute_recycled)
