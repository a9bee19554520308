"""The pure scorer and the default BANT rule set."""

from __future__ import annotations

import pytest

from pipeline.conditions import ConditionError, check_condition
from scoring.scorer import Rule, Thresholds, grade_for, score_lead

RULES = [
    Rule("DM", "fit", "decision_role", "eq", "decision_maker", 30),
    Rule("1m", "fit", "timeline", "eq", "1m", 25),
    Rule("Budget", "fit", "budget", "gte", 100000.0, 20),
    Rule("No phone", "fit", "phone", "is_set", False, -10),
    Rule("Webinar", "engagement", "touch_kinds", "in", ["webinar"], 5),
]


def test_matching_rules_add_up_and_explain():
    facts = {"decision_role": "decision_maker", "timeline": "1m", "budget": 200000,
             "phone": "+8613900000001", "touch_kinds": ["form", "webinar"]}  # fmt: skip
    result = score_lead(facts, RULES, Thresholds())
    assert result.score == 80 and result.grade == "A"
    assert [d["rule"] for d in result.detail] == ["DM", "1m", "Budget", "Webinar"]
    assert result.detail[-1] == {"rule": "Webinar", "dimension": "engagement", "points": 5}


def test_score_is_clamped_to_0_100():
    assert score_lead({"phone": ""}, RULES, Thresholds()).score == 0
    many = [Rule(f"r{i}", "fit", "need", "is_set", True, 60) for i in range(3)]
    assert score_lead({"need": "x"}, many, Thresholds()).score == 100


@pytest.mark.parametrize(("score", "grade"), [(75, "A"), (74, "B"), (50, "B"), (49, "C"),
                                              (25, "C"), (24, "D"), (0, "D")])  # fmt: skip
def test_default_thresholds(score, grade):
    assert grade_for(score, Thresholds()) == grade


def test_custom_thresholds():
    assert grade_for(60, Thresholds(a=60, b=40, c=20)) == "A"


@pytest.mark.parametrize(
    ("field", "op", "value", "part"),
    [
        ("shoe", "eq", "x", "field"),
        ("grade", "like", "A", "operator"),
        ("budget", "gte", "lots", "value"),
        ("title", "gte", 5, "operator"),
        ("grade", "in", "A", "value"),
        ("phone", "is_set", "yes", "value"),
        ("budget", "contains", "1", "operator"),
    ],
)
def test_bad_conditions_name_the_wrong_part(field, op, value, part):
    from leads.facts import LEAD_FACT_FIELDS

    with pytest.raises(ConditionError) as refused:
        check_condition(field, op, value, LEAD_FACT_FIELDS)
    assert refused.value.field == part
