"""SLA clocks, breach scanning with an escalation ladder, and follow-up compliance.

Pure working-time arithmetic is in ``reports.calendar``; this module loads the calendar
and policies, and writes breaches. Every scan step is idempotent: a breach row is unique
per (lead, kind, level, assignment), so only the run that inserts it acts on it.
"""

from __future__ import annotations

import datetime as dt
import logging
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
from django.db import transaction
from django.db.models import Count, Min, OuterRef, Q, Subquery
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from assignment.models import Assignment, TeamMembership
from leads.choices import EventKind, Stage
from leads.models import FollowUp, Lead, LeadEvent
from pipeline.db import fast_bulk_insert
from pipeline.errors import ServiceError
from pipeline.roles import Role, has_role
from reports.calendar import Calendar, add_working_hours, chinese_days, working_hours_between
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


def _insert_breaches(rows: list[SlaBreach], run: uuid.UUID) -> list[SlaBreach]:
    """Insert in one statement; only rows new to the table come back (the unique step key
    makes a repeated or parallel scan insert nothing twice)."""
    if not rows:
        return []
    fast_bulk_insert(SlaBreach, rows, ignore_conflicts=True)
    return list(SlaBreach.objects.filter(run=run, kind=rows[0].kind, level=rows[0].level))


def _events_for(breaches: Iterable[SlaBreach], *, now: dt.datetime, data: dict) -> None:
    fast_bulk_insert(
        LeadEvent,
        [
            LeadEvent(
                lead_id=b.lead_id,
                kind=EventKind.SLA_BREACH,
                at=now,
                data={"kind": b.kind, "level": b.level, "owner": b.owner_id, **data},
            )
            for b in breaches
        ],
    )


def _mail(user_id: int, subject: str, lines: list[str]) -> None:
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return
    send_mail(subject, "\n".join(lines), None, [user.email])


def sla_scan(*, now: dt.datetime | None = None) -> ScanResult:
    """Flag late first responses and walk the ladder; recycle leads neglected too long.

    Level 1 (due passed): remind the owner. Level 2 (``escalate_after_hours`` working hours
    later): tell the owner's team managers. Level 3 (``final_after_hours``): the policy's
    final action, recycle or reassign. Neglect: no follow-up for ``recycle_after_days`` →
    recycled to the pool ("wasted"). Leads locked by a transition right now are skipped
    (``skip_locked``) and caught by the next scan.
    """
    from leads.services import leads_recycle_bulk

    now = now or timezone.now()
    run = uuid.uuid4()
    calendar = load_calendar(around=timezone.localdate(now))
    by_grade = policies()
    result = ScanResult()
    late = list(
        Lead.objects.filter(
            owner__isnull=False,
            stage__in=OWNED_OPEN,
            responded_at__isnull=True,
            response_due_at__lt=now,
        ).values("pk", "name", "grade", "owner_id", "assigned_at", "response_due_at")
    )
    ladder: dict[int, list[dict]] = {1: [], 2: [], 3: []}
    for lead in late:
        policy = by_grade.get(lead["grade"] or "D")
        if policy is None:
            continue
        ladder[1].append(lead)
        if add_working_hours(calendar, lead["response_due_at"], policy.escalate_after_hours) <= now:
            ladder[2].append(lead)
        if (
            policy.final_action != FinalAction.NONE
            and add_working_hours(calendar, lead["response_due_at"], policy.final_after_hours)
            <= now
        ):
            ladder[3].append(lead)
    managers = _managers_of({lead["owner_id"] for lead in late})
    for level, leads in ladder.items():
        with transaction.atomic():
            new = _insert_breaches(
                [
                    SlaBreach(
                        lead_id=x["pk"],
                        owner_id=x["owner_id"],
                        kind=SlaBreach.Kind.FIRST_RESPONSE,
                        level=level,
                        cycle=x["assigned_at"],
                        run=run,
                        at=now,
                    )
                    for x in leads
                ],
                run,
            )
            _events_for(new, now=now, data={"due": None})
        fresh = {b.lead_id for b in new}
        leads = [x for x in leads if x["pk"] in fresh]
        if level == 1:
            result.reminded = len(leads)
            _remind_owners(leads)
        elif level == 2:
            result.escalated = len(leads)
            _tell_managers(leads, managers)
        else:
            result.final = len(leads)
            _final_action(leads, by_grade, now=now, recycle=leads_recycle_bulk)
    result.recycled_for_neglect = _recycle_neglected(
        now=now, by_grade=by_grade, run=run, recycle=leads_recycle_bulk
    )
    return result


def _managers_of(owner_ids: set[int]) -> dict[int, set[int]]:
    managers: dict[int, set[int]] = defaultdict(set)
    rows = TeamMembership.objects.filter(user_id__in=owner_ids, team__manager__isnull=False)
    for user_id, manager_id in rows.values_list("user_id", "team__manager_id"):
        if manager_id != user_id:
            managers[user_id].add(manager_id)
    return managers


