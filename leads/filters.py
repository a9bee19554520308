"""One FilterSet for leads, shared by the API and the lead list page."""

from __future__ import annotations

import django_filters
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import F, Q, QuerySet
from django.forms import Form
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext_lazy as _

from campaigns.choices import ChannelKind
from campaigns.models import Campaign, Channel
from leads.choices import Grade, ReviewStatus, Stage
from leads.credits import MODELS
from leads.models import STAGE_ORDER, ContactReview, Lead
from leads.normalize import phone_search_key
from leads.selectors import (
    lead_campaign_choices,
    lead_campaign_search,
    lead_owner_choices,
    leads_visible_to,
)
from pipeline.errors import ServiceError
from pipeline.keyset import KeysetOrder
from pipeline.people import collated
from pipeline.roles import sees_all_leads
from pipeline.widgets import campaign_search_picker
from reports.definitions import CONDITIONS, REACHED
from reports.selectors import credited_touches


# The choices follow the user's scope (DESIGN §1: no list of other people's campaigns or
# users for sales, never the admin): the drop-downs offer only these, and any other value
# is refused as an invalid choice (400 on the API, a form error on the pages).
def _owners(request: HttpRequest | None) -> QuerySet[User]:
    return lead_owner_choices(getattr(request, "user", None))


def _campaigns(request: HttpRequest | None) -> QuerySet[Campaign]:
    return lead_campaign_choices(getattr(request, "user", None))


class LeadFilterSet(django_filters.FilterSet):
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices, label=_("Stage"))
    grade = django_filters.MultipleChoiceFilter(choices=Grade.choices, label=_("Grade"))
    owner = django_filters.ModelChoiceFilter(queryset=_owners, label=_("Owner"))
    campaign = django_filters.ModelChoiceFilter(
        field_name="source_campaign",
        queryset=_campaigns,
        label=_("Source campaign"),
    )
    touched_by = django_filters.ModelChoiceFilter(
        queryset=_campaigns,
        method="filter_touched_by",
        label=_("Touched by campaign"),
    )
    channel = django_filters.ModelChoiceFilter(
        field_name="source_campaign__channel",
        queryset=Channel.objects.all(),
        to_field_name="code",
        label=_("Channel"),
    )
    channel_kind = django_filters.ChoiceFilter(
        field_name="source_campaign__channel__kind",
        choices=ChannelKind.choices,
        label=_("Channel kind"),
    )
    created_after = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label=_("Created on or after")
    )
    created_before = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label=_("Created on or before")
    )
    in_pool = django_filters.ChoiceFilter(
        choices=[("true", _("Yes")), ("false", _("No"))],
        method="filter_in_pool",
        label=_("In pool"),
    )
    # How far the lead has got, as the reports count it (``reports.definitions``):
    # MQL, SQL and opportunity are reached once their timestamp is set; won is the stage.
    reached = django_filters.ChoiceFilter(
        choices=[
            ("mql", _("MQL")),
            ("sql", _("SQL")),
            ("opportunity", _("Opportunity")),
            ("won", _("Won")),
        ],
        method="filter_reached",
        label=_("Reached"),
    )
    # Leads with attribution credit (``reports.selectors.credited_touches``): the leads
    # behind a credit-weighted figure of the ROI reports. Any of the three narrows to the
    # touches of that channel, campaign or kind; the model defaults to first touch.
    credit_channel = django_filters.ModelChoiceFilter(
        queryset=Channel.objects.all(),
        to_field_name="code",
        method="filter_credit_channel",
        label=_("Credited channel"),
    )
    credit_campaign = django_filters.ModelChoiceFilter(
        queryset=_campaigns, method="filter_credit_campaign", label=_("Credited campaign")
    )
    credit_kind = django_filters.ChoiceFilter(
        choices=ChannelKind.choices, method="filter_credit", label=_("Credited channel kind")
    )
    credit_model = django_filters.ChoiceFilter(
        choices=[(model, model) for model in MODELS],
        method="filter_credit",
        label=_("Attribution model"),
    )
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))

    class Meta:
        model = Lead
        fields = [
            "stage",
            "grade",
            "owner",
            "campaign",
            "touched_by",
            "channel",
            "channel_kind",
            "created_after",
            "created_before",
            "in_pool",
            "reached",
            "credit_channel",
            "credit_campaign",
            "credit_kind",
            "credit_model",
            "q",
        ]

    def filter_reached(self, queryset, name, value):
        return queryset.filter(CONDITIONS[REACHED[value]]) if value else queryset

    def filter_credit_channel(self, queryset, name, value: Channel | None):
        return self.filter_credit(queryset, name, value)

    def filter_credit_campaign(self, queryset, name, value: Campaign | None):
        return self.filter_credit(queryset, name, value)

    def filter_credit(self, queryset, name, value):
        # The four credit_* filters make one condition: applied once, by the first set.
        data = self.form.cleaned_data
        names = ("credit_channel", "credit_campaign", "credit_kind", "credit_model")
        first = next(key for key in names if data.get(key))
        if name != first:
            return queryset
        touches = credited_touches(
            model=data.get("credit_model") or "first_touch",
            channel_kind=data.get("credit_kind") or None,
            channel=data["credit_channel"].code if data.get("credit_channel") else None,
            campaign=data["credit_campaign"].pk if data.get("credit_campaign") else None,
        )
        return queryset.filter(pk__in=touches.values("lead_id"))

    def filter_touched_by(self, queryset, name, value: Campaign | None):
        if value is None:
            return queryset
        return queryset.filter(pk__in=value.touches.values("lead_id"))

    def filter_in_pool(self, queryset, name, value):
        # A strict choice, so "in_pool=maybe" is a 400 instead of silently ignored.
        return queryset.filter(in_pool=value == "true")

    def filter_q(self, queryset, name, value):
        return queryset.filter(search_q(value, getattr(self.request, "user", None)))


