"""Set-based routing for the bulk paths: a selection routed from a list, leads an import
auto-qualified, pooled leads routed again, the SLA's reroute, the sweep of unrouted leads.

The same decisions as ``services.lead_route`` one lead at a time, in the same order, with
the same rotation: the pure router (``router.pick``, ``router.rule_matches``,
``router.describe_pick``) decides, over the same candidates (``services.load_candidates``
on the same team rows), whose counters (assigned today, open leads) and rotation
positions advance in memory as the batch assigns, exactly as the database would between
two one-by-one routings. Company stickiness follows the leads of the batch too. The
writes are the lifecycle's own set-based transition (``lifecycle.leads_assign_bulk``).

Per batch (``BATCH_SIZE`` leads), in one transaction, the locks are taken in the order
``lead_route`` takes them — the batch's lead rows (in id order), then each team's
membership rows as the first lead needing that team reaches it, then its rule's rotation
cursor — and released at the batch's commit: a concurrent router of the same team waits
for one batch at most, and sees its counts and cursor afterwards. Queries per batch do not
depend on its size (a few per team and per rule a batch uses).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from assignment import reasons
from assignment.choices import DecisionKind, Strategy
from assignment.models import AssignmentRule, RotationCursor
from assignment.reasons import DecisionReason
from assignment.router import Candidate, describe_pick, rule_matches
from assignment.services import (
    RuleSpec,
    _empty_rule_fields,
    _name,
    active_rule_specs,
    lock_cursor,
    pick_for_rule,
    rule_members,
    sticky_owner_leads,
    sticky_owners,
)
from leads import lifecycle
from leads.choices import Stage
from leads.facts import LEAD_OWN_FACT_COLUMNS, lead_facts, lead_related, related_facts
from leads.lifecycle import ASSIGN_COLUMNS, OWNABLE_STAGES, OwnerDecision, check_action
from leads.models import Lead
from pipeline.errors import ServiceError
from pipeline.queue import enqueue_on_commit

logger = logging.getLogger(__name__)

#: Leads routed per transaction (and per hold of a team's locks).
BATCH_SIZE = 500
#: What a routed lead is read with: ``lead_facts``' own columns and the assign
#: transition's; its company's and campaign's facts are read once per batch
#: (``related_facts``), not as model objects per lead.
_COLUMNS = (*ASSIGN_COLUMNS, *LEAD_OWN_FACT_COLUMNS)
#: The task that routes a set (``assignment.tasks.route_leads_task``, queue ``bulk``).
ROUTE_SET_TASK = "assignment.tasks.route_leads_task"

_collected: ContextVar[list[int] | None] = ContextVar("routed_as_a_set", default=None)


@contextmanager
def routed_as_a_set() -> Iterator[None]:
    """Leads qualified inside this block (an import's batch auto-qualifying its rows) are
    routed after the commit by one set-based task instead of one routing task each."""
    ids: list[int] = []
    token = _collected.set(ids)
    try:
        yield
    finally:
        _collected.reset(token)
    if ids:
        enqueue_on_commit(ROUTE_SET_TASK, ids)


def collect_for_set_routing(lead_id: int) -> bool:
    """Inside ``routed_as_a_set``: keep ``lead_id`` for its set and say so."""
    ids = _collected.get()
    if ids is None:
        return False
    ids.append(lead_id)
    return True


@dataclass
class BulkRouteResult:
    total: int
    assigned: int
    pooled: int
    skipped: int
    errors: list[dict[str, Any]]
    #: the leads given an owner or sent to the pool, in the order routed
    done: list[int] = field(default_factory=list)


def leads_route_set(
    *,
    lead_ids: Iterable[int],
    actor: User | None = None,
    include_pooled: bool = False,
    exclude: Mapping[int, set[int]] | None = None,
    rules: Sequence[RuleSpec] | None = None,
    batch_size: int = BATCH_SIZE,
) -> BulkRouteResult:
    """Route these leads, in this order, as ``lead_route`` would one after another.

    A lead that has an owner, is not in an ownable stage, or (without ``include_pooled``)
    sits in the pool is skipped; one the actor may not assign is refused (``errors``).
    ``exclude``: per lead, users it must not go to (the SLA's reroute: its last owner).
    """
    ids = list(dict.fromkeys(lead_ids))
    result = BulkRouteResult(len(ids), 0, 0, 0, [])
    for start in range(0, len(ids), batch_size):
        _route_batch(
            ids[start : start + batch_size],
            actor=actor,
            include_pooled=include_pooled,
            exclude=exclude or {},
            rules=rules,
            result=result,
        )
    return result


@dataclass
class _Team:
    """A team's (or a named user's) candidates as loaded under the batch's locks, and as
    they stand with the batch's decisions (``now``: in user id order, the order ``pick``
    reads them in; kept up to date by ``_Batch.took`` one member at a time, not made
    again for every lead)."""

    user_ids: list[int]
    base: dict[int, Candidate]
    now: list[Candidate] = field(default_factory=list)
    #: user id → its place in ``now``
    index: dict[int, int] = field(default_factory=dict)


@dataclass
class _Batch:
    """What one batch knows while deciding: candidates, counters, cursors, stickiness."""

    today: dt.date
    teams: dict[int, _Team] = field(default_factory=dict)
    users: dict[int, _Team] = field(default_factory=dict)
    assigned_today: dict[int, int] = field(default_factory=dict)
    open_leads: dict[int, int] = field(default_factory=dict)
    #: users a company's leads may stick to (active, in sales)
    sticky_ok: dict[int, str] = field(default_factory=dict)
    cursors: dict[int, RotationCursor] = field(default_factory=dict)
    moved: set[int] = field(default_factory=set)  # rules whose cursor advanced
    #: leads this batch gave each user so far (on top of the counts read)
    taken: dict[int, int] = field(default_factory=dict)
    #: company id → (owner id, display name) of its earliest-assigned open lead
    sticky: dict[int, tuple[int, str]] = field(default_factory=dict)
    #: user id → (the base candidate, it with this batch's counts): made again only when
    #: the batch gives that user a lead, not for every candidate of every lead
    current: dict[int, tuple[Candidate, Candidate]] = field(default_factory=dict)
    rules: dict[int, AssignmentRule] = field(default_factory=dict)
    #: the facts of the batch's companies and campaigns (``leads.facts.related_facts``)
    companies: dict[int, dict[str, Any]] = field(default_factory=dict)
    campaigns: dict[int, dict[str, Any]] = field(default_factory=dict)

    def remember(self, candidates: Iterable[Candidate]) -> None:
        """Counts read from the database never include this batch's decisions (written at
        its end): the first read of a user counts, ``took`` adds the batch's own."""
        for c in candidates:
            self.assigned_today.setdefault(c.user_id, c.assigned_today)
            self.open_leads.setdefault(c.user_id, c.open_leads)

    def now_of(self, base: Candidate) -> Candidate:
        known = self.current.get(base.user_id)
        if known is not None and known[0] is base:
            return known[1]
        extra = self.taken.get(base.user_id, 0)
        now = replace(
            base,
            assigned_today=self.assigned_today[base.user_id] + extra,
            open_leads=self.open_leads[base.user_id] + extra,
        )
        self.current[base.user_id] = (base, now)
        return now

    def rule(self, spec: RuleSpec) -> AssignmentRule | None:
        """The decision names its rule: an unsaved stand-in, made once per rule."""
        if not spec.rule_id:
            return None
        if spec.rule_id not in self.rules:
            self.rules[spec.rule_id] = AssignmentRule(pk=spec.rule_id, name=spec.name)
        return self.rules[spec.rule_id]

    def took(self, user_id: int) -> None:
        self.taken[user_id] = self.taken.get(user_id, 0) + 1
        self.current.pop(user_id, None)
        for team in (*self.teams.values(), *self.users.values()):
            place = team.index.get(user_id)
            if place is not None:
                team.now[place] = self.now_of(team.base[user_id])

    def start(self, team: _Team) -> _Team:
        """``team``'s candidates with this batch's counts, in user id order."""
        team.now = sorted(
            (self.now_of(team.base[uid]) for uid in team.user_ids if uid in team.base),
            key=lambda c: c.user_id,
        )
        team.index = {c.user_id: place for place, c in enumerate(team.now)}
        return team


