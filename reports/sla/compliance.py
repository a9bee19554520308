"""Follow-up compliance per rep: aggregates over the figures stored on each assignment."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.expressions import Combinable
from django.utils import timezone
from django.utils.translation import gettext as _

from assignment.models import Assignment, Team
from assignment.selectors import rep_ids_visible_to
from leads.lifecycle.followups import backdated_q
from leads.lifecycle.rules import OWNABLE_STAGES
from leads.models import FollowUp, Lead
from pipeline.errors import ServiceError
from pipeline.roles import Role, has_role
from reports.models import SlaBreach, SlaPolicy
from reports.periods import period_bounds
from reports.sla.config import policies


class _Percentile(Aggregate):
    """PostgreSQL's ordered-set percentiles: ``percentile_cont`` interpolates (the median),
    ``percentile_disc`` returns an observed value (nearest rank)."""

    template = "%(function)s(%(share)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(
        self, expression: str | Combinable, *, share: float, discrete: bool = False, **extra: Any
    ) -> None:
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


def _response_stats(
    queryset: QuerySet[Any], column: str, group: str | None
) -> dict[Any, dict[str, Any]]:
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
    cohort: bool = False,
    state: StateNow | None = None,
) -> list[dict[str, Any]]:
    """Per rep: assignments in [start, end] whose first-response SLA has elapsed, the share
    answered in time, median and p95 response (working hours), overdue now, wasted leads,
    and follow-ups recorded in the period but back-dated beyond ``FOLLOW_UP_BACKDATE_HOURS``
    (``backdated``: they count for the SLA when recorded, ``leads.lifecycle.followups``).

    Each assignment stores its due time, the owner's first follow-up and the response in
    working seconds (``Assignment.response_due_at``, ``first_response_at``,
    ``response_work_seconds``), so this is aggregation only: a constant number of queries
    whatever the data size. The median interpolates between the two middle values; the
    p95 is the nearest-rank 95th percentile (an observed response time).

    ``cohort=True`` counts the assignments of the leads *created* in [start, end] (the
    marketing cohort, whenever they were assigned) instead of the assignments made in it:
    the sales side of the marketing–sales agreement (``reports.attainment.agreement``).
    The other figures (overdue now, wasted, back-dated) are the same either way.

    ``state``: the open owned leads overdue at ``now`` as read once for the whole request
    (``state_now_once``), so several calls scan them once; read here when not given.
    """
    now = now or (state.now if state is not None else timezone.now())
    low, high = period_bounds(start, end)
    wanted = None if user_ids is None else set(user_ids)
    when = (
        Q(lead__created_at__gte=low, lead__created_at__lt=high)
        if cohort
        else Q(at__gte=low, at__lt=high)
    )
    assignments = Assignment.objects.filter(when, owner__isnull=False).exclude(strategy="pool")
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
    overdue = state_now_once(now, state=state).overdue()
    wasted = dict(
        SlaBreach.objects.filter(kind=SlaBreach.Kind.NEGLECT, at__gte=low, at__lt=high)
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    backdated = backdated_by_author(low=low, high=high, user_ids=wanted)
    owners = set(counts) | set(overdue) | set(wasted) | set(backdated)
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
                "backdated": backdated.get(owner, 0),
            }
        )
    return result


class StateNow:
    """The open owned leads per owner at one instant (``now``), and those overdue for
    follow-up among them (``overdue_q``): each read at most once, on first use, so one
    request's figures — compliance for the period and for the cohort, follow-up
    compliance — share one scan of the open leads instead of one each."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self._overdue: dict[int, int] | None = None
        self._open: dict[int, int] | None = None

    def overdue(self) -> dict[int, int]:
        """Per owner: open owned leads overdue now (``overdue_now_by_owner``)."""
        if self._overdue is None:
            self._overdue = overdue_now_by_owner(now=self.now, by_grade=policies())
        return self._overdue

    def open_owned(self) -> dict[int, int]:
        """Per owner: open leads they own now (``open_owned_by_owner``)."""
        if self._open is None:
            self._open = open_owned_by_owner()
        return self._open


