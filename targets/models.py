"""Targets (绩效考核, DESIGN §11): a value for one metric in one period, for the whole
company or for one user, team, channel or campaign."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assignment.models import Team
from campaigns.models import Campaign, Channel
from pipeline.people import display_name
from targets.choices import MAX_METRICS, Metric, parse_period


class Target(models.Model):
    """``period`` is ``2026-12`` (a month) or ``2026-Q4`` (a quarter); ``start`` and ``end``
    are its first and last day, derived on save. At most one scope; none is the company."""

    period = models.CharField(_("period"), max_length=7, db_index=True)
    start = models.DateField(_("start"), editable=False)
    end = models.DateField(_("end"), editable=False)
    metric = models.CharField(_("metric"), max_length=32, choices=Metric.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="targets",
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="targets",
    )
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("channel"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="targets",
    )
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="targets",
    )
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=4)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["period", "metric", "pk"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            models.CheckConstraint(
                condition=Q(metric__in=Metric.values), name="target_metric_valid"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="target_value_gte_0"),
            # At most one scope.
            models.CheckConstraint(
                condition=(
                    Q(team__isnull=True, channel__isnull=True, campaign__isnull=True)
                    | Q(user__isnull=True, channel__isnull=True, campaign__isnull=True)
                    | Q(user__isnull=True, team__isnull=True, campaign__isnull=True)
                    | Q(user__isnull=True, team__isnull=True, channel__isnull=True)
                ),
                name="target_one_scope",
            ),
            # One target per (period, metric, scope); NULLs are distinct, so one per kind.
            models.UniqueConstraint(
                fields=["period", "metric", "user"],
                condition=Q(user__isnull=False),
                name="target_unique_user",
            ),
            models.UniqueConstraint(
                fields=["period", "metric", "team"],
                condition=Q(team__isnull=False),
                name="target_unique_team",
            ),
            models.UniqueConstraint(
                fields=["period", "metric", "channel"],
                condition=Q(channel__isnull=False),
                name="target_unique_channel",
            ),
            models.UniqueConstraint(
                fields=["period", "metric", "campaign"],
                condition=Q(campaign__isnull=False),
                name="target_unique_campaign",
            ),
            models.UniqueConstraint(
                fields=["period", "metric"],
                condition=Q(
                    user__isnull=True,
                    team__isnull=True,
                    channel__isnull=True,
                    campaign__isnull=True,
                ),
                name="target_unique_company",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.get_metric_display()} — {self.scope_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.start, self.end = parse_period(self.period)
        super().save(*args, **kwargs)

    @property
    def scope(self) -> str:
        """``user``, ``team``, ``channel``, ``campaign`` or ``company``."""
        for name in ("user", "team", "channel", "campaign"):
            if getattr(self, f"{name}_id") is not None:
                return name
        return "company"

    @property
    def scope_id(self) -> int | str | None:
        return None if self.scope == "company" else getattr(self, f"{self.scope}_id")

    @property
    def scope_label(self) -> str:
        """What the pages, API, exports and notices call the scope: "Company", the
        person's display name (``pipeline.people.display_name``: full name, else
        username), the team, channel or campaign. Lists ``select_related`` the scope
        objects, so this costs no query per row."""
        scope = self.scope
        if scope == "company":
            return str(_("Company"))
        if scope == "user":
            return display_name(self.user)
        return str(getattr(self, scope))

    @property
    def is_max(self) -> bool:
        return self.metric in MAX_METRICS

    def clean(self) -> None:
        try:
            self.start, self.end = parse_period(self.period)
        except ValueError as error:
            raise ValidationError({"period": str(error)}) from error


class TargetAlert(models.Model):
    """One "target at risk" notice sent to one person for one target in one week (the
    Monday that starts it): the weekly job sends each at most once."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="alerts")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="target_alerts"
    )
    week = models.DateField(_("week"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("target alert")
        verbose_name_plural = _("target alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["target", "recipient", "week"], name="target_alert_once_a_week"
            )
        ]

    def __str__(self) -> str:
        return f"{self.target_id} → {self.recipient_id} ({self.week})"
