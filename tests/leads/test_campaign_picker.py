"""The lead filters' campaign picker (issue #17 item 8): a search as you type over the
campaigns the user may filter by, never a drop-down of every campaign.

The endpoint ``leads/campaign-choices/`` answers at most 20 matches within the scope of
``lead_campaign_choices``; the pages render only the blank and the chosen option (plus the
matches of ``?campaign_search=`` for a browser without the script), still refuse a campaign
out of scope, and take as many queries with 3 campaigns as with 30."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from leads.choices import Stage
from leads.selectors import CAMPAIGN_SEARCH_LIMIT, lead_campaign_search
from tests.factories import CampaignFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads/campaign-choices/"


@pytest.fixture
def world(desk, rep, other_rep, outsider_rep, sales_manager, marketer):
    mine = CampaignFactory(name="Spring Expo Shanghai", owner=marketer)
    teammate = CampaignFactory(name="Spring webinar", owner=marketer)
    theirs = CampaignFactory(name="Spring secret launch", owner=marketer)
    unused = CampaignFactory(name="Autumn fair", owner=marketer)
    _lead(rep, mine)
    _lead(other_rep, teammate)
    _lead(outsider_rep, theirs)
    # A pooled lead (the rep's once): its campaign is not theirs to filter by.
    _lead(None, unused, in_pool=True)
    return {"mine": mine, "teammate": teammate, "theirs": theirs, "unused": unused}


def _lead(owner, campaign, *, in_pool: bool = False):
    return LeadFactory(
        owner=owner,
        in_pool=in_pool,
        stage=Stage.MQL,
        mql_at=timezone.now(),
        source_campaign=campaign,
    )


def _names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


def _options(html: str, name: str = "campaign") -> list[tuple[str, str]]:
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S)
    assert select, html
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(0))


# -- the endpoint: scope per role ---------------------------------------------------------


def test_rep_searches_only_the_source_campaigns_of_their_own_leads(api, rep, world):
    assert _names(api(rep).get(URL, {"q": "spring"})) == ["Spring Expo Shanghai"]
    assert _names(api(rep).get(URL)) == ["Spring Expo Shanghai"]
    assert _names(api(rep).get(URL, {"q": "secret"})) == []


def test_sales_manager_searches_their_teams_campaigns(api, sales_manager, world):
    names = _names(api(sales_manager).get(URL, {"q": "spring"}))
    assert names == ["Spring Expo Shanghai", "Spring webinar"]


@pytest.mark.parametrize("role", ["desk", "manager", "marketer"])
def test_desk_management_and_marketing_search_every_campaign(request, api, role, world):
    user = request.getfixturevalue(role)
    names = _names(api(user).get(URL, {"q": "SPRING"}))
    assert names == ["Spring Expo Shanghai", "Spring secret launch", "Spring webinar"]
    assert _names(api(user).get(URL, {"q": "fair"})) == ["Autumn fair"]


def test_users_without_a_lead_role_and_anonymous_get_no_campaigns(api, client, world):
    nobody = UserFactory(username="nobody", roles=[])
    assert _names(api(nobody).get(URL, {"q": "spring"})) == []
    assert client.get(URL, {"q": "spring"}).status_code in (401, 403)


# -- the endpoint: what it finds ----------------------------------------------------------


def test_search_is_case_insensitive_contains_with_names_starting_with_it_first(
    api, manager, marketer
):
    for name in ("Big Expo", "expo Beijing", "Webinar", "Another EXPO"):
        CampaignFactory(name=name, owner=marketer)
    names = _names(api(manager).get(URL, {"q": " expo "}))
    assert names == ["expo Beijing", "Another EXPO", "Big Expo"]
    rows = api(manager).get(URL, {"q": "webinar"}).json()["results"]
    assert set(rows[0]) == {"id", "name"}


def test_search_answers_at_most_twenty(api, manager, marketer):
    CampaignFactory.create_batch(CAMPAIGN_SEARCH_LIMIT + 5, owner=marketer)
    assert len(_names(api(manager).get(URL, {"q": "campaign"}))) == CAMPAIGN_SEARCH_LIMIT
    assert len(_names(api(manager).get(URL))) == CAMPAIGN_SEARCH_LIMIT


def test_search_queries_do_not_grow_with_campaigns(api, manager, marketer, assert_queries_flat):
    CampaignFactory.create_batch(3, owner=marketer)
    client = api(manager)
    client.get(URL)  # the user's roles, read once per user
    assert_queries_flat(
        lambda: client.get(URL, {"q": "campaign"}),
        grow=lambda: CampaignFactory.create_batch(30, owner=marketer),
        max_queries=6,
    )


# -- the pages ----------------------------------------------------------------------------


def test_list_page_renders_no_option_per_campaign(client, manager, marketer, world):
    without_leads = CampaignFactory.create_batch(5, owner=marketer)
    client.force_login(manager)
    html = client.get(reverse("leads:list")).content.decode()
    assert _options(html) == [("", "Any")]
    assert 'data-lookup="/api/v1/leads/campaign-choices/"' in html
    assert 'name="campaign_search"' in html
    for campaign in without_leads:
        assert campaign.name not in html


def test_chosen_campaign_stays_selected_and_named_after_a_reload(client, rep, world):
    client.force_login(rep)
    response = client.get(reverse("leads:list"), {"campaign": world["mine"].pk})
    assert not response.context["filter"].form.errors
    html = response.content.decode()
    assert _options(html) == [("", "Any"), (str(world["mine"].pk), "Spring Expo Shanghai")]
    assert re.search(rf'<option value="{world["mine"].pk}" selected>', html)
    assert [lead.source_campaign_id for lead, _ in response.context["rows"]] == [world["mine"].pk]


def test_without_the_script_the_search_box_offers_the_matches_in_scope(client, rep, world):
    client.force_login(rep)
    html = client.get(reverse("leads:list"), {"campaign_search": "spring"}).content.decode()
    assert _options(html) == [("", "Any"), (str(world["mine"].pk), "Spring Expo Shanghai")]
    assert 'value="spring"' in html
    assert "Spring secret launch" not in html and "Spring webinar" not in html


@pytest.mark.parametrize("field", ["campaign", "touched_by"])
def test_a_campaign_out_of_scope_is_refused_with_a_message(client, rep, world, field):
    client.force_login(rep)
    response = client.get(reverse("leads:list"), {field: world["theirs"].pk})
    errors = response.context["filter"].form.errors[field]
    assert "Select a valid choice" in errors[0]
    html = response.content.decode()
    assert "Select a valid choice" in html
    assert "Spring secret launch" not in html
    assert _options(html) == [("", "Any")]


def test_list_page_queries_do_not_grow_with_campaigns(
    client, manager, rep, marketer, world, assert_queries_flat
):
    chosen = world["mine"].pk

    def grow():
        for campaign in CampaignFactory.create_batch(30, owner=marketer):
            _lead(rep, campaign)

    for user in (manager, rep):
        client.force_login(user)
        url = reverse("leads:list")
        assert_queries_flat(lambda u=url: client.get(u, {"campaign": chosen}), grow=grow)
        assert_queries_flat(lambda u=url: client.get(u, {"campaign_search": "campaign"}), grow=grow)


def test_routing_simulation_page_uses_the_picker(client, manager, world, assert_queries_flat):
    client.force_login(manager)
    url = reverse("assignment:simulate")
    response = assert_queries_flat(
        lambda: client.get(url, {"campaign": world["theirs"].pk}),
        grow=lambda: CampaignFactory.create_batch(30, owner=world["theirs"].owner),
    )
    html = response.content.decode()
    assert _options(html) == [("", "Any"), (str(world["theirs"].pk), "Spring secret launch")]
    assert "Autumn fair" not in html


@pytest.mark.postgres
def test_name_search_reads_the_trigram_index_on_postgresql(manager, marketer):
    """The picker's match is the upper-cased name the trigram index holds (migration
    campaigns 0006): with sequential scans off, a plan without it would show one."""
    CampaignFactory.create_batch(5, owner=marketer)
    queryset = lead_campaign_search(manager, text="webinar")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = queryset.explain()
    assert "campaign_name_trgm" in plan, plan
    assert "Seq Scan on campaigns_campaign" not in plan, plan
