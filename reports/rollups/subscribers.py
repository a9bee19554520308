"""What marks rollup days stale (``reports.rollups.marks``): model signals of leads and
touches (every save and delete through the ORM, whoever makes it) and the lifecycle's
``TOUCHES_CHANGED`` announcement (touches moved in bulk). Writers that bypass both (an
import's ``COPY``, set-based updates) set ``updated_at``, which the beat sweep reads
(``reports.rollups.build.sweep_recent``). Connected in ``ReportsConfig.ready()``; the
table of subscriptions is in ``docs/architecture.md``.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_init, post_save

from leads.lifecycle.announcements import IN_TRANSACTION, Announcement, subscribe
from leads.models import Lead, LeadTouch
from reports.rollups.marks import cohort_day, mark_days, mark_leads

#: The ``created_at`` a lead was loaded with, so a change of cohort day marks both days.
_LOADED = "_rollup_created_at"


def remember_cohort(*, instance: Lead, **_: Any) -> None:
    if "created_at" in instance.__dict__:  # not deferred: reading it costs no query
        setattr(instance, _LOADED, instance.created_at)


def lead_saved(*, instance: Lead, raw: bool = False, **_: Any) -> None:
    """Any saved lead: its cohort day, and the day it had when loaded if that moved."""
    if raw or instance.created_at is None:
        return
    days = {cohort_day(instance.created_at)}
    loaded = getattr(instance, _LOADED, None)
    if loaded is not None:
        days.add(cohort_day(loaded))
    setattr(instance, _LOADED, instance.created_at)
    mark_days(days)


def lead_deleted(*, instance: Lead, **_: Any) -> None:
    if instance.created_at is not None:
        mark_days([cohort_day(instance.created_at)])


def touch_changed(*, instance: LeadTouch, raw: bool = False, **_: Any) -> None:
    """A touch saved or deleted: its lead's cohort day (no query when the lead is loaded)."""
    if raw:
        return
    if LeadTouch.lead.is_cached(instance) and instance.lead.created_at is not None:
        mark_days([cohort_day(instance.lead.created_at)])
    elif instance.lead_id is not None:
        mark_leads([instance.lead_id])


def touches_changed(*, lead_ids: list[int]) -> None:
    """Touches moved between leads in bulk (a review merge): the days of those leads."""
    mark_leads(lead_ids)


def connect() -> None:
    post_init.connect(remember_cohort, sender=Lead, dispatch_uid="rollups-lead-init")
    post_save.connect(lead_saved, sender=Lead, dispatch_uid="rollups-lead-saved")
    post_delete.connect(lead_deleted, sender=Lead, dispatch_uid="rollups-lead-deleted")
    post_save.connect(touch_changed, sender=LeadTouch, dispatch_uid="rollups-touch-saved")
    post_delete.connect(touch_changed, sender=LeadTouch, dispatch_uid="rollups-touch-deleted")
    subscribe(Announcement.TOUCHES_CHANGED, touches_changed, moment=IN_TRANSACTION)
