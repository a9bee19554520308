"""Reads about teams used by visibility and permission checks."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet

from assignment.models import Team, TeamMembership


def teams_managed_by(user: User) -> QuerySet[Team]:
    return Team.objects.filter(manager=user)


def team_member_ids_managed_by(user: User) -> QuerySet:
    """Ids of every user in a team ``user`` manages (a subquery, not evaluated)."""
    return TeamMembership.objects.filter(team__manager=user).values("user_id")


def manages_user(manager: User, user_id: int | None) -> bool:
    if user_id is None or manager is None or not manager.is_authenticated:
        return False
    return TeamMembership.objects.filter(team__manager=manager, user_id=user_id).exists()
