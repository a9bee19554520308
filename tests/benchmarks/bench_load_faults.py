"""Faults on 127.0.0.1, bounded in time (issue 8; the load test is ``bench_load.py``, open
loop at fixed rates):

* Redis stopped during captures: every capture still answers 201 and is stored, p50/p95
  capture latency in milliseconds (fail fast + circuit breaker); scoring is done by the
  sweep once Redis is back. ``test_faults_redis_unreachable_captures`` measures the same
  against a closed port without stopping the machine's Redis;
* a Celery worker killed (SIGKILL) in the middle of an import: another worker finishes it,
  no duplicate leads;
* PostgreSQL restarted mid-run: the app answers again without being restarted.

These stop and start the machine's Redis and PostgreSQL: run them alone
(`./scripts/dev bench -k faults`).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import os
import pathlib
import signal
import subprocess
import time
import uuid

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection

from campaigns.models import Campaign, Channel
from leads.models import Lead
from tests.benchmarks import loadgen, server
from tests.benchmarks.server import ROOT, gunicorn

REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def redis_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def redis_start() -> None:
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
    )
    for _ in range(50):
        if redis_cli("ping").stdout.strip() == "PONG":
            return
        time.sleep(0.1)
    raise RuntimeError("Redis did not come back")


@contextlib.contextmanager
def celery_worker(tag: str):
    """One worker process on every queue, quick to take over a job whose worker died."""
    env = {"REDIS_URL": REDIS, "CELERY_VISIBILITY_TIMEOUT": "10", "IMPORT_STALE_SECONDS": "10"}
    with server.celery_worker(tag, extra_env=env, concurrency=1) as process:
        yield process


def _captures_with_redis_down(report, *, name: str, redis_url: str, stop_redis: bool) -> None:
    """4 clients capture for 5 s while Redis is down: every answer is 201 and stored, with
    p50/p95 capture latency; the sweep scores what could not be queued."""
    campaign = Campaign.objects.create(
        name="Fault", utm_campaign=f"fault-{name}", channel=Channel.objects.get(code="website")
    )
    before = Lead.objects.count()
    extra_env = {"CAPTURE_RATE": "1000000/min", "REDIS_URL": redis_url}
    with gunicorn(workers=2, extra_env=extra_env) as port:
        if stop_redis:
            redis_cli("shutdown", "nosave")
        try:
            outcome, took = loadgen.run(
                port=port,
                clients=4,
                seconds=5,
                make=lambda c, n: (
                    "capture",
                    "POST",
                    "/api/v1/capture/",
                    {
                        "campaign_key": campaign.public_key,
                        "name": f"R{c}-{n}",
                        "decision_role": "decision_maker",
                        "timeline": "1m",
                        "email": f"redis-{c}-{n}-{uuid.uuid4().hex[:4]}@x.cn",
                        "consent": True,
                    },
                    {},
                ),
                keep_bodies=True,
            )
        finally:
            if stop_redis:
                redis_start()
    stored = Lead.objects.count() - before
    # Scoring runs in the capture's transaction (DESIGN §5): none is left for later.
    unscored = Lead.objects.filter(source_campaign=campaign, scored_at__isnull=True).count()
    capture = outcome.summary(took)["capture"]
    report(
        name,
        {
            "captures_201": len(outcome.bodies),
            "leads_stored": stored,
            "unscored_while_down": unscored,
            "statuses": capture["statuses"],
            "capture_rps": capture["rps"],
            "capture_p50_ms": capture["p50_ms"],
            "capture_p95_ms": capture["p95_ms"],
            "capture_p99_ms": capture["p99_ms"],
        },
    )
    # Every 201 is a stored lead; a client that timed out may have a stored lead too.
    assert len(outcome.bodies) > 0 and stored >= len(outcome.bodies)
    assert all(b.keys() == {"received", "reference"} for b in outcome.bodies)
    assert set(capture["statuses"]) == {201}
    assert unscored == 0
    # Redis down must not make a capture wait on connection attempts (was ~2 s each).
    assert capture["p95_ms"] < 500, capture


@pytest.mark.faults
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_faults_redis_down_during_captures(report):
    """Stops the machine's Redis server (then starts it again): run alone."""
    _captures_with_redis_down(report, name="fault_redis_down", redis_url=REDIS, stop_redis=True)


