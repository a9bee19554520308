"""The "My settings" form: language, and per event how far it reaches the user."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from notifications.choices import Channel, Event, Language


class SettingsForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"),
        choices=Language.choices,
        help_text=_("Pages, emails, notifications and robot messages to you use it."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for event in Event:
            self.fields[f"channel_{event.value}"] = forms.ChoiceField(
                label=event.label, choices=Channel.choices, widget=forms.RadioSelect
            )

    def event_fields(self) -> list[forms.BoundField]:
        return [self[f"channel_{event.value}"] for event in Event]

    def channels(self) -> dict[str, str]:
        return {event.value: self.cleaned_data[f"channel_{event.value}"] for event in Event}
