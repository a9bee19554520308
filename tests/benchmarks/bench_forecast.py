"""The pipeline forecast at scale: every rep, team and the company for this month over a
million leads, timed against the dashboard's funnel for the same period (computed in the
same run) and against one hand-written SQL query doing the same aggregation — the same
numbers, and the time ratios. Then the page, which always answers live.

The world: ``BENCH_FORECAST_BASE`` leads spread over the funnel by ``data.owned_leads``
(Python, 40 reps in 5 teams), then copied inside PostgreSQL (``INSERT … SELECT`` over
``generate_series``) up to ``BENCH_LEADS``; half of the SQL leads get an expected amount,
a third of those an expected close date in the next 120 days.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignment.models import Team, TeamMembership
from leads.models import Lead
from reports import selectors
from reports.forecast.engine import WIN_RATE_DAYS
from reports.forecast.selectors import forecast_scope, pipeline_forecast
from reports.periods import period_bounds
from targets.choices import month_of, parse_period
from tests.benchmarks import data

N = int(os.environ.get("BENCH_LEADS", "1000000"))
BASE = min(N, int(os.environ.get("BENCH_FORECAST_BASE", "100000")))

#: Per owner: won in the period, open amount, weighted — the forecast in one statement,
#: with the stage win rates of the last 180 days in a CTE (rounded to 4 places, as the
#: engine does).
HAND_SQL = """
WITH closed AS (
    SELECT sql_at, opportunity_at, stage FROM leads_lead
    WHERE (stage = 'won' AND won_at >= %(since)s AND won_at < %(now)s)
       OR (stage = 'lost' AND lost_at >= %(since)s AND lost_at < %(now)s)
       OR (stage = 'disqualified' AND disqualified_at >= %(since)s
           AND disqualified_at < %(now)s)
), rates AS (
    SELECT
      ROUND(COUNT(*) FILTER (WHERE sql_at IS NOT NULL AND stage = 'won')::numeric
            / NULLIF(COUNT(*) FILTER (WHERE sql_at IS NOT NULL), 0), 4) AS sql_rate,
      ROUND(COUNT(*) FILTER (WHERE opportunity_at IS NOT NULL AND stage = 'won')::numeric
            / NULLIF(COUNT(*) FILTER (WHERE opportunity_at IS NOT NULL), 0), 4) AS opp_rate
    FROM closed
)
SELECT l.owner_id,
       COALESCE(SUM(l.won_amount) FILTER (WHERE l.stage = 'won'), 0),
       COALESCE(SUM(l.expected_amount) FILTER (WHERE l.stage <> 'won'), 0),
       ROUND(COALESCE(SUM(l.won_amount) FILTER (WHERE l.stage = 'won'), 0)
         + COALESCE(SUM(l.expected_amount * COALESCE(
             CASE l.stage WHEN 'sql' THEN r.sql_rate ELSE r.opp_rate END, 0))
             FILTER (WHERE l.stage <> 'won'), 0), 2)
FROM leads_lead l CROSS JOIN rates r
WHERE (l.stage = 'won' AND l.won_at >= %(low)s AND l.won_at < %(high)s)
   OR (l.stage IN ('sql', 'opportunity') AND l.expected_amount IS NOT NULL
       AND ((l.expected_close_date >= %(start)s AND l.expected_close_date <= %(end)s)
            OR (%(current)s AND l.expected_close_date IS NULL)))
