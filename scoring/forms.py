"""Forms of the scoring pages, and readable names for rule fields, operators and values.

Forms only parse input. Whether a field exists, an operator fits it or a value has the
right type is ``scoring.services``'s (and ``pipeline.conditions``'s) decision, so field and
operator are plain text rendered as a select: a value the page does not offer still reaches
the service and is refused there with its specific message.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy

from campaigns.choices import ChannelKind
from leads.choices import Stage, TouchKind
from leads.facts import LEAD_FACT_FIELDS
from leads.lifecycle.fields import FIELDS_BY_NAME, LEAD_FIELDS
from pipeline.conditions import OPERATORS
from scoring.choices import Dimension

#: Readable names of the lead facts a rule may test (``leads.facts.LEAD_FACT_FIELDS``).
FACT_LABELS = {
    "grade": gettext_lazy("Grade"),
    "score": gettext_lazy("Score"),
    "stage": gettext_lazy("Stage"),
    "title": gettext_lazy("Job title"),
    "product_interest": gettext_lazy("Product interest"),
    "budget": gettext_lazy("Budget"),
    "timeline": gettext_lazy("Timeline"),
    "decision_role": gettext_lazy("Decision role"),
    "need": gettext_lazy("Need"),
    "email": gettext_lazy("Email"),
    "phone": gettext_lazy("Phone"),
    "wechat": gettext_lazy("WeChat"),
    "industry": gettext_lazy("Industry"),
    "company_size": gettext_lazy("Company size"),
    "region": gettext_lazy("Region"),
    "company": gettext_lazy("Company"),
    "channel": gettext_lazy("Channel"),
    "channel_kind": gettext_lazy("Channel kind"),
    "campaign": gettext_lazy("Campaign (id)"),
    "utm_source": gettext_lazy("UTM source"),
    "utm_medium": gettext_lazy("UTM medium"),
    "touch_count": gettext_lazy("Number of touches"),
    "touch_kinds": gettext_lazy("Kinds of touches"),
}

OPERATOR_LABELS = {
    "eq": gettext_lazy("equals"),
    "in": gettext_lazy("is one of"),
    "gte": gettext_lazy("is at least"),
    "lte": gettext_lazy("is at most"),
    "contains": gettext_lazy("contains"),
    "is_set": gettext_lazy("is filled in"),
}


def fact_label(name: str) -> str:
    """A rule field's label: the lead form's (``LEAD_FIELDS``) for a write field."""
    spec = FIELDS_BY_NAME.get(name)
    if spec is not None:
        return str(spec.label)
    return str(FACT_LABELS.get(name, name))


def field_choices(fields) -> list[tuple[str, str]]:
    """``(code, label)`` for a select, in the order of ``fields``."""
    return [(name, fact_label(name)) for name in fields]


def operator_choices() -> list[tuple[str, str]]:
    return [(op, str(OPERATOR_LABELS[op])) for op in OPERATORS]


def parse_value(text: str) -> Any:
    """A rule value typed as text: JSON when it parses (numbers, lists, true/false), else text.

    ``50000`` → 50000, ``["A", "B"]`` → a list, ``true`` → True, ``Shanghai`` → "Shanghai";
    quote a text that looks like JSON to keep it text: ``"true"``.
    """
    text = (text or "").strip()
    if not text:
        return ""
    try:
        return json.loads(text)
    except ValueError:
        return text


def value_as_text(value: Any) -> str:
    """The inverse of ``parse_value``, for an edit form's initial value."""
    if isinstance(value, str):
        return value if parse_value(value) == value else json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, ensure_ascii=False)


#: Fields whose values are codes with readable labels (shown in condition sentences): the
#: choice sets of ``LEAD_FIELDS``, and of the facts that are not write fields.
CHOICE_LABELS: dict[str, Any] = {
    **{spec.name: spec.choices for spec in LEAD_FIELDS if spec.choices is not None},
    "stage": Stage,
    "channel_kind": ChannelKind,
    "touch_kinds": TouchKind,
}


def _item_display(item: Any, field: str | None) -> str:
    choices = CHOICE_LABELS.get(field or "")
    if choices is not None and isinstance(item, str):
        try:
            return str(choices(item).label)
        except ValueError:
            return item
    if isinstance(item, int | float) and not isinstance(item, bool):
        if float(item).is_integer():
            item = int(item)
        return f"{item:,}"
    return str(item)


