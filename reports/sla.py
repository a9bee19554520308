"""SLA clocks, breach scanning with an escalation ladder, and follow-up compliance.

Pure working-time arithmetic is in ``reports.calendar``; this module loads the calendar
and policies, and writes breaches. Every scan step is idempotent: a breach row is unique
per (lead, kind, level, assignment), so only the run that inserts it acts on it.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import statistics
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Case,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    Min,
    OuterRef,
    Q,
    Subquery,
    TextField,
    UUIDField,
    Value,
    When,
)
from django.db.models.functions import Cast, JSONObject
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from assignment.models import Assignment, TeamMembership
from leads.choices import EventKind, Stage
from leads.models import FollowUp, Lead, LeadEvent
from pipeline.errors import ServiceError
from pipeline.queue import enqueue_on_commit
from pipeline.roles import Role, has_role
from reports.calendar import (
    Calendar,
    add_working_hours,
    chinese_days,
    subtract_working_hours,
    working_seconds_between,
)
from reports.models import BusinessCalendar, FinalAction, SlaBreach, SlaPolicy

logger = logging.getLogger(__name__)

OWNED_OPEN = (Stage.MQL, Stage.SQL, Stage.OPPORTUNITY)


_CONFIG_KEY = "leadloop:sla-config:v1"
_CONFIG_SECONDS = 60


def _config() -> dict[str, Any]:
    """Calendar and first-response hours, cached briefly: every assignment reads them.

    Saving a policy or the calendar through the services forgets the cache at once; an
    edit made elsewhere (the admin) applies within a minute.
    """
    config = cache.get(_CONFIG_KEY)
    if config is None:
        row = BusinessCalendar.current()
        config = {
            "calendar": (
                row.work_start,
                row.work_end,
                sorted(int(d) for d in row.weekdays),
                row.use_cn_holidays,
            ),
            "first_response": {p.grade: p.first_response_hours for p in SlaPolicy.objects.all()},
        }
        cache.set(_CONFIG_KEY, config, _CONFIG_SECONDS)
    return config


def forget_config() -> None:
    transaction.on_commit(lambda: cache.delete(_CONFIG_KEY))


def load_calendar(*, around: dt.date | None = None) -> Calendar:
    start, end, weekdays, use_cn_holidays = _config()["calendar"]
    year = (around or timezone.localdate()).year
    holidays, workdays = (
        chinese_days((year - 1, year, year + 1)) if use_cn_holidays else (frozenset(), frozenset())
    )
    return Calendar(
        start=start,
        end=end,
        weekdays=frozenset(weekdays),
        holidays=holidays,
        workdays=workdays,
        tz=ZoneInfo(settings.TIME_ZONE),
    )


def policies() -> dict[str, SlaPolicy]:
    return {p.grade: p for p in SlaPolicy.objects.all()}


def policy_for(grade: str) -> SlaPolicy | None:
    return SlaPolicy.objects.filter(grade=grade or "D").first()


def response_due(
    *, grade: str, assigned_at: dt.datetime, calendar: Calendar | None = None
) -> dt.datetime | None:
    """When the first response is due for a lead of ``grade`` assigned at ``assigned_at``."""
    hours = _config()["first_response"].get(grade or "D")
    if hours is None:
        return None
    return add_working_hours(
        calendar or load_calendar(around=assigned_at.date()), assigned_at, hours
    )


def working_seconds(start: dt.datetime, end: dt.datetime) -> int:
    """Working seconds from ``start`` to ``end`` on the business calendar (0 if not after)."""
    return working_seconds_between(load_calendar(around=timezone.localdate(end)), start, end)


def sla_policy_save(*, actor, grade: str, **values: Any) -> SlaPolicy:
    """Managers and sales managers set the SLA of a grade."""
    if not has_role(actor, Role.MANAGER, Role.SALES_MANAGER):
        raise ServiceError(_("Only managers change SLA policies."), code="forbidden")
    if grade not in ("A", "B", "C", "D"):
        raise ServiceError(
            _("“%(grade)s” is not a grade; use A, B, C or D.") % {"grade": grade}, field="grade"
        )
    policy = SlaPolicy.objects.filter(grade=grade).first() or SlaPolicy(grade=grade)
    for key, value in values.items():
        setattr(policy, key, value)
    checks = [
        (
            "first_response_hours",
            policy.first_response_hours >= 1,
            _("The first response needs at least one working hour."),
        ),
        (
            "follow_up_every_days",
            policy.follow_up_every_days >= 1,
            _("Follow-ups need an interval of at least one day."),
        ),
        (
            "recycle_after_days",
            policy.recycle_after_days >= policy.follow_up_every_days,
            _("Recycling must come after the follow-up interval."),
        ),
        (
            "final_after_hours",
            policy.final_after_hours >= policy.escalate_after_hours,
            _("The final action must come after telling the manager."),
        ),
        ("final_action", policy.final_action in FinalAction.values, _("Unknown final action.")),
    ]
    for field_name, ok, message in checks:
        if not ok:
            raise ServiceError(message, field=field_name)
    policy.save()
    forget_config()
    return policy


# --------------------------------------------------------------------------------------
# The scan
# --------------------------------------------------------------------------------------


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


def _execute(sql: str, params) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _insert_select(model, columns: dict[str, Any], queryset) -> tuple[str, list]:
    """``INSERT INTO model (columns) SELECT …`` from ``queryset``, each column an
    expression over its rows (compiled by the ORM, so both databases get their dialect)."""
    qn = connection.ops.quote_name
    names = [f"col_{name}" for name in columns]
    select_sql, params = (
        queryset.annotate(**dict(zip(names, columns.values(), strict=True)))
        .values_list(*names)
        .query.sql_with_params()
    )
    target = ", ".join(qn(model._meta.get_field(name).column) for name in columns)
    return f"INSERT INTO {qn(model._meta.db_table)} ({target}) {select_sql}", list(params)


def _insert_breaches(leads, *, kind: str, level: int, run: uuid.UUID, now, lock: bool) -> int:
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


def _breach_events(*, run: uuid.UUID, kind: str, level: int, now) -> None:
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


def _mail_many(messages: dict[int, tuple[str, list[str]]]) -> None:
    """One email per recipient: the recipients are read in one query."""
    if not messages:
        return
    users = get_user_model().objects.filter(pk__in=list(messages), is_active=True).in_bulk()
    for user_id, (subject, lines) in messages.items():
        user = users.get(user_id)
        if user is not None and user.email:
            send_mail(subject, "\n".join(lines[:MAIL_LINES]), None, [user.email])


#: An email lists at most this many leads; its subject carries the full count.
MAIL_LINES = 200


def _mail(user_id: int, subject: str, lines: list[str]) -> None:
    _mail_many({user_id: (subject, lines)})


def sla_scan(*, now: dt.datetime | None = None) -> ScanResult:
    """Flag late first responses and walk the ladder; recycle leads neglected too long.

    Level 1 (due passed): remind the owner. Level 2 (``escalate_after_hours`` working hours
    later): tell the owner's team managers. Level 3 (``final_after_hours``): the policy's
    final action, recycle or reassign. Neglect: no follow-up for ``recycle_after_days`` →
    recycled to the pool ("wasted").

    Set-based: the number of SQL statements does not depend on the number of leads. Each
    step is an ``INSERT … SELECT`` of breach rows (unique per lead, step and assignment
    cycle, ``ON CONFLICT DO NOTHING``), one ``INSERT … SELECT`` of their events, and for
    levels 3 and neglect one bulk recycle (``leads.services.leads_recycle_bulk``). "N working
    hours past due" becomes one cut-off instant per grade, computed here from the business
    calendar. Emails go out one per recipient (bounded by users, not leads). Leads that
    policy says to reassign are routed afterwards by a task, one lead at a time (routing
    takes the team's locks and rotation, so it cannot be set-based).

    Concurrency: the level 3 and neglect steps lock the leads they take (``FOR UPDATE SKIP
    LOCKED``) from the breach insert to the recycle, in one transaction; a lead held by a
    transition right now is skipped and caught by the next scan, and a lead whose breach
    was recorded but whose recycle was skipped is recycled then (the recycle reads the
    breach of the current cycle, whichever run wrote it).
    """
    from leads.services import leads_recycle_bulk

    now = now or timezone.now()
    run = uuid.uuid4()
    calendar = load_calendar(around=timezone.localdate(now))
    by_grade = policies()
    result = ScanResult()

    def cutoff(hours: int) -> dt.datetime:
        return subtract_working_hours(calendar, now, hours)

    late = Q(
        owner__isnull=False,
        stage__in=OWNED_OPEN,
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
    to_route: list[tuple[int, int]] = []
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
                taken = step & _has_breach(kind, 3)
                reassign = [
                    g for g, p in by_grade.items() if p.final_action == FinalAction.REASSIGN
                ]
                recycle_only = [g for g in by_grade if g not in reassign]
                for grades, route in ((recycle_only, False), (reassign, True)):
                    if not grades:
                        continue
                    done = leads_recycle_bulk(
                        where=taken & _per_grade({g: Q() for g in grades}),
                        reason=reason,
                        reason_code="no_follow_up",
                        now=now,
                    )
                    if route:
                        to_route += done
        if level == 1:
            result.reminded = new
            _remind_owners(run=run, kind=kind)
        elif level == 2:
            result.escalated = new
            _tell_managers(run=run, kind=kind)
        else:
            result.final = new
    if to_route:
        from assignment.tasks import reroute_after_sla_task

        enqueue_on_commit(reroute_after_sla_task, [[lead, owner] for lead, owner in to_route])
    result.recycled_for_neglect = _recycle_neglected(now=now, by_grade=by_grade, run=run)
    return result


def _breached(*, run: uuid.UUID, kind: str, level: int) -> list[dict]:
    return list(
        SlaBreach.objects.filter(run=run, kind=kind, level=level)
        .order_by("owner_id", "lead_id")
        .values("owner_id", "lead__name", "lead__grade", "lead__response_due_at")
    )


def _remind_owners(*, run: uuid.UUID, kind: str) -> None:
    grouped: dict[int, list[dict]] = defaultdict(list)
    for row in _breached(run=run, kind=kind, level=1):
        grouped[row["owner_id"]].append(row)
    messages = {}
    with translation.override(settings.LANGUAGE_CODE):
        for owner_id, items in grouped.items():
            subject = _("%(n)d new leads are waiting for your first call") % {"n": len(items)}
            lines = []
            for x in items[:MAIL_LINES]:
                due = timezone.localtime(x["lead__response_due_at"]).strftime("%Y-%m-%d %H:%M")
                lines.append(
                    f"- {x['lead__name']} ({x['lead__grade'] or '—'}), "
                    + _("due %(when)s") % {"when": due}
                )
            messages[owner_id] = (subject, lines)
        _mail_many(messages)


def _tell_managers(*, run: uuid.UUID, kind: str) -> None:
    rows = _breached(run=run, kind=kind, level=2)
    managers: dict[int, set[int]] = defaultdict(set)
    memberships = TeamMembership.objects.filter(
        user_id__in=SlaBreach.objects.filter(run=run, kind=kind, level=2).values("owner_id"),
        team__manager__isnull=False,
    ).values_list("user_id", "team__manager_id")
    for user_id, manager_id in memberships:
        if manager_id != user_id:
            managers[user_id].add(manager_id)
    grouped: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        for manager_id in managers.get(row["owner_id"], ()):
            grouped[manager_id].append(row)
    with translation.override(settings.LANGUAGE_CODE):
        _mail_many(
            {
                manager_id: (
                    _("%(n)d leads of your team have had no first response") % {"n": len(items)},
                    [f"- {x['lead__name']} ({x['lead__grade'] or '—'})" for x in items],
                )
                for manager_id, items in grouped.items()
            }
        )


def _recycle_neglected(*, now, by_grade: dict[str, SlaPolicy], run: uuid.UUID) -> int:
    """Owned mql/sql leads with no activity for their grade's ``recycle_after_days``:
    one neglect breach each (the "wasted" count), and back to the pool — for every grade
    at once."""
    from leads.services import leads_recycle_bulk

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
                    _("No follow-up for %(n)d days: recycled to the pool.")
                    % {"n": policy.recycle_after_days}
                ),
            )
        )
    stale = Q(owner__isnull=False, stage__in=[Stage.MQL, Stage.SQL]) & _per_grade(conditions)
    kind = SlaBreach.Kind.NEGLECT
    with transaction.atomic():
        _insert_breaches(
            Lead.objects.filter(stale), kind=kind, level=1, run=run, now=now, lock=True
        )
        done = leads_recycle_bulk(
            where=stale & _has_breach(kind, 1),
            reason=Case(*reasons, default=Value(""), output_field=TextField()),
            reason_code="no_follow_up",
            now=now,
        )
    return len(done)


# --------------------------------------------------------------------------------------
# Compliance (DESIGN §8)
# --------------------------------------------------------------------------------------


class _Percentile(Aggregate):
    """PostgreSQL's ordered-set percentiles: ``percentile_cont`` interpolates (the median),
    ``percentile_disc`` returns an observed value (nearest rank)."""

    template = "%(function)s(%(share)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, *, share: float, discrete: bool = False, **extra):
        function = "PERCENTILE_DISC" if discrete else "PERCENTILE_CONT"
        super().__init__(expression, function=function, share=float(share), **extra)


def _median(ordered: list[float]) -> float | None:
    """Interpolated median of sorted values (as ``percentile_cont(0.5)``)."""
    return statistics.median(ordered) if ordered else None


def _nearest_rank(ordered: list[float], share: float) -> float | None:
    """The smallest value with at least ``share`` of the values at or below it (as
    ``percentile_disc``): the 95th percentile is a response time that really happened."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _response_stats(queryset, column: str, group: str | None) -> dict[Any, dict[str, Any]]:
    """Count, median and p95 (in working hours) of ``column`` over ``queryset`` per
    ``group`` (or one group ``None``), rows with a value only.

    PostgreSQL aggregates in SQL. SQLite has no percentile aggregate: the values are read
    in order and the same figures computed in Python — the embedded mode's data is small.
    """
    rows = queryset.filter(**{f"{column}__isnull": False}).order_by()
    if connection.vendor == "postgresql":
        aggregates = {
            "count": Count("pk"),
            "median": _Percentile(column, share=0.5),
            "p95": _Percentile(column, share=0.95, discrete=True),
        }
        if group is None:
            found = {None: rows.aggregate(**aggregates)}
        else:
            found = {r.pop(group): r for r in rows.values(group).annotate(**aggregates)}
        return {
            key: {"count": r["count"], "median": _hours(r["median"]), "p95": _hours(r["p95"])}
            for key, r in found.items()
            if r["count"]
        }
    values: dict[Any, list[float]] = defaultdict(list)
    fields = [column] if group is None else [group, column]
    for row in rows.order_by(*fields).values_list(*fields).iterator(chunk_size=5000):
        values[None if group is None else row[0]].append(row[-1])
    return {
        key: {
            "count": len(ordered),
            "median": _hours(_median(ordered)),
            "p95": _hours(_nearest_rank(ordered, 0.95)),
        }
        for key, ordered in values.items()
    }


def compliance(
    *,
    start: dt.date,
    end: dt.date,
    user_ids: Iterable[int] | None = None,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Per rep: assignments in [start, end] whose first-response SLA has elapsed, the share
    answered in time, median and p95 response (working hours), overdue now, wasted leads.

    Each assignment stores its due time, the owner's first follow-up and the response in
    working seconds (``Assignment.response_due_at``, ``first_response_at``,
    ``response_work_seconds``), so this is aggregation only: a constant number of queries
    whatever the data size. The median interpolates between the two middle values; the
    p95 is the nearest-rank 95th percentile (an observed response time).
    """
    from reports.selectors import period_bounds

    now = now or timezone.now()
    low, high = period_bounds(start, end)
    wanted = None if user_ids is None else set(user_ids)
    assignments = Assignment.objects.filter(at__gte=low, at__lt=high, owner__isnull=False).exclude(
        strategy="pool"
    )
    if wanted is not None:
        assignments = assignments.filter(owner_id__in=wanted)
    elapsed = Q(response_due_at__lte=now)
    counts = {
        row["owner_id"]: row
        for row in assignments.order_by()
        .values("owner_id")
        .annotate(
            assigned=Count("pk"),
            due=Count("pk", filter=elapsed),
            in_time=Count("pk", filter=elapsed & Q(first_response_at__lte=F("response_due_at"))),
        )
    }
    responses = _response_stats(assignments.filter(elapsed), "response_work_seconds", "owner_id")
    overdue = overdue_now_by_owner(now=now, by_grade=policies())
    wasted = dict(
        SlaBreach.objects.filter(kind=SlaBreach.Kind.NEGLECT, at__gte=low, at__lt=high)
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    owners = set(counts) | set(overdue) | set(wasted)
    if wanted is not None:
        owners &= wanted
    users = get_user_model().objects.in_bulk(owners)
    result = []
    for owner in sorted(owners):
        row = counts.get(owner) or {"assigned": 0, "due": 0, "in_time": 0}
        stats = responses.get(owner, {})
        result.append(
            {
                "user": owner,
                "username": users[owner].username,
                "assigned": row["assigned"],
                "due": row["due"],
                "in_time": row["in_time"],
                "compliance": round(row["in_time"] / row["due"], 4) if row["due"] else None,
                "median_response_hours": stats.get("median"),
                "p95_response_hours": stats.get("p95"),
                "overdue_now": overdue.get(owner, 0),
                "wasted": wasted.get(owner, 0),
            }
        )
    return result


def overdue_q(*, now: dt.datetime, by_grade: dict[str, SlaPolicy]) -> Q:
    """Open owned leads overdue for follow-up now (DESIGN §9): the next follow-up date has
    passed, or nothing was logged for the grade's ``follow_up_every_days``."""
    condition = Q(next_follow_up_at__lt=now)
    for grade, policy in by_grade.items():
        cutoff = now - dt.timedelta(days=policy.follow_up_every_days)
        grade_q = Q(grade=grade) | (Q(grade="") if grade == "D" else Q(pk__in=[]))
        silent = Q(last_follow_up_at__lt=cutoff) | Q(
            last_follow_up_at__isnull=True, assigned_at__lt=cutoff
        )
        condition |= grade_q & silent
    return Q(owner__isnull=False, stage__in=OWNED_OPEN) & condition


def overdue_now_by_owner(*, now: dt.datetime, by_grade: dict[str, SlaPolicy]) -> dict[int, int]:
    rows = (
        Lead.objects.filter(overdue_q(now=now, by_grade=by_grade))
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    return dict(rows)


def delays(*, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Routing delay (created → first assigned) and rep delay (first assigned → that
    owner's first follow-up) of the period's leads, in working hours: medians and 95th
    percentiles, from the figures stored on each lead's first owned assignment."""
    from reports.selectors import period_bounds

    low, high = period_bounds(start, end)
    owned = Assignment.objects.filter(owner__isnull=False).exclude(strategy="pool")
    first = owned.filter(lead__created_at__gte=low, lead__created_at__lt=high).exclude(
        Exists(owned.filter(lead_id=OuterRef("lead_id"), at__lt=OuterRef("at")))
    )
    empty = {"count": 0, "median": None, "p95": None}
    return {
        "routing": _response_stats(first, "routing_work_seconds", None).get(None, empty),
        "rep": _response_stats(first, "response_work_seconds", None).get(None, empty),
    }


def digest_overdue(*, now: dt.datetime | None = None) -> int:
    """The daily email: each rep's overdue follow-ups, one message per rep per day.

    A ``DigestSent`` row per (rep, day) is claimed before sending, so a second run, or two
    workers at once, send nothing twice.
    """
    from reports.models import DigestSent

    now = now or timezone.now()
    day = timezone.localdate(now)
    rows = (
        Lead.objects.filter(overdue_q(now=now, by_grade=policies()))
        .values("owner_id", "name", "grade", "next_follow_up_at")
        .order_by("owner_id", "pk")
    )
    grouped: dict[int, list[dict]] = defaultdict(list)
    for row in rows.iterator(chunk_size=5000):
        grouped[row["owner_id"]].append(row)
    sent = 0
    with translation.override(settings.LANGUAGE_CODE):
        for owner_id, items in grouped.items():
            with transaction.atomic():
                _claimed, created = DigestSent.objects.get_or_create(
                    user_id=owner_id, day=day, defaults={"leads": len(items)}
                )
            if not created:
                continue
            _mail(
                owner_id,
                _("%(n)d leads are overdue for follow-up") % {"n": len(items)},
                [f"- {x['name']} ({x['grade'] or '—'})" for x in items[:200]],
            )
            sent += 1
    return sent


@transaction.atomic
def business_calendar_save(
    *,
    actor,
    work_start: dt.time,
    work_end: dt.time,
    weekdays: list[int],
    use_cn_holidays: bool,
) -> BusinessCalendar:
    """Managers set the working hours and days of every SLA clock.

    The single row is re-read under ``select_for_update`` so two saves do not interleave.
    Clocks already running (``Lead.response_due_at``) keep the due time they were given.
    """
    if not has_role(actor, Role.MANAGER):
        raise ServiceError(_("Only managers change the business calendar."), code="forbidden")
    if work_start is None or work_end is None or work_end <= work_start:
        raise ServiceError(_("The working day must end after it starts."), field="work_end")
    days = sorted({int(day) for day in weekdays or ()})
    if not days:
        raise ServiceError(_("Choose at least one working weekday."), field="weekdays")
    if any(day not in range(7) for day in days):
        raise ServiceError(_("Weekdays are 0 (Monday) to 6 (Sunday)."), field="weekdays")
    BusinessCalendar.current()  # make sure the row exists before locking it
    row = BusinessCalendar.objects.select_for_update().get(pk=1)
    row.work_start, row.work_end = work_start, work_end
    row.weekdays, row.use_cn_holidays = days, bool(use_cn_holidays)
    row.save()
    forget_config()
    return row


def compliance_scope(user, *, team=None) -> list[int] | None:
    """Whose rows ``user`` may read — the same scope as the compliance API.

    A team: its members, for managers, the desk and that team's manager. No team: everyone
    for managers and the desk; otherwise oneself plus the members of managed teams.
    """
    if team is not None:
        if not (has_role(user, Role.MANAGER, Role.LEAD_DESK) or team.manager_id == user.pk):
            raise ServiceError(_("You may read only the teams you manage."), code="forbidden")
        return list(team.memberships.values_list("user_id", flat=True))
    if has_role(user, Role.MANAGER, Role.LEAD_DESK):
        return None
    managed = TeamMembership.objects.filter(team__manager=user)
    return list(dict.fromkeys([user.pk, *managed.values_list("user_id", flat=True)]))


def backfill_sla_clocks(*, batch: int = 5000) -> int:
    """Fill SLA figures written before they were kept, or loaded in bulk (demo data,
    migrations from another CRM); safe to run again (only empty fields are filled).

    Leads: the first-response due time (and whether it was met) of open owned leads.
    Assignments to an owner: the due time, the owner's first follow-up at or after the
    assignment, and both delays in working seconds (routing: lead created → assignment;
    response: assignment → that follow-up). Returns the number of rows updated.
    """
    hours = _config()["first_response"]
    calendars: dict[int, Calendar] = {}

    def calendar_for(moment: dt.datetime) -> Calendar:
        year = timezone.localdate(moment).year
        if year not in calendars:
            calendars[year] = load_calendar(around=dt.date(year, 7, 1))
        return calendars[year]

    pending = Lead.objects.filter(
        owner__isnull=False,
        stage__in=OWNED_OPEN,
        response_due_at__isnull=True,
        assigned_at__isnull=False,
    ).values_list("pk", "grade", "assigned_at", "first_contact_at")
    updated, rows = 0, []
    for pk, grade, assigned_at, first_contact in pending.iterator(chunk_size=batch):
        due = add_working_hours(calendar_for(assigned_at), assigned_at, hours.get(grade or "D", 8))
        responded = first_contact if first_contact and first_contact >= assigned_at else None
        rows.append(Lead(pk=pk, response_due_at=due, responded_at=responded))
        if len(rows) >= batch:
            updated += len(rows)
            Lead.objects.bulk_update(rows, ["response_due_at", "responded_at"])
            rows = []
    Lead.objects.bulk_update(rows, ["response_due_at", "responded_at"])
    updated += len(rows)

    owned = Assignment.objects.filter(owner__isnull=False).exclude(strategy="pool")
    first_reply = (
        FollowUp.objects.filter(
            lead_id=OuterRef("lead_id"), author_id=OuterRef("owner_id"), at__gte=OuterRef("at")
        )
        .order_by()
        .values("lead_id")
        .annotate(first=Min("at"))
        .values("first")
    )
    owned.filter(first_response_at__isnull=True).update(first_response_at=Subquery(first_reply))
    fields = ["response_due_at", "routing_work_seconds", "response_work_seconds"]
    missing = owned.filter(
        Q(response_due_at__isnull=True)
        | Q(routing_work_seconds__isnull=True)
        | Q(first_response_at__isnull=False, response_work_seconds__isnull=True)
    ).values_list("pk", "at", "lead__grade", "lead__created_at", "first_response_at", *fields)
    rows = []
    for pk, at, grade, created, replied, due, routing, response in missing.iterator(
        chunk_size=batch
    ):
        calendar = calendar_for(at)
        if due is None and (grade or "D") in hours:
            due = add_working_hours(calendar, at, hours[grade or "D"])
        if routing is None:
            routing = working_seconds_between(calendar, created, at)
        if response is None and replied is not None:
            response = working_seconds_between(calendar, at, replied)
        rows.append(
            Assignment(
                pk=pk,
                response_due_at=due,
                routing_work_seconds=routing,
                response_work_seconds=response,
            )
        )
        if len(rows) >= batch:
            updated += len(rows)
            Assignment.objects.bulk_update(rows, fields)
            rows = []
    Assignment.objects.bulk_update(rows, fields)
    return updated + len(rows)
