"""The lead page's data-subject requests (PIPL): download the person's data, erase it.

Thin: the rules are in ``leads.privacy``; only the lead desk and administrators get here.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from leads.models import Lead
from leads.privacy import can_handle_privacy_requests, person_erase, personal_data_export
from leads.selectors import leads_visible_to
from pipeline.errors import ServiceError


def _privacy_lead(request: HttpRequest, pk: int) -> Lead:
    """404 outside the user's sight, then 403 unless desk or administrator."""
    lead = get_object_or_404(leads_visible_to(request.user), pk=pk)
    if not can_handle_privacy_requests(request.user):
        raise PermissionDenied
    return lead


@login_required
@require_GET
def lead_personal_data(request: HttpRequest, pk: int) -> HttpResponse:
    """Download everything held about the lead's person as a JSON file."""
    lead = _privacy_lead(request, pk)
    data = personal_data_export(lead=lead, actor=request.user)  # type: ignore[arg-type]
    body = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="personal-data-lead-{lead.pk}.json"'
    return response


@login_required
@require_POST
def lead_erase(request: HttpRequest, pk: int) -> HttpResponse:
    """Erase the lead's person after the page's confirmation; refusals become messages."""
    lead = _privacy_lead(request, pk)
    try:
        result = person_erase(
            lead=lead,
            actor=request.user,  # type: ignore[arg-type]
            confirm=request.POST.get("confirm", ""),
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(reverse("leads:detail", args=[lead.pk]) + "#privacy")
    count = len(result.lead_ids)
    messages.success(
        request,
        ngettext(
            "Personal data erased on %(count)d lead.",
            "Personal data erased on %(count)d leads.",
            count,
        )
        % {"count": count},
    )
    return redirect("leads:detail", pk=lead.pk)
