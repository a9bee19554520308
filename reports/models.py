"""SLA policies, the business calendar, SLA breaches and compliance snapshots; stored report
snapshots and the jobs that compute them (docs/architecture.md §4)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from leads.choices import GRADES
from reports.choices import ReportJobOrigin, ReportJobStatus, ReportKind


class FinalAction(models.TextChoices):
    NONE = "none", _("Only escalate")
    RECYCLE = "recycle", _("Recycle to the pool")
    REASSIGN = "reassign", _("Reassign by the rules")


class SlaPolicy(models.Model):
    """How fast and how often sales must work a lead of one grade."""

    grade = models.CharField(_("grade"), max_length=1, unique=True)
    first_response_hours = models.PositiveSmallIntegerField(
        _("first response within (working hours)"), default=4
    )
    follow_up_every_days = models.PositiveSmallIntegerField(
        _("follow up at least every (days)"), default=7
    )
    recycle_after_days = models.PositiveSmallIntegerField(
        _("recycle after days without follow-up"), default=30
    )
    escalate_after_hours = models.PositiveSmallIntegerField(
        _("tell the manager after (working hours past due)"), default=4
    )
    final_action = models.CharField(
        _("then"), max_length=10, choices=FinalAction.choices, default=FinalAction.RECYCLE
    )
    final_after_hours = models.PositiveSmallIntegerField(
        _("final action after (working hours past due)"), default=16
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["grade"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(grade__in=list(GRADES)), name="sla_policy_grade_valid"
            ),
            models.CheckConstraint(
                condition=Q(first_response_hours__gte=1), name="sla_policy_first_response_gte_1"
            ),
            models.CheckConstraint(
                condition=Q(follow_up_every_days__gte=1), name="sla_policy_follow_up_gte_1"
            ),
            models.CheckConstraint(
                condition=Q(recycle_after_days__gte=models.F("follow_up_every_days")),
                name="sla_policy_recycle_after_follow_up",
            ),
            models.CheckConstraint(
                condition=Q(final_after_hours__gte=models.F("escalate_after_hours")),
                name="sla_policy_final_after_escalation",
            ),
            models.CheckConstraint(
                condition=Q(final_action__in=FinalAction.values),
                name="sla_policy_final_action_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"SLA {self.grade}"


def _default_weekdays() -> list[int]:
    return [0, 1, 2, 3, 4]


class BusinessCalendar(models.Model):
    """Working hours and days for SLA clocks; one row. Time zone: the TIME_ZONE setting."""

    work_start = models.TimeField(_("working day starts"), default=dt.time(9, 0))
    work_end = models.TimeField(_("working day ends"), default=dt.time(18, 0))
    weekdays = models.JSONField(_("working weekdays (0 = Monday)"), default=_default_weekdays)
    use_cn_holidays = models.BooleanField(
        _("follow Chinese public holidays and make-up workdays"), default=True
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendar")
        constraints = [
            models.CheckConstraint(
                condition=Q(work_end__gt=models.F("work_start")),
                name="business_calendar_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.work_start:%H:%M}–{self.work_end:%H:%M}"

    @classmethod
    def current(cls) -> BusinessCalendar:
        row = cls.objects.filter(pk=1).first()
        if row is None:
            row, _created = cls.objects.get_or_create(pk=1)
        return row


class SlaBreach(models.Model):
    """One step of the escalation ladder taken for one lead in one assignment cycle.

    Unique per (lead, kind, level, cycle): a scan that runs twice, or on two workers at
    once, takes each step exactly once.
    """

    class Kind(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response late")
        NEGLECT = "neglect", _("No follow-up: recycled")

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="sla_breaches")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sla_breaches"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    level = models.PositiveSmallIntegerField(_("level"))
    cycle = models.DateTimeField(_("assignment the breach belongs to"))
    run = models.UUIDField(_("scan run"))
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["-at"]
        verbose_name = _("SLA breach")
        verbose_name_plural = _("SLA breaches")
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "kind", "level", "cycle"], name="sla_breach_once_per_step"
            ),
        ]
        indexes = [models.Index(fields=["run"]), models.Index(fields=["owner", "at"])]

    def __str__(self) -> str:
        return f"{self.lead_id} {self.kind} L{self.level}"


class ComplianceSnapshot(models.Model):
    """A rep's follow-up compliance for one day's cohort, stored by the nightly job."""

    day = models.DateField(_("day"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="compliance_snapshots"
    )
    assigned = models.PositiveIntegerField(_("assigned"), default=0)
    due = models.PositiveIntegerField(_("SLA elapsed"), default=0)
    in_time = models.PositiveIntegerField(_("answered in time"), default=0)
    median_response_hours = models.FloatField(_("median response (working hours)"), null=True)
    p95_response_hours = models.FloatField(_("p95 response (working hours)"), null=True)
    overdue_now = models.PositiveIntegerField(_("overdue now"), default=0)
    wasted = models.PositiveIntegerField(_("wasted (recycled for neglect)"), default=0)
    computed_at = models.DateTimeField(_("computed at"), auto_now=True)

    class Meta:
        ordering = ["-day", "user"]
        verbose_name = _("compliance snapshot")
        verbose_name_plural = _("compliance snapshots")
        constraints = [
            models.UniqueConstraint(fields=["day", "user"], name="compliance_snapshot_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}"


class DigestSent(models.Model):
    """One overdue-follow-up digest per rep per day: a second run of the job sends none."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    leads = models.PositiveIntegerField(_("overdue leads"), default=0)
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("digest sent")
        verbose_name_plural = _("digests sent")
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="digest_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}"