GROUP BY l.owner_id
"""


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, round(time.perf_counter() - start, 3)


def _copy_leads(times: int) -> None:
    """Copy every lead ``times`` more times inside the database (no Python per row); the
    copies have no phone and a distinct e-mail, so the open-contact uniqueness holds."""
    columns = [f.column for f in Lead._meta.concrete_fields if not f.primary_key]
    select = []
    for column in columns:
        if column == "phone":
            select.append("''")
        elif column == "email":
            select.append("'c' || g::text || '-' || email")
        else:
            select.append(column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO leads_lead ({', '.join(columns)}) "  # noqa: S608 - column names
            f"SELECT {', '.join(select)} FROM leads_lead "
            f"CROSS JOIN generate_series(1, %s) AS g",
            [times],
        )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_forecast_at_scale(report):
    sales, smgr = Group.objects.get(name="sales_rep"), Group.objects.get(name="sales_manager")
    owners = []
    for t in range(5):
        lead = User.objects.create(username=f"bench-smgr-{t}")
        lead.groups.add(smgr)
        team = Team.objects.create(name=f"Bench team {t}", manager=lead)
        for i in range(8):
            user = User.objects.create(username=f"bench-rep-{t}-{i}")
            user.groups.add(sales)
            TeamMembership.objects.create(team=team, user=user)
            owners.append(user.pk)
    began = time.perf_counter()
    data.owned_leads(
        BASE, owners=owners, campaigns_=data.campaigns(200), companies_=data.companies(20_000)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE leads_lead SET expected_amount = (id % 300 + 10) * 1000 "
            "WHERE stage = 'sql' AND id % 2 = 0"
        )
        # A third of the deals have an expected close date over the next 120 days.
        cursor.execute(
            "UPDATE leads_lead SET expected_close_date = CURRENT_DATE + (id % 120) "
            "WHERE expected_amount IS NOT NULL AND id % 3 = 0"
        )
    copies = N // BASE - 1
    if copies > 0:
        _copy_leads(copies)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
    leads = Lead.objects.count()
    figures: dict = {"leads": leads, "build_s": round(time.perf_counter() - began, 1)}

    today = timezone.localdate()
    period = month_of(today)
    start, end = parse_period(period)
    manager = User.objects.create(username="bench-boss")
    manager.groups.add(Group.objects.get(name="manager"))
    everyone = forecast_scope(manager)
    with CaptureQueriesContext(connection) as queries:
        ours, figures["forecast_all_s"] = timed(
            lambda: pipeline_forecast(period=period, scope=everyone)
        )
    figures["forecast_all_queries"] = len(queries)
    figures["forecast_rows"] = len(ours["rows"])
    team = Team.objects.order_by("pk").first()
    _, figures["forecast_one_team_s"] = timed(
        lambda: pipeline_forecast(period=period, scope=forecast_scope(manager, team=team))
    )
    _, figures["forecast_one_rep_s"] = timed(
        lambda: pipeline_forecast(period=period, scope=forecast_scope(manager, rep=owners[0]))
    )
    _, figures["funnel_same_period_s"] = timed(lambda: selectors.funnel(start=start, end=end))

    now = timezone.now()
    low, high = period_bounds(start, end)
    params = {
        "since": now - dt.timedelta(days=WIN_RATE_DAYS),
        "now": now,
        "low": low,
        "high": high,
        "start": start,
        "end": end,
        "current": start <= today <= end,
    }
    with connection.cursor() as cursor:
        begin = time.perf_counter()
        cursor.execute(HAND_SQL, params)
        hand = {row[0]: row[1:] for row in cursor.fetchall()}
        figures["hand_sql_s"] = round(time.perf_counter() - begin, 3)
    by_user = {row["user"]: row for row in ours["rows"]}
    for owner, (won, open_amount, weighted) in hand.items():
        if owner is None:
            continue
        row = by_user[owner]
        assert (row["won"], row["open_amount"], row["weighted"]) == (
            Decimal(won).quantize(Decimal("0.01")),
            Decimal(open_amount).quantize(Decimal("0.01")),
            Decimal(weighted),
        ), owner
    assert ours["company"]["weighted"] == sum((Decimal(r[2]) for r in hand.values()), Decimal(0))
    figures["matches_hand_sql"] = True
    figures["forecast_vs_funnel"] = round(
        figures["forecast_all_s"] / max(figures["funnel_same_period_s"], 0.001), 2
    )
    figures["forecast_vs_hand_sql"] = round(
        figures["forecast_all_s"] / max(figures["hand_sql_s"], 0.001), 2
    )

    client = Client()
    client.force_login(manager)
    client.get(f"/reports/forecast/?period={period}")  # warm: templates, roles
    with CaptureQueriesContext(connection) as queries:
        response, figures["page_s"] = timed(
            lambda: client.get(f"/reports/forecast/?period={period}")
        )
    assert response.status_code == 200
    figures["page_queries"] = len(queries)
    figures["leads_created_in_period"] = Lead.objects.filter(
        created_at__gte=low, created_at__lt=high
    ).count()
    figures["report_live_max_leads"] = settings.REPORT_LIVE_MAX_LEADS
    report("forecast", figures)
