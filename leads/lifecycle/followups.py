"""Follow-ups: a rep's record of a call, visit or message, and what it does to the clocks.

A follow-up may be dated in the past (calls are logged after the fact) but never before the
lead was assigned to its author and never in the future. The owner's first one after an
assignment stops that assignment's SLA clock — at the time it counts for, ``effective_at``.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models, transaction
from django.db.models import Case, ExpressionWrapper, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from leads.choices import EventKind, FollowUpMethod
from leads.lifecycle.ownership import record_first_response
from leads.lifecycle.primitives import lock_lead, record_event, save_lead
from leads.lifecycle.rules import check_action
from leads.models import FollowUp, Lead
from pipeline.errors import ServiceError


def effective_at(at: dt.datetime, recorded_at: dt.datetime) -> dt.datetime:
    """When a follow-up counts for the SLA: at its stated time ``at`` when it was recorded
    within ``FOLLOW_UP_BACKDATE_HOURS`` of it, otherwise when it was recorded."""
    return recorded_at if is_backdated(at, recorded_at) else at


def backdate_window() -> dt.timedelta:
    return dt.timedelta(hours=settings.FOLLOW_UP_BACKDATE_HOURS)


def is_backdated(at: dt.datetime, recorded_at: dt.datetime) -> bool:
    """Recorded more than ``FOLLOW_UP_BACKDATE_HOURS`` after its stated time."""
    return recorded_at - at > backdate_window()


def backdated_q(prefix: str = "") -> Q:
    """The follow-ups recorded beyond the window (``prefix`` e.g. ``"follow_ups__"``)."""
    later = ExpressionWrapper(
        F(f"{prefix}at") + Value(backdate_window()), output_field=models.DateTimeField()
    )
    return Q(**{f"{prefix}recorded_at__gt": later})


def effective_at_expression(prefix: str = "") -> Case:
    """``effective_at`` in SQL, for queries over follow-ups."""
    return Case(
        When(backdated_q(prefix), then=F(f"{prefix}recorded_at")),
        default=F(f"{prefix}at"),
        output_field=models.DateTimeField(),
    )


@transaction.atomic
def follow_up_log(
    *,
    lead: Lead | int,
    actor: User,
    method: str,
    outcome: str = "",
    note: str = "",
    at: dt.datetime | None = None,
    next_follow_up_at: dt.datetime | None = None,
) -> FollowUp:
    """Log a contact: dated now or in the past, never in the future; next one in the future."""
    lead = lock_lead(lead)
    check_action(lead=lead, actor=actor, action="follow_up")
    now = timezone.now()
    at = at or now
    if method not in FollowUpMethod.values:
        raise ServiceError(
            _("“%(value)s” is not a valid choice.") % {"value": method}, field="method"
        )
    if at > now + dt.timedelta(minutes=1):
        raise ServiceError(_("A follow-up cannot be dated in the future."), field="at")
    if lead.owner_id == actor.pk and lead.assigned_at is not None and at < lead.assigned_at:
        raise ServiceError(
            _("A follow-up cannot be dated before the lead was assigned to you."), field="at"
        )
    if next_follow_up_at is not None and next_follow_up_at <= now:
        raise ServiceError(
            _("The next follow-up must be in the future."), field="next_follow_up_at"
        )
    follow_up = FollowUp.objects.create(
        lead=lead,
        author=actor,
        at=at,
        method=method,
        outcome=(outcome or "")[:200],
        note=note or "",
        next_follow_up_at=next_follow_up_at,
        recorded_at=now,
    )
    if lead.first_contact_at is None or at < lead.first_contact_at:
        lead.first_contact_at = at
    counts_at = effective_at(at, now)  # the SLA's time: a late-recorded one counts when written
    if lead.responded_at is None and lead.assigned_at is not None and counts_at >= lead.assigned_at:
        lead.responded_at = counts_at  # the current owner's first response stops the SLA clock
    record_first_response(lead, author_id=actor.pk, at=counts_at)
    if lead.last_follow_up_at is None or counts_at >= lead.last_follow_up_at:
        lead.last_follow_up_at = counts_at
        lead.next_follow_up_at = next_follow_up_at
    save_lead(lead, ["first_contact_at", "responded_at", "last_follow_up_at", "next_follow_up_at"])
    record_event(
        lead=lead,
        kind=EventKind.FOLLOW_UP,
        actor=actor,
        at=now,
        from_stage=lead.stage,
        to_stage=lead.stage,
        data={"follow_up": follow_up.pk, "method": method, "at": at.isoformat()},
    )
    return follow_up