# --------------------------------------------------------------------------------------
# Report snapshots (reports.snapshots)
# --------------------------------------------------------------------------------------


class SnapshotEncoder(DjangoJSONEncoder):
    """JSON that gives back what the selector returned: decimals and dates are tagged
    (``{"$decimal": "12.30"}``, ``{"$date": "2026-01-31"}``) so that reading a snapshot
    yields the same Python values (``Decimal``, ``date``) as computing the report live."""

    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return {"$decimal": str(o)}
        if isinstance(o, dt.datetime):
            return {"$datetime": o.isoformat()}
        if isinstance(o, dt.date):
            return {"$date": o.isoformat()}
        return super().default(o)


_REVIVE = {
    "$decimal": Decimal,
    "$datetime": dt.datetime.fromisoformat,
    "$date": dt.date.fromisoformat,
}


def _revive(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        ((tag, value),) = obj.items()
        if tag in _REVIVE and isinstance(value, str):
            return _REVIVE[tag](value)
    return obj


class SnapshotDecoder(json.JSONDecoder):
    """The reverse of ``SnapshotEncoder``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("object_hook", _revive)
        super().__init__(*args, **kwargs)


class ReportSnapshot(models.Model):
    """One report as its selector returned it, for one exact request, stored by a job.

    Keyed by (kind, attribution model, channel kind, channel, from, to); ``""`` means
    "not applicable / no filter" (the funnel and the trend have no attribution model,
    the dashboard has no channel). A row exists only once computed, and is replaced in one
    statement (an upsert) when computed again; ``computed_at`` decides whether it is fresh
    enough to be shown (``REPORT_SNAPSHOT_MAX_AGE``).
    """

    kind = models.CharField(_("report"), max_length=20, choices=ReportKind.choices)
    model = models.CharField(_("attribution model"), max_length=20, blank=True)
    channel_kind = models.CharField(_("channel kind"), max_length=10, blank=True)
    channel = models.CharField(_("channel"), max_length=40, blank=True)
    start = models.DateField(_("from"))
    end = models.DateField(_("to"))
    payload = models.JSONField(_("report"), encoder=SnapshotEncoder, decoder=SnapshotDecoder)
    computed_at = models.DateTimeField(_("computed at"))
    seconds = models.FloatField(_("seconds to compute"), default=0)

    class Meta:
        ordering = ["-computed_at", "-id"]
        verbose_name = _("report snapshot")
        verbose_name_plural = _("report snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "model", "channel_kind", "channel", "start", "end"],
                name="report_snapshot_unique",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ReportKind.values), name="report_snapshot_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(end__gte=models.F("start")), name="report_snapshot_end_after_start"
            ),
        ]
        indexes = [models.Index(fields=["computed_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.model or '-'} {self.start}–{self.end}"


class ReportJob(models.Model):
    """A background computation of a few reports into snapshots, with progress.

    ``reports`` lists what to compute (``ReportKey.as_json``); ``key`` is a digest of that
    list, and at most one job per key is pending or running (a partial unique constraint),
    so ten people opening the same expensive period queue one computation. The worker that
    claims the job writes a fresh ``run`` token; progress and the final state are written
    only under that token, so a worker that was taken over (no heartbeat for
    ``REPORT_JOB_STALE_SECONDS``) stops instead of racing the new one.
    """

    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ReportJobStatus.choices,
        default=ReportJobStatus.PENDING,
    )
    origin = models.CharField(
        _("origin"),
        max_length=10,
        choices=ReportJobOrigin.choices,
        default=ReportJobOrigin.ON_DEMAND,
    )
    key = models.CharField(_("reports digest"), max_length=64)
    reports = models.JSONField(_("reports"), default=list)
    total = models.PositiveIntegerField(_("total"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    error = models.TextField(_("error"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    run = models.UUIDField(_("run"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("report job")
        verbose_name_plural = _("report jobs")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ReportJobStatus.values), name="report_job_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(origin__in=ReportJobOrigin.values), name="report_job_origin_valid"
            ),
            models.CheckConstraint(
                condition=Q(processed__lte=models.F("total")),
                name="report_job_processed_lte_total",
            ),
            models.UniqueConstraint(
                fields=["key"],
                condition=Q(status__in=[ReportJobStatus.PENDING, ReportJobStatus.RUNNING]),
                name="report_job_one_active_per_key",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"report job #{self.pk} {self.status} {self.processed}/{self.total}"

    @property
    def finished(self) -> bool:
        return self.status in (ReportJobStatus.DONE, ReportJobStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.status == ReportJobStatus.DONE:
            return 100
        return min(100, self.processed * 100 // self.total) if self.total else 0


# The rollup tables live in their own package (``reports.rollups``); importing them here
# registers them with the reports app.
from reports.rollups.models import (  # noqa: E402, F401
    RollupCampaignTotal,
    RollupChannelDay,
    RollupDay,
    RollupFunnel,
    RollupMark,
)
