"""Server-rendered campaign pages: list, detail with costs and funnel, create and edit.

Views are thin: a form parses input, ``campaigns.services`` decides and writes, and the
selectors apply visibility (sales see no campaigns: the list is a 403, a campaign a 404).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.forms import CheckboxSelectMultiple
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns import services
from campaigns.choices import ChannelKind
from campaigns.filters import CampaignFilterSet
from campaigns.forms import CampaignForm, CostForm, grouped_channel_choices
from campaigns.models import Campaign, CampaignCost
from campaigns.selectors import campaigns_visible_to, rows_in_order, with_figures
from leads.choices import Stage, TouchKind
from leads.models import Lead, LeadTouch
from leads.selectors import leads_visible_to
from pipeline.errors import ServiceError
from pipeline.pagination import CappedPaginator
from pipeline.people import display_name, people_ordering, text_order
from pipeline.roles import Role, has_role
from reports.metrics import figures, roi
from reports.selectors import with_revenue

User = get_user_model()

#: Who may open the campaign pages at all (sales work from leads, not campaigns).
CAMPAIGN_READERS = (Role.MARKETER, Role.LEAD_DESK, Role.MANAGER)

# --------------------------------------------------------------------------------------
# List
# --------------------------------------------------------------------------------------

#: ``?sort=`` keys and the column each orders by.
SORT_FIELDS = {
    "name": "name",
    "channel": "channel__sort_order",
    "status": "status",
    "start_date": "start_date",
    "owner": "owner__username",
    "budget": "budget",
    "actual_cost": "actual_cost_sum",
    "leads": "lead_count",
    "mqls": "mql_count",
    "revenue": "revenue",
    "roi": "roi",
}
DEFAULT_SORT = "-start_date"
PAGE_SIZES = (25, 50, 100)
RECENT_LEADS = 20


class SelectList(forms.Select):
    """A single ``<select>`` for a multiple-choice filter: "any" or one value.

    The FilterSet still accepts several values (``?channel=seo&channel=sem``), as the API.
    """

    def value_from_datadict(self, data, files, name):
        getter = getattr(data, "getlist", None)
        values = getter(name) if getter else [data.get(name)]
        return [value for value in values if value]


def _sort_param(request: HttpRequest) -> str:
    sort = request.GET.get("sort", "")
    return sort if sort.removeprefix("-") in SORT_FIELDS else DEFAULT_SORT


def _sorted(queryset: QuerySet[Campaign], sort: str) -> QuerySet[Campaign]:
    key, descending = sort.removeprefix("-"), sort.startswith("-")
    tie = F("id").desc() if descending else F("id").asc()
    if key == "owner":
        # By the owner's family and given name, as people read them.
        return queryset.order_by(*people_ordering("owner__", descending=descending), tie)
    column = SORT_FIELDS[key]
    if key == "name":
        return queryset.order_by(text_order(column, descending=descending), tie)
    if descending:
        return queryset.order_by(F(column).desc(nulls_last=True), tie)
    return queryset.order_by(F(column).asc(nulls_last=True), tie)


def _page_size(request: HttpRequest) -> int:
    try:
        size = int(request.GET.get("page_size", PAGE_SIZES[0]))
    except ValueError:
        return PAGE_SIZES[0]
    return size if size in PAGE_SIZES else PAGE_SIZES[0]


def _user_name(user) -> str:
    return display_name(user)


def _prepare_filter_form(form) -> None:
    """Widgets and wording of the filter bar (the filters themselves are the API's)."""
    form.fields["status"].widget = CheckboxSelectMultiple(choices=form.fields["status"].choices)
    # Grouped by online/offline on the widget; the field's queryset still validates codes.
    channel = form.fields["channel"]
    channel.widget = SelectList(
        choices=grouped_channel_choices(
            channel.queryset.order_by("sort_order", "code"), key="code", empty_label=_("Any")
        )
    )
    form.fields["kind"].empty_label = _("Any")
    # Setting choices re-binds the choice iterator, so the new empty label is used.
    form.fields["kind"].choices = ChannelKind.choices
    owner = form.fields["owner"]
    owner.queryset = (
        User.objects.filter(campaigns__isnull=False).distinct().order_by(*people_ordering())
    )
    owner.empty_label = _("Any")
    owner.label_from_instance = _user_name
    for name in ("active_on_or_after", "active_on_or_before"):
        form.fields[name].widget.input_type = "date"
    form.fields["q"].widget.input_type = "search"
    form.fields["q"].widget.attrs["placeholder"] = _("Name or utm_campaign")


def spent_share(campaign: Campaign) -> int | None:
    """Actual cost as a percentage of the budget (``None`` without a budget)."""
    if not campaign.budget:
        return None
    return round(Decimal(campaign.actual_cost) * 100 / campaign.budget)


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    """Campaigns with budget vs actual cost, leads, MQLs, revenue and ROI; the API's
    filters.

    Query count does not depend on the number of campaigns: figures are one join
    (``with_figures``), revenue a correlated subquery, related rows come with
    ``select_related``; the page's ids are picked first (``rows_in_order``).
    """
    user = request.user
    if not has_role(user, *CAMPAIGN_READERS):
        raise PermissionDenied(_("Campaigns are for marketing, the lead desk and management."))
    # Revenue and ROI: the campaign ROI report's credit-weighted sum over all time.
    queryset = with_revenue(with_figures(campaigns_visible_to(user)))
    filterset = CampaignFilterSet(request.GET, queryset=queryset, request=request)
    _prepare_filter_form(filterset.form)
    sort = _sort_param(request)
    # The page's ids first, in the sort (no row read whole, no figure computed but the one
    # sorted by), then those rows with their figures.
    ids = _sorted(filterset.qs, sort).values_list("pk", flat=True)
    paginator = CappedPaginator(ids, _page_size(request))
    page = paginator.get_page(request.GET.get("page"))
    rows = [
        (
            campaign,
            spent_share(campaign),
            roi(revenue=campaign.revenue, cost=campaign.actual_cost_sum),
        )
        for campaign in rows_in_order(queryset, page.object_list)
    ]
    return render(
        request,
        "campaigns/campaign_list.html",
        {
            "filter": filterset,
            "page_obj": page,
            "paginator": paginator,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "rows": rows,
            "sort": sort,
            "page_sizes": PAGE_SIZES,
            "page_size": paginator.per_page,
            "can_create": services.can_edit_campaign(user, None),
            "filters_active": any(request.GET.get(name, "") != "" for name in filterset.filters),
        },
    )


# --------------------------------------------------------------------------------------
# Detail: figures, funnel, costs, leads, capture snippet
# --------------------------------------------------------------------------------------


def campaign_figures(campaign: Campaign) -> dict[str, Any]:
    """All-time figures of the leads this campaign brought first (its source leads).

    One aggregate over the campaign's leads plus the cost sum; ratios (CPL, ROI …) come
    from ``reports.metrics.figures`` so they read exactly like the ROI reports.
    """
    won = Q(stage=Stage.WON)
    counts = Lead.objects.filter(source_campaign=campaign).aggregate(
        leads=Count("id"),
        mqls=Count("id", filter=Q(mql_at__isnull=False)),
        sqls=Count("id", filter=Q(sql_at__isnull=False)),
        opportunities=Count("id", filter=Q(opportunity_at__isnull=False)),
        won=Count("id", filter=won),
        revenue=Coalesce(Sum("won_amount", filter=won), Decimal("0")),
    )
    return figures(cost=campaign.actual_cost, **counts)


def funnel_steps(numbers: dict[str, Any]) -> list[dict[str, Any]]:
    """Leads → MQL → SQL → opportunity → won, each with its bar width and step rate."""
    steps = [
        (_("Leads"), numbers["leads"]),
        (_("MQL"), numbers["mqls"]),
        (_("SQL"), numbers["sqls"]),
        (_("Opportunity"), numbers["opportunities"]),
        (_("Won"), numbers["won"]),
    ]
    top = steps[0][1] or 0
    rows, previous = [], None
    for label, count in steps:
        rows.append(
            {
                "label": label,
                "count": count,
                "width": round(count * 100 / top) if top else 0,
                "rate": round(count * 100 / previous) if previous else None,
            }
        )
        previous = count
    return rows


def _touch_counts(campaign: Campaign) -> tuple[int, list[tuple[str, int]]]:
    labels = dict(TouchKind.choices)
    by_kind = [
        (str(labels.get(row["kind"], row["kind"])), row["n"])
        for row in LeadTouch.objects.filter(campaign=campaign)
        .values("kind")
        .annotate(n=Count("id"))
        .order_by("-n", "kind")
    ]
    return sum(n for _, n in by_kind), by_kind


def _capture_snippets(request: HttpRequest, campaign: Campaign) -> dict[str, str]:
    form_url = request.build_absolute_uri(reverse("capture-form", args=[campaign.public_key]))
    api_url = request.build_absolute_uri(reverse("capture"))
    # A neutral title: the campaign's internal name is not for the public website.
    title = escape(_("Contact form"))
    iframe = (
        f'<iframe src="{form_url}" title="{title}" width="100%" '
        'height="780" style="border:0;max-width:560px" loading="lazy"></iframe>'
    )
    api_example = (
        f"curl -X POST {api_url} \\\n"
        '  -H "Content-Type: application/json" \\\n'
        f'  -d \'{{"campaign_key": "{campaign.public_key}", "name": "张伟", '
        '"company_name": "上海电气", "phone": "139 0000 0001", '
        '"email": "zhang@example.com", "utm_source": "website"}\''
    )
    return {"form_url": form_url, "iframe": iframe, "api_url": api_url, "api": api_example}


def _detail_context(
    request: HttpRequest, campaign: Campaign, *, cost_form: CostForm | None = None
) -> dict[str, Any]:
    user = request.user
    numbers = campaign_figures(campaign)
    touch_total, touches_by_kind = _touch_counts(campaign)
    costs = list(campaign.costs.order_by("-date", "-id"))
    can_edit = services.can_edit_campaign(user, campaign)
    return {
        "campaign": campaign,
        "numbers": numbers,
        "roi_pct": None if numbers["roi"] is None else round(numbers["roi"] * 100),
        "spent": round(numbers["cost"] * 100 / campaign.budget) if campaign.budget else None,
        "funnel": funnel_steps(numbers),
        "costs": costs,
        "cost_total": sum((cost.amount for cost in costs), Decimal("0.00")),
        "cost_form": cost_form if cost_form is not None else (CostForm() if can_edit else None),
        "recent_leads": list(
            leads_visible_to(user)
            .filter(source_campaign=campaign)
            .order_by("-created_at", "-id")[:RECENT_LEADS]
        ),
        "touch_total": touch_total,
        "touches_by_kind": touches_by_kind,
        "snippets": _capture_snippets(request, campaign),
        "can_edit": can_edit,
        "can_import": has_role(user, Role.MARKETER, Role.LEAD_DESK),
    }


def _visible_campaign(request: HttpRequest, pk: int) -> Campaign:
    return get_object_or_404(campaigns_visible_to(request.user), pk=pk)


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _visible_campaign(request, pk)
    return render(request, "campaigns/campaign_detail.html", _detail_context(request, campaign))


@login_required
@require_POST
def cost_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a line of actual spend; errors are shown on the detail page's cost form."""
    campaign = _visible_campaign(request, pk)
    # Refuse before validating: a role that may not add costs gets 403, not a form error.
    if not services.can_edit_campaign(request.user, campaign):
        raise PermissionDenied(_("You may edit only the campaigns you own."))
    form = CostForm(request.POST)
    if form.is_valid():
        try:
            services.cost_save(
                actor=request.user,
                campaign=campaign,
                date=form.cleaned_data["date"],
                amount=form.cleaned_data["amount"],
                note=form.cleaned_data.get("note", ""),
            )
        except ServiceError as error:
            if error.code == "forbidden":
                raise PermissionDenied(error.message) from error
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("Cost added."))
            return redirect(f"{reverse('campaigns:detail', args=[campaign.pk])}#costs")
    context = _detail_context(request, campaign, cost_form=form)
    return render(request, "campaigns/campaign_detail.html", context, status=400)


