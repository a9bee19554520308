"""Routing with its database writes, rules validation, memberships, simulation."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from assignment import bulk, services
from assignment.models import Assignment, AssignmentRule, RotationCursor
from leads.choices import EventKind, Stage
from leads.models import Lead
from pipeline.errors import ServiceError
from tests.factories import (
    CampaignFactory,
    CompanyFactory,
    TeamFactory,
    TeamMembershipFactory,
    UserFactory,
    lead_in_stage,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def squad(desk):
    """A team of three reps with weights 2:1:1 and generous limits."""
    team = TeamFactory(name="Squad")
    members = [
        TeamMembershipFactory(team=team, weight=w, daily_capacity=1000, max_open_leads=1000)
        for w in (2, 1, 1)
    ]
    return team, [m.user for m in members], members


def make_rule(desk, team, strategy="round_robin", conditions=None, priority=100, **kw):
    return services.rule_save(
        actor=desk, name=f"{strategy}-{priority}", conditions=conditions or [],
        strategy=strategy, team=team, priority=priority, **kw,
    )  # fmt: skip


def route_new_mqls(n: int, **lead_kwargs) -> list[Lead]:
    leads = []
    for _ in range(n):
        lead = lead_in_stage(Stage.MQL, **lead_kwargs)
        leads.append(services.lead_route(lead=lead))
    return leads


def test_weighted_rule_routes_60_leads_30_15_15(desk, squad):
    team, users, _ = squad
    rule = make_rule(desk, team, "weighted")
    leads = route_new_mqls(60)
    counts = Counter(lead.owner_id for lead in leads)
    assert counts == {users[0].pk: 30, users[1].pk: 15, users[2].pk: 15}
    assert Assignment.objects.filter(rule=rule, strategy="weighted").count() == 60
    assert RotationCursor.objects.get(rule=rule).position == 60


def test_round_robin_is_even(desk, squad):
    team, users, _ = squad
    make_rule(desk, team, "round_robin")
    counts = Counter(lead.owner_id for lead in route_new_mqls(12))
    assert counts == {u.pk: 4 for u in users}


@pytest.mark.parametrize(
    "change",
    [
        {"available": False},
        {"away_until": dt.date(2099, 1, 1)},
        {"daily_capacity": 0},
        {"max_open_leads": 0},
    ],
)
def test_ineligible_member_is_skipped(desk, squad, change):
    team, users, members = squad
    for key, value in change.items():
        setattr(members[0], key, value)
    members[0].save()
    make_rule(desk, team, "round_robin")
    leads = route_new_mqls(4)
    assert users[0].pk not in {lead.owner_id for lead in leads}
    assert all(lead.owner_id for lead in leads)
    assert users[0].username in leads[0].assignments.get().reason


def test_daily_capacity_counts_todays_assignments(desk, squad):
    team, users, members = squad
    for member in members:
        member.daily_capacity = 2
        member.save()
    make_rule(desk, team, "round_robin")
    leads = route_new_mqls(7)
    counts = Counter(lead.owner_id for lead in leads)
    assert sorted(counts[u.pk] for u in users) == [2, 2, 2]
    last = Lead.objects.get(pk=leads[-1].pk)
    assert last.in_pool and last.owner is None
    assert "daily capacity" in last.assignments.get().reason


def test_nobody_eligible_sends_lead_to_pool_never_to_nobody(desk, squad):
    team, _, members = squad
    for member in members:
        member.available = False
        member.save()
    make_rule(desk, team, "weighted")
    lead = route_new_mqls(1)[0]
    lead.refresh_from_db()
    assert lead.in_pool and lead.owner is None
    decision = lead.assignments.get()
    assert decision.strategy == "pool" and "nobody eligible" in decision.reason
    assert lead.events.filter(kind=EventKind.POOLED).count() == 1


def test_first_matching_rule_wins_and_conditions_are_checked(desk, squad):
    team, users, _ = squad
    vip = TeamMembershipFactory(team=TeamFactory(name="VIP")).user
    services.rule_save(
        actor=desk, name="A leads to VIP", priority=1, strategy="user", user=vip,
        conditions=[{"field": "grade", "operator": "eq", "value": "A"}],
    )  # fmt: skip
    make_rule(desk, team, "round_robin", priority=2)
    a_lead = route_new_mqls(1, grade="A")[0]
    b_lead = route_new_mqls(1, grade="B")[0]
    assert a_lead.owner == vip
    assert b_lead.owner_id in {u.pk for u in users}
    decision = a_lead.assignments.get()
    assert decision.rule_name == "A leads to VIP" and decision.strategy == "user"


def test_channel_and_region_conditions(desk, squad):
    team, users, _ = squad
    from campaigns.models import Channel

    show = CampaignFactory()
    show.channel = Channel.objects.get(code="trade_show")
    show.save()
    make_rule(
        desk, team, "least_loaded",
        conditions=[{"field": "channel_kind", "operator": "eq", "value": "offline"},
                    {"field": "region", "operator": "in", "value": ["上海", "江苏"]}],
    )  # fmt: skip
    matching = route_new_mqls(1, source_campaign=show, company=CompanyFactory(region="上海"))
    other = route_new_mqls(1, source_campaign=show, company=CompanyFactory(region="北京"))
    assert matching[0].owner_id in {u.pk for u in users}
    assert Lead.objects.get(pk=other[0].pk).in_pool


def test_company_stickiness_beats_rules(desk, squad, rep):
    team, _, _ = squad
    make_rule(desk, team, "round_robin")
    company = CompanyFactory(name="Sticky Co")
    lead_in_stage(Stage.SQL, owner=rep, company=company)
    lead = route_new_mqls(1, company=company)[0]
    assert lead.owner == rep
    assert lead.assignments.get().strategy == "company_stickiness"


def test_route_is_safe_to_run_twice(desk, squad):
    team, _, _ = squad
    make_rule(desk, team, "round_robin")
    lead = lead_in_stage(Stage.MQL)
    services.lead_route(lead=lead)
    services.lead_route(lead=lead)
    assert Assignment.objects.filter(lead=lead).count() == 1
    assert lead.events.filter(kind=EventKind.ASSIGNED).count() == 1


def test_qualify_routes_automatically_when_enabled(settings, desk, squad):
    settings.AUTO_ASSIGN = True
    team, users, _ = squad
    make_rule(desk, team, "round_robin")
    lead = lead_in_stage(Stage.NEW)
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        from leads.lifecycle import lead_qualify

        lead_qualify(lead=lead, actor=desk)
    lead.refresh_from_db()
    assert lead.owner_id in {u.pk for u in users}


def test_broken_stored_rule_is_skipped_not_fatal(desk, squad):
    team, users, _ = squad
    AssignmentRule.objects.create(
        name="broken", priority=1, strategy="round_robin", team=team,
        conditions=[{"field": "shoe_size", "operator": "eq", "value": "42"}],
    )  # fmt: skip
    make_rule(desk, team, "round_robin", priority=2)
    lead = route_new_mqls(1)[0]
    assert lead.owner_id in {u.pk for u in users}
    assert lead.assignments.get().rule_name == "round_robin-2"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"conditions": [{"field": "shoe", "operator": "eq", "value": "1"}]}, "conditions"),
        ({"conditions": [{"field": "grade", "operator": "like", "value": "A"}]}, "conditions"),
        ({"conditions": [{"field": "budget", "operator": "gte", "value": "lots"}]}, "conditions"),
        ({"conditions": [{"field": "grade", "operator": "in", "value": "A"}]}, "conditions"),
        ({"conditions": "grade=A"}, "conditions"),
        ({"strategy": "lottery"}, "strategy"),
        ({"strategy": "user", "user": None}, "user"),
        ({"name": " "}, "name"),
    ],
)
def test_bad_rules_are_refused_with_specific_message(desk, squad, kwargs, field):
    team, _, _ = squad
    args = {"name": "r", "conditions": [], "strategy": "round_robin", "team": team, **kwargs}
    with pytest.raises(ServiceError) as refused:
        services.rule_save(actor=desk, **args)
    assert refused.value.field == field and refused.value.message
    assert AssignmentRule.objects.count() == 0


def test_round_robin_over_empty_team_is_refused(desk):
    with pytest.raises(ServiceError) as refused:
        services.rule_save(actor=desk, name="r", conditions=[], strategy="round_robin",
                           team=TeamFactory())  # fmt: skip
    assert "no members" in refused.value.message


def test_user_strategy_with_inactive_user_is_refused(desk):
    ghost = UserFactory(roles=["sales_rep"], is_active=False)
    with pytest.raises(ServiceError) as refused:
        services.rule_save(actor=desk, name="r", conditions=[], strategy="user", user=ghost)
    assert refused.value.field == "user"


def test_rep_cannot_edit_rules(rep, team):
    with pytest.raises(ServiceError) as refused:
        services.rule_save(actor=rep, name="r", conditions=[], strategy="round_robin", team=team)
    assert refused.value.code == "forbidden"


@pytest.mark.parametrize("weight", [0, -1, None])
def test_membership_weight_must_be_positive(desk, team, weight):
    user = UserFactory(roles=["sales_rep"])
    with pytest.raises(ServiceError) as refused:
        services.membership_save(actor=desk, team=team, user=user, weight=weight)
    assert refused.value.field == "weight"


def test_simulation_writes_nothing_and_counts(desk, squad):
    team, users, _ = squad
    leads = [lead_in_stage(Stage.MQL) for _ in range(8)]
    rule = services.RuleSpec(
        name="draft", conditions=(), strategy="round_robin", team_id=team.pk, user_id=None
    )
    before = (Assignment.objects.count(), list(Lead.objects.values_list("owner_id", flat=True)))
    result = services.simulate(leads=Lead.objects.filter(pk__in=[x.pk for x in leads]),
                               rules=[rule])  # fmt: skip
    assert result["total"] == 8 and result["unmatched"] == 0 and result["changed"] == 8
    assert sorted(row["count"] for row in result["distribution"]) == [2, 3, 3]
    assert {row["user"] for row in result["distribution"]} == {u.pk for u in users}
    assert sum(row["count"] for row in result["distribution"]) == 8
    after = (Assignment.objects.count(), list(Lead.objects.values_list("owner_id", flat=True)))
    assert after == before


def test_simulation_respects_capacity_in_memory(desk, squad):
    team, _, members = squad
    for member in members:
        member.daily_capacity = 1
        member.save()
    leads = [lead_in_stage(Stage.MQL) for _ in range(5)]
    spec = services.RuleSpec(name="d", conditions=(), strategy="weighted", team_id=team.pk,
                             user_id=None)  # fmt: skip
    result = services.simulate(leads=Lead.objects.filter(pk__in=[x.pk for x in leads]),
                               rules=[spec])  # fmt: skip
    assert result["unmatched"] == 2
    assert [row["count"] for row in result["distribution"]] == [1, 1, 1]


def test_bulk_route_reports_each_outcome(desk, squad, rep):
    team, _, _ = squad
    make_rule(desk, team, "round_robin")
    fresh = [lead_in_stage(Stage.MQL) for _ in range(3)]
    won = lead_in_stage(Stage.WON, owner=rep)
    result = bulk.leads_route_bulk(lead_ids=[x.pk for x in fresh] + [won.pk], actor=desk)
    assert (result.total, result.assigned, result.skipped) == (4, 3, 1)
