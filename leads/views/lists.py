"""The lead list: the API's filters, sortable columns, pagination."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.forms import CheckboxSelectMultiple
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assignment.models import Team
from campaigns.choices import ChannelKind
from leads import lifecycle
from leads.bulk import bulk_bar
from leads.choices import ViewScope
from leads.filters import (  # noqa: F401  (the sorts are the list's; tests import them here)
    DEFAULT_SORT,
    SORT_FIELDS,
    TEXT_SORT_COLUMNS,
    LeadFilterSet,
    campaign_picker,
    lead_order,
    lead_sort,
    sorted_leads,
)
from leads.models import SavedView
from leads.saved_views import (
    LEAD_LIST_COLUMNS,
    can_share_company_wide,
    clean_columns,
    saved_view_create,
    saved_view_delete,
    saved_views_for,
    shareable_teams,
)
from leads.selectors import (
    contact_for,
    leads_visible_to,
)
from pipeline.errors import ServiceError
from pipeline.pages import PAGE_SIZES, page_size, safe_next_url
from pipeline.pagination import keyset_list
from pipeline.people import display_name, people_ordering

User = get_user_model()


def sort_param(request: HttpRequest) -> str:
    return lead_sort(request.GET.get("sort", ""))


def _prepare_filter_form(form, user) -> None:
    """Widgets and wording of the filter bar (the filters themselves are the API's)."""
    for name in ("stage", "grade"):
        form.fields[name].widget = CheckboxSelectMultiple(choices=form.fields[name].choices)
    for name in ("created_after", "created_before"):
        form.fields[name].widget.input_type = "date"
    form.fields["q"].widget.input_type = "search"
    form.fields["q"].widget.attrs["placeholder"] = _("Name, company, phone, email or WeChat")
    for name in ("owner", "campaign", "channel", "channel_kind", "in_pool"):
        form.fields[name].empty_label = _("Any")
    # Setting choices re-binds the choice iterator, so the new empty label is used.
    form.fields["channel_kind"].choices = ChannelKind.choices
    form.fields["in_pool"].choices = [("true", _("In pool")), ("false", _("Not in pool"))]
    form.fields["owner"].queryset = form.fields["owner"].queryset.order_by(*people_ordering())
    form.fields["owner"].label_from_instance = display_name
    # Long lists get a text box that narrows their options (static/js/app.js); campaigns,
    # thousands of them, a picker that searches the server instead of rendering them all.
    for name in ("owner", "channel"):
        form.fields[name].widget.attrs["data-searchable"] = ""
    campaign_picker(form, user)


def _list_title(request: HttpRequest) -> str:
    if request.GET.get("in_pool") == "true":
        return _("Pool")
    if request.GET.get("owner") == str(request.user.pk):
        return _("All leads I own")
    return _("Leads")


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    """The lead list with the API's filters, sortable columns and pagination.

    Page numbers open any page up to the count's cap; "Next" and "Previous" follow signed
    keyset cursors (``?cursor=``, ``pipeline.keyset``), so paging on through a million
    leads reads each page from the index of its sort, never ``OFFSET``. An altered cursor
    (or one of another sort) gives the first page with an error, answered 400.

    Query count does not depend on the number of leads: related rows come with
    ``select_related`` (``leads_visible_to``) and the paginator counts once (capped).
    """
    user = request.user
    filterset = LeadFilterSet(request.GET, queryset=leads_visible_to(user), request=request)
    _prepare_filter_form(filterset.form, user)
    sort = sort_param(request)
    order = lead_order(sort)
    listed = keyset_list(request, filterset.qs, order, page_size(request))
    paginator = listed.paginator
    rows = [(lead, contact_for(user, lead)) for lead in listed.rows]
    columns = _columns(request)
    views = list(saved_views_for(user))
    return render(
        request,
        "leads/lead_list.html",
        {
            "title": _list_title(request),
            "filter": filterset,
            **listed.context(),
            "rows": rows,
            "sort": sort,
            "page_sizes": PAGE_SIZES,
            "page_size": paginator.per_page,
            "can_create": lifecycle.can_create_lead(user),
            "filters_active": any(request.GET.get(name, "") != "" for name in filterset.filters),
            "columns": columns,
            "column_choices": LEAD_LIST_COLUMNS,
            "saved_views": [
                {"view": view, "url": saved_view_url(view), "own": view.owner_id == user.pk}
                for view in views
            ],
            "current_view": _current_view(request, views),
            "view_scopes": _scope_choices(user),
            "view_teams": list(shareable_teams(user)),
            "bulk": bulk_bar(request, matching=paginator.count),
        },
        status=listed.status,
    )


#: Where a user's last column choice is kept between visits (``?cols=``).
COLUMNS_SESSION_KEY = "lead_list_columns"


def _columns(request: HttpRequest) -> list[str]:
    """The columns shown: ``?cols=`` (remembered for the user's session), else the last
    choice, else every column."""
    chosen = request.GET.getlist("cols")
    if chosen:
        columns = clean_columns(chosen)
        if request.session.get(COLUMNS_SESSION_KEY) != columns:
            request.session[COLUMNS_SESSION_KEY] = columns
        return columns
    return clean_columns(request.session.get(COLUMNS_SESSION_KEY))


def _current_view(request: HttpRequest, views: list[SavedView]) -> SavedView | None:
    raw = request.GET.get("view", "")
    return next((view for view in views if str(view.pk) == raw), None)


def _scope_choices(user) -> list[tuple[str, str]]:
    return [
        (value, label)
        for value, label in ViewScope.choices
        if value != ViewScope.COMPANY or can_share_company_wide(user)
    ]


@login_required
@require_POST
def saved_view_create_page(request: HttpRequest) -> HttpResponse:
    """Save the lead list's current filters and columns under a name."""
    query = request.POST.get("query", "")
    back = safe_next_url(request, reverse("leads:list"))
    team = None
    team_id = request.POST.get("team", "")
    if request.POST.get("scope") == ViewScope.TEAM and team_id.isdigit():
        team = Team.objects.filter(pk=team_id).first()
    try:
        view = saved_view_create(
            actor=request.user,
            name=request.POST.get("name", ""),
            query=query,
            columns=request.POST.getlist("cols"),
            scope=request.POST.get("scope", ViewScope.PRIVATE),
            team=team,
        )
    except ServiceError as error:
        for line in error.lines:
            messages.error(request, line)
        return redirect(back)
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(saved_view_url(view))


@login_required
@require_POST
def saved_view_delete_page(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(saved_views_for(request.user), pk=pk)
    try:
        saved_view_delete(actor=request.user, view=view)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect("leads:list")


def saved_view_url(view: SavedView) -> str:
    """The lead list with the view's filters and columns."""
    parts = [view.query] if view.query else []
    parts.append(f"view={view.pk}")
    parts.extend(f"cols={column}" for column in view.columns)
    return f"{reverse('leads:list')}?{'&'.join(parts)}"
