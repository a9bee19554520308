"""Build the demo world and write its leads in batches (``manage.py seed_demo``).

No per-lead queries and no lifecycle calls: the simulator reproduces what
``leads.lifecycle`` would have written (its arrival rows built by the arrival rule's value
functions), and each batch goes in with one insert per table, in one transaction.
Memory stays flat: a batch is simulated, written and dropped.

- Anywhere: ``bulk_create`` (lead and follow-up ids come back from the insert).
- PostgreSQL with psycopg2: ids from the sequences and ``COPY``, with the next batch
  simulated in a thread while this one is copied — several times faster at a million.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import queue
import threading
import time
from collections.abc import Callable, Iterator

from django.db import connections, transaction
from django.db.models import Count
from django.utils import timezone

from assignment.models import Assignment
from campaigns.models import Campaign
from leads.credits import recompute_all_credits
from leads.demo import world as demo_world
from leads.demo.simulate import LeadSimulator, SimLead
from leads.demo.targets import create_targets
from leads.models import FollowUp, Lead, LeadEvent, LeadTouch
from pipeline.writers import OrmWriter, PostgresCopyWriter
from reports.sla.backfill import backfill_sla_clocks
from scoring.models import GradeThresholds
from scoring.services import active_rules, current_thresholds


class DemoDataExists(Exception):
    """The database already holds leads, campaigns or demo users; ``--flush`` replaces them."""

    def __init__(self, found: dict[str, int]):
        self.found = found
        listed = ", ".join(f"{count:,} {name}" for name, count in found.items())
        super().__init__(f"The database already holds data ({listed}).")


@dataclasses.dataclass
class Progress:
    done: int
    total: int
    elapsed: float

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed else 0.0


@dataclasses.dataclass
class SeedResult:
    leads: int
    campaigns: int
    companies: int
    seconds: float
    stages: dict[str, int]
    flushed: dict[str, int]


def seed_demo(
    *,
    leads: int,
    seed: int = 42,
    flush: bool = False,
    batch_size: int = 5000,
    today: dt.date | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> SeedResult:
    """Create the demo world: users, teams, campaigns with costs, companies, ``leads``.

    The same ``seed``, ``leads`` and ``today`` give the same data. Refuses with
    ``DemoDataExists`` when leads, companies, campaigns, demo teams or demo users exist,
    unless ``flush`` deletes them first (every lead, company and campaign — not only
    demo ones — because demo leads would otherwise mix with them).
    """
    started = time.monotonic()
    today = today or timezone.localdate()
    flushed: dict[str, int] = {}
    if flush:
        flushed = demo_world.flush_demo_data(chunk_size=batch_size)
    else:
        found = demo_world.existing_demo_data()
        if found:
            raise DemoDataExists(found)

    with transaction.atomic():
        users = demo_world.create_users()
        teams = demo_world.create_teams(users, today)
        campaigns, weights = demo_world.create_campaigns(
            rng=demo_world.demo_rng(seed, "campaigns"), today=today, n_leads=leads, users=users
        )
        world = demo_world.DemoWorld(
            today=today,
            users=users,
            teams=teams,
            campaigns=campaigns,
            campaign_weights=weights,
        )
        world.companies = demo_world.create_companies(
            rng=demo_world.demo_rng(seed, "companies"),
            count=max(200, leads // 20),
            teams=teams,
            rep_ids=world.rep_ids,
            batch_size=batch_size,
        )
        routing_rules = demo_world.create_routing_rules(users, teams)
        thresholds = GradeThresholds.current()

    simulator = LeadSimulator(
        world=world,
        seed=seed,
        rng=demo_world.demo_rng(seed, "leads"),
        rules=active_rules(),
        thresholds=current_thresholds(),
        auto_qualify_score=thresholds.auto_qualify_score if thresholds.auto_qualify else None,
        routing_rules=routing_rules,
        total=leads,
        score_version=thresholds.version,
    )
    batches = _batches(simulator, leads, batch_size)
    lead_started = time.monotonic()

    def report(done: int) -> None:
        if progress is not None:
            progress(Progress(done=done, total=leads, elapsed=time.monotonic() - lead_started))

    if PostgresCopyWriter.available():
        _write_pipelined(batches, PostgresCopyWriter(), report)
    else:
        writer, done = OrmWriter(batch_size), 0
        for batch in batches:
            _write_batch(batch, writer)
            done += len(batch)
            report(done)

    recompute_all_credits()  # attribution credits of every touch, by the one SQL rule
    backfill_sla_clocks()  # first-response due times, by the business calendar
    # Open deals' expected close dates (the forecast), from a stream of their own.
    demo_world.date_open_deals(
        rng=demo_world.demo_rng(seed, "close_dates"), today=today, batch_size=batch_size
    )
    # Targets of this month and the last, set around the world's own figures.
    create_targets(
        users=world.users, team_ids=[team.id for team in world.teams], today=today, seed=seed
    )
    stages = dict(Lead.objects.values_list("stage").annotate(n=Count("pk")).order_by("stage"))
    return SeedResult(
        leads=leads,
        campaigns=Campaign.objects.count(),
        companies=len(world.companies),
        seconds=time.monotonic() - started,
        stages=stages,
        flushed=flushed,
    )


def _batches(simulator: LeadSimulator, leads: int, batch_size: int) -> Iterator[list[SimLead]]:
    for first in range(0, leads, batch_size):
        batch = [
            simulator.simulate(index) for index in range(first, min(leads, first + batch_size))
        ]
        # arrival days already ascend; within a day, ids follow the clock as in real life
        batch.sort(key=lambda sim: sim.fields["created_at"])
        yield batch


#: A touch's attribution credits, filled by ``leads.credits`` after the batches (one copy of
#: the rule).
_NO_CREDITS = {
    "credit_first_touch": 0.0,
    "credit_last_touch": 0.0,
    "credit_linear": 0.0,
    "credit_u_shaped": 0.0,
}


def _follow_up_rows(batch: list[SimLead], lead_ids: list[int]) -> list[dict]:
    return [
        {
            "lead_id": lead_id,
            "author_id": author,
            "at": at,
            "recorded_at": at,  # logged when it happened: never back-dated
            "method": method,
            "outcome": outcome,
            "note": note,
            "next_follow_up_at": next_at,
        }
        for sim, lead_id in zip(batch, lead_ids, strict=True)
        for author, at, method, outcome, note, next_at in sim.follow_ups
    ]


def _other_rows(
    batch: list[SimLead], lead_ids: list[int], follow_up_ids: list[int]
) -> tuple[list[dict], list[dict], list[dict]]:
    """Touches, events and assignment decisions of a batch whose ids are known."""
    touches, events, assignments, position = [], [], [], 0
    for sim, lead_id in zip(batch, lead_ids, strict=True):
        touches.extend({"lead_id": lead_id, **touch, **_NO_CREDITS} for touch in sim.touches)
        for kind, from_stage, to_stage, actor, at, reason, payload, follow_up in sim.events:
            if follow_up >= 0:
                payload = {"follow_up": follow_up_ids[position + follow_up], **payload}
            events.append(
                {
                    "lead_id": lead_id,
                    "kind": kind,
                    "from_stage": from_stage,
                    "to_stage": to_stage,
                    "actor_id": actor,
                    "at": at,
                    "reason": reason,
                    "data": payload,
                }
            )
        position += len(sim.follow_ups)
        for owner, previous, rule_id, rule_name, strategy, why, actor, at in sim.assignments:
            assignments.append(
                {
                    "lead_id": lead_id,
                    "owner_id": owner,
                    "previous_owner_id": previous,
                    "rule_id": rule_id,
                    "rule_name": rule_name,
                    "strategy": strategy,
                    "reason": why.stored_text(),
                    "reason_code": why.code,
                    "reason_params": why.params,
                    "actor_id": actor,
                    "at": at,
                }
            )
    return touches, events, assignments


def _write_batch(batch: list[SimLead], writer: OrmWriter) -> None:
    """Insert one batch: leads first (their ids come back), then what hangs off them."""
    with transaction.atomic():
        lead_ids = writer.insert(Lead, [sim.fields for sim in batch], return_ids=True)
        follow_ups = _follow_up_rows(batch, lead_ids)
        follow_up_ids = writer.insert(FollowUp, follow_ups, return_ids=True)
        touches, events, assignments = _other_rows(batch, lead_ids, follow_up_ids)
        writer.insert(LeadTouch, touches)
        writer.insert(LeadEvent, events)
        writer.insert(Assignment, assignments)


def _copy_chunks(batch: list[SimLead], writer: PostgresCopyWriter) -> list[tuple[str, str]]:
    """Ids from the sequences, then ``COPY`` text for every table of one batch."""
    lead_ids = writer.allocate_ids(Lead, len(batch))
    follow_ups = _follow_up_rows(batch, lead_ids)
    follow_up_ids = writer.allocate_ids(FollowUp, len(follow_ups))
    touches, events, assignments = _other_rows(batch, lead_ids, follow_up_ids)
    return [
        writer.format(Lead, [sim.fields for sim in batch], lead_ids),
        writer.format(FollowUp, follow_ups, follow_up_ids),
        writer.format(LeadTouch, touches),
        writer.format(LeadEvent, events),
        writer.format(Assignment, assignments),
    ]


def _write_pipelined(
    batches: Iterator[list[SimLead]], writer: PostgresCopyWriter, report: Callable[[int], None]
) -> None:
    """Simulate and format batch n+1 in a thread while this thread copies batch n.

    PostgreSQL's work (indexes, foreign-key checks) and Python's overlap on two cores.
    The producer thread has its own database connection (only for ``nextval``) and
    closes it; at most two prepared batches wait in the queue, so memory stays flat.
    """
    ready: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item) -> None:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    return
                put(("batch", len(batch), _copy_chunks(batch, writer)))
            put(("done", 0, None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(("error", 0, exc))
        finally:
            connections.close_all()  # this thread's connections only

    producer = threading.Thread(target=produce, name="seed-demo-producer", daemon=True)
    producer.start()
    done = 0
    try:
        while True:
            kind, size, payload = ready.get()
            if kind == "done":
                break
            if kind == "error":
                raise payload
            with transaction.atomic():
                for statement, text in payload:
                    writer.copy(statement, text)
            done += size
            report(done)
    finally:
        stop.set()
        producer.join()
