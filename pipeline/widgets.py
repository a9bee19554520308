"""Form widgets shared by the pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _


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
        # One query for the chosen and the offered rows, from the field's queryset: the
        # labels are the field's (``label_from_instance``) and nothing outside its scope shows.
        wanted = [int(v) for v in value if str(v).isdigit()]
        order = [*wanted, *(obj.pk for obj in self.offered)]
        found = {obj.pk: obj for obj in field.queryset.filter(pk__in=order)} if order else {}
        rows: list[tuple[Any, Any]] = []
        if field.empty_label is not None:
            rows.append(("", field.empty_label))
        seen = set()
        for pk in order:
            obj = found.get(pk)
            if obj is not None and pk not in seen:
                seen.add(pk)
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


def search_picker(
    field: forms.ModelChoiceField,
    *,
    lookup_url: str,
    search_name: str,
    text: str,
    search: Callable[[str], Iterable[Any]],
    placeholder: str = "",
    empty_text: str = "",
    saves: bool = False,
) -> None:
    """Give ``field`` (a ``ModelChoiceField`` whose queryset is the scope validation holds
    to) a ``SearchSelect``: the chosen value and ``search(text)`` (the matches of the search
    box's ``text``, sent without the script) instead of every row of the queryset.

    ``saves``: the field belongs to a form that saves (a POST). There a submitted search
    text is a search, never a save: the field refuses it (the form comes back with the
    matches to choose from and an empty box). With the script the box has no name and is
    never sent. Without ``saves`` (a filter bar) the box keeps its text."""
    text = (text or "").strip()[:100]
    field.widget = SearchSelect(
        lookup_url=lookup_url,
        search_name=search_name,
        search_text="" if saves else text,
        offered=search(text) if text else (),
        placeholder=placeholder,
        empty_text=empty_text,
        attrs=field.widget.attrs,
    )
    field.widget.choices = field.choices
    if saves and text:
        clean = field.clean
        message = _("Choose one of the campaigns found for “%(text)s”, then save again.") % {
            "text": text
        }

        def refuse_search(value: Any) -> Any:
            clean(value)
            raise ValidationError(message, code="search")

        field.clean = refuse_search  # type: ignore[method-assign]


#: The lookups of the campaign pickers (``leads/campaign-choices/?scope=``): the lead
#: filters' campaigns, those a lead may be entered in or moved to, those a target may be
#: set on.
CAMPAIGN_SCOPES = ("filter", "lead", "target")


def campaign_search_picker(
    field: forms.ModelChoiceField,
    *,
    scope: str,
    search_name: str,
    text: str,
    search: Callable[[str], Iterable[Any]],
    saves: bool = False,
) -> None:
    """``search_picker`` worded for campaigns, asking the API's ``leads/campaign-choices/``
    in ``scope`` (one of ``CAMPAIGN_SCOPES``, the same scope as the field's queryset)."""
    url = reverse("lead-campaign-choices")
    search_picker(
        field,
        lookup_url=f"{url}?{urlencode({'scope': scope})}" if scope != "filter" else url,
        search_name=search_name,
        text=text,
        search=search,
        placeholder=_("Type to search campaigns…"),
        empty_text=_("No campaign matches."),
        saves=saves,
    )
