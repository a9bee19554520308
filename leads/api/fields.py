"""Serializer fields of the lead write fields, built from ``leads.lifecycle.fields``.

The API types and bounds the input; normalising, choices of unknown values and duplicate
checks stay with ``clean_lead_fields`` and the service.
"""

from __future__ import annotations

from rest_framework import serializers

from leads.lifecycle.fields import LeadField, lead_fields


def lead_write_serializer_field(field: LeadField) -> serializers.Field:
    """The serializer field of one write field of the spec."""
    if field.kind == "money":
        return serializers.DecimalField(
            max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True
        )
    if field.choices is not None:
        if field.blank_allowed:
            return serializers.ChoiceField(
                choices=field.choices.choices, required=field.required, allow_blank=True
            )
        return serializers.ChoiceField(choices=field.choices.choices, required=field.required)
    if field.required:
        return serializers.CharField(max_length=field.max_length)
    return serializers.CharField(max_length=field.max_length, required=False, allow_blank=True)


def lead_write_serializer_fields(
    names: tuple[str, ...] | None = None,
) -> dict[str, serializers.Field]:
    """Fresh serializer fields of the write fields (``names``, or all), in the spec's order.

    For a serializer's ``get_fields``: a field instance belongs to one serializer.
    """
    return {field.name: lead_write_serializer_field(field) for field in lead_fields(names)}
