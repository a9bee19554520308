"""What the leads app does when the lifecycle announces something: attribution credits
(in the transaction) and emails to the owner (after the commit). Connected in
``LeadsConfig.ready()``; the table of every subscription is in ``docs/architecture.md``.
"""

from __future__ import annotations

from leads.credits import recompute_credits
from leads.lifecycle.announcements import (
    IN_TRANSACTION,
    Announcement,
    subscribe,
)
from leads.tasks import notify_owner_task
from pipeline.queue import enqueue


def credit_touches(*, lead_ids: list[int]) -> None:
    """Recompute the attribution credits of these leads' touches."""
    recompute_credits(lead_ids)


def credit_accepted(*, lead_id: int) -> None:
    """Touches after ``sql_at`` stop earning credit: recompute the accepted lead's."""
    recompute_credits([lead_id])


def tell_new_owner(*, lead_id: int, owner_id: int, previous_owner_id: int | None) -> None:
    enqueue(notify_owner_task, lead_id, "assigned")


def tell_owner_of_return(*, lead_id: int, owner_id: int | None) -> None:
    """The owner hears that their lead came back through another campaign."""
    if owner_id is not None:
        enqueue(notify_owner_task, lead_id, "duplicate")


def connect() -> None:
    subscribe(Announcement.TOUCHES_CHANGED, credit_touches, moment=IN_TRANSACTION)
    subscribe(Announcement.ACCEPTED, credit_accepted, moment=IN_TRANSACTION)
    subscribe(Announcement.ASSIGNED, tell_new_owner)
    subscribe(Announcement.RETURNED, tell_owner_of_return)