def _remind_owners(leads: list[dict]) -> None:
    grouped: dict[int, list[dict]] = defaultdict(list)
    for lead in leads:
        grouped[lead["owner_id"]].append(lead)
    with translation.override(settings.LANGUAGE_CODE):
        for owner_id, items in grouped.items():
            subject = _("%(n)d new leads are waiting for your first call") % {"n": len(items)}
            lines = []
            for x in items:
                due = timezone.localtime(x["response_due_at"]).strftime("%Y-%m-%d %H:%M")
                lines.append(
                    f"- {x['name']} ({x['grade'] or '—'}), " + _("due %(when)s") % {"when": due}
                )
            _mail(owner_id, subject, lines)


def _tell_managers(leads: list[dict], managers: dict[int, set[int]]) -> None:
    grouped: dict[int, list[dict]] = defaultdict(list)
    for lead in leads:
        for manager_id in managers.get(lead["owner_id"], ()):
            grouped[manager_id].append(lead)
    with translation.override(settings.LANGUAGE_CODE):
        for manager_id, items in grouped.items():
            _mail(
                manager_id,
                _("%(n)d leads of your team have had no first response") % {"n": len(items)},
                [f"- {x['name']} ({x['grade'] or '—'})" for x in items],
            )


def _final_action(leads: list[dict], by_grade: dict[str, SlaPolicy], *, now, recycle) -> None:
    """Take late leads back: all to the pool in bulk, then route those whose policy says
    reassign (excluding the owner who let it lapse)."""
    from assignment.services import lead_route

    recycled = set(
        recycle(
            leads=[(x["pk"], x["owner_id"]) for x in leads],
            reason_code="no_follow_up",
            reason=_("No first response within the SLA: taken back from the owner."),
            now=now,
        )
    )
    for lead in leads:
        policy = by_grade.get(lead["grade"] or "D")
        if lead["pk"] in recycled and policy and policy.final_action == FinalAction.REASSIGN:
            try:
                lead_route(lead=lead["pk"], include_pooled=True, exclude={lead["owner_id"]})
            except ServiceError as exc:
                logger.info("SLA reassignment skipped for lead %s: %s", lead["pk"], exc)


def _recycle_neglected(*, now, by_grade, run, recycle) -> int:
    """Owned mql/sql leads with no activity for their grade's ``recycle_after_days``:
    one neglect breach each (the "wasted" count), and back to the pool."""
    total = 0
    for grade, policy in by_grade.items():
        cutoff = now - dt.timedelta(days=policy.recycle_after_days)
        grade_q = Q(grade=grade) | (Q(grade="") if grade == "D" else Q(pk__in=[]))
        stale = list(
            Lead.objects.filter(grade_q, owner__isnull=False, stage__in=[Stage.MQL, Stage.SQL])
            .filter(
                Q(last_follow_up_at__lt=cutoff, assigned_at__lt=cutoff)
                | Q(last_follow_up_at__isnull=True, assigned_at__lt=cutoff)
            )
            .values_list("pk", "owner_id", "assigned_at")
        )
        if not stale:
            continue
        with transaction.atomic():
            new = _insert_breaches(
                [
                    SlaBreach(
                        lead_id=pk,
                        owner_id=owner,
                        kind=SlaBreach.Kind.NEGLECT,
                        level=1,
                        cycle=assigned,
                        run=run,
                        at=now,
                    )
                    for pk, owner, assigned in stale
                ],
                run,
            )
        total += len(
            recycle(
                leads=[(b.lead_id, b.owner_id) for b in new],
                reason_code="no_follow_up",
                reason=_("No follow-up for %(n)d days: recycled to the pool.")
                % {"n": policy.recycle_after_days},
                now=now,
            )
        )
    return total


# --------------------------------------------------------------------------------------
# Compliance (DESIGN §8)
# --------------------------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * (len(ordered) - 1))))
    return round(ordered[index], 2)


