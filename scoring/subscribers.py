"""Scoring listens to the lifecycle: a lead is (re)scored when it arrives, when its person
comes back (a new touch is a fact), and when a scored field is edited — in the transaction
that made the change (``in_transaction``), so no lead is committed without its rule grade,
whatever the queues are doing. Connected in ``ScoringConfig.ready()``.
"""

from __future__ import annotations

from leads.lifecycle.announcements import IN_TRANSACTION, Announcement, subscribe
from leads.models import Lead
from scoring.services import lead_score


def score(
    *,
    lead_id: int | None = None,
    lead: Lead | None = None,
    touch_kind: str = "",
    **_payload: object,
) -> None:
    """Score the lead now, in the announcing transaction (``scoring.services.lead_score``):
    the row itself when the arrival hands over the new lead it is about to insert
    (``lead``; its only touch is of ``touch_kind``), else read again by id."""
    if lead is not None:
        lead_score(lead=lead, touches=(1, [touch_kind]) if touch_kind else None)
    elif lead_id is not None:
        lead_score(lead=lead_id)


def connect() -> None:
    subscribe(Announcement.ARRIVED, score, moment=IN_TRANSACTION)
    subscribe(Announcement.RETURNED, score, moment=IN_TRANSACTION)
    subscribe(Announcement.CHANGED, score, moment=IN_TRANSACTION)
