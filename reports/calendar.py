"""Working time over a business calendar: pure functions, no database.

A day is a working day when it is a make-up workday (调休上班), or it is one of the
working weekdays and not a public holiday. Working hours are [start, end) local time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.utils.translation import gettext, ngettext


@dataclass(frozen=True)
class Calendar:
    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(18, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    workdays: frozenset[dt.date] = field(default_factory=frozenset)
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() in self.weekdays and day not in self.holidays

    @property
    def hours_per_day(self) -> float:
        """The length of one working day in hours (9 for 09:00–18:00)."""
        start = dt.datetime.combine(dt.date(2000, 1, 1), self.start)
        return max(
            0.0, (dt.datetime.combine(start.date(), self.end) - start).total_seconds() / 3600
        )

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        return (
            dt.datetime.combine(day, self.start, tzinfo=self.tz),
            dt.datetime.combine(day, self.end, tzinfo=self.tz),
        )


@lru_cache(maxsize=64)
def chinese_days(years: tuple[int, ...]) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """Public holidays and make-up workdays of mainland China (python-holidays)."""
    import holidays

    calendar = holidays.country_holidays("CN", years=list(years))  # holidays.China, typed
    return frozenset(calendar.keys()), frozenset(calendar.weekend_workdays)


def add_working_hours(calendar: Calendar, start: dt.datetime, hours: float) -> dt.datetime:
    """The instant ``hours`` working hours after ``start``."""
    remaining = dt.timedelta(hours=hours)
    moment = start.astimezone(calendar.tz)
    day = moment.date()
    for _ in range(3700):  # ten years of days: a calendar with no working day ends here
        if calendar.is_working_day(day):
            open_at, close_at = calendar._window(day)
            begin = max(moment, open_at)
            if begin < close_at:
                available = close_at - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += dt.timedelta(days=1)
        moment = dt.datetime.combine(day, dt.time.min, tzinfo=calendar.tz)
    raise ValueError("The business calendar has no working time.")


def working_hours_between(calendar: Calendar, start: dt.datetime, end: dt.datetime) -> float:
    """Working hours from ``start`` to ``end`` (0 if ``end`` is not after ``start``)."""
    if end <= start:
        return 0.0
    start, end = start.astimezone(calendar.tz), end.astimezone(calendar.tz)
    total = dt.timedelta()
    day = start.date()
    while day <= end.date():
        if calendar.is_working_day(day):
            open_at, close_at = calendar._window(day)
            begin, finish = max(start, open_at), min(end, close_at)
            if finish > begin:
                total += finish - begin
        day += dt.timedelta(days=1)
    return total.total_seconds() / 3600


def subtract_working_hours(calendar: Calendar, end: dt.datetime, hours: float) -> dt.datetime:
    """The latest instant ``start`` with ``add_working_hours(start, hours) <= end``.

    So for any instant ``x``: ``add_working_hours(x, hours) <= end`` exactly when
    ``x <= subtract_working_hours(end, hours)``. The SLA scan turns "due plus N working
    hours has passed" into one comparison per grade this way, in SQL.
    """
    remaining = dt.timedelta(hours=hours)
    moment = end.astimezone(calendar.tz)
    day = moment.date()
    if not remaining and calendar.is_working_day(day):
        open_at, close_at = calendar._window(day)
        if open_at <= moment < close_at:
            return moment
    for _ in range(3700):
        if calendar.is_working_day(day):
            open_at, close_at = calendar._window(day)
            finish = min(moment, close_at)
            if finish > open_at:
                available = finish - open_at
                if remaining <= available:
                    if not remaining and finish == close_at:
                        # "zero hours after the close" is the next opening: just before it
                        return close_at - dt.timedelta(microseconds=1)
                    return finish - remaining
                remaining -= available
        day -= dt.timedelta(days=1)
        moment = dt.datetime.combine(day, dt.time.max, tzinfo=calendar.tz)
    raise ValueError("The business calendar has no working time.")


class WorkingTimeUntil:
    """Working time from many starts to one ``end`` (a batch assigned at one instant):
    the same figures as ``working_hours_between`` / ``working_seconds_between``, with the
    calendar walked once for the batch instead of once per start.

    Per day, the working time from that day's midnight to ``end`` is kept as it is first
    needed (each day further back adds one day to the walk), so a start costs its own
    day's window plus a lookup.
    """

    def __init__(self, calendar: Calendar, end: dt.datetime) -> None:
        self.calendar = calendar
        self.end = end.astimezone(calendar.tz)
        self._end_day = self.end.date()
        #: day → working time from that day's midnight to ``end`` (days up to end's day)
        self._from_day: dict[dt.date, dt.timedelta] = {
            self._end_day: self._within(self._end_day, None)
        }
        self._earliest = self._end_day

    def _within(self, day: dt.date, start: dt.datetime | None) -> dt.timedelta:
        """Working time of ``day`` from ``start`` (None: its midnight) up to ``end``."""
        if not self.calendar.is_working_day(day):
            return dt.timedelta()
        open_at, close_at = self.calendar._window(day)
        begin = open_at if start is None else max(start, open_at)
        finish = min(self.end, close_at)
        return finish - begin if finish > begin else dt.timedelta()

    def _since_midnight(self, day: dt.date) -> dt.timedelta:
        while self._earliest > day:
            before = self._earliest - dt.timedelta(days=1)
            self._from_day[before] = self._within(before, None) + self._from_day[self._earliest]
            self._earliest = before
        return self._from_day[day]

    def hours(self, start: dt.datetime) -> float:
        """``working_hours_between(calendar, start, end)``."""
        if self.end <= start:
            return 0.0
        start = start.astimezone(self.calendar.tz)
        day = start.date()
        total = self._within(day, start)
        if day < self._end_day:
            total += self._since_midnight(day + dt.timedelta(days=1))
        return total.total_seconds() / 3600

    def seconds(self, start: dt.datetime) -> int:
        """``working_seconds_between(calendar, start, end)``."""
        return round(self.hours(start) * 3600)


def working_seconds_between(calendar: Calendar, start: dt.datetime, end: dt.datetime) -> int:
    """Whole working seconds from ``start`` to ``end`` (stored on assignments)."""
    return round(working_hours_between(calendar, start, end) * 3600)


def working_duration_text(hours: float, calendar: Calendar) -> str:
    """Working time as people read it: "2h 10m" within a working day, else working days of
    this calendar and hours ("3 working days 4 h"), a working day being the calendar's
    working hours (never hours / 24)."""
    minutes = max(0, round(hours * 60))
    per_day = round(calendar.hours_per_day * 60)
    if per_day and minutes >= per_day:
        days, rest = divmod(minutes, per_day)
        h = round(rest / 60)
        if h * 60 >= per_day:  # rounding up to a whole day
            days, h = days + 1, 0
        if h:
            return ngettext("%(d)d working day %(h)d h", "%(d)d working days %(h)d h", days) % {
                "d": days,
                "h": h,
            }
        return ngettext("%(d)d working day", "%(d)d working days", days) % {"d": days}
    h, m = divmod(minutes, 60)
    if h:
        return gettext("%(h)dh %(m)dm") % {"h": h, "m": m} if m else gettext("%(h)dh") % {"h": h}
    return gettext("%(m)dm") % {"m": m}
