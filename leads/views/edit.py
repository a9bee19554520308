"""Entering a lead by hand, and editing one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from leads import lifecycle
from leads.forms import LeadForm
from leads.selectors import (
    contact_masked,
    leads_visible_to,
)
from pipeline.errors import ServiceError

User = get_user_model()


def _apply_service_error(form: LeadForm, error: ServiceError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


@login_required
def lead_new(request: HttpRequest) -> HttpResponse:
    """Enter a lead by hand (marketers and the lead desk); a known person gets a touch."""
    user = request.user
    if not lifecycle.can_create_lead(user):
        raise PermissionDenied(_("You are not allowed to create leads."))
    form = LeadForm(request.POST or None, campaigns=lifecycle.campaigns_usable_by(user))
    if request.method == "POST" and form.is_valid():
        fields, campaign = form.service_fields()
        try:
            result = lifecycle.lead_create(actor=user, fields=fields, campaign=campaign)
        except ServiceError as error:
            _apply_service_error(form, error)
        else:
            if result.duplicate:
                messages.warning(
                    request,
                    _(
                        "%(name)s is already known — added a touch to the existing lead "
                        "instead of creating a new one."
                    )
                    % {"name": result.lead.name},
                )
            else:
                messages.success(request, _("Lead created."))
            return redirect("leads:detail", pk=result.lead.pk)
    return render(request, "leads/lead_form.html", {"form": form, "lead": None})


@login_required
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    lead = get_object_or_404(leads_visible_to(user), pk=pk)
    if not lifecycle.can_edit_lead(user, lead) or contact_masked(user, lead):
        raise PermissionDenied(_("You are not allowed to edit this lead."))
    # The picker offers the campaigns the user may move the lead to, and the current one.
    usable = lifecycle.campaigns_usable_by(user).values("pk")
    campaigns = (
        Campaign.objects.select_related("channel")
        .filter(Q(pk__in=usable) | Q(pk=lead.source_campaign_id))
        .order_by("-start_date", "-id")
    )
    form = LeadForm(
        request.POST or None,
        initial=LeadForm.initial_for(lead),
        campaigns=campaigns,
        deal=lifecycle.may_set_expected_close(user, lead),
    )
    if request.method == "POST" and form.is_valid():
        fields, campaign = form.service_fields()
        try:
            lifecycle.lead_update(
                lead=lead,
                actor=user,
                fields=fields,
                source_campaign=campaign,
                expected_close=form.expected_close(),
            )
        except ServiceError as error:
            _apply_service_error(form, error)
        else:
            messages.success(request, _("Lead saved."))
            return redirect("leads:detail", pk=lead.pk)
    return render(request, "leads/lead_form.html", {"form": form, "lead": lead})