#: The search box of the lead filters' campaign picker (``campaign_picker``): not a
#: filter, only what the picker offers after a reload without the script.
CAMPAIGN_SEARCH_PARAM = "campaign_search"


def campaign_picker(form: Form, user: User | None, name: str = "campaign") -> None:
    """Give the filter form's campaign field a search-as-you-type picker
    (``pipeline.widgets.campaign_search_picker``) instead of a drop-down of every campaign
    in scope: it renders the chosen campaign and the matches of ``?campaign_search=``
    (``lead_campaign_search``), and the script asks the API's ``leads/campaign-choices/``
    as the person types. The field's queryset, the scope that validation holds to, stays
    ``lead_campaign_choices``."""
    campaign_search_picker(
        form.fields[name],
        scope="filter",
        search_name=CAMPAIGN_SEARCH_PARAM,
        text=form.data.get(CAMPAIGN_SEARCH_PARAM) or "",
        search=lambda text: lead_campaign_search(user, text=text),
    )


def search_q(value: str | None, user: User | None) -> Q:
    """What the search box matches (the lead list's ``q``, the API's and the global search).

    A whole phone number in any spelling (normalised like capture) matches the phone
    exactly, or a WeChat id equal to it: index look-ups only. Any other text matches the
    name or company containing it, the email containing it, or the WeChat id exactly.
    A lead flagged for a contact review is also found by the name and email the
    conflicting arrival gave, so the other person is never hidden behind it while the
    review is open."""
    text = (value or "").strip()[:100]
    if not text:
        return Q()
    # Masked contact details of pooled leads must not be searchable by sales either.
    unmasked = Q() if sees_all_leads(user) else Q(in_pool=False)
    phone = phone_search_key(text, settings.PHONE_REGION)
    if phone:
        # A whole phone number: index look-ups only (the phone, or a WeChat id that is the
        # number, as it often is), no text scan.
        return (Q(phone=phone) | Q(wechat=text) | Q(wechat=phone.removeprefix("+86"))) & unmasked
    flagged = ContactReview.objects.filter(status=ReviewStatus.OPEN)
    condition = (
        Q(name__icontains=text)
        | Q(company__name__icontains=text)
        | Q(pk__in=flagged.filter(touch__given__name__icontains=text).values("lead_id"))
    )
    contact = (
        Q(email__icontains=text.lower())
        | Q(wechat=text)
        | Q(pk__in=flagged.filter(touch__given__email__icontains=text.lower()).values("lead_id"))
    ) & unmasked
    return condition | contact


