"""Forms of the lead pages.

Forms only parse and type-check input (a number is a number, a date is a date); every rule
about leads — who may, from which stage, what must be given — stays in ``leads.lifecycle``.
The forms of the lifecycle actions are built from the action registry's input spec
(``leads.actions.action_form``).
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from leads.choices import (
    CompanySize,
    DecisionRole,
    Timeline,
)

User = get_user_model()


class CampaignChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} · {obj.channel}"


# --------------------------------------------------------------------------------------
# Creating and editing a lead (the write fields of the API contract)
# --------------------------------------------------------------------------------------


class LeadForm(forms.Form):
    """The write fields of a lead; normalising and duplicate checks are the service's."""

    name = forms.CharField(label=_("Name"), max_length=100)
    title = forms.CharField(label=_("Job title"), max_length=100, required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        help_text=_("Any common format; stored as +86…"),
    )
    email = forms.CharField(
        label=_("Email"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(),
    )
    wechat = forms.CharField(label=_("WeChat"), max_length=64, required=False)
    company_name = forms.CharField(label=_("Company"), max_length=200, required=False)
    industry = forms.CharField(label=_("Industry"), max_length=100, required=False)
    company_size = forms.ChoiceField(
        label=_("Company size"), choices=CompanySize.choices, required=False
    )
    region = forms.CharField(label=_("Region"), max_length=100, required=False)
    product_interest = forms.CharField(label=_("Product interest"), max_length=200, required=False)
    budget = forms.DecimalField(
        label=_("Budget"), max_digits=14, decimal_places=2, min_value=0, required=False
    )
    timeline = forms.ChoiceField(
        label=_("Timeline"), choices=Timeline.choices, initial=Timeline.UNKNOWN
    )
    decision_role = forms.ChoiceField(
        label=_("Decision role"), choices=DecisionRole.choices, initial=DecisionRole.UNKNOWN
    )
    need = forms.CharField(
        label=_("Need"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    source_campaign = CampaignChoiceField(
        label=_("Source campaign"),
        queryset=Campaign.objects.select_related("channel").order_by("-start_date", "-id"),
        required=False,
        empty_label=_("— none —"),
    )

    #: Field groups, for the page layout.
    SECTIONS = (
        (_("Contact"), ("name", "title", "phone", "email", "wechat")),
        (_("Company"), ("company_name", "industry", "company_size", "region")),
        (_("Need"), ("product_interest", "budget", "timeline", "decision_role", "need")),
        (_("Attribution"), ("source_campaign",)),
    )

    @classmethod
    def initial_for(cls, lead) -> dict:
        company = lead.company
        return {
            "name": lead.name,
            "title": lead.title,
            "phone": lead.phone,
            "email": lead.email,
            "wechat": lead.wechat,
            "company_name": company.name if company else "",
            "industry": company.industry if company else "",
            "company_size": company.size if company else "",
            "region": company.region if company else "",
            "product_interest": lead.product_interest,
            "budget": lead.budget,
            "timeline": lead.timeline,
            "decision_role": lead.decision_role,
            "need": lead.need,
            "source_campaign": lead.source_campaign_id,
        }

    def sections(self):
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]

    def service_fields(self) -> tuple[dict, Campaign | None]:
        """``(fields, campaign)`` as ``lead_create``/``lead_update`` take them."""
        data = dict(self.cleaned_data)
        campaign = data.pop("source_campaign", None)
        return data, campaign
