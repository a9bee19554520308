"""Attribution credits and the funnel/ROI reports against a hand-computed scenario."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.test import TestCase
from django.utils import timezone

from campaigns.models import Channel
from leads import lifecycle
from leads.models import LeadTouch
from tests.factories import CampaignCostFactory, CampaignFactory

pytestmark = pytest.mark.django_db


def campaign_on(code: str, name: str):
    campaign = CampaignFactory(name=name)
    campaign.channel = Channel.objects.get(code=code)
    campaign.save()
    return campaign


@pytest.fixture
def world(desk, marketer, rep):
    web = campaign_on("website", "Web")
    show = campaign_on("trade_show", "Show")
    seo = campaign_on("seo", "SEO only cost")
    today = timezone.localdate()
    CampaignCostFactory(campaign=web, date=today, amount=Decimal("1000"))
    CampaignCostFactory(campaign=show, date=today, amount=Decimal("3000"))
    CampaignCostFactory(campaign=show, date=today - dt.timedelta(days=400), amount=Decimal("500"))
    CampaignCostFactory(campaign=seo, date=today, amount=Decimal("200"))

    def arrive(campaign, phone, name="x"):
        # the desk enters them: the campaigns belong to several marketers (DESIGN §1)
        return lifecycle.lead_create(
            actor=desk, fields={"name": name, "phone": phone}, campaign=campaign
        ).lead

    with TestCase.captureOnCommitCallbacks(execute=True):
        one = arrive(web, "13900007001", "one")
        arrive(show, "13900007001")
        lifecycle.lead_qualify(lead=one, actor=desk, grade="A", reason="call")
        lifecycle.lead_assign(lead=one, actor=desk, owner=rep)
        lifecycle.lead_accept(lead=one, actor=rep)
        arrive(web, "13900007001")  # after SQL: earns no credit
        lifecycle.lead_win(lead=one, actor=rep, amount="10000", signed_at=today)
        two = arrive(show, "13900007002", "two")
        lifecycle.lead_qualify(lead=two, actor=desk, grade="B", reason="call")
        three = arrive(web, "13900007003", "three")
        arrive(show, "13900007003")
        arrive(web, "13900007003")
    return {"web": web, "show": show, "seo": seo, "one": one, "two": two, "three": three}


def credits(lead, model):
    return [getattr(t, f"credit_{model}") for t in lead.touches.order_by("occurred_at", "id")]


def test_credits_per_model_and_they_add_up_to_one(world):
    one, three = world["one"], world["three"]
    assert credits(one, "first_touch") == [1, 0, 0]
    assert credits(one, "last_touch") == [0, 1, 0]
    assert credits(one, "linear") == [0.5, 0.5, 0]
    assert credits(one, "u_shaped") == [0.5, 0.5, 0]
    assert credits(three, "u_shaped") == [0.4, 0.2, 0.4]
    assert credits(three, "linear") == pytest.approx([1 / 3] * 3)
    for model in ("first_touch", "last_touch", "linear", "u_shaped"):
        totals = LeadTouch.objects.values("lead").annotate(s=Sum(f"credit_{model}"))
        assert all(row["s"] == pytest.approx(1.0) for row in totals)


def report(api, user, path, **params):
    today = timezone.localdate()
    query = {"from": (today - dt.timedelta(days=7)).isoformat(), "to": today.isoformat(), **params}
    response = api(user).get(f"/api/v1/reports/{path}/", query)
    assert response.status_code == 200, response.json()
    return response.json()


def by(rows, key):
    return {row[key]: row for row in rows}


def test_channel_roi_first_touch(api, manager, world):
    body = report(api, manager, "channel-roi")
    assert body["model"] == "first_touch"
    rows = by(body["rows"], "channel")
    assert set(rows) == {"website", "trade_show", "seo"}
    web, show, seo = rows["website"], rows["trade_show"], rows["seo"]
    assert (web["leads"], web["mqls"], web["sqls"], web["won"]) == (2, 1, 1, 1)
    assert (web["cost"], web["revenue"], web["cpl"], web["cac"]) == (
        "1000.00",
        "10000.00",
        "500.00",
        "1000.00",
    )
    assert web["roi"] == 9.0 and web["mql_rate"] == 0.5 and web["win_rate"] == 1.0
    assert (show["leads"], show["mqls"], show["cost"], show["roi"]) == (1, 1, "3000.00", -1.0)
    assert (seo["leads"], seo["cpl"], seo["mql_rate"], seo["roi"]) == (0, None, None, -1.0)
    totals = body["totals"]
    assert (totals["leads"], totals["cost"], totals["revenue"]) == (3, "4200.00", "10000.00")


def test_channel_roi_linear_and_u_shaped(api, manager, world):
    linear = by(report(api, manager, "channel-roi", model="linear")["rows"], "channel")
    assert linear["website"]["leads"] == pytest.approx(0.5 + 2 / 3, abs=1e-4)
    assert linear["trade_show"]["leads"] == pytest.approx(0.5 + 1 + 1 / 3, abs=1e-4)
    assert linear["website"]["revenue"] == "5000.00" == linear["trade_show"]["revenue"]
    u_shaped = by(report(api, manager, "channel-roi", model="u_shaped")["rows"], "channel")
    assert u_shaped["website"]["leads"] == 1.3 and u_shaped["trade_show"]["leads"] == 1.7
    last = by(report(api, manager, "channel-roi", model="last_touch")["rows"], "channel")
    assert last["trade_show"]["won"] == 1 and last["website"]["won"] == 0


def test_kind_filter_and_campaign_drill_down(api, manager, world):
    offline = report(api, manager, "channel-roi", channel_kind="offline")["rows"]
    assert [row["channel"] for row in offline] == ["trade_show"]
    campaigns = by(report(api, manager, "campaign-roi", channel="website")["rows"], "campaign")
    assert set(campaigns) == {world["web"].pk}
    assert campaigns[world["web"].pk]["revenue"] == "10000.00"


def test_funnel(api, manager, world):
    body = report(api, manager, "funnel")
    assert [s["count"] for s in body["stages"]] == [3, 2, 1, 0, 1]
    assert body["totals"]["revenue"] == "10000.00" and body["totals"]["cost"] == "4200.00"


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-05-02", "to": "2026-05-01"},
        {"model": "time_decay"},
        {"channel_kind": "space"},
        {"from": "2010-01-01", "to": "2026-01-01"},
        {"from": "yesterday"},
        {"channel": "fax"},
        {"from": "9999-12-30", "to": "9999-12-31"},
        {"from": "0001-01-01", "to": "0001-01-02"},
    ],
)
def test_bad_report_parameters_are_400(api, manager, params):
    response = api(manager).get("/api/v1/reports/channel-roi/", params)
    assert response.status_code == 400 and "detail" in response.json()


def test_sales_rep_cannot_read_roi(api, rep):
    assert api(rep).get("/api/v1/reports/channel-roi/").status_code == 403
