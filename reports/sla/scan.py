"""The breach scan: late first responses up an escalation ladder, neglected leads back to
the pool.

Every step is idempotent: a breach row is unique per (lead, kind, level, assignment
cycle), so only the run that inserts it acts on it.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, TypedDict, cast

from django.db import connection, transaction
from django.db.models import (
    Case,
    Exists,
    F,
    Field,
    IntegerField,
    Model,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    UUIDField,
    Value,
    When,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, JSONObject
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from assignment.models import TeamMembership
from leads.choices import EventKind, Stage
from leads.lifecycle.ownership import leads_recycle_bulk
from leads.lifecycle.rules import OWNABLE_STAGES
from leads.models import Lead, LeadEvent
from notifications.choices import Event
from notifications.events import tell_lead_lists
from reports.calendar import (
    subtract_working_hours,
)
from reports.models import FinalAction, SlaBreach, SlaPolicy
from reports.sla.config import load_calendar, policies

logger = logging.getLogger(__name__)


@dataclass
class ScanResult:
    reminded: int = 0
    escalated: int = 0
    final: int = 0
    recycled_for_neglect: int = 0
    queries_hint: str = ""
    notes: list[str] = field(default_factory=list)


def _of_grade(grade: str) -> Q:
    """Leads of ``grade``; ungraded leads follow the D policy (as ``policy_for``)."""
    return Q(grade=grade) | Q(grade="") if grade == "D" else Q(grade=grade)


def _per_grade(conditions: dict[str, Q]) -> Q | None:
    """One condition from a condition per grade (None when no grade has one)."""
    combined = None
    for grade, condition in conditions.items():
        part = _of_grade(grade) & condition
        combined = part if combined is None else combined | part
    return combined


def _execute(sql: str, params: list[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rowcount: int = cursor.rowcount
        return rowcount


def _insert_select(
    model: type[Model], columns: dict[str, Combinable], queryset: QuerySet[Any]
) -> tuple[str, list[Any]]:
    """``INSERT INTO model (columns) SELECT …`` from ``queryset``, each column an
    expression over its rows (compiled by the ORM, so both databases get their dialect)."""
    qn = connection.ops.quote_name
    names = [f"col_{name}" for name in columns]
    select_sql, params = (
        queryset.annotate(**dict(zip(names, columns.values(), strict=True)))
        .values_list(*names)
        .query.sql_with_params()
    )
    # Concrete fields: ``get_field`` is typed to return any field or relation.
    fields = [cast("Field[Any, Any]", model._meta.get_field(name)) for name in columns]
    target = ", ".join(qn(f.column) for f in fields)
    return f"INSERT INTO {qn(model._meta.db_table)} ({target}) {select_sql}", list(params)


def _insert_breaches(
    leads: QuerySet[Lead], *, kind: str, level: int, run: uuid.UUID, now: dt.datetime, lock: bool
) -> int:
    """One breach row per lead of ``leads`` in one ``INSERT … SELECT … ON CONFLICT DO
    NOTHING``: the unique step key lets only the first scan (of two in parallel, or a
    repeat) insert it. Returns how many rows are new. With ``lock`` the leads are locked
    ``FOR UPDATE SKIP LOCKED`` until the transaction ends (a lead a transition holds now is
    left for the next scan)."""
    if lock:
        leads = leads.select_for_update(skip_locked=True, of=("self",))
    sql, params = _insert_select(
        SlaBreach,
        {
            "lead": F("pk"),
            "owner": F("owner_id"),
            "kind": Value(kind),
            "level": Value(level),
            "cycle": F("assigned_at"),
            "run": Value(run, output_field=UUIDField()),
            "at": Value(now),
        },
        leads.order_by("pk"),
    )
    return _execute(sql + " ON CONFLICT DO NOTHING", params)


def _breach_events(*, run: uuid.UUID, kind: str, level: int, now: dt.datetime) -> None:
    """An ``sla_breach`` event for each breach this run inserted, in one statement."""
    sql, params = _insert_select(
        LeadEvent,
        {
            "lead": F("lead_id"),
            "kind": Value(EventKind.SLA_BREACH.value),
            "from_stage": Value(""),
            "to_stage": Value(""),
            "actor": Cast(Value(None), IntegerField()),
            "at": Value(now),
            "reason": Value(""),
            "data": JSONObject(
                kind=F("kind"), level=F("level"), owner=F("owner_id"), due=Value(None)
            ),
        },
        SlaBreach.objects.filter(run=run, kind=kind, level=level).order_by("pk"),
    )
    _execute(sql, params)


def _has_breach(kind: str, level: int) -> Exists:
    """The lead has this step's breach in its current assignment cycle (any run)."""
    return Exists(
        SlaBreach.objects.filter(
            lead_id=OuterRef("pk"),
            owner_id=OuterRef("owner_id"),
            cycle=OuterRef("assigned_at"),
            kind=kind,
            level=level,
        )
    )


