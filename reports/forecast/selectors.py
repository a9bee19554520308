"""The forecast's reads: who the reader may see, the deals of the period grouped by owner
and stage (one query), the stage outcomes of the last ``WIN_RATE_DAYS`` days (one query);
the arithmetic is ``reports.forecast.engine``.

Always live, never a snapshot: both reads are one aggregate each over the leads table,
whatever the size of the period (``tests/benchmarks/bench_forecast.py`` times them at a
million leads against the dashboard's funnel and a hand-written SQL query).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from assignment.models import Team, TeamMembership
from assignment.selectors import rep_ids_visible_to, teams_visible_to
from leads.choices import Stage
from leads.models import Lead
from pipeline.errors import ServiceError
from pipeline.people import display_name
from pipeline.roles import SALES_ROLES, Role, has_role
from reports.definitions import DISQUALIFIED, OPPORTUNITY, SQL, lost_between, won_between
from reports.forecast.engine import (
    COMMIT_WIN_RATE,
    OPEN_DEAL_STAGES,
    WIN_RATE_DAYS,
    Forecast,
    OpenDeals,
    StageOutcomes,
    add_up,
    forecast,
    gap,
    win_rates,
)
from reports.periods import period_bounds
from targets.choices import Metric, parse_period
from targets.models import Target

#: An open deal: open now in an open-deal stage, with an expected amount.
OPEN_DEAL = Q(stage__in=OPEN_DEAL_STAGES, expected_amount__isnull=False)


def is_current(start: dt.date, end: dt.date, *, today: dt.date | None = None) -> bool:
    """Whether the period holds today: the one period undated open deals count in."""
    today = today or timezone.localdate()
    return start <= today <= end


def open_deals_of(start: dt.date, end: dt.date, *, current: bool) -> Q:
    """The open deals of a period: expected to close in [start, end], and — in the
    current period only — those without an expected close date."""
    dated = Q(expected_close_date__gte=start, expected_close_date__lte=end)
    return OPEN_DEAL & ((dated | Q(expected_close_date__isnull=True)) if current else dated)


#: The leads that reached each open-deal stage.
REACHED: dict[str, Q] = {Stage.SQL: SQL, Stage.OPPORTUNITY: OPPORTUNITY}
#: Who sees every rep, every team and the company's forecast.
SEE_ALL = (Role.MANAGER,)


def revenue_targets(period: str) -> dict[tuple[str, int | None], Decimal]:
    """The period's revenue targets (``targets.Target``, metric ``revenue``) of reps, teams
    and the company, in one query: ``("user", id)``, ``("team", id)`` and
    ``("company", None)`` → value. Channel and campaign targets are not a forecast's."""
    found: dict[tuple[str, int | None], Decimal] = {}
    for user_id, team_id, value in Target.objects.filter(
        period=period, metric=Metric.REVENUE, channel__isnull=True, campaign__isnull=True
    ).values_list("user_id", "team_id", "value"):
        if user_id is not None:
            found[("user", user_id)] = value
        elif team_id is not None:
            found[("team", team_id)] = value
        else:
            found[("company", None)] = value
    return found


@dataclass(frozen=True)
class ForecastScope:
    """Whose forecast a reader gets: ``user_ids`` (``None``: everyone's), the teams whose
    totals they see, and whether the company total is theirs to see."""

    user_ids: frozenset[int] | None
    teams: tuple[Team, ...] = field(default=())
    company: bool = False


def forecast_scope(
    user: User, *, team: Team | None = None, rep: int | None = None
) -> ForecastScope:
    """The reader's scope, narrowed to one team or one rep when asked: managers see every
    rep, team and the company; a sales manager themself, their teams and their members;
    a rep only themself. Asking for a team or rep outside it is refused (``forbidden``)."""
    visible = rep_ids_visible_to(user, see_all=SEE_ALL)
    if team is not None:
        if not (has_role(user, *SEE_ALL) or team.manager_id == user.pk):
            raise ServiceError(_("You may read only the teams you manage."), code="forbidden")
        members = frozenset(team.memberships.values_list("user_id", flat=True))
        return ForecastScope(user_ids=members, teams=(team,))
    if rep is not None:
        if visible is not None and rep not in visible:
            raise ServiceError(
                _("You may read only your own forecast and your teams' members'."),
                code="forbidden",
            )
        return ForecastScope(user_ids=frozenset({rep}))
    if visible is None:
        return ForecastScope(user_ids=None, teams=tuple(teams_visible_to(user)), company=True)
    teams = tuple(teams_visible_to(user)) if has_role(user, Role.SALES_MANAGER) else ()
    return ForecastScope(user_ids=frozenset(visible), teams=teams)


