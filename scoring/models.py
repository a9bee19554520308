"""Scoring rules, grade thresholds and rescoring jobs (docs/architecture.md §4)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from pipeline.conditions import OPERATORS
from scoring.choices import Dimension, JobStatus


class ScoringRule(models.Model):
    """Points for a lead fact: ``field operator value`` → ``points`` (may be negative)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    dimension = models.CharField(_("dimension"), max_length=12, choices=Dimension.choices)
    field = models.CharField(_("field"), max_length=40)
    operator = models.CharField(
        _("operator"), max_length=10, choices=[(op, op) for op in OPERATORS]
    )
    value = models.JSONField(_("value"))
    points = models.SmallIntegerField(_("points"))
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["dimension", "-points", "name"]
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(dimension__in=Dimension.values), name="scoring_rule_dimension_valid"
            ),
            models.CheckConstraint(
                condition=Q(operator__in=OPERATORS), name="scoring_rule_operator_valid"
            ),
            models.CheckConstraint(
                condition=Q(points__gte=-100) & Q(points__lte=100),
                name="scoring_rule_points_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class GradeThresholds(models.Model):
    """The score a lead needs for A, B and C (else D), and auto-qualification. One row.

    The row also carries the rule set's ``version``: one counter, bumped in the same
    transaction as every change to a scoring rule or to these thresholds (the services in
    ``scoring.services`` lock this row ``FOR UPDATE`` to do it). Every lead records the
    version its score was computed with (``Lead.score_version``).
    """

    a = models.PositiveSmallIntegerField(_("A from"), default=75)
    b = models.PositiveSmallIntegerField(_("B from"), default=50)
    c = models.PositiveSmallIntegerField(_("C from"), default=25)
    auto_qualify = models.BooleanField(_("qualify automatically"), default=False)
    auto_qualify_score = models.PositiveSmallIntegerField(_("auto-qualify from score"), default=75)
    version = models.PositiveIntegerField(_("rule set version"), default=1)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("grade thresholds")
        verbose_name_plural = _("grade thresholds")
        constraints = [
            models.CheckConstraint(
                condition=Q(a__lte=100) & Q(a__gt=F("b")) & Q(b__gt=F("c")) & Q(c__gt=0),
                name="grade_thresholds_ordered",
            ),
            models.CheckConstraint(
                condition=Q(auto_qualify_score__lte=100), name="grade_thresholds_auto_lte_100"
            ),
        ]

    def __str__(self) -> str:
        return f"A≥{self.a} B≥{self.b} C≥{self.c}"

    @classmethod
    def current(cls) -> GradeThresholds:
        thresholds = cls.objects.filter(pk=1).first()
        if thresholds is None:
            thresholds, _created = cls.objects.get_or_create(pk=1)
        return thresholds


class RescoreJob(models.Model):
    """A background recompute of every open lead's score at one rule set ``version``, with
    progress for the UI. Requests made while it is still pending join it (debounce)."""

    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    #: The rule set version this job brings every open lead to.
    version = models.PositiveIntegerField(_("rule set version"), default=0)
    total = models.PositiveIntegerField(_("total"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    changed = models.PositiveIntegerField(_("changed"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    #: When the job was last asked for (pending) or last finished a batch (running); a
    #: running job silent for long lost its worker and is queued again.
    heartbeat_at = models.DateTimeField(_("heartbeat at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("rescore job")
        verbose_name_plural = _("rescore jobs")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=JobStatus.values), name="rescore_job_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"rescore #{self.pk} {self.status} {self.processed}/{self.total}"
