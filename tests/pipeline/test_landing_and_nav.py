"""Where each role lands (after login and at ``/``) and what its navigation offers
(issue 15, item 5): one mapping (``pipeline.context_processors.LANDINGS``), one list of
entries with role predicates (``NAVIGATION``)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

from leads.choices import Stage
from tests.factories import TeamMembershipFactory, UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db

REP_PAGES = {"today", "my_leads", "new_for_me"}


def _nav_keys(html: str) -> list[str]:
    return re.findall(r'data-nav="([a-z_]+)"', html)


def _nav_labels(html: str) -> list[str]:
    nav = html.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'data-nav="[a-z_]+"[^>]*>([^<]+)</a>', nav)


def _page(client, user, url_name: str = "leads:list") -> str:
    client.force_login(user)
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("roles", "superuser", "landing"),
    [
        (["sales_rep"], False, "notifications:today"),
        (["lead_desk"], False, "leads:desk"),
        (["marketer"], False, "campaigns:list"),
        (["sales_manager"], False, "sales:team"),
        (["manager"], False, "reports:index"),
        ([], True, "reports:index"),
        # several roles: the widest workspace wins
        (["sales_rep", "sales_manager"], False, "sales:team"),
        (["marketer", "manager"], False, "reports:index"),
    ],
)
def test_each_role_lands_on_its_workspace_after_login_and_at_home(
    client, roles, superuser, landing
):
    user = UserFactory(username="someone", roles=roles, is_superuser=superuser)
    response = client.post(
        reverse("login"), {"username": "someone", "password": "pw-test-123"}, follow=True
    )
    assert response.wsgi_request.user == user
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse(landing)
    home = client.get(reverse("home"))
    assert home.status_code == 302
    assert home["Location"] == reverse(landing)


def test_a_sales_manager_lands_on_the_team_page_not_an_empty_lead_list(client, team):
    manager = team.manager
    client.force_login(manager)
    response = client.get(reverse("home"), follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("sales:team")
    assert team.name in html
    assert "0 leads" not in html


def test_a_rep_starts_the_menu_with_their_day(client, rep):
    keys = _nav_keys(_page(client, rep))
    assert keys[:4] == ["today", "my_leads", "new_for_me", "pool"]
    assert set(keys) >= {"leads", "scorecards", "notifications", "my_settings"}
    assert not set(keys) & {"team", "desk", "assignment", "reports", "scoreboard", "admin"}


@pytest.mark.parametrize(
    ("roles", "present", "absent"),
    [
        (["lead_desk"], {"desk", "leads", "campaigns", "assignment", "scoring"}, REP_PAGES),
        (["marketer"], {"campaigns", "leads", "scoring", "reports"}, REP_PAGES | {"desk"}),
        (["manager"], {"reports", "leads", "sla", "assignment"}, REP_PAGES | {"pool", "team"}),
        (["sales_manager"], {"team", "pool", "sla", "reports"}, REP_PAGES | {"desk"}),
    ],
)
def test_the_menu_shows_only_what_the_role_uses(client, roles, present, absent):
    user = UserFactory(roles=roles)
    TeamMembershipFactory()  # a team elsewhere: nothing of it shows
    keys = set(_nav_keys(_page(client, user)))
    assert present <= keys
    assert not keys & absent


def test_a_sales_manager_who_owns_leads_gets_the_rep_pages(client, team):
    manager = team.manager
    lead_in_stage(Stage.MQL, owner=manager)
    keys = set(_nav_keys(_page(client, manager)))
    assert REP_PAGES | {"team", "pool"} <= keys


def test_only_one_page_is_called_my_leads(client, rep):
    html = _page(client, rep)
    assert _nav_labels(html).count("My leads") == 1
    client.force_login(rep)
    owned = client.get(reverse("leads:list"), {"owner": rep.pk}).content.decode()
    assert "<title>All leads I own" in owned
    assert "<h1>My leads" not in owned
    workspace = client.get(reverse("sales:my_leads")).content.decode()
    assert "<title>My leads" in workspace


def test_the_menu_folds_behind_an_accessible_button(client, rep):
    html = _page(client, rep)
    button = re.search(r"<button[^>]*data-nav-toggle[^>]*>", html)
    assert button is not None
    assert 'aria-expanded="false"' in button.group(0)
    assert 'aria-controls="topbar-menu"' in button.group(0)
    assert 'id="topbar-menu"' in html
    assert "onclick" not in html  # CSP: no inline handlers


def test_the_menu_costs_the_same_queries_whatever_the_data(client, team, assert_queries_flat):
    manager = team.manager
    lead_in_stage(Stage.SQL, owner=manager)
    client.force_login(manager)

    def grow() -> None:
        for _ in range(3):
            lead_in_stage(Stage.SQL, owner=manager)

    response = assert_queries_flat(lambda: client.get(reverse("notifications:settings")), grow=grow)
    assert 'data-nav="my_leads"' in response.content.decode()


def test_the_stylesheet_has_balanced_braces():
    """A rule left open swallows every rule after it (merges once dropped closing braces,
    so the phone layout, the notification badge and the report definitions had no style)."""
    css = (settings.BASE_DIR / "static" / "css" / "app.css").read_text()
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    depth = 0
    for number, line in enumerate(css.splitlines(), 1):
        if line[:1] not in ("", " ", "}", "@") and depth:
            raise AssertionError(f"app.css line {number} starts a rule inside another: {line}")
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"app.css line {number} closes more than it opened"
    assert depth == 0
