"""The monthly trend and channel quality queries: month buckets in the business time zone,
a constant number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from campaigns.models import Channel
from leads import lifecycle
from leads.choices import Stage
from reports.trends import channel_quality, monthly_trend, months_between
from tests.factories import CampaignCostFactory, CampaignFactory, LeadFactory, lead_in_stage

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def test_months_between_covers_partial_months():
    assert months_between(dt.date(2025, 12, 20), dt.date(2026, 2, 1)) == [
        dt.date(2025, 12, 1),
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
    ]
    assert months_between(dt.date(2026, 3, 5), dt.date(2026, 3, 5)) == [dt.date(2026, 3, 1)]


def test_months_are_cut_in_the_business_time_zone(settings):
    assert settings.TIME_ZONE == "Asia/Shanghai"
    web = CampaignFactory(channel=Channel.objects.get(code="website"))
    # 23:30 on 31 March in Shanghai is still 31 March in UTC (15:30) — and 00:30 on 1 April
    # in Shanghai is 31 March 16:30 UTC: a UTC bucket would put both in March.
    LeadFactory(created_at=dt.datetime(2026, 3, 31, 23, 30, tzinfo=SH), source_campaign=web)
    LeadFactory(created_at=dt.datetime(2026, 4, 1, 0, 30, tzinfo=SH), source_campaign=web)
    LeadFactory(created_at=dt.datetime(2026, 4, 1, 0, 45, tzinfo=SH), source_campaign=web)
    CampaignCostFactory(campaign=web, date=dt.date(2026, 3, 31), amount=Decimal("300"))
    CampaignCostFactory(campaign=web, date=dt.date(2026, 4, 1), amount=Decimal("50"))
    trend = monthly_trend(start=dt.date(2026, 2, 15), end=dt.date(2026, 4, 30))
    assert [(row["month"], row["leads"], row["cost"]) for row in trend] == [
        (dt.date(2026, 2, 1), 0, Decimal("0")),
        (dt.date(2026, 3, 1), 1, Decimal("300")),
        (dt.date(2026, 4, 1), 2, Decimal("50")),
    ]


def test_trend_counts_stages_revenue_and_filters_by_kind(desk, rep):
    web = CampaignFactory(channel=Channel.objects.get(code="website"))
    show = CampaignFactory(channel=Channel.objects.get(code="trade_show"))
    won = lead_in_stage(Stage.WON, owner=rep, desk=desk, source_campaign=web)
    lead_in_stage(Stage.MQL, desk=desk, source_campaign=show)
    day = won.created_at.astimezone(SH).date()
    CampaignCostFactory(campaign=show, date=day, amount=Decimal("70"))
    (row,) = monthly_trend(start=day, end=day)
    assert (row["leads"], row["mqls"], row["sqls"], row["won"]) == (2, 2, 1, 1)
    assert row["revenue"] == Decimal("4800") and row["cost"] == Decimal("70")
    (online,) = monthly_trend(start=day, end=day, channel_kind="online")
    assert (online["leads"], online["cost"]) == (1, Decimal("0"))
    (offline,) = monthly_trend(start=day, end=day, channel="trade_show")
    assert (offline["leads"], offline["won"], offline["cost"]) == (1, 0, Decimal("70"))


def test_trend_and_quality_take_a_constant_number_of_queries(desk, rep, assert_queries_flat):
    def add(n):
        for index in range(n):
            campaign = CampaignFactory(
                channel=Channel.objects.get(code=["website", "seo", "trade_show"][index % 3])
            )
            CampaignCostFactory(campaign=campaign, date=dt.date(2026, 1 + index % 6, 3))
            LeadFactory(
                created_at=dt.datetime(2026, 1 + index % 6, 5, 12, tzinfo=SH),
                source_campaign=campaign,
            )

    first_half = {"start": dt.date(2026, 1, 1), "end": dt.date(2026, 6, 30)}
    add(3)
    # leads by month, costs by month, and whether the daily rollups serve the period
    assert_queries_flat(lambda: monthly_trend(**first_half), grow=lambda: add(30), max_queries=3)
    assert_queries_flat(lambda: channel_quality(**first_half), grow=lambda: add(30), max_queries=1)


def test_channel_quality_mixes_grades_and_sales_judgement(desk, rep):
    web = CampaignFactory(channel=Channel.objects.get(code="website"))
    accepted = lead_in_stage(Stage.SQL, owner=rep, desk=desk, grade="A", source_campaign=web)
    rejected = lead_in_stage(Stage.MQL, owner=rep, desk=desk, grade="C", source_campaign=web)
    lifecycle.lead_reject(lead=rejected, actor=rep, reason="x", reason_code="no_need")
    LeadFactory(grade="", source_campaign=web)
    LeadFactory(grade="B")  # no campaign
    day = accepted.created_at.astimezone(SH).date()
    report = channel_quality(start=day, end=day)
    rows = {row["channel"]: row for row in report["rows"]}
    website = rows["website"]
    assert website["grades"] == {"A": 1, "B": 0, "C": 1, "D": 0, "": 1}
    assert (website["leads"], website["mqls"], website["accepted"], website["rejected"]) == (
        3,
        2,
        1,
        1,
    )
    assert website["qualification_rate"] == 0.6667 and website["acceptance_rate"] == 0.5
    assert rows[None]["leads"] == 1 and rows[None]["acceptance_rate"] is None
    assert report["totals"]["leads"] == 4 and report["totals"]["grades"]["B"] == 1
