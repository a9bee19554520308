"""What the notifications app does when the lifecycle announces something: queue the task
that tells the people concerned (after the commit). Connected in
``NotificationsConfig.ready()``; the table of every subscription is in
``docs/architecture.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

from leads.lifecycle.announcements import Announcement, subscribe
from notifications.tasks import tell_assignments_task, tell_recycled_task, tell_returned_task
from pipeline.queue import enqueue


def tell_owners_of_assignment(*, assignments: Sequence[Sequence[int | None]]) -> None:
    """The new owners (lead_assigned) and previous owners (lead_reassigned): one task for
    the lead or the set assigned together (a bulk batch), never one per lead."""
    if assignments:
        enqueue(tell_assignments_task, [list(row) for row in assignments])


def tell_owner_of_return(*, lead_id: int, owner_id: int | None) -> None:
    """The owner hears that their lead came back through another campaign."""
    if owner_id is not None:
        enqueue(tell_returned_task, lead_id, owner_id)


def tell_owners_of_recycle(*, pairs: Sequence[Sequence[int | None]], reroute: bool) -> None:
    """The previous owners hear that their leads went back to the pool."""
    if any(owner for _lead, owner in pairs):
        enqueue(tell_recycled_task, [list(pair) for pair in pairs])


def connect() -> None:
    subscribe(Announcement.ASSIGNED, tell_owners_of_assignment)
    subscribe(Announcement.RETURNED, tell_owner_of_return)
    subscribe(Announcement.RECYCLED, tell_owners_of_recycle)