def _route_batch(
    ids: list[int],
    *,
    actor: User | None,
    include_pooled: bool,
    exclude: Mapping[int, set[int]],
    rules: Sequence[RuleSpec] | None,
    result: BulkRouteResult,
) -> None:
    with transaction.atomic():
        locked = {lead.pk: lead for lead in lifecycle.lock_leads(ids, fields=_COLUMNS)}
        routable: list[Lead] = []
        for pk in ids:
            lead = locked.get(pk)
            if lead is None:
                result.errors.append({"lead": pk, "detail": _("Lead not found.")})
                continue
            if lead.owner_id is not None or lead.stage not in OWNABLE_STAGES:
                result.skipped += 1
                continue
            if lead.in_pool and not include_pooled:
                result.skipped += 1
                continue
            if actor is not None:
                try:
                    check_action(lead=lead, actor=actor, action="assign")
                except ServiceError as exc:
                    result.errors.append({"lead": pk, "detail": exc.message})
                    continue
            routable.append(lead)
        if not routable:
            return
        batch = _Batch(today=timezone.localdate())
        companies = {lead.company_id for lead in routable if lead.company_id}
        batch.sticky = _company_owners(companies)
        batch.companies, batch.campaigns = related_facts(
            companies, {lead.source_campaign_id for lead in routable if lead.source_campaign_id}
        )
        specs = active_rule_specs() if rules is None else rules
        decisions = [_decide(lead, specs, batch, exclude.get(lead.pk, set())) for lead in routable]
        for rule_id in sorted(batch.moved):
            cursor = batch.cursors[rule_id]
            cursor.save(update_fields=["position"])
        writes = [d for d in decisions if d is not None]
        done = lifecycle.leads_assign_bulk(decisions=writes, actor=actor)
        for pk, message in done.refused.items():
            result.errors.append({"lead": pk, "detail": message})
        for lead, decision in zip(routable, decisions, strict=True):
            if lead.pk in done.refused:
                continue
            result.done.append(lead.pk)
            if decision is not None and decision.owner_id is not None:
                result.assigned += 1
            else:
                result.pooled += 1


