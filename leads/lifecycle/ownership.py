"""Who owns a lead: assignment, the pool (公海), recycling and claiming, and the record
of every ownership decision ("why this owner") with its SLA clock.

Every change of owner goes through here — a person on a page or the API, the router, the
SLA job, a bulk action — so the pool policy and the clock hold on every path. Each
function runs in one transaction and locks the lead row first (``lock_lead``);
``leads_recycle_bulk`` locks many rows with ``FOR UPDATE SKIP LOCKED`` instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Expression, F, Field, IntegerField, Q, Value
from django.db.models.functions import Cast, JSONObject
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from assignment import reasons
from assignment.models import Assignment, AssignmentRule, PoolPolicy
from assignment.reasons import DecisionReason
from assignment.selectors import manages_user
from leads.choices import EventKind, RecycleReason
from leads.lifecycle.announcements import Announcement, announce
from leads.lifecycle.primitives import (
    checked_reason_code,
    insert_rows,
    lock_lead,
    record_event,
    require_reason,
    save_lead,
)
from leads.lifecycle.rules import RECYCLE_STAGES, check_action
from leads.models import Lead, LeadEvent
from pipeline.errors import ServiceError
from pipeline.people import display_name
from pipeline.roles import SALES_ROLES, Role, has_role
from reports.sla.clock import DueClock, response_due, working_seconds


def start_sla_clock(lead: Lead, now: dt.datetime, *, clock: DueClock | None = None) -> None:
    """A new owner gets the grade's first-response time, in working hours (``clock``: the
    SLA clock of a set of leads assigned at ``now``, read once for the set)."""
    lead.response_due_at = (
        clock.response_due(lead.grade)
        if clock is not None
        else response_due(grade=lead.grade, assigned_at=now)
    )
    lead.responded_at = None


def check_owner_candidate(*, actor: User | None, owner: User) -> None:
    if not owner.is_active:
        raise ServiceError(
            _("%(user)s is not an active user.") % {"user": display_name(owner)}, field="owner"
        )
    if not has_role(owner, *SALES_ROLES):
        raise ServiceError(
            _("%(user)s is not in sales and cannot own leads.") % {"user": display_name(owner)},
            field="owner",
        )
    if (
        actor is not None
        and not actor.is_superuser
        and not has_role(actor, Role.LEAD_DESK)
        and not manages_user(actor, owner.pk)
    ):
        raise ServiceError(
            _("Sales managers can assign only to members of their own teams."), code="forbidden"
        )


#: The lead columns the assign transition reads (``AssignChecks``, ``ownership_change``):
#: a set locks its leads with only these (``lock_leads(fields=…)``).
ASSIGN_COLUMNS = ("stage", "owner", "in_pool", "grade", "created_at", "response_due_at")


class AssignChecks:
    """The checks of the assign transition, written once for one lead (``lead_assign``,
    ``lead_send_to_pool``) and for a set (``leads_assign_bulk``): the actor may assign the
    lead (``check_action``), the owner may own leads and the actor may give them theirs
    (``check_owner_candidate``), and the lead is not theirs already; without an owner, the
    lead is unowned and outside the pool.

    The answers depend on the lead's stage, owner and pool flag and on the new owner only,
    so a set checks each distinct combination once and every lead that has it gets the
    same answer (the same ``ServiceError``).
    """

    def __init__(self, actor: User | None) -> None:
        self.actor = actor
        self._leads: dict[tuple[str, int | None, bool], ServiceError | None] = {}
        self._owners: dict[int, ServiceError | None] = {}

    def check(self, lead: Lead, owner: User | None) -> None:
        """Raise the ``ServiceError`` the transition refuses with; ``owner`` None: the
        pool."""
        key = (lead.stage, lead.owner_id, lead.in_pool)
        if key not in self._leads:
            self._leads[key] = _raised(
                lambda: check_action(lead=lead, actor=self.actor, action="assign")
            )
        if (error := self._leads[key]) is not None:
            raise error
        if owner is None:
            if lead.owner_id is not None or lead.in_pool:
                raise ServiceError(
                    _("Only an unowned lead outside the pool can be sent to the pool."),
                    code="wrong_stage",
                )
            return
        if owner.pk not in self._owners:
            self._owners[owner.pk] = _raised(
                lambda: check_owner_candidate(actor=self.actor, owner=owner)
            )
        if (error := self._owners[owner.pk]) is not None:
            raise error
        if lead.owner_id == owner.pk:
            raise ServiceError(
                _("%(user)s already owns this lead.") % {"user": display_name(owner)},
                field="owner",
            )


def _raised(check: Callable[[], None]) -> ServiceError | None:
    try:
        check()
    except ServiceError as error:
        return error
    return None


def decision_reason(
    *,
    strategy: str,
    why: DecisionReason | None,
    reason: str,
    actor: User | None,
    texts: dict[tuple[str, str], str] | None = None,
) -> tuple[DecisionReason | None, str]:
    """A decision's reason as code and parameters and as stored text (one lead or a set):
    a person's typed text is kept (trimmed), a manual decision is coded ``manual``, and a
    coded reason is stored in the site language. ``texts``: a set's reasons already worded
    (by code and parameters), each distinct one worded once."""
    reason = (reason or "").strip()[:2000]
    if strategy == "manual":
        why = reasons.manual(user=display_name(actor), text=reason)
    if why is not None:
        if texts is None:
            return why, why.stored_text()
        key = (why.code, repr(why.params))
        if key not in texts:
            texts[key] = why.stored_text()
        reason = texts[key]
    return why, reason


#: The columns of an ownership decision's ``LeadEvent`` and ``Assignment`` rows, in the
#: order ``ownership_change`` gives their values (``insert_rows`` writes a set of them).
EVENT_COLUMNS = ("lead_id", "kind", "actor_id", "at", "from_stage", "to_stage", "reason", "data")
RECORD_COLUMNS = (
    "lead_id",
    "owner_id",
    "previous_owner_id",
    "actor_id",
    "strategy",
    "reason",
    "reason_code",
    "reason_params",
    "rule_id",
    "rule_name",
    "at",
    "response_due_at",
    "routing_work_seconds",
)


def assignment_values(
    *,
    lead: Lead,
    owner_id: int | None,
    previous_owner_id: int | None,
    actor: User | None,
    strategy: str,
    why: DecisionReason | None,
    reason: str,
    rule: AssignmentRule | None = None,
    at: dt.datetime,
    clock: DueClock | None = None,
) -> tuple[Any, ...]:
    """The values (``RECORD_COLUMNS``) of one decision's record: ``why`` as code and
    parameters (worded in the reader's language when shown), ``reason`` as text in the site
    language (or as given, for a decision without a code). A decision with an owner keeps
    its SLA figures; compliance only aggregates them. ``clock``: the SLA clock of a set
    assigned at ``at`` (the same figures as ``working_seconds``, the calendar walked once).
    """
    due = seconds = None
    if owner_id is not None:
        due = lead.response_due_at
        seconds = (
            working_seconds(lead.created_at, at)
            if clock is None
            else clock.working_seconds_since(lead.created_at)
        )
    return (
        lead.pk,
        owner_id,
        previous_owner_id,
        actor.pk if actor is not None else None,
        strategy,
        reason,
        why.code if why else "",
        why.params if why else {},
        rule.pk if rule is not None else None,
        rule.name if rule is not None else "",
        at,
        due,
        seconds,
    )


def _save_event(values: tuple[Any, ...]) -> None:
    """Save one event (``EVENT_COLUMNS`` values)."""
    LeadEvent.objects.create(**dict(zip(EVENT_COLUMNS, values, strict=True)))


def _save_record(values: tuple[Any, ...]) -> None:
    """Save one decision's record (``RECORD_COLUMNS`` values)."""
    Assignment.objects.create(**dict(zip(RECORD_COLUMNS, values, strict=True)))


def ownership_change(
    lead: Lead,
    *,
    owner_id: int | None,
    actor: User | None,
    strategy: str,
    why: DecisionReason | None,
    reason: str,
    rule: AssignmentRule | None,
    now: dt.datetime,
    extra: Mapping[str, Any] | None = None,
    clock: DueClock | None = None,
    texts: dict[tuple[str, str], str] | None = None,
) -> tuple[tuple[Any, ...], tuple[Any, ...], int | None]:
    """The assign transition (``owner_id``; ``lead_send_to_pool``'s pool when None) on a
    locked, checked lead, written once for one lead (``lead_assign``, ``lead_send_to_pool``)
    and for a set (``leads_assign_bulk``): the lead's fields change in memory, and the
    values of its event (``EVENT_COLUMNS``) and decision record (``RECORD_COLUMNS``) are
    returned with the previous owner. The caller saves them (one lead) or inserts them with
    the set's. ``extra``: more data for the event."""
    strategy = strategy if owner_id is not None else "pool"
    why, reason = decision_reason(
        strategy=strategy, why=why, reason=reason, actor=actor, texts=texts
    )
    previous_owner = lead.owner_id
    actor_id = actor.pk if actor is not None else None
    if owner_id is None:
        lead.in_pool, lead.pooled_at = True, now
        kind, data = EventKind.POOLED.value, _reason_data(why)
        rule = None
    else:
        lead.owner_id, lead.in_pool, lead.assigned_at = owner_id, False, now
        start_sla_clock(lead, now, clock=clock)
        kind = (EventKind.REASSIGNED if previous_owner else EventKind.ASSIGNED).value
        data = _assign_event_data(
            owner_id=owner_id, previous_owner=previous_owner, strategy=strategy, rule=rule, why=why
        )
    if extra:
        data = {**data, **extra}
    event = (lead.pk, kind, actor_id, now, lead.stage, lead.stage, reason, data)
    record = assignment_values(
        lead=lead,
        owner_id=owner_id,
        previous_owner_id=previous_owner,
        actor=actor,
        strategy=strategy,
        why=why,
        reason=reason,
        rule=rule,
        at=now,
        clock=clock,
    )
    return event, record, previous_owner


def _assign_event_data(
    *,
    owner_id: int,
    previous_owner: int | None,
    strategy: str,
    rule: AssignmentRule | None,
    why: DecisionReason | None,
) -> dict[str, Any]:
    """The ``assigned`` / ``reassigned`` event's data (one lead or a set)."""
    return {
        "owner": owner_id,
        "previous_owner": previous_owner,
        "strategy": strategy,
        "rule": getattr(rule, "pk", None),
        **_reason_data(why),
    }


def _reason_data(why: DecisionReason | None) -> dict[str, Any]:
    """What the decision's event keeps of ``why`` (events are append-only: written once)."""
    return {"reason_code": why.code, "reason_params": why.params} if why else {}


def record_first_response(lead: Lead, *, author_id: int, at: dt.datetime) -> None:
    """The owner's earliest follow-up at or after their assignment stops that assignment's
    clock: ``first_response_at`` and the working seconds it took (a follow-up dated earlier
    than one already counted replaces it). Follow-ups by anyone else do not count."""
    if author_id != lead.owner_id:
        return
    current = (
        Assignment.objects.filter(lead_id=lead.pk, owner_id=author_id, at__lte=at)
        .order_by("-at", "-id")
        .values("pk", "at", "first_response_at")
        .first()
    )
    if current is None or (current["first_response_at"] or at) < at:
        return
    Assignment.objects.filter(pk=current["pk"]).update(
        first_response_at=at, response_work_seconds=working_seconds(current["at"], at)
    )


@transaction.atomic
def lead_assign(
    *,
    lead: Lead | int,
    actor: User | None,
    owner: User,
    reason: str = "",
    strategy: str = "manual",
    rule: AssignmentRule | None = None,
    data: Mapping[str, Any] | None = None,
    why: DecisionReason | None = None,
) -> Lead:
    """Give the lead an owner (mql/sql/opportunity stay in their stage).

    Used by people (desk, sales managers; ``strategy="manual"``, ``reason`` is what they
    typed) and by the router (``actor=None``, with the rule and strategy that decided and
    ``why``); an owned lead is reassigned. Writes one ``LeadEvent`` and one ``Assignment``
    ("why this owner"), both with the reason as code and parameters plus its text.
    """
    lead = lock_lead(lead)
    AssignChecks(actor).check(lead, owner)
    now = timezone.now()
    event, record, previous_owner = ownership_change(
        lead,
        owner_id=owner.pk,
        actor=actor,
        strategy=strategy,
        why=why,
        reason=reason,
        rule=rule,
        now=now,
        extra=data,
    )
    lead.owner = owner
    save_lead(lead, ["owner", "in_pool", "assigned_at", "response_due_at", "responded_at"])
    _save_event(event)
    _save_record(record)
    announce(Announcement.ASSIGNED, assignments=[(lead.pk, owner.pk, previous_owner)])
    return lead


@transaction.atomic
def lead_send_to_pool(
    *, lead: Lead | int, actor: User | None, reason: str = "", why: DecisionReason | None = None
) -> Lead:
    """Put an unowned lead in the pool (the router's answer when nobody is eligible).

    ``why`` (code and parameters) is the router's; ``reason`` is plain text for callers
    without a code."""
    lead = lock_lead(lead)
    AssignChecks(actor).check(lead, None)
    event, record, _previous = ownership_change(
        lead,
        owner_id=None,
        actor=actor,
        strategy="pool",
        why=why,
        reason=reason,
        rule=None,
        now=timezone.now(),
    )
    save_lead(lead, ["in_pool", "pooled_at"])
    _save_event(event)
    _save_record(record)
    return lead


@transaction.atomic
def lead_recycle(
    *, lead: Lead | int, actor: User | None, reason: str, reason_code: str | None = None
) -> Lead:
    """Owned mql/sql → same stage, no owner, in the pool (公海)."""
    lead = lock_lead(lead)
    check_action(lead=lead, actor=actor, action="recycle")
    reason = require_reason(reason)
    code = checked_reason_code(reason_code, RecycleReason)
    now, previous_owner = timezone.now(), lead.owner_id
    changes = _recycled(now=now, code=code)
    for name, value in changes.items():
        setattr(lead, name, value)
    save_lead(lead, changes)
    record_event(
        lead=lead,
        kind=EventKind.RECYCLED,
        actor=actor,
        at=now,
        from_stage=lead.stage,
        to_stage=lead.stage,
        reason=reason,
        data=_recycle_event_data(code=code, previous_owner=previous_owner),
    )
    announce(Announcement.RECYCLED, pairs=[(lead.pk, previous_owner)], reroute=False)
    return lead


# The recycle transition, written once for ``lead_recycle`` and ``leads_recycle_bulk``:
# which leads qualify (``RECYCLE_STAGES``), what changes on the lead, and what its event
# records.


def _recycled(*, now: dt.datetime, code: str) -> dict[str, Any]:
    """The lead's fields after recycling: no owner, in the pool, the SLA clock stopped, no
    next follow-up inherited by whoever claims it."""
    return {
        "next_follow_up_at": None,
        "owner_id": None,
        "in_pool": True,
        "pooled_at": now,
        "recycle_reason": code,
        "response_due_at": None,
        "responded_at": None,
    }


def _recycle_event_data(*, code: Any, previous_owner: Any) -> dict[str, Any]:
    """The ``recycled`` event's data; the bulk path passes SQL expressions as values."""
    return {"reason_code": code, "previous_owner": previous_owner}


def _lock_claimer(actor: User) -> None:
    """Serialise ``actor``'s claims with a row lock on their user row (see ``lead_claim``).
    No actor (the system) locks nothing: ``check_action`` refuses it."""
    if actor is None or not actor.is_authenticated:
        return
    list(User.objects.select_for_update().filter(pk=actor.pk).values_list("pk"))


def claims_today(actor: User) -> int:
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return LeadEvent.objects.filter(kind=EventKind.CLAIMED, actor=actor, at__gte=start).count()


@transaction.atomic
def lead_claim(*, lead: Lead | int, actor: User) -> Lead:
    """A pooled lead becomes the claimer's; the row lock makes one of two racers win.

    Locking: the claimer's user row first (``SELECT … FOR UPDATE`` on ``auth_user``), then
    the lead row. The user lock serialises one person's claims, so the daily count read
    after it includes every claim of theirs already committed and parallel claims stop at
    exactly the limit; claims by different people never wait on each other for it. The
    order (claimer, then lead) is the same on every claim, so two claims cannot deadlock.
    """
    _lock_claimer(actor)
    lead = lock_lead(lead)
    check_action(lead=lead, actor=actor, action="claim")
    policy = PoolPolicy.current()
    if claims_today(actor) >= policy.daily_claim_limit:
        raise ServiceError(
            _("You have reached today's limit of %(limit)d claims from the pool.")
            % {"limit": policy.daily_claim_limit},
            code="forbidden",
        )
    if policy.reclaim_cooldown_days:
        since = timezone.now() - dt.timedelta(days=policy.reclaim_cooldown_days)
        dropped = (
            LeadEvent.objects.filter(
                lead=lead,
                kind__in=[EventKind.RECYCLED, EventKind.REJECTED],
                at__gte=since,
                data__previous_owner=actor.pk,
            )
            .order_by("-at")
            .first()
        )
        if dropped is not None:
            until = timezone.localtime(dropped.at + dt.timedelta(days=policy.reclaim_cooldown_days))
            raise ServiceError(
                _("You dropped this lead on %(date)s; you may claim it again after %(until)s.")
                % {
                    "date": formats.date_format(
                        timezone.localtime(dropped.at), "SHORT_DATE_FORMAT"
                    ),
                    "until": formats.date_format(until, "SHORT_DATETIME_FORMAT"),
                },
                code="forbidden",
            )
    now = timezone.now()
    lead.owner, lead.in_pool, lead.assigned_at = actor, False, now
    lead.next_follow_up_at = None  # the claimer plans their own; none inherited
    start_sla_clock(lead, now)
    save_lead(
        lead,
        [
            "owner",
            "in_pool",
            "assigned_at",
            "response_due_at",
            "responded_at",
            "next_follow_up_at",
        ],
    )
    record_event(
        lead=lead,
        kind=EventKind.CLAIMED,
        actor=actor,
        at=now,
        from_stage=lead.stage,
        to_stage=lead.stage,
        data={"owner": actor.pk},
    )
    why = DecisionReason(reasons.CLAIMED, {"user": display_name(actor)})
    _save_record(
        assignment_values(
            lead=lead,
            owner_id=actor.pk,
            previous_owner_id=None,
            actor=actor,
            strategy="claim",
            why=why,
            reason=why.stored_text(),
            at=now,
        )
    )
    return lead


def leads_recycle_bulk(
    *,
    where: Q,
    reason: str | Expression,
    reason_code: str,
    now: dt.datetime,
    reroute: bool = False,
) -> list[tuple[int, int]]:
    """The recycle transition for every lead matching ``where`` (the SLA job), in a number
    of SQL statements that does not depend on how many leads match.

    Same rule as ``lead_recycle``: owned leads in ``RECYCLE_STAGES`` go to the pool with
    the same field values and one ``recycled`` event each (actor: the system). ``reason``
    may be an expression over the lead (e.g. a text per grade). Returns (lead id, previous
    owner) of the leads recycled; with ``reroute`` the recycle announcement asks routing
    to route them again at once, never back to that owner.

    Concurrency: on PostgreSQL one statement locks the matching rows ``FOR UPDATE SKIP
    LOCKED`` (rows changed meanwhile are re-checked against ``where``), updates them and
    inserts their events, so a lead a rep is working on right now is left for the next
    run and two jobs never recycle one lead twice. SQLite has one writer at a time: the
    events are inserted, then the same leads updated, inside one transaction.
    """
    code = checked_reason_code(reason_code, RecycleReason)
    if isinstance(reason, str):
        reason = Value(reason)
    event = {
        "lead_id": F("pk"),
        "kind": Value(EventKind.RECYCLED.value),
        "from_stage": F("stage"),
        "to_stage": F("stage"),
        "actor_id": Cast(Value(None), IntegerField()),
        "at": Value(now),
        "reason": reason,
        "data": JSONObject(**_recycle_event_data(code=Value(code), previous_owner=F("owner_id"))),
    }
    picked = Lead.objects.filter(where, stage__in=RECYCLE_STAGES, owner__isnull=False)
    picked = picked.order_by("pk")
    qn = connection.ops.quote_name
    event_table = qn(LeadEvent._meta.db_table)
    # Concrete fields: ``get_field`` is typed to return any field or relation.
    event_fields = [cast("Field[Any, Any]", LeadEvent._meta.get_field(n)) for n in event]
    event_columns = ", ".join(qn(f.column) for f in event_fields)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            select_sql, select_params = (
                picked.select_for_update(skip_locked=True, of=("self",))
                .annotate(**{f"ev_{n}": e for n, e in event.items()})
                .values_list(*[f"ev_{n}" for n in event], "owner_id")
                .query.sql_with_params()
            )
            changes = {**_recycled(now=now, code=code), "updated_at": now}
            assignments, change_params = [], []
            for name, value in changes.items():
                field = cast("Field[Any, Any]", Lead._meta.get_field(name))
                assignments.append(f"{qn(field.column)} = %s")
                change_params.append(field.get_db_prep_save(value, connection))
            names = [f"ev_{n}" for n in event]
            sql = (
                f"WITH picked ({', '.join(names)}, prev_owner) AS ({select_sql}), "  # noqa: S608
                f"moved AS (UPDATE {qn(Lead._meta.db_table)} AS l SET {', '.join(assignments)} "
                f"FROM picked WHERE l.id = picked.ev_lead_id RETURNING picked.*), "
                f"logged AS (INSERT INTO {event_table} ({event_columns}) "
                f"SELECT {', '.join(names)} FROM moved) "
                "SELECT ev_lead_id, prev_owner FROM moved"
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, [*select_params, *change_params])
                done = [(pk, owner) for pk, owner in cursor.fetchall()]
            if done:
                announce(Announcement.RECYCLED, pairs=done, reroute=reroute)
            return done
        rows = picked.annotate(**{f"ev_{n}": e for n, e in event.items()})
        select_sql, select_params = rows.values_list(
            *[f"ev_{n}" for n in event]
        ).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {event_table} ({event_columns}) {select_sql} "
                "RETURNING lead_id, json_extract(data, '$.previous_owner')",
                select_params,
            )
            done = [(pk, owner) for pk, owner in cursor.fetchall()]
        changes = {**_recycled(now=now, code=code), "updated_at": now}
        Lead.objects.filter(pk__in=picked.values("pk")).update(**changes)
        if done:
            announce(Announcement.RECYCLED, pairs=done, reroute=reroute)
        return done