def state_now_once(now: dt.datetime, *, state: StateNow | None = None) -> StateNow:
    """``state`` when it is the state at ``now`` (read once, shared), else a new one: the
    per-request helper of every caller of the overdue-now figures."""
    if state is not None and state.now == now:
        return state
    return StateNow(now)


def backdated_by_author(
    *, low: dt.datetime, high: dt.datetime, user_ids: set[int] | None = None
) -> dict[int, int]:
    """Per author: follow-ups recorded in [low, high) more than ``FOLLOW_UP_BACKDATE_HOURS``
    after the time they state (``leads.lifecycle.followups.backdated_q``)."""
    rows = FollowUp.objects.filter(backdated_q(), recorded_at__gte=low, recorded_at__lt=high)
    if user_ids is not None:
        rows = rows.filter(author_id__in=user_ids)
    return dict(
        rows.order_by().values("author_id").annotate(n=Count("pk")).values_list("author_id", "n")
    )


def overdue_q(*, now: dt.datetime, by_grade: dict[str, SlaPolicy]) -> Q:
    """Open owned leads overdue for follow-up now (docs/architecture.md §4): the next
    follow-up date has passed, or nothing was logged for the grade's
    ``follow_up_every_days``."""
    condition = Q(next_follow_up_at__lt=now)
    for grade, policy in by_grade.items():
        cutoff = now - dt.timedelta(days=policy.follow_up_every_days)
        grade_q = Q(grade=grade) | (Q(grade="") if grade == "D" else Q(pk__in=[]))
        silent = Q(last_follow_up_at__lt=cutoff) | Q(
            last_follow_up_at__isnull=True, assigned_at__lt=cutoff
        )
        condition |= grade_q & silent
    return Q(owner__isnull=False, stage__in=OWNABLE_STAGES) & condition


def _created(created: tuple[dt.datetime, dt.datetime] | None) -> Q:
    return Q() if created is None else Q(created_at__gte=created[0], created_at__lt=created[1])


def overdue_now_by_owner(
    *,
    now: dt.datetime,
    by_grade: dict[str, SlaPolicy],
    created: tuple[dt.datetime, dt.datetime] | None = None,
) -> dict[int, int]:
    """Per owner: open owned leads overdue now (``overdue_q``); ``created`` = [low, high)
    keeps the leads created then (a cohort)."""
    rows = (
        Lead.objects.filter(overdue_q(now=now, by_grade=by_grade), _created(created))
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    return dict(rows)


def open_owned_by_owner(created: tuple[dt.datetime, dt.datetime] | None = None) -> dict[int, int]:
    """Per owner: open leads they own now (the base of follow-up compliance: the share of
    them not overdue, ``overdue_now_by_owner``); ``created`` as there."""
    rows = (
        Lead.objects.filter(_created(created), owner__isnull=False, stage__in=OWNABLE_STAGES)
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    return dict(rows)


def delays(*, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Routing delay (created → first assigned) and rep delay (first assigned → that
    owner's first follow-up) of the period's leads, in working hours: medians and 95th
    percentiles, from the figures stored on each lead's first owned assignment."""
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


def compliance_scope(user: User, *, team: Team | None = None) -> list[int] | None:
    """Whose rows ``user`` may read — the same scope as the compliance API.

    A team: its members, for managers, the desk and that team's manager. No team: the
    report rule of ``assignment.selectors.rep_ids_visible_to`` (everyone for managers and
    the desk; a sales manager: themself and their teams' members; a rep: themself).
    """
    if team is not None:
        if not (has_role(user, Role.MANAGER, Role.LEAD_DESK) or team.manager_id == user.pk):
            raise ServiceError(_("You may read only the teams you manage."), code="forbidden")
        return list(team.memberships.values_list("user_id", flat=True))
    scope = rep_ids_visible_to(user)
    return None if scope is None else sorted(scope)