def _decide(
    lead: Lead, specs: Sequence[RuleSpec], batch: _Batch, exclude: set[int]
) -> OwnerDecision | None:
    """``lead_route``'s decision for one lead (None: it stays in the pool as it is)."""
    related = lead_related(lead, batch.companies, batch.campaigns)
    sticky = batch.sticky.get(lead.company_id) if lead.company_id else None
    if sticky is not None and sticky[0] not in exclude:
        owner_id, name = sticky
        batch.took(owner_id)
        return OwnerDecision(
            lead=lead,
            owner_id=owner_id,
            strategy=DecisionKind.COMPANY_STICKINESS,
            why=DecisionReason(
                reasons.COMPANY_STICKINESS, {"user": name, "company": related["company"]}
            ),
        )
    facts = lead_facts(lead, related=related)
    notes: list[DecisionReason] = []
    for spec in specs:
        if not rule_matches(spec.as_conditions(), facts):
            continue
        team = _candidates(spec, batch)
        position, cursor = 0, None
        if spec.strategy in (Strategy.ROUND_ROBIN, Strategy.WEIGHTED) and spec.rule_id:
            cursor = _cursor(spec.rule_id, batch)
            position = cursor.position
        picked = pick_for_rule(
            spec,
            team.now,
            position=position,
            today=batch.today,
            exclude=exclude,
            notes=notes,
            in_order=True,
        )
        if picked is None or picked.candidate is None:
            continue
        if cursor is not None:
            cursor.position = picked.position
            batch.moved.add(cast(int, spec.rule_id))
        chosen = picked.candidate
        batch.took(chosen.user_id)
        company = lead.company_id
        if company and company not in batch.sticky and chosen.user_id in batch.sticky_ok:
            # Later leads of this company stick to this owner, as sticky_owner_for finds.
            batch.sticky[company] = (chosen.user_id, batch.sticky_ok[chosen.user_id])
        return OwnerDecision(
            lead=lead,
            owner_id=chosen.user_id,
            strategy=spec.strategy,
            rule=batch.rule(spec),
            why=describe_pick(spec.name, spec.strategy, chosen, picked.skipped),
        )
    if lead.in_pool:
        return None
    why = DecisionReason(
        reasons.POOLED,
        {"notes": [note.as_data() for note in notes], "empty": _empty_rule_fields(specs, facts)},
    )
    return OwnerDecision(lead=lead, owner_id=None, strategy="pool", why=why)


