"""Choices of the reports app: stored report kinds and the states of a report job."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ReportKind(models.TextChoices):
    """A report a snapshot can hold; each is one existing selector (reports.snapshots)."""

    FUNNEL = "funnel", _("Funnel")
    CHANNEL_ROI = "channel_roi", _("Channel ROI")
    CAMPAIGN_ROI = "campaign_roi", _("Campaign ROI")
    TREND = "trend", _("Monthly trend")
    ATTAINMENT = "attainment", _("Attainment")
    AGREEMENT = "agreement", _("Marketing–sales agreement")


class ReportJobStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ReportJobOrigin(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled refresh")
    REFRESH = "refresh", _("Refresh asked by a manager")
    ON_DEMAND = "on_demand", _("Period too large to compute live")
