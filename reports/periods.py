"""Report periods: the one home of what a report period is and which ones are allowed.

Every period report (pages, endpoints, snapshots, the SLA figures) is about the days
[from, to] in the business time zone. This module holds the bounds of a period as
datetimes, the quick periods the pages offer, the default period and the validation the
API (``reports.api.PeriodSerializer``) and the page forms (``reports.forms.reports``) share, so a
page and an endpoint accept and refuse exactly the same periods.

Pure helpers: nothing here imports another module of the reports app.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

#: Beyond these the calendar arithmetic of the reports overflows; nobody means them.
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)
#: The longest period a report may cover, in days (three years and a day).
MAX_DAYS = 3 * 366 + 1
#: Without dates, a report covers the last ``DEFAULT_DAYS`` days, today included.
DEFAULT_DAYS = 90


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, end + 1 day 00:00) in the business time zone."""
    tz = timezone.get_current_timezone()
    low = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    high = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return low, high


def period_presets(today: dt.date) -> list[tuple[Any, dt.date, dt.date]]:
    """The quick periods the report pages offer, as (label, from, to); all end today.

    The scheduled snapshot refresh (``reports.snapshots.standard_report_keys``) computes
    exactly these periods.
    """
    quarter = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return [
        (gettext_lazy("This month"), today.replace(day=1), today),
        (gettext_lazy("Last 30 days"), today - dt.timedelta(days=29), today),
        (gettext_lazy("Last 90 days"), today - dt.timedelta(days=89), today),
        (gettext_lazy("This quarter"), quarter, today),
        (gettext_lazy("This year"), today.replace(month=1, day=1), today),
    ]


def default_period(
    start: dt.date | None, end: dt.date | None, *, today: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """The period asked for, with the defaults filled in: ``to`` today, ``from``
    ``DEFAULT_DAYS - 1`` days before ``to``."""
    end = end or today or timezone.localdate()
    start = start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    return start, end


def in_range(day: dt.date) -> bool:
    """Whether a report may start or end on ``day`` (``EARLIEST`` … ``LATEST``)."""
    return EARLIEST <= day <= LATEST


def period_errors(start: dt.date, end: dt.date) -> dict[str, str]:
    """Why the reports refuse the period [start, end], as ``{field: message}`` for the
    first problem found (``from``/``to``); empty when it is allowed."""
    for name, value in (("from", start), ("to", end)):
        if not in_range(value):
            return {name: _("Use a date between 2000-01-01 and 2100-12-31.")}
    if start > end:
        return {"from": _("“from” is after “to”.")}
    if (end - start).days > MAX_DAYS:
        return {"to": _("The period is too long: at most %(n)d days.") % {"n": MAX_DAYS}}
    return {}
