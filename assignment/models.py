"""Sales teams and memberships; assignment rules and the router come with the assignment engine."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    """A sales team; its manager sees and reassigns the team's leads."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="managed_teams",
        verbose_name=_("manager"),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="TeamMembership",
        related_name="teams",
        verbose_name=_("members"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    """A salesperson in a team, with what the router may give them."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    weight = models.PositiveSmallIntegerField(_("weight"), default=1)
    daily_capacity = models.PositiveIntegerField(_("daily capacity"), default=20)
    max_open_leads = models.PositiveIntegerField(_("max open leads"), default=200)
    available = models.BooleanField(_("available"), default=True)
    away_until = models.DateField(_("away until"), null=True, blank=True)

    class Meta:
        ordering = ["team", "user"]
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="team_membership_unique"),
            models.CheckConstraint(condition=Q(weight__gte=1), name="team_membership_weight_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.team}"