#: Sortable columns (``?sort=score`` ascending, ``?sort=-score`` descending on the page;
#: the same names as ``?ordering=`` in the API, ``LeadViewSet``, and its exports).
SORT_FIELDS = ("created_at", "name", "company", "score", "grade", "stage", "next_follow_up_at")
#: Text columns, ordered for people (pinyin for Chinese on PostgreSQL: ``text_order``).
TEXT_SORT_COLUMNS = {"name": "name", "company": "company_name"}
DEFAULT_SORT = "-created_at"

#: Sorts on nullable columns: empty values last in both directions (an index per
#: direction serves them). Every other sortable column is NOT NULL, so its sort is a plain
#: ``ASC``/``DESC`` that the ``(column, id)`` index serves read forwards or backwards.
NULLABLE_SORT_COLUMNS = {"next_follow_up_at", "company"}


def _stage_position(lead: Lead) -> int:
    """``STAGE_ORDER`` of a loaded lead (its lifecycle position), without a query."""
    values = list(Stage.values)
    return values.index(lead.stage) if lead.stage in values else len(values)


def _lead_order(sort: str) -> KeysetOrder:
    descending = sort.startswith("-")
    name = sort.removeprefix("-")
    if name == "stage":
        # Lifecycle order (new → … → disqualified), not alphabetical codes.
        return KeysetOrder(sort, STAGE_ORDER, descending, read=_stage_position)
    if name in TEXT_SORT_COLUMNS:
        # The lead's name is NOT NULL; a lead without a company sorts last either way.
        column = TEXT_SORT_COLUMNS[name]
        nullable = name in NULLABLE_SORT_COLUMNS
        return KeysetOrder(sort, collated(column), descending, nullable, attribute=column)
    return KeysetOrder(sort, F(name), descending, name in NULLABLE_SORT_COLUMNS)


#: Every order the lead list and the lead API offer, by name (``-`` for descending): the
#: one definition of each, read by the page's ``?sort=``, the API's ``?ordering=``, the
#: exports, and their keyset cursors (``pipeline.keyset``). An index serves each one
#: (the EXPLAIN test, ``tests/pipeline/test_list_plans.py``).
LEAD_ORDERS: dict[str, KeysetOrder] = {
    sort: _lead_order(sort) for name in SORT_FIELDS for sort in (name, f"-{name}")
}

#: The lead API's ``?ordering=``: the list page's sorts, and nothing else (anything else
#: is a 400, not a silent default).
API_ORDERING_FIELDS = list(SORT_FIELDS)


def lead_sort(value: str) -> str:
    """``value`` if it names an offered sort (``-`` for descending), else the default."""
    return value if value in LEAD_ORDERS else DEFAULT_SORT


def lead_order(sort: str) -> KeysetOrder:
    """The named order ``sort`` (``lead_sort`` first: the default for anything else)."""
    return LEAD_ORDERS[lead_sort(sort)]


def sorted_leads(queryset: QuerySet[Lead], sort: str) -> QuerySet[Lead]:
    """``queryset`` in the order of ``sort``, then ``id``: one index serves each sort."""
    return queryset.order_by(*lead_order(sort).order_by())


class _Caller:
    """What the lead filters and DRF's ordering read of a request, for a job's worker."""

    def __init__(self, user, params: QueryDict):
        self.user = user
        self.GET = self.query_params = params


def export_queryset(user, params: QueryDict, *, source: str) -> QuerySet[Lead]:
    """The leads an export of the lead list writes, in order: ``user``'s visible leads
    through the list's filters (``LeadFilterSet``), sorted as the page (``?sort=``) or the
    API (``?ordering=``) sorts them. Invalid filters raise ``ServiceError``. The request
    and the job both build the export with this."""
    caller = _Caller(user, params)
    filterset = LeadFilterSet(params, queryset=leads_visible_to(user), request=caller)
    if not filterset.is_valid():
        lines = [
            f"{name}: {' '.join(str(e) for e in errors)}"
            for name, errors in filterset.errors.items()
        ]
        raise ServiceError(" ".join(lines) or _("Invalid filters."), code="invalid")
    sort = params.get("ordering" if source == "api" else "sort", "")
    return sorted_leads(filterset.qs, sort)
