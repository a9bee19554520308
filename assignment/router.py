"""The router's decisions as pure functions over plain values (no database).

``pick`` chooses an owner among candidates for a strategy and a rotation position, and says
why each skipped candidate was skipped (as a ``DecisionReason``: a code and parameters,
worded only when displayed). Rotation uses a smooth weighted round-robin
schedule, so weights 2:1:1 give exactly 2:1:1 over every cycle of four, interleaved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from assignment import reasons
from assignment.choices import Strategy
from assignment.reasons import DecisionReason
from pipeline.conditions import matches


@dataclass(frozen=True)
class Candidate:
    """A team member as the router sees them at decision time."""

    user_id: int
    username: str
    weight: int = 1
    #: how reasons name them (张伟, "Cindy Lin"); the username when they have no name
    name: str = ""
    available: bool = True
    active: bool = True
    away_until: dt.date | None = None
    daily_capacity: int = 10**9
    max_open_leads: int = 10**9
    assigned_today: int = 0
    open_leads: int = 0


@dataclass
class Pick:
    candidate: Candidate | None
    position: int
    skipped: list[tuple[Candidate, DecisionReason]] = field(default_factory=list)


def ineligibility(candidate: Candidate, today: dt.date) -> DecisionReason | None:
    """Why ``candidate`` cannot take a lead now, or ``None`` if they can."""
    if not candidate.active:
        return DecisionReason(reasons.INACTIVE)
    if not candidate.available:
        return DecisionReason(reasons.UNAVAILABLE)
    if candidate.away_until is not None and candidate.away_until >= today:
        return DecisionReason(reasons.AWAY, {"date": candidate.away_until.isoformat()})
    if candidate.assigned_today >= candidate.daily_capacity:
        return DecisionReason(reasons.DAILY_CAPACITY, {"n": candidate.daily_capacity})
    if candidate.open_leads >= candidate.max_open_leads:
        return DecisionReason(reasons.OPEN_LEAD_CAP, {"n": candidate.max_open_leads})
    return None


def weighted_schedule(candidates: Sequence[Candidate], *, weighted: bool) -> list[int]:
    """Indexes into ``candidates`` for one full cycle (smooth weighted round robin).

    The cycle has Σ weights slots; member i appears weight_i times, spread out.
    """
    return list(_schedule(tuple(max(1, c.weight) if weighted else 1 for c in candidates)))


@lru_cache(maxsize=256)
def _schedule(weights: tuple[int, ...]) -> tuple[int, ...]:
    """The cycle for these weights, computed once per distinct make-up of a team (a set
    routed to one team asks for the same cycle for every lead)."""
    total = sum(weights)
    current = [0] * len(weights)
    schedule = []
    for _slot in range(total):
        for i, w in enumerate(weights):
            current[i] += w
        best = max(range(len(weights)), key=lambda i: (current[i], -i))
        current[best] -= total
        schedule.append(best)
    return tuple(schedule)


def pick(
    strategy: str,
    candidates: Sequence[Candidate],
    *,
    position: int,
    today: dt.date,
    in_order: bool = False,
) -> Pick:
    """Choose an eligible candidate; rotation strategies advance ``position`` past it.
    Candidates are read in user id order; ``in_order``: the caller keeps them so (a set
    routed to one team), and they are not sorted again for every lead."""
    ordered = candidates if in_order else sorted(candidates, key=lambda c: c.user_id)
    skipped: list[tuple[Candidate, DecisionReason]] = []
    if not ordered:
        return Pick(None, position, skipped)
    if strategy in (Strategy.ROUND_ROBIN, Strategy.WEIGHTED):
        weighted = strategy == Strategy.WEIGHTED
        schedule = _schedule(tuple(max(1, c.weight) if weighted else 1 for c in ordered))
        seen: set[int] = set()
        for step in range(len(schedule)):
            candidate = ordered[schedule[(position + step) % len(schedule)]]
            why = ineligibility(candidate, today)
            if why is None:
                return Pick(candidate, position + step + 1, skipped)
            if candidate.user_id not in seen:
                seen.add(candidate.user_id)
                skipped.append((candidate, why))
        return Pick(None, position, skipped)
    eligible = []
    for candidate in ordered:
        why = ineligibility(candidate, today)
        if why is None:
            eligible.append(candidate)
        else:
            skipped.append((candidate, why))
    if not eligible:
        return Pick(None, position, skipped)
    if strategy == Strategy.LEAST_LOADED:
        best = min(eligible, key=lambda c: (c.open_leads, c.assigned_today, c.user_id))
        return Pick(best, position, skipped)
    return Pick(eligible[0], position, skipped)  # Strategy.USER: the one named user


def rule_matches(conditions: Iterable[Mapping[str, Any]], facts: Mapping[str, Any]) -> bool:
    """All conditions hold (conditions were validated when the rule was saved)."""
    return all(matches(c["operator"], facts.get(c["field"]), c["value"]) for c in conditions)


def describe_pick(
    rule_name: str,
    strategy: str,
    chosen: Candidate,
    skipped: Sequence[tuple[Candidate, DecisionReason]],
) -> DecisionReason:
    """The "why this owner" of a rule's pick: the rule, its strategy (code), the chosen
    user's load and every skipped candidate with their own reason."""
    return DecisionReason(
        reasons.RULE_PICK,
        {
            "rule": rule_name,
            "strategy": strategy,
            "user": chosen.name or chosen.username,
            "open": chosen.open_leads,
            "today": chosen.assigned_today,
            "skipped": reasons.skipped_data(skipped),
        },
    )
