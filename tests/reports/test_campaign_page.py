"""The campaign ROI report sorted and paged in the database
(``reports.selectors.campaign_roi_page``) is the full live report (``campaign_roi``, the
definition) sorted and sliced: every sort, both directions, random pages, random worlds,
from the rollups and live; its SQL figures (``reports.metrics_sql``) equal
``reports.metrics.figures`` row by row; its query count does not grow with campaigns."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Channel
from leads.choices import Stage
from leads.credits import MODELS, recompute_credits
from leads.models import Lead, LeadTouch
from reports import selectors
from reports.metrics_sql import SORTABLE, figure_sql, sort_key
from reports.rollups.build import rebuild_rollups
from reports.rollups.read import plan
from reports.snapshots import RoiPage
from tests.factories import CampaignCostFactory, CampaignFactory, UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db

SEEDS = (3, 11, 29)
STAGES = (Stage.NEW, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON, Stage.LOST)
DAYS = 10
SORTS = [sign + figure for figure in SORTABLE for sign in ("", "-")]


def _world(rng: random.Random, campaigns: int = 18, leads: int = 45) -> dict:
    with TestCase.captureOnCommitCallbacks(execute=True):
        tz = timezone.get_current_timezone()
        base = timezone.localdate() - dt.timedelta(days=DAYS + 2)
        channels = list(Channel.objects.order_by("code")[:4])
        made = []
        # Few distinct amounts: equal costs, CPLs and ROIs, so ties are ordered by campaign.
        amounts = [Decimal(rng.choice([1000, 2500, 3333, rng.randint(1, 90000)])) / 100]
        for index in range(campaigns):
            campaign = CampaignFactory(name=f"C{index}", channel=channels[index % len(channels)])
            made.append(campaign)
            if rng.random() < 0.25:
                continue  # no cost: ROI and unit costs undefined
            for offset in rng.sample(range(DAYS), rng.randint(1, 3)):
                amount = rng.choice([*amounts, Decimal(rng.randint(1, 90000)) / 100])
                amounts.append(amount)
                CampaignCostFactory(
                    campaign=campaign, date=base + dt.timedelta(days=offset), amount=amount
                )
        desk, owner = UserFactory(roles=["lead_desk"]), UserFactory(roles=["sales_rep"])
        ids = []
        for _ in range(leads):
            stage = rng.choice(STAGES)
            lead = lead_in_stage(
                stage, owner=owner, desk=desk, source_campaign=rng.choice([*made, None])
            )
            day = base + dt.timedelta(days=rng.randrange(DAYS))
            created = dt.datetime.combine(day, dt.time(rng.randrange(24), 30), tzinfo=tz)
            update: dict = {"created_at": created}
            if stage == Stage.WON:
                update["won_amount"] = (
                    Decimal(rng.choice([1001, rng.randint(100, 5_000_000)])) / 100
                )
            Lead.objects.filter(pk=lead.pk).update(**update)
            for _touch in range(rng.randint(0, 4)):
                LeadTouch.objects.create(
                    lead_id=lead.pk,
                    campaign=rng.choice(made),
                    kind="form",
                    occurred_at=created + dt.timedelta(hours=rng.randint(0, 200)),
                )
            ids.append(lead.pk)
        recompute_credits(ids)
    rebuild_rollups()
    return {"base": base, "channels": channels}


def _periods(rng: random.Random, base: dt.date) -> list[tuple[dt.date, dt.date]]:
    periods = [(base - dt.timedelta(days=2), base + dt.timedelta(days=DAYS + 2))]
    start = base + dt.timedelta(days=rng.randrange(DAYS))
    periods.append((start, start + dt.timedelta(days=rng.randrange(DAYS))))
    return periods


@pytest.mark.parametrize("seed", SEEDS)
def test_the_page_is_the_full_live_report_sorted_and_sliced(seed):
    rng = random.Random(seed)
    world = _world(rng)
    compared = 0
    for start, end in _periods(rng, world["base"]):
        assert plan(start, end) is not None  # the rollups serve
        for model in rng.sample(MODELS, 2):
            channel_kind = rng.choice([None, None, world["channels"][0].kind])
            channel = rng.choice([None, None, world["channels"][1].code])
            args = {"start": start, "end": end, "model": model}
            args |= {"channel_kind": channel_kind, "channel": channel}
            full = selectors.campaign_roi(**args, live=True)
            assert full["rows"], "an empty report proves nothing"
            for sort in SORTS:
                expected = sorted(full["rows"], key=sort_key(sort, "campaign"))
                offset = rng.choice([0, 0, rng.randrange(len(expected))])
                limit = rng.choice([1, 5, 50])
                for live in (False, True):
                    page = selectors.campaign_roi_page(
                        **args, sort=sort, offset=offset, limit=limit, live=live
                    )
                    assert page["rows"] == expected[offset : offset + limit], (sort, live)
                    assert page["count"] == len(full["rows"])
                    assert page["totals"] == full["totals"]
                    compared += 1
    assert compared >= 2 * 2 * len(SORTS) * 2


@pytest.mark.parametrize("seed", SEEDS)
def test_the_sql_figures_are_the_python_figures(seed):
    """Each sortable figure as computed by SQL equals ``figures``' value, row by row."""
    rng = random.Random(seed)
    world = _world(rng)
    vendor = connection.vendor
    for start, end in _periods(rng, world["base"]):
        for model in MODELS:
            shown = {
                row["campaign"]: row
                for row in selectors.campaign_roi(start=start, end=end, model=model)["rows"]
            }
            sources, costs, alias = selectors._campaign_sources(
                start=start, end=end, model=model, channel_kind=None, channel=None, live=False
            )
            summed, params = selectors._campaign_sums_sql(sources, costs, alias)
            columns = ", ".join(figure_sql(name, vendor) for name in SORTABLE)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT campaign_id, {columns} FROM ({summed}) AS g", params)  # noqa: S608
                rows = cursor.fetchall()
            assert {row[0] for row in rows} == set(shown)
            for pk, *values in rows:
                for name, value in zip(SORTABLE, values, strict=True):
                    mine = shown[pk][name]
                    if mine is None or value is None:
                        assert mine is None and value is None, (pk, name, value)
                    elif isinstance(mine, Decimal):
                        assert Decimal(str(value)).quantize(Decimal("0.01")) == mine, (pk, name)
                    else:
                        assert float(value) == float(mine), (pk, name, value, mine)


