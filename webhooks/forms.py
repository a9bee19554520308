"""The webhook form of the administrators' pages (rules stay in ``webhooks.services``)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from assignment.models import Team
from webhooks.choices import Event, WebhookKind


class WebhookForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("name of a thing", "Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=WebhookKind.choices)
    url = forms.CharField(
        label=_("Webhook URL"),
        max_length=1000,
        help_text=_(
            "The robot's address, e.g. https://oapi.dingtalk.com/robot/send?access_token=…"
        ),
    )
    secret = forms.CharField(
        label=_("Secret"),
        max_length=200,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_(
            "DingTalk: the SEC… signing secret; Feishu: the signature secret; generic: the "
            "HMAC key (required). WeCom has none. Leave empty to keep the stored secret."
        ),
    )
    clear_secret = forms.BooleanField(label=_("Remove the stored secret"), required=False)
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=Event.choices, widget=forms.CheckboxSelectMultiple
    )
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label=_("All teams"),
        help_text=_("With a team, only the events of that team are sent."),
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def secret_value(self) -> str | None:
        """The secret to store: a new one, "" to remove it, or ``None`` to keep it."""
        if self.cleaned_data.get("clear_secret"):
            return ""
        return self.cleaned_data.get("secret") or None
