"""channels/, campaigns/, campaigns/{id}/costs/."""

from __future__ import annotations

from decimal import Decimal

import pytest

from campaigns.models import Campaign, CampaignCost
from leads.choices import Stage
from tests.factories import CampaignCostFactory, CampaignFactory, lead_in_stage

pytestmark = pytest.mark.django_db


def test_channels_are_seeded_with_kinds(api, rep):
    rows = api(rep).get("/api/v1/channels/").json()
    assert len(rows) == 14
    kinds = {row["code"]: row["kind"] for row in rows}
    assert kinds["trade_show"] == "offline" and kinds["feed_ads"] == "online"
    assert {row["name_zh"] for row in rows} >= {"官网", "线下参展", "信息流", "自办会议"}


def test_marketer_creates_campaign_with_generated_utm(api, marketer):
    response = api(marketer).post(
        "/api/v1/campaigns/",
        {"name": "2026 CIIF Shanghai", "channel": "trade_show", "budget": "80000",
         "start_date": "2026-09-20", "end_date": "2026-09-24", "status": "planned"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["utm_campaign"] == "2026-ciif-shanghai" and body["public_key"]
    assert body["owner"] == marketer.pk and body["actual_cost"] == "0.00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "channel": "nope"}, "channel"),
        ({"name": "x", "channel": "seo", "budget": "-5"}, "budget"),
        ({"name": "x", "channel": "seo", "start_date": "2026-05-02",
          "end_date": "2026-05-01"}, "end_date"),
        ({"name": "x", "channel": "seo", "utm_campaign": "has space"}, "utm_campaign"),
        ({"name": "x", "channel": "seo", "status": "paused"}, "status"),
    ],
)  # fmt: skip
def test_bad_campaigns_are_400(api, marketer, body, field):
    response = api(marketer).post("/api/v1/campaigns/", body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert Campaign.objects.count() == 0


def test_duplicate_utm_is_400(api, marketer):
    CampaignFactory(utm_campaign="taken")
    response = api(marketer).post(
        "/api/v1/campaigns/",
        {"name": "x", "channel": "seo", "utm_campaign": "taken"},
        format="json",
    )
    assert response.status_code == 400 and "utm_campaign" in response.json()


def test_marketer_edits_only_own_campaigns(api, marketer):
    mine = CampaignFactory(owner=marketer)
    theirs = CampaignFactory()
    ok = api(marketer).patch(f"/api/v1/campaigns/{mine.pk}/", {"budget": "5"}, format="json")
    assert ok.status_code == 200 and ok.json()["budget"] == "5.00"
    refused = api(marketer).patch(f"/api/v1/campaigns/{theirs.pk}/", {"budget": "5"},
                                  format="json")  # fmt: skip
    assert refused.status_code == 403
    assert Campaign.objects.get(pk=theirs.pk).budget == Decimal("10000.00")


def test_desk_and_manager_read_sales_does_not(api, desk, manager, rep):
    campaign = CampaignFactory()
    assert api(desk).get(f"/api/v1/campaigns/{campaign.pk}/").status_code == 200
    assert api(manager).get("/api/v1/campaigns/").json()["count"] == 1
    assert api(rep).get("/api/v1/campaigns/").json()["count"] == 0
    assert api(desk).patch(f"/api/v1/campaigns/{campaign.pk}/", {"name": "x"},
                           format="json").status_code == 403  # fmt: skip


def test_costs_add_up_to_actual_cost(api, marketer):
    campaign = CampaignFactory(owner=marketer)
    client = api(marketer)
    for amount in ("1200.50", "799.50"):
        response = client.post(
            f"/api/v1/campaigns/{campaign.pk}/costs/",
            {"date": "2026-03-01", "amount": amount, "note": "展位"},
        )
        assert response.status_code == 201, response.json()
    assert client.get(f"/api/v1/campaigns/{campaign.pk}/").json()["actual_cost"] == "2000.00"
    bad = client.post(f"/api/v1/campaigns/{campaign.pk}/costs/", {"date": "2026-03-01",
                      "amount": "-1"})  # fmt: skip
    assert bad.status_code == 400
    junk = client.post(f"/api/v1/campaigns/{campaign.pk}/costs/", {"date": "yesterday",
                       "amount": "abc"})  # fmt: skip
    assert junk.status_code == 400 and {"date", "amount"} <= set(junk.json())
    cost = CampaignCost.objects.filter(campaign=campaign).first()
    assert client.delete(f"/api/v1/campaigns/{campaign.pk}/costs/{cost.pk}/").status_code == 204
    assert CampaignCost.objects.filter(campaign=campaign).count() == 1


def test_campaign_list_has_figures_and_flat_query_count(api, manager, rep, assert_queries_flat):
    def list_as_manager():
        client = api(type(manager).objects.get(pk=manager.pk))  # fresh user: no cached roles
        return client.get("/api/v1/campaigns/?page_size=100")

    def twenty_more():
        for _ in range(20):
            CampaignCostFactory(campaign=CampaignFactory())

    first = CampaignFactory()
    CampaignCostFactory(campaign=first, amount=Decimal("300"))
    lead_in_stage(Stage.MQL, source_campaign=first)
    lead_in_stage(Stage.NEW, source_campaign=first)
    assert_queries_flat(list_as_manager, grow=twenty_more)
    row = next(r for r in api(manager).get("/api/v1/campaigns/?page_size=100").json()["results"]
               if r["id"] == first.pk)  # fmt: skip
    assert (row["actual_cost"], row["leads"], row["mqls"]) == ("300.00", 2, 1)


def test_campaign_filters(api, manager):
    show = CampaignFactory()
    from campaigns.models import Channel

    show.channel = Channel.objects.get(code="trade_show")
    show.save()
    web = CampaignFactory(status="completed")
    client = api(manager)
    ids = lambda q: {r["id"] for r in client.get(f"/api/v1/campaigns/?{q}").json()["results"]}  # noqa: E731
    assert ids("kind=offline") == {show.pk}
    assert ids("channel=trade_show&channel=website") == {show.pk, web.pk}
    assert ids("status=completed") == {web.pk}
    assert client.get("/api/v1/campaigns/?kind=space").status_code == 400
