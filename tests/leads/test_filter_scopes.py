"""The lead filters' drop-downs follow the user's scope (issue #13 finding 6): reps get no
list of other people's campaigns or users, nobody is offered the admin, and a value out of
scope is refused — on the list page, the API, the export and the routing pages alike."""

from __future__ import annotations

import pytest
from django.urls import reverse

from leads.choices import Stage
from tests.factories import CampaignFactory, UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(desk, rep, other_rep, outsider_rep, sales_manager):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    mine = CampaignFactory(name="Rep's campaign")
    theirs = CampaignFactory(name="Secret launch")
    lead_in_stage(Stage.SQL, owner=rep, desk=desk, source_campaign=mine)
    lead_in_stage(Stage.SQL, owner=outsider_rep, desk=desk, source_campaign=theirs)
    return {"admin": admin, "mine": mine, "theirs": theirs}


def _choices(response, name):
    return list(response.context["filter"].form.fields[name].queryset)


def test_rep_list_page_offers_only_their_own_campaigns_and_themself(client, rep, world):
    client.force_login(rep)
    response = client.get(reverse("leads:list"))
    assert response.status_code == 200
    assert _choices(response, "campaign") == [world["mine"]]
    assert _choices(response, "touched_by") == [world["mine"]]
    assert _choices(response, "owner") == [rep]
    html = response.content.decode()
    assert "Secret launch" not in html and "root" not in html and "rep_west" not in html


def test_sales_manager_is_offered_their_team_never_the_admin(
    client, sales_manager, rep, other_rep, world
):
    client.force_login(sales_manager)
    owners = _choices(client.get(reverse("leads:list")), "owner")
    assert set(owners) == {sales_manager, rep, other_rep}


def test_desk_is_offered_every_salesperson_but_not_the_admin(client, desk, world):
    client.force_login(desk)
    response = client.get(reverse("leads:list"))
    owners = _choices(response, "owner")
    assert world["admin"] not in owners and desk not in owners
    assert {u.username for u in owners} >= {"rep", "rep2", "rep_west"}
    assert set(_choices(response, "campaign")) == {world["mine"], world["theirs"]}


def test_api_and_export_refuse_an_out_of_scope_campaign_or_owner(api, rep, outsider_rep, world):
    client = api(rep)
    for query in (f"campaign={world['theirs'].pk}", f"touched_by={world['theirs'].pk}",
                  f"owner={outsider_rep.pk}", f"owner={world['admin'].pk}"):  # fmt: skip
        listed = client.get(f"/api/v1/leads/?{query}")
        assert listed.status_code == 400, query
        assert listed.json()["detail"]
        assert client.get(f"/api/v1/leads/export/?{query}").status_code == 400, query
    mine = client.get(f"/api/v1/leads/?campaign={world['mine'].pk}&owner={rep.pk}")
    assert mine.status_code == 200 and mine.json()["count"] == 1


def test_list_page_refuses_an_out_of_scope_campaign(client, rep, world):
    client.force_login(rep)
    response = client.get(reverse("leads:list"), {"campaign": world["theirs"].pk})
    assert response.status_code == 200
    assert response.context["filter"].form.errors["campaign"]
    assert "Secret launch" not in response.content.decode()
