"""Routing qualified leads through the service with its writes, and the pure decision."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.models import Count

from assignment import services
from assignment.models import Assignment, Team, TeamMembership
from assignment.router import Candidate, pick
from leads.models import Lead
from tests.benchmarks import data

N = int(os.environ.get("BENCH_ROUTE_LEADS", "100000"))


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

    start = time.perf_counter()
    for pk in ids:
        services.lead_route(lead=pk)
    seconds = time.perf_counter() - start
    # The outcome, from the database: every lead has an owner (none went to the pool; a
    # capacity of 0 or a broken rule would pool them), one decision each naming that
    # owner, and the weights 1:2:3 shared out as configured.
    leads = Lead.objects.filter(pk__in=ids)
    assert leads.filter(owner__isnull=False, in_pool=False).count() == N
    assert Assignment.objects.filter(lead_id__in=ids, owner__isnull=False).count() == N
    assert not Assignment.objects.filter(lead_id__in=ids, owner__isnull=True).exists()
    per_owner = dict(
        leads.values("owner__username").annotate(n=Count("pk")).values_list("owner__username", "n")
    )
    weights = {f"bench-rep-{i}": 1 + i % 3 for i in range(8)}
    for username, weight in weights.items():
        share = per_owner.get(username, 0) / N
        assert abs(share - weight / sum(weights.values())) < 0.02, per_owner

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
            "seconds": round(seconds, 1),
            "leads_per_s": round(N / seconds),
            "leads_owned_after": N,
            "per_owner": per_owner,
            "pure_decisions_per_s": round(pure_rate),
            "service_vs_pure_slower_by": round(pure_rate / (N / seconds)),
            "set_based_sql_seconds": round(set_seconds, 2),
            "service_vs_set_based_slower_by": round(seconds / set_seconds, 1),
        },
    )
