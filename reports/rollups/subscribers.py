"""What marks rollup days stale (``reports.rollups.marks``): model signals of leads and
touches (every save and delete through the ORM, whoever makes it), of campaigns (a move
to another channel), and the lifecycle's
``TOUCHES_CHANGED`` announcement (touches moved in bulk). Writers that bypass both (an
import's ``COPY``, set-based updates) set ``updated_at``, which the beat sweep reads
(``reports.rollups.build.sweep_recent``). Connected in ``ReportsConfig.ready()``; the
table of subscriptions is in ``docs/architecture.md``.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_init, post_save

from campaigns.models import Campaign
from leads.lifecycle.announcements import Announcement, subscribe
from leads.models import Lead, LeadTouch
from reports.rollups.marks import cohort_day, mark_days, mark_leads
from reports.rollups.models import RollupDay

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
    """A deleted lead: its cohort day. A lead deleted with ``created_at`` deferred (a
    set-based delete through ``.only("pk")``) cannot be read any more: every day."""
    created_at = instance.__dict__.get("created_at", getattr(instance, _LOADED, None))
    mark_days([cohort_day(created_at) if created_at is not None else None])


def touch_changed(*, instance: LeadTouch, raw: bool = False, **_: Any) -> None:
    """A touch saved or deleted: its lead's cohort day (no query when the lead is loaded)."""
    if raw:
        return
    if LeadTouch.lead.is_cached(instance) and instance.lead.created_at is not None:
        mark_days([cohort_day(instance.lead.created_at)])
    elif instance.lead_id is not None:
        mark_leads([instance.lead_id])


def leads_imported(*, lead_ids: list[int]) -> None:
    """An import batch wrote these leads and their touches set-based (no model signals):
    the days of those leads (after the commit)."""
    mark_leads(lead_ids)


def touches_changed(*, lead_ids: list[int], saved: bool = False) -> None:
    """Touches moved between leads in bulk (a review merge): the days of those leads
    (after the commit: the marks are written at once). Touches saved through the ORM
    (``saved``: a returning person's) marked their days with their own signal
    (``touch_changed``, in their transaction): nothing more to mark."""
    if saved:
        return
    mark_leads(lead_ids)


_CHANNEL = "_rollup_channel_id"


def remember_channel(*, instance: Campaign, **_: Any) -> None:
    if "channel_id" in instance.__dict__:
        setattr(instance, _CHANNEL, instance.channel_id)


def campaign_saved(
    *, instance: Campaign, created: bool = False, raw: bool = False, **_: Any
) -> None:
    """A campaign moved to another channel: the channel and funnel rollups of every day
    its touches or its sourced leads are in."""
    before = getattr(instance, _CHANNEL, None)
    setattr(instance, _CHANNEL, instance.channel_id)
    if raw or created or before is None or before == instance.channel_id:
        return
    days: set[Any] = set(
        RollupDay.objects.filter(campaign=instance).values_list("day", flat=True).distinct()
    )
    sourced = Lead.objects.filter(source_campaign=instance).order_by()
    days.update(cohort_day(at) for at in sourced.values_list("created_at", flat=True))
    mark_days(days)


def connect() -> None:
    post_init.connect(remember_channel, sender=Campaign, dispatch_uid="rollups-campaign-init")
    post_save.connect(campaign_saved, sender=Campaign, dispatch_uid="rollups-campaign-saved")
    post_init.connect(remember_cohort, sender=Lead, dispatch_uid="rollups-lead-init")
    post_save.connect(lead_saved, sender=Lead, dispatch_uid="rollups-lead-saved")
    post_delete.connect(lead_deleted, sender=Lead, dispatch_uid="rollups-lead-deleted")
    post_save.connect(touch_changed, sender=LeadTouch, dispatch_uid="rollups-touch-saved")
    post_delete.connect(touch_changed, sender=LeadTouch, dispatch_uid="rollups-touch-deleted")
    subscribe(Announcement.TOUCHES_CHANGED, touches_changed)
    subscribe(Announcement.IMPORTED, leads_imported)
