"""Forms of the lead pages.

Forms only parse and type-check input (a number is a number, a date is a date); every rule
about leads — who may, from which stage, what must be given — stays in ``leads.services``.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from leads.choices import (
    CompanySize,
    DecisionRole,
    DisqualifyReason,
    FollowUpMethod,
    Grade,
    LoseReason,
    RecycleReason,
    RejectReason,
    Timeline,
)
from pipeline.people import display_name_with_username, people_ordering
from pipeline.roles import SALES_ROLES

User = get_user_model()

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def _reason_field(*, help_text=None) -> forms.CharField:
    # Whether a reason is required is the service's rule; the form only bounds its length.
    return forms.CharField(
        label=_("Reason"),
        max_length=2000,
        required=False,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _datetime_field(label, *, help_text=None) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )


def sales_users() -> QuerySet:
    """Active users who may own leads."""
    return (
        User.objects.filter(is_active=True, groups__name__in=SALES_ROLES)
        .distinct()
        .order_by(*people_ordering())
    )


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return display_name_with_username(obj)


class CampaignChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} · {obj.channel}"


# --------------------------------------------------------------------------------------
# Lifecycle actions: one small form per action (DESIGN §4)
# --------------------------------------------------------------------------------------


class ActionForm(forms.Form):
    """Base of the action forms; ``lead`` lets a form offer sensible initial values."""

    def __init__(self, *args, lead=None, **kwargs):
        self.lead = lead
        super().__init__(*args, **kwargs)


class EmptyActionForm(ActionForm):
    """Actions that need nothing but the click (accept, claim)."""


class QualifyForm(ActionForm):
    grade = forms.ChoiceField(label=_("Grade"), required=False)
    reason = _reason_field(help_text=_("Required when the grade differs from the rule grade."))

    def __init__(self, *args, lead=None, **kwargs):
        super().__init__(*args, lead=lead, **kwargs)
        if lead is not None and lead.grade:
            blank = _("Keep the rule grade (%(grade)s)") % {"grade": lead.grade}
        else:
            blank = _("— choose a grade —")
        self.fields["grade"].choices = [("", blank), *Grade.choices]


class DisqualifyForm(ActionForm):
    reason_code = forms.ChoiceField(label=_("Reason code"), choices=DisqualifyReason.choices)
    reason = _reason_field()


class RejectForm(ActionForm):
    reason_code = forms.ChoiceField(label=_("Reason code"), choices=RejectReason.choices)
    reason = _reason_field()


class RecycleForm(ActionForm):
    reason_code = forms.ChoiceField(label=_("Reason code"), choices=RecycleReason.choices)
    reason = _reason_field()


class LoseForm(ActionForm):
    reason_code = forms.ChoiceField(label=_("Reason code"), choices=LoseReason.choices)
    reason = _reason_field()


class AssignForm(ActionForm):
    owner = UserChoiceField(
        label=_("Owner"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Let the assignment rules decide"),
    )
    reason = _reason_field()

    def __init__(self, *args, owners: QuerySet | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners if owners is not None else sales_users()


class ToOpportunityForm(ActionForm):
    expected_amount = forms.DecimalField(
        label=_("Expected amount"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
    )


class WinForm(ActionForm):
    amount = forms.DecimalField(
        label=_("Signed amount"), max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    signed_at = forms.DateField(
        label=_("Signed on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, lead=None, **kwargs):
        super().__init__(*args, lead=lead, **kwargs)
        self.fields["signed_at"].initial = timezone.localdate
        if lead is not None and lead.expected_amount:
            self.fields["amount"].initial = lead.expected_amount


class FollowUpForm(ActionForm):
    method = forms.ChoiceField(label=_("Method"), choices=FollowUpMethod.choices)
    outcome = forms.CharField(label=_("Outcome"), max_length=200, required=False)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    at = _datetime_field(_("Contacted at"), help_text=_("Leave empty for now."))
    next_follow_up_at = _datetime_field(_("Next follow-up"))


#: The form of each action on the detail page, in the service's action names.
ACTION_FORMS: dict[str, type[ActionForm]] = {
    "qualify": QualifyForm,
    "disqualify": DisqualifyForm,
    "assign": AssignForm,
    "accept": EmptyActionForm,
    "reject": RejectForm,
    "recycle": RecycleForm,
    "claim": EmptyActionForm,
    "to_opportunity": ToOpportunityForm,
    "win": WinForm,
    "lose": LoseForm,
    "follow_up": FollowUpForm,
}


# --------------------------------------------------------------------------------------
# Creating and editing a lead (DESIGN §9 write fields)
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
