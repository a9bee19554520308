"""Channels, campaigns and their costs: where leads come from and what they cost."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q, Sum
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from campaigns.choices import CampaignStatus, ChannelKind


class Channel(models.Model):
    """A marketing channel (官网, SEO, 线下参展 …). Seeded by a data migration."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_zh = models.CharField(_("Chinese name"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=ChannelKind.choices)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=100)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ChannelKind.values), name="channel_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.name_zh and (get_language() or "").startswith("zh"):
            return self.name_zh
        return self.name


def _new_public_key() -> str:
    return secrets.token_urlsafe(16)


class Campaign(models.Model):
    """One marketing action on one channel, with a budget (plan) and costs (actual spend)."""

    name = models.CharField(_("name"), max_length=200)
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("channel")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="campaigns",
        verbose_name=_("owner"),
        null=True,
        blank=True,
    )
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    budget = models.DecimalField(
        _("budget"), max_digits=14, decimal_places=2, default=Decimal("0.00")
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=CampaignStatus.choices,
        default=CampaignStatus.PLANNED,
    )
    utm_campaign = models.SlugField(_("utm_campaign"), max_length=100, unique=True)
    public_key = models.CharField(
        _("public key"), max_length=40, unique=True, default=_new_public_key, editable=False
    )
    #: Whether a capture naming only this ``utm_campaign`` (no ``public_key``) is accepted:
    #: off by default, since a utm_campaign is visible in every ad link.
    accept_utm_only = models.BooleanField(
        _("accept captures by utm_campaign alone"),
        default=False,
        help_text=_(
            "Let a submission name only this campaign's utm_campaign instead of its public key."
        ),
    )
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-start_date", "-id"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(condition=Q(budget__gte=0), name="campaign_budget_gte_0"),
            models.CheckConstraint(
                condition=Q(status__in=CampaignStatus.values), name="campaign_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True)
                | Q(end_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="campaign_end_after_start",
            ),
        ]
        indexes = [models.Index(fields=["channel", "start_date"])]

    def __str__(self) -> str:
        return self.name

    @property
    def actual_cost(self) -> Decimal:
        """Sum of cost lines; use the annotated ``actual_cost_sum`` in lists."""
        annotated = getattr(self, "actual_cost_sum", None)
        if annotated is not None:
            return annotated
        return self.costs.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


class CampaignCost(models.Model):
    """One line of actual spend on a campaign on a date."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="costs", verbose_name=_("campaign")
    )
    date = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]
        verbose_name = _("campaign cost")
        verbose_name_plural = _("campaign costs")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="campaign_cost_amount_gte_0"),
        ]
        indexes = [models.Index(fields=["date", "campaign"])]

    def __str__(self) -> str:
        return f"{self.campaign} {self.date} {self.amount}"


class CampaignFigures(models.Model):
    """A campaign's running figures: its leads (source campaign), their MQLs (``mql_at``
    set) and the sum of its cost lines — what ``campaigns.selectors.live_figures``
    computes, kept by database triggers in the transaction of every write to leads and
    cost lines, whichever path writes (docs/architecture.md, "Campaign figures")."""

    campaign = models.OneToOneField(
        Campaign,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="figures",
        verbose_name=_("campaign"),
    )
    leads = models.IntegerField(_("leads"), default=0)
    mqls = models.IntegerField(_("MQLs"), default=0)
    cost = models.DecimalField(
        _("actual cost"), max_digits=16, decimal_places=2, default=Decimal("0.00")
    )

    class Meta:
        verbose_name = _("campaign figures")
        verbose_name_plural = _("campaign figures")

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.leads} / {self.mqls} / {self.cost}"
