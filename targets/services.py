"""Targets: create, change, delete and copy a period's targets, within the writer's scope
(``targets.selectors``). Every write is here; pages, the API and the XLSX import call it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from assignment.models import Team
from campaigns.models import Campaign, Channel
from pipeline.errors import ServiceError
from targets.choices import ALLOWED_SCOPES, RATE_METRICS, Metric, parse_period, previous_period
from targets.models import Target
from targets.selectors import may_write, may_write_scope, writable_filter

__all__ = [
    "copy_last_period",
    "may_write",
    "scope_label",
    "target_delete",
    "target_save",
    "target_set_value",
]


def _scope_name(
    user: User | None, team: Team | None, channel: Channel | None, campaign: Campaign | None
) -> str:
    given = [
        name
        for name, value in (
            ("user", user),
            ("team", team),
            ("channel", channel),
            ("campaign", campaign),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise ServiceError(_("Give at most one scope: a user, a team, a channel or a campaign."))
    return given[0] if given else "company"


def _clean_value(metric: str, value: Any) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ServiceError(_("Enter a number."), field="value") from None
    if not number.is_finite() or number < 0:
        raise ServiceError(_("Enter a number of 0 or more."), field="value")
    if metric in RATE_METRICS and number > 1:
        raise ServiceError(_("A rate is a fraction between 0 and 1 (0.8 = 80%)."), field="value")
    if number >= Decimal("1e10"):
        raise ServiceError(_("The number is too large."), field="value")
    return number.quantize(Decimal("0.0001"))


@transaction.atomic
def target_save(
    *,
    actor: User,
    target: Target | None = None,
    period: str,
    metric: str,
    value: Any,
    user: User | None = None,
    team: Team | None = None,
    channel: Channel | None = None,
    campaign: Campaign | None = None,
) -> Target:
    """Create ``target`` (None) or change it; refused outside the actor's scope (403), for
    a bad period, metric, scope or value (400) and for a duplicate (409)."""
    if target is not None and not may_write(actor, target):
        raise ServiceError(_("You may not change this target."), code="forbidden")
    try:
        parse_period(period)
    except ValueError as error:
        raise ServiceError(str(error), field="period") from None
    if metric not in Metric.values:
        raise ServiceError(_("Unknown metric."), field="metric")
    scope = _scope_name(user, team, channel, campaign)
    if scope not in ALLOWED_SCOPES[metric]:
        raise ServiceError(
            _("%(metric)s cannot have a %(scope)s target.")
            % {"metric": Metric(metric).label, "scope": scope_label(scope)},
            field="metric",
        )
    number = _clean_value(metric, value)
    if not may_write_scope(
        actor,
        user_id=user.pk if user else None,
        team_id=team.pk if team else None,
        channel_id=channel.pk if channel else None,
        campaign_id=campaign.pk if campaign else None,
    ):
        raise ServiceError(_("You may not set targets for this scope."), code="forbidden")
    target = target or Target(created_by=actor)
    target.period, target.metric, target.value = period, metric, number
    target.user, target.team, target.channel, target.campaign = user, team, channel, campaign
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:
        raise ServiceError(
            _("There is already a target for this period, metric and scope."), code="conflict"
        ) from None
    return target


def scope_label(scope: str) -> str:
    return {
        "company": _("company"),
        "user": _("user"),
        "team": _("team"),
        "channel": _("channel"),
        "campaign": _("campaign"),
    }[scope]


@transaction.atomic
def target_set_value(*, actor: User, target: Target, value: Any) -> Target:
    """Change only the value (the inline edit of the targets page)."""
    return target_save(
        actor=actor,
        target=target,
        period=target.period,
        metric=target.metric,
        value=value,
        user=target.user,
        team=target.team,
        channel=target.channel,
        campaign=target.campaign,
    )


@transaction.atomic
def target_delete(*, actor: User, target: Target) -> None:
    if not may_write(actor, target):
        raise ServiceError(_("You may not change this target."), code="forbidden")
    target.delete()


@transaction.atomic
def copy_last_period(*, actor: User, period: str) -> dict[str, int]:
    """Copy the previous period's targets that ``actor`` may write into ``period``, where
    that period has none yet for the same metric and scope. Answers ``copied`` and
    ``skipped`` (already set)."""
    try:
        start, end = parse_period(period)
    except ValueError as error:
        raise ServiceError(str(error), field="period") from None
    source = Target.objects.filter(writable_filter(actor), period=previous_period(period))
    existing = {
        (t.metric, t.user_id, t.team_id, t.channel_id, t.campaign_id)
        for t in Target.objects.filter(period=period)
    }
    new, skipped = [], 0
    for old in source:
        key = (old.metric, old.user_id, old.team_id, old.channel_id, old.campaign_id)
        if key in existing:
            skipped += 1
            continue
        new.append(
            Target(
                period=period,
                start=start,
                end=end,
                metric=old.metric,
                user_id=old.user_id,
                team_id=old.team_id,
                channel_id=old.channel_id,
                campaign_id=old.campaign_id,
                value=old.value,
                created_by=actor,
            )
        )
    Target.objects.bulk_create(new)
    return {"copied": len(new), "skipped": skipped}
