"""Forms of the campaign pages.

Forms only parse input into types (a date is a date, a channel is a channel); every rule —
who may edit, what a valid budget or ``utm_campaign`` is — stays in ``campaigns.services``,
so money is taken as text and checked there, with the same messages as the API.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from campaigns.choices import CampaignStatus, ChannelKind
from campaigns.models import Channel
from pipeline.people import display_name_with_username
from pipeline.roles import Role

User = get_user_model()

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def channel_label(channel: Channel) -> str:
    """Both names, the current language first: "官网 · Website" or "Website · 官网"."""
    names = [channel.name, channel.name_zh]
    if (get_language() or "").startswith("zh"):
        names.reverse()
    unique = [name for index, name in enumerate(names) if name and name not in names[:index]]
    return " · ".join(unique)


def grouped_channel_choices(channels, *, key: str = "pk", empty_label=None) -> list:
    """Channel options grouped under "Online" and "Offline" (for a ``<select>``)."""
    groups: dict[str, list] = {kind: [] for kind in ChannelKind.values}
    for channel in channels:
        groups.setdefault(channel.kind, []).append(
            (str(getattr(channel, key)), channel_label(channel))
        )
    labels = dict(ChannelKind.choices)
    choices: list = [("", empty_label)] if empty_label is not None else []
    choices += [(labels.get(kind, kind), options) for kind, options in groups.items() if options]
    return choices


def marketers() -> QuerySet:
    """Active users who may own a campaign."""
    return (
        User.objects.filter(is_active=True, groups__name=Role.MARKETER)
        .distinct()
        .order_by("username")
    )


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return display_name_with_username(obj)


class CampaignForm(forms.Form):
    """The fields of a campaign as the service takes them."""

    name = forms.CharField(label=pgettext_lazy("name of a thing", "Name"), max_length=200)
    channel = forms.ModelChoiceField(
        label=_("Channel"), queryset=Channel.objects.order_by("sort_order", "code")
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=CampaignStatus.choices, initial=CampaignStatus.PLANNED
    )
    owner = OwnerChoiceField(
        label=_("Owner"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("— me —"),
        help_text=_("The marketer responsible; only the owner can edit the campaign."),
    )
    start_date = forms.DateField(label=_("Start date"), required=False, widget=DATE_INPUT)
    end_date = forms.DateField(label=_("End date"), required=False, widget=DATE_INPUT)
    # Text on purpose: the service checks amounts and words its own messages.
    budget = forms.CharField(
        label=_("Budget"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=_("The plan; actual spend is the sum of the cost lines."),
    )
    utm_campaign = forms.CharField(
        label=_("utm_campaign"),
        max_length=100,
        required=False,
        help_text=_(
            "Attributes web captures to this campaign. Left empty, it is made from the name."
        ),
    )
    accept_utm_only = forms.BooleanField(
        label=_("Accept captures by utm_campaign alone"),
        required=False,
        help_text=_(
            "Off: a web capture must carry the form's public key. On: the utm_campaign, "
            "which every ad link shows, is enough."
        ),
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    #: Field groups, for the page layout.
    SECTIONS = (
        (_("Campaign"), ("name", "channel", "status", "owner")),
        (_("Plan"), ("start_date", "end_date", "budget", "description")),
        (_("Web attribution"), ("utm_campaign", "accept_utm_only")),
    )
    #: Fields that take a whole row of the form.
    WIDE_FIELDS = frozenset({"name", "description"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = marketers()
        # Grouped by online/offline; the queryset still validates the submitted id.
        channel = self.fields["channel"]
        channel.choices = grouped_channel_choices(
            channel.queryset, empty_label=_("— choose a channel —")
        )

    @classmethod
    def initial_for(cls, campaign) -> dict:
        return {
            "name": campaign.name,
            "channel": campaign.channel_id,
            "status": campaign.status,
            "owner": campaign.owner_id,
            "start_date": campaign.start_date,
            "end_date": campaign.end_date,
            "budget": campaign.budget,
            "utm_campaign": campaign.utm_campaign,
            "accept_utm_only": campaign.accept_utm_only,
            "description": campaign.description,
        }

    def sections(self):
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]

    def service_fields(self) -> dict:
        """Keyword arguments of ``campaigns.services.campaign_save``."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "channel": data["channel"],
            "owner": data.get("owner"),
            "start_date": data.get("start_date"),
            "end_date": data.get("end_date"),
            "budget": data.get("budget") or 0,
            "status": data["status"],
            "utm_campaign": data.get("utm_campaign", ""),
            "accept_utm_only": bool(data.get("accept_utm_only")),
            "description": data.get("description", ""),
        }


class CostForm(forms.Form):
    """One line of actual spend; the amount is checked by ``cost_save``."""

    date = forms.DateField(label=_("Date"), widget=DATE_INPUT)
    amount = forms.CharField(
        label=_("Amount"),
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_cost_%s")
        super().__init__(*args, **kwargs)
        self.fields["date"].initial = timezone.localdate
