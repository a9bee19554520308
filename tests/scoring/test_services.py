"""Scores stay current; manual grades survive; the rescore job; thresholds; bad rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import TestCase

from leads import lifecycle
from leads.choices import EventKind, Stage
from leads.models import Lead
from pipeline.errors import ServiceError
from scoring import services
from scoring.models import GradeThresholds, RescoreJob, ScoringRule
from tests.factories import LeadFactory, lead_in_stage

pytestmark = pytest.mark.django_db

A_FIELDS = {"name": "周总", "phone": "13900000001", "decision_role": "decision_maker",
            "budget": "200000", "timeline": "1m", "title": "总经理"}  # fmt: skip


def create(desk, fields) -> Lead:
    with TestCase.captureOnCommitCallbacks(execute=True):
        lead = lifecycle.lead_create(actor=desk, fields=fields).lead
    lead.refresh_from_db()
    return lead


def test_new_lead_is_scored_on_commit_with_default_bant_rules(desk):
    lead = create(desk, A_FIELDS)
    assert lead.grade == "A" and lead.grade_source == "rule" and lead.score >= 75
    rules = {d["rule"] for d in lead.score_detail}
    assert {"Decision maker", "Buying within 1 month", "Budget ≥ 100k"} <= rules
    assert lead.events.filter(kind=EventKind.GRADED).count() == 0  # a first grade is no change


def test_lead_without_need_is_d(desk):
    lead = create(desk, {"name": "Someone", "email": "x@example.com"})
    assert lead.grade == "D"


def test_change_of_scored_field_rescores(desk):
    lead = create(desk, {"name": "Li", "phone": "13900000002"})
    assert lead.grade == "D"
    with TestCase.captureOnCommitCallbacks(execute=True):
        lifecycle.lead_update(lead=lead, actor=desk, fields=A_FIELDS | {"phone": "13900000002"})
    lead.refresh_from_db()
    assert lead.grade == "A"


def test_new_touch_rescores(desk, marketer):
    lead = create(desk, {"name": "Wu", "phone": "13900000003", "decision_role": "influencer",
                         "timeline": "3m", "budget": "50000", "need": "MES"})  # fmt: skip
    before = lead.score
    with TestCase.captureOnCommitCallbacks(execute=True):
        lifecycle.lead_create(actor=marketer, fields={"name": "Wu", "phone": "13900000003"},
                                  touch_kind="webinar")  # fmt: skip
    lead.refresh_from_db()
    assert lead.score == before + 10  # several touches + attended a webinar


def test_manual_grade_survives_rescoring_until_reset(desk):
    lead = create(desk, {"name": "Ma", "phone": "13900000004"})
    services.lead_set_grade(lead=lead, actor=desk, grade="B", reason="big account, says CEO")
    services.lead_score(lead=lead)
    lead.refresh_from_db()
    assert (lead.grade, lead.grade_source) == ("B", "manual")
    job = services.rescore_job_start(actor=desk, reason="test")
    services.rescore_job_run(job_id=job.pk)
    lead.refresh_from_db()
    assert (lead.grade, lead.grade_source) == ("B", "manual")
    services.lead_reset_grade(lead=lead, actor=desk)
    lead.refresh_from_db()
    assert (lead.grade, lead.grade_source, lead.grade_reason) == ("D", "rule", "")
    assert lead.events.filter(kind=EventKind.GRADE_RESET).count() == 1


def test_manual_grade_needs_reason_and_desk(desk, rep):
    lead = LeadFactory()
    with pytest.raises(ServiceError) as refused:
        services.lead_set_grade(lead=lead, actor=desk, grade="A", reason="")
    assert refused.value.field == "reason"
    with pytest.raises(ServiceError) as refused:
        services.lead_set_grade(lead=lead, actor=rep, grade="A", reason="x")
    assert refused.value.code == "forbidden"
    assert Lead.objects.get(pk=lead.pk).grade_source == "rule"


def test_rescore_job_applies_a_rule_change_to_open_leads_only(desk, rep):
    open_lead = LeadFactory(title="采购总监", score=0, grade="D")
    closed = lead_in_stage(Stage.WON, owner=rep)
    closed_score = Lead.objects.get(pk=closed.pk).score
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.scoring_rule_save(
            actor=desk, name="Procurement", dimension="fit", field="title",
            operator="contains", value="采购", points=40,
        )  # fmt: skip
    job = RescoreJob.objects.get()
    assert job.status == "done" and job.processed == job.total >= 1
    open_lead.refresh_from_db()
    assert any(d["rule"] == "Procurement" for d in open_lead.score_detail)
    assert Lead.objects.get(pk=closed.pk).score == closed_score


def test_rescore_job_run_twice_has_one_effect(desk):
    LeadFactory.create_batch(5, score=0, grade="D", decision_role="decision_maker",
                             timeline="1m", budget=Decimal("300000"))  # fmt: skip
    job = services.rescore_job_start(actor=desk, reason="twice")
    first = services.rescore_job_run(job_id=job.pk)
    events = Lead.objects.first().events.count()
    assert first.status == "done" and first.changed == 5
    assert services.rescore_job_run(job_id=job.pk) is None
    assert Lead.objects.first().events.count() == events
    assert set(Lead.objects.values_list("grade", flat=True)) == {"A"}


def test_pending_job_is_reused(desk):
    first = services.rescore_job_start(actor=desk, reason="a")
    second = services.rescore_job_start(actor=desk, reason="b")
    assert first.pk == second.pk and RescoreJob.objects.count() == 1


@pytest.mark.parametrize(
    ("a", "b", "c", "field"),
    [(50, 75, 25, "a"), (75, 75, 25, "a"), (101, 50, 25, "a"), (75, 50, 0, "c")],
)
def test_thresholds_out_of_order_are_refused(desk, a, b, c, field):
    with pytest.raises(ServiceError) as refused:
        services.thresholds_save(actor=desk, a=a, b=b, c=c)
    assert refused.value.field == field
    assert (GradeThresholds.current().a, GradeThresholds.current().b) == (75, 50)


def test_bad_scoring_rules_are_refused(desk):
    for kwargs, part in [
        ({"field": "shoe", "operator": "eq", "value": "x"}, "field"),
        ({"field": "budget", "operator": "gte", "value": "much"}, "value"),
        ({"field": "grade", "operator": "~", "value": "A"}, "operator"),
    ]:
        with pytest.raises(ServiceError) as refused:
            services.scoring_rule_save(actor=desk, name="bad", dimension="fit", points=5,
                                       **kwargs)  # fmt: skip
        assert refused.value.field == part
    assert not ScoringRule.objects.filter(name="bad").exists()


def test_broken_stored_rule_never_stops_a_lead(desk):
    ScoringRule.objects.create(name="broken", dimension="fit", field="gone_field",
                               operator="eq", value="x", points=50)  # fmt: skip
    lead = create(desk, A_FIELDS)
    assert lead.grade == "A"
    assert "broken" not in {d["rule"] for d in lead.score_detail}


def test_auto_qualification_when_enabled(desk):
    GradeThresholds.objects.filter(pk=1).update(auto_qualify=True, auto_qualify_score=75)
    lead = create(desk, A_FIELDS)
    assert lead.stage == Stage.MQL and lead.grade == "A" and lead.grade_source == "rule"
    weak = create(desk, {"name": "Weak", "phone": "13900000009"})
    assert weak.stage == Stage.NEW
