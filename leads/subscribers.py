"""What the leads app does when the lifecycle announces something: attribution credits
(in the transaction); telling people is ``notifications.subscribers``'. Connected in
``LeadsConfig.ready()``; the table of every subscription is in ``docs/architecture.md``.
"""

from __future__ import annotations

from leads.credits import recompute_credits
from leads.lifecycle.announcements import (
    IN_TRANSACTION,
    Announcement,
    subscribe,
)


def credit_touches(*, lead_ids: list[int], **_payload: object) -> None:
    """Recompute the attribution credits of these leads' touches."""
    recompute_credits(lead_ids)


def credit_accepted(*, lead_id: int) -> None:
    """Touches after ``sql_at`` stop earning credit: recompute the accepted lead's."""
    recompute_credits([lead_id])


def connect() -> None:
    subscribe(Announcement.TOUCHES_CHANGED, credit_touches, moment=IN_TRANSACTION)
    subscribe(Announcement.ACCEPTED, credit_accepted, moment=IN_TRANSACTION)
