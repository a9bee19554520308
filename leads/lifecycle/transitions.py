"""The stage changes of a lead: qualify, disqualify, accept, reject, to opportunity, win,
lose.

Each runs in one transaction: lock the lead row, ``check_action`` (rights, then stage),
check the arguments, set the stage and its timestamp, write exactly one ``LeadEvent`` and
announce what happened (side effects run after the commit, by subscription).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from leads.choices import (
    DisqualifyReason,
    EventKind,
    Grade,
    GradeSource,
    LoseReason,
    RejectReason,
    Stage,
)
from leads.lifecycle.announcements import Announcement, announce
from leads.lifecycle.primitives import (
    arriving,
    checked_reason_code,
    insert_rows,
    lock_lead,
    lock_leads,
    money,
    record_event,
    require_reason,
    save_lead,
)
from leads.lifecycle.rules import check_action
from leads.models import Lead, LeadEvent
from pipeline.errors import ServiceError


def lead_qualify(
    *,
    lead: Lead | int,
    actor: User | None,
    grade: str | None = None,
    reason: str = "",
    bulk: bool = False,
) -> Lead:
    """new → mql with a grade: the rule grade, or a manual grade with a reason.

    ``bulk``: one of many leads qualified by a bulk path (an import's auto-qualification);
    the announcement says so, and its routing waits on the ``bulk`` queue instead of
    delaying a new web lead on ``realtime``.

    A lead whose row the caller's transaction holds (``_row_locked``: auto-qualification
    while scoring) is qualified in the caller's atomic block, without a savepoint of its
    own: a refusal then undoes the caller's whole change, as it would propagate anyway."""
    held = isinstance(lead, Lead) and getattr(lead, "_row_locked", False)
    with transaction.atomic(savepoint=not held):
        return _qualify(lead=lead, actor=actor, grade=grade, reason=reason, bulk=bulk)


def _qualify(
    *, lead: Lead | int, actor: User | None, grade: str | None, reason: str, bulk: bool
) -> Lead:
    lead = lock_lead(lead)
    now, previous_grade = timezone.now(), lead.grade
    grade, reason = _qualified(lead, actor=actor, grade=grade, reason=reason, now=now)
    save_lead(lead, ["stage", "mql_at", "grade", "grade_source", "grade_reason"])
    record_event(lead=lead, actor=actor, at=now, **_qualified_event(lead, previous_grade, reason))
    pending = arriving(lead)
    if pending is not None:  # a new lead qualified before its insert: announced after it
        pending.after_insert.append((Announcement.QUALIFIED, {"bulk": bulk}))
    else:
        announce(Announcement.QUALIFIED, lead_id=lead.pk, bulk=bulk)
    return lead


def _qualified(
    lead: Lead, *, actor: User | None, grade: str | None, reason: str, now: dt.datetime
) -> tuple[str, str]:
    """The qualification rule, on a locked lead: check it, set its stage, ``mql_at`` and
    grade (a grade other than the rule grade is manual, with a reason). Returns the grade
    and the reason. Shared by one lead and a set (``leads_qualify_automatically``)."""
    check_action(lead=lead, actor=actor, action="qualify")
    reason = (reason or "").strip()
    if grade in (None, ""):
        if not lead.grade:
            raise ServiceError(
                _("This lead has no rule grade yet: choose a grade and give a reason."),
                field="grade",
            )
        grade = lead.grade
    if grade not in Grade.values:
        raise ServiceError(
            _("“%(grade)s” is not a grade; use A, B, C or D.") % {"grade": grade}, field="grade"
        )
    if grade != lead.grade:
        # Overriding (or supplying) the rule grade is a manual grade: it must say why.
        reason = require_reason(reason)
        lead.grade_source, lead.grade_reason = GradeSource.MANUAL, reason[:500]
    lead.stage, lead.mql_at, lead.grade = Stage.MQL, now, grade
    return grade, reason