def sla_scan(*, now: dt.datetime | None = None) -> ScanResult:
    """Flag late first responses and walk the ladder; recycle leads neglected too long.

    Level 1 (due passed): remind the owner. Level 2 (``escalate_after_hours`` working hours
    later): tell the owner's team managers. Level 3 (``final_after_hours``): the policy's
    final action, recycle or reassign. Neglect: no follow-up for ``recycle_after_days`` →
    recycled to the pool ("wasted").

    Set-based: the number of SQL statements does not depend on the number of leads. Each
    step is an ``INSERT … SELECT`` of breach rows (unique per lead, step and assignment
    cycle, ``ON CONFLICT DO NOTHING``), one ``INSERT … SELECT`` of their events, and for
    levels 3 and neglect one bulk recycle (``leads.lifecycle.leads_recycle_bulk``). "N working
    hours past due" becomes one cut-off instant per grade, computed here from the business
    calendar. Notifications go out one per recipient (bounded by users, not leads). Leads that
    policy says to reassign are recycled with ``reroute``: routing, which subscribes to the
    recycle, routes them again after the commit without the owner who let them lapse.

    Concurrency: the level 3 and neglect steps lock the leads they take (``FOR UPDATE SKIP
    LOCKED``) from the breach insert to the recycle, in one transaction; a lead held by a
    transition right now is skipped and caught by the next scan, and a lead whose breach
    was recorded but whose recycle was skipped is recycled then (the recycle reads the
    breach of the current cycle, whichever run wrote it).
    """
    now = now or timezone.now()
    run = uuid.uuid4()
    calendar = load_calendar(around=timezone.localdate(now))
    by_grade = policies()
    result = ScanResult()

    def cutoff(hours: int) -> dt.datetime:
        return subtract_working_hours(calendar, now, hours)

    late = Q(
        owner__isnull=False,
        stage__in=OWNABLE_STAGES,
        responded_at__isnull=True,
        assigned_at__isnull=False,
        response_due_at__lt=now,
    )
    ladder = {
        1: _per_grade({grade: Q() for grade in by_grade}),
        2: _per_grade(
            {g: Q(response_due_at__lte=cutoff(p.escalate_after_hours)) for g, p in by_grade.items()}
        ),
        3: _per_grade(
            {
                g: Q(response_due_at__lte=cutoff(p.final_after_hours))
                for g, p in by_grade.items()
                if p.final_action != FinalAction.NONE
            }
        ),
    }
    kind = SlaBreach.Kind.FIRST_RESPONSE
    for level, condition in ladder.items():
        if condition is None:
            continue
        step = late & condition
        with transaction.atomic():
            new = _insert_breaches(
                Lead.objects.filter(step), kind=kind, level=level, run=run, now=now, lock=level == 3
            )
            _breach_events(run=run, kind=kind, level=level, now=now)
            if level == 3:
                reason = _("No first response within the SLA: taken back from the owner.")
                # Q & a conditional expression is a Q (the stubs type only Q & Q).
                taken = cast(Q, step & _has_breach(kind, 3))
                reassign = [
                    g for g, p in by_grade.items() if p.final_action == FinalAction.REASSIGN
                ]
                recycle_only = [g for g in by_grade if g not in reassign]
                for grades, reroute in ((recycle_only, False), (reassign, True)):
                    if grades:
                        leads_recycle_bulk(
                            # Not None: ``grades`` is not empty.
                            where=taken & cast(Q, _per_grade({g: Q() for g in grades})),
                            reason=reason,
                            reason_code="no_follow_up",
                            now=now,
                            reroute=reroute,
                        )
        if level == 1:
            result.reminded = new
            _remind_owners(run=run, kind=kind)
        elif level == 2:
            result.escalated = new
            _tell_managers(run=run, kind=kind)
        else:
            result.final = new
    result.recycled_for_neglect = _recycle_neglected(now=now, by_grade=by_grade, run=run)
    return result


