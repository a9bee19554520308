"""The lead write fields are stated once (``leads.lifecycle.fields``): the API serializers,
the lead form, the public capture form and the admin expose the spec's fields, limits and
choices, and refuse a too-long value naming the field."""

from __future__ import annotations

import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from rest_framework import serializers

from leads.actions import CONSULT_LEAD_FIELDS, action_form_class
from leads.api.capture import CaptureSerializer
from leads.api.leads import LeadWriteSerializer
from leads.forms import LeadForm
from leads.lifecycle.fields import (
    COMPANY_FIELDS,
    FIELDS_BY_NAME,
    LEAD_FIELDS,
    LEAD_OWN_FIELDS,
    WRITABLE_FIELDS,
    lead_fields,
)
from leads.models import Company, Lead
from leads.views.capture import VISIBLE_FIELDS, CaptureForm
from leads.views.imports import FIELD_LABELS
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

#: Spec fields with a length limit (every kind but money and choice).
LIMITED = tuple(field for field in LEAD_FIELDS if field.max_length)
CHOICES = tuple(field for field in LEAD_FIELDS if field.choices is not None)


def _too_long(field) -> str:
    return "x" * (field.max_length + 1)


def _choice_values(field) -> list[str]:
    return [str(value) for value, _label in field.choices]


# --------------------------------------------------------------------------------------
# The spec itself
# --------------------------------------------------------------------------------------


def test_spec_lists_partition_the_write_fields():
    assert set(LEAD_OWN_FIELDS) | set(COMPANY_FIELDS) == set(WRITABLE_FIELDS)
    assert not set(LEAD_OWN_FIELDS) & set(COMPANY_FIELDS)
    assert [FIELDS_BY_NAME[name].attribute for name in COMPANY_FIELDS] == [
        "name",
        "industry",
        "size",
        "region",
    ]
    for name in COMPANY_FIELDS:
        Company._meta.get_field(FIELDS_BY_NAME[name].attribute)
    for name in LEAD_OWN_FIELDS:
        Lead._meta.get_field(name)


def test_a_subset_of_unknown_names_is_refused():
    assert [field.name for field in lead_fields(("need", "name"))] == ["need", "name"]
    with pytest.raises(ValueError, match="nickname"):
        lead_fields(("name", "nickname"))


# --------------------------------------------------------------------------------------
# API serializers
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("serializer_class", [LeadWriteSerializer, CaptureSerializer])
def test_serializer_exposes_the_spec(serializer_class):
    fields = serializer_class().fields
    assert [name for name in fields if name in FIELDS_BY_NAME] == list(WRITABLE_FIELDS)
    for field in LIMITED:
        assert isinstance(fields[field.name], serializers.CharField)
        assert fields[field.name].max_length == field.max_length
        assert fields[field.name].required is field.required
    for field in CHOICES:
        assert list(fields[field.name].choices) == field.choices.values
        assert fields[field.name].allow_blank is field.blank_allowed
    assert isinstance(fields["budget"], serializers.DecimalField)


def test_lead_write_serializer_has_the_spec_and_the_source_campaign():
    # The deal's expected close date is the update service's own argument, not the spec's.
    assert list(LeadWriteSerializer().fields) == [
        *WRITABLE_FIELDS,
        "source_campaign",
        "expected_close_date",
    ]


@pytest.mark.parametrize("serializer_class", [LeadWriteSerializer, CaptureSerializer])
@pytest.mark.parametrize("field", LIMITED, ids=lambda field: field.name)
def test_serializer_refuses_a_too_long_value_naming_the_field(serializer_class, field):
    serializer = serializer_class(data={"name": "Li Lei", field.name: _too_long(field)})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {field.name}
    assert serializer.errors[field.name][0].code == "max_length"


@pytest.mark.parametrize("field", CHOICES, ids=lambda field: field.name)
def test_serializer_refuses_a_value_outside_the_choices(field):
    serializer = LeadWriteSerializer(data={"name": "Li Lei", field.name: "huge"})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {field.name}


# --------------------------------------------------------------------------------------
# The lead form and the public capture form
# --------------------------------------------------------------------------------------


def test_lead_form_exposes_the_spec():
    fields = LeadForm.base_fields
    assert list(fields) == [*WRITABLE_FIELDS, "source_campaign", "expected_close_date"]
    for field in LEAD_FIELDS:
        assert fields[field.name].label == field.label
        assert fields[field.name].help_text == field.help_text
    for field in LIMITED:
        assert fields[field.name].max_length == field.max_length
        assert fields[field.name].required is field.required
    for field in CHOICES:
        assert _choice_values(fields[field.name]) == field.choices.values
    sections = [name for _title, names in LeadForm.SECTIONS for name in names]
    assert sorted(sections) == sorted([*WRITABLE_FIELDS, "source_campaign", "expected_close_date"])