def _qualified_event(lead: Lead, previous_grade: str, reason: str) -> dict[str, Any]:
    return {
        "kind": EventKind.QUALIFIED,
        "from_stage": Stage.NEW,
        "to_stage": Stage.MQL,
        "reason": reason,
        "data": {
            "grade": lead.grade,
            "previous_grade": previous_grade,
            "grade_source": lead.grade_source,
        },
    }


@transaction.atomic
def leads_qualify_automatically(lead_ids: Sequence[int]) -> list[int]:
    """new → mql for a set of leads, by the system with their rule grades (an import's
    auto-qualification): the same rule as ``lead_qualify`` (``_qualified``) on every lead,
    written set-based — the rows locked in id order, one ``UPDATE``, one insert of the
    events — and announced per lead as a bulk qualification. Returns the qualified ids.

    One statement per set instead of a lock, an update and an event per lead: the lead
    table's statement triggers (campaign figures) then run once per set, not per lead
    (docs/architecture.md, "Imports")."""
    leads = lock_leads(lead_ids)
    if not leads:
        return []
    now = timezone.now()
    columns = ("lead_id", "actor_id", "at", "kind", "from_stage", "to_stage", "reason", "data")
    events = []
    for lead in leads:
        previous_grade = lead.grade
        _grade, reason = _qualified(lead, actor=None, grade=None, reason="", now=now)
        event = _qualified_event(lead, previous_grade, reason)
        events.append((lead.pk, None, now, *(event[name] for name in columns[3:])))
    ids = [lead.pk for lead in leads]
    # The rule grade is kept (``grade`` and its source unchanged): only the stage moves.
    Lead.objects.filter(pk__in=ids).update(stage=Stage.MQL, mql_at=now, updated_at=now)
    insert_rows(LeadEvent, columns, events)
    for pk in ids:
        announce(Announcement.QUALIFIED, lead_id=pk, bulk=True)
    return ids


@transaction.atomic
def lead_disqualify(
    *, lead: Lead | int, actor: User | None, reason: str, reason_code: str | None = None
) -> Lead:
    """new/mql → disqualified, with a reason; an owner or pool place is released."""
    lead = lock_lead(lead)
    check_action(lead=lead, actor=actor, action="disqualify")
    reason = require_reason(reason)
    code = checked_reason_code(reason_code, DisqualifyReason)
    now, from_stage, previous_owner = timezone.now(), lead.stage, lead.owner_id
    lead.stage, lead.disqualified_at, lead.disqualify_reason = Stage.DISQUALIFIED, now, code
    lead.next_follow_up_at = None  # a closed lead has no next follow-up
    lead.owner, lead.in_pool = None, False
    save_lead(
        lead,
        ["stage", "disqualified_at", "disqualify_reason", "owner", "in_pool", "next_follow_up_at"],
    )
    record_event(
        lead=lead,
        kind=EventKind.DISQUALIFIED,
        actor=actor,
        at=now,
        from_stage=from_stage,
        to_stage=Stage.DISQUALIFIED,
        reason=reason,
        data={"reason_code": code, "previous_owner": previous_owner},
    )
    return lead


@transaction.atomic
def lead_accept(*, lead: Lead | int, actor: User) -> Lead:
    """Owned mql → sql: sales takes the lead."""
    lead = lock_lead(lead)
    check_action(lead=lead, actor=actor, action="accept")
    now = timezone.now()
    lead.stage, lead.sql_at = Stage.SQL, now
    save_lead(lead, ["stage", "sql_at"])
    announce(Announcement.ACCEPTED, lead_id=lead.pk)  # touches after sql_at earn no credit
    record_event(
        lead=lead,
        kind=EventKind.ACCEPTED,
        actor=actor,
        at=now,
        from_stage=Stage.MQL,
        to_stage=Stage.SQL,
        data={"owner": lead.owner_id},
    )
    return lead


