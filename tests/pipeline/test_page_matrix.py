"""Every role, anonymous included, against every page: the expected status.

The pages are enumerated from the URL resolver, so a new page without a row in ``PAGES``
(or an explicit reason in ``NOT_PAGES``) fails ``test_every_page_has_a_row``. Expected
statuses are written out by hand from docs/architecture.md §1 (who does what), never
computed from the code under test.

Conventions: an anonymous visitor is sent to the login page (302); a page a role may not
use is 403; an object outside the user's scope is 404 (docs/architecture.md §1: 404 before
403 before 400). POST-only endpoints are posted an empty (or minimal) body, so the refusal
must come before form validation; their allowed answer is the redirect back to the page
with a message (302) or the form re-rendered with errors (400). Each request runs in a rolled-back
savepoint, so the roles see the same world.
"""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from leads.choices import Stage
from leads.models import ExportJob, ImportJob, SavedView
from notifications.models import Notification
from targets.services import target_save
from tests.factories import (
    CampaignCostFactory,
    CampaignFactory,
    LeadFactory,
    UserFactory,
    conflict_review,
    lead_in_stage,
)
from tests.pipeline.test_permission_matrix import ROLES, expect
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"

#: Resolver routes that are not pages of the app, and why they are not in ``PAGES``.
NOT_PAGES = {
    "admin/": "Django admin: its own permission system (is_staff), not our roles",
    "api/v1/": "the API: every endpoint is in test_permission_matrix.py",
    "api/schema/": "the OpenAPI document, an API endpoint (in test_permission_matrix.py)",
    "i18n/setlang/": "Django's language switch: a POST that sets a cookie for anyone",
    "static/": "static files (served by whitenoise; only mounted with DEBUG)",
    "media/": "uploaded files (only mounted with DEBUG)",
}


@pytest.fixture
def world(marketer, desk, rep, sales_manager, manager, team):
    from assignment.services import rule_save
    from scoring.models import ScoringRule

    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    campaign = CampaignFactory(owner=marketer)
    cost = CampaignCostFactory(campaign=campaign)
    lead = lead_in_stage(Stage.SQL, owner=rep, source_campaign=campaign, desk=desk)
    pooled = lead_in_stage(Stage.MQL, in_pool=True, desk=desk)
    rule = rule_save(actor=desk, name="r", conditions=[], strategy="round_robin", team=team)
    job = ImportJob.objects.create(
        campaign=campaign, file="imports/x.csv", original_name="x.csv", file_kind="csv",
        headers=["name"], mapping={"0": "name"}, created_by=marketer,
    )  # fmt: skip
    hook = Webhook.objects.create(
        name="robot", kind="generic", url="https://hooks.example.com/in", secret="s3cret",
        events=["lead_assigned"],
    )  # fmt: skip
    return {
        "users": {"anon": None, "marketer": marketer, "desk": desk, "rep": rep,
                  "smgr": sales_manager, "manager": manager, "admin": admin},
        "lead": lead.pk, "pooled": pooled.pk, "campaign": campaign.pk, "cost": cost.pk,
        "key": campaign.public_key, "team": team.pk, "member": team.memberships.first().pk,
        "rule": rule.pk, "srule": ScoringRule.objects.first().pk, "job": job.pk,
        "token": uuid.UUID(int=1), "review": conflict_review(LeadFactory()).pk,
        "view": SavedView.objects.create(owner=rep, name="Mine", query="grade=A").pk,
        "hook": hook.pk,
        "export": ExportJob.objects.create(requested_by=rep, file_format="csv",
                                           status="running").pk,
        "notification": Notification.objects.create(user=rep, event="lead_assigned", text="x").pk,
        "target": target_save(actor=manager, period="2026-12", metric="revenue", value=9,
                              user=rep).pk,
    }  # fmt: skip


