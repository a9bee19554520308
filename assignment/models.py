"""Sales teams and memberships; assignment rules and the router come with the assignment engine."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from assignment.choices import DecisionKind, Strategy
from assignment.reasons import reason_text


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


class AssignmentRule(models.Model):
    """An ordered routing rule: conditions over lead facts and a strategy over a team or user.

    ``conditions`` is a list of ``{"field", "operator", "value"}``; every condition must hold
    (an empty list matches every lead).
    """

    name = models.CharField(_("name"), max_length=100)
    priority = models.PositiveIntegerField(_("priority"), default=100)
    active = models.BooleanField(_("active"), default=True)
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    strategy = models.CharField(_("strategy"), max_length=16, choices=Strategy.choices)
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rules",
        verbose_name=_("team"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assignment_rules",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["priority", "id"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(strategy__in=Strategy.values), name="assignment_rule_strategy_valid"
            ),
            models.CheckConstraint(
                condition=(Q(strategy=Strategy.USER) & Q(user__isnull=False))
                | (~Q(strategy=Strategy.USER) & Q(team__isnull=False)),
                name="assignment_rule_has_target",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RotationCursor(models.Model):
    """Where a rule's rotation stands; advanced under a row lock so workers never skew it."""

    rule = models.OneToOneField(AssignmentRule, on_delete=models.CASCADE, related_name="cursor")
    position = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("rotation cursor")
        verbose_name_plural = _("rotation cursors")

    def __str__(self) -> str:
        return f"{self.rule_id}@{self.position}"


class Assignment(models.Model):
    """One ownership decision, with the rule and strategy behind it and why ("why this owner").

    Why is kept as a catalogue code and its parameters (``assignment.reasons``) and worded
    in the reader's language by ``reason_display``; ``reason`` keeps the same words in the
    site language, and is all that rows written before codes existed have.

    For an owner (not the pool) it also keeps the decision's SLA figures: when the first
    response was due, when the owner's first follow-up came, and both delays in working
    seconds — routing (lead created → this assignment) and response (assigned → first
    follow-up by this owner).
    """

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="assignments")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assignments_received",
        verbose_name=_("owner"),
    )
    previous_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("previous owner"),
    )
    rule = models.ForeignKey(
        AssignmentRule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assignments",
        verbose_name=_("rule"),
    )
    rule_name = models.CharField(_("rule name"), max_length=100, blank=True)
    strategy = models.CharField(_("strategy"), max_length=20, choices=DecisionKind.choices)
    reason = models.TextField(_("reason"))
    reason_code = models.CharField(_("reason code"), max_length=40, blank=True)
    reason_params = models.JSONField(_("reason parameters"), default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assignments_made",
        verbose_name=_("actor"),
    )
    at = models.DateTimeField(_("at"))
    # The SLA clock of this assignment, stored when it happens so compliance is plain
    # aggregation (docs/architecture.md §4). Working time follows the business calendar in force
    # then; ``reports.sla.backfill.backfill_sla_clocks`` fills rows written before these existed.
    response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    response_work_seconds = models.PositiveIntegerField(
        _("first response after (working seconds)"), null=True, blank=True
    )
    routing_work_seconds = models.PositiveIntegerField(
        _("assigned after creation (working seconds)"), null=True, blank=True
    )

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.CheckConstraint(
                condition=Q(strategy__in=DecisionKind.values), name="assignment_strategy_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["lead", "at"]),
            models.Index(fields=["owner", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} → {self.owner_id or 'pool'} ({self.strategy})"

    @property
    def reason_display(self) -> str:
        """Why, in the active language; the stored text for a row without a code."""
        return reason_text(self.reason_code, self.reason_params, fallback=self.reason)


class PoolPolicy(models.Model):
    """The pool (公海) rules; one row. Protection periods per grade are the SLA policies'."""

    daily_claim_limit = models.PositiveIntegerField(_("daily claims per rep"), default=20)
    reclaim_cooldown_days = models.PositiveIntegerField(
        _("days before a rep may re-claim a lead they dropped"), default=7
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("pool policy")
        verbose_name_plural = _("pool policy")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)

    @classmethod
    def current(cls) -> PoolPolicy:
        policy = cls.objects.filter(pk=1).first()
        if policy is None:
            policy, _created = cls.objects.get_or_create(
                pk=1,
                defaults={
                    "daily_claim_limit": settings.POOL_DAILY_CLAIM_LIMIT,
                    "reclaim_cooldown_days": settings.POOL_RECLAIM_COOLDOWN_DAYS,
                },
            )
        return policy
