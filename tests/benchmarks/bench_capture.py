"""Public capture under gunicorn, and speed-to-lead.

``test_capture_throughput`` (issue 17 item 6): the capture endpoint's highest rate
(closed loop, ``BENCH_CLIENTS`` clients) against a bare Django view on the same server that
inserts one lead row in one transaction (``bench_urls.bare_insert``: the real limit for a
write here), in alternating rounds so both see the same machine. Every 201 is a stored
row; every capture queued its routing task.

``test_capture_in_process`` (item 6, the quick check while working on capture): the same
comparison without a server — the capture view and the bare insert view called in this
process through Django's test client (middleware, view, database, commit), one request at
a time, ``BENCH_INPROC_REQUESTS`` of each in alternating rounds. It measures what the
request itself costs (statements, Python) without the HTTP and worker noise of a shared
machine; routing is queued in Redis, as in production.

``test_speed_to_lead`` (item 4): captures at a steady rate (``BENCH_STL_RATE`` per second
for ``BENCH_STL_SECONDS``), auto-qualified and routed by a real Celery worker on the
``realtime`` queue (workers per queue as in docker-compose), timed from each 201 to the
owner being set in the database (a poller reads the captured emails still without owner
every ``BENCH_STL_POLL`` seconds). Once alone, once while a 100,000-row import (``bulk``
worker, every imported lead auto-qualified) and a report job (``reports`` worker) run.
Every captured lead must be owned, by a rep of the team.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import statistics
import threading
import time
import uuid

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.files import File
from django.db import connection
from django.db.models import F
from django.utils import timezone

from assignment.models import Team, TeamMembership
from assignment.services import rule_save
from campaigns.models import Campaign, Channel
from leads.models import Lead
from scoring.models import GradeThresholds
from tests.benchmarks import loadgen
from tests.benchmarks.bench_import import write_csv
from tests.benchmarks.server import celery_worker, gunicorn

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "3"))
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
STL_RATE = float(os.environ.get("BENCH_STL_RATE", "5"))
STL_SECONDS = float(os.environ.get("BENCH_STL_SECONDS", "60"))
STL_POLL = float(os.environ.get("BENCH_STL_POLL", "0.02"))
INPROC_REQUESTS = int(os.environ.get("BENCH_INPROC_REQUESTS", "600"))
IMPORT_ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
#: How long the worker may take, after the load, to give every captured lead an owner.
OWNER_WAIT = float(os.environ.get("BENCH_OWNER_WAIT", "60"))


def _routing_world() -> Team:
    """Every capture qualifies at once and one round-robin rule owns it (no pool)."""
    GradeThresholds.objects.update(auto_qualify=True, auto_qualify_score=0)
    desk = User.objects.create(username=f"bench-desk-{uuid.uuid4().hex[:4]}")
    desk.groups.add(Group.objects.get(name="lead_desk"))
    team = Team.objects.create(name=f"Bench capture team {uuid.uuid4().hex[:4]}")
    for i in range(4):
        rep = User.objects.create(username=f"bench-capture-rep-{i}-{uuid.uuid4().hex[:4]}")
        rep.groups.add(Group.objects.get(name="sales_rep"))
        TeamMembership.objects.create(
            team=team, user=rep, daily_capacity=10**6, max_open_leads=10**6
        )
    rule_save(actor=desk, name="all", conditions=[], strategy="round_robin", team=team)
    return team


def _queued(client: redis.Redis, queues=None) -> int:
    """Messages waiting in these queues, every priority (the Redis transport keeps a list
    per priority step: ``realtime``, ``realtime\x06\x163``, …)."""
    return sum(
        client.llen(name if step == 0 else f"{name}\x06\x16{step}")
        for name in queues or settings.TASK_QUEUES
        for step in (0, 3, 6, 9)
    )


def _queued_tasks(client: redis.Redis, queue: str, task: str) -> int:
    """Messages of ``task`` waiting in ``queue`` (every priority step)."""
    names = [queue if step == 0 else f"{queue}\x06\x16{step}" for step in (0, 3, 6, 9)]
    return sum(
        json.loads(message)["headers"]["task"] == task
        for name in names
        for message in client.lrange(name, 0, -1)
    )


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _campaign(tag: str) -> Campaign:
    return Campaign.objects.create(
        name=f"Load {tag}", channel=Channel.objects.get(code="website"), utm_campaign=tag
    )


def _capture_request(campaign: Campaign, email: str, n: int):
    return (
        "capture",
        "POST",
        "/api/v1/capture/",
        {
            "campaign_key": campaign.public_key,
            "name": f"访客{n}",
            "email": email,
            "company_name": f"公司{n % 97}",
            "utm_source": "bench",
            "consent": True,
        },
        {},
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_capture_throughput(report):
    campaign = _campaign("load-test")
    run_id = uuid.uuid4().hex[:6]
    _routing_world()

    round_ = 0  # emails are new in every round: n starts again at 0 in each

    def capture(client: int, n: int):
        return _capture_request(campaign, f"{run_id}-{round_}-{client}-{n}@load.example", n)

    def bare(client: int, n: int):
        email = f"bare-{run_id}-{round_}-{client}-{n}@x.example"
        return ("bare", "POST", "/bench/bare-insert/", {"name": f"访客{n}", "email": email}, {})

    def trivial(client: int, n: int):
        return ("healthz", "GET", "/healthz", None, {})

    before = Lead.objects.count()
    # Production mode: routing is queued in Redis (a database of its own, emptied before
    # and after; no worker here, so the queue counts what the captures asked for).
    env = {"CAPTURE_RATE": "1000000/min", "REDIS_URL": REDIS, "AUTO_ASSIGN": "1"}
    broker = redis.Redis.from_url(REDIS)
    broker.flushdb()
    totals: dict[str, list] = {"bare": [], "capture": [], "healthz": []}
    outcomes: dict[str, loadgen.Outcome] = {}
    try:
        with gunicorn(
            workers=WEB_WORKERS, extra_env=env, settings_module="tests.benchmarks.bench_settings"
        ) as port:
            loadgen.run(port=port, clients=4, seconds=2, make=trivial)  # warm every worker
            for round_ in range(ROUNDS):
                # Alternate which goes first, so a drift in the machine's load hits both.
                order = [("bare", bare), ("capture", capture)]
                for name, make in order if round_ % 2 == 0 else order[::-1]:
                    outcome, took = loadgen.run(
                        port=port,
                        clients=CLIENTS,
                        seconds=SECONDS / ROUNDS,
                        make=make,
                        keep_bodies=True,
                    )
                    totals[name].append((outcome, took))
                outcome, took = loadgen.run(
                    port=port, clients=CLIENTS, seconds=SECONDS / ROUNDS / 3, make=trivial
                )
                totals["healthz"].append((outcome, took))
        # Routing tasks only: the rollup refresh is queued on realtime too (once per
        # debounce window), so counting every message there overcounts.
        queued_routings = _queued_tasks(broker, "realtime", "assignment.tasks.route_lead_task")
    finally:
        broker.flushdb()
    stats = {}
    for name, runs in totals.items():
        merged = loadgen.Outcome()
        for outcome, _took in runs:
            for key, values in outcome.latencies.items():
                merged.latencies.setdefault(key, []).extend(values)
            for key, counts in outcome.statuses.items():
                for code, count in counts.items():
                    merged.statuses.setdefault(key, {}).setdefault(code, 0)
                    merged.statuses[key][code] += count
            merged.errors.extend(outcome.errors)
            merged.bodies.extend(outcome.bodies)
        outcomes[name] = merged
        stats[name] = merged.summary(sum(took for _o, took in runs))[name]
    captured = Lead.objects.filter(email__startswith=f"{run_id}-")
    bare_rows = Lead.objects.filter(email__startswith=f"bare-{run_id}-")
    created = len(outcomes["capture"].bodies)
    stored = captured.count()
    ratio = round(stats["capture"]["rps"] / stats["bare"]["rps"], 3)
    report(
        "capture",
        {
            "clients": CLIENTS,
            "machine_load_average_1_5_15_min": os.getloadavg(),  # shared machine
            "seconds_each": SECONDS,
            "rounds": ROUNDS,
            "web_workers": WEB_WORKERS,
            "capture": stats["capture"],
            "bare_insert_view": stats["bare"],
            "healthz": stats["healthz"],
            "capture_vs_bare_insert_rps_ratio": ratio,
            "capture_vs_healthz_rps_ratio": round(
                stats["capture"]["rps"] / stats["healthz"]["rps"], 3
            ),
            "responses_201": created,
            "leads_stored": stored,
            "bare_rows_stored": bare_rows.count(),
            "routings_queued": queued_routings,
            "leads_before": before,
            "transport_errors": sorted({e for o in outcomes.values() for e in o.errors})[:5],
        },
    )
    # Every email is new in this run, so every 201 is a new lead (the public answer names
    # no lead, DESIGN §9, so they are found by their emails), scored in its transaction.
    assert stored == created > 0
    assert not captured.filter(scored_at__isnull=True).exists()
    assert bare_rows.count() == len(outcomes["bare"].bodies) > 0
    # Every capture qualified and queued its routing (no worker ran them).
    assert queued_routings == stored
    for name in ("capture", "bare"):
        assert not outcomes[name].errors, outcomes[name].errors[:3]
        assert set(stats[name]["statuses"]) == {201}, stats[name]["statuses"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_capture_in_process(report, settings, queued_not_eager):
    from django.test import Client

    settings.ROOT_URLCONF = "tests.benchmarks.bench_urls"
    settings.CAPTURE_RATE = "1000000/min"
    settings.AUTO_ASSIGN = True
    campaign = _campaign("in-process")
    run_id = uuid.uuid4().hex[:6]
    _routing_world()
    broker = redis.Redis.from_url(REDIS)
    broker.flushdb()
    client = Client()
    took = {"capture": 0.0, "bare": 0.0}
    statuses: dict[str, dict[int, int]] = {"capture": {}, "bare": {}}
    rounds = max(ROUNDS, 2)
    per_round = max(1, INPROC_REQUESTS // rounds)

    def post(name: str, n: int) -> None:
        if name == "capture":
            _n, _m, url, body, _h = _capture_request(campaign, f"{run_id}-{n}@inproc.example", n)
        else:
            url, body = "/bench/bare-insert/", {"name": f"访客{n}", "email": f"bare-{run_id}-{n}@x"}
        status = client.post(url, body, content_type="application/json").status_code
        statuses[name][status] = statuses[name].get(status, 0) + 1

    try:
        for n in range(20):  # warm up both views (imports, caches): not measured
            post("capture", -1 - n)
            post("bare", -1 - n)
        n = 0
        for round_ in range(rounds):
            order = ["bare", "capture"] if round_ % 2 == 0 else ["capture", "bare"]
            for name in order:
                start = time.perf_counter()
                for i in range(per_round):
                    post(name, n + i)
                took[name] += time.perf_counter() - start
            n += per_round
        queued_routings = _queued_tasks(broker, "realtime", "assignment.tasks.route_lead_task")
    finally:
        broker.flushdb()
    requests = per_round * rounds
    rate = {name: round(requests / seconds, 1) for name, seconds in took.items()}
    captured = Lead.objects.filter(email__endswith="@inproc.example", email__startswith=run_id)
    report(
        "capture_in_process",
        {
            "requests_each": requests,
            "rounds": rounds,
            "machine_load_average_1_5_15_min": os.getloadavg(),  # shared machine
            "capture_per_s": rate["capture"],
            "bare_insert_per_s": rate["bare"],
            "capture_ms": round(1000 * took["capture"] / requests, 2),
            "bare_insert_ms": round(1000 * took["bare"] / requests, 2),
            "capture_vs_bare_insert_ratio": round(rate["capture"] / rate["bare"], 3),
            "statuses": statuses,
            "leads_stored": captured.count(),
            "routings_queued": queued_routings,
        },
    )
    assert statuses == {"capture": {201: requests + 20}, "bare": {201: requests + 20}}
    # Every capture stored its lead, scored, qualified, with its consent, and queued routing.
    assert captured.count() == requests + 20
    assert not captured.filter(scored_at__isnull=True).exists()
    assert not captured.exclude(stage="mql").exists()
    assert not captured.filter(consent_at__isnull=True).exists()
    assert queued_routings == requests + 20


class OwnerWatch:
    """Times each captured lead from its 201 to its owner being set in the database: a
    thread reads the emails answered but not yet seen owned every ``STL_POLL`` seconds (one
    indexed query over a handful of emails)."""

    def __init__(self) -> None:
        self.answered: dict[str, float] = {}
        self.owned: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def on_answer(self, request, status: int, body: bytes, at: float) -> None:
        if status == 201:
            with self.lock:
                self.answered[request[3]["email"]] = at

    def _poll(self) -> None:
        try:
            while not self.stop.is_set():
                with self.lock:
                    pending = [e for e in self.answered if e not in self.owned]
                if pending:
                    found = Lead.objects.filter(email__in=pending, owner__isnull=False).values_list(
                        "email", flat=True
                    )
                    now = time.monotonic()
                    with self.lock:
                        for email in found:
                            self.owned[email] = now
                time.sleep(STL_POLL)
        finally:
            connection.close()

    def waits(self) -> list[float]:
        with self.lock:
            return [self.owned[e] - at for e, at in self.answered.items() if e in self.owned]

    def all_owned(self) -> bool:
        with self.lock:
            return len(self.owned) == len(self.answered)


def _speed_to_lead(port: int, campaign: Campaign, tag: str, seconds: float = STL_SECONDS) -> dict:
    watch = OwnerWatch()
    watch.thread.start()

    def capture(sender: int, n: int):
        return _capture_request(campaign, f"{tag}-{n}@stl.example", n)

    try:
        outcome, took = loadgen.open_loop(
            port=port, rate=STL_RATE, seconds=seconds, make=capture, on_answer=watch.on_answer
        )
        deadline = time.monotonic() + OWNER_WAIT
        while not watch.all_owned() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        watch.stop.set()
        watch.thread.join(5)
    waits = watch.waits()
    leads = Lead.objects.filter(email__endswith="@stl.example", email__startswith=f"{tag}-")
    server_side = [
        d.total_seconds()
        for d in leads.filter(owner__isnull=False)
        .annotate(wait=F("assigned_at") - F("created_at"))
        .values_list("wait", flat=True)
    ]
    capture_stats = outcome.summary(took)["capture"]
    return {
        "captures_201": len(watch.answered),
        "owned": len(waits),
        "capture_latency": capture_stats,
        "to_owner_s": {
            "p50": round(statistics.median(waits), 3) if waits else None,
            "p95": round(_percentile(waits, 0.95), 3),
            "max": round(max(waits), 3) if waits else None,
        },
        "lead_created_to_assigned_at_s": {
            "p50": round(statistics.median(server_side), 3) if server_side else None,
            "p95": round(_percentile(server_side, 0.95), 3),
            "max": round(max(server_side), 3) if server_side else None,
        },
        "_errors": outcome.errors,
        "_leads": leads,
    }


@pytest.fixture
def queued_not_eager():
    """This process queues in Redis (the import job and the report job) instead of running
    them inline, as a web process would."""
    from pipeline.celery import app

    saved = (app.conf.task_always_eager, app.conf.broker_url, settings.CELERY_TASK_ALWAYS_EAGER)
    app.conf.task_always_eager = False
    app.conf.broker_url = REDIS
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield
    app.conf.task_always_eager, app.conf.broker_url, settings.CELERY_TASK_ALWAYS_EAGER = saved


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_speed_to_lead(report, tmp_path: pathlib.Path, queued_not_eager):
    from leads.imports import import_upload
    from reports.snapshots import ReportKey, report_job_request

    team = _routing_world()
    reps = set(team.memberships.values_list("user_id", flat=True))
    campaign = _campaign("speed-to-lead")
    run_id = uuid.uuid4().hex[:6]
    importer = User.objects.create(username=f"bench-stl-importer-{run_id}")
    importer.groups.add(Group.objects.get(name="marketer"))
    fair = Campaign.objects.create(
        name="Trade show",
        utm_campaign=f"stl-import-{run_id}",
        channel=Channel.objects.get(code="trade_show"),
        owner=importer,
    )
    path = tmp_path / "trade-show.csv"
    write_csv(path, IMPORT_ROWS, offset=7_000_000)

    env = {"CAPTURE_RATE": "1000000/min", "REDIS_URL": REDIS, "AUTO_ASSIGN": "1"}
    broker = redis.Redis.from_url(REDIS)
    broker.flushdb()
    results: dict[str, dict] = {}
    try:
        with (
            gunicorn(workers=WEB_WORKERS, extra_env=env) as port,
            celery_worker("realtime", extra_env=env, queues=("realtime",), concurrency=2),
            celery_worker("bulk", extra_env=env, queues=("bulk",), concurrency=1),
            celery_worker("reports", extra_env=env, queues=("reports",), concurrency=1),
        ):
            # Warm up every web and worker process (imports, connections): not measured.
            _speed_to_lead(port, campaign, f"warm-{run_id}", seconds=10)
            results["alone"] = _speed_to_lead(port, campaign, f"alone-{run_id}")

            with path.open("rb") as handle:
                upload = File(handle, name=path.name)
                upload.size = path.stat().st_size
                job = import_upload(
                    actor=importer,
                    campaign=fair,
                    upload=upload,
                    legal_basis="event_registration",
                    legal_basis_date=dt.date(2026, 1, 1),
                )
            today = timezone.localdate()
            report_job = report_job_request(
                keys=[
                    ReportKey.of(kind, start=today - dt.timedelta(days=365), end=today, model=m)
                    for kind, m in (
                        ("funnel", None),
                        ("channel_roi", "linear"),
                        ("campaign_roi", "u_shaped"),
                        ("trend", None),
                    )
                ]
            )
            for _ in range(600):  # the import is under way before the captures start
                job.refresh_from_db()
                if job.processed > 0 or job.status in ("done", "failed"):
                    break
                time.sleep(0.1)
            processed_before = job.processed
            results["under_bulk"] = _speed_to_lead(port, campaign, f"bulk-{run_id}")
            job.refresh_from_db()
            report_job.refresh_from_db()
            bulk_figures = {
                "import_rows": IMPORT_ROWS,
                "import_status_after": job.status,
                "import_rows_processed_during_captures": job.processed - processed_before,
                "report_job_status_after": report_job.status,
                "queued_bulk_tasks_after": _queued(broker, ["bulk"]),
            }
        queued_realtime_after = _queued(broker, ["realtime"])
    finally:
        broker.flushdb()
    figures = {
        "rate_per_s": STL_RATE,
        "machine_load_average_1_5_15_min": os.getloadavg(),  # shared machine
        "seconds": STL_SECONDS,
        "web_workers": WEB_WORKERS,
        **{
            name: {k: v for k, v in r.items() if not k.startswith("_")}
            for name, r in results.items()
        },
        "bulk": bulk_figures,
        "realtime_tasks_left": queued_realtime_after,
    }
    report("speed_to_lead", figures)
    # "Under bulk" means it: the import was reading rows while the captures ran.
    assert bulk_figures["import_rows_processed_during_captures"] > 0 or (
        bulk_figures["import_status_after"] == "done"
    ), bulk_figures
    for name, r in results.items():
        assert not r["_errors"], (name, r["_errors"][:3])
        assert r["captures_201"] == round(STL_RATE * STL_SECONDS), (name, r["captures_201"])
        assert r["owned"] == r["captures_201"], f"{name}: some captured leads got no owner"
        # Owned in the database, by a rep of the routing team.
        owners = set(r["_leads"].values_list("owner_id", flat=True))
        assert r["_leads"].count() == r["captures_201"] and owners <= reps, owners