@transaction.atomic
def lead_reject(
    *, lead: Lead | int, actor: User, reason: str, reason_code: str | None = None
) -> Lead:
    """Owned mql → mql without owner, back to the lead desk, with a reason."""
    lead = lock_lead(lead)
    check_action(lead=lead, actor=actor, action="reject")
    reason = require_reason(reason)
    code = checked_reason_code(reason_code, RejectReason)
    now, previous_owner = timezone.now(), lead.owner_id
    lead.owner, lead.assigned_at, lead.reject_reason = None, None, code
    save_lead(lead, ["owner", "assigned_at", "reject_reason"])
    record_event(
        lead=lead,
        kind=EventKind.REJECTED,
        actor=actor,
        at=now,
        from_stage=Stage.MQL,
        to_stage=Stage.MQL,
        reason=reason,
        data={"reason_code": code, "previous_owner": previous_owner},
    )
    return lead


@transaction.atomic
def lead_to_opportunity(*, lead: Lead | int, actor: User, expected_amount: Any) -> Lead:
    """sql → opportunity with an expected amount."""
    lead = lock_lead(lead)
    check_action(lead=lead, actor=actor, action="to_opportunity")
    amount = money(expected_amount, "expected_amount", positive=True)
    now = timezone.now()
    lead.stage, lead.opportunity_at, lead.expected_amount = Stage.OPPORTUNITY, now, amount
    save_lead(lead, ["stage", "opportunity_at", "expected_amount"])
    record_event(
        lead=lead,
        kind=EventKind.TO_OPPORTUNITY,
        actor=actor,
        at=now,
        from_stage=Stage.SQL,
        to_stage=Stage.OPPORTUNITY,
        data={"expected_amount": str(amount)},
    )
    return lead


@transaction.atomic
def lead_win(*, lead: Lead | int, actor: User, amount: Any, signed_at: dt.date | None) -> Lead:
    """sql/opportunity → won with the signed amount and date."""
    lead = lock_lead(lead)
    check_action(lead=lead, actor=actor, action="win")
    won = money(amount, "amount", positive=True)
    if signed_at is None:
        raise ServiceError(_("The signing date is required."), field="signed_at")
    if signed_at > timezone.localdate():
        raise ServiceError(_("The signing date cannot be in the future."), field="signed_at")
    now, from_stage = timezone.now(), lead.stage
    lead.stage, lead.won_at, lead.won_amount, lead.signed_at = Stage.WON, now, won, signed_at
    lead.next_follow_up_at = None  # a closed lead has no next follow-up
    save_lead(lead, ["stage", "won_at", "won_amount", "signed_at", "next_follow_up_at"])
    record_event(
        lead=lead,
        kind=EventKind.WON,
        actor=actor,
        at=now,
        from_stage=from_stage,
        to_stage=Stage.WON,
        data={"amount": str(won), "signed_at": signed_at.isoformat()},
    )
    return lead


@transaction.atomic
def lead_lose(
    *, lead: Lead | int, actor: User, reason: str, reason_code: str | None = None
) -> Lead:
    """sql/opportunity → lost with a reason."""
    lead = lock_lead(lead)
    check_action(lead=lead, actor=actor, action="lose")
    reason = require_reason(reason)
    code = checked_reason_code(reason_code, LoseReason)
    now, from_stage = timezone.now(), lead.stage
    lead.stage, lead.lost_at, lead.lost_reason = Stage.LOST, now, code
    lead.next_follow_up_at = None  # a closed lead has no next follow-up
    save_lead(lead, ["stage", "lost_at", "lost_reason", "next_follow_up_at"])
    record_event(
        lead=lead,
        kind=EventKind.LOST,
        actor=actor,
        at=now,
        from_stage=from_stage,
        to_stage=Stage.LOST,
        reason=reason,
        data={"reason_code": code},
    )
    return lead
