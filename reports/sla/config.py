"""SLA configuration: the business calendar and the per-grade policies, read through a
short cache (every assignment reads them) and saved by managers."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from leads.choices import GRADES
from pipeline.errors import ServiceError
from pipeline.roles import Role, has_role
from reports.calendar import (
    Calendar,
    chinese_days,
)
from reports.models import BusinessCalendar, FinalAction, SlaPolicy

_CONFIG_KEY = "leadloop:sla-config:v1"
_CONFIG_SECONDS = 60


def config() -> dict[str, Any]:
    """Calendar and first-response hours, cached briefly: every assignment reads them.

    Saving a policy or the calendar through the services forgets the cache at once; an
    edit made elsewhere (the admin) applies within a minute.
    """
    config: dict[str, Any] | None = cache.get(_CONFIG_KEY)
    if config is None:
        row = BusinessCalendar.current()
        config = {
            "calendar": (
                row.work_start,
                row.work_end,
                sorted(int(d) for d in row.weekdays),
                row.use_cn_holidays,
            ),
            "first_response": {p.grade: p.first_response_hours for p in SlaPolicy.objects.all()},
        }
        cache.set(_CONFIG_KEY, config, _CONFIG_SECONDS)
    return config


def forget_config() -> None:
    transaction.on_commit(lambda: cache.delete(_CONFIG_KEY))


def load_calendar(*, around: dt.date | None = None) -> Calendar:
    start, end, weekdays, use_cn_holidays = config()["calendar"]
    year = (around or timezone.localdate()).year
    holidays, workdays = (
        chinese_days((year - 1, year, year + 1)) if use_cn_holidays else (frozenset(), frozenset())
    )
    return Calendar(
        start=start,
        end=end,
        weekdays=frozenset(weekdays),
        holidays=holidays,
        workdays=workdays,
        tz=ZoneInfo(settings.TIME_ZONE),
    )


def policies() -> dict[str, SlaPolicy]:
    return {p.grade: p for p in SlaPolicy.objects.all()}


def policy_for(grade: str) -> SlaPolicy | None:
    return SlaPolicy.objects.filter(grade=grade or "D").first()


def sla_policy_save(*, actor: User, grade: str, **values: Any) -> SlaPolicy:
    """Managers and sales managers set the SLA of a grade."""
    if not has_role(actor, Role.MANAGER, Role.SALES_MANAGER):
        raise ServiceError(_("Only managers change SLA policies."), code="forbidden")
    if grade not in GRADES:
        raise ServiceError(
            _("“%(grade)s” is not a grade; use A, B, C or D.") % {"grade": grade}, field="grade"
        )
    policy = SlaPolicy.objects.filter(grade=grade).first() or SlaPolicy(grade=grade)
    for key, value in values.items():
        setattr(policy, key, value)
    checks = [
        (
            "first_response_hours",
            policy.first_response_hours >= 1,
            _("The first response needs at least one working hour."),
        ),
        (
            "follow_up_every_days",
            policy.follow_up_every_days >= 1,
            _("Follow-ups need an interval of at least one day."),
        ),
        (
            "recycle_after_days",
            policy.recycle_after_days >= policy.follow_up_every_days,
            _("Recycling must come after the follow-up interval."),
        ),
        (
            "final_after_hours",
            policy.final_after_hours >= policy.escalate_after_hours,
            _("The final action must come after telling the manager."),
        ),
        ("final_action", policy.final_action in FinalAction.values, _("Unknown final action.")),
    ]
    for field_name, ok, message in checks:
        if not ok:
            raise ServiceError(message, field=field_name)
    policy.save()
    forget_config()
    return policy


@transaction.atomic
def business_calendar_save(
    *,
    actor: User,
    work_start: dt.time,
    work_end: dt.time,
    weekdays: list[int],
    use_cn_holidays: bool,
) -> BusinessCalendar:
    """Managers set the working hours and days of every SLA clock.

    The single row is re-read under ``select_for_update`` so two saves do not interleave.
    Clocks already running (``Lead.response_due_at``) keep the due time they were given.
    """
    if not has_role(actor, Role.MANAGER):
        raise ServiceError(_("Only managers change the business calendar."), code="forbidden")
    if work_start is None or work_end is None or work_end <= work_start:
        raise ServiceError(_("The working day must end after it starts."), field="work_end")
    days = sorted({int(day) for day in weekdays or ()})
    if not days:
        raise ServiceError(_("Choose at least one working weekday."), field="weekdays")
    if any(day not in range(7) for day in days):
        raise ServiceError(_("Weekdays are 0 (Monday) to 6 (Sunday)."), field="weekdays")
    BusinessCalendar.current()  # make sure the row exists before locking it
    row = BusinessCalendar.objects.select_for_update().get(pk=1)
    row.work_start, row.work_end = work_start, work_end
    row.weekdays, row.use_cn_holidays = days, bool(use_cn_holidays)
    row.save()
    forget_config()
    return row
