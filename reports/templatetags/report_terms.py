"""Definitions of report figures on the pages (``reports.definitions.DEFINITIONS``):
``{% define "cohort_revenue" %}`` shows one definition's short label with the longer text
behind an accessible ``<details>`` (no JavaScript); ``{% definitions "cohort" "cost" %}``
lists several under one "How these figures are counted" disclosure;
``{% definition_text "key" %}`` gives the long text (for a ``title``)."""

from __future__ import annotations

from typing import Any

from django import template

from reports.definitions import DEFINITIONS, Definition

register = template.Library()


def _term(key: str | Definition) -> Definition:
    return key if isinstance(key, Definition) else DEFINITIONS[key]


@register.inclusion_tag("reports/_definition.html")
def define(key: str | Definition) -> dict[str, Any]:
    return {"term": _term(key)}


@register.inclusion_tag("reports/_definitions.html")
def definitions(*keys: str | Definition) -> dict[str, Any]:
    return {"terms": [_term(key) for key in keys]}


@register.simple_tag
def definition_text(key: str) -> str:
    return str(DEFINITIONS[key].text)
