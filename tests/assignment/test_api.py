"""teams/, teams/{id}/members/, assignment-rules/, simulate, leads/{id}/assignments/."""

from __future__ import annotations

import pytest

from assignment.models import Assignment, AssignmentRule, TeamMembership
from leads.choices import Stage
from leads.models import Lead
from tests.factories import TeamMembershipFactory, UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db


def test_desk_creates_team_and_members(api, desk, sales_manager):
    client = api(desk)
    team = client.post("/api/v1/teams/", {"name": "华东", "manager": sales_manager.pk})
    assert team.status_code == 201, team.json()
    rep = UserFactory(roles=["sales_rep"])
    member = client.post(
        f"/api/v1/teams/{team.json()['id']}/members/",
        {"user": rep.pk, "weight": 2, "daily_capacity": 15, "max_open_leads": 80},
    )
    assert member.status_code == 201, member.json()
    row = TeamMembership.objects.get(user=rep)
    assert (row.weight, row.daily_capacity, row.max_open_leads) == (2, 15, 80)
    listed = client.get(f"/api/v1/teams/{team.json()['id']}/members/").json()
    assert [m["username"] for m in listed] == [rep.username]


def test_member_weight_zero_is_400(api, desk, team):
    rep = UserFactory(roles=["sales_rep"])
    response = api(desk).post(f"/api/v1/teams/{team.pk}/members/", {"user": rep.pk, "weight": 0})
    assert response.status_code == 400 and "weight" in response.json()
    assert not TeamMembership.objects.filter(user=rep).exists()


def test_team_manager_edits_own_member_rep_cannot(api, team, rep, sales_manager):
    membership = TeamMembership.objects.get(user=rep)
    url = f"/api/v1/teams/{team.pk}/members/{membership.pk}/"
    away = api(sales_manager).patch(url, {"available": False}, format="json")
    assert away.status_code == 200 and away.json()["available"] is False
    assert api(rep).patch(url, {"available": True}, format="json").status_code == 403
    membership.refresh_from_db()
    assert membership.available is False


def test_rep_cannot_create_team(api, rep):
    assert api(rep).post("/api/v1/teams/", {"name": "Mine"}).status_code == 403


def test_rules_crud_and_validation(api, desk, team, rep):
    client = api(desk)
    good = client.post(
        "/api/v1/assignment-rules/",
        {"name": "A to east", "priority": 1, "strategy": "weighted", "team": team.pk,
         "conditions": [{"field": "grade", "operator": "in", "value": ["A", "B"]}]},
        format="json",
    )  # fmt: skip
    assert good.status_code == 201, good.json()
    assert good.json()["conditions"] == [
        {"field": "grade", "operator": "in", "value": ["A", "B"],
         "description": "Grade is one of [A, B]"}  # read only, in words
    ]  # fmt: skip
    bad = client.post(
        "/api/v1/assignment-rules/",
        {"name": "x", "strategy": "round_robin", "team": team.pk,
         "conditions": [{"field": "hair", "operator": "eq", "value": "red"}]},
        format="json",
    )  # fmt: skip
    assert bad.status_code == 400 and "Unknown field" in bad.json()["detail"]
    unknown = client.post(
        "/api/v1/assignment-rules/", {"name": "x", "strategy": "coin_flip", "team": team.pk},
        format="json",
    )  # fmt: skip
    assert unknown.status_code == 400 and "strategy" in unknown.json()
    assert AssignmentRule.objects.count() == 1
    patched = client.patch(
        f"/api/v1/assignment-rules/{good.json()['id']}/", {"active": False}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert api(rep).get("/api/v1/assignment-rules/").json()["count"] == 0


def test_simulate_answers_contract_shape_and_writes_nothing(api, desk, team, rep, other_rep):
    leads = [lead_in_stage(Stage.MQL, grade="A") for _ in range(4)]
    lead_in_stage(Stage.MQL, grade="C")
    before = Assignment.objects.count()
    response = api(desk).post(
        "/api/v1/assignment-rules/simulate/",
        {"filter": {"stage": "mql", "grade": ["A"]},
         "rules": [{"name": "draft", "strategy": "round_robin", "team": team.pk,
                    "conditions": []}]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"total", "unmatched", "changed", "distribution"}
    assert (body["total"], body["unmatched"], body["changed"]) == (4, 0, 4)
    assert {row["user"]: row["count"] for row in body["distribution"]} == {
        rep.pk: 2, other_rep.pk: 2,
    }  # fmt: skip
    assert Assignment.objects.count() == before
    assert not Lead.objects.filter(pk__in=[x.pk for x in leads], owner__isnull=False).exists()


def test_simulate_bad_filter_is_400(api, desk):
    response = api(desk).post(
        "/api/v1/assignment-rules/simulate/", {"filter": {"stage": "nope"}}, format="json"
    )
    assert response.status_code == 400


def test_lead_assignments_explain_why(api, desk, rep):
    lead = lead_in_stage(Stage.MQL)
    api(desk).post(f"/api/v1/leads/{lead.pk}/assign/", {"owner": rep.pk, "reason": "speaks 粤语"})
    rows = api(desk).get(f"/api/v1/leads/{lead.pk}/assignments/").json()
    assert len(rows) == 1 and rows[0]["owner"] == rep.pk and rows[0]["strategy"] == "manual"
    assert "粤语" in rows[0]["reason"]


def test_sales_manager_reassigns_within_team_only(api, sales_manager, rep, other_rep):
    lead = lead_in_stage(Stage.SQL, owner=rep)
    outsider = TeamMembershipFactory().user
    refused = api(sales_manager).post(f"/api/v1/leads/{lead.pk}/assign/", {"owner": outsider.pk})
    assert refused.status_code == 403
    moved = api(sales_manager).post(f"/api/v1/leads/{lead.pk}/assign/", {"owner": other_rep.pk})
    assert moved.status_code == 200 and moved.json()["owner"] == other_rep.pk
