"""Who reads and who writes which targets (DESIGN §11, docs/architecture.md §1).

Managers and administrators read and write every target. A sales manager writes the
targets of the teams they manage and of those teams' members; nobody writes a target that
judges themself (a user target of their own). Everyone reads the company's targets and
what concerns them: their own, their teams', a sales manager their teams' members', a
marketer the channel targets and those of the campaigns they own.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from assignment.models import Team, TeamMembership
from campaigns.models import Campaign
from pipeline.roles import Role, has_role
from targets.models import Target

COMPANY = Q(user__isnull=True, team__isnull=True, channel__isnull=True, campaign__isnull=True)


def sees_all_targets(user: User) -> bool:
    return has_role(user, Role.MANAGER)


def targets_visible_to(user: User) -> QuerySet[Target]:
    targets = Target.objects.all()
    if sees_all_targets(user):
        return targets
    own_teams = TeamMembership.objects.filter(user=user).values("team_id")
    managed = Team.objects.filter(manager=user).values("pk")
    members = TeamMembership.objects.filter(team__manager=user).values("user_id")
    seen = COMPANY | Q(user=user) | Q(team__in=own_teams) | Q(team__in=managed)
    seen |= Q(user__in=members)
    if has_role(user, Role.MARKETER):
        seen |= Q(channel__isnull=False) | Q(campaign__owner=user)
    return targets.filter(seen)


def may_write_scope(
    actor: User,
    *,
    user_id: int | None = None,
    team_id: int | None = None,
    channel_id: int | None = None,
    campaign_id: int | None = None,
) -> bool:
    """Whether ``actor`` may set a target with this scope (none: the company)."""
    if user_id is not None and user_id == actor.pk and not actor.is_superuser:
        return False  # nobody sets the number that judges them
    if has_role(actor, Role.MANAGER):
        return True
    if not has_role(actor, Role.SALES_MANAGER):
        return False
    if team_id is not None:
        return Team.objects.filter(pk=team_id, manager=actor).exists()
    if user_id is not None:
        return TeamMembership.objects.filter(team__manager=actor, user_id=user_id).exists()
    return False


def target_campaign_choices(actor: User) -> QuerySet[Campaign]:
    """The campaigns ``actor`` may set a target on (``may_write_scope`` with a campaign, as a
    query): every campaign for management, none for anyone else."""
    if has_role(actor, Role.MANAGER):
        return Campaign.objects.all()
    return Campaign.objects.none()


def may_write(actor: User, target: Target) -> bool:
    return may_write_scope(
        actor,
        user_id=target.user_id,
        team_id=target.team_id,
        channel_id=target.channel_id,
        campaign_id=target.campaign_id,
    )


def writes_any_target(user: User) -> bool:
    """Whether the targets pages offer ``user`` to create and copy targets."""
    return has_role(user, Role.MANAGER, Role.SALES_MANAGER)


def writable_filter(actor: User) -> Q:
    """The targets ``actor`` may change, as a filter (for copying a whole period)."""
    if actor.is_superuser:
        return Q()
    if has_role(actor, Role.MANAGER):
        return ~Q(user=actor)
    if has_role(actor, Role.SALES_MANAGER):
        managed = Team.objects.filter(manager=actor).values("pk")
        members = TeamMembership.objects.filter(team__manager=actor).values("user_id")
        return (Q(team__in=managed) | Q(user__in=members)) & ~Q(user=actor)
    return Q(pk__in=[])