@pytest.mark.faults
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_faults_redis_unreachable_captures(report):
    """The same with ``REDIS_URL`` on a port nothing listens on: safe beside a shared Redis."""
    _captures_with_redis_down(
        report,
        name="fault_redis_unreachable",
        redis_url=os.environ.get("BENCH_CLOSED_REDIS_URL", "redis://127.0.0.1:6390/0"),
        stop_redis=False,
    )


@pytest.mark.faults
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_faults_worker_killed_mid_import(tmp_path, report):
    from django.core.files import File

    from leads.imports import import_upload

    user = User.objects.create(username="fault-importer")
    user.groups.add(Group.objects.get(name="marketer"))
    campaign = Campaign.objects.create(
        name="Kill", utm_campaign="fault-import", channel=Channel.objects.get(code="trade_show")
    )
    rows = int(os.environ.get("BENCH_KILL_ROWS", "30000"))
    path = tmp_path / "kill.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "手机"])
        for i in range(rows):
            writer.writerow([f"K{i}", f"137{i:08d}"])
    os.environ["REDIS_URL"] = REDIS  # this process only queues the job

    settings.CELERY_TASK_ALWAYS_EAGER = False
    from pipeline.celery import app

    app.conf.broker_url = REDIS
    app.conf.task_always_eager = False
    with celery_worker("first") as first:
        with path.open("rb") as handle:
            upload = File(handle, name="kill.csv")
            upload.size = path.stat().st_size
            job = import_upload(
                actor=user,
                campaign=campaign,
                upload=upload,
                legal_basis="event_registration",
                legal_basis_date=dt.date(2026, 1, 1),
            )
        for _ in range(600):
            job.refresh_from_db()
            if job.processed > 0:
                break
            time.sleep(0.1)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    job.refresh_from_db()
    at_kill = job.processed
    with celery_worker("second"):
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status in ("done", "failed"):
                break
            from leads.imports import requeue_stale_imports

            requeue_stale_imports()  # what the beat sweep does every two minutes
            time.sleep(2)
    job.refresh_from_db()
    leads = Lead.objects.filter(source_campaign=campaign)
    report(
        "fault_worker_killed",
        {
            "rows": rows,
            "processed_when_killed": at_kill,
            "status": job.status,
            "created": job.created,
            "leads": leads.count(),
            "distinct_phones": leads.values("phone").distinct().count(),
        },
    )
    assert job.status == "done" and 0 < at_kill < rows
    assert leads.count() == rows == leads.values("phone").distinct().count()


@pytest.mark.faults
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_faults_postgres_restart(report):
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    statuses: list[tuple[float, int]] = []
    import urllib.error
    import urllib.request

    with gunicorn(workers=2) as port:

        def probe() -> int:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    return r.status
            except urllib.error.HTTPError as exc:
                return exc.code
            except OSError:
                return 0

        assert probe() == 200
        connection.close()
        began = time.monotonic()
        subprocess.run(
            [
                "pg_ctlcluster",
                "--skip-systemctl-redirect",
                version,
                "main",
                "restart",
            ],
            check=True,
        )
        recovered = None
        while time.monotonic() - began < 60:
            code = probe()
            statuses.append((round(time.monotonic() - began, 2), code))
            if code == 200:
                recovered = time.monotonic() - began
                break
            time.sleep(0.5)
    report("fault_postgres_restart", {"recovered_after_s": recovered, "probes": statuses[-5:]})
    assert recovered is not None
    assert pathlib.Path(ROOT).exists()
