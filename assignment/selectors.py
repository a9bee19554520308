"""Reads about teams used by visibility and permission checks, and who sees whose rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypedDict

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from assignment.models import Assignment, Team, TeamMembership
from leads.choices import Stage
from leads.models import Lead
from pipeline.roles import Role, has_role


def teams_managed_by(user: User) -> QuerySet[Team]:
    return Team.objects.filter(manager=user)


class UserIdRow(TypedDict):
    user_id: int


def team_member_ids_managed_by(user: User) -> QuerySet[TeamMembership, UserIdRow]:
    """Ids of every user in a team ``user`` manages (a subquery, not evaluated)."""
    return TeamMembership.objects.filter(team__manager=user).values("user_id")


def manages_user(manager: User, user_id: int | None) -> bool:
    if user_id is None or manager is None or not manager.is_authenticated:
        return False
    return TeamMembership.objects.filter(team__manager=manager, user_id=user_id).exists()


#: Roles that see every rep's rows and every team in the reports.
SEE_ALL_REPS = (Role.MANAGER, Role.LEAD_DESK)


def rep_ids_visible_to(user: User, *, see_all: Iterable[str] = SEE_ALL_REPS) -> set[int] | None:
    """Whose per-person rows ``user`` may read in the reports; ``None`` means everyone's.

    The rule: managers, the lead desk and superusers see everyone; a sales manager sees
    themself plus the members of the teams they manage; anyone else (a rep) themself.

    ``see_all`` narrows who sees everyone for a report with a stricter rule: the
    scorecards pass ``(Role.MANAGER,)``, so there the desk reads only its own card.
    """
    if has_role(user, *see_all):
        return None
    ids = {user.pk}
    if has_role(user, Role.SALES_MANAGER):
        ids.update(
            TeamMembership.objects.filter(team__manager=user).values_list("user_id", flat=True)
        )
    return ids


def team_pages_for(user: User) -> QuerySet[Team] | None:
    """Teams whose team page ``user`` may open, by name; ``None``: no team page at all
    (only managers, the desk and sales managers have one)."""
    if has_role(user, *SEE_ALL_REPS, Role.SALES_MANAGER):
        return teams_visible_to(user).order_by("name")
    return None


def teams_visible_to(user: User) -> QuerySet[Team]:
    """The teams ``user`` may pick in a report filter: every team for managers, the lead
    desk and superusers; otherwise the teams they manage (none for a rep)."""
    if has_role(user, *SEE_ALL_REPS):
        return Team.objects.all()
    return teams_managed_by(user)


@dataclass(frozen=True)
class RoutingOutcome:
    """Where routing sent a lead, for the person who just qualified or assigned it (issue
    #14: no silent pool). ``reason`` is in the active language."""

    outcome: str  # ASSIGNED, POOLED or PENDING
    owner_id: int | None
    reason: str

    def as_data(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "owner": self.owner_id, "reason": self.reason}

    def message(self) -> str:
        """The sentence a page adds to its success message: the reason says where to."""
        if self.reason:
            return self.reason
        if self.outcome == POOLED:
            return gettext("The lead went to the pool.")
        return gettext("The lead was assigned.")


ASSIGNED = "assigned"
POOLED = "pooled"
PENDING = "pending"
OUTCOMES = (ASSIGNED, POOLED, PENDING)


def routing_outcome(lead_id: int) -> RoutingOutcome | None:
    """The routing outcome of a lead as it stands now (after the commit, so after eager
    routing), worded from the coded reason of its last ownership decision; ``None`` when
    the lead is not waiting for or given an owner (not an unclaimed MQL or owned)."""
    lead = Lead.objects.filter(pk=lead_id).values("owner_id", "in_pool", "stage").first()
    if lead is None:
        return None
    if lead["owner_id"] is not None or lead["in_pool"]:
        decision = (
            Assignment.objects.filter(lead_id=lead_id, owner_id=lead["owner_id"])
            .order_by("-at", "-id")
            .first()
        )
        why = decision.reason_display if decision is not None else ""
        if lead["owner_id"] is not None:
            return RoutingOutcome(ASSIGNED, lead["owner_id"], why)
        return RoutingOutcome(POOLED, None, why)
    if lead["stage"] != Stage.MQL:
        return None
    if not settings.AUTO_ASSIGN:
        return RoutingOutcome(
            PENDING, None, gettext("Automatic routing is off: the lead desk assigns the lead.")
        )
    return RoutingOutcome(
        PENDING,
        None,
        gettext("Routing runs in the background: the lead page shows its owner in a moment."),
    )


@dataclass(frozen=True)
class PooledToday:
    lead_id: int
    name: str
    reason: str


#: How many of the day's pooled leads the desk queue lists.
POOLED_TODAY_SHOWN = 20


def pooled_today(leads: QuerySet[Lead], *, limit: int = POOLED_TODAY_SHOWN) -> list[PooledToday]:
    """The leads of ``leads`` routing sent to the pool today and still there, newest first,
    each with the coded reason of its pool decision in the active language (issue #14: the
    desk sees what went to the pool, and why, without opening each lead)."""
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    decisions = (
        Assignment.objects.filter(
            owner__isnull=True,
            at__gte=start,
            lead__in=leads.filter(in_pool=True, owner__isnull=True),
        )
        .select_related("lead")
        .order_by("-at", "-id")
    )
    shown: dict[int, PooledToday] = {}
    for decision in decisions[: limit * 2]:  # a lead pooled twice today shows once
        if decision.lead_id not in shown and len(shown) < limit:
            shown[decision.lead_id] = PooledToday(
                decision.lead_id, decision.lead.name, decision.reason_display
            )
    return list(shown.values())
