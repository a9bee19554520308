"""Reports at scale: credit recompute, each report, the dashboard page; and first-touch
channel figures from one hand-written SQL query — same numbers, and the time ratio."""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import CampaignCost
from leads.credits import MODELS, recompute_all_credits
from pipeline.db import fast_bulk_insert
from reports import selectors
from reports.periods import period_bounds, period_presets
from reports.quality import grade_calibration
from reports.snapshots import snapshots_refresh_standard
from tests.benchmarks import data

N = int(os.environ.get("BENCH_LEADS", "1000000"))
CAMPAIGNS = int(os.environ.get("BENCH_CAMPAIGNS", "10000"))

HAND_SQL = """
SELECT ch.code, COUNT(*), COUNT(l.mql_at), COUNT(l.sql_at), COUNT(l.opportunity_at),
       COUNT(*) FILTER (WHERE l.stage = 'won'),
       COALESCE(SUM(l.won_amount) FILTER (WHERE l.stage = 'won'), 0)
FROM leads_lead l
JOIN campaigns_campaign c ON c.id = l.source_campaign_id
JOIN campaigns_channel ch ON ch.id = c.channel_id
WHERE l.created_at >= %s AND l.created_at < %s
GROUP BY ch.code
"""


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, round(time.perf_counter() - start, 2)


#: Each lead's first touch (its source campaign, when it was created) and two more, a day
#: apart, on campaigns and kinds picked by the lead's id: written by the database in one
#: statement (3,000,000 touches for 1,000,000 leads without a row through Python).
TOUCHES_SQL = """
INSERT INTO leads_leadtouch (lead_id, campaign_id, kind, occurred_at, is_first, utm_source,
    utm_medium, landing_page, credit_first_touch, credit_last_touch, credit_linear,
    credit_u_shaped, given)
SELECT l.id, l.source_campaign_id, 'form', l.created_at, true, '', '', '', 0, 0, 0, 0,
    '{}'::jsonb
FROM leads_lead l
UNION ALL
SELECT l.id, (%(campaigns)s::bigint[])[1 + ((l.id * 7919 + k * 104729) %% %(n)s)],
    (ARRAY['webinar', 'event_checkin', 'form'])[1 + ((l.id + k) %% 3)],
    l.created_at + make_interval(hours => 1 + k * 24), false, '', '', '', 0, 0, 0, 0,
    '{}'::jsonb
FROM leads_lead l CROSS JOIN generate_series(0, 1) AS k
"""


def _touches(campaign_ids: list[int]) -> int:
    """Every lead's touches (``TOUCHES_SQL``); returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(TOUCHES_SQL, {"campaigns": campaign_ids, "n": len(campaign_ids)})
        return int(cursor.rowcount)


def build_world(n: int, n_campaigns: int) -> dict:
    """The reports' world: 40 reps, ``n_campaigns`` campaigns with three costs each over the
    last year, ``n`` leads over the funnel (``data.owned_leads_sql``), a first touch plus two
    more each (``TOUCHES_SQL``), credits computed. Also used by ``bench_rollups``."""
    sales = Group.objects.get(name="sales_rep")
    owners = []
    for i in range(40):
        user = User.objects.create(username=f"rep-bench-{i}")
        user.groups.add(sales)
        owners.append(user.pk)
    campaigns = data.campaigns(n_campaigns)
    rng = random.Random(3)
    today = timezone.localdate()
    fast_bulk_insert(
        CampaignCost,
        [
            CampaignCost(
                campaign_id=c.pk,
                date=today - dt.timedelta(days=rng.randint(0, 360)),
                amount=Decimal(rng.randint(100, 50_000)),
            )
            for c in campaigns
            for _ in range(3)
        ],
    )
    # Set-based (``data.owned_leads_sql``): 1,000,000 leads in about a minute.
    data.owned_leads_sql(
        first=0, n=n, owners=owners, campaigns_=campaigns, companies_=data.companies(50_000)
    )
    touch_count = _touches([c.pk for c in campaigns])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    _, credits_s = timed(recompute_all_credits)
    return {"today": today, "touches": touch_count, "credits_s": credits_s}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reports_at_scale(report):
    world = build_world(N, CAMPAIGNS)
    today, touch_count, credits_s = world["today"], world["touches"], world["credits_s"]

    start, end = today - dt.timedelta(days=364), today
    figures = {
        "leads": N,
        "touches": touch_count,
        "campaigns": CAMPAIGNS,
        "recompute_all_credits_s": credits_s,
    }
    roi = {}
    for model in MODELS:
        roi[model], figures[f"channel_roi_{model}_s"] = timed(
            lambda m=model: selectors.channel_roi(start=start, end=end, model=m)
        )
    _, figures["campaign_roi_s"] = timed(lambda: selectors.campaign_roi(start=start, end=end))
    _, figures["funnel_s"] = timed(lambda: selectors.funnel(start=start, end=end))
    _, figures["grade_calibration_s"] = timed(lambda: grade_calibration(start=start, end=end))

    low, high = period_bounds(start, end)
    with connection.cursor() as cursor:
        begin = time.perf_counter()
        cursor.execute(HAND_SQL, [low, high])
        hand = {row[0]: row[1:] for row in cursor.fetchall()}
        figures["hand_sql_first_touch_s"] = round(time.perf_counter() - begin, 2)
    ours = {row["channel"]: row for row in roi["first_touch"]["rows"] if row["leads"]}
    assert set(ours) == set(hand)
    for code, (leads, mqls, sqls, opps, won, revenue) in hand.items():
        row = ours[code]
        assert (row["leads"], row["mqls"], row["sqls"], row["opportunities"], row["won"]) == (
            leads,
            mqls,
            sqls,
            opps,
            won,
        ), code
        assert row["revenue"] == Decimal(revenue).quantize(Decimal("0.01")), code
    figures["first_touch_vs_hand_sql_slower_by"] = round(
        figures["channel_roi_first_touch_s"] / max(figures["hand_sql_first_touch_s"], 0.001), 1
    )
    figures["first_touch_matches_hand_sql"] = True

    manager = User.objects.create(username="bench-boss")
    manager.groups.add(Group.objects.get(name="manager"))
    client = Client()
    client.force_login(manager)
    try:
        # A custom range has no snapshot: computed while the request waits (eagerly run job
        # here; with a broker the page answers at once and follows the job).
        response, figures["dashboard_page_live_s"] = timed(
            lambda: client.get(f"/reports/?from={start}&to={end}")
        )
        figures["dashboard_live_status"] = response.status_code
    except Exception as exc:
        figures["dashboard_page_error"] = str(exc)[:200]

    # What beat does every REPORT_SNAPSHOT_REFRESH_SECONDS, then the pages it serves.
    job, figures["snapshot_refresh_s"] = timed(snapshots_refresh_standard)
    figures["snapshot_refresh_reports"] = job.total
    figures["snapshot_refresh_status"] = job.status
    for label, (_name, p_start, p_end) in zip(
        ("this_month", "this_year"),
        (period_presets(today)[0], period_presets(today)[-1]),
        strict=True,
    ):
        with CaptureQueriesContext(connection) as queries:
            response, seconds = timed(
                lambda a=p_start, b=p_end: client.get(f"/reports/?from={a}&to={b}")
            )
        assert response.status_code == 200
        assert b"Computed at" in response.content  # served from the snapshot, not live
        figures[f"dashboard_page_snapshot_{label}_s"] = seconds
        figures[f"dashboard_page_snapshot_{label}_queries"] = len(queries)
    report("reports", figures)
