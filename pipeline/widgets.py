"""Form widgets shared by the pages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.html import format_html


class SearchSelect(forms.Select):
    """A drop-down over a list too long to render (thousands of campaigns): it offers only
    its blank option, the chosen one, and ``offered`` (the matches of the search box's text,
    found by the view), never the field's whole queryset. A search box named
    ``search_name`` sits before it.

    With the script (``static/js/app.js``, ``select[data-lookup]``) the options follow the
    box as the person types, from the JSON endpoint ``lookup_url`` (``?q=``). Without it
    the box is an ordinary field: submitting the form searches on the server and the page
    comes back with the matches to choose from. Either way the chosen value stays selected
    and named after a reload, and the field (a ``ModelChoiceField``) still refuses any
    value outside its queryset."""

    def __init__(
        self,
        *,
        lookup_url: str,
        search_name: str,
        search_text: str = "",
        offered: Iterable[Any] = (),
        placeholder: str = "",
        empty_text: str = "",
        attrs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(attrs)
        self.lookup_url = lookup_url
        self.search_name = search_name
        self.search_text = search_text
        self.offered = list(offered)
        self.placeholder = placeholder
        self.empty_text = empty_text

    def optgroups(self, name, value, attrs=None):
        field = self.choices.field  # a ModelChoiceIterator: the field and its queryset
        wanted = [v for v in value if str(v).isdigit()]
        chosen = list(field.queryset.filter(pk__in=wanted)) if wanted else []
        rows: list[tuple[Any, Any]] = []
        if field.empty_label is not None:
            rows.append(("", field.empty_label))
        seen = set()
        for obj in [*chosen, *self.offered]:
            if obj.pk not in seen:
                seen.add(obj.pk)
                rows.append((field.prepare_value(obj), field.label_from_instance(obj)))
        groups = []
        for index, (option_value, label) in enumerate(rows):
            selected = str(option_value) in value
            option = self.create_option(name, option_value, label, selected, index, attrs=attrs)
            groups.append((None, [option], index))
        return groups

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget_attrs = context["widget"]["attrs"]
        widget_attrs["data-lookup"] = self.lookup_url
        widget_attrs["data-lookup-box"] = f"{widget_attrs.get('id', name)}_search"
        if self.empty_text:
            widget_attrs["data-lookup-empty"] = str(self.empty_text)
        return context

    def render(self, name, value, attrs=None, renderer=None):
        select = super().render(name, value, attrs, renderer)
        box_id = f"{(attrs or {}).get('id', name)}_search"
        box = format_html(
            '<input type="search" name="{}" id="{}" value="{}" class="select-filter input-sm"'
            ' placeholder="{}" aria-label="{}" autocomplete="off" data-select-filter>',
            self.search_name,
            box_id,
            self.search_text,
            self.placeholder,
            self.placeholder,
        )
        return format_html("{}{}", box, select)
