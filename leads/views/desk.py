"""The lead desk's workspace (商机接待): the queue of new leads and the leads sales rejected.

Pages for the lead desk only. As everywhere, views are thin: a form parses the input, a
service of ``leads.lifecycle`` / ``scoring.services`` / ``assignment.services`` does the
work, and a refusal (``ServiceError``) becomes a message or a field error. Both queues are
paginated, and each page costs the same number of queries however many leads wait.

``lead_detail_extras`` adds the desk's grade forms and the "why this owner" box to the
lead detail page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assignment.selectors import pooled_today
from leads import actions
from leads.choices import (
    DisqualifyReason,
    EventKind,
    RejectReason,
    Stage,
)
from leads.models import Lead, LeadEvent
from leads.reviews import open_reviews
from leads.selectors import DESK_QUEUE_ORDER, contact_for, leads_visible_to
from leads.views.bulk import run_bulk_post
from pipeline.errors import ServiceError
from pipeline.pages import PAGE_SIZES, choice_label, page_size, safe_next_url
from pipeline.pagination import SHORT_COUNT_CAP, CappedPaginator, keyset_list
from pipeline.people import display_name
from pipeline.roles import Role, has_role

User = get_user_model()


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _require_desk(request: HttpRequest):
    user = request.user
    if not has_role(user, Role.LEAD_DESK):
        raise PermissionDenied(_("Only the lead desk works in the desk workspace."))
    return user


@dataclass(frozen=True)
class AgeBadge:
    css: str
    label: str
    title: str


def age_badge(since: dt.datetime, now: dt.datetime) -> AgeBadge:
    """How long a lead has waited: green under an hour, amber under a day, red after."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 3600:
        css, label = "age-fresh", _("%(n)d min") % {"n": seconds // 60}
    elif seconds < 86400:
        css, label = "age-today", _("%(n)d h") % {"n": seconds // 3600}
    else:
        css, label = "age-old", _("%(n)d d") % {"n": seconds // 86400}
    title = _("Waiting since %(when)s") % {
        "when": formats.date_format(timezone.localtime(since), "SHORT_DATETIME_FORMAT")
    }
    return AgeBadge(css=css, label=label, title=title)


# --------------------------------------------------------------------------------------
# The queues
# --------------------------------------------------------------------------------------


def new_queue(user) -> QuerySet[Lead]:
    """New leads waiting for the desk: best score first, then the longest waiting."""
    return leads_visible_to(user).filter(stage=Stage.NEW).order_by(*DESK_QUEUE_ORDER.order_by())


def rejected_queue(user) -> QuerySet[Lead]:
    """MQLs sales sent back: no owner, not pooled, with a ``rejected`` event; latest first."""
    last_rejection = (
        LeadEvent.objects.filter(lead=OuterRef("pk"), kind=EventKind.REJECTED)
        .order_by("-at", "-id")
        .values("at")[:1]
    )
    # Driven by the rejection events (index on kind, at), not by a look-up per unowned MQL:
    # a million leads with a hundred thousand waiting MQLs still read only the rejected.
    rejected = LeadEvent.objects.filter(kind=EventKind.REJECTED).values("lead_id")
    return (
        leads_visible_to(user)
        .filter(stage=Stage.MQL, owner__isnull=True, in_pool=False, pk__in=rejected)
        .annotate(rejected_at=Subquery(last_rejection))
        .order_by(F("rejected_at").desc(), "-id")
    )


@dataclass
class Rejection:
    code: str
    label: str
    text: str
    actor: str
    at: dt.datetime


def latest_rejections(lead_ids: list[int]) -> dict[int, Rejection]:
    """The latest ``rejected`` event of each lead, in one query."""
    latest: dict[int, Rejection] = {}
    events = (
        LeadEvent.objects.filter(lead_id__in=lead_ids, kind=EventKind.REJECTED)
        .select_related("actor")
        .order_by("lead_id", "-at", "-id")
    )
    for event in events:
        if event.lead_id in latest:
            continue
        data = event.data if isinstance(event.data, dict) else {}
        code = str(data.get("reason_code") or "")
        latest[event.lead_id] = Rejection(
            code=code,
            label=choice_label(RejectReason, code) if code else "",
            text=event.reason,
            actor=display_name(event.actor) or _("System"),
            at=event.at,
        )
    return latest


def _count_label(paginator: CappedPaginator) -> str | int:
    """A tab's count, capped short (a badge): the number, or "1,000+" past the cap."""
    return paginator.count if paginator.count_exact else paginator.count_label


def _tab_counts(user, current: tuple[str, CappedPaginator] | None = None) -> dict[str, str | int]:
    """The three tabs' badges, each counted up to ``SHORT_COUNT_CAP``; ``current``: the tab
    shown and its list's paginator, whose count (the same rows, the same cap) is reused."""
    queues = {"new": new_queue, "rejected": rejected_queue, "reviews": open_reviews}
    paginators = {
        tab: CappedPaginator(queue(user), 1, count_cap=SHORT_COUNT_CAP)
        for tab, queue in queues.items()
    }
    if current is not None:
        paginators[current[0]] = current[1]
    return {tab: _count_label(paginator) for tab, paginator in paginators.items()}


def _paginate(request: HttpRequest, queryset: QuerySet):
    """A desk list's page: counted up to ``SHORT_COUNT_CAP`` like its tab's badge (a work
    queue is worked from the top; "Next" goes on past the count)."""
    paginator = CappedPaginator(queryset, page_size(request), count_cap=SHORT_COUNT_CAP)
    page = paginator.get_page(request.GET.get("page"))
    return paginator, page


@login_required
def desk_queue(request: HttpRequest) -> HttpResponse:
    """New leads to consult, qualify or disqualify, one by one or in bulk."""
    user = _require_desk(request)
    listed = keyset_list(
        request, new_queue(user), DESK_QUEUE_ORDER, page_size(request), count_cap=SHORT_COUNT_CAP
    )
    now = timezone.now()
    rows = [
        {
            "lead": lead,
            "contact": contact_for(user, lead),
            "age": age_badge(lead.created_at, now),
            "form": actions.action_form("consult", lead=lead, auto_id=f"id_consult{lead.pk}_%s"),
        }
        for lead in listed.rows
    ]
    return render(
        request,
        "desk/desk_queue.html",
        {
            "tab": "new",
            "counts": _tab_counts(user, ("new", listed.paginator)),
            "rows": rows,
            **listed.context(),
            "page_sizes": PAGE_SIZES,
            "page_size": listed.paginator.per_page,
            "bulk_disqualify_reasons": DisqualifyReason.choices,
            "pooled_today": pooled_today(leads_visible_to(user)),
        },
        status=listed.status,
    )


@login_required
def desk_rejected(request: HttpRequest) -> HttpResponse:
    """Leads sales rejected, with why: re-grade, re-assign or disqualify them."""
    user = _require_desk(request)
    paginator, page = _paginate(request, rejected_queue(user))
    leads = list(page.object_list)
    rejections = latest_rejections([lead.pk for lead in leads])
    owner_choices = actions.owner_choices()
    rows = [
        {
            "lead": lead,
            "contact": contact_for(user, lead),
            "rejection": rejections.get(lead.pk),
            "grade_form": actions.action_form("grade", lead=lead, auto_id=f"id_grade{lead.pk}_%s"),
            "assign_form": actions.action_form(
                "assign", lead=lead, owner_choices=owner_choices, auto_id=f"id_assign{lead.pk}_%s"
            ),
            "disqualify_form": actions.action_form(
                "disqualify", lead=lead, auto_id=f"id_dq{lead.pk}_%s"
            ),
        }
        for lead in leads
    ]
    return render(
        request,
        "desk/desk_rejected.html",
        {
            "tab": "rejected",
            "counts": _tab_counts(user, ("rejected", paginator)),
            "rows": rows,
            "page_obj": page,
            "paginator": paginator,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "page_sizes": PAGE_SIZES,
            "page_size": paginator.per_page,
        },
    )


# --------------------------------------------------------------------------------------
# Consult: record the call, then qualify or disqualify (``leads.actions.lead_consult``)
# --------------------------------------------------------------------------------------


@login_required
def desk_consult(request: HttpRequest, pk: int) -> HttpResponse:
    """One lead's consult form (the queue posts here; errors come back to this page)."""
    user = _require_desk(request)
    lead = get_object_or_404(leads_visible_to(user), pk=pk)
    data = request.POST if request.method == "POST" else None
    form = actions.action_form("consult", lead=lead, data=data, auto_id=f"id_consult{lead.pk}_%s")
    if data is not None:
        try:
            result = actions.run_action(lead=lead, actor=user, name="consult", data=data)
        except actions.ActionInputError:
            form.is_valid()  # the bound form shows each field's error
        except ServiceError as error:
            form.is_valid()
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, actions.get_action("consult").success(result))
            return redirect(safe_next_url(request, reverse("leads:desk")))
    return render(
        request,
        "desk/desk_consult.html",
        {
            "lead": lead,
            "contact": contact_for(user, lead),
            "age": age_badge(lead.created_at, timezone.now()),
            "form": form,
            "next": safe_next_url(request, reverse("leads:desk")),
        },
    )


# --------------------------------------------------------------------------------------
# Bulk qualify / disqualify
# --------------------------------------------------------------------------------------


@login_required
@require_POST
def desk_bulk(request: HttpRequest) -> HttpResponse:
    """Qualify (with each lead's rule grade) or disqualify the checked leads
    (the lists' one bulk path, ``leads.views.bulk.run_bulk_post``)."""
    user = _require_desk(request)
    back = safe_next_url(request, reverse("leads:desk"))
    return run_bulk_post(request, user, back=back, offered=("qualify", "disqualify"))


# --------------------------------------------------------------------------------------
# One-lead desk actions: grade by hand, reset, re-assign, disqualify
# --------------------------------------------------------------------------------------


def _desk_action(request: HttpRequest, pk: int, name: str, *, back: str) -> HttpResponse:
    """Run one registry action on a lead for the desk; success or refusal as a message."""
    user = _require_desk(request)
    lead = get_object_or_404(leads_visible_to(user), pk=pk)
    back = safe_next_url(request, back or reverse("leads:detail", args=[lead.pk]))
    try:
        result = actions.run_action(lead=lead, actor=user, name=name, data=request.POST)
    except ServiceError as error:  # refused, or bad input (one line per field)
        for line in error.lines:
            messages.error(request, line)
        return redirect(back)
    level = messages.SUCCESS
    if name == "assign":
        level = messages.SUCCESS if result.owner_id is not None else messages.WARNING
    messages.add_message(request, level, _desk_message(name, result))
    return redirect(back)


def _desk_message(name: str, lead: Lead) -> str:
    if name == "assign":
        if lead.owner_id is not None:
            return _("%(name)s assigned to %(user)s.") % {
                "name": str(lead),
                "user": display_name(lead.owner),
            }
        if lead.in_pool:
            return actions.with_routing(_("%(name)s:") % {"name": str(lead)}, lead.pk)
        return _("%(name)s was not assigned.") % {"name": str(lead)}
    if name == "disqualify":
        return _("%(name)s disqualified.") % {"name": str(lead)}
    return actions.get_action(name).success(lead)


@login_required
@require_POST
def desk_set_grade(request: HttpRequest, pk: int) -> HttpResponse:
    return _desk_action(request, pk, "grade", back="")


@login_required
@require_POST
def desk_reset_grade(request: HttpRequest, pk: int) -> HttpResponse:
    return _desk_action(request, pk, "reset_grade", back="")


@login_required
@require_POST
def desk_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Give a rejected lead to a named salesperson, or let the rules route it again."""
    return _desk_action(request, pk, "assign", back=reverse("leads:desk_rejected"))


@login_required
@require_POST
def desk_disqualify(request: HttpRequest, pk: int) -> HttpResponse:
    return _desk_action(request, pk, "disqualify", back=reverse("leads:desk_rejected"))