def value_display(operator: str, value: Any, field: str | None = None) -> str:
    """A value as people read it: a list joined ("A、B" in Chinese), numbers grouped by
    thousands and without ``.0``, "yes"/"no" for ``is_set``.

    With ``field``, codes of choice fields are shown by their label ("Within 1 month").
    """
    if operator == "is_set":
        return _("yes") if value else _("no")
    if isinstance(value, list):
        separator = pgettext("between the items of a list", ", ")
        return separator.join(_item_display(item, field) for item in value)
    return _item_display(value, field)


def condition_display(field: str, operator: str, value: Any) -> str:
    """One condition (field, operator, value) in words, in the active language: the one
    wording of rule conditions on every page (scoring and assignment rules, a lead's score,
    the simulation) and in the API's ``description``.

    "Decision role is Decision maker" (职位 是 决策者), "Budget ≥ 500,000",
    "Timeline is one of [Within 1 month, 1–3 months]" (购买时间 在 [一个月内、三个月内] 中),
    "WeChat is filled in" (微信 已填写). A code the labels do not know is shown as it is.
    """
    words = {"field": fact_label(field), "value": value_display(operator, value, field)}
    if operator == "is_set":
        if value:
            return _("%(field)s is filled in") % words
        return _("%(field)s is empty") % words
    if operator == "eq":
        return pgettext("rule condition", "%(field)s is %(value)s") % words
    if operator == "in":
        return pgettext("rule condition", "%(field)s is one of [%(value)s]") % words
    if operator == "gte":
        return pgettext("rule condition", "%(field)s ≥ %(value)s") % words
    if operator == "lte":
        return pgettext("rule condition", "%(field)s ≤ %(value)s") % words
    if operator == "contains":
        return pgettext("rule condition", "%(field)s contains “%(value)s”") % words
    return f"{words['field']} {operator} {words['value']}"


def _select_text(label, choices, **kwargs) -> forms.CharField:
    widget = forms.Select(choices=choices)
    return forms.CharField(label=label, max_length=40, widget=widget, **kwargs)


VALUE_HELP = gettext_lazy(
    'Text, a number, a list such as ["A", "B"], or true / false for “is filled in”.'
)


class ScoringRuleForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("name of a thing", "Name"), max_length=100)
    dimension = _select_text(gettext_lazy("Dimension"), Dimension.choices)
    field = _select_text(gettext_lazy("Lead field"), [])
    operator = _select_text(gettext_lazy("Operator"), [])
    value = forms.CharField(
        label=gettext_lazy("Value"), max_length=1000, required=False, help_text=VALUE_HELP
    )
    points = forms.IntegerField(
        label=gettext_lazy("Points"),
        help_text=gettext_lazy("From -100 to 100; negative points lower the score."),
    )
    active = forms.BooleanField(
        label=pgettext_lazy("rule switched on", "Active"), required=False, initial=True
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Choices are built at render time so their labels follow the request's language.
        self.fields["field"].widget.choices = field_choices(LEAD_FACT_FIELDS)
        self.fields["operator"].widget.choices = operator_choices()

    @classmethod
    def initial_for(cls, rule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "dimension": rule.dimension,
            "field": rule.field,
            "operator": rule.operator,
            "value": value_as_text(rule.value),
            "points": rule.points,
            "active": rule.active,
        }

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["value"] = parse_value(data.get("value", ""))
        return data


class ThresholdsForm(forms.Form):
    # Ranges and order are the service's rules (A above B above C); it names the field.
    a = forms.IntegerField(label=gettext_lazy("A from score"))
    b = forms.IntegerField(label=gettext_lazy("B from score"))
    c = forms.IntegerField(label=gettext_lazy("C from score"))
    auto_qualify = forms.BooleanField(
        label=gettext_lazy("Qualify automatically"),
        required=False,
        help_text=gettext_lazy("New leads reaching the score below become MQLs by themselves."),
    )
    auto_qualify_score = forms.IntegerField(label=gettext_lazy("Auto-qualify from score"))

    @classmethod
    def initial_for(cls, thresholds) -> dict[str, Any]:
        return {
            "a": thresholds.a,
            "b": thresholds.b,
            "c": thresholds.c,
            "auto_qualify": thresholds.auto_qualify,
            "auto_qualify_score": thresholds.auto_qualify_score,
        }
