"""One FilterSet for campaigns, shared by the API and the campaign list page."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from campaigns.choices import CampaignStatus, ChannelKind
from campaigns.models import Campaign, Channel


@extend_schema_field(OpenApiTypes.STR)
class ChannelCodesFilter(django_filters.ModelMultipleChoiceFilter):
    """One or more channel codes (``?channel=seo&channel=sem``)."""


class CampaignFilterSet(django_filters.FilterSet):
    channel = ChannelCodesFilter(
        field_name="channel__code",
        queryset=Channel.objects.all(),
        to_field_name="code",
        label=_("Channel"),
    )
    kind = django_filters.ChoiceFilter(
        field_name="channel__kind", choices=ChannelKind.choices, label=_("Online/offline")
    )
    status = django_filters.MultipleChoiceFilter(choices=CampaignStatus.choices, label=_("Status"))
    owner = django_filters.ModelChoiceFilter(
        queryset=get_user_model().objects.all(),
        label=_("Owner"),
        # A text box narrows the people as you type (static/js/app.js).
        widget=forms.Select(attrs={"data-searchable": ""}),
    )
    active_on_or_after = django_filters.DateFilter(
        method="filter_after", label=_("Running on or after")
    )
    active_on_or_before = django_filters.DateFilter(
        field_name="start_date", lookup_expr="lte", label=_("Started on or before")
    )
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))

    class Meta:
        model = Campaign
        fields = [
            "channel",
            "kind",
            "status",
            "owner",
            "active_on_or_after",
            "active_on_or_before",
            "q",
        ]

    def filter_after(self, queryset, name, value):
        from django.db.models import Q

        return queryset.filter(Q(end_date__isnull=True) | Q(end_date__gte=value))

    def filter_q(self, queryset, name, value):
        from django.db.models import Q

        text = (value or "").strip()[:100]
        if not text:
            return queryset
        return queryset.filter(Q(name__icontains=text) | Q(utm_campaign__icontains=text))