# url name: (method, path, POST body, "anon marketer desk rep smgr manager admin")
PAGES = {
    # targets (DESIGN §11): everyone reads what concerns them; managers and sales managers
    # write (the world's target is the rep's: a rep may not change it, the marketer and the
    # desk do not see it); a refused or invalid write by a writer is a message (302)
    "targets:list": ("get", "/targets/?period=2026-12", None, "302 200 200 200 200 200 200"),
    "targets:export": (
        "get",
        "/targets/export/?period=2026-12",
        None,
        "302 200 200 200 200 200 200",
    ),
    "targets:create": ("post", "/targets/new/", {}, "302 403 403 403 302 302 302"),
    "targets:copy": (
        "post",
        "/targets/copy/",
        {"period": "2026-12"},
        "302 403 403 403 302 302 302",
    ),
    "targets:import": ("post", "/targets/import/", {}, "302 403 403 403 302 302 302"),
    "targets:value": (
        "post",
        "/targets/{target}/value/",
        {"value": "5"},
        "302 404 404 403 302 302 302",
    ),
    "targets:delete": ("post", "/targets/{target}/delete/", {}, "302 404 404 403 302 302 302"),
    "reports:attainment": (
        "get",
        "/reports/attainment/?period=2026-12",
        None,
        "302 200 200 200 200 200 200",
    ),
    # the agreement is a report page: report readers (a rep has only their own figures)
    "reports:agreement": (
        "get",
        "/reports/agreement/?period=2026-12",
        None,
        "302 200 200 403 200 200 200",
    ),
    # layout
    "home": ("get", "/", None, "302 302 302 302 302 302 302"),  # a redirect to the lead list
    "login": ("get", "/accounts/login/", None, "200 200 200 200 200 200 200"),
    "logout": ("post", "/accounts/logout/", {}, "302 302 302 302 302 302 302"),
    "healthz": ("get", "/healthz", None, "200 200 200 200 200 200 200"),
    "api-docs": ("get", "/api/docs/", None, "200 200 200 200 200 200 200"),
    # leads: everyone signed in works from the lead list (visibility inside,
    # docs/architecture.md §1)
    "leads:list": ("get", "/leads/", None, "302 200 200 200 200 200 200"),
    "export-leads": ("get", "/leads/export/", None, "302 200 200 200 200 200 200"),
    # an export job is its requester's only (the rep's, still running: the download sends
    # them back to the job's page)
    "leads:export-job": ("get", "/leads/exports/{export}/", None, "302 404 404 200 404 404 404"),
    "leads:export-download": (
        "get",
        "/leads/exports/{export}/download/",
        None,
        "302 404 404 302 404 404 404",
    ),
    "leads:create": ("get", "/leads/new/", None, "302 200 200 403 403 403 200"),
    # the global search: everyone signed in, results within their own visibility
    "leads:search": ("get", "/leads/search/?q=Lead", None, "302 200 200 200 200 200 200"),
    # the lists' bulk bar: a refusal (here: no action chosen) is a message, always 302
    "leads:bulk": ("post", "/leads/bulk/", {}, "302 302 302 302 302 302 302"),
    # saved views: everyone saves their own (an empty name is a message); only the owner
    # deletes one, and someone else's private view is not found
    "leads:saved_view_create": ("post", "/leads/views/", {}, "302 302 302 302 302 302 302"),
    "leads:saved_view_delete": ("post", "/leads/views/{view}/delete/", {},
                                "302 404 404 302 404 404 404"),
    "leads:detail": ("get", "/leads/{lead}/", None, "302 200 200 200 200 200 200"),
    # management reads everything and edits nothing
    # a marketer edits only unowned leads of their campaigns; this one is a rep's SQL
    "leads:edit": ("get", "/leads/{lead}/edit/", None, "302 403 200 200 200 403 200"),
    # a refused lifecycle action is a message on the lead page, always 302
    # (docs/architecture.md §1)
    "leads:action": ("post", "/leads/{lead}/follow_up/", {}, "302 302 302 302 302 302 302"),
    # data-subject requests (PIPL): the desk and administrators only; a refused erasure
    # (here: not confirmed) is a message on the lead page
    "leads:personal_data": ("get", "/leads/{lead}/personal-data/", None,
                            "302 403 200 403 403 403 200"),
    "leads:erase": ("post", "/leads/{lead}/erase/", {}, "302 403 302 403 403 403 302"),
    # the lead desk's workspace
    "leads:desk": ("get", "/leads/desk/", None, "302 403 200 403 403 403 200"),
    "leads:desk_rejected": ("get", "/leads/desk/rejected/", None,
                            "302 403 200 403 403 403 200"),
    "leads:desk_reviews": ("get", "/leads/desk/reviews/", None, "302 403 200 403 403 403 200"),
    "leads:desk_review_decide": ("post", "/leads/desk/reviews/{review}/keep/", {},
                                 "302 403 302 403 403 403 302"),
    "leads:desk_bulk": ("post", "/leads/desk/bulk/", {}, "302 403 302 403 403 403 302"),
    "leads:desk_consult": ("get", "/leads/desk/{lead}/consult/", None,
                           "302 403 200 403 403 403 200"),
    "leads:desk_set_grade": ("post", "/leads/desk/{lead}/grade/", {},
                             "302 403 302 403 403 403 302"),
    "leads:desk_reset_grade": ("post", "/leads/desk/{lead}/reset-grade/", {},
                               "302 403 302 403 403 403 302"),
    "leads:desk_assign": ("post", "/leads/desk/{lead}/assign/", {},
                          "302 403 302 403 403 403 302"),
    "leads:desk_disqualify": ("post", "/leads/desk/{lead}/disqualify/", {},
                              "302 403 302 403 403 403 302"),
    # campaigns: marketing, the desk and management; sales see none (list 403, one 404)
    "campaigns:list": ("get", "/campaigns/", None, "302 200 200 403 403 200 200"),
    "campaigns:create": ("get", "/campaigns/new/", None, "302 200 403 403 403 403 200"),
    "campaigns:detail": ("get", "/campaigns/{campaign}/", None, "302 200 200 404 404 200 200"),
    "campaigns:edit": ("get", "/campaigns/{campaign}/edit/", None,
                       "302 200 403 404 404 403 200"),
    # an empty cost line: the owner gets the form back with errors (400)
    "campaigns:cost-add": ("post", "/campaigns/{campaign}/costs/", {},
                           "302 400 403 404 404 403 400"),
    "campaigns:cost-delete": ("post", "/campaigns/{campaign}/costs/{cost}/delete/", {},
                              "302 302 403 404 404 403 302"),
    # imports: marketing and the desk import, management reads
    "imports:list": ("get", "/imports/", None, "302 200 200 403 403 200 200"),
    "imports:new": ("get", "/imports/new/", None, "302 200 200 403 403 403 200"),
    # a job that no longer waits for its mapping (or not this user's): back to the upload page
    "imports:mapping": ("get", "/imports/new/{job}/", None, "302 302 302 403 403 403 302"),
    "imports:detail": ("get", "/imports/{job}/", None, "302 200 200 403 403 200 200"),
    # the public capture form: no login
    "capture-form": ("get", "/f/{key}/", None, "200 200 200 200 200 200 200"),
    # scoring: the desk edits; marketing, management and sales managers read
    "scoring:index": ("get", "/scoring/", None, "302 200 200 403 200 200 200"),
    "scoring:rule_create": ("get", "/scoring/rules/new/", None, "302 403 200 403 403 403 200"),
    "scoring:rule_edit": ("get", "/scoring/rules/{srule}/edit/", None,
                          "302 403 200 403 403 403 200"),
    "scoring:rule_delete": ("get", "/scoring/rules/{srule}/delete/", None,
                            "302 403 200 403 403 403 200"),
    "scoring:thresholds": ("get", "/scoring/thresholds/", None, "302 403 302 403 403 403 302"),
    # assignment: the desk edits rules; sales managers their own teams; management reads
    "assignment:index": ("get", "/assignment/", None, "302 403 200 403 200 200 200"),
    "assignment:member_add": ("get", "/assignment/teams/{team}/members/new/", None,
                              "302 403 200 403 200 403 200"),
    "assignment:member_edit": ("get", "/assignment/teams/{team}/members/{member}/edit/", None,
                               "302 403 200 403 200 403 200"),
    "assignment:rule_create": ("get", "/assignment/rules/new/", None,
                               "302 403 200 403 403 403 200"),
    "assignment:rule_edit": ("get", "/assignment/rules/{rule}/edit/", None,
                             "302 403 200 403 403 403 200"),
    "assignment:rule_toggle": ("post", "/assignment/rules/{rule}/toggle/", {},
                               "302 403 302 403 403 403 302"),
    "assignment:rule_delete": ("get", "/assignment/rules/{rule}/delete/", None,
                               "302 403 200 403 403 403 200"),
    # GET shows the policy on the assignment page
    "assignment:pool_policy": ("get", "/assignment/pool-policy/", None,
                               "302 403 302 403 403 302 302"),
    "assignment:simulate": ("get", "/assignment/simulate/", None, "302 403 200 403 200 200 200"),
    "assignment:route": ("get", "/assignment/route/", None, "302 403 200 403 200 403 200"),
    # the pool (公海) and "new for me": salespeople
    "assignment:pool": ("get", "/assignment/pool/", None, "302 403 403 200 200 403 200"),
    "assignment:claim": ("post", "/assignment/pool/{pooled}/claim/", {},
                         "302 403 403 302 302 403 302"),
    "assignment:new_for_me": ("get", "/assignment/new-for-me/", None,
                              "302 403 403 200 200 403 200"),
    # reports: as the report endpoints (test_permission_matrix.py)
    "reports:index": ("get", "/reports/", None, "302 200 200 403 200 200 200"),
    "reports:channel": ("get", "/reports/channel/website/", None, "302 200 200 403 200 200 200"),
    # managers recompute the dashboard's reports; an empty form goes back to the dashboard
    "reports:refresh": ("post", "/reports/refresh/", {}, "302 403 403 403 403 302 302"),
    "reports:scoreboard": ("get", "/reports/scoreboard/", None, "302 200 200 403 200 200 200"),
    # a rep gets their own card only
    "reports:scorecards": ("get", "/reports/scorecards/", None, "302 200 200 200 200 200 200"),
    "reports:grade_calibration": ("get", "/reports/grade-calibration/", None,
                                  "302 200 200 403 200 200 200"),
    # the forecast: sales and managers; marketing and the desk own no deals
    "reports:forecast": ("get", "/reports/forecast/", None, "302 403 403 200 200 200 200"),
    # the sales workspace: anyone's own open leads; the team page for who runs teams
    "sales:my_leads": ("get", "/sales/", None, "302 200 200 200 200 200 200"),
    "sales:team": ("get", "/sales/team/", None, "302 403 200 403 200 200 200"),
    # reassigning is the desk's and the team manager's, not management's
    # (docs/architecture.md §1)
    "sales:reassign": ("post", "/sales/team/leads/{lead}/reassign/", {"team": "{team}"},
                       "302 403 302 403 302 403 302"),
    # SLA: policies are readable by all (as the API), compliance by who is measured
    "sla:policies": ("get", "/sla/", None, "302 200 200 200 200 200 200"),
    "sla:compliance": ("get", "/sla/compliance/", None, "302 403 200 200 200 200 200"),
    # outgoing webhooks: configuration, administrators only (DESIGN §12)
    "webhooks:list": ("get", "/webhooks/", None, "302 403 403 403 403 403 200"),
    "webhooks:create": ("get", "/webhooks/new/", None, "302 403 403 403 403 403 200"),
    "webhooks:deliveries": ("get", "/webhooks/{hook}/", None, "302 403 403 403 403 403 200"),
    "webhooks:edit": ("get", "/webhooks/{hook}/edit/", None, "302 403 403 403 403 403 200"),
    "webhooks:test": ("post", "/webhooks/{hook}/test/", {}, "302 403 403 403 403 403 302"),
    "webhooks:delete": ("post", "/webhooks/{hook}/delete/", {}, "302 403 403 403 403 403 302"),
    # each user's own pages: notifications (another user's one is 404), settings, today
    "notifications:list": ("get", "/me/notifications/", None, "302 200 200 200 200 200 200"),
    "notifications:read": ("post", "/me/notifications/{notification}/read/", {},
                           "302 404 404 302 404 404 404"),
    "notifications:read_all": ("post", "/me/notifications/read-all/", {},
                               "302 302 302 302 302 302 302"),
    "notifications:settings": ("get", "/me/settings/", None, "302 200 200 200 200 200 200"),
    "notifications:today": ("get", "/me/today/", None, "302 200 200 200 200 200 200"),
}  # fmt: skip


