"""The weekly "target at risk" notices (DESIGN §11): each at-risk target of this month and
this quarter tells its owner and their manager, in each recipient's language, once a
week per target and person (``targets.models.TargetAlert`` records what was sent).

Owners: the user of a user target (their manager: the managers of their teams), the
team's manager for a team target (their manager: the company's managers), the company's
managers for company, channel and campaign targets.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode

from assignment.models import TeamMembership
from notifications.choices import Event
from notifications.services import notify, settings_for
from pipeline.roles import Role
from reports.attainment.selectors import AT_RISK, attainment_rows
from targets.choices import RATE_METRICS, Metric, month_of, quarter_of
from targets.models import Target, TargetAlert


def week_of(day: dt.date) -> dt.date:
    """The Monday that starts ``day``'s week."""
    return day - dt.timedelta(days=day.weekday())


def _amount(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric in RATE_METRICS:
        return f"{value * 100:.0f}%"
    if value.is_integer() or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _recipients(targets: list[Target]) -> dict[int, list[int]]:
    """Per target: its owner(s) first, then their manager(s)."""
    managers = list(
        get_user_model()
        .objects.filter(groups__name=Role.MANAGER, is_active=True)
        .values_list("pk", flat=True)
    )
    user_ids = {t.user_id for t in targets if t.user_id is not None}
    bosses: dict[int, set[int]] = defaultdict(set)
    for user_id, manager_id in TeamMembership.objects.filter(
        user_id__in=user_ids, team__manager__isnull=False
    ).values_list("user_id", "team__manager_id"):
        bosses[user_id].add(manager_id)
    result = {}
    for target in targets:
        if target.user_id is not None:
            people = [target.user_id, *sorted(bosses[target.user_id])]
        elif target.team is not None:
            people = [p for p in (target.team.manager_id,) if p is not None] + managers
        else:
            people = list(managers)
        result[target.pk] = list(dict.fromkeys(people))
    return result


def targets_at_risk_notify(*, now: dt.datetime | None = None) -> int:
    """Tell the owners and managers of every at-risk target of this month and quarter,
    once per week each; answers how many notices were sent."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    week = week_of(today)
    sent = 0
    for period in (month_of(today), quarter_of(today)):
        report = attainment_rows(Target.objects.all(), period=period, now=now)
        risky = {row["target"]: row for row in report["rows"] if row["status"] == AT_RISK}
        if not risky:
            continue
        targets = list(
            Target.objects.filter(pk__in=risky).select_related(
                "user", "team", "channel", "campaign"
            )
        )
        people = _recipients(targets)
        for target in targets:
            sent += _tell(target, risky[target.pk], people[target.pk], week)
    return sent


def _tell(target: Target, row: dict[str, Any], people: list[int], week: dt.date) -> int:
    with transaction.atomic():
        new = [
            pk
            for pk in people
            if TargetAlert.objects.get_or_create(target=target, recipient_id=pk, week=week)[1]
        ]
        if not new:
            return 0
        url = f"{reverse('reports:attainment')}?{urlencode({'period': target.period})}"
        by_language: dict[str, list[int]] = defaultdict(list)
        for pk, prefs in settings_for(new).items():
            by_language[prefs.language].append(pk)
        for language, ids in by_language.items():
            with translation.override(language):
                notify(
                    event=Event.TARGET_AT_RISK,
                    recipients=ids,
                    url=url,
                    target=f"{Metric(target.metric).label} · {target.scope_label} · "
                    f"{target.period}",
                    actual=_amount(target.metric, row["actual"]),
                    goal=_amount(target.metric, row["value"]),
                    expected=_amount(target.metric, row["expected_by_now"]),
                )
        return len(new)
