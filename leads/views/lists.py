"""The lead list: the API's filters, sortable columns, pagination."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, F, IntegerField, QuerySet, Value, When
from django.forms import CheckboxSelectMultiple
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from campaigns.choices import ChannelKind
from leads import lifecycle
from leads.choices import (
    Stage,
)
from leads.filters import LeadFilterSet
from leads.models import Lead
from leads.selectors import (
    contact_for,
    leads_visible_to,
)
from pipeline.pages import PAGE_SIZES, page_size
from pipeline.people import display_name, people_ordering, text_order

User = get_user_model()


#: Sortable columns (``?sort=score`` ascending, ``?sort=-score`` descending).
SORT_FIELDS = ("created_at", "name", "company", "score", "grade", "stage", "next_follow_up_at")
#: Text columns, ordered for people (pinyin for Chinese on PostgreSQL: ``text_order``).
TEXT_SORT_COLUMNS = {"name": "name", "company": "company__name"}
DEFAULT_SORT = "-created_at"

_STAGE_ORDER = Case(
    *[When(stage=code, then=Value(index)) for index, code in enumerate(Stage.values)],
    default=Value(len(Stage.values)),
    output_field=IntegerField(),
)


def sorted_leads(queryset: QuerySet[Lead], sort: str) -> QuerySet[Lead]:
    descending = sort.startswith("-")
    name = sort.removeprefix("-")
    if name == "stage":
        # Lifecycle order (new → … → disqualified), not alphabetical codes.
        queryset = queryset.annotate(stage_order=_STAGE_ORDER)
        name = "stage_order"
    if name in TEXT_SORT_COLUMNS:
        expression = text_order(TEXT_SORT_COLUMNS[name], descending=descending)
    else:
        expression = F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_last=True)
    tie = F("id").desc() if descending else F("id").asc()
    return queryset.order_by(expression, tie)


def sort_param(request: HttpRequest) -> str:
    sort = request.GET.get("sort", "")
    return sort if sort.removeprefix("-") in SORT_FIELDS else DEFAULT_SORT


def _prepare_filter_form(form) -> None:
    """Widgets and wording of the filter bar (the filters themselves are the API's)."""
    for name in ("stage", "grade"):
        form.fields[name].widget = CheckboxSelectMultiple(choices=form.fields[name].choices)
    for name in ("created_after", "created_before"):
        form.fields[name].widget.input_type = "date"
    form.fields["q"].widget.input_type = "search"
    form.fields["q"].widget.attrs["placeholder"] = _("Name, company, phone or email")
    for name in ("owner", "campaign", "channel", "channel_kind", "in_pool"):
        form.fields[name].empty_label = _("Any")
    # Setting choices re-binds the choice iterator, so the new empty label is used.
    form.fields["channel_kind"].choices = ChannelKind.choices
    form.fields["in_pool"].choices = [("true", _("In pool")), ("false", _("Not in pool"))]
    form.fields["owner"].queryset = form.fields["owner"].queryset.order_by(*people_ordering())
    form.fields["owner"].label_from_instance = display_name
    form.fields["campaign"].queryset = form.fields["campaign"].queryset.order_by("name")


def _list_title(request: HttpRequest) -> str:
    if request.GET.get("in_pool") == "true":
        return _("Pool")
    if request.GET.get("owner") == str(request.user.pk):
        return _("My leads")
    return _("Leads")


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    """The lead list with the API's filters, sortable columns and pagination.

    Query count does not depend on the number of leads: related rows come with
    ``select_related`` (``leads_visible_to``) and the paginator counts once.
    """
    user = request.user
    filterset = LeadFilterSet(request.GET, queryset=leads_visible_to(user), request=request)
    _prepare_filter_form(filterset.form)
    sort = sort_param(request)
    paginator = Paginator(sorted_leads(filterset.qs, sort), page_size(request))
    page = paginator.get_page(request.GET.get("page"))
    rows = [(lead, contact_for(user, lead)) for lead in page.object_list]
    return render(
        request,
        "leads/lead_list.html",
        {
            "title": _list_title(request),
            "filter": filterset,
            "page_obj": page,
            "paginator": paginator,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "rows": rows,
            "sort": sort,
            "page_sizes": PAGE_SIZES,
            "page_size": paginator.per_page,
            "can_create": lifecycle.can_create_lead(user),
            "filters_active": any(request.GET.get(name, "") != "" for name in filterset.filters),
        },
    )
