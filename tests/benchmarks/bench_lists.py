"""Every list's first page at a million leads (issue #17 item 8), on PostgreSQL.

The world is built with ``COPY`` (``pipeline.writers.PostgresCopyWriter``):
``BENCH_LIST_LEADS`` leads (1,000,000) over the funnel — new, MQLs waiting, owned, pooled,
closed — owned by ``BENCH_LIST_REPS`` reps (200: about 100 open leads each at a million), from
``BENCH_LIST_CAMPAIGNS`` campaigns (10,000: a hundred leads each, two cost lines each),
with reviews, imports and notifications. Then each list page and list endpoint is
requested in process (``django.test.Client``: the whole view, template or serializer
included) ``BENCH_LIST_RUNS`` times after a warm-up; the medians of the request time and of
the database time are reported. The budget, ``BENCH_LIST_BUDGET_MS`` (50), applies to the
database time of each first page: the part that grows with the data (rendering 25 rows
costs the same at any size, and this shared machine's CPU figures are noisy).

Baselines, same run, same data: the page's own row query alone (its SQL, executed bare),
and for the lead list the ordering it had before (``created_at DESC NULLS LAST``, which no
index serves) and an exact ``COUNT(*)`` of the table (what the paginator did before the cap).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import time
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import CampaignCost
from leads.models import ContactReview, ImportJob, Lead, LeadTouch
from notifications.models import Notification
from pipeline.writers import PostgresCopyWriter
from reports.rollups.build import rebuild_rollups
from tests.benchmarks import data

N = int(os.environ.get("BENCH_LIST_LEADS", "1000000"))
BUDGET_MS = float(os.environ.get("BENCH_LIST_BUDGET_MS", "50"))
RUNS = int(os.environ.get("BENCH_LIST_RUNS", "5"))
REPS = int(os.environ.get("BENCH_LIST_REPS", "200"))
CAMPAIGNS = int(os.environ.get("BENCH_LIST_CAMPAIGNS", "10000"))
#: Only the pages whose address contains this (``campaigns``: while working on one list).
ONLY = os.environ.get("BENCH_LIST_ONLY", "")
BATCH = 50_000
EXACT_COUNT = "SELECT COUNT(*) FROM leads_lead"
CAPPED_COUNT = "SELECT COUNT(*) FROM (SELECT id FROM leads_lead LIMIT 10001) capped"


#: Every sort the campaign list page and the campaign endpoint offer.
CAMPAIGN_SORTS = [
    "start_date",
    "name",
    "channel",
    "status",
    "owner",
    "budget",
    "actual_cost",
    "leads",
    "mqls",
    "revenue",
    "roi",
]
CAMPAIGN_ORDERINGS = ["start_date", "name", "budget", "created_at", "revenue", "roi"]


def _user(name: str, role: str) -> User:
    user = User.objects.create(username=name, first_name=name)
    user.groups.add(Group.objects.get(name=role))
    return user


def _build(reps: list[User], desk: User) -> None:
    """``N`` leads by COPY: 15 % new, 10 % unowned MQLs (a fifth of them rejected), 5 %
    pooled, 40 % owned (MQL, SQL), the rest lost or disqualified."""
    writer = PostgresCopyWriter()
    assert writer.available(), "the list benchmark builds its world with COPY (psycopg2)"
    campaigns = data.campaigns(CAMPAIGNS)
    companies = data.companies(5000)
    rng = random.Random(17)
    now = timezone.now()
    owner_ids = [rep.pk for rep in reps]
    for start in range(0, N, BATCH):
        rows = []
        for i in range(start, min(N, start + BATCH)):
            created = now - dt.timedelta(minutes=rng.randint(1, 60 * 24 * 365))
            roll = rng.random()
            row = {
                "name": f"线索{i}",
                "phone": f"+86130{i:08d}",
                "email": f"l{i}@bench.cn",
                "company_id": companies[i % len(companies)].pk,
                "company_name": companies[i % len(companies)].name,
                "source_campaign_id": campaigns[i % len(campaigns)].pk,
                "grade": rng.choice("ABCD"),
                "grade_source": "rule",
                "score": rng.randint(0, 100),
                "created_at": created,
                "scored_at": created,
            }
            if roll < 0.15:
                row |= {"stage": "new", "grade": "", "grade_source": ""}
            else:
                mql_at = created + dt.timedelta(hours=1)
                row |= {"stage": "mql", "mql_at": mql_at}
                if roll < 0.25:
                    pass  # unowned MQL: the routing page and the desk's rejected queue
                elif roll < 0.30:
                    row |= {"in_pool": True, "pooled_at": mql_at}
                elif roll < 0.70:
                    # Owned: a few open (MQL, SQL) per rep, most of them closed long ago.
                    assigned = mql_at + dt.timedelta(minutes=rng.randint(1, 600))
                    stage = "mql" if roll < 0.31 else "sql" if roll < 0.33 else "lost"
                    row |= {
                        "owner_id": owner_ids[i % REPS],
                        "assigned_at": assigned,
                        "stage": stage,
                        "sql_at": None if stage == "mql" else assigned,
                        "lost_at": assigned if stage == "lost" else None,
                        "lost_reason": "price" if stage == "lost" else "",
                        "next_follow_up_at": assigned + dt.timedelta(days=rng.randint(0, 30))
                        if stage != "lost" and rng.random() < 0.7
                        else None,
                    }
                elif roll < 0.85:
                    row |= {"stage": "lost", "lost_at": mql_at, "lost_reason": "price"}
                else:
                    row |= {
                        "stage": "disqualified",
                        "disqualified_at": created,
                        "disqualify_reason": "no_need",
                    }
            rows.append(row)
        writer.insert(Lead, rows)
    writer.insert(
        CampaignCost,
        [
            {
                "campaign_id": campaign.pk,
                "date": dt.date(2026, 1, 1 + day),
                "amount": Decimal(rng.randint(1, 100_000)) / 100,
                "note": "",
            }
            for campaign in campaigns
            for day in range(2)
        ],
    )
    # A few of everything else the lists show.
    some = list(Lead.objects.filter(stage="new").values_list("pk", flat=True)[:2000])
    touches = [
        {"lead_id": pk, "campaign_id": campaigns[0].pk, "kind": "form", "occurred_at": now}
        for pk in some
    ]
    touch_ids = writer.insert(LeadTouch, touches, return_ids=True) or []
    # Every tenth lead touched by its source campaign with full credit under every model:
    # each campaign has rollup rows and a revenue total per model, as in production.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO leads_leadtouch (lead_id, campaign_id, kind, occurred_at, is_first,"
            " utm_source, utm_medium, landing_page, credit_first_touch, credit_last_touch,"
            " credit_linear, credit_u_shaped, given)"
            " SELECT id, source_campaign_id, 'form', created_at, false, '', '', '', 1, 1, 1, 1,"
            " '{}'::jsonb FROM leads_lead WHERE id % 10 = 0"
        )
    writer.insert(
        ContactReview,
        [
            {"lead_id": pk, "touch_id": touch, "created_at": now, "status": "open"}
            for pk, touch in zip(some, touch_ids, strict=True)
        ],
    )
    ImportJob.objects.bulk_create(
        ImportJob(
            campaign=campaigns[0],
            file="imports/x.csv",
            original_name=f"x{i}.csv",
            file_kind="csv",
            headers=["name"],
            mapping={"0": "name"},
            created_by=desk,
            status="done",
        )
        for i in range(500)
    )
    writer.insert(
        Notification,
        [
            {"user_id": owner_ids[i % REPS], "event": "lead_assigned", "text": f"n{i}"}
            for i in range(100_000)
        ],
    )
    with connection.cursor() as cursor:
        # What autovacuum does to a loaded table in production (this server runs with it
        # off): statistics, and the visibility map that lets an index alone answer
        # (index-only scans, e.g. a rep's campaign drop-down from ``lead_owner_campaign``).
        cursor.execute("VACUUM ANALYZE")


def _timed(client, url: str) -> tuple[float, float, int, str, str]:
    """Median request time and database time (ms), queries, the row query, the slowest."""
    client.get(url)  # warm-up (sessions, caches, plan)
    times, db_times = [], []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        db_times.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
    slowest = max(captured.captured_queries, key=lambda q: float(q["time"]))
    return (
        statistics.median(times),
        statistics.median(db_times),
        len(captured.captured_queries),
        _row_query(captured),
        f"{float(slowest['time']) * 1000:.1f} ms {slowest['sql'][:90]}",
    )


def _row_query(captured) -> str:
    queries = [
        q["sql"]
        for q in captured.captured_queries
        if " ORDER BY " in q["sql"] and " LIMIT " in q["sql"]
    ]
    return max(queries, key=len) if queries else ""


def _sql_ms(sql: str) -> float:
    """Server execution time of ``sql`` (EXPLAIN ANALYZE), median of RUNS."""
    if not sql:
        return float("nan")
    times = []
    with connection.cursor() as cursor:
        for _ in range(RUNS):
            cursor.execute("EXPLAIN (ANALYZE, TIMING OFF) " + sql)
            last = cursor.fetchall()[-1][0]  # "Execution Time: 0.123 ms"
            times.append(float(last.split(":")[1].split()[0]))
    return statistics.median(times)


def _sql_total_ms(sql: str) -> float:
    """Planning and execution time of ``sql`` (EXPLAIN ANALYZE), median of RUNS."""
    times = []
    with connection.cursor() as cursor:
        for _ in range(RUNS):
            cursor.execute("EXPLAIN (ANALYZE, TIMING OFF) " + sql)
            lines = [row[0] for row in cursor.fetchall()]
            times.append(
                sum(
                    float(line.split(":")[1].split()[0])
                    for line in lines
                    if line.startswith(("Planning Time", "Execution Time"))
                )
            )
    return statistics.median(times)


@pytest.mark.django_db(transaction=True)
def test_every_list_first_page(report):
    manager = _user("bench-manager", "manager")
    desk = _user("bench-desk", "lead_desk")
    reps = [_user(f"bench-rep-{i}", "sales_rep") for i in range(REPS)]
    rep = reps[0]
    started = time.perf_counter()
    _build(reps, desk)
    build_seconds = time.perf_counter() - started
    # The daily rollups and the campaigns' revenue totals, built as a deployment does
    # (``manage.py rebuild_rollups``) before the pages are asked for.
    started = time.perf_counter()
    rebuild_rollups()
    rollup_seconds = time.perf_counter() - started
    assert Lead.objects.count() == N

    clients = {}
    for user in (manager, desk, rep):
        clients[user.username] = Client()
        clients[user.username].force_login(user)

    sorts = ["created_at", "name", "company", "score", "grade", "stage", "next_follow_up_at"]
    pages = [
        ("bench-manager", f"/leads/?sort={s}") for s in ["", *sorts, *("-" + x for x in sorts)]
    ]
    pages += [
        ("bench-manager", "/leads/?in_pool=true"),
        ("bench-rep-0", f"/leads/?owner={rep.pk}"),
        ("bench-rep-0", "/leads/"),
        ("bench-rep-0", "/assignment/pool/"),
        ("bench-rep-0", "/assignment/new-for-me/"),
        ("bench-rep-0", "/sales/"),
        ("bench-rep-0", "/sales/?page=2"),
        ("bench-rep-0", "/me/notifications/"),
        ("bench-desk", "/leads/desk/"),
        ("bench-desk", "/leads/desk/rejected/"),
        ("bench-desk", "/leads/desk/reviews/"),
        ("bench-desk", "/assignment/route/"),
        ("bench-desk", "/imports/"),
        *(
            ("bench-manager", f"/campaigns/?sort={s}")
            for key in CAMPAIGN_SORTS
            for s in (key, "-" + key)
        ),
        ("bench-manager", "/leads/search/?q=%E7%BA%BF%E7%B4%A21"),  # 线索1: a common prefix
        ("bench-manager", "/api/v1/leads/"),
        *(
            ("bench-manager", f"/api/v1/leads/?ordering={o}")
            for o in ["score", "-score", "grade", "stage", "name", "next_follow_up_at"]
        ),
        ("bench-rep-0", "/api/v1/leads/"),
        ("bench-rep-0", "/api/v1/notifications/"),
        ("bench-desk", "/api/v1/contact-reviews/"),
        ("bench-desk", "/api/v1/imports/"),
        *(
            ("bench-manager", f"/api/v1/campaigns/?ordering={o}")
            for key in CAMPAIGN_ORDERINGS
            for o in (key, "-" + key)
        ),
    ]
    pages = [(who, url) for who, url in pages if ONLY in url]
    figures: dict[str, object] = {
        "leads": N,
        "build_seconds": round(build_seconds, 1),
        "rollup_seconds": round(rollup_seconds, 1),
    }
    over = []
    for who, url in pages:
        ms, db_ms, queries, sql, slowest = _timed(clients[who], url)
        bare = _sql_ms(sql)
        figures[f"{who.removeprefix('bench-')} {url}"] = (
            f"{ms:.1f} ms request, {db_ms:.1f} ms database ({queries} queries); "
            f"row query alone {bare:.2f} ms; slowest {slowest}"
        )
        if db_ms > BUDGET_MS:
            over.append(f"{url} ({who}): {db_ms:.0f} ms database")

    # Deep pages (keyset, ``pipeline.keyset``): the page after the lead halfway down each
    # order, read through a cursor, next to the same page read by page number (OFFSET).
    from leads.filters import LEAD_ORDERS, sorted_leads
    from pipeline.keyset import cursor_for

    deep = N // 2
    size = 50
    for name, order in LEAD_ORDERS.items() if ONLY in "/api/v1/leads/" else ():
        middle = sorted_leads(Lead.objects.all(), name)[deep - 1]
        token = cursor_for(order, middle)
        ms, db_ms, queries, _sql, _slowest = _timed(
            clients["bench-manager"], f"/api/v1/leads/?ordering={name}&cursor={token}"
        )
        offset_ms, offset_db_ms, _q, _s, _sl = _timed(
            clients["bench-manager"], f"/api/v1/leads/?ordering={name}&page={deep // size + 1}"
        )
        figures[f"deep page at row {deep} /api/v1/leads/?ordering={name}"] = (
            f"cursor {ms:.1f} ms request, {db_ms:.1f} ms database ({queries} queries); "
            f"baseline page number (OFFSET {deep}) {offset_ms:.1f} ms request, "
            f"{offset_db_ms:.1f} ms database; ratio {offset_db_ms / max(db_ms, 0.1):.0f}x"
        )
        if db_ms > BUDGET_MS:
            over.append(f"deep cursor page ?ordering={name}: {db_ms:.0f} ms database")

    # The queues' deep pages (``pipeline.keyset``): the page after the row halfway down the
    # desk's queue and the pool, by cursor, next to the same page by number (OFFSET).
    from leads.selectors import DESK_QUEUE_ORDER, POOL_ORDER
    from leads.views.desk import new_queue

    queues = [
        ("bench-desk", "/leads/desk/", DESK_QUEUE_ORDER, new_queue(desk), 25),
        ("bench-rep-0", "/assignment/pool/", POOL_ORDER, Lead.objects.filter(in_pool=True), 25),
    ]
    for who, path, order, rows, per_page in queues:
        ordered = rows.order_by(*order.order_by())
        middle_at = ordered.count() // 2
        token = cursor_for(order, ordered[middle_at - 1])
        _ms, db_ms, queries, _sql, _slowest = _timed(clients[who], f"{path}?cursor={token}")
        _oms, offset_db_ms, _q, _s, _sl = _timed(
            clients[who], f"{path}?page={middle_at // per_page + 1}"
        )
        figures[f"deep page at row {middle_at} {path}"] = (
            f"cursor {db_ms:.1f} ms database ({queries} queries); baseline page number "
            f"(OFFSET {middle_at}) {offset_db_ms:.1f} ms database; "
            f"ratio {offset_db_ms / max(db_ms, 0.1):.0f}x"
        )
        if db_ms > BUDGET_MS:
            over.append(f"deep cursor page {path}: {db_ms:.0f} ms database")

    # The short cap (``SHORT_COUNT_CAP``) of the search and the desk's tab badges, next to
    # the lists' cap they counted with before.
    from leads.filters import search_q
    from pipeline.pagination import SHORT_COUNT_CAP

    for label, rows in (
        ("global search 线索1", Lead.objects.filter(search_q("线索1", manager))),
        ("desk tab: new leads", new_queue(desk)),
    ):
        timings = {}
        for cap in (10_000, SHORT_COUNT_CAP):
            sql, params = rows.order_by().values("pk")[: cap + 1].query.sql_with_params()
            with connection.cursor() as cursor:
                # Django's own compiled SQL of the paginator's count, parameters bound.
                count = f"SELECT COUNT(*) FROM ({sql}) capped"  # noqa: S608
                text = cursor.mogrify(count, params)
            timings[cap] = _sql_ms(text.decode() if isinstance(text, bytes) else text)
        figures[f"count of {label}: capped at {SHORT_COUNT_CAP} (now) vs 10,000 (before)"] = (
            f"{timings[SHORT_COUNT_CAP]:.2f} ms vs {timings[10_000]:.2f} ms"
        )

    # Baselines: what the lead list did before, on the same table.
    base = "SELECT id FROM leads_lead ORDER BY created_at DESC{} , id DESC LIMIT 25"
    figures["baseline: lead list rows, created_at DESC NULLS LAST (before)"] = (
        f"{_sql_ms(base.format(' NULLS LAST')):.1f} ms"
    )
    figures["baseline: lead list rows, created_at DESC (now)"] = (
        f"{_sql_ms(base.format('')):.2f} ms"
    )
    joined = (
        "SELECT l.id FROM leads_lead l LEFT JOIN leads_company c ON c.id = l.company_id "
        "ORDER BY c.name {} NULLS LAST, l.id {} LIMIT 25"
    )
    figures["baseline: company sort through the joined company (before), asc / desc"] = (
        f"{_sql_ms(joined.format('ASC', 'ASC')):.1f} ms / "
        f"{_sql_ms(joined.format('DESC', 'DESC')):.1f} ms"
    )
    figures["baseline: exact COUNT(*) of the leads (before the cap)"] = (
        f"{_sql_ms(EXACT_COUNT):.1f} ms"
    )
    started = time.perf_counter()
    exact = Lead.objects.filter(search_q("线索1", manager)).count()
    figures["baseline: global search, exact count of its matches (before the cap)"] = (
        f"{(time.perf_counter() - started) * 1000:.1f} ms ({exact} matches)"
    )
    figures["baseline: capped count (10,001 rows)"] = f"{_sql_ms(CAPPED_COUNT):.2f} ms"
    # The campaign list before its figures table: the same first pages with the figures
    # counted from the leads (``live_figures``, the definition the table is held to).
    from campaigns.models import Campaign
    from campaigns.selectors import live_figures, with_figures
    from campaigns.views import _sorted
    from reports.selectors import with_revenue

    for sort, size in (("-start_date", 25), ("-start_date", 50), ("-leads", 25)):
        timings = []
        for figures_of in (live_figures, with_figures):
            rows = _sorted(with_revenue(figures_of(Campaign.objects.all())), sort)[:size]
            sql, params = rows.query.sql_with_params()
            with connection.cursor() as cursor:
                timings.append(_sql_ms(cursor.mogrify(sql, params).decode()))
        figures[f"baseline: campaign rows sort={sort} x{size}, live counts (before) / table"] = (
            f"{timings[0]:.1f} ms / {timings[1]:.2f} ms; ratio {timings[0] / timings[1]:.0f}x"
        )
    # The revenue and ROI sorts: each campaign's rollup total (now) against the sum of its
    # daily rollup rows (before) and the live sum over the touches (no rollups yet).
    from django.db.models import Case, F, FloatField, OuterRef, Subquery, Sum, Value, When
    from django.db.models.functions import Cast, Coalesce

    from reports.rollups.models import RollupDay

    summed = (
        RollupDay.objects.filter(model="first_touch", campaign=OuterRef("pk"))
        .order_by()
        .values("campaign")
        .annotate(total=Sum("revenue"))
        .values("total")
    )
    for sort in ("-revenue", "-roi"):
        timings = []
        for rows in (
            _sorted(with_revenue(with_figures(Campaign.objects.all()), live=True), sort),
            _sorted(
                with_figures(Campaign.objects.all())
                .annotate(revenue=Coalesce(Subquery(summed, output_field=FloatField()), Value(0.0)))
                .annotate(
                    roi=Case(
                        When(
                            actual_cost_sum__gt=0,
                            then=(F("revenue") - Cast("actual_cost_sum", FloatField()))
                            / Cast("actual_cost_sum", FloatField()),
                        ),
                        default=None,
                        output_field=FloatField(),
                    )
                ),
                sort,
            ),
            _sorted(with_revenue(with_figures(Campaign.objects.all())), sort),
        ):
            sql, params = rows.values("pk")[:25].query.sql_with_params()
            with connection.cursor() as cursor:
                timings.append(_sql_ms(cursor.mogrify(sql, params).decode()))
        figures[f"baseline: campaign ids sort={sort} x25, live / daily rows summed / totals"] = (
            f"{timings[0]:.1f} ms / {timings[1]:.1f} ms / {timings[2]:.2f} ms; "
            f"ratios {timings[0] / timings[2]:.0f}x / {timings[1] / timings[2]:.0f}x"
        )
    # The rep's campaign drop-down without its index (dropped inside a transaction rolled
    # back: the plan it had before), and the desk's review rows with every join the reviews
    # selector has (before) next to the list's own (``desk_review_rows``): planning included.
    from django.db import transaction

    from leads.reviews import desk_review_rows, open_reviews
    from leads.selectors import lead_campaign_choices

    def bound(rows) -> str:
        sql, params = rows.query.sql_with_params()
        with connection.cursor() as cursor:
            text = cursor.mogrify(sql, params)
        return text.decode() if isinstance(text, bytes) else text

    from leads.selectors import leads_visible_to

    choices = bound(lead_campaign_choices(rep))
    mine = bound(leads_visible_to(rep).filter(owner=rep).order_by("-created_at", "-id")[:25])
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX lead_owner_campaign")
            cursor.execute("DROP INDEX lead_owner_created")
        before = _sql_total_ms(choices)
        mine_before = _sql_total_ms(mine)
        transaction.set_rollback(True)
    figures["baseline: a rep's campaign choices without / with lead_owner_campaign"] = (
        f"{before:.1f} ms / {_sql_total_ms(choices):.2f} ms (planning + execution)"
    )
    figures["baseline: My leads rows without / with lead_owner_created"] = (
        f"{mine_before:.1f} ms / {_sql_total_ms(mine):.2f} ms (planning + execution)"
    )
    every_join = bound(open_reviews(desk)[:25])
    shown = bound(desk_review_rows(open_reviews(desk))[:25])
    figures["baseline: desk review rows, every join (before) / the list's own (now)"] = (
        f"{_sql_total_ms(every_join):.1f} ms / {_sql_total_ms(shown):.1f} ms (planning + execution)"
    )
    figures["over budget"] = over or "none"
    report("lists", figures)
    with connection.cursor() as cursor:  # leave nothing behind (the flush truncates too)
        cursor.execute("TRUNCATE leads_lead, leads_leadtouch, notifications_notification CASCADE")
    assert not over, f"first pages over {BUDGET_MS} ms at {N} leads: {over}"
