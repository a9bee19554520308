"""The router's pure decision functions."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.utils import translation

from assignment.router import Candidate, pick, rule_matches, weighted_schedule

TODAY = dt.date(2026, 11, 27)


def people(*weights: int, **overrides) -> list[Candidate]:
    return [
        Candidate(user_id=i + 1, username=f"u{i + 1}", weight=w, **overrides.get(str(i + 1), {}))
        for i, w in enumerate(weights)
    ]


def run(strategy: str, candidates: list[Candidate], n: int) -> Counter:
    position, counts = 0, Counter()
    for _ in range(n):
        result = pick(strategy, candidates, position=position, today=TODAY)
        counts[result.candidate.user_id] += 1
        position = result.position
    return counts


def test_weighted_schedule_is_exact_and_interleaved():
    schedule = weighted_schedule(people(2, 1, 1), weighted=True)
    assert Counter(schedule) == {0: 2, 1: 1, 2: 1}
    assert schedule[0] == 0 and schedule[1] != 0  # the heavy member is spread out


def test_weighted_rotation_2_1_1_over_60_gives_30_15_15():
    assert run("weighted", people(2, 1, 1), 60) == {1: 30, 2: 15, 3: 15}


def test_round_robin_ignores_weights():
    assert run("round_robin", people(5, 1, 1, 1), 40) == {1: 10, 2: 10, 3: 10, 4: 10}


@pytest.mark.parametrize(
    ("override", "code", "why"),
    [
        ({"available": False}, "unavailable", "unavailable"),
        ({"away_until": TODAY}, "away", "away until 2026-11-27"),
        ({"daily_capacity": 3, "assigned_today": 3}, "daily_capacity", "daily capacity 3"),
        ({"max_open_leads": 10, "open_leads": 10}, "open_lead_cap", "open-lead cap 10"),
        ({"active": False}, "inactive", "inactive"),
    ],
)
def test_ineligible_member_is_skipped_with_reason(override, code, why):
    candidates = people(1, 1, 1, **{"2": override})
    counts = run("round_robin", candidates, 30)
    assert counts == {1: 15, 3: 15}
    result = pick("round_robin", candidates, position=1, today=TODAY)
    assert result.candidate.user_id == 3
    assert result.skipped[0][0].user_id == 2
    # the reason is a code with parameters, worded only when shown
    assert result.skipped[0][1].code == code
    with translation.override("en"):
        assert why in str(result.skipped[0][1])


def test_away_until_yesterday_is_back():
    candidates = people(1, **{"1": {"away_until": TODAY - dt.timedelta(days=1)}})
    assert pick("round_robin", candidates, position=0, today=TODAY).candidate.user_id == 1


def test_nobody_eligible_picks_nobody_and_keeps_position():
    candidates = people(1, 1, **{"1": {"available": False}, "2": {"available": False}})
    result = pick("weighted", candidates, position=7, today=TODAY)
    assert result.candidate is None and result.position == 7 and len(result.skipped) == 2


def test_least_loaded_prefers_fewest_open_then_fewest_today():
    candidates = [
        Candidate(1, "a", open_leads=5, assigned_today=0),
        Candidate(2, "b", open_leads=3, assigned_today=4),
        Candidate(3, "c", open_leads=3, assigned_today=1),
    ]
    assert pick("least_loaded", candidates, position=0, today=TODAY).candidate.user_id == 3


def test_empty_team_picks_nobody():
    assert pick("round_robin", [], position=0, today=TODAY).candidate is None


def test_rule_matches_all_conditions():
    facts = {"grade": "A", "region": "上海", "budget": 50000, "channel": "trade_show"}
    assert rule_matches(
        [
            {"field": "grade", "operator": "in", "value": ["A", "B"]},
            {"field": "region", "operator": "eq", "value": "上海"},
            {"field": "budget", "operator": "gte", "value": 10000},
        ],
        facts,
    )
    assert not rule_matches([{"field": "grade", "operator": "eq", "value": "B"}], facts)
    assert rule_matches([], facts)