@login_required
@require_POST
def cost_delete(request: HttpRequest, pk: int, cost_id: int) -> HttpResponse:
    campaign = _visible_campaign(request, pk)
    cost = get_object_or_404(
        CampaignCost.objects.select_related("campaign"), pk=cost_id, campaign=campaign
    )
    try:
        services.cost_delete(actor=request.user, cost=cost)
    except ServiceError as error:
        if error.code == "forbidden":
            raise PermissionDenied(error.message) from error
        messages.error(request, error.message)
    else:
        messages.success(request, _("Cost line deleted."))
    return redirect(f"{reverse('campaigns:detail', args=[campaign.pk])}#costs")


# --------------------------------------------------------------------------------------
# Create and edit
# --------------------------------------------------------------------------------------


def _save(request: HttpRequest, form: CampaignForm, campaign: Campaign | None) -> Campaign | None:
    """Call the service; a refused field becomes a form error, a refused actor a 403."""
    try:
        return services.campaign_save(
            actor=request.user, campaign=campaign, **form.service_fields()
        )
    except ServiceError as error:
        if error.code == "forbidden":
            raise PermissionDenied(error.message) from error
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return None


@login_required
def campaign_create(request: HttpRequest) -> HttpResponse:
    if not services.can_edit_campaign(request.user, None):
        raise PermissionDenied(_("Only marketers can create campaigns."))
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        campaign = _save(request, form, None)
        if campaign is not None:
            messages.success(request, _("Campaign created."))
            return redirect("campaigns:detail", pk=campaign.pk)
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": None})


@login_required
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _visible_campaign(request, pk)
    if not services.can_edit_campaign(request.user, campaign):
        raise PermissionDenied(_("You may edit only the campaigns you own."))
    form = CampaignForm(request.POST or None, initial=CampaignForm.initial_for(campaign))
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, campaign)
        if saved is not None:
            messages.success(request, _("Campaign saved."))
            return redirect("campaigns:detail", pk=saved.pk)
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": campaign})
