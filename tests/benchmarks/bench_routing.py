"""Routing qualified leads through the service with its writes, and the pure decision."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from unittest import mock

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignment import bulk, services
from assignment.models import Assignment, RotationCursor, Team, TeamMembership
from assignment.router import Candidate, pick
from leads.choices import EventKind
from leads.models import Lead, LeadEvent
from tests.benchmarks import data

N = int(os.environ.get("BENCH_ROUTE_LEADS", "100000"))


@contextlib.contextmanager
def counted_enqueue(queued: list):
    """Every ``enqueue`` (the subscribers bind it by name) appends to ``queued``."""
    record = lambda *args, **kw: queued.append(args)  # noqa: E731
    with (
        mock.patch("pipeline.queue.enqueue", record),
        mock.patch("notifications.subscribers.enqueue", record),
        mock.patch("assignment.subscribers.enqueue", record),
    ):
        yield


#: one-by-one routing is ~40 leads/s: timed on a slice, the set-based path on all N
ONE_BY_ONE = int(os.environ.get("BENCH_ROUTE_ONE_BY_ONE", "2000"))
REASSIGN = int(os.environ.get("BENCH_REASSIGN_LEADS", "20000"))
ONE_BY_ONE_REASSIGN = int(os.environ.get("BENCH_REASSIGN_ONE_BY_ONE", "500"))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_route_leads(report):
    desk = User.objects.create(username="bench-desk")
    desk.groups.add(Group.objects.get(name="lead_desk"))
    team = Team.objects.create(name="Bench team")
    sales = Group.objects.get(name="sales_rep")
    for i in range(8):
        rep = User.objects.create(username=f"bench-rep-{i}")
        rep.groups.add(sales)
        TeamMembership.objects.create(
            team=team, user=rep, weight=1 + i % 3, daily_capacity=10**6, max_open_leads=10**6
        )
    services.rule_save(actor=desk, name="weighted", conditions=[], strategy="weighted", team=team)
    ids = data.leads(
        N, stage="mql", campaigns_=data.campaigns(20), companies_=data.companies(N), touches=False
    )

    candidates = [Candidate(user_id=i, username=f"u{i}", weight=1 + i % 3) for i in range(8)]
    today = dt.date(2026, 11, 27)
    start, position = time.perf_counter(), 0
    for _ in range(200_000):
        position = pick("weighted", candidates, position=position, today=today).position
    pure_rate = 200_000 / (time.perf_counter() - start)

    # Notices are queued for the realtime workers in production; here each enqueue is
    # counted instead of run inline (eager), for both paths alike.
    queued = []
    with counted_enqueue(queued):
        start = time.perf_counter()
        for pk in ids[:ONE_BY_ONE]:
            services.lead_route(lead=pk)
        one_seconds = time.perf_counter() - start
        start = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            routed = bulk.leads_route_set(lead_ids=ids[ONE_BY_ONE:])
        seconds = time.perf_counter() - start
    assert routed.assigned == N - ONE_BY_ONE
    # One notice task per lead routed one by one, one per batch set-based (never per lead).
    set_batches = -(-(N - ONE_BY_ONE) // bulk.BATCH_SIZE)
    assert len(queued) == ONE_BY_ONE + set_batches, len(queued)
    set_queries = len(captured.captured_queries)
    # The outcome, from the database: every lead has an owner (none went to the pool; a
    # capacity of 0 or a broken rule would pool them), one decision each naming that
    # owner, and the weights 1:2:3 shared out as configured.
    leads = Lead.objects.filter(pk__in=ids)
    assert leads.filter(owner__isnull=False, in_pool=False).count() == N
    assert Assignment.objects.filter(lead_id__in=ids, owner__isnull=False).count() == N
    assert not Assignment.objects.filter(lead_id__in=ids, owner__isnull=True).exists()
    assert LeadEvent.objects.filter(lead_id__in=ids, kind=EventKind.ASSIGNED).count() == N
    per_owner = dict(
        leads.values("owner__username").annotate(n=Count("pk")).values_list("owner__username", "n")
    )
    weights = {f"bench-rep-{i}": 1 + i % 3 for i in range(8)}
    for username, weight in weights.items():
        share = per_owner.get(username, 0) / N
        assert abs(share - weight / sum(weights.values())) < 0.02, per_owner
    cursor_position = RotationCursor.objects.get(rule__name="weighted").position
    assert cursor_position == N  # every decision advanced the one rotation once
    # Baseline doing the same work set-based: the same leads back to unowned MQLs, then
    # owners and decision rows written by two SQL statements (no rules, no events).
    owners = list(TeamMembership.objects.filter(team=team).values_list("user_id", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM assignment_assignment WHERE lead_id = ANY(%s)", [ids])
        cursor.execute(
            "UPDATE leads_lead SET owner_id = NULL, assigned_at = NULL WHERE id = ANY(%s)", [ids]
        )
        start = time.perf_counter()
        cursor.execute(
            "UPDATE leads_lead SET owner_id = (%s::int[])[1 + id %% %s], assigned_at = now() "
            "WHERE id = ANY(%s)",
            [owners, len(owners), ids],
        )
        cursor.execute(
            "INSERT INTO assignment_assignment (lead_id, owner_id, strategy, rule_name, reason,"
            " reason_code, reason_params, at) SELECT id, owner_id, 'weighted', 'weighted', '',"
            " '', '{}', now() FROM leads_lead WHERE id = ANY(%s)",
            [ids],
        )
        set_seconds = time.perf_counter() - start
    assert leads.filter(owner__isnull=False).count() == N
    report(
        "routing",
        {
            "leads": N,
            "one_by_one_leads": ONE_BY_ONE,
            "one_by_one_leads_per_s": round(ONE_BY_ONE / one_seconds),
            "set_based_leads": N - ONE_BY_ONE,
            "set_based_seconds": round(seconds, 1),
            "set_based_leads_per_s": round((N - ONE_BY_ONE) / seconds),
            "set_based_queries": set_queries,
            "set_based_batches": set_batches,
            "notice_tasks_queued": len(queued),
            "set_based_vs_one_by_one_faster_by": round(
                ((N - ONE_BY_ONE) / seconds) / (ONE_BY_ONE / one_seconds), 1
            ),
            "leads_owned_after": N,
            "per_owner": per_owner,
            "pure_decisions_per_s": round(pure_rate),
            "set_based_vs_pure_slower_by": round(pure_rate / ((N - ONE_BY_ONE) / seconds)),
            "set_based_sql_seconds": round(set_seconds, 2),
            "set_based_vs_sql_baseline_slower_by": round(
                (seconds / (N - ONE_BY_ONE)) / (set_seconds / N), 1
            ),
        },
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bulk_reassign_to_another_owner(report):
    """The issue's bulk reassignment: owned leads to another owner through the bulk
    action (``leads.bulk.bulk_run``, BULK_CAP leads per run), checked in the database, next
    to the one-by-one action path (``run_bulk``) on a slice and one SQL UPDATE + INSERT."""
    from leads.actions import run_bulk
    from leads.bulk import BULK_CAP, bulk_run

    desk = User.objects.create(username="bench-desk-r")
    desk.groups.add(Group.objects.get(name="lead_desk"))
    sales = Group.objects.get(name="sales_rep")
    old, new = (User.objects.create(username=f"bench-owner-{k}") for k in ("old", "new"))
    for user in (old, new):
        user.groups.add(sales)
    ids = data.leads(
        REASSIGN,
        stage="mql",
        campaigns_=data.campaigns(5),
        companies_=data.companies(200),
        touches=False,
    )
    Lead.objects.filter(pk__in=ids).update(owner=old, assigned_at=timezone.now())
    queued = []
    with counted_enqueue(queued):
        slice_ = ids[:ONE_BY_ONE_REASSIGN]
        start = time.perf_counter()
        run_bulk(name="assign", lead_ids=slice_, actor=desk,
                 data={"owner": str(new.pk), "reason": "territory change"})  # fmt: skip
        one_seconds = time.perf_counter() - start
        Lead.objects.filter(pk__in=slice_).update(owner=old)
        start = time.perf_counter()
        per_run = []
        for i in range(0, REASSIGN, BULK_CAP):
            with CaptureQueriesContext(connection) as captured:
                result = bulk_run(
                    actor=desk,
                    name="assign",
                    lead_ids=ids[i : i + BULK_CAP],
                    data={"owner": str(new.pk), "reason": "territory change"},
                )
            assert not result.refused, result.refused[:3]
            per_run.append(len(captured.captured_queries))
        seconds = time.perf_counter() - start
    leads = Lead.objects.filter(pk__in=ids)
    assert leads.filter(owner=new).count() == REASSIGN
    assert (
        Assignment.objects.filter(lead_id__in=ids, owner=new, previous_owner=old).count()
        >= REASSIGN
    )
    assert LeadEvent.objects.filter(lead_id__in=ids, kind=EventKind.REASSIGNED).count() >= REASSIGN
    with connection.cursor() as cursor:
        cursor.execute("UPDATE leads_lead SET owner_id = %s WHERE id = ANY(%s)", [old.pk, ids])
        start = time.perf_counter()
        cursor.execute(
            "UPDATE leads_lead SET owner_id = %s, assigned_at = now() WHERE id = ANY(%s)",
            [new.pk, ids],
        )
        cursor.execute(
            "INSERT INTO assignment_assignment (lead_id, owner_id, previous_owner_id, strategy,"
            " rule_name, reason, reason_code, reason_params, at) SELECT id, %s, %s, 'manual', '',"
            " '', '', '{}', now() FROM leads_lead WHERE id = ANY(%s)",
            [new.pk, old.pk, ids],
        )
        sql_seconds = time.perf_counter() - start
    report(
        "bulk_reassign",
        {
            "leads": REASSIGN,
            "bulk_runs": len(per_run),
            "queries_per_run_min_max": (min(per_run), max(per_run)),
            "seconds": round(seconds, 1),
            "leads_per_s": round(REASSIGN / seconds),
            "one_by_one_slice": len(slice_),
            "one_by_one_leads_per_s": round(len(slice_) / one_seconds),
            "one_by_one_projected_seconds": round(one_seconds * REASSIGN / len(slice_)),
            "faster_than_one_by_one_by": round(one_seconds * REASSIGN / len(slice_) / seconds, 1),
            "sql_baseline_seconds": round(sql_seconds, 2),
            "vs_sql_baseline_slower_by": round(seconds / sql_seconds, 1),
        },
    )
