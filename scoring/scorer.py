"""The scorer: a pure function from lead facts and rules to a score, a grade and why.

No database here; ``scoring.services`` loads, calls and saves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.conditions import compile_condition


@dataclass(frozen=True)
class Rule:
    """A validated scoring rule as plain values."""

    name: str
    dimension: str
    field: str
    operator: str
    value: Any
    points: int

    @functools.cached_property
    def test(self) -> Callable[[Any], bool]:
        """The condition, compiled once per loaded rule."""
        return compile_condition(self.operator, self.value)


@dataclass(frozen=True)
class Thresholds:
    a: int = 75
    b: int = 50
    c: int = 25


@dataclass(frozen=True)
class ScoreResult:
    score: int
    grade: str
    detail: list[dict[str, Any]]


def grade_for(score: int, thresholds: Thresholds) -> str:
    if score >= thresholds.a:
        return "A"
    if score >= thresholds.b:
        return "B"
    if score >= thresholds.c:
        return "C"
    return "D"


def score_lead(
    facts: Mapping[str, Any], rules: Iterable[Rule], thresholds: Thresholds
) -> ScoreResult:
    """Sum the points of every matching rule, clamp to 0–100, grade, and explain."""
    detail = []
    total = 0
    for rule in rules:
        if rule.test(facts.get(rule.field)):
            total += rule.points
            detail.append({"rule": rule.name, "dimension": rule.dimension, "points": rule.points})
    score = max(0, min(100, total))
    return ScoreResult(score=score, grade=grade_for(score, thresholds), detail=detail)
