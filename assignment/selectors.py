"""Reads about teams used by visibility and permission checks, and who sees whose rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict

from django.contrib.auth.models import User
from django.db.models import QuerySet

from assignment.models import Team, TeamMembership
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
