"""Forms of the SLA pages (policies, business calendar, compliance period).

Forms only parse and type-check input; the rules — who may change a policy, recycling
after the follow-up interval, a calendar with working time — stay in ``reports.sla`` and
in ``reports.views.sla.business_calendar_save``.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assignment.models import Team
from reports.models import FinalAction
from reports.periods import MAX_DAYS

#: The largest value a ``PositiveSmallIntegerField`` holds (the policy columns).
SMALL_INT_MAX = 32767
#: Longest report period, as the API allows.
MAX_PERIOD_DAYS = MAX_DAYS
DEFAULT_PERIOD_DAYS = 30

WEEKDAYS = (
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
)


def _number(label) -> forms.IntegerField:
    # 0 is let through on purpose: "at least one" is the service's rule and message.
    return forms.IntegerField(
        label=label,
        min_value=0,
        max_value=SMALL_INT_MAX,
        widget=forms.NumberInput(attrs={"class": "input-num"}),
    )


class SlaPolicyForm(forms.Form):
    """One grade's SLA, saved by ``reports.sla.config.sla_policy_save``."""

    first_response_hours = _number(_("First response within (working hours)"))
    follow_up_every_days = _number(_("Follow up every (days)"))
    recycle_after_days = _number(_("Recycle after (days without follow-up)"))
    escalate_after_hours = _number(_("Tell the manager after (working hours past due)"))
    final_action = forms.ChoiceField(label=_("Then"), choices=FinalAction.choices)
    final_after_hours = _number(_("Final action after (working hours past due)"))

    FIELDS = (
        "first_response_hours",
        "follow_up_every_days",
        "recycle_after_days",
        "escalate_after_hours",
        "final_action",
        "final_after_hours",
    )

    @classmethod
    def initial_for(cls, policy) -> dict:
        return {name: getattr(policy, name) for name in cls.FIELDS}


class BusinessCalendarForm(forms.Form):
    """Working hours and days of the SLA clock (one calendar for the whole company)."""

    work_start = forms.TimeField(
        label=_("Working day starts"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    work_end = forms.TimeField(
        label=_("Working day ends"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Working weekdays"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,  # "at least one" is checked by the save function, with its message
        widget=forms.CheckboxSelectMultiple,
    )
    use_cn_holidays = forms.BooleanField(
        label=_("Follow Chinese public holidays and make-up workdays"), required=False
    )

    @classmethod
    def initial_for(cls, calendar) -> dict:
        return {
            "work_start": calendar.work_start,
            "work_end": calendar.work_end,
            "weekdays": [int(day) for day in calendar.weekdays],
            "use_cn_holidays": calendar.use_cn_holidays,
        }


class PeriodForm(forms.Form):
    """``from``/``to`` of a compliance report (default: the last 30 days) and a team.

    ``teams`` is the queryset of teams the user may pick; ``None`` hides the team filter.
    """

    from_ = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    to = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("All")
    )

    def __init__(self, data=None, *args, teams=None, team_required: bool = False, **kwargs):
        if data is not None:
            data = self._with_default_period(data)
        super().__init__(data, *args, **kwargs)
        # The query string says "from", a Python keyword: rename the field's key.
        fields = self.fields
        self.fields = {"from": fields.pop("from_"), **fields}
        # An unbound form shows the default period instead of empty date boxes.
        end = timezone.localdate()
        self.fields["from"].initial = end - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1)
        self.fields["to"].initial = end
        if teams is None:
            del self.fields["team"]
        else:
            self.fields["team"].queryset = teams
            if team_required:
                self.fields["team"].empty_label = None

    @staticmethod
    def _with_default_period(data):
        """Fill an empty ``to`` with today and an empty ``from`` with 30 days before ``to``,
        so the date boxes show the period the report covers."""
        data = data.copy()
        if not data.get("to"):
            data["to"] = timezone.localdate().isoformat()
        if not data.get("from"):
            try:
                end = dt.date.fromisoformat(str(data["to"]))
            except ValueError:
                return data  # the bad "to" gets its error from the field
            data["from"] = (end - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1)).isoformat()
        return data

    def clean(self):
        data = super().clean()
        end = data.get("to") or timezone.localdate()
        start = data.get("from") or end - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1)
        if start > end:
            raise forms.ValidationError(_("“from” is after “to”."))
        if (end - start).days > MAX_PERIOD_DAYS:
            raise forms.ValidationError(
                _("The period is too long: at most %(n)d days.") % {"n": MAX_PERIOD_DAYS}
            )
        data["from"], data["to"] = start, end
        return data

    def period(self) -> tuple[dt.date, dt.date]:
        """The valid period, or the default one when the input was wrong."""
        if self.is_valid():
            return self.cleaned_data["from"], self.cleaned_data["to"]
        end = timezone.localdate()
        return end - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1), end