# --------------------------------------------------------------------------------------
# Set-based: many ownership decisions in a number of statements that does not grow with
# the number of leads (bulk routing, bulk assign and reassign)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnerDecision:
    """One lead's ownership decision for ``leads_assign_bulk``: an owner, or the pool
    (``owner_id`` None). ``lead`` is the row the caller locked (``lock_leads``)."""

    lead: Lead
    owner_id: int | None
    strategy: str = "manual"
    why: DecisionReason | None = None
    reason: str = ""
    rule: AssignmentRule | None = None


@dataclass
class OwnershipResult:
    """What ``leads_assign_bulk`` did: leads done in order, refused ones with the message
    the one-by-one transition would have given."""

    done: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


def leads_assign_bulk(
    *,
    decisions: Sequence[OwnerDecision],
    actor: User | None,
    now: dt.datetime | None = None,
) -> OwnershipResult:
    """``lead_assign`` (or ``lead_send_to_pool`` for a decision without owner) for a set
    of locked leads, with the same rules and the same rows: every lead's transition is
    checked (``AssignChecks``, as one lead's), refused leads are left untouched and
    reported, and the others are written by one ``UPDATE … FROM (VALUES …)``, one insert
    of events and one of assignment records, with the same SLA clock (``DueClock``: read
    once for the set). Then ``assigned`` is announced once for the set.

    The caller holds the transaction and the row locks (``lock_leads``). Queries: a
    constant number per call, plus one per distinct new owner and per distinct previous
    owner a sales manager moves leads of (the rights checks) — never one per lead.
    """
    now = now or timezone.now()
    result = OwnershipResult()
    owner_ids = {d.owner_id for d in decisions if d.owner_id is not None}
    owners = {
        user.pk: user for user in User.objects.filter(pk__in=owner_ids).prefetch_related("groups")
    }
    for user in owners.values():  # has_role reads the roles from this cache
        user._leadloop_roles = frozenset(g.name for g in user.groups.all())  # type: ignore[attr-defined]
    checks = AssignChecks(actor)
    clock = DueClock(now)
    texts: dict[tuple[str, str], str] = {}
    assigned: list[tuple[Lead, int | None]] = []
    pooled: list[int] = []
    events: list[tuple[Any, ...]] = []
    records: list[tuple[Any, ...]] = []
    # Reasons are stored in the site language: switched to once for the set.
    with translation.override(settings.LANGUAGE_CODE):
        for decision in decisions:
            lead = decision.lead
            owner = owners.get(decision.owner_id) if decision.owner_id is not None else None
            if decision.owner_id is not None and owner is None:
                result.refused[lead.pk] = str(_("User not found."))
                continue
            try:
                checks.check(lead, owner)
            except ServiceError as error:
                result.refused[lead.pk] = str(error.message)
                continue
            result.done.append(lead.pk)
            event, record, previous_owner = ownership_change(
                lead,
                owner_id=decision.owner_id,
                actor=actor,
                strategy=decision.strategy,
                why=decision.why,
                reason=decision.reason,
                rule=decision.rule,
                now=now,
                clock=clock,
                texts=texts,
            )
            if owner is None:
                pooled.append(lead.pk)
            else:
                assigned.append((lead, previous_owner))
            events.append(event)
            records.append(record)
    with transaction.atomic():
        if assigned:
            _update_owners([lead for lead, _previous in assigned], now)
        if pooled:
            Lead.objects.filter(pk__in=pooled).update(in_pool=True, pooled_at=now, updated_at=now)
        insert_rows(LeadEvent, EVENT_COLUMNS, events)
        insert_rows(Assignment, RECORD_COLUMNS, records)
        if assigned:
            announce(
                Announcement.ASSIGNED,
                assignments=[(lead.pk, lead.owner_id, previous) for lead, previous in assigned],
            )
    return result


