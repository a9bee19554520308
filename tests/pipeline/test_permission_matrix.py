"""Every role, anonymous included, against every API endpoint: the expected status.

Objects are visible or not by role (404 outside a user's scope), actions are allowed or
not (403), anonymous requests are 401. IDOR across reps and teams is covered at the end.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from leads.choices import Stage
from tests.factories import (
    CampaignCostFactory,
    CampaignFactory,
    TeamMembershipFactory,
    UserFactory,
    lead_in_stage,
)

pytestmark = pytest.mark.django_db
ROLES = ["anon", "marketer", "desk", "rep", "smgr", "manager", "admin"]


@pytest.fixture
def world(marketer, desk, rep, sales_manager, manager, team):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    campaign = CampaignFactory(owner=marketer)
    cost = CampaignCostFactory(campaign=campaign)
    lead = lead_in_stage(Stage.SQL, owner=rep, source_campaign=campaign, desk=desk)
    from assignment.services import rule_save

    rule = rule_save(actor=desk, name="r", conditions=[], strategy="round_robin", team=team)
    from scoring.models import ScoringRule

    return {
        "users": {"anon": None, "marketer": marketer, "desk": desk, "rep": rep,
                  "smgr": sales_manager, "manager": manager, "admin": admin},
        "lead": lead.pk, "campaign": campaign.pk, "cost": cost.pk, "team": team.pk,
        "member": team.memberships.first().pk, "rule": rule.pk,
        "srule": ScoringRule.objects.first().pk,
    }  # fmt: skip


def expect(spec: str) -> dict[str, int]:
    """'401 200 200 …' in ROLES order."""
    return dict(zip(ROLES, (int(x) for x in spec.split()), strict=True))


GETS = {
    # path: anon marketer desk rep smgr manager admin
    "/api/v1/leads/": "401 200 200 200 200 200 200",
    "/api/v1/leads/{lead}/": "401 200 200 200 200 200 200",
    "/api/v1/leads/{lead}/events/": "401 200 200 200 200 200 200",
    "/api/v1/leads/{lead}/assignments/": "401 200 200 200 200 200 200",
    "/api/v1/leads/{lead}/follow-ups/": "401 200 200 200 200 200 200",
    "/api/v1/leads/export/": "401 200 200 200 200 200 200",
    # PIPL data-subject requests: the lead desk and administrators only
    "/api/v1/leads/{lead}/personal-data/": "401 403 200 403 403 403 200",
    "/api/v1/channels/": "401 200 200 200 200 200 200",
    "/api/v1/channels/seo/": "401 200 200 200 200 200 200",
    "/api/v1/campaigns/": "401 200 200 200 200 200 200",
    "/api/v1/campaigns/{campaign}/": "401 200 200 404 404 200 200",
    "/api/v1/campaigns/{campaign}/costs/": "401 200 200 404 404 200 200",
    "/api/v1/imports/": "401 200 200 200 200 200 200",
    "/api/v1/teams/": "401 200 200 200 200 200 200",
    "/api/v1/teams/{team}/": "401 404 200 200 200 200 200",
    "/api/v1/teams/{team}/members/": "401 404 200 200 200 200 200",
    "/api/v1/assignment-rules/": "401 200 200 200 200 200 200",
    "/api/v1/assignment-rules/{rule}/": "401 404 200 404 200 200 200",
    "/api/v1/scoring-rules/": "401 200 200 200 200 200 200",
    "/api/v1/scoring-rules/{srule}/": "401 200 200 404 200 200 200",
    "/api/v1/grade-thresholds/": "401 200 200 403 200 200 200",
    "/api/v1/rescore-jobs/": "401 200 200 200 200 200 200",
    "/api/v1/sla-policies/": "401 200 200 200 200 200 200",
    "/api/v1/sla-policies/B/": "401 200 200 200 200 200 200",
    "/api/v1/reports/funnel/": "401 200 200 403 200 200 200",
    "/api/v1/reports/channel-roi/": "401 200 200 403 200 200 200",
    "/api/v1/reports/campaign-roi/": "401 200 200 403 200 200 200",
    "/api/v1/reports/grade-calibration/": "401 200 200 403 200 200 200",
    "/api/v1/reports/scorecards/": "401 200 200 200 200 200 200",
    "/api/v1/reports/follow-up-compliance/": "401 403 200 200 200 200 200",
    "/api/v1/reports/forecast/": "401 403 403 200 200 200 200",
    "/api/schema/": "200 200 200 200 200 200 200",  # public: the contract, no data
}  # fmt: skip
WRITES = [
    # method, path, body, expected per role
    ("post", "/api/v1/leads/", {"name": "Matrix", "email": "m@x.cn"},
     "401 201 200 403 403 403 200"),
    # a marketer edits only unowned leads of their campaigns; this one is a rep's SQL
    ("patch", "/api/v1/leads/{lead}/", {"title": "CTO"}, "401 403 200 200 200 403 200"),
    ("post", "/api/v1/leads/{lead}/qualify/", {"grade": "A", "reason": "x"},
     "401 403 409 403 403 403 409"),
    ("post", "/api/v1/leads/{lead}/to_opportunity/", {"expected_amount": "1000"},
     "401 403 403 200 409 403 409"),
    ("post", "/api/v1/leads/{lead}/consult/", {"decision": "save", "timeline": "1m",
                                               "decision_role": "user"},
     "401 403 200 403 403 403 200"),
    # PIPL erasure: the desk erases; the administrator then finds it erased (409)
    ("post", "/api/v1/leads/{lead}/erase/", {"confirm": True},
     "401 403 200 403 403 403 409"),
    ("post", "/api/v1/campaigns/", {"name": "M", "channel": "seo"},
     "401 201 403 403 403 403 201"),
    ("patch", "/api/v1/campaigns/{campaign}/", {"budget": "5"}, "401 200 403 404 404 403 200"),
    ("post", "/api/v1/campaigns/{campaign}/costs/", {"date": "2026-01-02", "amount": "1"},
     "401 201 403 404 404 403 201"),
    ("post", "/api/v1/teams/", {"name": "T-{role}"}, "401 403 201 403 403 403 201"),
    ("post", "/api/v1/assignment-rules/", {"name": "x", "strategy": "round_robin",
                                           "team": "{team}"},
     "401 403 201 403 403 403 201"),
    ("post", "/api/v1/scoring-rules/", {"name": "s-{role}", "dimension": "fit",
                                        "field": "title", "operator": "eq", "value": "x",
                                        "points": 1},
     "401 403 201 403 403 403 201"),
    ("put", "/api/v1/grade-thresholds/", {"a": 80, "b": 50, "c": 25},
     "401 403 200 403 403 403 200"),
    ("patch", "/api/v1/sla-policies/B/", {"first_response_hours": 5},
     "401 403 403 403 200 200 200"),
    ("post", "/api/v1/assignment-rules/simulate/", {"filter": {}},
     "401 403 200 403 200 200 200"),
]  # fmt: skip


def fill(path: str, world: dict, role: str) -> str:
    return path.format(role=role, **{k: v for k, v in world.items() if k != "users"})


@pytest.mark.parametrize("path", list(GETS))
def test_get_matrix(api, world, path):
    got = {}
    for role in ROLES:
        response = api(world["users"][role]).get(fill(path, world, role))
        got[role] = response.status_code
        if response.status_code >= 400:
            assert "detail" in response.json(), (role, path)
    assert got == expect(GETS[path]), path


@pytest.mark.parametrize(("method", "path", "body", "spec"), WRITES,
                         ids=[f"{m} {p}" for m, p, _, _ in WRITES])  # fmt: skip
def test_write_matrix(api, world, method, path, body, spec):
    got = {}
    for role in ROLES:
        cache.clear()
        data = {k: fill(v, world, role) if isinstance(v, str) else v for k, v in body.items()}
        if "team" in data:
            data["team"] = int(data["team"])
        response = getattr(api(world["users"][role]), method)(
            fill(path, world, role), data, format="json"
        )
        got[role] = response.status_code
    assert got == expect(spec), (method, path)


def test_capture_is_public_and_nothing_else_is(api, world):
    assert api().post("/api/v1/capture/", {"name": "x"}, format="json").status_code == 400
    assert api().get("/api/v1/capture/").status_code in (401, 405)


def test_idor_rep_cannot_touch_another_reps_lead(api, rep, outsider_rep):
    theirs = lead_in_stage(Stage.SQL, owner=outsider_rep)
    for method, suffix, body in [
        ("get", "", None), ("patch", "", {"name": "x"}), ("post", "win/", {"amount": "1",
         "signed_at": "2026-01-01"}), ("post", "follow-ups/", {"method": "call"}),
        ("get", "events/", None), ("post", "recycle/", {"reason": "x"}),
    ]:  # fmt: skip
        response = getattr(api(rep), method)(f"/api/v1/leads/{theirs.pk}/{suffix}", body,
                                             format="json")  # fmt: skip
        assert response.status_code == 404, (method, suffix)
    theirs.refresh_from_db()
    assert theirs.stage == Stage.SQL and theirs.owner == outsider_rep


def test_idor_sales_manager_cannot_see_other_team(api, sales_manager):
    other = TeamMembershipFactory()
    theirs = lead_in_stage(Stage.SQL, owner=other.user)
    assert api(sales_manager).get(f"/api/v1/leads/{theirs.pk}/").status_code == 404
    assert api(sales_manager).get(f"/api/v1/teams/{other.team.pk}/").status_code == 404


def test_events_cannot_be_written_through_the_api(api, world):
    url = f"/api/v1/leads/{world['lead']}/events/"
    admin = world["users"]["admin"]
    for method in ("post", "put", "patch", "delete"):
        assert getattr(api(admin), method)(url, {}, format="json").status_code == 405
