"""Forms of the lead pages.

Forms only parse and type-check input (a number is a number, a date is a date); every rule
about leads — who may, from which stage, what must be given — stays in ``leads.lifecycle``.
The forms of the lifecycle actions are built from the action registry's input spec
(``leads.actions.action_form``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from leads.lifecycle.fields import FIELDS_BY_NAME, LEAD_FIELDS, lead_fields
from leads.selectors import campaign_search
from pipeline.widgets import campaign_search_picker

User = get_user_model()


class CampaignChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} · {obj.channel}"


def campaign_picker_field(
    form: forms.Form, name: str, *, scope: str, text: str | None = None
) -> None:
    """Make the campaign field ``name`` of a form that saves a search-as-you-type picker
    (``pipeline.widgets.campaign_search_picker``) over the field's own queryset, the scope
    its validation holds to; the script asks the API's ``leads/campaign-choices/`` in
    ``scope``, the same rule. Without the script the box's text (``<name>_search``) is a
    search: the form comes back with the matches instead of saving (``text``: that search
    for an unbound form, a page that redirects after the POST)."""
    field = form.fields[name]
    search_name = f"{name}_search"
    if text is None:
        text = (form.data.get(search_name) or "") if form.is_bound else ""
    campaign_search_picker(
        field,
        scope=scope,
        search_name=search_name,
        text=text,
        search=lambda text: campaign_search(field.queryset, text=text),
        saves=True,
    )


# --------------------------------------------------------------------------------------
# Creating and editing a lead (the write fields of the API contract)
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

    expected_close_date = forms.DateField(
        label=_("Expected close date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("When you expect this deal to close: the forecast counts it in that period."),
    )

    #: Field groups, for the page layout.
    SECTIONS = (
        (_("Contact"), ("name", "title", "phone", "email", "wechat")),
        (_("Company"), ("company_name", "industry", "company_size", "region")),
        (_("Need"), ("product_interest", "budget", "timeline", "decision_role", "need")),
        (_("Deal"), ("expected_close_date",)),
        (_("Attribution"), ("source_campaign",)),
    )

    def __init__(
        self,
        *args: Any,
        campaigns: QuerySet[Campaign] | None = None,
        deal: bool = False,
        **kwargs: Any,
    ):
        """``campaigns``: the campaigns the picker offers (the user's allowed ones);
        ``deal``: offer the expected close date (an open deal, edited by its owner or
        their managers: ``leads.lifecycle.editing.may_set_expected_close``)."""
        super().__init__(*args, **kwargs)
        if campaigns is not None:
            self.fields["source_campaign"].queryset = campaigns
        # Thousands of campaigns: a picker that searches them (the API's ``scope=lead``,
        # ``campaigns_usable_by``) instead of a drop-down of them all.
        campaign_picker_field(self, "source_campaign", scope="lead")
        if not deal:
            del self.fields["expected_close_date"]

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
        initial["expected_close_date"] = lead.expected_close_date
        return initial

    def sections(self):
        shown = [
            (title, [self[name] for name in names if name in self.fields])
            for title, names in self.SECTIONS
        ]
        return [(title, fields) for title, fields in shown if fields]

    def service_fields(self) -> tuple[dict, Campaign | None]:
        """``(fields, campaign)`` as ``lead_create``/``lead_update`` take them (the
        expected close date apart: ``expected_close``)."""
        data = dict(self.cleaned_data)
        campaign = data.pop("source_campaign", None)
        data.pop("expected_close_date", None)
        return data, campaign

    def expected_close(self) -> Any:
        """The expected close date for ``lead_update`` (``...``: not offered)."""
        if "expected_close_date" not in self.fields:
            return ...
        return self.cleaned_data.get("expected_close_date")
