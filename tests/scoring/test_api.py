from __future__ import annotations

import pytest

from leads.choices import Stage
from scoring.models import ScoringRule
from tests.factories import LeadFactory, lead_in_stage

pytestmark = pytest.mark.django_db


def test_desk_creates_rule_and_bad_rule_is_400(api, desk):
    client = api(desk)
    ok = client.post("/api/v1/scoring-rules/", {"name": "CIO", "dimension": "fit",
                     "field": "title", "operator": "contains", "value": "CIO", "points": 10},
                     format="json")  # fmt: skip
    assert ok.status_code == 201, ok.json()
    bad = client.post("/api/v1/scoring-rules/", {"name": "x", "dimension": "fit",
                      "field": "budget", "operator": "in", "value": 5, "points": 10},
                      format="json")  # fmt: skip
    assert bad.status_code == 400 and "value" in bad.json()
    assert ScoringRule.objects.filter(name="CIO").exists()
    assert not ScoringRule.objects.filter(name="x").exists()


def test_rep_cannot_read_or_write_rules(api, rep):
    assert api(rep).get("/api/v1/scoring-rules/").json()["count"] == 0
    response = api(rep).post("/api/v1/scoring-rules/", {"name": "x", "dimension": "fit",
                             "field": "title", "operator": "eq", "value": "x", "points": 1},
                             format="json")  # fmt: skip
    assert response.status_code == 403


def test_thresholds_get_put(api, desk, marketer):
    assert api(marketer).get("/api/v1/grade-thresholds/").json()["a"] == 75
    bad = api(desk).put("/api/v1/grade-thresholds/", {"a": 40, "b": 50, "c": 25}, format="json")
    assert bad.status_code == 400 and "A above B" in bad.json()["detail"]
    ok = api(desk).put("/api/v1/grade-thresholds/", {"a": 80, "b": 55, "c": 30}, format="json")
    assert ok.status_code == 200 and ok.json()["a"] == 80
    assert api(marketer).put("/api/v1/grade-thresholds/", {"a": 90, "b": 50, "c": 25},
                             format="json").status_code == 403  # fmt: skip


def test_grade_and_reset_grade_endpoints(api, desk, rep):
    lead = LeadFactory(grade="C", grade_source="rule")
    graded = api(desk).post(f"/api/v1/leads/{lead.pk}/grade/", {"grade": "A", "reason": "KA"})
    assert graded.status_code == 200 and graded.json()["grade_source"] == "manual"
    reset = api(desk).post(f"/api/v1/leads/{lead.pk}/reset_grade/")
    assert reset.status_code == 200 and reset.json()["grade_source"] == "rule"
    again = api(desk).post(f"/api/v1/leads/{lead.pk}/reset_grade/")
    assert again.status_code == 409
    won = lead_in_stage(Stage.WON, owner=rep)
    closed = api(desk).post(f"/api/v1/leads/{won.pk}/grade/", {"grade": "Q"})
    assert closed.status_code == 409


def test_thresholds_put_without_values_is_400(api, desk):
    response = api(desk).put("/api/v1/grade-thresholds/", {}, format="multipart")
    assert response.status_code == 400 and {"a", "b", "c"} <= set(response.json())
