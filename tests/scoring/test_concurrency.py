"""Scoring races between real parallel workers on PostgreSQL: a manual grade is never
replaced by a rule grade, and a rule edit never leaves a lead scored with old rules.

Each interleaving is forced with events: the workers start together (``race``) and wait
for each other at the point that matters.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import transaction

from leads import lifecycle
from leads.choices import EventKind, GradeSource
from leads.models import Lead, LeadEvent
from pipeline.errors import ServiceError
from scoring import services
from scoring.models import GradeThresholds, RescoreJob
from tests.factories import LeadFactory, UserFactory
from tests.parallel import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WAIT = 10  # seconds; only a broken lock makes a worker wait that long


def a_grade_lead() -> Lead:
    """Open, scored with an older rule set; its rule grade would be A."""
    return LeadFactory(decision_role="decision_maker", timeline="1m", budget=Decimal("300000"),
                       title="总经理", score=0, grade="D", score_version=0)  # fmt: skip


def current_version() -> int:
    return GradeThresholds.objects.get(pk=1).version


def new_job() -> RescoreJob:
    return RescoreJob.objects.create(version=current_version())


def assert_manual_kept(lead: Lead) -> None:
    lead.refresh_from_db()
    assert (lead.grade, lead.grade_source) == ("C", GradeSource.MANUAL)
    assert not LeadEvent.objects.filter(lead=lead, kind=EventKind.GRADED, actor=None).exists()


def test_manual_grade_given_after_the_rescore_read_its_batch_survives(monkeypatch):
    desk = UserFactory(roles=["lead_desk"])
    lead, job = a_grade_lead(), new_job()
    loaded, graded = threading.Event(), threading.Event()
    real = services._write_scores

    def write_after_the_grade(*args, **kwargs):
        loaded.set()  # the batch was read with the rule grade D
        assert graded.wait(WAIT)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "_write_scores", write_after_the_grade)

    def grade():
        assert loaded.wait(WAIT)
        try:
            return services.lead_set_grade(lead=Lead.objects.get(pk=lead.pk), actor=desk,
                                           grade="C", reason="known account")  # fmt: skip
        finally:
            graded.set()

    results = race([lambda: services.rescore_job_run(job_id=job.pk), grade])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert_manual_kept(lead)
    lead.refresh_from_db()
    assert lead.score >= 75 and lead.score_version == job.version  # the score is recorded


def test_rescore_blocked_by_an_uncommitted_manual_grade_keeps_it():
    desk = UserFactory(roles=["lead_desk"])
    lead, job = a_grade_lead(), new_job()
    graded = threading.Event()

    def grade():
        with transaction.atomic():
            services.lead_set_grade(lead=Lead.objects.get(pk=lead.pk), actor=desk, grade="C",
                                    reason="known account")  # fmt: skip
            graded.set()
            time.sleep(0.5)  # the rescore reads D and its UPDATE waits for this commit

    def rescore():
        assert graded.wait(WAIT)
        return services.rescore_job_run(job_id=job.pk)

    results = race([grade, rescore])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[1].status == "done"
    assert_manual_kept(lead)


@pytest.mark.parametrize("round_", range(4))
def test_manual_grade_racing_a_returning_arrival_survives(round_):
    desk = UserFactory(roles=["lead_desk"])
    phone = f"1390000{round_:04d}"
    lead = lifecycle.lead_create(actor=desk, fields={"name": "Ma", "phone": phone}).lead
    results = race(
        [
            lambda: lifecycle.lead_create(
                actor=desk, fields={"name": "Ma", "phone": phone, "timeline": "1m"}
            ),
            lambda: services.lead_set_grade(
                lead=Lead.objects.get(pk=lead.pk), actor=desk, grade="C", reason="known account"
            ),
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[0].duplicate
    assert_manual_kept(lead)


def test_a_rule_edit_waits_for_a_creation_holding_the_rule_set():
    """A creation that read version v commits before the edit publishes v+1, so the
    rescore at v+1 sees it: no lead is left scored with the old rules — also when the
    rules of v come from the process's cache."""
    desk = UserFactory(roles=["lead_desk"])
    holding, creator = threading.Event(), {}
    real = services._cached_rules  # called once the version is read, cached or not

    def slow_rules(*args, **kwargs):
        rules = real(*args, **kwargs)
        if threading.current_thread() is creator.get("thread"):
            holding.set()  # version v read, rule set held
            time.sleep(0.5)
        return rules

    def create():
        creator["thread"] = threading.current_thread()
        return lifecycle.lead_create(
            actor=desk, fields={"name": "Qian", "phone": "13900000777", "title": "采购总监"}
        )

    def edit():
        assert holding.wait(WAIT)
        began = time.monotonic()
        services.scoring_rule_save(actor=desk, name="Procurement", dimension="fit",
                                   field="title", operator="contains", value="采购",
                                   points=40)  # fmt: skip
        return time.monotonic() - began

    with transaction.atomic():
        services.rule_set()  # the rules of version v are cached: the creation reads none
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_cached_rules", slow_rules)
        results = race([create, edit])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[1] > 0.2  # it waited for the creation's commit
    lead = Lead.objects.get(phone="+8613900000777")
    assert lead.score_version == current_version()
    assert any(d["rule"] == "Procurement" for d in lead.score_detail)


def test_a_rule_edit_gives_up_as_busy_instead_of_queueing_behind_a_long_batch(monkeypatch):
    """While an edit waits, later scoring transactions queue behind it: it steps out of the
    queue every ``RULE_SET_LOCK_ATTEMPT_MS`` and finally answers busy (409)."""
    desk = UserFactory(roles=["lead_desk"])
    monkeypatch.setattr(services, "RULE_SET_LOCK_WAIT", dt.timedelta(seconds=0.3))
    before, holding = current_version(), threading.Event()

    def long_batch():
        with transaction.atomic():
            services.rule_set()
            holding.set()
            time.sleep(1.5)

    def edit():
        assert holding.wait(WAIT)
        return services.thresholds_save(actor=desk, a=80, b=50, c=25)

    results = race([long_batch, edit])
    assert isinstance(results[1], ServiceError) and results[1].code == "conflict", results
    assert current_version() == before and GradeThresholds.objects.get(pk=1).a == 75
