"""The SLA clock: when a first response is due, and working time between two instants."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from reports.calendar import (
    Calendar,
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
