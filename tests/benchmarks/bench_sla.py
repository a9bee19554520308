"""SLA scan plus compliance over 1,000,000 leads and 3,000,000 follow-ups (issue #6):
seconds per job and the number of SQL statements, at two data sizes to show that the
statement count does not grow with the data.

The data is generated inside PostgreSQL (``INSERT … SELECT … FROM generate_series``), so a
million leads take minutes, not hours. Sizes: ``BENCH_LEADS`` (default 1,000,000) and
``BENCH_LEADS_SMALL`` (default a tenth of it); follow-ups are three per lead on average,
on the leads that were contacted.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadloop_bench_b ./scripts/bench -k sla
"""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Lead
from reports.sla.compliance import compliance, delays
from reports.sla.scan import sla_scan
from tests.benchmarks import data

N = int(os.environ.get("BENCH_LEADS", "1000000"))
SMALL = int(os.environ.get("BENCH_LEADS_SMALL", str(N // 10)))
FOLLOW_UPS_PER_LEAD = 3

# One assignment per owned lead, with the SLA figures the lifecycle stores. Working time
# is approximated here (9 of every 24 hours); the benchmark times the reports, not the
# calendar arithmetic.
ASSIGNMENTS_SQL = """
INSERT INTO assignment_assignment (lead_id, owner_id, previous_owner_id, rule_id, rule_name,
    strategy, reason, reason_code, reason_params, actor_id, at, response_due_at,
    first_response_at, response_work_seconds, routing_work_seconds)
SELECT id, owner_id, NULL, NULL, '', 'weighted', 'bench', 'manual', '{"text": "bench"}', NULL,
    assigned_at, response_due_at,
    first_contact_at,
    (extract(epoch FROM first_contact_at - assigned_at) * 9 / 24)::int,
    (extract(epoch FROM assigned_at - created_at) * 9 / 24)::int
FROM leads_lead WHERE id BETWEEN %(lo)s AND %(hi)s AND owner_id IS NOT NULL
"""

# FOLLOW_UPS_PER_LEAD × leads follow-ups, spread over the contacted leads (every one gets
# its first follow-up at first contact, then one every two days).
FOLLOW_UPS_SQL = """
INSERT INTO leads_followup (lead_id, author_id, at, method, outcome, note, next_follow_up_at,
    created_at)
SELECT id, owner_id, first_contact_at + make_interval(days => 2 * k), 'call', 'ok', '', NULL,
    %(now)s
FROM leads_lead CROSS JOIN generate_series(0, %(per_lead)s - 1) AS k
WHERE id BETWEEN %(lo)s AND %(hi)s AND first_contact_at IS NOT NULL
ORDER BY k, id
LIMIT %(total)s
"""


def build(*, first: int, n: int, owners: list[int], campaigns, companies) -> dict:
    """Leads numbered ``first`` … ``first + n - 1`` with their assignments and follow-ups."""
    started = time.perf_counter()
    now = timezone.now()
    before = data.owned_leads_sql(
        first=first,
        n=n,
        owners=owners,
        campaigns_=campaigns,
        companies_=companies,
        min_age_minutes=7200,
        now=now,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(id), max(id), count(*) FILTER (WHERE first_contact_at IS NOT NULL) "
            "FROM leads_lead WHERE id > %s",
            [before],
        )
        low, high, contacted = cursor.fetchone()
        ids = {"lo": low, "hi": high, "now": now}
        cursor.execute(ASSIGNMENTS_SQL, ids)
        per_lead = -(-FOLLOW_UPS_PER_LEAD * n // max(contacted, 1))
        cursor.execute(
            FOLLOW_UPS_SQL, {**ids, "per_lead": per_lead, "total": FOLLOW_UPS_PER_LEAD * n}
        )
        cursor.execute("ANALYZE leads_lead, assignment_assignment, leads_followup")
    return {"build_seconds": round(time.perf_counter() - started, 1)}


def timed_queries(fn, slowest: list | None = None):
    """``fn()``, its seconds and statement count (the SLA configuration is read afresh, so
    every run counts the same statements); ``slowest`` gets the three slowest statements."""
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        value = fn()
        seconds = time.perf_counter() - start
    if slowest is not None:
        ranked = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))
        slowest += [f"{float(q['time']):.2f}s {q['sql'][:90]}" for q in ranked[:3]]
    return value, round(seconds, 2), len(queries)


def measure() -> dict:
    today = timezone.localdate()
    period = {"start": today - dt.timedelta(days=90), "end": today}
    slowest: list[str] = []
    scan, scan_s, scan_q = timed_queries(sla_scan, slowest)
    again, again_s, again_q = timed_queries(sla_scan)
    rows, comp_s, comp_q = timed_queries(lambda: compliance(**period))
    found, delay_s, delay_q = timed_queries(lambda: delays(**period))
    return {
        "scan_seconds": scan_s,
        "scan_queries": scan_q,
        "scan_effect": {
            "reminded": scan.reminded,
            "escalated": scan.escalated,
            "final": scan.final,
            "recycled_for_neglect": scan.recycled_for_neglect,
        },
        "scan_slowest_statements": slowest,
        "second_scan_seconds": again_s,
        "second_scan_queries": again_q,
        "second_scan_final": again.final,
        "compliance_seconds": comp_s,
        "compliance_queries": comp_q,
        "compliance_rows": len(rows),
        "compliance_assigned": sum(r["assigned"] for r in rows),
        "delays_seconds": delay_s,
        "delays_queries": delay_q,
        "delays_routing_count": found["routing"]["count"],
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sla_scan_and_compliance(report, settings):
    settings.DEBUG = False
    sales = Group.objects.get(name="sales_rep")
    owners = []
    for i in range(50):
        user = User.objects.create(username=f"sla-rep-{i}", email=f"sla-rep-{i}@bench.cn")
        user.groups.add(sales)
        owners.append(user.pk)
    campaigns, companies = data.campaigns(100), data.companies(20_000)
    common = {"owners": owners, "campaigns": campaigns, "companies": companies}
    built_small = build(first=0, n=SMALL, **common)
    first = measure()
    built_rest = build(first=SMALL, n=N - SMALL, **common)
    second = measure()
    from leads.models import FollowUp

    report(
        "sla",
        {
            "leads": Lead.objects.count(),
            "follow_ups": FollowUp.objects.count(),
            "build": {f"{SMALL}": built_small, f"{N - SMALL}": built_rest},
            f"at_{SMALL}_leads": first,
            f"at_{N}_leads": second,
        },
    )
    assert first["scan_queries"] == second["scan_queries"]
    assert first["compliance_queries"] == second["compliance_queries"]
