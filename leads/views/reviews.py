"""The desk's contact reviews (``/leads/desk/reviews/``): leads flagged because an arrival
matched them by phone or email under another name or contact, and the three decisions
(``leads.reviews``: keep, update the contact, a different person). Desk and
administrators only, like the rest of the desk workspace; a paginated list whose query
count does not grow with the number of reviews.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from leads.reviews import (
    desk_review_rows,
    differing_values,
    open_reviews,
    review_different_person,
    review_keep,
    review_update_contact,
    reviews_visible_to,
    search_reviews,
)
from leads.selectors import contact_for
from leads.views.desk import _paginate, _require_desk, _tab_counts
from pipeline.errors import ServiceError
from pipeline.pages import PAGE_SIZES, safe_next_url

#: The decisions a review page posts, by their URL slug.
DECISIONS = ("keep", "update", "different")


@login_required
def desk_reviews(request: HttpRequest) -> HttpResponse:
    """Open reviews, oldest first, searchable by the lead's or the arrival's name, phone
    or email (``?q=``)."""
    user = _require_desk(request)
    query = request.GET.get("q", "").strip()
    reviews = desk_review_rows(open_reviews(user))
    paginator, page = _paginate(request, search_reviews(reviews, query))
    rows = []
    for review in page.object_list:
        lead = review.lead
        given = {
            k: str(review.touch.given.get(k, "")) for k in ("name", "phone", "email", "company")
        }
        rows.append(
            {
                "review": review,
                "lead": lead,
                "contact": contact_for(user, lead),
                "given": given,
                "differs": set(differing_values(review, lead)),
            }
        )
    return render(
        request,
        "desk/desk_reviews.html",
        {
            "tab": "reviews",
            # The list is the tab's own rows unless a search narrows it.
            "counts": _tab_counts(user, None if query else ("reviews", paginator)),
            "rows": rows,
            "q": query,
            "page_obj": page,
            "paginator": paginator,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "page_sizes": PAGE_SIZES,
            "page_size": paginator.per_page,
        },
    )


@login_required
@require_POST
def desk_review_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    """Decide one review; a refusal is a message on the review page."""
    user = _require_desk(request)
    if decision not in DECISIONS:
        raise Http404
    review = get_object_or_404(reviews_visible_to(user), pk=pk)
    back = safe_next_url(request, reverse("leads:desk_reviews"))
    try:
        if decision == "keep":
            review = review_keep(review=review, actor=user)
            messages.success(request, _("Kept: the same person. The flag is cleared."))
        elif decision == "update":
            review = review_update_contact(review=review, actor=user)
            messages.success(request, _("The lead's contact was updated from the arrival."))
        else:
            review = review_different_person(
                review=review,
                actor=user,
                name=request.POST.get("name", ""),
                phone=request.POST.get("phone", ""),
                email=request.POST.get("email", ""),
            )
            messages.success(
                request,
                _("A new lead was created for %(name)s; the touch moved to it.")
                % {"name": review.new_lead.name if review.new_lead else ""},
            )
    except ServiceError as error:
        for line in error.lines:
            messages.error(request, line)
    return redirect(back)