def _candidates(spec: RuleSpec, batch: _Batch) -> _Team:
    """The rule's candidates (``services.rule_members``), loaded (and for a team locked)
    once per batch."""
    known = batch.users if spec.strategy == Strategy.USER else batch.teams
    key = cast(int, spec.user_id if spec.strategy == Strategy.USER else spec.team_id)
    if key not in known:
        rows, candidates = rule_members(spec)
        batch.remember(candidates)
        fresh = [uid for uid in rows if uid not in batch.sticky_ok]
        if fresh:  # who may become a company's sticky owner (sticky_owner_leads' owners)
            for uid in sticky_owners().filter(pk__in=fresh).values_list("pk", flat=True).distinct():
                batch.sticky_ok[uid] = rows[uid].get("name") or rows[uid]["username"]
        known[key] = batch.start(_Team(list(rows), {c.user_id: c for c in candidates}))
    return known[key]


def _cursor(rule_id: int, batch: _Batch) -> RotationCursor:
    if rule_id not in batch.cursors:
        batch.cursors[rule_id] = lock_cursor(rule_id)
    return batch.cursors[rule_id]


def _company_owners(company_ids: set[int]) -> dict[int, tuple[int, str]]:
    """``sticky_owner_for`` for many companies in one query: the owner of each company's
    earliest-assigned lead among ``services.sticky_owner_leads``."""
    if not company_ids:
        return {}
    rows = (
        sticky_owner_leads()
        .filter(company_id__in=company_ids)
        .order_by("company_id", "assigned_at", "id")
        .values_list(
            "company_id", "owner_id", "owner__username", "owner__first_name", "owner__last_name"
        )
    )
    if connection.vendor == "postgresql":
        rows = rows.distinct("company_id")
    found: dict[int, tuple[int, str]] = {}
    for company_id, owner_id, username, first, last in rows:
        if company_id not in found:
            found[company_id] = (owner_id, _name(username, first, last))
    return found


# --------------------------------------------------------------------------------------
# The bulk callers
# --------------------------------------------------------------------------------------


def leads_route_bulk(*, lead_ids: Iterable[int], actor: User) -> BulkRouteResult:
    """Route a selection (pooled leads too) set-based; refusals are reported, not fatal.

    Leads that already have an owner or are closed are counted as skipped.
    """
    return leads_route_set(lead_ids=lead_ids, actor=actor, include_pooled=True)


def leads_reroute(*, pairs: Iterable[tuple[int, int]]) -> int:
    """Route each (lead, previous owner) again by the rules, never back to that owner (the
    SLA's "reassign" final action). Returns how many got a new owner."""
    exclude: dict[int, set[int]] = {}
    for lead_id, previous_owner in pairs:
        exclude.setdefault(lead_id, set()).add(previous_owner)
    result = leads_route_set(lead_ids=list(exclude), include_pooled=True, exclude=exclude)
    for error in result.errors:
        logger.info("SLA reassignment skipped for lead %s: %s", error["lead"], error["detail"])
    return result.assigned


def sweep_unrouted(*, older_than: dt.timedelta = dt.timedelta(minutes=2), limit: int = 1000) -> int:
    """Route qualified leads whose routing never ran (the broker was down when it was
    queued): an MQL with no owner, not pooled, and no assignment decision at all (a lead
    rejected back to the desk has one, so it is left alone). Only with ``AUTO_ASSIGN``.
    Idempotent. Returns how many were routed."""
    if not settings.AUTO_ASSIGN:
        return 0
    cutoff = timezone.now() - older_than
    unrouted = list(
        Lead.objects.filter(
            stage=Stage.MQL,
            owner__isnull=True,
            in_pool=False,
            mql_at__lt=cutoff,
            assignments__isnull=True,
        )
        .order_by("mql_at")
        .values_list("pk", flat=True)[:limit]
    )
    leads_route_set(lead_ids=unrouted)
    return len(unrouted)
