"""The fields a person may write on a lead: one spec, and the one cleaning rule.

``LEAD_FIELDS`` lists every write field of the API contract (besides ``source_campaign``)
with its label, kind, limit and choices. The API's write serializer, the lead form, the
admin and the capture endpoint are built from it, and ``clean_lead_fields`` applies it to
input from any of them (and from imports), so a limit or a choice is stated once.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leads.choices import CompanySize, DecisionRole, Timeline
from leads.lifecycle.primitives import money
from leads.normalize import normalize_email, normalize_phone
from pipeline.errors import ServiceError
from pipeline.text import clean_text

FieldKind = Literal["text", "long_text", "phone", "email", "money", "choice"]


@dataclass(frozen=True)
class LeadField:
    """One write field: where it is stored and what input it accepts."""

    name: str
    label: Promise
    kind: FieldKind = "text"
    #: The longest input accepted (characters).
    max_length: int | None = None
    choices: type[models.TextChoices] | None = None
    #: Stored on the lead itself; otherwise on its company (``company_name`` → name).
    on_lead: bool = True
    #: Required when a lead is created.
    required: bool = False
    help_text: Promise | str = ""

    @property
    def attribute(self) -> str:
        """The model field it is stored in: on the lead, or on its company (``company_size``
        → ``Company.size``)."""
        return self.name if self.on_lead else self.name.removeprefix("company_")

    @property
    def blank_allowed(self) -> bool:
        """A choice field whose "unknown" is the empty value may be left blank; the others
        fall back to their ``UNKNOWN`` choice."""
        return self.choices is not None and "" in self.choices.values


LEAD_FIELDS: tuple[LeadField, ...] = (
    LeadField("name", gettext_lazy("Name"), max_length=100, required=True),
    LeadField("title", gettext_lazy("Job title"), max_length=100),
    LeadField(
        "phone",
        gettext_lazy("Phone"),
        kind="phone",
        max_length=40,
        help_text=gettext_lazy("Any common format; stored as +86…"),
    ),
    LeadField("email", gettext_lazy("Email"), kind="email", max_length=254),
    LeadField("wechat", gettext_lazy("WeChat"), max_length=64),
    LeadField("company_name", gettext_lazy("Company"), max_length=200, on_lead=False),
    LeadField("industry", gettext_lazy("Industry"), max_length=100, on_lead=False),
    LeadField(
        "company_size",
        gettext_lazy("Company size"),
        kind="choice",
        choices=CompanySize,
        on_lead=False,
    ),
    LeadField("region", gettext_lazy("Region"), max_length=100, on_lead=False),
    LeadField("product_interest", gettext_lazy("Product interest"), max_length=200),
    LeadField("budget", gettext_lazy("Budget"), kind="money"),
    LeadField("timeline", gettext_lazy("Timeline"), kind="choice", choices=Timeline),
    LeadField("decision_role", gettext_lazy("Decision role"), kind="choice", choices=DecisionRole),
    LeadField("need", gettext_lazy("Need"), kind="long_text", max_length=5000),
)
FIELDS_BY_NAME = {field.name: field for field in LEAD_FIELDS}


def lead_fields(names: tuple[str, ...] | None = None) -> tuple[LeadField, ...]:
    """The spec of ``names`` (every write field by default); an unknown name is an error."""
    if names is None:
        return LEAD_FIELDS
    unknown = [name for name in names if name not in FIELDS_BY_NAME]
    if unknown:
        raise ValueError(f"Not a lead write field: {', '.join(unknown)}")
    return tuple(FIELDS_BY_NAME[name] for name in names)


#: Every write field, in form order.
WRITABLE_FIELDS = tuple(field.name for field in LEAD_FIELDS)
#: The write fields stored on the lead row (the others describe its company).
LEAD_OWN_FIELDS = tuple(field.name for field in LEAD_FIELDS if field.on_lead)
#: The write fields that describe the company.
COMPANY_FIELDS = tuple(field.name for field in LEAD_FIELDS if not field.on_lead)

_WRITABLE = frozenset(WRITABLE_FIELDS)
_CHOICE_FIELDS = tuple(
    (field.name, field.choices, frozenset(field.choices.values))
    for field in LEAD_FIELDS
    if field.choices is not None
)
#: Text limits checked after normalising (a phone is checked by parsing it instead).
_TEXT_LIMITS = {
    field.name: field.max_length
    for field in LEAD_FIELDS
    if field.max_length and field.kind in ("text", "long_text", "email")
}


def has_letter(value: str) -> bool:
    """Whether ``value`` has a letter of any script (Latin, CJK ideographs, kana, …)."""
    return any(unicodedata.category(char).startswith("L") for char in value)


def clean_lead_fields(fields: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate and normalise lead input; raise ``ServiceError`` naming the first bad field."""
    unknown = fields.keys() - _WRITABLE
    if unknown:
        raise ServiceError(
            _("Unknown field “%(field)s”.") % {"field": sorted(unknown)[0]},
            field=sorted(unknown)[0],
        )
    data: dict[str, Any] = {}
    for key, value in fields.items():
        multiline = FIELDS_BY_NAME[key].kind == "long_text"
        data[key] = clean_text(value, multiline=multiline) if isinstance(value, str) else value
    if (not partial or "name" in data) and not data.get("name"):
        raise ServiceError(_("The contact's name is required."), field="name")
    if data.get("name") and not has_letter(str(data["name"])):
        raise ServiceError(_("The name must contain at least one letter."), field="name")
    if "phone" in data:
        try:
            data["phone"] = normalize_phone(data["phone"] or "", settings.PHONE_REGION)
        except ValueError as exc:
            raise ServiceError(str(exc), field="phone") from exc
    if "email" in data:
        data["email"] = normalize_email(data["email"] or "")
        if data["email"]:
            try:
                validate_email(data["email"])
            except ValidationError as exc:
                raise ServiceError(_("Enter a valid email address."), field="email") from exc
    if "budget" in data:
        data["budget"] = (
            None
            if data["budget"] in (None, "")
            else money(data["budget"], "budget", positive=False)
        )
    for key, choices, allowed in _CHOICE_FIELDS:
        if key in data:
            if data[key] in (None, "") and key != "company_size":
                data[key] = choices.UNKNOWN.value  # type: ignore[attr-defined]  # each choice set here has UNKNOWN
            if (data[key] or "") not in allowed:
                raise ServiceError(
                    _("“%(value)s” is not a valid choice.") % {"value": data[key]}, field=key
                )
    for key, limit in _TEXT_LIMITS.items():
        if isinstance(data.get(key), str) and len(data[key]) > limit:
            raise ServiceError(
                _("Ensure this field has no more than %(limit)d characters.") % {"limit": limit},
                field=key,
            )
    return data


#: The columns only the lifecycle writes (stage, grade, owner, timestamps, deal, reasons):
#: read-only on every page, form, admin and API body.
LIFECYCLE_FIELDS = (
    "stage",
    "grade",
    "grade_source",
    "grade_reason",
    "score",
    "score_detail",
    "owner",
    "in_pool",
    "created_at",
    "updated_at",
    "mql_at",
    "sql_at",
    "opportunity_at",
    "won_at",
    "lost_at",
    "disqualified_at",
    "assigned_at",
    "pooled_at",
    "first_contact_at",
    "last_follow_up_at",
    "next_follow_up_at",
    "expected_amount",
    "won_amount",
    "signed_at",
    "disqualify_reason",
    "reject_reason",
    "lost_reason",
    "recycle_reason",
)
