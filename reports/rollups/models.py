"""The rollup tables (``reports.rollups``): what one cohort day adds to the period reports,
and which days changed since (registered through ``reports.models``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RollupDay(models.Model):
    """The credit-weighted ROI figures of the leads created on ``day`` (business time
    zone) through ``campaign``'s touches under one attribution ``model``: exactly what
    ``reports.selectors.campaign_roi`` sums for that one day, before rounding."""

    day = models.DateField(_("day"))
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="+", verbose_name=_("campaign")
    )
    model = models.CharField(_("attribution model"), max_length=20)
    leads = models.FloatField(_("leads"), default=0)
    mqls = models.FloatField(_("MQLs"), default=0)
    sqls = models.FloatField(_("SQLs"), default=0)
    opportunities = models.FloatField(_("opportunities"), default=0)
    won = models.FloatField(_("won"), default=0)
    revenue = models.FloatField(_("revenue"), default=0)

    class Meta:
        verbose_name = _("daily ROI rollup")
        verbose_name_plural = _("daily ROI rollups")
        constraints = [
            models.UniqueConstraint(fields=["model", "day", "campaign"], name="rollup_day_unique")
        ]
        indexes = [models.Index(fields=["campaign", "model"], name="rollup_day_campaign")]

    def __str__(self) -> str:
        return f"{self.day} {self.campaign_id} {self.model}"


class RollupChannelDay(models.Model):
    """The same figures per channel (``reports.selectors.channel_roi`` for that one day):
    the dashboard and the channel pages sum a few rows per day whatever the number of
    campaigns."""

    day = models.DateField(_("day"))
    channel = models.ForeignKey(
        "campaigns.Channel", on_delete=models.CASCADE, related_name="+", verbose_name=_("channel")
    )
    model = models.CharField(_("attribution model"), max_length=20)
    leads = models.FloatField(_("leads"), default=0)
    mqls = models.FloatField(_("MQLs"), default=0)
    sqls = models.FloatField(_("SQLs"), default=0)
    opportunities = models.FloatField(_("opportunities"), default=0)
    won = models.FloatField(_("won"), default=0)
    revenue = models.FloatField(_("revenue"), default=0)

    class Meta:
        verbose_name = _("daily channel ROI rollup")
        verbose_name_plural = _("daily channel ROI rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["model", "day", "channel"], name="rollup_channel_day_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.channel_id} {self.model}"


class RollupFunnel(models.Model):
    """The funnel counts of the leads created on ``day`` whose source campaign is of
    ``channel`` (null: no source campaign): what ``reports.selectors.funnel`` counts for
    that day."""

    day = models.DateField(_("day"))
    channel = models.ForeignKey(
        "campaigns.Channel",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("channel"),
    )
    leads = models.PositiveIntegerField(_("leads"), default=0)
    mqls = models.PositiveIntegerField(_("MQLs"), default=0)
    sqls = models.PositiveIntegerField(_("SQLs"), default=0)
    opportunities = models.PositiveIntegerField(_("opportunities"), default=0)
    won = models.PositiveIntegerField(_("won"), default=0)
    lost = models.PositiveIntegerField(_("lost"), default=0)
    disqualified = models.PositiveIntegerField(_("disqualified"), default=0)
    revenue = models.DecimalField(_("revenue"), max_digits=18, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("daily funnel rollup")
        verbose_name_plural = _("daily funnel rollups")
        indexes = [models.Index(fields=["day"], name="rollup_funnel_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.channel_id}"


class RollupMark(models.Model):
    """A cohort day whose rollup is out of date (a lead, touch or campaign of it changed);
    ``day`` null means every day (never built, or the attribution rules changed): until
    ``rebuild_rollups`` ran, the reports answer live. Rows are only inserted (one per
    change, no row lock shared by concurrent writers) and deleted by the refresh that
    recomputed their day."""

    day = models.DateField(_("day"), null=True, blank=True)
    marked_at = models.DateTimeField(_("marked at"), auto_now_add=True)

    class Meta:
        verbose_name = _("rollup mark")
        verbose_name_plural = _("rollup marks")
        indexes = [models.Index(fields=["day"], name="rollup_mark_day")]

    def __str__(self) -> str:
        return f"{self.day or '*'}"


class RollupCampaignTotal(models.Model):
    """``campaign``'s all-time credit-weighted revenue under one attribution ``model``: the
    sum of its ``RollupDay`` rows, recomputed with them (``reports.rollups.totals``), so the
    campaign list sorts by revenue and ROI reading one row per campaign (docs/architecture.md
    "Report rollups"). No row: no revenue."""

    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.CASCADE,
        related_name="revenue_totals",
        verbose_name=_("campaign"),
    )
    model = models.CharField(_("attribution model"), max_length=20)
    revenue = models.FloatField(_("revenue"), default=0)

    class Meta:
        verbose_name = _("campaign revenue total")
        verbose_name_plural = _("campaign revenue totals")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "model"], name="rollup_campaign_total_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.model}"
