"""Capture endpoint under gunicorn with 32 concurrent clients, against a trivial view
(/healthz) on the same server; proof that every 201 is a stored lead; and the time from
capture to owner with a Celery worker routing in the background (auto-qualification and
one round-robin rule), every captured lead owned at the end, no task left in Redis."""

from __future__ import annotations

import os
import statistics
import time
import uuid

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db.models import F

from assignment.models import Team, TeamMembership
from assignment.services import rule_save
from campaigns.models import Campaign, Channel
from leads.models import Lead
from scoring.models import GradeThresholds
from tests.benchmarks import loadgen
from tests.benchmarks.server import celery_worker, gunicorn

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
#: How long the worker may take, after the load, to give every captured lead an owner.
OWNER_WAIT = float(os.environ.get("BENCH_OWNER_WAIT", "180"))


def _routing_world() -> None:
    """Every capture qualifies at once and one round-robin rule owns it (no pool)."""
    GradeThresholds.objects.update(auto_qualify=True, auto_qualify_score=0)
    desk = User.objects.create(username="bench-desk")
    desk.groups.add(Group.objects.get(name="lead_desk"))
    team = Team.objects.create(name="Bench capture team")
    for i in range(4):
        rep = User.objects.create(username=f"bench-capture-rep-{i}")
        rep.groups.add(Group.objects.get(name="sales_rep"))
        TeamMembership.objects.create(
            team=team, user=rep, daily_capacity=10**6, max_open_leads=10**6
        )
    rule_save(actor=desk, name="all", conditions=[], strategy="round_robin", team=team)


def _queued(client: redis.Redis) -> int:
    return sum(client.llen(name) for name in settings.TASK_QUEUES)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_capture_throughput(report):
    campaign = Campaign.objects.create(
        name="Load", channel=Channel.objects.get(code="website"), utm_campaign="load-test"
    )
    run_id = uuid.uuid4().hex[:6]

    def capture(client: int, n: int):
        return (
            "capture",
            "POST",
            "/api/v1/capture/",
            {
                "campaign_key": campaign.public_key,
                "name": f"访客{client}-{n}",
                "email": f"{run_id}-{client}-{n}@load.example",
                "company_name": f"公司{n % 97}",
                "utm_source": "bench",
                "consent": True,
            },
            {"X-Forwarded-For": f"10.0.{client}.{n % 250}"},
        )

    def trivial(client: int, n: int):
        return ("healthz", "GET", "/healthz", None, {})

    _routing_world()
    before = Lead.objects.count()
    # Production mode: side effects are queued in Redis (a database of its own, emptied
    # before and after) for a worker on every queue, not run inline.
    env = {"CAPTURE_RATE": "1000000/min", "REDIS_URL": REDIS, "AUTO_ASSIGN": "1"}
    broker = redis.Redis.from_url(REDIS)
    broker.flushdb()
    try:
        with gunicorn(workers=3, extra_env=env) as port, celery_worker("capture", extra_env=env):
            base, base_s = loadgen.run(
                port=port, clients=CLIENTS, seconds=SECONDS / 3, make=trivial
            )
            load, load_s = loadgen.run(
                port=port, clients=CLIENTS, seconds=SECONDS, make=capture, keep_bodies=True
            )
            captured = Lead.objects.filter(email__startswith=f"{run_id}-")
            deadline = time.monotonic() + OWNER_WAIT
            while captured.filter(owner__isnull=True).exists() and time.monotonic() < deadline:
                time.sleep(1)
            drained_s = OWNER_WAIT - max(0.0, deadline - time.monotonic())
            while _queued(broker) and time.monotonic() < deadline:
                time.sleep(0.5)
            left_in_queues = _queued(broker)
    finally:
        broker.flushdb()
    owned = captured.filter(owner__isnull=False)
    waits = [
        delta.total_seconds()
        for delta in owned.annotate(wait=F("assigned_at") - F("created_at")).values_list(
            "wait", flat=True
        )
    ]
    # Every email is new in this run, so every 201 is a new lead. The public answer names
    # no lead (DESIGN §9), so the leads are found by their emails.
    created = load.bodies
    stored = Lead.objects.count() - before
    assert stored == len(created), (stored, len(created))
    assert Lead.objects.filter(email__startswith=f"{run_id}-").count() == len(created)
    capture_stats = load.summary(load_s)["capture"]
    base_stats = base.summary(base_s)["healthz"]
    report(
        "capture",
        {
            "clients": CLIENTS,
            "seconds": SECONDS,
            "capture": capture_stats,
            "trivial_view": base_stats,
            "capture_vs_trivial_rps_ratio": round(capture_stats["rps"] / base_stats["rps"], 3),
            "responses_201": len(load.bodies),
            "leads_stored": stored,
            "leads_owned": len(waits),
            "time_to_owner_s": {
                "p50": round(statistics.median(waits), 2) if waits else None,
                "p95": round(_percentile(waits, 0.95), 2),
                "max": round(max(waits), 2) if waits else None,
            },
            "all_owned_after_s": round(drained_s, 1),
            "tasks_left_in_redis": left_in_queues,
            "errors": len(load.errors),
        },
    )
    assert not load.errors and set(capture_stats["statuses"]) == {201}
    assert len(waits) == stored, f"{stored - len(waits)} captured leads never got an owner"
    assert left_in_queues == 0
