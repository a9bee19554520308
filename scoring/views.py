"""Scoring pages: the rules by dimension, the grade thresholds and the rescoring progress.

The lead desk edits; marketing, management and sales managers read. Every write goes
through ``scoring.services`` (which also queues the rescore of all open leads), and a
refusal (``ServiceError``) is shown on the field it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from pipeline.errors import ServiceError
from pipeline.roles import Role, has_role
from scoring import services
from scoring.choices import Dimension
from scoring.forms import (
    OPERATOR_LABELS,
    ScoringRuleForm,
    ThresholdsForm,
    condition_display,
    fact_label,
    value_display,
)
from scoring.models import GradeThresholds, RescoreJob, ScoringRule

READ_ROLES = (Role.LEAD_DESK, Role.MARKETER, Role.MANAGER, Role.SALES_MANAGER)


def _require_reader(request: HttpRequest):
    if not has_role(request.user, *READ_ROLES):
        raise PermissionDenied(_("You are not allowed to see the scoring rules."))
    return request.user


def _require_desk(request: HttpRequest):
    if not has_role(request.user, Role.LEAD_DESK):
        raise PermissionDenied(_("Only the lead desk changes scoring."))
    return request.user


def _apply_service_error(form, error: ServiceError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


# --------------------------------------------------------------------------------------
# Index: rules, thresholds, rescoring
# --------------------------------------------------------------------------------------


@dataclass
class RuleRow:
    rule: ScoringRule
    field_label: str
    operator: str
    value: str
    condition: str


@dataclass
class Band:
    grade: str
    low: int
    high: int

    @property
    def width(self) -> int:
        return max(self.high - self.low + 1, 0)


def _rule_groups() -> list[dict[str, Any]]:
    rules = list(ScoringRule.objects.order_by("dimension", "-points", "name"))
    groups = []
    for code, label in Dimension.choices:
        rows = [
            RuleRow(
                rule=rule,
                field_label=fact_label(rule.field),
                operator=str(OPERATOR_LABELS.get(rule.operator, rule.operator)),
                value=value_display(rule.operator, rule.value, rule.field),
                condition=condition_display(rule.field, rule.operator, rule.value),
            )
            for rule in rules
            if rule.dimension == code
        ]
        groups.append(
            {
                "code": code,
                "label": label,
                "rows": rows,
                "active": sum(1 for row in rows if row.rule.active),
                "max_points": sum(max(row.rule.points, 0) for row in rows if row.rule.active),
            }
        )
    return groups


def _bands(thresholds: GradeThresholds) -> list[Band]:
    """The score scale, D at the left: D 0…C-1, C C…B-1, B B…A-1, A A…100."""
    return [
        Band("D", 0, thresholds.c - 1),
        Band("C", thresholds.c, thresholds.b - 1),
        Band("B", thresholds.b, thresholds.a - 1),
        Band("A", thresholds.a, 100),
    ]


def _job_context(job: RescoreJob | None) -> dict[str, Any] | None:
    if job is None:
        return None
    if job.status == "done":
        percent = 100
    else:
        percent = min(100, round(job.processed * 100 / job.total)) if job.total else 0
    return {
        "job": job,
        "percent": percent,
        "url": reverse("rescore-job-detail", args=[job.pk]),
    }


def _index(request: HttpRequest, *, thresholds_form: ThresholdsForm | None = None, status=200):
    user = request.user
    thresholds = GradeThresholds.current()
    can_edit = has_role(user, Role.LEAD_DESK)
    if thresholds_form is None and can_edit:
        thresholds_form = ThresholdsForm(initial=ThresholdsForm.initial_for(thresholds))
    job = RescoreJob.objects.select_related("requested_by").order_by("-created_at", "-id").first()
    return render(
        request,
        "scoring/scoring_index.html",
        {
            "groups": _rule_groups(),
            "thresholds": thresholds,
            "bands": _bands(thresholds),
            "thresholds_form": thresholds_form,
            "rescore": _job_context(job),
            "can_edit": can_edit,
        },
        status=status,
    )


@login_required
def scoring_index(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    return _index(request)


@login_required
def thresholds_edit(request: HttpRequest) -> HttpResponse:
    """POST the thresholds form of the index page; errors come back on that page."""
    user = _require_desk(request)
    if request.method != "POST":
        return redirect("scoring:index")
    form = ThresholdsForm(request.POST)
    if form.is_valid():
        try:
            services.thresholds_save(actor=user, **form.cleaned_data)
        except ServiceError as error:
            _apply_service_error(form, error)
        else:
            messages.success(
                request, _("Grade thresholds saved; every open lead is being rescored.")
            )
            return redirect(reverse("scoring:index") + "#thresholds")
    return _index(request, thresholds_form=form)


# --------------------------------------------------------------------------------------
# Rules: create, edit, delete
# --------------------------------------------------------------------------------------


@login_required
def rule_create(request: HttpRequest) -> HttpResponse:
    return _rule_form(request, rule=None)


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _rule_form(request, rule=get_object_or_404(ScoringRule, pk=pk))


def _rule_form(request: HttpRequest, *, rule: ScoringRule | None) -> HttpResponse:
    user = _require_desk(request)
    initial = ScoringRuleForm.initial_for(rule) if rule else {"active": True, "dimension": "fit"}
    form = ScoringRuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.scoring_rule_save(actor=user, rule=rule, **form.service_kwargs())
        except ServiceError as error:
            _apply_service_error(form, error)
        else:
            messages.success(
                request,
                _("Scoring rule “%(name)s” saved; every open lead is being rescored.")
                % {"name": saved.name},
            )
            return redirect("scoring:index")
    return render(request, "scoring/rule_form.html", {"form": form, "rule": rule})


@login_required
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation, POST deletes."""
    user = _require_desk(request)
    rule = get_object_or_404(ScoringRule, pk=pk)
    if request.method == "POST":
        name = rule.name
        try:
            services.scoring_rule_delete(actor=user, rule=rule)
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("Scoring rule “%(name)s” deleted; every open lead is being rescored.")
                % {"name": name},
            )
        return redirect("scoring:index")
    return render(
        request,
        "scoring/rule_confirm_delete.html",
        {"rule": rule, "condition": condition_display(rule.field, rule.operator, rule.value)},
    )
