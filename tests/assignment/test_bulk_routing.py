"""Set-based routing (``assignment.bulk``) against one-by-one routing (``lead_route``).

The same input routed both ways on two copies of one world (the second copy is the first
rolled back to before the run) must give the same owners, pool decisions, rotation
cursors, events and assignment records — rotation, capacities, skipped members,
stickiness within the batch and per-lead exclusions included.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignment import bulk, services
from assignment.models import Assignment, RotationCursor
from campaigns.models import Channel
from leads import lifecycle
from leads.choices import EventKind, Stage
from leads.lifecycle.announcements import (
    IN_TRANSACTION,
    Announcement,
    subscribe,
    unsubscribe,
)
from leads.models import Company, Lead, LeadEvent
from tests.factories import CampaignFactory, TeamFactory, TeamMembershipFactory, UserFactory
from tests.parallel import race

REGIONS = ["north", "south", "east", ""]


def make_world(seed: int) -> dict[str, Any]:
    """Two teams, rules of every strategy, members with tight capacities (some away or
    unavailable), companies already owned (stickiness), pooled and owned leads."""
    rnd = random.Random(seed)
    desk = UserFactory(roles=["lead_desk"])
    north, south = TeamFactory(name="North"), TeamFactory(name="South")
    reps = []
    for i in range(5):
        reps.append(
            TeamMembershipFactory(
                team=north,
                weight=1 + i % 3,
                daily_capacity=rnd.choice([6, 9, 100]),
                max_open_leads=rnd.choice([8, 100]),
                available=i != 3,
            ).user
        )
    for i in range(4):
        reps.append(
            TeamMembershipFactory(
                team=south,
                weight=1,
                daily_capacity=rnd.choice([5, 100]),
                away_until=timezone.localdate() + dt.timedelta(days=1) if i == 2 else None,
            ).user
        )
    solo = TeamMembershipFactory(team=south, daily_capacity=4).user
    save = services.rule_save
    save(actor=desk, name="north weighted", strategy="weighted", team=north, priority=10,
         conditions=[{"field": "region", "operator": "eq", "value": "north"}])  # fmt: skip
    save(actor=desk, name="big solo", strategy="user", user=solo, priority=20,
         conditions=[{"field": "company_size", "operator": "eq", "value": "5000+"}])  # fmt: skip
    save(actor=desk, name="south rr", strategy="round_robin", team=south, priority=30,
         conditions=[{"field": "region", "operator": "eq", "value": "south"}])  # fmt: skip
    save(actor=desk, name="east least", strategy="least_loaded", team=north, priority=40,
         conditions=[{"field": "region", "operator": "eq", "value": "east"}])  # fmt: skip
    # Facts of the lead's campaign and channel (read apart from the leads by a set).
    save(actor=desk, name="webinar rr", strategy="round_robin", team=south, priority=45,
         conditions=[{"field": "channel", "operator": "eq", "value": "webinar"}])  # fmt: skip
    save(actor=desk, name="fallback rr", strategy="round_robin", team=north, priority=50,
         conditions=[{"field": "industry", "operator": "eq", "value": "retail"}])  # fmt: skip
    companies = [
        Company.objects.create(
            name=f"Co {seed}-{i}",
            normalized_name=f"co{seed}-{i}",
            region=rnd.choice(REGIONS),
            industry=rnd.choice(["retail", "manufacturing"]),
            size=rnd.choice(["", "5000+"]),
        )
        for i in range(150)
    ]
    campaigns = [
        CampaignFactory(channel=Channel.objects.get(code=code)) for code in ("webinar", "website")
    ]
    now = timezone.now()
    # A few companies already have an owned open lead: their new leads stick to it.
    for company in companies[:4]:
        Lead.objects.create(name="old", phone="", company=company, stage=Stage.MQL,
                            owner=rnd.choice(reps), assigned_at=now - dt.timedelta(days=3),
                            created_at=now, mql_at=now)  # fmt: skip
    ids = []
    for i in range(160):
        pooled = rnd.random() < 0.1
        owned = rnd.random() < 0.05
        stage = rnd.choice([Stage.MQL, Stage.MQL, Stage.MQL, Stage.NEW])
        if pooled and rnd.random() < 0.5:
            stage = Stage.SQL  # an unowned SQL is a pooled one
        if owned and stage == Stage.NEW:
            stage = Stage.MQL
        lead = Lead.objects.create(
            name=f"L{i}",
            phone=f"+86135{seed:02d}{i:06d}",
            company=rnd.choice(companies) if rnd.random() < 0.9 else None,
            source_campaign=rnd.choice([*campaigns, None]),
            stage=stage,
            grade=rnd.choice("ABCD"),
            in_pool=pooled,
            pooled_at=now if pooled else None,
            owner=reps[0] if owned and not pooled else None,
            created_at=now - dt.timedelta(hours=rnd.randint(0, 50)),
            mql_at=None if stage == Stage.NEW else now,
        )
        ids.append(lead.pk)
    rnd.shuffle(ids)
    return {"desk": desk, "ids": ids, "reps": reps}


def snapshot(ids: list[int]) -> dict[str, Any]:
    rows = Lead.objects.filter(pk__in=ids).values(
        "pk", "owner_id", "in_pool", "stage", "assigned_at", "pooled_at", "response_due_at"
    )
    leads = {row["pk"]: row for row in rows}
    # Each written row's instants are its lead's (the one decision's ``now``), compared
    # as such: the two runs happen at different instants.
    events = sorted(
        (e.lead_id, e.kind, e.actor_id, e.from_stage, e.to_stage, e.reason,
         repr(sorted(e.data.items())),
         e.at in (leads[e.lead_id]["assigned_at"], leads[e.lead_id]["pooled_at"]))
        for e in LeadEvent.objects.filter(
            lead_id__in=ids, kind__in=[EventKind.ASSIGNED, EventKind.REASSIGNED, EventKind.POOLED]
        )
    )  # fmt: skip
    records = sorted(
        (a.lead_id, a.owner_id, a.previous_owner_id, a.actor_id, a.strategy, a.rule_id,
         a.rule_name, a.reason, a.reason_code, repr(a.reason_params),
         a.response_due_at is not None,
         a.owner_id is None or a.response_due_at == leads[a.lead_id]["response_due_at"],
         a.routing_work_seconds is not None, a.first_response_at, a.response_work_seconds)
        for a in Assignment.objects.filter(lead_id__in=ids)
    )  # fmt: skip
    for row in leads.values():  # instants differ between the runs: whether each is set
        for name in ("assigned_at", "pooled_at", "response_due_at"):
            row[name] = row[name] is not None
    cursors = dict(RotationCursor.objects.values_list("rule__name", "position"))
    return {"leads": leads, "events": events, "records": records, "cursors": cursors}


def both_ways(
    one_by_one, set_based, ids, *, batch_size: int = bulk.BATCH_SIZE
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run each on its own copy of the world (the first is rolled back); snapshot each,
    with what each announced as ``assigned`` (lead, owner, previous owner): the same
    assignments, one announcement per lead one by one and one per batch set-based."""
    heard: list[list[tuple[int, int, int | None]]] = []

    def listen(*, assignments):
        heard.append([tuple(row) for row in assignments])

    subscribe(Announcement.ASSIGNED, listen, moment=IN_TRANSACTION)
    try:
        with transaction.atomic():
            one_by_one()
            first = {**snapshot(ids), "assigned": sorted(row for rows in heard for row in rows)}
            first_announcements = len(heard)
            transaction.set_rollback(True)
        heard.clear()
        set_based()
        second = {**snapshot(ids), "assigned": sorted(row for rows in heard for row in rows)}
    finally:
        unsubscribe(Announcement.ASSIGNED, listen)
    assert first_announcements == len(first["assigned"])  # one by one: one per lead
    assert 1 <= len(heard) <= -(-len(ids) // batch_size)  # set-based: at most one per batch
    return first, second


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("batch_size", [7, 500])
def test_set_based_routing_decides_exactly_as_one_by_one(seed, batch_size):
    world = make_world(seed)
    ids, desk = world["ids"], world["desk"]

    def one_by_one():
        for pk in ids:
            lead = Lead.objects.get(pk=pk)
            if lead.owner_id is None and lead.stage in (Stage.MQL, Stage.SQL):
                services.lead_route(lead=pk, actor=desk, include_pooled=True)

    first, second = both_ways(
        one_by_one,
        lambda: bulk.leads_route_set(
            lead_ids=ids, actor=desk, include_pooled=True, batch_size=batch_size
        ),
        ids,
        batch_size=batch_size,
    )
    assert second == first
    # The world exercises what it claims to: rotation, pool, stickiness, capacity skips.
    kinds = Counter(r[4] for r in second["records"] if r[0] in ids)
    assert kinds["weighted"] and kinds["round_robin"] and kinds["pool"], kinds
    assert kinds["company_stickiness"] and kinds["least_loaded"] and kinds["user"], kinds
    assert any("daily_capacity" in r[9] for r in second["records"])
    assert second["cursors"]["north weighted"] > 0 and second["cursors"]["south rr"] > 0
    assert any(r[6] == "webinar rr" for r in second["records"])  # a channel fact decided


@pytest.mark.django_db
def test_reroute_with_exclusions_matches_one_by_one():
    """The SLA's reroute: each lead never goes back to its previous owner."""
    world = make_world(4)
    ids, reps = world["ids"], world["reps"]
    pairs = [(pk, reps[i % len(reps)].pk) for i, pk in enumerate(ids)]

    def one_by_one():
        for pk, previous in pairs:
            services.lead_route(lead=pk, include_pooled=True, exclude={previous})

    first, second = both_ways(one_by_one, lambda: bulk.leads_reroute(pairs=pairs), ids)
    assert second == first
    owners = {pk: row["owner_id"] for pk, row in second["leads"].items()}
    assert all(owners[pk] != previous for pk, previous in pairs if owners[pk] is not None)


@pytest.mark.django_db
def test_queries_per_batch_do_not_grow_with_the_batch():
    desk = UserFactory(roles=["lead_desk"])
    team = TeamFactory(name="Flat")
    for i in range(4):
        TeamMembershipFactory(team=team, weight=1 + i, daily_capacity=5000, max_open_leads=5000)
    services.rule_save(actor=desk, name="w", conditions=[], strategy="weighted", team=team)
    companies = [Company.objects.create(name=f"F{i}", normalized_name=f"f{i}") for i in range(1000)]
    now = timezone.now()
    made = iter(range(10**6))

    def fresh(n):
        return [
            lead.pk
            for lead in Lead.objects.bulk_create(
                Lead(name=f"Q{i}", phone="", stage=Stage.MQL, grade="B", created_at=now,
                     mql_at=now, company=companies[next(made) % 1000])
                for i in range(n)
            )
        ]  # fmt: skip

    counts = []
    for n in (30, 150, 450):  # the first warms the cached SLA configuration
        ids = fresh(n)
        with CaptureQueriesContext(connection) as captured:
            result = bulk.leads_route_set(lead_ids=ids, actor=desk)
        assert result.assigned == n
        statements = [q["sql"] for q in captured.captured_queries]
        if connection.vendor == "sqlite":  # the driver splits inserts at 999 parameters
            statements = [sql for sql in statements if not sql.startswith("INSERT")]
        counts.append(len(statements))
    assert counts[2] == counts[1] <= 25, counts


@pytest.mark.django_db
def test_bulk_writes_refuse_what_one_by_one_refuses(rep, other_rep, sales_manager, outsider_rep):
    """``leads_assign_bulk`` checks each lead's transition like ``lead_assign``."""
    from leads import lifecycle

    now = timezone.now()
    owned = Lead.objects.create(
        name="a", phone="", stage=Stage.MQL, owner=rep, created_at=now, mql_at=now
    )
    closed = Lead.objects.create(name="b", phone="", stage=Stage.NEW, created_at=now)
    free = Lead.objects.create(name="c", phone="", stage=Stage.MQL, created_at=now, mql_at=now)
    with transaction.atomic():
        locked = lifecycle.lock_leads([owned.pk, closed.pk, free.pk])
        by_pk = {lead.pk: lead for lead in locked}
        result = lifecycle.leads_assign_bulk(
            decisions=[
                lifecycle.OwnerDecision(lead=by_pk[owned.pk], owner_id=rep.pk, reason="x"),
                lifecycle.OwnerDecision(lead=by_pk[closed.pk], owner_id=rep.pk, reason="x"),
                lifecycle.OwnerDecision(lead=by_pk[free.pk], owner_id=outsider_rep.pk),
            ],
            actor=sales_manager,
        )
    assert result.done == []
    assert set(result.refused) == {owned.pk, closed.pk, free.pk}
    assert "already owns" in result.refused[owned.pk]
    assert not Assignment.objects.filter(lead__in=[owned, closed, free]).exists()
    with transaction.atomic():
        [lead] = lifecycle.lock_leads([owned.pk])
        result = lifecycle.leads_assign_bulk(
            decisions=[lifecycle.OwnerDecision(lead=lead, owner_id=other_rep.pk, reason="moved")],
            actor=sales_manager,
        )
    assert result.done == [owned.pk]
    owned.refresh_from_db()
    assert owned.owner_id == other_rep.pk and owned.response_due_at is not None
    event = LeadEvent.objects.get(lead=owned, kind=EventKind.REASSIGNED)
    assert event.data["previous_owner"] == rep.pk and event.actor_id == sales_manager.pk
    record = Assignment.objects.get(lead=owned)
    assert (record.strategy, record.previous_owner_id, record.reason_code) == (
        "manual",
        rep.pk,
        "manual",
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_batches_into_one_team_lose_no_cursor_step():
    """Two workers route two selections into the same team at once (batches of 50):
    every lead gets exactly one owner, the rotation is exact and the cursor counts all."""
    desk = UserFactory(roles=["lead_desk"])
    team = TeamFactory(name="Parallel bulk")
    reps = [
        TeamMembershipFactory(team=team, daily_capacity=5000, max_open_leads=5000).user
        for _ in range(4)
    ]
    rule = services.rule_save(actor=desk, name="rr", conditions=[], strategy="round_robin",
                              team=team)  # fmt: skip
    now = timezone.now()
    ids = [
        lead.pk
        for lead in Lead.objects.bulk_create(
            Lead(
                name=f"P{i}",
                phone=f"+86134{i:08d}",
                stage=Stage.MQL,
                grade="B",
                created_at=now,
                mql_at=now,
            )
            for i in range(400)
        )
    ]
    halves = [ids[0::2], ids[1::2]]
    results = race(
        [lambda h=half: bulk.leads_route_set(lead_ids=h, batch_size=50).assigned for half in halves]
    )
    assert results == [200, 200], results
    counts = Counter(Lead.objects.filter(pk__in=ids).values_list("owner_id", flat=True))
    assert counts == {rep.pk: 100 for rep in reps}
    per_lead = Assignment.objects.filter(lead_id__in=ids).values("lead_id").annotate(n=Count("id"))
    assert len(per_lead) == 400 and {row["n"] for row in per_lead} == {1}
    assert RotationCursor.objects.get(rule=rule).position == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    "instant",
    [
        dt.datetime(2026, 12, 2, 16, 30, tzinfo=dt.timezone.utc),  # outside working hours
        dt.datetime(2026, 10, 9, 3, 15, tzinfo=dt.timezone.utc),  # after National Day
        dt.datetime(2026, 11, 27, 8, 59, tzinfo=dt.timezone.utc),  # Friday 16:59 local
    ],
)
def test_bulk_sla_clock_matches_one_by_one(instant, desk, rep, other_rep):
    """The set's SLA clock (``DueClock``: configuration read and calendar walked once)
    gives each lead and record the due time and routing working seconds ``lead_assign``
    gives one by one, at the same instant, for every grade and for leads created from
    minutes to months before (weekends and holidays in between); reassignments too."""
    rnd = random.Random(instant.toordinal())
    ids = []
    for i in range(60):
        created = instant - dt.timedelta(minutes=rnd.randint(1, 90 * 24 * 60))
        lead = Lead.objects.create(
            name=f"S{i}",
            phone="",
            stage=Stage.MQL,
            grade=rnd.choice(["A", "B", "C", "D", ""]),
            owner=other_rep if i % 5 == 0 else None,
            created_at=created,
            mql_at=created,
        )
        ids.append(lead.pk)

    def figures():
        return {
            "leads": sorted(
                Lead.objects.filter(pk__in=ids).values_list("pk", "owner_id", "response_due_at")
            ),
            "records": sorted(
                Assignment.objects.filter(lead_id__in=ids).values_list(
                    "lead_id", "previous_owner_id", "response_due_at", "routing_work_seconds",
                    "reason", "reason_code",
                )
            ),
        }  # fmt: skip

    with time_machine.travel(instant, tick=False):
        with transaction.atomic():
            for pk in ids:
                lifecycle.lead_assign(lead=pk, actor=desk, owner=rep, reason=" moved ")
            first = figures()
            transaction.set_rollback(True)
        with transaction.atomic():
            locked = lifecycle.lock_leads(ids, fields=lifecycle.ASSIGN_COLUMNS)
            result = lifecycle.leads_assign_bulk(
                decisions=[
                    lifecycle.OwnerDecision(lead=lead, owner_id=rep.pk, reason=" moved ")
                    for lead in locked
                ],
                actor=desk,
            )
        second = figures()
    assert result.done == sorted(ids) and not result.refused
    assert second == first
    seconds = {row[3] for row in second["records"]}
    assert len(seconds) > 20  # a spread of starts, not one figure for all
    assert any(row[2] is not None for row in second["leads"])


@pytest.mark.django_db
def test_leads_locked_with_only_some_columns_are_whole_leads(rep):
    """``lock_leads(fields=…)`` builds the set's leads from plain rows: the named columns
    are loaded with the database's values, any other is read on access, as with ``only``,
    and the lead is a saved row (not ``adding``) that compares equal to its own."""
    now = timezone.now()
    made = [
        Lead.objects.create(name=f"R{i}", phone="", stage=Stage.MQL, grade="AB"[i % 2],
                            owner=rep if i else None, created_at=now, mql_at=now)
        for i in range(3)
    ]  # fmt: skip
    with transaction.atomic():
        locked = lifecycle.lock_leads([m.pk for m in made][::-1], fields=lifecycle.ASSIGN_COLUMNS)
        assert [lead.pk for lead in locked] == sorted(m.pk for m in made)  # id order
        for lead, original in zip(locked, sorted(made, key=lambda m: m.pk), strict=True):
            assert lead == original and not lead._state.adding
            assert (lead.stage, lead.grade, lead.owner_id, lead.created_at) == (
                original.stage, original.grade, original.owner_id, original.created_at
            )  # fmt: skip
            assert "name" in lead.get_deferred_fields()
            with CaptureQueriesContext(connection) as read:
                assert lead.name == original.name  # a deferred column, read on access
            assert len(read) == 1
