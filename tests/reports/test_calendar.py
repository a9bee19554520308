"""Working time over the business calendar (pure)."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from reports.calendar import (
    Calendar,
    WorkingTimeUntil,
    add_working_hours,
    chinese_days,
    working_hours_between,
    working_seconds_between,
)

SH = ZoneInfo("Asia/Shanghai")
holidays, workdays = chinese_days((2025, 2026, 2027))
CAL = Calendar(holidays=holidays, workdays=workdays, tz=SH)


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def test_within_one_day():
    assert add_working_hours(CAL, at(2026, 11, 25, 10, 0), 4) == at(2026, 11, 25, 14, 0)


def test_overflows_into_next_working_day():
    assert add_working_hours(CAL, at(2026, 11, 25, 16, 0), 4) == at(2026, 11, 26, 11, 0)


def test_friday_evening_lands_on_monday():
    assert add_working_hours(CAL, at(2026, 11, 27, 20, 0), 2) == at(2026, 11, 30, 11, 0)


def test_national_day_holiday_is_skipped_and_makeup_saturday_counts():
    # 2026-09-30 (Wed) 17:00 + 2h: Oct 1–7 are holidays, Oct 8 (Thu) is the next working day.
    assert add_working_hours(CAL, at(2026, 9, 30, 17, 0), 2) == at(2026, 10, 8, 10, 0)
    # Saturday 2026-10-10 is a make-up workday (调休上班).
    assert CAL.is_working_day(dt.date(2026, 10, 10))
    assert not CAL.is_working_day(dt.date(2026, 10, 11))


def test_hours_between_skips_nights_and_weekends():
    assert working_hours_between(CAL, at(2026, 11, 27, 17, 0), at(2026, 11, 30, 10, 0)) == 2.0
    assert working_hours_between(CAL, at(2026, 11, 30, 10, 0), at(2026, 11, 27, 10, 0)) == 0.0


def test_without_holidays_national_day_is_a_working_day():
    plain = Calendar(tz=SH)
    assert add_working_hours(plain, at(2026, 9, 30, 17, 0), 2) == at(2026, 10, 1, 10, 0)


def test_working_durations_are_shown_in_working_days_of_the_calendar():
    from django.utils import translation

    from reports.calendar import working_duration_text

    nine = Calendar()  # 09:00–18:00: a working day is 9 hours
    assert nine.hours_per_day == 9
    with translation.override("en"):
        assert working_duration_text(2 + 10 / 60, nine) == "2h 10m"
        assert working_duration_text(8.5, nine) == "8h 30m"
        assert working_duration_text(9, nine) == "1 working day"
        assert working_duration_text(3 * 9 + 4, nine) == "3 working days 4 h"
        # 297 calendar days ≈ 212 working days; never working hours / 24 ("74d 21h").
        assert working_duration_text(1797, nine) == "199 working days 6 h"
    with translation.override("zh-hans"):
        assert working_duration_text(3 * 9 + 4, nine) == "3个工作日4小时"
        assert working_duration_text(9, nine) == "1个工作日"
    eight = Calendar(start=dt.time(9, 0), end=dt.time(17, 0))
    with translation.override("en"):
        assert working_duration_text(20, eight) == "2 working days 4 h"


@pytest.mark.parametrize(
    "end",
    [
        at(2026, 10, 8, 10, 30),  # just after National Day, a make-up workday week
        at(2026, 11, 28, 12, 0),  # a Saturday
        at(2026, 12, 2, 17, 59, 59, 999999),
        at(2027, 1, 4, 9, 0),  # the opening instant, after New Year
    ],
)
def test_working_time_until_one_end_equals_the_walk_for_every_start(end):
    """The batch helper gives ``working_hours_between``'s figures to the microsecond for
    starts on every kind of day and hour, in any order, before and after ``end``."""
    rnd = random.Random(end.toordinal())
    until = WorkingTimeUntil(CAL, end)
    starts = [end - dt.timedelta(seconds=rnd.randint(-7200, 120 * 86400)) for _ in range(400)]
    starts += [end, end - dt.timedelta(microseconds=1), at(2026, 10, 1, 0, 0)]
    starts += [s.astimezone(ZoneInfo("UTC")) for s in starts[:20]]  # other zones alike
    for start in starts:
        assert until.hours(start) == working_hours_between(CAL, start, end), start
        assert until.seconds(start) == working_seconds_between(CAL, start, end), start
