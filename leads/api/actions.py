"""API request bodies of the lead actions, built from the action registry's input spec
(``leads.actions``): they describe the body in the OpenAPI schema; parsing is the
registry's, so the API and the pages accept exactly the same input."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers

from leads.actions import Param, get_action


def _serializer_field(param: Param) -> serializers.Field:
    optional: dict[str, Any] = {"required": param.required, "help_text": str(param.help_text)}
    kind = param.kind
    if kind in ("text", "long_text"):
        return serializers.CharField(
            max_length=param.max_length, allow_blank=not param.required, **optional
        )
    if kind in ("choice", "grade", "decision"):
        return serializers.ChoiceField(
            choices=param.choice_list(), allow_blank=not param.required, **optional
        )
    if kind == "money":
        return serializers.DecimalField(
            max_digits=14,
            decimal_places=2,
            min_value=Decimal("0.01") if param.required else Decimal("0"),
            allow_null=not param.required,
            **optional,
        )
    if kind == "date":
        return serializers.DateField(**optional)
    if kind == "datetime":
        return serializers.DateTimeField(allow_null=True, **optional)
    if kind == "user":
        return serializers.PrimaryKeyRelatedField(
            queryset=get_user_model().objects.all(), allow_null=True, **optional
        )
    raise ValueError(f"Unknown parameter kind {kind!r}")


@functools.cache
def action_serializer(name: str) -> type[serializers.Serializer]:
    """The request body of action ``name`` for the schema (``<Name>ActionSerializer``)."""
    action = get_action(name)
    fields = {param.name: _serializer_field(param) for param in action.params}
    class_name = "".join(part.title() for part in name.split("_")) + "ActionSerializer"
    return type(class_name, (serializers.Serializer,), fields)


def action_schema(name: str, *, response: Any, summary: str = ""):
    """``extend_schema`` of an action endpoint: its body, and the refusals in order."""
    return extend_schema(
        summary=summary or str(get_action(name).hint),
        request=action_serializer(name),
        responses={
            200: response,
            400: OpenApiResponse(description="Bad body: field errors and a `detail`."),
            403: OpenApiResponse(description="This user may not run the action."),
            404: OpenApiResponse(description="Lead not visible to this user."),
            409: OpenApiResponse(description="The lead is in the wrong stage for the action."),
        },
    )