def compliance(
    *,
    start: dt.date,
    end: dt.date,
    user_ids: Iterable[int] | None = None,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Per rep: assignments in [start, end] whose first-response SLA has elapsed, the share
    answered in time, median and p95 response (working hours), overdue now, wasted leads.

    A constant number of queries: assignments with their first response by the same owner
    (a correlated subquery), then open-lead and breach counts grouped by owner.
    """
    from reports.selectors import period_bounds

    now = now or timezone.now()
    low, high = period_bounds(start, end)
    calendar = load_calendar(around=end)
    by_grade = policies()
    first_reply = (
        FollowUp.objects.filter(
            lead_id=OuterRef("lead_id"), author_id=OuterRef("owner_id"), at__gte=OuterRef("at")
        )
        .order_by()
        .values("lead_id")
        .annotate(first=Min("at"))
        .values("first")
    )
    assignments = (
        Assignment.objects.filter(at__gte=low, at__lt=high, owner__isnull=False)
        .exclude(strategy="pool")
        .annotate(first_reply=Subquery(first_reply))
        .values("owner_id", "owner__username", "at", "first_reply", "lead__grade")
    )
    if user_ids is not None:
        assignments = assignments.filter(owner_id__in=list(user_ids))
    rows: dict[int, dict[str, Any]] = {}
    samples: dict[int, list[float]] = defaultdict(list)
    for item in assignments.iterator(chunk_size=5000):
        owner = item["owner_id"]
        row = rows.setdefault(
            owner,
            {
                "user": owner,
                "username": item["owner__username"],
                "assigned": 0,
                "due": 0,
                "in_time": 0,
            },
        )
        row["assigned"] += 1
        policy = by_grade.get(item["lead__grade"] or "D")
        if policy is None:
            continue
        due = add_working_hours(calendar, item["at"], policy.first_response_hours)
        if due > now:
            continue  # the SLA has not elapsed yet: not counted either way
        row["due"] += 1
        reply = item["first_reply"]
        if reply is not None and reply <= due:
            row["in_time"] += 1
        if reply is not None:
            samples[owner].append(working_hours_between(calendar, item["at"], reply))
    overdue = overdue_now_by_owner(now=now, by_grade=by_grade)
    wasted = dict(
        SlaBreach.objects.filter(kind=SlaBreach.Kind.NEGLECT, at__gte=low, at__lt=high)
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    users = get_user_model().objects.in_bulk(set(rows) | set(overdue) | set(wasted))
    result = []
    for owner in sorted(set(rows) | set(overdue) | set(wasted)):
        if user_ids is not None and owner not in set(user_ids):
            continue
        row = rows.get(owner) or {
            "user": owner,
            "username": users[owner].username,
            "assigned": 0,
            "due": 0,
            "in_time": 0,
        }
        row["compliance"] = round(row["in_time"] / row["due"], 4) if row["due"] else None
        row["median_response_hours"] = (
            round(statistics.median(samples[owner]), 2) if samples[owner] else None
        )
        row["p95_response_hours"] = _percentile(samples[owner], 0.95)
        row["overdue_now"] = overdue.get(owner, 0)
        row["wasted"] = wasted.get(owner, 0)
        result.append(row)
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
    """Routing delay (created → first assigned) and rep delay (assigned → first contact)
    of the period's leads, in working hours: medians and 95th percentiles."""
    from reports.selectors import period_bounds

    low, high = period_bounds(start, end)
    calendar = load_calendar(around=end)
    first_assigned = (
        Assignment.objects.filter(lead_id=OuterRef("pk"), owner__isnull=False)
        .order_by()
        .values("lead_id")
        .annotate(first=Min("at"))
        .values("first")
    )
    routing, rep = [], []
    leads = (
        Lead.objects.filter(created_at__gte=low, created_at__lt=high)
        .annotate(first_assigned=Subquery(first_assigned))
        .values_list("created_at", "first_assigned", "first_contact_at")
    )
    for created, assigned, contact in leads.iterator(chunk_size=5000):
        if assigned is None:
            continue
        routing.append(working_hours_between(calendar, created, assigned))
        if contact is not None:
            rep.append(working_hours_between(calendar, assigned, contact))

    def stats(values):
        return {
            "count": len(values),
            "median": round(statistics.median(values), 2) if values else None,
            "p95": _percentile(values, 0.95),
        }

    return {"routing": stats(routing), "rep": stats(rep)}


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
    """Set the first-response due time (and whether it was met) on open owned leads that
    have none — leads loaded in bulk (demo data, migrations from another CRM). Returns the
    number of leads updated."""
    calendar = load_calendar()
    hours = _config()["first_response"]
    pending = Lead.objects.filter(
        owner__isnull=False,
        stage__in=OWNED_OPEN,
        response_due_at__isnull=True,
        assigned_at__isnull=False,
    ).values_list("pk", "grade", "assigned_at", "first_contact_at")
    updated, rows = 0, []
    for pk, grade, assigned_at, first_contact in pending.iterator(chunk_size=batch):
        due = add_working_hours(calendar, assigned_at, hours.get(grade or "D", 8))
        responded = first_contact if first_contact and first_contact >= assigned_at else None
        rows.append(Lead(pk=pk, response_due_at=due, responded_at=responded))
        if len(rows) >= batch:
            updated += len(rows)
            Lead.objects.bulk_update(rows, ["response_due_at", "responded_at"])
            rows = []
    Lead.objects.bulk_update(rows, ["response_due_at", "responded_at"])
    return updated + len(rows)
