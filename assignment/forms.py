"""Forms of the assignment pages: memberships, rules with condition rows, the pool policy.

Forms parse and type-check; ``assignment.services`` decides what is allowed (weights above
zero, known fields and operators, a team with members …) and names the wrong field.
Field and operator are plain text rendered as selects, so a value the page does not offer
reaches the service and is refused with its specific message.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from assignment.choices import Strategy
from assignment.models import AssignmentRule, Team
from assignment.services import RULE_FIELDS
from leads.actions import sales_users
from pipeline.people import display_name_with_username
from scoring.forms import (
    condition_display,
    field_choices,
    operator_choices,
    parse_value,
    value_as_text,
)

User = get_user_model()

#: Condition rows a rule form always offers; "add rows" adds this many more.
MIN_CONDITION_ROWS = 3


def user_label(user) -> str:
    return display_name_with_username(user)


def rule_conditions_display(conditions: Any) -> list[str]:
    """A rule's stored conditions as sentences; a malformed one is shown as it is."""
    if not isinstance(conditions, list):
        return [str(conditions)]
    lines = []
    for condition in conditions:
        if isinstance(condition, dict):
            lines.append(
                condition_display(
                    str(condition.get("field", "")),
                    str(condition.get("operator", "")),
                    condition.get("value"),
                )
            )
        else:
            lines.append(str(condition))
    return lines


