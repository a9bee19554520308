"""One FilterSet for leads, shared by the API and the lead list page."""

from __future__ import annotations

import django_filters
from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from campaigns.choices import ChannelKind
from campaigns.models import Campaign, Channel
from leads.choices import Grade, ReviewStatus, Stage
from leads.models import ContactReview, Lead
from leads.selectors import lead_campaign_choices, lead_owner_choices
from pipeline.roles import sees_all_leads


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
            "q",
        ]

    def filter_touched_by(self, queryset, name, value: Campaign | None):
        if value is None:
            return queryset
        return queryset.filter(pk__in=value.touches.values("lead_id"))

    def filter_in_pool(self, queryset, name, value):
        # A strict choice, so "in_pool=maybe" is a 400 instead of silently ignored.
        return queryset.filter(in_pool=value == "true")

    def filter_q(self, queryset, name, value):
        text = (value or "").strip()[:100]
        if not text:
            return queryset
        # A lead flagged for review is found by the name and email the conflicting arrival
        # gave too, so the other person is never hidden behind it while the review is open.
        flagged = ContactReview.objects.filter(status=ReviewStatus.OPEN)
        condition = (
            Q(name__icontains=text)
            | Q(company__name__icontains=text)
            | Q(pk__in=flagged.filter(touch__given__name__icontains=text).values("lead_id"))
        )
        contact = (
            Q(phone__icontains=text)
            | Q(email__icontains=text.lower())
            | Q(
                pk__in=flagged.filter(touch__given__email__icontains=text.lower()).values("lead_id")
            )
        )
        user = getattr(self.request, "user", None)
        if not sees_all_leads(user):
            # Masked contact details of pooled leads must not be searchable either.
            contact &= Q(in_pool=False)
        return queryset.filter(condition | contact)