@pytest.mark.parametrize("field", LIMITED, ids=lambda field: field.name)
def test_lead_form_refuses_a_too_long_value_naming_the_field(field):
    data = {"name": "Li Lei", "timeline": "unknown", "decision_role": "unknown"}
    form = LeadForm({**data, field.name: _too_long(field)})
    assert not form.is_valid()
    assert set(form.errors) == {field.name}
    assert form.errors.as_data()[field.name][0].code == "max_length"


def test_capture_form_shows_a_subset_of_the_spec_with_its_limits():
    assert set(VISIBLE_FIELDS) <= set(WRITABLE_FIELDS)
    for name in VISIBLE_FIELDS:
        assert CaptureForm.base_fields[name].max_length == FIELDS_BY_NAME[name].max_length
        assert CaptureForm.base_fields[name].required is FIELDS_BY_NAME[name].required
    form = CaptureForm({"name": "Li Lei", "need": _too_long(FIELDS_BY_NAME["need"])})
    assert not form.is_valid() and set(form.errors) == {"need"}


def test_consult_form_writes_a_subset_of_the_spec_with_its_limits():
    consult = action_form_class("consult")
    assert set(CONSULT_LEAD_FIELDS) <= set(WRITABLE_FIELDS)
    for name in CONSULT_LEAD_FIELDS:
        field, spec = consult.base_fields[name], FIELDS_BY_NAME[name]
        assert field.label == spec.label
        assert getattr(field, "max_length", None) == spec.max_length
        if spec.choices is not None:
            assert _choice_values(field) == spec.choices.values


def test_import_labels_are_the_spec_labels():
    assert {name: FIELD_LABELS[name] for name in WRITABLE_FIELDS} == {
        field.name: field.label for field in LEAD_FIELDS
    }


# --------------------------------------------------------------------------------------
# The admin
# --------------------------------------------------------------------------------------


def _admin_form_class(model):
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    return admin.site._registry[model].get_form(request, None)


def _post_data(form: forms.BaseForm) -> dict:
    """What the browser would send back for ``form`` as it is shown."""
    data = {}
    for bound in form:
        value = bound.value()
        widget = bound.field.widget
        if isinstance(widget, forms.MultiWidget):
            for index, part in enumerate(widget.decompress(value)):
                data[f"{bound.html_name}_{index}"] = "" if part is None else part
        elif value is not None:
            data[bound.html_name] = value
    return data


def test_admin_exposes_the_spec():
    lead_fields_ = _admin_form_class(Lead).base_fields
    for name in LEAD_OWN_FIELDS:
        assert name in lead_fields_
        spec = FIELDS_BY_NAME[name]
        if spec.max_length:
            assert lead_fields_[name].max_length == spec.max_length
        if spec.choices is not None:
            assert _choice_values(lead_fields_[name]) == spec.choices.values
    company_fields = _admin_form_class(Company).base_fields
    for name in COMPANY_FIELDS:
        spec = FIELDS_BY_NAME[name]
        if spec.max_length:
            assert company_fields[spec.attribute].max_length == spec.max_length
        if spec.choices is not None:
            assert _choice_values(company_fields[spec.attribute]) == spec.choices.values
    assert admin.site._registry[Company].list_display == ["name", "industry", "size", "region"]


@pytest.mark.parametrize(
    "field",
    [field for field in LIMITED if field.on_lead],
    ids=lambda field: field.name,
)
def test_admin_refuses_a_too_long_value_naming_the_field(field):
    lead = LeadFactory()
    form_class = _admin_form_class(Lead)
    data = _post_data(form_class(instance=lead))
    assert form_class(data, instance=lead).is_valid()
    form = form_class({**data, field.name: _too_long(field)}, instance=lead)
    assert not form.is_valid()
    assert set(form.errors) == {field.name}


def test_admin_refuses_a_too_long_company_value_naming_the_field():
    company = LeadFactory().company
    form_class = _admin_form_class(Company)
    data = _post_data(form_class(instance=company))
    form = form_class({**data, "region": _too_long(FIELDS_BY_NAME["region"])}, instance=company)
    assert not form.is_valid()
    assert set(form.errors) == {"region"}


def test_admin_stores_what_the_other_writes_store():
    lead = LeadFactory()
    form_class = _admin_form_class(Lead)
    data = _post_data(form_class(instance=lead))
    form = form_class(
        {**data, "phone": "139 1234 5678", "email": " Li@ACME.cn ", "budget": "-1"},
        instance=lead,
    )
    assert not form.is_valid() and set(form.errors) == {"budget"}
    form = form_class({**data, "phone": "139 1234 5678", "email": " Li@ACME.cn "}, instance=lead)
    assert form.is_valid(), form.errors
    form.save()
    lead.refresh_from_db()
    assert lead.phone == "+8613912345678"
    assert lead.email == "li@acme.cn"
    form = form_class({**data, "phone": "12"}, instance=lead)
    assert not form.is_valid() and set(form.errors) == {"phone"}