class MembershipForm(forms.Form):
    """A salesperson in a team and what the router may give them."""

    user = forms.ChoiceField(label=gettext_lazy("Salesperson"))
    weight = forms.IntegerField(
        label=gettext_lazy("Weight"),
        initial=1,
        help_text=gettext_lazy("Share in weighted rotation (2 gets twice as many as 1)."),
    )
    daily_capacity = forms.IntegerField(
        label=gettext_lazy("Daily capacity"),
        initial=20,
        help_text=gettext_lazy("New leads per day at most."),
    )
    max_open_leads = forms.IntegerField(
        label=gettext_lazy("Open-lead cap"),
        initial=200,
        help_text=gettext_lazy("No routing while this many leads are open."),
    )
    available = forms.BooleanField(label=gettext_lazy("Available"), required=False, initial=True)
    away_until = forms.DateField(
        label=gettext_lazy("Away until"),
        required=False,
        help_text=gettext_lazy("Skipped by the router up to and including this day."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, users=None, **kwargs):
        super().__init__(*args, **kwargs)
        users = list(users if users is not None else sales_users())
        self._users = {str(u.pk): u for u in users}
        self.fields["user"].choices = [(str(u.pk), user_label(u)) for u in users]

    @classmethod
    def initial_for(cls, membership) -> dict[str, Any]:
        return {
            "user": str(membership.user_id),
            "weight": membership.weight,
            "daily_capacity": membership.daily_capacity,
            "max_open_leads": membership.max_open_leads,
            "available": membership.available,
            "away_until": membership.away_until,
        }

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["user"] = self._users[data["user"]]
        return data


class ConditionForm(forms.Form):
    """One condition row: field · operator · value (a row without a field is ignored)."""

    field = forms.CharField(
        label=gettext_lazy("Lead field"),
        max_length=40,
        required=False,
        widget=forms.Select(),
    )
    operator = forms.CharField(
        label=gettext_lazy("Operator"),
        max_length=10,
        required=False,
        widget=forms.Select(),
    )
    value = forms.CharField(label=gettext_lazy("Value"), max_length=1000, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].widget.choices = [("", "—"), *field_choices(RULE_FIELDS)]
        self.fields["operator"].widget.choices = operator_choices()

    def condition(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not data.get("field"):
            return None
        return {
            "field": data["field"],
            "operator": data.get("operator", ""),
            "value": parse_value(data.get("value", "")),
        }


BaseConditionFormSet = forms.formset_factory(ConditionForm, extra=0)


def condition_formset(data=None, *, conditions=None, prefix: str = "cond", add_rows=False):
    """The condition rows of a rule form: at least ``MIN_CONDITION_ROWS``.

    ``add_rows`` (the "more rows" button was pressed) re-renders the posted rows with
    ``MIN_CONDITION_ROWS`` blank rows more.
    """
    if data is not None:
        key = f"{prefix}-TOTAL_FORMS"
        try:
            total = int(data.get(key, MIN_CONDITION_ROWS))
        except (TypeError, ValueError):
            total = MIN_CONDITION_ROWS
        total = min(max(total, MIN_CONDITION_ROWS), 50)
        if add_rows:
            total = min(total + MIN_CONDITION_ROWS, 50)
        data = data.copy()
        data[key] = str(total)
        data.setdefault(f"{prefix}-INITIAL_FORMS", "0")
        return BaseConditionFormSet(data, prefix=prefix)
    initial = [
        {
            "field": c.get("field", ""),
            "operator": c.get("operator", "eq"),
            "value": value_as_text(c.get("value")),
        }
        for c in (conditions or [])
        if isinstance(c, dict)
    ]
    formset_class = forms.formset_factory(
        ConditionForm, extra=max(MIN_CONDITION_ROWS - len(initial), 1)
    )
    return formset_class(initial=initial, prefix=prefix)


def formset_conditions(formset) -> list[dict[str, Any]]:
    return [c for c in (form.condition() for form in formset.forms) if c is not None]


class AssignmentRuleForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("name of a thing", "Name"), max_length=100)
    priority = forms.IntegerField(
        label=gettext_lazy("Priority"),
        min_value=0,
        initial=100,
        help_text=gettext_lazy("Lower numbers are tried first."),
    )
    active = forms.BooleanField(
        label=pgettext_lazy("rule switched on", "Active"), required=False, initial=True
    )
    strategy = forms.CharField(
        label=gettext_lazy("Strategy"),
        max_length=16,
        initial=Strategy.ROUND_ROBIN,
        widget=forms.Select(choices=[]),
    )
    team = forms.ChoiceField(label=gettext_lazy("Team"), required=False)
    user = forms.ChoiceField(
        label=gettext_lazy("Salesperson"),
        required=False,
        help_text=gettext_lazy("Only for the “a named user” strategy."),
    )

    def __init__(self, *args, teams=None, users=None, **kwargs):
        super().__init__(*args, **kwargs)
        teams = list(teams if teams is not None else Team.objects.order_by("name"))
        users = list(users if users is not None else sales_users())
        self._teams = {str(t.pk): t for t in teams}
        self._users = {str(u.pk): u for u in users}
        self.fields["strategy"].widget.choices = Strategy.choices
        self.fields["team"].choices = [("", "—"), *[(str(t.pk), t.name) for t in teams]]
        self.fields["user"].choices = [("", "—"), *[(str(u.pk), user_label(u)) for u in users]]

    @classmethod
    def initial_for(cls, rule: AssignmentRule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "priority": rule.priority,
            "active": rule.active,
            "strategy": rule.strategy,
            "team": str(rule.team_id or ""),
            "user": str(rule.user_id or ""),
        }

    def service_kwargs(self, conditions: list[dict[str, Any]]) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "priority": data["priority"],
            "active": data["active"],
            "strategy": data["strategy"],
            "team": self._teams.get(data.get("team") or ""),
            "user": self._users.get(data.get("user") or ""),
            "conditions": conditions,
        }


class PoolPolicyForm(forms.Form):
    daily_claim_limit = forms.IntegerField(
        label=gettext_lazy("Claims per rep per day"), min_value=0, max_value=10000
    )
    reclaim_cooldown_days = forms.IntegerField(
        label=gettext_lazy("Re-claim cool-down (days)"),
        min_value=0,
        max_value=365,
        help_text=gettext_lazy("How long a rep waits before claiming a lead they dropped."),
    )


class SimulationForm(forms.Form):
    RULE_SETS = (
        ("current", gettext_lazy("The current active rules")),
        ("draft", gettext_lazy("A draft rule (not saved)")),
    )
    rules = forms.ChoiceField(
        label=gettext_lazy("Rules to replay"),
        choices=RULE_SETS,
        initial="current",
        widget=forms.RadioSelect,
    )

    def clean(self):
        data = super().clean()
        if not data.get("rules"):
            raise forms.ValidationError(_("Choose which rules to replay."))
        return data
