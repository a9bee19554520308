"""Revenue and ROI on the campaign list and the campaigns API: the campaign ROI report's
credit-weighted revenue over all time, in one query whatever the number of campaigns,
sortable."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from leads import lifecycle
from reports.periods import EARLIEST
from reports.selectors import campaign_roi
from tests.factories import CampaignCostFactory
from tests.reports.test_views import campaign_on, world  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def list_page(client, user, **params):
    client.force_login(user)
    return client.get(reverse("campaigns:list"), params)


def report_rows():
    report = campaign_roi(start=EARLIEST, end=timezone.localdate(), model="first_touch")
    return {row["campaign"]: row for row in report["rows"]}


def test_list_revenue_and_roi_are_the_campaign_roi_report_over_all_time(
    client,
    marketer,
    world,  # noqa: F811
):
    # a cost outside any recent period, and a lead of last year: all time counts both
    CampaignCostFactory(
        campaign=world["show"], date=timezone.localdate() - dt.timedelta(days=400), amount=500
    )
    response = list_page(client, marketer)
    shown = {c.pk: (c, roi) for c, _spent, roi in response.context["rows"]}
    expected = report_rows()
    assert set(expected) <= set(shown)
    for pk, row in expected.items():
        campaign, roi = shown[pk]
        assert Decimal(str(campaign.revenue)).quantize(Decimal("0.01")) == row["revenue"]
        assert roi == row["roi"]
    web = shown[world["web"].pk]
    assert web[1] == 9.0  # (10,000 − 1,000) / 1,000
    html = response.content.decode()
    assert "10,000.00" in html and "+900.0%" in html
    assert "−100.0%" in html  # the show: 3,500 spent, nothing won


def test_list_sorts_by_revenue_and_roi(client, marketer, world):  # noqa: F811
    def names(sort):
        rows = list_page(client, marketer, sort=sort).context["rows"]
        return [c.name for c, _s, _r in rows]

    assert names("-revenue")[0] == "Web"
    by_roi = names("-roi")
    assert by_roi[0] == "Web"
    assert by_roi[-1] == "Free article"  # no cost: ROI undefined, last either way
    assert names("roi")[-1] == "Free article"


def test_api_gives_raw_revenue_and_roi(api, marketer, world):  # noqa: F811
    answer = api(marketer).get("/api/v1/campaigns/", {"ordering": "-revenue"})
    assert answer.status_code == 200
    rows = answer.json()["results"]
    expected = report_rows()
    by_id = {row["id"]: row for row in rows}
    assert rows[0]["id"] == world["web"].pk
    for pk, row in expected.items():
        assert Decimal(by_id[pk]["revenue"]) == row["revenue"]
        assert by_id[pk]["roi"] == row["roi"]
    assert by_id[world["free"].pk]["roi"] is None


def test_list_query_count_is_flat_with_revenue(client, marketer, desk, world, assert_queries_flat):  # noqa: F811
    def grow():
        with TestCase.captureOnCommitCallbacks(execute=True):
            for n in range(6):
                campaign = campaign_on("website", f"More {n}")
                CampaignCostFactory(campaign=campaign, amount=100)
                lifecycle.lead_create(
                    actor=desk, fields={"name": "m", "phone": f"1390000810{n}"}, campaign=campaign
                )

    client.force_login(marketer)
    url = reverse("campaigns:list")
    client.get(url)
    assert_queries_flat(lambda: client.get(url), grow=grow)
