"""Forms of the targets pages: a new target, and the XLSX upload. The choices offered
are only the scopes the user may write (``targets.selectors``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from assignment.models import Team, TeamMembership
from campaigns.models import Campaign, Channel
from leads.forms import campaign_picker_field
from pipeline.roles import Role, has_role
from targets.choices import Metric
from targets.selectors import target_campaign_choices


class TargetForm(forms.Form):
    period = forms.CharField(label=_("Period"), max_length=7, help_text=_("2026-12 or 2026-Q4"))
    metric = forms.ChoiceField(label=_("Metric"), choices=Metric.choices)
    user = forms.ModelChoiceField(
        label=_("User"), queryset=get_user_model().objects.none(), required=False
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    channel = forms.ModelChoiceField(
        label=_("Channel"), queryset=Channel.objects.none(), required=False
    )
    campaign = forms.ModelChoiceField(
        label=_("Campaign"), queryset=Campaign.objects.none(), required=False
    )
    value = forms.DecimalField(label=_("Value"), min_value=0, max_digits=14, decimal_places=4)

    def __init__(self, *args: Any, actor: User, search: str | None = None, **kwargs: Any) -> None:
        """``search``: the campaign search sent without the script (the page redirects after
        the POST, so the matches are offered by the next GET)."""
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_active=True).exclude(pk=actor.pk)
        if has_role(actor, Role.MANAGER):
            self.fields["user"].queryset = users.order_by("username")
            self.fields["team"].queryset = Team.objects.order_by("name")
            self.fields["channel"].queryset = Channel.objects.order_by("sort_order", "code")
            self.fields["campaign"].queryset = target_campaign_choices(actor).order_by("name")
            # A picker that searches them (the API's ``scope=target``), not every campaign.
            campaign_picker_field(self, "campaign", scope="target", text=search)
        else:
            members = TeamMembership.objects.filter(team__manager=actor).values("user_id")
            self.fields["user"].queryset = users.filter(pk__in=members).order_by("username")
            self.fields["team"].queryset = Team.objects.filter(manager=actor).order_by("name")
            for name in ("channel", "campaign"):
                del self.fields[name]


class ImportForm(forms.Form):
    file = forms.FileField(label=_("XLSX file"))