def _routes(patterns=None, prefix: str = "", namespace: str = ""):
    """(route, url name) of every pattern the root resolver serves."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            yield from _routes(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield route, name or route


def _is_page(route: str) -> bool:
    return not any(route.startswith(prefix) for prefix in NOT_PAGES)


def test_every_page_has_a_row():
    served = {name for route, name in _routes() if _is_page(route)}
    assert served - set(PAGES) == set(), "pages without an expected status in PAGES"
    assert set(PAGES) - served == set(), "rows for pages that no longer exist"


def _fill(value: str, world: dict) -> str:
    return value.format(**{k: v for k, v in world.items() if k != "users"})


def _request(world: dict, role: str, method: str, path: str, body: dict | None):
    client = Client()
    user = world["users"][role]
    if user is not None:
        client.force_login(user)
    cache.clear()  # throttles and cached configuration start equal for every role
    with transaction.atomic():
        if method == "post":
            data = {key: _fill(value, world) for key, value in (body or {}).items()}
            response = client.post(path, data)
        else:
            response = client.get(path)
        transaction.set_rollback(True)
    return response


@pytest.mark.parametrize("name", list(PAGES))
def test_page_matrix(world, name):
    method, path, body, spec = PAGES[name]
    path = _fill(path, world)
    got, wrong_redirects = {}, []
    for role in ROLES:
        response = _request(world, role, method, path, body)
        got[role] = response.status_code
        if response.status_code == 302:
            to_login = response["Location"].startswith(LOGIN)
            if (role == "anon") != to_login and name != "logout":
                wrong_redirects.append((role, response["Location"]))
    assert got == expect(spec), name
    assert wrong_redirects == [], "only anonymous visitors are sent to the login page"
