"""Capture endpoint under gunicorn with 32 concurrent clients, against a trivial view
(/healthz) on the same server; and proof that every 201 is a stored lead."""

from __future__ import annotations

import os
import uuid

import pytest

from campaigns.models import Campaign, Channel
from leads.models import Lead
from tests.benchmarks import loadgen
from tests.benchmarks.server import gunicorn

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))


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

    before = Lead.objects.count()
    # Production mode: side effects are queued in Redis for the workers, not run inline.
    env = {
        "CAPTURE_RATE": "1000000/min",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
    }
    with gunicorn(workers=4, extra_env=env) as port:
        base, base_s = loadgen.run(port=port, clients=CLIENTS, seconds=SECONDS / 3, make=trivial)
        load, load_s = loadgen.run(
            port=port, clients=CLIENTS, seconds=SECONDS, make=capture, keep_bodies=True
        )
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
            "errors": len(load.errors),
        },
    )
    assert not load.errors and set(capture_stats["statuses"]) == {201}