class BreachRow(TypedDict):
    owner_id: int
    lead__name: str
    lead__grade: str
    lead__response_due_at: dt.datetime | None


def _breached(*, run: uuid.UUID, kind: str, level: int) -> list[BreachRow]:
    return list(
        SlaBreach.objects.filter(run=run, kind=kind, level=level)
        .order_by("owner_id", "lead_id")
        .values("owner_id", "lead__name", "lead__grade", "lead__response_due_at")
    )


def _items(rows: list[BreachRow]) -> list[dict[str, Any]]:
    return [
        {
            "name": x["lead__name"],
            "grade": x["lead__grade"],
            "due": x["lead__response_due_at"].isoformat() if x["lead__response_due_at"] else None,
        }
        for x in rows
    ]


def _remind_owners(*, run: uuid.UUID, kind: str) -> None:
    """Level 1: each owner gets one ``sla_reminder`` listing their late leads."""
    grouped: dict[int, list[BreachRow]] = defaultdict(list)
    for row in _breached(run=run, kind=kind, level=1):
        grouped[row["owner_id"]].append(row)
    tell_lead_lists(
        event=Event.SLA_REMINDER,
        grouped={owner_id: _items(items) for owner_id, items in grouped.items()},
        kind="first_response",
    )


def _tell_managers(*, run: uuid.UUID, kind: str) -> None:
    """Level 2: each manager of an owner's team gets one ``sla_escalation``."""
    rows = _breached(run=run, kind=kind, level=2)
    managers: dict[int, set[int]] = defaultdict(set)
    memberships = TeamMembership.objects.filter(
        user_id__in=SlaBreach.objects.filter(run=run, kind=kind, level=2).values("owner_id"),
        team__manager__isnull=False,
    ).values_list("user_id", "team__manager_id")
    for user_id, manager_id in memberships:
        if manager_id != user_id:
            managers[user_id].add(manager_id)
    grouped: dict[int, list[BreachRow]] = defaultdict(list)
    for row in rows:
        for manager_id in managers.get(row["owner_id"], ()):
            grouped[manager_id].append(row)
    tell_lead_lists(
        event=Event.SLA_ESCALATION,
        grouped={manager_id: _items(items) for manager_id, items in grouped.items()},
    )


def _recycle_neglected(*, now: dt.datetime, by_grade: dict[str, SlaPolicy], run: uuid.UUID) -> int:
    """Owned mql/sql leads with no activity for their grade's ``recycle_after_days``:
    one neglect breach each (the "wasted" count), and back to the pool — for every grade
    at once."""
    if not by_grade:
        return 0
    conditions, reasons = {}, []
    for grade, policy in by_grade.items():
        cutoff = now - dt.timedelta(days=policy.recycle_after_days)
        conditions[grade] = Q(assigned_at__lt=cutoff) & (
            Q(last_follow_up_at__isnull=True) | Q(last_follow_up_at__lt=cutoff)
        )
        reasons.append(
            When(
                _of_grade(grade),
                then=Value(
                    ngettext(
                        "No follow-up for %(n)d day: recycled to the pool.",
                        "No follow-up for %(n)d days: recycled to the pool.",
                        policy.recycle_after_days,
                    )
                    % {"n": policy.recycle_after_days}
                ),
            )
        )
    # Not None: ``by_grade`` is not empty.
    stale = Q(owner__isnull=False, stage__in=[Stage.MQL, Stage.SQL]) & cast(
        Q, _per_grade(conditions)
    )
    kind = SlaBreach.Kind.NEGLECT
    with transaction.atomic():
        _insert_breaches(
            Lead.objects.filter(stale), kind=kind, level=1, run=run, now=now, lock=True
        )
        done = leads_recycle_bulk(
            where=cast(Q, stale & _has_breach(kind, 1)),  # a Q, as ``taken`` above
            reason=Case(*reasons, default=Value(""), output_field=TextField()),
            reason_code="no_follow_up",
            now=now,
        )
    return len(done)