def stage_outcomes(*, now: dt.datetime | None = None) -> dict[str, StageOutcomes]:
    """For each open-deal stage: how the leads that reached it and closed (won, lost or
    disqualified) in the last ``WIN_RATE_DAYS`` days ended — one query, company-wide."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=WIN_RATE_DAYS)
    won, lost = won_between(since, now), lost_between(since, now)
    disqualified = DISQUALIFIED & Q(disqualified_at__gte=since, disqualified_at__lt=now)
    outcomes = {"won": won, "lost": lost, "disqualified": disqualified}
    counts = Lead.objects.filter(won | lost | disqualified).aggregate(
        **{
            f"{stage}__{name}": Count("id", filter=REACHED[stage] & condition)
            for stage in OPEN_DEAL_STAGES
            for name, condition in outcomes.items()
        }
    )
    return {
        stage: StageOutcomes(
            won=counts[f"{stage}__won"],
            lost=counts[f"{stage}__lost"],
            disqualified=counts[f"{stage}__disqualified"],
        )
        for stage in OPEN_DEAL_STAGES
    }


@dataclass
class _OwnerDeals:
    won: Decimal = Decimal("0")
    deals: list[OpenDeals] = field(default_factory=list)


def deals_by_owner(
    *, start: dt.date, end: dt.date, user_ids: frozenset[int] | None, current: bool
) -> dict[int | None, _OwnerDeals]:
    """Revenue signed in [start, end] and the period's open deals (``open_deals_of``), per
    owner (``None``: unowned, pooled), stage and whether dated — one ``GROUP BY`` query."""
    low, high = period_bounds(start, end)
    leads = Lead.objects.filter(won_between(low, high) | open_deals_of(start, end, current=current))
    if user_ids is not None:
        leads = leads.filter(owner_id__in=user_ids)
    rows = (
        leads.annotate(
            undated=ExpressionWrapper(
                Q(expected_close_date__isnull=True), output_field=BooleanField()
            )
        )
        .values("owner_id", "stage", "undated")
        .annotate(n=Count("id"), won=Sum("won_amount"), expected=Sum("expected_amount"))
        .order_by()
    )
    by_owner: dict[int | None, _OwnerDeals] = {}
    for row in rows:
        item = by_owner.setdefault(row["owner_id"], _OwnerDeals())
        if row["stage"] == Stage.WON:
            item.won += row["won"] or Decimal("0")
        else:
            item.deals.append(
                OpenDeals(
                    stage=row["stage"],
                    count=row["n"],
                    amount=row["expected"] or Decimal(0),
                    undated=bool(row["undated"]),
                )
            )
    return by_owner


def _with_target(figures: Forecast, target: Decimal | None) -> dict[str, Any]:
    return {
        **figures.as_dict(),
        "target": target,
        "gap": gap(target=target, weighted=figures.weighted),
    }


def pipeline_forecast(*, period: str, scope: ForecastScope) -> dict[str, Any]:
    """The forecast of a period (``2026-12`` or ``2026-Q4``) for a scope: a row per rep,
    the totals of its teams and, for managers, of the company — each with its target and
    gap — and the stage win rates used. Raises ``ValueError`` for a malformed period."""
    start, end = parse_period(period)
    current = is_current(start, end)
    outcomes = stage_outcomes()
    rates = win_rates(outcomes)
    by_owner = deals_by_owner(start=start, end=end, user_ids=scope.user_ids, current=current)
    figures: dict[int | None, Forecast] = {
        owner: forecast(won=item.won, deals=item.deals, rates=rates)
        for owner, item in by_owner.items()
    }
    empty = forecast(won=Decimal("0"), deals=[], rates=rates)
    members: dict[int, list[int]] = {}
    for membership in TeamMembership.objects.filter(team__in=scope.teams).order_by("user_id"):
        members.setdefault(membership.team_id, []).append(membership.user_id)
    if scope.user_ids is None:
        people = set(
            get_user_model()
            .objects.filter(is_active=True, groups__name__in=SALES_ROLES)
            .values_list("pk", flat=True)
        )
        people |= {owner for owner in figures if owner is not None}
        people |= {uid for ids in members.values() for uid in ids}
    else:
        people = set(scope.user_ids)
    users = get_user_model().objects.filter(pk__in=people)
    names = {u.pk: (u.get_username(), display_name(u)) for u in users}
    targets = revenue_targets(period)
    rows = [
        {
            "user": uid,
            "username": names[uid][0],
            "name": names[uid][1],
            **_with_target(figures.get(uid, empty), targets.get(("user", uid))),
        }
        for uid in sorted(names, key=lambda pk: (names[pk][1].lower(), pk))
    ]
    teams = [
        {
            "team": team.pk,
            "name": team.name,
            "members": members.get(team.pk, []),
            **_with_target(
                add_up(figures.get(uid, empty) for uid in members.get(team.pk, [])),
                targets.get(("team", team.pk)),
            ),
        }
        for team in scope.teams
    ]
    company = (
        _with_target(add_up(figures.values()), targets.get(("company", None)))
        if scope.company
        else None
    )
    return {
        "period": period,
        "from": start,
        "to": end,
        "current": current,
        "win_rate_days": WIN_RATE_DAYS,
        "commit_win_rate": COMMIT_WIN_RATE,
        "win_rates": [
            {
                "stage": stage,
                "won": outcomes[stage].won,
                "lost": outcomes[stage].lost,
                "disqualified": outcomes[stage].disqualified,
                "win_rate": rates[stage],
            }
            for stage in OPEN_DEAL_STAGES
        ],
        "rows": rows,
        "teams": teams,
        "company": company,
    }


def open_deals(*, period: str, user_ids: frozenset[int] | None, limit: int = 200) -> QuerySet[Lead]:
    """The open deals behind a period's forecast (the page's drill-down), largest first."""
    start, end = parse_period(period)
    leads = Lead.objects.filter(open_deals_of(start, end, current=is_current(start, end)))
    if user_ids is not None:
        leads = leads.filter(owner_id__in=user_ids)
    return leads.select_related("company", "owner").order_by("-expected_amount", "pk")[:limit]
