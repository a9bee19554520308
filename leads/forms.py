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
    DisqualifyReason,
    FollowUpMethod,
    Grade,
    LoseReason,
    RecycleReason,
    RejectReason,
)
from leads.lifecycle.fields import FIELDS_BY_NAME, LEAD_FIELDS, lead_fields
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


def lead_form_field(name: str, **overrides) -> forms.Field:
    """The form field of the write field ``name`` of the spec (``leads.lifecycle.fields``).

    ``overrides`` replace the field's arguments, for a form that words or lays out a field
    its own way (a label, a widget); the limits and choices stay the spec's.
    """
    field = FIELDS_BY_NAME[name]
    kwargs: dict = {"label": field.label}
    if field.kind == "money":
        form_field: type[forms.Field] = forms.DecimalField
        kwargs.update(max_digits=14, decimal_places=2, min_value=0, required=False)
    elif field.choices is not None:
        form_field = forms.ChoiceField
        kwargs["choices"] = field.choices.choices
        if field.blank_allowed:
            kwargs["required"] = False
        else:
            # Never blank: "unknown" is a choice of its own, preselected.
            kwargs["initial"] = field.choices.UNKNOWN  # type: ignore[attr-defined]
    else:
        form_field = forms.CharField
        kwargs.update(max_length=field.max_length, required=field.required)
        if field.help_text:
            kwargs["help_text"] = field.help_text
        if field.kind == "email":
            kwargs["widget"] = forms.EmailInput()
        elif field.kind == "long_text":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 4})
    kwargs.update(overrides)
    return form_field(**kwargs)


def lead_form_fields(names: tuple[str, ...] | None = None) -> dict[str, forms.Field]:
    """The form fields of the write fields ``names`` (all by default), in the spec's order."""
    return {field.name: lead_form_field(field.name) for field in lead_fields(names)}


def lead_fields_form(names: tuple[str, ...] | None = None) -> type[forms.Form]:
    """A form class holding the write fields ``names`` (all by default), to extend."""
    return type("LeadFieldsForm", (forms.Form,), lead_form_fields(names))


class LeadForm(lead_fields_form()):
    """The write fields of a lead; normalising and duplicate checks are the service's."""

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
        initial = {
            field.name: getattr(lead, field.attribute)
            if field.on_lead
            else (getattr(company, field.attribute) if company else "")
            for field in LEAD_FIELDS
        }
        initial["source_campaign"] = lead.source_campaign_id
        return initial

    def sections(self):
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]

    def service_fields(self) -> tuple[dict, Campaign | None]:
        """``(fields, campaign)`` as ``lead_create``/``lead_update`` take them."""
        data = dict(self.cleaned_data)
        campaign = data.pop("source_campaign", None)
        return data, campaign
