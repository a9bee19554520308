"""The campaign ROI report and the dashboard page at scale, with a profile of where they
spend (``BENCH_PAGES_LEADS`` leads, default 100,000, ``BENCH_CAMPAIGNS`` campaigns,
default 10,000; the world of ``bench_reports.build_world``, rollups built).

- the campaign ROI for a year: the whole report (``campaign_roi``, the old path of every
  page and the API: every row's figures in Python, sorted in Python; the same-run
  baseline) against one page sorted in the database (``campaign_roi_page``) for every
  sort, both from the rollups, with the page asserted equal to the whole report sorted and
  sliced; the API and the channel page;
- the dashboard page (linear, a year and 45 days): time, query count, and each query's
  time with ``EXPLAIN (ANALYZE, BUFFERS)`` and a cProfile of the request, printed with
  ``-s`` (``BENCH_PAGES_PROFILE=1``).
"""

from __future__ import annotations

import cProfile
import datetime as dt
import io
import os
import pstats
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leads.models import Lead
from reports import selectors
from reports.definitions import lost_between, won_between
from reports.metrics_sql import SORTABLE, sort_key
from reports.periods import period_bounds
from reports.rollups.build import rebuild_rollups
from tests.benchmarks.bench_reports import build_world, timed

N = int(os.environ.get("BENCH_PAGES_LEADS", "100000"))
CAMPAIGNS = int(os.environ.get("BENCH_CAMPAIGNS", "10000"))
PROFILE = os.environ.get("BENCH_PAGES_PROFILE") == "1"


def _explain(queries: list[dict]) -> None:
    """Each captured query again under EXPLAIN ANALYZE: its time and plan, slowest first."""
    timings = []
    print(f"explaining {len(queries)} queries")
    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            total = float(plan.rsplit("Execution Time: ", 1)[1].split(" ")[0])
            timings.append((total, float(query["time"]), sql, plan))
    for total, wall, sql, plan in sorted(timings, key=lambda t: t[0], reverse=True):
        print(f"\n--- {total:.1f} ms (wall {wall * 1000:.1f} ms) ---\n{sql[:1500]}\n{plan[:3000]}")


def _closed_old(start: dt.date, end: dt.date) -> dict:
    """The previous ``closed_in_period``: one query over every won and lost lead (the
    same-run baseline)."""
    low, high = period_bounds(start, end)
    won, lost = won_between(low, high), lost_between(low, high)
    return Lead.objects.filter(won | lost).aggregate(
        won=Count("id", filter=won),
        lost=Count("id", filter=lost),
        revenue=Coalesce(Sum("won_amount", filter=won), Decimal("0")),
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_report_pages_at_scale(report):
    world, world_s = timed(lambda: build_world(N, CAMPAIGNS))
    today = world["today"]
    rebuild_rollups()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    figures: dict = {"leads": N, "touches": world["touches"], "campaigns": CAMPAIGNS}
    figures["world_build_s"] = world_s
    start, end = today - dt.timedelta(days=364), today

    for model in ("first_touch", "u_shaped"):
        whole, figures[f"year_campaign_roi_{model}_whole_s"] = timed(
            lambda m=model: selectors.campaign_roi(start=start, end=end, model=m)
        )
        slowest = 0.0
        for sort in [sign + figure for figure in SORTABLE for sign in ("-", "")]:
            page, seconds = timed(
                lambda m=model, s=sort: selectors.campaign_roi_page(
                    start=start, end=end, model=m, sort=s, offset=50, limit=50
                )
            )
            expected = sorted(whole["rows"], key=sort_key(sort, "campaign"))[50:100]
            assert page["rows"] == expected, sort
            assert page["totals"] == whole["totals"] and page["count"] == len(whole["rows"])
            slowest = max(slowest, seconds)
            if sort in ("-revenue", "-roi", "cpl"):
                figures[f"year_campaign_roi_{model}_page_{sort}_s"] = seconds
        figures[f"year_campaign_roi_{model}_page_slowest_sort_s"] = slowest
        figures[f"year_campaign_roi_{model}_whole_vs_page"] = round(
            figures[f"year_campaign_roi_{model}_whole_s"] / max(slowest, 0.01), 1
        )
        if PROFILE:
            with CaptureQueriesContext(connection) as queries:
                selectors.campaign_roi_page(start=start, end=end, model=model, sort="-roi")
            print(f"\n===== campaign_roi_page {model} -roi =====")
            _explain(list(queries.captured_queries))

    manager = User.objects.create(username="bench-pages-boss")
    manager.groups.add(Group.objects.get(name="manager"))
    client = Client()
    client.force_login(manager)
    period = f"from={start}&to={end}"
    for label, url in (
        ("api", f"/api/v1/reports/campaign-roi/?{period}&model=u_shaped&sort=-roi"),
        ("channel_page", f"/reports/channel/website/?{period}&model=u_shaped&sort=cpl"),
    ):
        with CaptureQueriesContext(connection) as queries:
            response, figures[f"year_campaign_roi_{label}_s"] = timed(lambda u=url: client.get(u))
        assert response.status_code == 200, url
        figures[f"year_campaign_roi_{label}_queries"] = len(queries)

    for label, (a, b) in (
        ("year", (start, end)),
        ("custom_45d", (today - dt.timedelta(days=137), today - dt.timedelta(days=93))),
    ):
        for vacuumed in (False, True):
            if vacuumed:  # what autovacuum does to an insert-only table: index-only scans
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM ANALYZE leads_lead")
            suffix = "_vacuumed" if vacuumed else ""
            old, figures[f"closed_{label}_old_one_query{suffix}_s"] = timed(
                lambda a=a, b=b: _closed_old(a, b)
            )
            new, figures[f"closed_{label}_new{suffix}_s"] = timed(
                lambda a=a, b=b: selectors.closed_in_period(start=a, end=b)
            )
            assert {k: new[k] for k in old} == old
            if PROFILE and label == "year":
                with CaptureQueriesContext(connection) as queries:
                    selectors.closed_in_period(start=a, end=b)
                print(f"\n===== closed_in_period {label}{suffix} =====")
                _explain(list(queries.captured_queries))

    periods = {
        "year": (start, end),
        "custom_45d": (today - dt.timedelta(days=137), today - dt.timedelta(days=93)),
    }
    for label, (a, b) in periods.items():
        url = f"/reports/?from={a}&to={b}&model=linear"
        client.get(url)  # warm
        with CaptureQueriesContext(connection) as queries:
            response, seconds = timed(lambda u=url: client.get(u))
        captured = list(queries.captured_queries)
        assert response.status_code == 200
        figures[f"dashboard_page_{label}_linear_s"] = seconds
        figures[f"dashboard_page_{label}_queries"] = len(queries)
        figures[f"dashboard_page_{label}_sql_ms"] = round(
            sum(float(q["time"]) for q in queries.captured_queries) * 1000
        )
        if PROFILE:
            profiler = cProfile.Profile()
            profiler.enable()
            client.get(url)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
            print(f"\n===== dashboard {label} profile =====\n{out.getvalue()}")
            _explain(captured)
    report("report_pages", figures)
