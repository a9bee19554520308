"""The global search (the box in the navigation): leads the user may see, and campaigns
by name for those who read campaigns. The lead match is the lead list's ``q`` filter
(``leads.filters.search_q``), so a phone in any spelling finds the lead here as there."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from campaigns.selectors import campaigns_visible_to
from leads.filters import search_q
from leads.selectors import contact_for, leads_visible_to
from pipeline.pagination import SHORT_COUNT_CAP, CappedPaginator

#: How many leads and campaigns the results page shows; the rest are in the lead list.
SEARCH_SHOWN = 50
CAMPAIGNS_SHOWN = 20


@login_required
def global_search(request: HttpRequest) -> HttpResponse:
    user = request.user
    text = request.GET.get("q", "").strip()[:100]
    leads: list = []
    campaigns: list = []
    counted = None
    if text:
        matches = leads_visible_to(user).filter(search_q(text, user)).order_by("-created_at", "-id")
        # Counted up to the short cap (``CappedPaginator``): a common word among a million
        # leads reads at most SHORT_COUNT_CAP rows and says "1,000+" (the lead list, linked
        # below, pages through them all).
        counted = CappedPaginator(matches, SEARCH_SHOWN, count_cap=SHORT_COUNT_CAP)
        leads = [(lead, contact_for(user, lead)) for lead in counted.page(1).object_list]
        campaigns = list(
            campaigns_visible_to(user)
            .filter(name__icontains=text)
            .order_by("name")[:CAMPAIGNS_SHOWN]
        )
    return render(
        request,
        "leads/search.html",
        {
            "q": text,
            "rows": leads,
            "total": counted.count if counted else 0,
            "total_exact": counted.count_exact if counted else True,
            "total_label": counted.count_label if counted else "0",
            "shown": SEARCH_SHOWN,
            "campaigns": campaigns,
            "list_url": f"{reverse('leads:list')}?{urlencode({'q': text})}",
        },
    )
