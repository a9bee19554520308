"""Every operation of the API, as every role and as anonymous: the expected status.

The operations are enumerated from the OpenAPI schema the app serves, so a new endpoint
(or a new method on one) without a row in ``OPERATIONS`` fails
``test_every_api_operation_has_a_row``. Expected statuses are written out by hand from the
scopes of docs/architecture.md §1 (who may do what), never computed from the code under
test. Each request runs in a rolled-back savepoint, so every role meets the same world:
a lead in stage ``sql`` owned by the rep of team 1, a pooled lead, a new lead, the
marketer's campaign with a cost, a routing rule of team 1, a scoring rule.

Reading a row: ``401`` anonymous; ``404`` the object is outside the user's scope (its
existence does not leak); ``403`` visible but not allowed; ``409`` allowed but the stage is
wrong; ``400`` allowed but the body is refused; ``2xx`` done.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from leads.choices import Stage
from leads.models import ExportJob, ImportJob, SavedView
from notifications.models import Notification
from reports.choices import ReportJobOrigin, ReportJobStatus
from reports.models import ReportJob
from scoring.models import RescoreJob, ScoringRule
from targets.services import target_save
from tests.factories import (
    CampaignCostFactory,
    CampaignFactory,
    LeadFactory,
    TeamFactory,
    TeamMembershipFactory,
    UserFactory,
    conflict_review,
    lead_in_stage,
)
from tests.pipeline.test_permission_matrix import ROLES, expect
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")

# (method, schema path): (body, expected status per role in ROLES order:
#  anon marketer desk rep smgr manager admin)
OPERATIONS: dict[tuple[str, str], tuple[dict[str, Any] | None, str]] = {}


def row(method: str, path: str, spec: str, body: dict[str, Any] | None = None) -> None:
    OPERATIONS[(method, path)] = (body, spec)


# --- leads ----------------------------------------------------------------------------------
row("get", "/api/v1/leads/", "401 200 200 200 200 200 200")
row(
    "post",
    "/api/v1/leads/",
    "401 201 201 403 403 403 201",
    {"name": "Matrix {role}", "email": "m-{role}@x.cn"},
)
row("get", "/api/v1/leads/{id}/", "401 200 200 200 200 200 200")
row("put", "/api/v1/leads/{id}/", "401 403 200 200 200 403 200", {"name": "Put"})
row("patch", "/api/v1/leads/{id}/", "401 403 200 200 200 403 200", {"title": "CTO"})
row("get", "/api/v1/leads/export/", "401 200 200 200 200 200 200")
# the campaign picker: every role may search, each within its own scope
row("get", "/api/v1/leads/campaign-choices/", "401 200 200 200 200 200 200")
# Bulk: the role's actions only (recycle: the owner or their team manager; §1), run per lead.
row(
    "post",
    "/api/v1/leads/bulk/",
    "401 403 403 200 200 403 200",
    {"action": "recycle", "ids": ["{lead}"], "data": {"reason": "x"}},
)
row("get", "/api/v1/leads/{id}/events/", "401 200 200 200 200 200 200")
row("get", "/api/v1/leads/{id}/assignments/", "401 200 200 200 200 200 200")
row("get", "/api/v1/leads/{id}/follow-ups/", "401 200 200 200 200 200 200")
row("post", "/api/v1/leads/{id}/follow-ups/", "401 403 403 201 201 403 201", {"method": "call"})
row(
    "post",
    "/api/v1/leads/{id}/qualify/",
    "401 403 409 403 403 403 409",
    {"grade": "A", "reason": "x"},
)
row("post", "/api/v1/leads/{id}/disqualify/", "401 403 409 403 403 403 409", {"reason": "x"})
row(
    "post",
    "/api/v1/leads/{id}/assign/",
    "401 403 200 403 200 403 200",
    {"owner": "{other_rep}", "reason": "x"},
)
row("post", "/api/v1/leads/{id}/accept/", "401 403 403 409 409 403 409")
row("post", "/api/v1/leads/{id}/reject/", "401 403 403 409 409 403 409", {"reason": "x"})
row("post", "/api/v1/leads/{id}/recycle/", "401 403 403 200 200 403 200", {"reason": "x"})
row("post", "/api/v1/leads/{id}/claim/", "401 403 403 409 409 403 409")
row(
    "post",
    "/api/v1/leads/{id}/to_opportunity/",
    "401 403 403 200 200 403 200",
    {"expected_amount": "1000"},
)
row(
    "post",
    "/api/v1/leads/{id}/win/",
    "401 403 403 200 200 403 200",
    {"amount": "900", "signed_at": "2026-01-02"},
)
row("post", "/api/v1/leads/{id}/lose/", "401 403 403 200 200 403 200", {"reason": "x"})
row(
    "post",
    "/api/v1/leads/{id}/grade/",
    "401 403 200 403 403 403 200",
    {"grade": "A", "reason": "x"},
)
row("post", "/api/v1/leads/{id}/reset_grade/", "401 403 409 403 403 403 409")
row(
    "post",
    "/api/v1/leads/{id}/consult/",
    "401 403 200 403 403 403 200",
    {"decision": "save", "timeline": "1m", "decision_role": "user"},
)
row("get", "/api/v1/leads/{id}/personal-data/", "401 403 200 403 403 403 200")
row("post", "/api/v1/leads/{id}/erase/", "401 403 200 403 403 403 200", {"confirm": True})
row("post", "/api/v1/capture/", "400 400 400 400 400 400 400", {"name": "x"})
# --- imports --------------------------------------------------------------------------------
row("get", "/api/v1/imports/", "401 200 200 200 200 200 200")
row("post", "/api/v1/imports/", "401 415 415 403 403 403 415", {})  # multipart only
row("get", "/api/v1/imports/{id}/", "401 200 200 404 404 200 200")
row("get", "/api/v1/imports/{id}/errors/", "401 200 200 404 404 200 200")
row("get", "/api/v1/imports/{id}/rows/", "401 200 200 404 404 200 200")
row("get", "/api/v1/imports/{id}/rows/export/", "401 200 200 404 404 200 200")
# Export jobs: the requester's own only (the rep's, still running: its file is not ready).
row("get", "/api/v1/lead-exports/", "401 200 200 200 200 200 200")
row("get", "/api/v1/lead-exports/{id}/", "401 404 404 200 404 404 404")
row("get", "/api/v1/lead-exports/{id}/download/", "401 404 404 409 404 404 404")
# --- contact reviews: read as imports; the desk and administrators decide -------------------
row("get", "/api/v1/contact-reviews/", "401 200 200 200 200 200 200")  # empty for sales
row("get", "/api/v1/contact-reviews/{id}/", "401 200 200 404 404 200 200")
row("post", "/api/v1/contact-reviews/{id}/keep/", "401 403 200 404 404 403 200")
row("post", "/api/v1/contact-reviews/{id}/update_contact/", "401 403 200 404 404 403 200")
row(
    "post",
    "/api/v1/contact-reviews/{id}/different_person/",
    "401 403 200 404 404 403 200",
    {"phone": "13900009999"},
)
# --- campaigns and channels -----------------------------------------------------------------
row("get", "/api/v1/channels/", "401 200 200 200 200 200 200")
row("get", "/api/v1/channels/{code}/", "401 200 200 200 200 200 200")
row("get", "/api/v1/campaigns/", "401 200 200 200 200 200 200")
row(
    "post",
    "/api/v1/campaigns/",
    "401 201 403 403 403 403 201",
    {"name": "M {role}", "channel": "seo"},
)
row("get", "/api/v1/campaigns/{id}/", "401 200 200 404 404 200 200")
row(
    "put",
    "/api/v1/campaigns/{id}/",
    "401 200 403 404 404 403 200",
    {"name": "Renamed", "channel": "seo"},
)
row("patch", "/api/v1/campaigns/{id}/", "401 200 403 404 404 403 200", {"budget": "5"})
row("get", "/api/v1/campaigns/{id}/costs/", "401 200 200 404 404 200 200")
row(
    "post",
    "/api/v1/campaigns/{id}/costs/",
    "401 201 403 404 404 403 201",
    {"date": "2026-01-02", "amount": "1"},
)
row(
    "put",
    "/api/v1/campaigns/{id}/costs/{cost_id}/",
    "401 200 403 404 404 403 200",
    {"date": "2026-01-03", "amount": "2"},
)
row(
    "patch",
    "/api/v1/campaigns/{id}/costs/{cost_id}/",
    "401 200 403 404 404 403 200",
    {"amount": "3"},
)
row("delete", "/api/v1/campaigns/{id}/costs/{cost_id}/", "401 204 403 404 404 403 204")
# --- scoring --------------------------------------------------------------------------------
row("get", "/api/v1/scoring-rules/", "401 200 200 200 200 200 200")
row("post", "/api/v1/scoring-rules/", "401 403 201 403 403 403 201",
    {"name": "s-{role}", "dimension": "fit", "field": "title", "operator": "eq", "value": "x",
     "points": 1})  # fmt: skip
row("get", "/api/v1/scoring-rules/{id}/", "401 200 200 404 200 200 200")
row("put", "/api/v1/scoring-rules/{id}/", "401 403 200 404 403 403 200",
    {"name": "s-put", "dimension": "fit", "field": "title", "operator": "eq", "value": "y",
     "points": 2})  # fmt: skip
row("patch", "/api/v1/scoring-rules/{id}/", "401 403 200 404 403 403 200", {"points": 3})
row("delete", "/api/v1/scoring-rules/{id}/", "401 403 204 404 403 403 204")
row("get", "/api/v1/grade-thresholds/", "401 200 200 403 200 200 200")
row("put", "/api/v1/grade-thresholds/", "401 403 200 403 403 403 200", {"a": 80, "b": 50, "c": 25})
row("get", "/api/v1/rescore-jobs/", "401 200 200 200 200 200 200")
row("get", "/api/v1/rescore-jobs/{id}/", "401 200 200 404 200 200 200")
# --- teams and routing ----------------------------------------------------------------------
row("get", "/api/v1/teams/", "401 200 200 200 200 200 200")
row("post", "/api/v1/teams/", "401 403 201 403 403 403 201", {"name": "T-{role}"})
row("get", "/api/v1/teams/{id}/", "401 404 200 200 200 200 200")
row("put", "/api/v1/teams/{id}/", "401 404 200 403 403 403 200", {"name": "Renamed"})
row("patch", "/api/v1/teams/{id}/", "401 404 200 403 403 403 200", {"name": "Patched"})
row("get", "/api/v1/teams/{id}/members/", "401 404 200 200 200 200 200")
row("post", "/api/v1/teams/{id}/members/", "401 404 201 403 201 403 201", {"user": "{free_rep}"})
row(
    "put",
    "/api/v1/teams/{id}/members/{member_id}/",
    "401 404 200 403 200 403 200",
    {"user": "{rep}", "weight": 2},
)
row(
    "patch",
    "/api/v1/teams/{id}/members/{member_id}/",
    "401 404 200 403 200 403 200",
    {"available": False},
)
row("delete", "/api/v1/teams/{id}/members/{member_id}/", "401 404 204 403 204 403 204")
row("get", "/api/v1/assignment-rules/", "401 200 200 200 200 200 200")
row(
    "post",
    "/api/v1/assignment-rules/",
    "401 403 201 403 403 403 201",
    {"name": "x", "strategy": "round_robin", "team": "{team}"},
)
row("get", "/api/v1/assignment-rules/{id}/", "401 404 200 404 200 200 200")
row(
    "put",
    "/api/v1/assignment-rules/{id}/",
    "401 404 200 404 403 403 200",
    {"name": "y", "strategy": "round_robin", "team": "{team}"},
)
row("patch", "/api/v1/assignment-rules/{id}/", "401 404 200 404 403 403 200", {"priority": 5})
row("delete", "/api/v1/assignment-rules/{id}/", "401 404 204 404 403 403 204")
row("post", "/api/v1/assignment-rules/simulate/", "401 403 200 403 200 200 200", {"filter": {}})
# --- SLA and reports ------------------------------------------------------------------------
row("get", "/api/v1/sla-policies/", "401 200 200 200 200 200 200")
row("get", "/api/v1/sla-policies/{grade}/", "401 200 200 200 200 200 200")
row(
    "put",
    "/api/v1/sla-policies/{grade}/",
    "401 403 403 403 200 200 200",
    {"first_response_hours": 5, "follow_up_every_days": 3, "recycle_after_days": 14},
)
row(
    "patch",
    "/api/v1/sla-policies/{grade}/",
    "401 403 403 403 200 200 200",
    {"first_response_hours": 5},
)
for report in ("funnel", "channel-roi", "campaign-roi", "grade-calibration"):
    row("get", f"/api/v1/reports/{report}/", "401 200 200 403 200 200 200")
row("get", "/api/v1/reports/scorecards/", "401 200 200 200 200 200 200")
row("get", "/api/v1/reports/attainment/", "401 200 200 200 200 200 200")  # the visible targets
row("get", "/api/v1/reports/follow-up-compliance/", "401 403 200 200 200 200 200")
# the forecast: sales (reps their own row, sales managers their teams) and managers (§1)
row("get", "/api/v1/reports/forecast/", "401 403 403 200 200 200 200")
row("post", "/api/v1/reports/jobs/", "401 403 403 403 403 202 202", {"report": "funnel"})
# --- saved views: everyone keeps their own; the world's view is the rep's, shared with team 1
row("get", "/api/v1/saved-views/", "401 200 200 200 200 200 200")
row("post", "/api/v1/saved-views/", "401 201 201 201 201 201 201",
    {"name": "V {role}", "query": "stage=mql"})  # fmt: skip
row("get", "/api/v1/saved-views/{id}/", "401 404 404 200 200 404 404")
row("delete", "/api/v1/saved-views/{id}/", "401 404 404 204 403 404 404")
row("get", "/api/v1/reports/jobs/{id}/", "401 200 200 403 200 200 200")
# --- outgoing webhooks: configuration, administrators only (DESIGN §12) ---------------------
HOOK = {"name": "W {role}", "kind": "generic", "url": "https://hooks.example.com/in",
        "secret": "s3cret-s3cret", "events": ["lead_assigned"]}  # fmt: skip
row("get", "/api/v1/webhooks/", "401 403 403 403 403 403 200")
row("post", "/api/v1/webhooks/", "401 403 403 403 403 403 201", HOOK)
row("get", "/api/v1/webhooks/{id}/", "401 403 403 403 403 403 200")
row("put", "/api/v1/webhooks/{id}/", "401 403 403 403 403 403 200", HOOK)
row("patch", "/api/v1/webhooks/{id}/", "401 403 403 403 403 403 200", {"active": False})
row("delete", "/api/v1/webhooks/{id}/", "401 403 403 403 403 403 204")
row("get", "/api/v1/webhooks/{id}/deliveries/", "401 403 403 403 403 403 200")
row("post", "/api/v1/webhooks/{id}/test/", "401 403 403 403 403 403 202")
# --- notifications and settings: every user their own (another user's notification is 404) ----
row("get", "/api/v1/notifications/", "401 200 200 200 200 200 200")
row("get", "/api/v1/notifications/unread-count/", "401 200 200 200 200 200 200")
row("post", "/api/v1/notifications/{id}/read/", "401 404 404 200 404 404 404")
row("post", "/api/v1/notifications/read-all/", "401 200 200 200 200 200 200")
row("get", "/api/v1/me/settings/", "401 200 200 200 200 200 200")
row("put", "/api/v1/me/settings/", "401 200 200 200 200 200 200", {"language": "zh-hans"})
row("get", "/api/v1/me/today/", "401 200 200 200 200 200 200")
# --- targets (DESIGN §11): managers write all, a sales manager their team's and reps', nobody
# their own; everyone reads what concerns them (the world's target is the rep's revenue) -----
row("get", "/api/v1/targets/", "401 200 200 200 200 200 200")
row("post", "/api/v1/targets/", "401 403 403 403 201 201 201",
    {"period": "2026-12", "metric": "won", "team": "{team}", "value": "3"})  # fmt: skip
row("get", "/api/v1/targets/{id}/", "401 404 404 200 200 200 200")
row("put", "/api/v1/targets/{id}/", "401 404 404 403 200 200 200",
    {"period": "2026-12", "metric": "revenue", "user": "{rep}", "value": "5"})  # fmt: skip
row("patch", "/api/v1/targets/{id}/", "401 404 404 403 200 200 200", {"value": "7"})
row("delete", "/api/v1/targets/{id}/", "401 404 404 403 204 204 204")
row("post", "/api/v1/targets/copy-last-period/", "401 403 403 403 200 200 200",
    {"period": "2026-12"})  # fmt: skip
row("get", "/api/v1/targets/export/", "401 200 200 200 200 200 200")
row("post", "/api/v1/targets/import/", "401 403 403 403 415 415 415", {})  # multipart only
# --- authentication -------------------------------------------------------------------------
row("post", "/api/v1/auth/token/", "400 400 400 400 400 400 400", {"username": "nobody"})


def schema_operations() -> set[tuple[str, str]]:
    """(method, path) of every operation the served OpenAPI schema describes."""
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return {(method, path) for path, ops in paths.items() for method in ops if method in METHODS}


def test_every_api_operation_has_a_row():
    served = schema_operations()
    assert served - set(OPERATIONS) == set(), "API operations without an expected status"
    assert set(OPERATIONS) - served == set(), "rows for operations that no longer exist"


@pytest.fixture
def world(marketer, desk, rep, other_rep, sales_manager, manager, team):
    from assignment.services import rule_save

    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    campaign = CampaignFactory(owner=marketer)
    cost = CampaignCostFactory(campaign=campaign)
    lead = lead_in_stage(Stage.SQL, owner=rep, source_campaign=campaign, desk=desk)
    review = conflict_review(LeadFactory(), campaign=campaign)
    rule = rule_save(actor=desk, name="r", conditions=[], strategy="round_robin", team=team)
    job = ImportJob.objects.create(
        campaign=campaign, created_by=marketer, headers=["name"], mapping={"0": "name"}
    )
    free_rep = UserFactory(roles=["sales_rep"])  # in no team yet
    other_team = TeamFactory()
    TeamMembershipFactory(team=other_team)
    report_job = ReportJob.objects.create(
        key="matrix",
        origin=ReportJobOrigin.REFRESH,
        status=ReportJobStatus.DONE,
        requested_by=manager,
    )
    rescore = RescoreJob.objects.create(reason="matrix", requested_by=desk)
    LeadFactory()  # a new lead: the desk's work
    view = SavedView.objects.create(
        owner=rep, name="Team view", query="grade=A", scope="team", team=team
    )
    hook = Webhook.objects.create(
        name="robot", kind="generic", url="https://hooks.example.com/in", secret="s3cret",
        events=["lead_assigned"],
    )  # fmt: skip
    notification = Notification.objects.create(user=rep, event="lead_assigned", text="yours")
    export = ExportJob.objects.create(requested_by=rep, file_format="csv", status="running")
    target = target_save(actor=manager, period="2026-12", metric="revenue", value=9, user=rep)
    return {
        "users": {"anon": None, "marketer": marketer, "desk": desk, "rep": rep,
                  "smgr": sales_manager, "manager": manager, "admin": admin},
        "params": {
            "/api/v1/leads/": lead.pk, "/api/v1/campaigns/": campaign.pk,
            "/api/v1/imports/": job.pk, "/api/v1/teams/": team.pk,
            "/api/v1/contact-reviews/": review.pk,
            "/api/v1/assignment-rules/": rule.pk,
            "/api/v1/scoring-rules/": ScoringRule.objects.order_by("pk").first().pk,
            "/api/v1/rescore-jobs/": rescore.pk, "/api/v1/reports/jobs/": report_job.pk,
            "/api/v1/saved-views/": view.pk,
            "/api/v1/webhooks/": hook.pk,
            "/api/v1/notifications/": notification.pk,
            "/api/v1/lead-exports/": export.pk,
            "/api/v1/targets/": target.pk,
        },
        "lead": lead.pk,
        "cost_id": cost.pk, "member_id": team.memberships.get(user=rep).pk, "code": "seo",
        "grade": "B", "team": team.pk, "rep": rep.pk, "other_rep": other_rep.pk,
        "free_rep": free_rep.pk,
    }  # fmt: skip


def concrete(path: str, world: dict[str, Any]) -> str:
    if "{id}" in path:
        prefix = path.split("{id}")[0]
        path = path.replace("{id}", str(world["params"][prefix]))
    return path.format(**{k: v for k, v in world.items() if k not in ("users", "params")})


def body_for(body: dict[str, Any] | None, world: dict[str, Any], role: str) -> dict | None:
    if body is None:
        return None
    filled: dict[str, Any] = {}
    for key, value in body.items():
        if isinstance(value, list):
            value = [body_for({"v": item}, world, role)["v"] for item in value]
        if isinstance(value, str) and "{" in value:
            value = value.format(role=role, **{k: v for k, v in world.items() if k != "users"})
            value = int(value) if value.isdigit() else value
        filled[key] = value
    return filled


@pytest.mark.parametrize(("method", "path"), sorted(OPERATIONS), ids=lambda v: str(v))
def test_api_matrix(world, method, path):
    body, spec = OPERATIONS[(method, path)]
    url = concrete(path, world)
    got = {}
    for role in ROLES:
        cache.clear()  # throttles start equal for every role
        client = APIClient()
        if world["users"][role] is not None:
            client.force_authenticate(world["users"][role])
        with transaction.atomic():
            response = getattr(client, method)(url, body_for(body, world, role), format="json")
            transaction.set_rollback(True)
        got[role] = response.status_code
        if response.status_code >= 400:
            assert "detail" in response.json() or response.status_code == 400, (role, url)
    assert got == expect(spec), (method, path)
