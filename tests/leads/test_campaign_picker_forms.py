"""The campaign picker on the forms that save (issue #17): the lead create/edit form's
source campaign, the import upload and the manager's target form search the campaigns the
user may use as they type, never render a drop-down of them all.

The endpoint ``leads/campaign-choices/?scope=lead`` answers within
``lifecycle.campaigns_usable_by`` (the desk every campaign, a marketer their own, nobody
else any), ``scope=target`` within ``target_campaign_choices`` (management every campaign);
the forms render only the blank and the chosen option, refuse a campaign out of scope with
the same message as before, treat a search sent without the script as a search (nothing is
saved), and take as many queries with 3 campaigns as with 30."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from leads.models import Lead
from targets.models import Target
from tests.factories import CampaignFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads/campaign-choices/"


@pytest.fixture
def world(marketer):
    other = UserFactory(username="rival", roles=["marketer"])
    return {
        "own": CampaignFactory(name="Spring Expo Shanghai", owner=marketer),
        "own_too": CampaignFactory(name="Autumn webinar", owner=marketer),
        "other": CampaignFactory(name="Spring rival fair", owner=other),
    }


def _names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(row["name"] for row in response.json()["results"])


def _options(html: str, name: str) -> list[tuple[str, str]]:
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S)
    assert select, html
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(0))


def _lead_data(**extra) -> dict:
    return {
        "name": "Li Lei",
        "phone": "13800138000",
        "timeline": "unknown",
        "decision_role": "unknown",
        **extra,
    }


# -- the endpoint: scope per role ---------------------------------------------------------


def test_lead_scope_desk_searches_every_campaign(api, desk, world):
    assert _names(api(desk).get(URL, {"scope": "lead", "q": "spring"})) == [
        "Spring Expo Shanghai",
        "Spring rival fair",
    ]


def test_lead_scope_marketer_searches_only_their_own(api, marketer, world):
    assert _names(api(marketer).get(URL, {"scope": "lead", "q": "spring"})) == [
        "Spring Expo Shanghai"
    ]
    assert _names(api(marketer).get(URL, {"scope": "lead"})) == [
        "Autumn webinar",
        "Spring Expo Shanghai",
    ]


@pytest.mark.parametrize("role", ["rep", "manager", "sales_manager"])
def test_lead_scope_nobody_else_gets_a_campaign(request, api, role, world):
    assert _names(api(request.getfixturevalue(role)).get(URL, {"scope": "lead"})) == []


def test_target_scope_management_every_campaign_nobody_else(api, manager, sales_manager, world):
    assert len(_names(api(manager).get(URL, {"scope": "target", "q": "spring"}))) == 2
    assert _names(api(sales_manager).get(URL, {"scope": "target"})) == []


def test_unknown_scope_is_refused(api, desk, world):
    response = api(desk).get(URL, {"scope": "everything"})
    assert response.status_code == 400
    assert "scope" in str(response.json())


def test_lead_scope_queries_do_not_grow_with_campaigns(api, desk, marketer, assert_queries_flat):
    CampaignFactory.create_batch(3, owner=marketer)
    client = api(desk)
    client.get(URL, {"scope": "lead"})
    assert_queries_flat(
        lambda: client.get(URL, {"scope": "lead", "q": "campaign"}),
        grow=lambda: CampaignFactory.create_batch(30, owner=marketer),
        max_queries=6,
    )


# -- the lead form ------------------------------------------------------------------------


def test_lead_form_renders_no_option_per_campaign(client, desk, world):
    client.force_login(desk)
    html = client.get(reverse("leads:create")).content.decode()
    assert _options(html, "source_campaign") == [("", "— none —")]
    assert 'data-lookup="/api/v1/leads/campaign-choices/?scope=lead"' in html
    assert 'name="source_campaign_search"' in html
    assert "data-searchable" not in html.split('name="source_campaign"')[1].split(">")[0]
    for campaign in world.values():
        assert campaign.name not in html


def test_lead_form_saves_a_campaign_in_scope(client, marketer, world):
    client.force_login(marketer)
    response = client.post(reverse("leads:create"), _lead_data(source_campaign=world["own"].pk))
    assert response.status_code == 302, response.context["form"].errors
    assert Lead.objects.get().source_campaign == world["own"]


def test_lead_form_refuses_a_campaign_out_of_scope(client, marketer, world):
    client.force_login(marketer)
    response = client.post(reverse("leads:create"), _lead_data(source_campaign=world["other"].pk))
    assert response.status_code == 200
    assert "Select a valid choice" in response.context["form"].errors["source_campaign"][0]
    assert not Lead.objects.exists()
    assert "Spring rival fair" not in response.content.decode()


def test_lead_form_keeps_the_chosen_campaign_named_after_an_error(client, marketer, world):
    client.force_login(marketer)
    data = _lead_data(source_campaign=world["own"].pk, email="not an email")
    response = client.post(reverse("leads:create"), data)
    assert response.status_code == 200 and not Lead.objects.exists()
    html = response.content.decode()
    own = world["own"]
    assert _options(html, "source_campaign") == [
        ("", "— none —"),
        (str(own.pk), f"{own.name} · {own.channel}"),
    ]
    assert re.search(rf'<option value="{own.pk}" selected>', html)


def test_lead_form_search_without_the_script_offers_matches_and_saves_nothing(
    client, marketer, world
):
    client.force_login(marketer)
    data = _lead_data(source_campaign_search="spring")
    response = client.post(reverse("leads:create"), data)
    assert response.status_code == 200
    assert not Lead.objects.exists()
    errors = response.context["form"].errors["source_campaign"]
    assert "Choose one of the campaigns found for “spring”" in errors[0]
    html = response.content.decode()
    own = world["own"]
    assert _options(html, "source_campaign") == [
        ("", "— none —"),
        (str(own.pk), f"{own.name} · {own.channel}"),
    ]
    assert 'value="spring"' not in html  # the box comes back empty: the next submit saves


def test_lead_edit_keeps_the_current_campaign_out_of_scope(client, desk, marketer, world):
    lead = LeadFactory(source_campaign=world["other"])
    client.force_login(desk)
    html = client.get(reverse("leads:edit", args=[lead.pk])).content.decode()
    options = _options(html, "source_campaign")
    assert [value for value, _ in options] == ["", str(world["other"].pk)]
    assert re.search(rf'<option value="{world["other"].pk}" selected>', html)


def test_lead_form_queries_do_not_grow_with_campaigns(
    client, desk, marketer, world, assert_queries_flat
):
    lead = LeadFactory(source_campaign=world["own"])
    client.force_login(desk)
    grow = lambda: CampaignFactory.create_batch(30, owner=marketer)  # noqa: E731
    assert_queries_flat(lambda: client.get(reverse("leads:create")), grow=grow)
    assert_queries_flat(lambda: client.get(reverse("leads:edit", args=[lead.pk])), grow=grow)
    assert_queries_flat(
        lambda: client.post(reverse("leads:create"), {"source_campaign_search": "campaign"}),
        grow=grow,
    )


# -- the import upload --------------------------------------------------------------------


def test_import_upload_renders_no_option_per_campaign(client, marketer, world):
    client.force_login(marketer)
    own = world["own"]
    html = client.get(reverse("imports:new"), {"campaign": own.pk}).content.decode()
    assert _options(html, "campaign") == [
        ("", "— choose a campaign —"),
        (str(own.pk), f"{own.name} · {own.channel}"),
    ]
    assert 'data-lookup="/api/v1/leads/campaign-choices/?scope=lead"' in html
    assert "Autumn webinar" not in html


def test_import_upload_refuses_a_campaign_out_of_scope(client, marketer, world):
    client.force_login(marketer)
    response = client.post(reverse("imports:new"), {"campaign": world["other"].pk})
    assert "Select a valid choice" in response.context["form"].errors["campaign"][0]
    assert "Spring rival fair" not in response.content.decode()


def test_import_upload_search_without_the_script_offers_matches(client, marketer, world):
    client.force_login(marketer)
    response = client.post(reverse("imports:new"), {"campaign_search": "SPRING"})
    assert "campaign" in response.context["form"].errors
    values = [value for value, _ in _options(response.content.decode(), "campaign")]
    assert values == ["", str(world["own"].pk)]


def test_import_upload_queries_do_not_grow_with_campaigns(
    client, desk, marketer, world, assert_queries_flat
):
    client.force_login(desk)
    chosen = world["own"].pk
    assert_queries_flat(
        lambda: client.get(reverse("imports:new"), {"campaign": chosen}),
        grow=lambda: CampaignFactory.create_batch(30, owner=marketer),
    )


# -- the target form ----------------------------------------------------------------------


def test_target_form_renders_no_option_per_campaign(client, manager, world):
    client.force_login(manager)
    html = client.get(reverse("targets:list")).content.decode()
    assert [value for value, _ in _options(html, "campaign")] == [""]
    assert 'data-lookup="/api/v1/leads/campaign-choices/?scope=target"' in html
    for campaign in world.values():
        assert campaign.name not in html


def test_target_form_saves_a_campaign_target(client, manager, world):
    client.force_login(manager)
    data = {"period": "2026-12", "metric": "leads", "campaign": world["other"].pk, "value": "5"}
    response = client.post(reverse("targets:create"), data)
    assert response.status_code == 302
    assert Target.objects.get().campaign == world["other"]


def test_target_form_refuses_an_unknown_campaign(client, manager, world):
    client.force_login(manager)
    data = {"period": "2026-12", "metric": "leads", "campaign": 999999, "value": "5"}
    response = client.post(reverse("targets:create"), data, follow=True)
    assert "Select a valid choice" in response.content.decode()
    assert not Target.objects.exists()


def test_target_form_search_without_the_script_offers_matches(client, manager, world):
    client.force_login(manager)
    data = {"period": "2026-12", "metric": "leads", "campaign_search": "rival", "value": "5"}
    response = client.post(reverse("targets:create"), data)
    assert response.status_code == 302 and "campaign_search=rival" in response["Location"]
    assert not Target.objects.exists()
    html = client.get(response["Location"]).content.decode()
    assert [value for value, _ in _options(html, "campaign")] == ["", str(world["other"].pk)]


def test_target_form_queries_do_not_grow_with_campaigns(
    client, manager, marketer, world, assert_queries_flat
):
    client.force_login(manager)
    url = reverse("targets:list")
    grow = lambda: CampaignFactory.create_batch(30, owner=marketer)  # noqa: E731
    assert_queries_flat(lambda: client.get(url), grow=grow)
    assert_queries_flat(lambda: client.get(url, {"campaign_search": "campaign"}), grow=grow)
