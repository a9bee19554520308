"""Reports from the daily rollups at scale (``reports.rollups``): 1,000,000 leads and
~3,000,000 touches by default (``BENCH_ROLLUP_LEADS``), the world of ``bench_reports``.

For custom periods and every attribution model: the channel ROI from the rollups, next to
the hand-written first-touch SQL query (the baseline, same run) and the live selector, with
the same numbers asserted (rollups == live to the cent, first touch == hand SQL). Also the
campaign ROI, the funnel, the dashboard page, the campaign list page and API, the rebuild,
and staleness: the time from a lead change committing to its day's rollup being current.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leads.credits import MODELS
from leads.models import Lead
from reports import selectors
from reports.metrics_sql import sort_key
from reports.periods import period_bounds
from reports.rollups.build import rebuild_rollups
from reports.rollups.models import RollupMark
from reports.rollups.read import plan
from reports.trends import monthly_trend
from tests.benchmarks.bench_reports import HAND_SQL, build_world, timed

N = int(os.environ.get("BENCH_ROLLUP_LEADS", "1000000"))
CAMPAIGNS = int(os.environ.get("BENCH_CAMPAIGNS", "10000"))
#: Also time the rebuild a day per transaction (``BENCH_ROLLUP_PER_DAY=1``).
PER_DAY = os.environ.get("BENCH_ROLLUP_PER_DAY") == "1"


def _hand(start: dt.date, end: dt.date) -> tuple[dict, float]:
    low, high = period_bounds(start, end)
    with connection.cursor() as cursor:
        begin = time.perf_counter()
        cursor.execute(HAND_SQL, [low, high])
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
        return rows, round(time.perf_counter() - begin, 3)


def _same_as_hand(report: dict, hand: dict) -> None:
    ours = {row["channel"]: row for row in report["rows"] if row["leads"]}
    assert set(ours) == set(hand)
    for code, (leads, mqls, sqls, opps, won, revenue) in hand.items():
        row = ours[code]
        figures = (row["leads"], row["mqls"], row["sqls"], row["opportunities"], row["won"])
        assert figures == (leads, mqls, sqls, opps, won), code
        assert row["revenue"] == Decimal(revenue).quantize(Decimal("0.01")), code


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_rollups_at_scale(report):
    world, world_s = timed(lambda: build_world(N, CAMPAIGNS))
    today = world["today"]
    figures: dict = {"leads": N, "touches": world["touches"], "campaigns": CAMPAIGNS}
    figures["world_build_s"] = world_s
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    if PER_DAY:  # the same build a day per transaction (the previous build's shape)
        _, figures["rebuild_per_day_s"] = timed(lambda: rebuild_rollups(chunk=1))
    days, figures["rebuild_s"] = timed(rebuild_rollups)  # CHUNK_DAYS per transaction
    figures["rebuild_days"] = days
    if PER_DAY:
        figures["rebuild_per_day_vs_chunked"] = round(
            figures["rebuild_per_day_s"] / max(figures["rebuild_s"], 0.001), 1
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    assert not RollupMark.objects.exists()

    periods = {
        "year": (today - dt.timedelta(days=364), today),
        "custom_200d": (today - dt.timedelta(days=250), today - dt.timedelta(days=51)),
        "custom_45d": (today - dt.timedelta(days=137), today - dt.timedelta(days=93)),
        "custom_1d": (today - dt.timedelta(days=77), today - dt.timedelta(days=77)),
    }
    worst_ratio = 0.0
    for label, (start, end) in periods.items():
        hand, hand_s = _hand(start, end)
        figures[f"{label}_hand_sql_first_touch_s"] = hand_s
        for model in MODELS:
            rolled, rolled_s = timed(
                lambda m=model, a=start, b=end: selectors.channel_roi(start=a, end=b, model=m)
            )
            figures[f"{label}_channel_roi_{model}_rollup_s"] = rolled_s
            if model == "first_touch":
                _same_as_hand(rolled, hand)
            if label == "year" or model == "first_touch":  # live: 10+ s each at 1M
                live, live_s = timed(
                    lambda m=model, a=start, b=end: selectors.channel_roi(
                        start=a, end=b, model=m, live=True
                    )
                )
                assert rolled == live, (label, model)
                figures[f"{label}_channel_roi_{model}_live_s"] = live_s
            worst_ratio = max(worst_ratio, rolled_s / max(hand_s, 0.001))
        figures[f"{label}_rollup_vs_hand_sql_worst_ratio"] = round(
            max(figures[f"{label}_channel_roi_{m}_rollup_s"] for m in MODELS) / max(hand_s, 0.001),
            2,
        )
    figures["channel_roi_rollup_vs_hand_sql_worst_ratio"] = round(worst_ratio, 2)

    start, end = periods["year"]
    for model in ("first_touch", "u_shaped"):
        rolled, figures[f"year_campaign_roi_{model}_rollup_s"] = timed(
            lambda m=model: selectors.campaign_roi(start=start, end=end, model=m)
        )
        live, figures[f"year_campaign_roi_{model}_live_s"] = timed(
            lambda m=model: selectors.campaign_roi(start=start, end=end, model=m, live=True)
        )
        assert rolled == live, model
        # What the page and the API ask for: one page, sorted in the database.
        for sort in ("-revenue", "-roi", "cpl"):
            page, figures[f"year_campaign_roi_{model}_page_{sort}_s"] = timed(
                lambda m=model, s=sort: selectors.campaign_roi_page(
                    start=start, end=end, model=m, sort=s, offset=50, limit=50
                )
            )
            assert page["rows"] == sorted(rolled["rows"], key=sort_key(sort, "campaign"))[50:100]
            assert page["totals"] == rolled["totals"]
    rolled, figures["year_funnel_rollup_s"] = timed(lambda: selectors.funnel(start=start, end=end))
    live, figures["year_funnel_live_s"] = timed(
        lambda: selectors.funnel(start=start, end=end, live=True)
    )
    assert rolled == live
    rolled, figures["year_trend_rollup_s"] = timed(
        lambda: monthly_trend(start=start, end=end, channel_kind="online")
    )
    live, figures["year_trend_live_s"] = timed(
        lambda: monthly_trend(start=start, end=end, channel_kind="online", live=True)
    )
    assert rolled == live

    manager = User.objects.create(username="bench-rollup-boss")
    manager.groups.add(Group.objects.get(name="manager"))
    client = Client()
    client.force_login(manager)
    for label, (a, b) in (("year", periods["year"]), ("custom_45d", periods["custom_45d"])):
        with CaptureQueriesContext(connection) as queries:
            response, seconds = timed(
                lambda a=a, b=b: client.get(f"/reports/?from={a}&to={b}&model=linear")
            )
        assert response.status_code == 200
        assert response.context["snapshot"]["computed_at"] is None  # no snapshot, no job
        assert b"Computed live just now" in response.content
        figures[f"dashboard_page_{label}_linear_s"] = seconds
        figures[f"dashboard_page_{label}_queries"] = len(queries)
    year = f"from={start}&to={end}&model=u_shaped"
    for label, url in (
        ("api", f"/api/v1/reports/campaign-roi/?{year}&sort=-roi"),
        ("channel_page", f"/reports/channel/website/?{year}&sort=cpl"),
    ):
        with CaptureQueriesContext(connection) as queries:
            response, figures[f"year_campaign_roi_{label}_s"] = timed(lambda u=url: client.get(u))
        assert response.status_code == 200, url
        figures[f"year_campaign_roi_{label}_queries"] = len(queries)
    for label, url in (("page", "/campaigns/"), ("api", "/api/v1/campaigns/")):
        response, figures[f"campaign_list_{label}_rollup_s"] = timed(lambda u=url: client.get(u))
        assert response.status_code == 200, url

    # Staleness: a lead of a day in the middle of the year is won; from the commit to its
    # day's rollup being current (eager tasks here: the refresh runs right after the
    # commit; with a broker add ROLLUP_DEBOUNCE_SECONDS and the queue's latency).
    lead = Lead.objects.filter(stage="sql", touches__campaign__isnull=False).order_by("pk")[
        N // 2 : N // 2 + 1
    ][0]
    day = lead.created_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    begin = time.perf_counter()
    with transaction.atomic():
        lead.stage, lead.won_amount = "won", Decimal("123456.78")
        lead.opportunity_at = lead.opportunity_at or lead.sql_at
        lead.won_at, lead.signed_at = lead.sql_at, lead.sql_at.date()
        lead.save()
    while RollupMark.objects.filter(day=day).exists():
        time.sleep(0.01)
    figures["staleness_commit_to_current_s"] = round(time.perf_counter() - begin, 3)
    assert plan(day, day) is not None and not plan(day, day).stale
    for model in MODELS:
        assert selectors.channel_roi(start=day, end=day, model=model) == selectors.channel_roi(
            start=day, end=day, model=model, live=True
        )
    report("rollups", figures)
