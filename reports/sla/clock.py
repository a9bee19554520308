"""The SLA clock: when a first response is due, and working time between two instants."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from reports.calendar import (
    Calendar,
    WorkingTimeUntil,
    add_working_hours,
    working_seconds_between,
)
from reports.sla.config import config, load_calendar


def response_due(
    *, grade: str, assigned_at: dt.datetime, calendar: Calendar | None = None
) -> dt.datetime | None:
    """When the first response is due for a lead of ``grade`` assigned at ``assigned_at``."""
    hours = config()["first_response"].get(grade or "D")
    if hours is None:
        return None
    return add_working_hours(
        calendar or load_calendar(around=assigned_at.date()), assigned_at, hours
    )


def working_seconds(start: dt.datetime, end: dt.datetime) -> int:
    """Working seconds from ``start`` to ``end`` on the business calendar (0 if not after)."""
    return working_seconds_between(load_calendar(around=timezone.localdate(end)), start, end)


class DueClock:
    """The SLA clock for a set of leads assigned at one instant ``at`` (a bulk
    assignment): ``response_due`` and ``working_seconds(start, at)`` with the same answers,
    the configuration read and the calendar walked once for the set, not once per lead."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at
        self._hours: dict[str, float | None] = dict(config()["first_response"])
        self._due_calendar = load_calendar(around=at.date())  # as response_due loads it
        # as working_seconds loads it
        self._since = WorkingTimeUntil(load_calendar(around=timezone.localdate(at)), at)
        self._due: dict[str, dt.datetime | None] = {}

    def response_due(self, grade: str) -> dt.datetime | None:
        """``response_due(grade=grade, assigned_at=at)``: one walk per grade."""
        grade = grade or "D"
        if grade not in self._due:
            hours = self._hours.get(grade)
            self._due[grade] = (
                None if hours is None else add_working_hours(self._due_calendar, self.at, hours)
            )
        return self._due[grade]

    def working_seconds_since(self, start: dt.datetime) -> int:
        """``working_seconds(start, at)``."""
        return self._since.seconds(start)
