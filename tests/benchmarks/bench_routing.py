"""Routing qualified leads through the service with its writes, and the pure decision."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from django.contrib.auth.models import Group, User

from assignment import services
from assignment.models import Assignment, Team, TeamMembership
from assignment.router import Candidate, pick
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
    assert Assignment.objects.count() == N
    report(
        "routing",
        {
            "leads": N,
            "seconds": round(seconds, 1),
            "leads_per_s": round(N / seconds),
            "pure_decisions_per_s": round(pure_rate),
            "service_vs_pure_slower_by": round(pure_rate / (N / seconds)),
        },
    )
