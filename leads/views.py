from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from leads.filters import LeadFilterSet
from leads.selectors import lead_events, leads_visible_to


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    filterset = LeadFilterSet(request.GET, queryset=leads_visible_to(request.user), request=request)
    return render(
        request, "leads/lead_list.html", {"filter": filterset, "leads": filterset.qs[:50]}
    )


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(leads_visible_to(request.user), pk=pk)
    return render(request, "leads/lead_detail.html", {"lead": lead, "events": lead_events(lead)})
