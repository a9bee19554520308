"""Scoring listens to the lifecycle: a lead is (re)scored when it arrives, when its person
comes back (a new touch is a fact), and when a scored field is edited. Connected in
``ScoringConfig.ready()``.
"""

from __future__ import annotations

from leads.lifecycle.announcements import Announcement, subscribe
from pipeline.queue import enqueue
from scoring.tasks import score_lead_task


def score(*, lead_id: int, **_payload: object) -> None:
    """Queue the lead's scoring; if the broker is down, ``sweep_unscored`` catches up."""
    enqueue(score_lead_task, lead_id)


def connect() -> None:
    subscribe(Announcement.ARRIVED, score)
    subscribe(Announcement.RETURNED, score)
    subscribe(Announcement.CHANGED, score)
