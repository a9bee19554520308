"""``{{ user|display_name }}``: a person's name as ``pipeline.people.display_name`` writes it."""

from __future__ import annotations

from django import template

from pipeline import people

register = template.Library()


@register.filter
def display_name(user) -> str:
    return people.display_name(user)
