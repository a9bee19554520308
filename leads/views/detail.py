"""The lead page: fields, score, follow-ups, timeline, "why this owner", the action panel
(built from the action registry) and the endpoint its forms post to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from assignment.models import Assignment
from assignment.selectors import team_member_ids_managed_by
from leads import actions, lifecycle
from leads.actions import ActionForm, sales_users
from leads.choices import (
    DisqualifyReason,
    GradeSource,
    LoseReason,
    RecycleReason,
    RejectReason,
)
from leads.models import Lead
from leads.privacy import can_handle_privacy_requests
from leads.reviews import can_read_reviews, can_review, open_reviews
from leads.selectors import (
    contact_for,
    lead_events_for,
    lead_follow_ups_for,
    leads_visible_to,
)
from leads.views.timeline import describe_events
from pipeline.errors import ServiceError
from pipeline.pages import choice_label
from pipeline.roles import Role, has_role
from scoring.forms import condition_display
from scoring.models import ScoringRule

User = get_user_model()


DIMENSION_LABELS = {"fit": gettext_lazy("Fit"), "engagement": gettext_lazy("Engagement")}

REASON_CHOICES = {
    "disqualify_reason": DisqualifyReason,
    "reject_reason": RejectReason,
    "lost_reason": LoseReason,
    "recycle_reason": RecycleReason,
}


@dataclass
class ActionPanel:
    name: str
    title: str
    hint: str
    form: ActionForm
    danger: bool


def assign_owners(user) -> QuerySet:
    """Owners to offer: every salesperson, or a sales manager's own team members."""
    owners = sales_users()
    if user.is_superuser or has_role(user, Role.LEAD_DESK):
        return owners
    return owners.filter(pk__in=team_member_ids_managed_by(user))


def _panel(name: str, user, lead: Lead) -> ActionPanel:
    action = actions.get_action(name)
    return ActionPanel(
        name=name,
        title=str(action.title),
        hint=str(action.hint),
        form=actions.action_form(
            name, lead=lead, owners=assign_owners(user), auto_id=f"id_{name}_%s"
        ),
        danger=action.danger,
    )


def _reasons(lead: Lead) -> list[tuple[str, str]]:
    labels = {
        "disqualify_reason": _("Disqualify reason"),
        "reject_reason": _("Last reject reason"),
        "lost_reason": _("Lost reason"),
        "recycle_reason": _("Last recycle reason"),
    }
    return [
        (labels[name], choice_label(choices, getattr(lead, name)))
        for name, choices in REASON_CHOICES.items()
        if getattr(lead, name)
    ]


def _score_rows(lead: Lead) -> list[dict]:
    """The rules that gave the lead its points, each with its condition in words (the rule
    as it reads now: the detail keeps the rule's name only)."""
    items = [item for item in lead.score_detail or [] if isinstance(item, dict)]
    # Every rule, one query whatever the detail holds (a configuration of a few dozen rows).
    conditions = {
        rule.name: condition_display(rule.field, rule.operator, rule.value)
        for rule in ScoringRule.objects.only("name", "field", "operator", "value")
    }
    rows = []
    for item in items:
        dimension = str(item.get("dimension", ""))
        rows.append(
            {
                "rule": item.get("rule", ""),
                "condition": conditions.get(str(item.get("rule", "")), ""),
                "dimension": DIMENSION_LABELS.get(dimension, dimension),
                "points": item.get("points", 0),
            }
        )
    return rows


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    lead = get_object_or_404(leads_visible_to(user), pk=pk)
    contact = contact_for(user, lead)
    events = lead_events_for(user, lead)
    panels = [_panel(name, user, lead) for name in actions.allowed(lead=lead, actor=user)]
    return render(
        request,
        "leads/lead_detail.html",
        {
            "lead": lead,
            "contact": contact,
            "touches": list(lead.touches.select_related("campaign__channel")),
            "follow_ups": lead_follow_ups_for(user, lead),
            "timeline": describe_events(events, masked=contact.masked),
            "score_rows": _score_rows(lead),
            "reasons": _reasons(lead),
            "panels": panels,
            "can_edit": lifecycle.can_edit_lead(user, lead) and not contact.masked,
            # Data-subject requests (export, erase) for the desk and administrators.
            "privacy": can_handle_privacy_requests(user),
            # Flagged by a conflicting arrival (shown to who reads reviews; the desk decides).
            "in_review": can_read_reviews(user)
            and open_reviews(user).filter(lead_id=lead.pk).exists(),
            "can_review": can_review(user),
            # "Why this owner" and the desk's grade forms (one query).
            **lead_detail_extras(user, lead),
        },
    )


@login_required
@require_POST
def lead_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Run one lifecycle action (``leads.actions.run_action``: refused 403/409 → bad input
    → the service call); a refusal or bad input becomes messages on the page."""
    user = request.user
    lead = get_object_or_404(leads_visible_to(user), pk=pk)
    if action not in actions.LIFECYCLE_ACTIONS:
        raise Http404
    detail_url = reverse("leads:detail", args=[lead.pk])
    # On a refusal the page reopens the action's panel (see static/js/app.js).
    retry_url = f"{detail_url}#action-{action}"
    try:
        result = actions.run_action(lead=lead, actor=user, name=action, data=request.POST)
    except ServiceError as error:  # refused, or bad input (one line per field)
        for line in error.lines:
            messages.error(request, line)
        return redirect(retry_url)
    messages.success(request, actions.get_action(action).success(result))
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)  # e.g. a quick follow-up from "my leads" returns there
    if not leads_visible_to(user).filter(pk=lead.pk).exists():
        # e.g. a rejected lead goes back to the desk and out of the rep's sight.
        return redirect("leads:list")
    return redirect(detail_url)


def lead_assignments(lead: Lead) -> list[Assignment]:
    """Every ownership decision on the lead, newest first (one query)."""
    return list(
        Assignment.objects.filter(lead=lead)
        .select_related("owner", "actor", "rule")
        .order_by("-at", "-id")
    )


def lead_detail_extras(user, lead: Lead) -> dict[str, Any]:
    """Context the lead detail page adds: assignments, and the desk's grade forms.

    Costs one query (the assignments) whatever the lead's history.
    """
    desk_grades = has_role(user, Role.LEAD_DESK) and lead.is_open
    return {
        "assignments": lead_assignments(lead),
        "grade_form": (
            actions.action_form("grade", lead=lead, auto_id="id_setgrade_%s")
            if desk_grades
            else None
        ),
        "can_reset_grade": desk_grades and lead.grade_source == GradeSource.MANUAL,
    }
