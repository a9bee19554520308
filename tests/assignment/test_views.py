"""Assignment pages: teams and members, rules, simulation, bulk routing, pool policy, the
pool (公海) with claiming, and "new for me"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from assignment import services
from assignment.models import Assignment, AssignmentRule, PoolPolicy, TeamMembership
from leads import lifecycle
from leads.choices import EventKind, Stage
from leads.models import Lead, LeadEvent
from tests.factories import (
    CampaignFactory,
    LeadFactory,
    TeamFactory,
    TeamMembershipFactory,
    UserFactory,
    lead_in_stage,
)

pytestmark = pytest.mark.django_db


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def _get(client, user, name, *args, **params):
    client.force_login(user)
    return client.get(reverse(name, args=args), params)


def _rule_post(**overrides) -> dict:
    data = {
        "name": "East A leads",
        "priority": "10",
        "active": "on",
        "strategy": "round_robin",
        "team": "",
        "user": "",
        "cond-TOTAL_FORMS": "3",
        "cond-INITIAL_FORMS": "0",
        "cond-0-field": "grade",
        "cond-0-operator": "in",
        "cond-0-value": '["A", "B"]',
        "cond-1-field": "",
        "cond-1-operator": "eq",
        "cond-1-value": "",
        "cond-2-field": "",
        "cond-2-operator": "eq",
        "cond-2-value": "",
    }
    data.update(overrides)
    return data


# --------------------------------------------------------------------------------------
# Index and access
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["desk", "sales_manager", "manager"])
def test_index_renders_for_desk_managers_and_management(client, request, role, rep, team):
    user = request.getfixturevalue(role)
    response = _get(client, user, "assignment:index")
    assert response.status_code == 200
    html = response.content.decode()
    assert team.name in html and "rep" in html
    assert "Pool policy" in html
    assert (reverse("assignment:rule_create") in html) is (role == "desk")


@pytest.mark.parametrize("role", ["rep", "marketer"])
def test_index_is_403_for_others(client, request, role):
    user = request.getfixturevalue(role)
    assert _get(client, user, "assignment:index").status_code == 403
    assert _get(client, user, "assignment:simulate").status_code == 403


def test_index_shows_member_limits_and_load(client, desk, rep, team):
    membership = TeamMembership.objects.get(user=rep)
    membership.weight, membership.daily_capacity, membership.max_open_leads = 3, 7, 40
    membership.save()
    lead_in_stage("sql", owner=rep)
    response = _get(client, desk, "assignment:index")
    [row] = [r for r in response.context["teams"] if r["team"] == team]
    [member] = [m for m in row["members"] if m["membership"].user == rep]
    assert (member["open"], member["membership"].weight) == (1, 3)
    html = response.content.decode()
    assert "1 / 40" in html


# --------------------------------------------------------------------------------------
# Memberships
# --------------------------------------------------------------------------------------


def test_member_weight_zero_is_refused_and_nothing_changes(client, desk, rep, team):
    membership = TeamMembership.objects.get(user=rep, team=team)
    client.force_login(desk)
    url = reverse("assignment:member_edit", args=[team.pk, membership.pk])
    response = client.post(
        url,
        {"user": rep.pk, "weight": "0", "daily_capacity": "20", "max_open_leads": "200"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["weight"] == [
        "The weight must be a whole number above zero."
    ]
    membership.refresh_from_db()
    assert membership.weight == 1


def test_desk_changes_availability_and_adds_a_member(client, desk, rep, team):
    membership = TeamMembership.objects.get(user=rep, team=team)
    client.force_login(desk)
    response = client.post(
        reverse("assignment:member_edit", args=[team.pk, membership.pk]),
        {
            "user": rep.pk,
            "weight": "2",
            "daily_capacity": "5",
            "max_open_leads": "50",
            "away_until": "2030-01-31",
        },
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.weight, membership.daily_capacity, membership.available) == (2, 5, False)
    assert str(membership.away_until) == "2030-01-31"

    newcomer = UserFactory(username="newbie", roles=["sales_rep"])
    response = client.post(
        reverse("assignment:member_add", args=[team.pk]),
        {"user": newcomer.pk, "weight": "1", "daily_capacity": "20", "max_open_leads": "200",
         "available": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    assert TeamMembership.objects.filter(team=team, user=newcomer).exists()


def test_sales_manager_edits_only_their_own_team(client, sales_manager, rep, team, outsider_rep):
    own = TeamMembership.objects.get(user=rep, team=team)
    client.force_login(sales_manager)
    response = client.post(
        reverse("assignment:member_edit", args=[team.pk, own.pk]),
        {"user": rep.pk, "weight": "4", "daily_capacity": "20", "max_open_leads": "200",
         "available": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.weight == 4

    other = TeamMembership.objects.get(user=outsider_rep)
    response = client.post(
        reverse("assignment:member_edit", args=[other.team_id, other.pk]),
        {"user": outsider_rep.pk, "weight": "9", "daily_capacity": "20", "max_open_leads": "200"},
    )
    assert response.status_code in (403, 404)
    other.refresh_from_db()
    assert other.weight == 1


# --------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------


def test_desk_creates_a_rule_from_condition_rows(client, desk, rep, team):
    client.force_login(desk)
    response = client.get(reverse("assignment:rule_create"))
    assert len(response.context["conditions"].forms) == 3

    response = client.post(reverse("assignment:rule_create"), _rule_post(team=team.pk))
    assert response.status_code == 302
    rule = AssignmentRule.objects.get(name="East A leads")
    assert rule.conditions == [{"field": "grade", "operator": "in", "value": ["A", "B"]}]
    assert (rule.team, rule.priority, rule.active) == (team, 10, True)
    html = client.get(reverse("assignment:index")).content.decode()
    assert "Grade is one of [A, B]" in html

    response = client.get(reverse("assignment:rule_edit", args=[rule.pk]))
    assert response.context["conditions"].forms[0].initial["value"] == '["A", "B"]'


def test_rule_with_an_unknown_field_is_refused(client, desk, rep, team):
    client.force_login(desk)
    response = client.post(
        reverse("assignment:rule_create"), _rule_post(team=team.pk, **{"cond-0-field": "mood"})
    )
    assert response.status_code == 200
    assert "Condition 1: Unknown field “mood”" in response.context["conditions_error"]
    assert "Unknown field “mood”" in response.content.decode()
    assert not AssignmentRule.objects.exists()


def test_round_robin_without_team_is_refused_on_the_field(client, desk):
    client.force_login(desk)
    response = client.post(reverse("assignment:rule_create"), _rule_post())
    assert response.context["form"].errors["team"] == ["This strategy needs a team."]
    assert not AssignmentRule.objects.exists()


def test_more_rows_keeps_the_input_and_saves_nothing(client, desk, team, rep):
    client.force_login(desk)
    response = client.post(
        reverse("assignment:rule_create"), _rule_post(team=team.pk, add_rows="1")
    )
    assert response.status_code == 200
    formset = response.context["conditions"]
    assert len(formset.forms) == 6
    assert formset.forms[0]["value"].value() == '["A", "B"]'
    assert not AssignmentRule.objects.exists()


def test_rule_toggle_and_delete(client, desk, rep, team):
    rule = services.rule_save(
        actor=desk, name="All", conditions=[], strategy="round_robin", team=team
    )
    client.force_login(desk)
    client.post(reverse("assignment:rule_toggle", args=[rule.pk]))
    rule.refresh_from_db()
    assert not rule.active
    client.post(reverse("assignment:rule_toggle", args=[rule.pk]))
    rule.refresh_from_db()
    assert rule.active
    assert client.get(reverse("assignment:rule_delete", args=[rule.pk])).status_code == 200
    client.post(reverse("assignment:rule_delete", args=[rule.pk]))
    assert not AssignmentRule.objects.exists()


def test_manager_reads_rules_but_cannot_change_them(client, manager, desk, rep, team):
    rule = services.rule_save(
        actor=desk, name="All", conditions=[], strategy="round_robin", team=team
    )
    client.force_login(manager)
    assert client.post(reverse("assignment:rule_toggle", args=[rule.pk])).status_code == 403
    assert client.post(reverse("assignment:rule_create"), _rule_post()).status_code == 403
    rule.refresh_from_db()
    assert rule.active


# --------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------


def _simulate_post(**overrides) -> dict:
    data = {
        "rules": "current",
        "stage": ["mql"],
        "draft-name": "Draft",
        "draft-strategy": "round_robin",
        "draft-team": "",
        "draft-user": "",
        "draft-priority": "100",
        "draftcond-TOTAL_FORMS": "3",
        "draftcond-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_simulation_writes_nothing_and_shows_the_distribution(client, desk, rep, other_rep, team):
    services.rule_save(actor=desk, name="All", conditions=[], strategy="round_robin", team=team)
    leads = [lead_in_stage("mql") for _ in range(4)]
    LeadFactory()  # a new lead: filtered out by stage
    before = (Assignment.objects.count(), LeadEvent.objects.count())
    client.force_login(desk)

    response = client.post(reverse("assignment:simulate"), _simulate_post())
    assert response.status_code == 200
    assert (Assignment.objects.count(), LeadEvent.objects.count()) == before
    assert all(Lead.objects.get(pk=lead.pk).owner_id is None for lead in leads)
    result = response.context["result"]
    assert (result["total"], result["unmatched"], result["changed"]) == (4, 0, 4)
    counts = {row["user"]: row["count"] for row in response.context["rows"]}
    assert counts == {rep: 2, other_rep: 2}
    html = response.content.decode()
    assert 'class="hbar"' in html and "East" in html


def test_simulation_of_a_draft_rule(client, desk, rep, other_rep, team):
    for _ in range(3):
        lead_in_stage("mql")
    client.force_login(desk)
    response = client.post(
        reverse("assignment:simulate"),
        _simulate_post(**{"rules": "draft", "draft-strategy": "user", "draft-user": rep.pk}),
    )
    assert response.context["result"]["total"] == 3
    assert {row["user"]: row["count"] for row in response.context["rows"]} == {rep: 3}
    assert not AssignmentRule.objects.exists()

    response = client.post(
        reverse("assignment:simulate"),
        _simulate_post(**{"rules": "draft", "draftcond-0-field": "mood"}),
    )
    assert response.context["result"] is None
    assert "Unknown field “mood”" in response.context["conditions_error"]


def test_simulation_with_no_rules_leaves_everything_unmatched(client, manager):
    lead_in_stage("mql")
    client.force_login(manager)
    response = client.post(reverse("assignment:simulate"), _simulate_post())
    assert response.context["result"]["unmatched"] == 1


# --------------------------------------------------------------------------------------
# Bulk routing
# --------------------------------------------------------------------------------------


def test_bulk_routing_routes_the_filtered_unowned_mqls(client, desk, rep, other_rep, team):
    services.rule_save(actor=desk, name="All", conditions=[], strategy="round_robin", team=team)
    campaign = CampaignFactory()
    chosen = [lead_in_stage("mql", source_campaign=campaign) for _ in range(2)]
    other = lead_in_stage("mql")
    client.force_login(desk)
    response = client.get(reverse("assignment:route"), {"campaign": campaign.pk})
    assert response.context["paginator"].count == 2

    response = client.post(reverse("assignment:route"), {"campaign": campaign.pk})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('assignment:route')}?campaign={campaign.pk}"
    assert _messages(response) == [
        ("success", "2 leads routed: 2 assigned, 0 sent to the pool, 0 skipped, 0 refused.")
    ]
    assert {Lead.objects.get(pk=lead.pk).owner for lead in chosen} == {rep, other_rep}
    other.refresh_from_db()
    assert other.owner is None


def test_bulk_routing_is_403_for_management(client, manager):
    assert _get(client, manager, "assignment:route").status_code == 403


# --------------------------------------------------------------------------------------
# Pool policy
# --------------------------------------------------------------------------------------


def test_desk_edits_the_pool_policy(client, desk):
    client.force_login(desk)
    response = client.post(
        reverse("assignment:pool_policy"), {"daily_claim_limit": "5", "reclaim_cooldown_days": "3"}
    )
    assert response.status_code == 302
    policy = PoolPolicy.current()
    assert (policy.daily_claim_limit, policy.reclaim_cooldown_days) == (5, 3)

    response = client.post(
        reverse("assignment:pool_policy"), {"daily_claim_limit": "-1", "reclaim_cooldown_days": "3"}
    )
    assert response.status_code == 200
    assert response.context["policy_form"].errors["daily_claim_limit"]
    assert PoolPolicy.current().daily_claim_limit == 5


def test_sales_manager_cannot_change_the_pool_policy(client, sales_manager):
    client.force_login(sales_manager)
    response = client.post(
        reverse("assignment:pool_policy"), {"daily_claim_limit": "99", "reclaim_cooldown_days": "0"}
    )
    assert response.status_code == 403
    assert PoolPolicy.current().daily_claim_limit != 99


# --------------------------------------------------------------------------------------
# Pool
# --------------------------------------------------------------------------------------


def test_pool_page_masks_contact_and_shows_claims_today(client, rep):
    pooled = lead_in_stage("mql", in_pool=True, phone="+8613912345678", email="pool@acme.cn")
    lead_in_stage("mql", owner=rep)  # owned: not in the pool
    response = _get(client, rep, "assignment:pool")
    assert response.status_code == 200
    assert [row["lead"].pk for row in response.context["rows"]] == [pooled.pk]
    html = response.content.decode()
    assert "+8613912345678" not in html and "pool@acme.cn" not in html
    assert "+86139****5678" in html and "p***@acme.cn" in html
    assert 'data-nav="pool" class="active"' in html
    assert response.context["claims_today"] == 0


def test_pool_shows_days_in_pool_and_the_recycle_reason(client, rep, other_rep):
    lead = lead_in_stage("mql", owner=other_rep)
    lifecycle.lead_recycle(
        lead=lead, actor=other_rep, reason="No answer", reason_code="not_reachable"
    )
    Lead.objects.filter(pk=lead.pk).update(pooled_at=timezone.now() - dt.timedelta(days=4))
    response = _get(client, rep, "assignment:pool")
    [row] = response.context["rows"]
    assert row["days"] == 4
    assert row["recycle_reason"] == "Not reachable"


@pytest.mark.parametrize("role", ["desk", "marketer", "manager"])
def test_pool_and_new_for_me_are_for_sales_only(client, request, role):
    user = request.getfixturevalue(role)
    assert _get(client, user, "assignment:pool").status_code == 403
    assert _get(client, user, "assignment:new_for_me").status_code == 403


def test_claim_works_and_a_claim_past_the_daily_limit_shows_the_error(client, rep):
    policy = PoolPolicy.current()
    policy.daily_claim_limit = 1
    policy.save()
    first = lead_in_stage("mql", in_pool=True)
    second = lead_in_stage("mql", in_pool=True)
    client.force_login(rep)

    response = client.post(reverse("assignment:claim", args=[first.pk]))
    assert response["Location"] == reverse("leads:detail", args=[first.pk])
    first.refresh_from_db()
    assert (first.owner, first.in_pool) == (rep, False)
    assert LeadEvent.objects.filter(lead=first, kind=EventKind.CLAIMED, actor=rep).exists()

    response = client.post(reverse("assignment:claim", args=[second.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("assignment:pool")
    html = response.content.decode()
    assert "You have reached today&#x27;s limit of 1 claims from the pool." in html
    second.refresh_from_db()
    assert second.in_pool and second.owner is None
    assert response.context["claims_today"] == 1


def test_claiming_a_lead_someone_took_first_is_a_clear_message(client, rep, other_rep):
    lead = lead_in_stage("mql", in_pool=True)
    lifecycle.lead_claim(lead=lead, actor=other_rep)
    client.force_login(rep)
    response = client.post(reverse("assignment:claim", args=[lead.pk]))
    assert _messages(response) == [
        ("error", "This lead is no longer in the pool; someone may have claimed it first.")
    ]
    lead.refresh_from_db()
    assert lead.owner == other_rep


def _make_pool(count: int) -> None:
    campaign = CampaignFactory()
    for _ in range(count):
        LeadFactory(
            in_pool=True,
            stage=Stage.MQL,
            mql_at=timezone.now(),
            pooled_at=timezone.now(),
            source_campaign=campaign,
            recycle_reason="not_now",
        )


def test_pool_query_count_does_not_grow_with_leads(client, rep, assert_queries_flat):
    PoolPolicy.current()  # the policy row exists (its first read creates it)
    _make_pool(3)
    client.force_login(rep)
    response = assert_queries_flat(
        lambda: client.get(reverse("assignment:pool")),
        grow=lambda: _make_pool(20),
        max_queries=15,
    )
    assert len(response.context["rows"]) == 23


# --------------------------------------------------------------------------------------
# New for me
# --------------------------------------------------------------------------------------


def test_new_for_me_lists_my_unaccepted_leads_newest_first(client, desk, rep, other_rep, team):
    older = lead_in_stage("mql", owner=rep)
    newer = lead_in_stage("mql", owner=rep)
    lead_in_stage("sql", owner=rep)  # accepted already
    lead_in_stage("mql", owner=other_rep)  # someone else's
    response = _get(client, rep, "assignment:new_for_me")
    assert [row["lead"].pk for row in response.context["rows"]] == [newer.pk, older.pk]
    html = response.content.decode()
    assert reverse("leads:action", args=[newer.pk, "accept"]) in html
    assert reverse("leads:action", args=[newer.pk, "reject"]) in html
    assert response.context["rows"][0]["why"].strategy == "manual"

    client.post(reverse("leads:action", args=[newer.pk, "accept"]))
    response = _get(client, rep, "assignment:new_for_me")
    assert [row["lead"].pk for row in response.context["rows"]] == [older.pk]


def test_nav_for_sales_has_pool_and_new_for_me(client, rep):
    html = _get(client, rep, "assignment:new_for_me").content.decode()
    assert 'data-nav="new_for_me" class="active"' in html
    assert f'href="{reverse("assignment:pool")}"' in html


def test_other_team_is_not_shown_to_a_sales_manager(client, sales_manager, team):
    hidden = TeamFactory(name="Hidden")
    TeamMembershipFactory(team=hidden)
    response = _get(client, sales_manager, "assignment:index")
    names = [row["team"].name for row in response.context["teams"]]
    assert names == [team.name]