def _update_owners(leads: Sequence[Lead], now: dt.datetime) -> None:
    """One ``UPDATE`` giving each lead its owner and due time (the other assignment fields
    are the same for all): joined to ``unnest`` of three arrays on PostgreSQL (a statement
    whose size does not grow with the leads), to ``VALUES`` rows on SQLite (3.33+)."""
    qn = connection.ops.quote_name
    table = qn(Lead._meta.db_table)
    fields = {
        n: cast("Field[Any, Any]", Lead._meta.get_field(n))
        for n in ("id", "owner", "response_due_at", "in_pool", "assigned_at", "updated_at")
    }

    def param(name: str, value: Any) -> Any:
        return fields[name].get_db_prep_save(value, connection)

    if connection.vendor == "postgresql":
        source = (
            f"unnest(%s::{fields['id'].db_type(connection)}[], "
            f"%s::{fields['owner'].db_type(connection)}[], "
            f"%s::{fields['response_due_at'].db_type(connection)}[])"
        )
        params: list[Any] = [
            [lead.pk for lead in leads],
            [lead.owner_id for lead in leads],
            [lead.response_due_at for lead in leads],
        ]
    else:
        source = f"(VALUES {', '.join(['(%s, %s, %s)'] * len(leads))})"
        params = []
        for lead in leads:
            params += [lead.pk, lead.owner_id, param("response_due_at", lead.response_due_at)]
    sql = (
        f"WITH v (id, owner_id, due) AS (SELECT * FROM {source}) "  # noqa: S608
        f"UPDATE {table} SET {qn('owner_id')} = v.owner_id, {qn('response_due_at')} = v.due, "
        f"{qn('in_pool')} = %s, {qn('assigned_at')} = %s, {qn('responded_at')} = NULL, "
        f"{qn('updated_at')} = %s FROM v WHERE {table}.{qn('id')} = v.id"
    )
    params += [param("in_pool", False), param("assigned_at", now), param("updated_at", now)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
