"""Filter forms of the report pages.

The period rules are the API's (``reports.periods``): each form parses its fields for
the page (date inputs, select boxes, translated messages), then applies the same defaults
and checks as ``reports.api.PeriodSerializer`` (``default_period``, ``period_errors``), so
a page and the endpoint accept and refuse exactly the same periods (``from`` after ``to``,
more than ``MAX_DAYS`` days, default: the last ``DEFAULT_DAYS`` days).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assignment.models import Team
from campaigns.choices import ChannelKind
from leads.credits import MODELS
from pipeline.roles import Role
from reports.periods import EARLIEST, LATEST, default_period, in_range, period_errors
from reports.scorecards import ROLES as SCORECARD_ROLES
from targets.choices import month_of, parse_period

MODEL_LABELS = {
    "first_touch": _("First touch"),
    "last_touch": _("Last touch"),
    "linear": _("Linear"),
    "u_shaped": _("U-shaped"),
}
MODEL_HELP = {
    "first_touch": _("All credit to the campaign that brought the lead in."),
    "last_touch": _("All credit to the last campaign before the lead became an SQL."),
    "linear": _("Equal credit to every touch up to SQL."),
    "u_shaped": _("40 % to the first touch, 40 % to the last, 20 % shared by those between."),
}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class PeriodForm(forms.Form):
    """``from``, ``to`` and the online/offline ``channel_kind``."""

    #: The query parameters the form reads (those of ``PeriodSerializer`` it applies to).
    query_keys: tuple[str, ...] = ("from", "to", "channel_kind")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        date_field = {"required": False, "widget": DateInput(), "input_formats": ["%Y-%m-%d"]}
        self.fields["from"] = forms.DateField(label=_("From"), **date_field)
        self.fields["to"] = forms.DateField(label=_("To"), **date_field)
        if "channel_kind" in self.query_keys:
            self.fields["channel_kind"] = forms.ChoiceField(
                label=_("Channel kind"),
                choices=[("", _("Online and offline")), *ChannelKind.choices],
                required=False,
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        for name in ("from", "to"):
            day = cleaned.get(name)
            if day is not None and not in_range(day):
                self.add_error(
                    name,
                    _("Pick a date between %(first)s and %(last)s.")
                    % {"first": EARLIEST.isoformat(), "last": LATEST.isoformat()},
                )
        if self.errors:
            return cleaned
        start, end = default_period(cleaned.get("from"), cleaned.get("to"))
        errors = period_errors(start, end)
        if errors:
            for key, message in errors.items():
                self.add_error(key, message)
            return cleaned
        cleaned["from"], cleaned["to"] = start, end
        cleaned["model"] = cleaned.get("model") or "first_touch"
        cleaned["channel_kind"] = cleaned.get("channel_kind") or None
        return cleaned

    @property
    def period(self) -> dict[str, Any]:
        """Keyword arguments for the selectors: ``start``, ``end``, ``channel_kind``."""
        data = self.cleaned_data
        return {"start": data["from"], "end": data["to"], "channel_kind": data["channel_kind"]}


class RoiForm(PeriodForm):
    """The dashboard's filters: the period, the kind and the attribution model."""

    query_keys = ("from", "to", "channel_kind", "model")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"] = forms.ChoiceField(
            label=_("Attribution model"),
            choices=[(m, MODEL_LABELS[m]) for m in MODELS],
            required=False,
            widget=forms.HiddenInput,  # the page switches models with links
        )


class CalibrationForm(PeriodForm):
    """Grade calibration: the period, the kind and how to break the reasons down."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["by"] = forms.ChoiceField(
            label=_("Reasons by"),
            choices=[("channel", _("Channel")), ("campaign", _("Campaign"))],
            required=False,
            widget=forms.HiddenInput,  # toggled with links above the reason tables
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        cleaned["by"] = cleaned.get("by") or "channel"
        return cleaned


class ScorecardForm(PeriodForm):
    """Scorecards: the period and a role (the kind does not apply to people)."""

    query_keys = ("from", "to")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"] = forms.ChoiceField(
            label=_("Role"),
            choices=[("", _("All roles")), *[(r, Role(r).label) for r in SCORECARD_ROLES]],
            required=False,
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        cleaned["role"] = cleaned.get("role") or None
        return cleaned


class ForecastForm(forms.Form):
    """The forecast page: a month (``2026-12``) or quarter (``2026-Q4``) — the API's
    period syntax and check (``targets.choices.parse_period``) — and a team
    among those the reader may pick; a rep (``user``) comes from the drill-down links."""

    period = forms.CharField(
        label=_("Period"),
        required=False,
        max_length=7,
        help_text=_("A month like 2026-12 or a quarter like 2026-Q4."),
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), label=_("Team"), required=False)
    user = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, teams: QuerySet[Team] | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if teams is None:  # a rep picks no team
            del self.fields["team"]
            return
        team_field = cast(forms.ModelChoiceField, self.fields["team"])
        team_field.queryset = teams
        team_field.empty_label = _("All my teams")

    def clean_period(self) -> str:
        value = (self.cleaned_data.get("period") or "").strip()
        if not value:
            return month_of(timezone.localdate())
        try:
            parse_period(value)
        except ValueError:
            raise forms.ValidationError(
                _("Use a month like 2026-12 or a quarter like 2026-Q4 (years 2000–2100).")
            ) from None
        return value