def _queries(**args) -> int:
    with CaptureQueriesContext(connection) as queries:
        page = selectors.campaign_roi_page(**args)
    assert page["rows"]
    return len(queries)


def test_query_count_does_not_grow_with_campaigns():
    rng = random.Random(5)
    world = _world(rng, campaigns=4, leads=10)
    start, end = world["base"] - dt.timedelta(days=2), world["base"] + dt.timedelta(days=DAYS)
    few = {sort: _queries(start=start, end=end, sort=sort, limit=3) for sort in ("roi", "-cpl")}
    _world(rng, campaigns=30, leads=40)
    many = {sort: _queries(start=start, end=end, sort=sort, limit=3) for sort in ("roi", "-cpl")}
    assert many == few
    assert max(many.values()) <= 4  # the rollups' plan, the page, the totals, the names


def test_an_unknown_sort_is_refused():
    with pytest.raises(ValueError):
        selectors.campaign_roi_page(start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 2), sort="x")


def _serialised(row: dict) -> dict:
    return {
        key: (f"{value:.2f}" if isinstance(value, Decimal) else value) for key, value in row.items()
    }


def test_the_api_pages_and_sorts_in_the_database(api, manager):
    rng = random.Random(17)
    world = _world(rng, campaigns=14, leads=40)
    start, end = world["base"] - dt.timedelta(days=2), world["base"] + dt.timedelta(days=DAYS)
    full = selectors.campaign_roi(start=start, end=end, model="linear", live=True)
    period = {"from": start.isoformat(), "to": end.isoformat(), "model": "linear"}
    for sort in ("-roi", "cpl", "-mql_rate", "revenue"):
        expected = sorted(full["rows"], key=sort_key(sort, "campaign"))
        seen = []
        for number in (1, 2, 3, 4):
            response = api(manager).get(
                "/api/v1/reports/campaign-roi/",
                {**period, "sort": sort, "page": number, "page_size": 5},
            )
            assert response.status_code == 200, response.json()
            body = response.json()
            assert (body["count"], body["sort"], body["page"]) == (len(expected), sort, number)
            assert body["totals"] == _serialised(full["totals"])
            seen += body["rows"]
        assert [row["campaign"] for row in seen] == [row["campaign"] for row in expected]
        assert seen == [
            {key: value for key, value in _serialised(row).items() if key in seen[0]}
            for row in expected
        ]
    default = api(manager).get("/api/v1/reports/campaign-roi/", period).json()
    assert [row["campaign"] for row in default["rows"]] == [
        row["campaign"] for row in full["rows"]
    ]  # revenue, highest first, 50 a page
    refused = api(manager).get("/api/v1/reports/campaign-roi/", {**period, "sort": "name"})
    assert refused.status_code == 400


def test_the_channel_page_shows_one_sorted_page_and_exports_every_row(client, manager):
    rng = random.Random(19)
    world = _world(rng, campaigns=16, leads=40)
    channel = world["channels"][0]
    start, end = world["base"] - dt.timedelta(days=2), world["base"] + dt.timedelta(days=DAYS)
    full = selectors.campaign_roi(start=start, end=end, model="u_shaped", channel=channel.code)
    expected = sorted(full["rows"], key=sort_key("-roi", "campaign"))
    assert len(expected) >= 3
    client.force_login(manager)
    url = f"/reports/channel/{channel.code}/?from={start}&to={end}&model=u_shaped&sort=-roi"
    shown = client.get(url)
    assert shown.status_code == 200
    table = shown.context["tables"]["campaigns"]
    assert [row[0]["text"] for row in table["rows"]] == [r["campaign_name"] for r in expected]
    assert table["count"] == len(expected)
    assert 'aria-sort="descending"' in shown.content.decode()
    exported = client.get(url + "&export=csv&table=campaigns")
    assert exported.status_code == 200
    lines = b"".join(exported.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 1 + len(expected) + 1  # header, every campaign, totals
    assert [line.split(",")[0] for line in lines[1:-1]] == [r["campaign_name"] for r in expected]


def test_a_stored_report_is_cut_in_the_database_order_and_an_export_has_every_row():
    """A snapshot (a whole report) is cut by ``RoiPage.cut`` as the database pages it; with
    no limit (an export) the rows are every row in that order."""
    rng = random.Random(23)
    world = _world(rng, campaigns=12, leads=30)
    args = {
        "start": world["base"] - dt.timedelta(days=1),
        "end": world["base"] + dt.timedelta(days=DAYS),
        "model": "w_shaped",
        "channel_kind": None,
        "channel": None,
    }
    whole = selectors.campaign_roi(**args)
    for sort in SORTS:
        page = RoiPage(sort=sort, offset=rng.randrange(len(whole["rows"])), limit=4)
        cut, computed = page.cut(whole), page.compute(**args)
        assert cut == computed, sort
        everything = RoiPage(sort=sort, limit=None)
        streamed = everything.compute(**args)
        assert list(streamed["rows"]) == everything.cut(whole)["rows"]
        assert streamed["totals"] == whole["totals"]
