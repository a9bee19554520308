"""Scores that are never stale (DESIGN §5): scored in the creating transaction, stamped
with the rule set version, written conditionally, rescored once per burst of edits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from leads import lifecycle
from leads.admin import LeadAdmin
from leads.choices import EventKind, GradeSource, Stage
from leads.imports import import_run
from leads.models import ImportJob, Lead
from pipeline.errors import ServiceError
from scoring import services
from scoring.choices import JobStatus
from scoring.models import GradeThresholds, RescoreJob
from scoring.scorer import ScoreResult
from scoring.tasks import rescore_job_task
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db

A_FIELDS = {"name": "周总", "phone": "13900000001", "decision_role": "decision_maker",
            "budget": "200000", "timeline": "1m", "title": "总经理"}  # fmt: skip


def version() -> int:
    return GradeThresholds.objects.get(pk=1).version


def add_rule(desk, name="Procurement", points=40, **extra):
    return services.scoring_rule_save(
        actor=desk, name=name, dimension="fit", field="title", operator="contains",
        value="采购", points=points, **extra,
    )  # fmt: skip


# --------------------------------------------------------------------------------------
# The version counter
# --------------------------------------------------------------------------------------


def test_every_rule_and_threshold_change_bumps_the_version_in_its_transaction(desk):
    start = version()
    with TestCase.captureOnCommitCallbacks(execute=False):
        rule = add_rule(desk)
        assert version() == start + 1
        services.scoring_rule_save(
            actor=desk, rule=rule, name="Procurement", dimension="fit", field="title",
            operator="contains", value="采购", points=30,
        )  # fmt: skip
        services.thresholds_save(actor=desk, a=80, b=50, c=25)
        services.scoring_rule_delete(actor=desk, rule=rule)
    assert version() == start + 4
    assert GradeThresholds.objects.get(pk=1).a == 80  # the thresholds' own save kept it


def test_a_refused_edit_bumps_nothing(desk):
    start = version()
    add_rule(desk)
    with pytest.raises(ServiceError):
        add_rule(desk)  # same name
    assert version() == start + 1


# --------------------------------------------------------------------------------------
# Conditional writes
# --------------------------------------------------------------------------------------


def test_single_write_skips_a_newer_version_and_keeps_a_manual_grade(desk):
    lead = LeadFactory(score=10, grade="D", grade_source="rule", score_version=5)
    older = ScoreResult(score=90, grade="A", detail=[{"rule": "x", "points": 90}])
    assert not services._store_score(lead, older, version=4)
    lead.refresh_from_db()
    assert (lead.score, lead.grade, lead.score_version) == (10, "D", 5)
    assert services._store_score(lead, older, version=5)  # same version: facts changed
    lead.refresh_from_db()
    assert (lead.score, lead.grade, lead.score_version) == (90, "A", 5)

    Lead.objects.filter(pk=lead.pk).update(grade="C", grade_source=GradeSource.MANUAL)
    stale_copy = Lead.objects.get(pk=lead.pk)
    stale_copy.grade_source = GradeSource.RULE  # what a writer loaded before the manual grade
    assert services._store_score(stale_copy, older, version=6)
    lead.refresh_from_db()
    # The score is recorded (the desk sees what the rules say), the manual grade stays.
    assert (lead.grade, lead.grade_source, lead.score, lead.score_version) == (
        "C", "manual", 90, 6,
    )  # fmt: skip


def test_set_based_write_is_conditional_on_version_manual_grade_and_erasure(desk):
    newer = LeadFactory(score=10, grade="D", score_version=7)
    manual = LeadFactory(score=10, grade="C", grade_source="manual", score_version=1)
    erased = LeadFactory(score=10, grade="D", score_version=1, erased_at=timezone.now())
    plain = LeadFactory(score=10, grade="D", score_version=1)
    rows = [(lead.pk, 80, "A", [{"rule": "r", "points": 80}])
            for lead in (newer, manual, erased, plain)]  # fmt: skip
    written = services._write_scores(rows, version=7, same_version=False)
    assert written == {manual.pk: ("C", "manual"), plain.pk: ("A", "rule")}
    values = dict(Lead.objects.values_list("pk", "score"))
    assert values == {newer.pk: 10, manual.pk: 80, erased.pk: 10, plain.pk: 80}
    assert Lead.objects.get(pk=manual.pk).grade == "C"
    # A fact change at the same version is written; a rescore at it is not.
    assert services._write_scores(rows[:1], version=7, same_version=False) == {}
    assert services._write_scores(rows[:1], version=7, same_version=True) == {
        newer.pk: ("A", "rule")
    }


def test_a_rescore_holding_an_older_rule_set_never_overwrites_a_newer_score(desk):
    """Reproduction (b): a rescore that loaded the rules before the last rule was added."""
    lead = LeadFactory(title="采购总监", decision_role="decision_maker", timeline="1m",
                       budget=Decimal("300000"), score=0, grade="D", score_version=0)  # fmt: skip
    old = services.rule_set(hold=False)
    old_batch = list(Lead.objects.filter(pk=lead.pk).select_related("company"))
    with TestCase.captureOnCommitCallbacks(execute=True):
        add_rule(desk, points=60)  # the rescore at the new version runs after the commit
    lead.refresh_from_db()
    assert lead.score_version == old.version + 1
    new_score = lead.score
    assert new_score > services.score_of(lead, rules=old.rules, thresholds=old.thresholds).score
    # The old rescore writes its batch now: nothing changes.
    assert services.rescore_batch(old_batch, current=old) == 0
    lead.refresh_from_db()
    assert (lead.score, lead.score_version) == (new_score, old.version + 1)
    assert any(d["rule"] == "Procurement" for d in lead.score_detail)


def test_a_rescore_stops_once_the_version_moves_past_it(desk, monkeypatch):
    LeadFactory.create_batch(5, score=0, grade="D", score_version=0)
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    real = services.rescore_batch

    def batch_then_edit(*args, **kwargs):
        done = real(*args, **kwargs)
        GradeThresholds.objects.filter(pk=1).update(version=F("version") + 1)  # an edit
        return done

    monkeypatch.setattr(services, "rescore_batch", batch_then_edit)
    with mock.patch.object(rescore_job_task, "apply_async"):
        job = services.rescore_job_start(actor=desk, reason="x")
    job = services.rescore_job_run(job_id=job.pk)
    assert job.status == JobStatus.SUPERSEDED and job.processed == 2
    assert Lead.objects.filter(score_version=0).count() == 3  # left to the newer job


# --------------------------------------------------------------------------------------
# Debounce, restart
# --------------------------------------------------------------------------------------


def test_a_burst_of_rule_edits_runs_one_rescore(desk, settings):
    settings.RESCORE_DEBOUNCE_SECONDS = 10
    LeadFactory.create_batch(3, title="采购经理", score=0, grade="D", score_version=0)
    with mock.patch.object(rescore_job_task, "apply_async") as queued:
        for n in range(5):
            with TestCase.captureOnCommitCallbacks(execute=True):
                add_rule(desk, name=f"Rule {n}", points=n + 1)
    assert [c.kwargs["countdown"] for c in queued.call_args_list] == [10] * 5
    assert RescoreJob.objects.count() == 1
    # The deliveries arrive after their countdown, in order: only the last one rescores.
    results = [services.rescore_job_run(job_id=c.kwargs["args"][0], version=c.kwargs["args"][1])
               for c in queued.call_args_list]  # fmt: skip
    assert results[:4] == [None] * 4
    job = results[4]
    assert job.status == JobStatus.DONE and job.version == version() and job.processed == 3
    assert set(Lead.objects.values_list("score_version", flat=True)) == {version()}
    for lead in Lead.objects.all():
        assert {f"Rule {n}" for n in range(5)} <= {d["rule"] for d in lead.score_detail}


def test_an_edit_while_a_rescore_runs_queues_the_next_one(desk):
    with mock.patch.object(rescore_job_task, "apply_async") as queued:
        with TestCase.captureOnCommitCallbacks(execute=True):
            add_rule(desk, name="One")
        first = RescoreJob.objects.get()
        RescoreJob.objects.filter(pk=first.pk).update(status=JobStatus.RUNNING)
        with TestCase.captureOnCommitCallbacks(execute=True):
            add_rule(desk, name="Two")
    second = RescoreJob.objects.exclude(pk=first.pk).get()
    assert second.version == first.version + 1 == version()
    assert queued.call_args_list[-1].kwargs["args"] == (second.pk, second.version)


def test_a_rescore_whose_worker_died_is_resumed_by_beat(desk):
    LeadFactory.create_batch(3, score=0, grade="D", score_version=0)
    job = RescoreJob.objects.create(
        status=JobStatus.RUNNING, version=version(), started_at=timezone.now(),
        heartbeat_at=timezone.now() - dt.timedelta(minutes=1),
    )  # fmt: skip
    assert services.rescore_resume() == 0  # still alive
    RescoreJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - services.RESCORE_STALE_AFTER - dt.timedelta(seconds=1)
    )
    assert services.rescore_resume() == 1  # queued again; eager here: it ran
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert set(Lead.objects.values_list("score_version", flat=True)) == {version()}
    assert services.rescore_resume() == 0


def test_a_pending_rescore_never_delivered_is_queued_again_and_an_old_one_superseded(desk):
    old = RescoreJob.objects.create(version=version() - 1, heartbeat_at=timezone.now())
    lost = RescoreJob.objects.create(
        version=version(), heartbeat_at=timezone.now() - dt.timedelta(minutes=5)
    )
    RescoreJob.objects.filter(pk=old.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    with mock.patch.object(rescore_job_task, "delay") as queued:
        assert services.rescore_resume() == 1
    queued.assert_called_once_with(lost.pk, lost.version)
    assert RescoreJob.objects.get(pk=old.pk).status == JobStatus.SUPERSEDED


# --------------------------------------------------------------------------------------
# Every creation path commits the lead scored (no task needed)
# --------------------------------------------------------------------------------------


def assert_scored_now(lead: Lead) -> None:
    lead.refresh_from_db()
    assert lead.grade and lead.grade_source == GradeSource.RULE and lead.scored_at
    assert lead.score_version == version()


def no_tasks():
    """Nothing after the commit runs: no worker, or a queue full of rescores."""
    return TestCase.captureOnCommitCallbacks(execute=False)


def test_lifecycle_create_scores_in_its_transaction(desk):
    with no_tasks():
        result = lifecycle.lead_create(actor=desk, fields=A_FIELDS)
    assert result.lead.grade == "A"  # the returned lead too
    assert_scored_now(result.lead)
    assert result.lead.events.filter(kind=EventKind.GRADED).count() == 0


def test_api_create_scores_in_its_transaction(api, desk):
    with no_tasks():
        response = api(desk).post("/api/v1/leads/", A_FIELDS, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["grade"] == "A"
    assert_scored_now(Lead.objects.get(pk=response.json()["id"]))


def test_page_create_scores_in_its_transaction(client, desk):
    client.force_login(desk)
    with no_tasks():
        response = client.post(reverse("leads:create"), A_FIELDS)
    assert response.status_code == 302
    assert_scored_now(Lead.objects.get(phone="+8613900000001"))


def test_capture_scores_in_its_transaction(api):
    campaign = CampaignFactory()
    with no_tasks():
        response = api().post(
            "/api/v1/capture/",
            {"campaign_key": campaign.public_key, "consent": True, **A_FIELDS},
            format="json",
        )
    assert response.status_code == 201, response.json()
    assert_scored_now(Lead.objects.get(phone="+8613900000001"))


def test_import_batch_scores_in_its_transaction(api, marketer):
    campaign = CampaignFactory(owner=marketer)
    known = LeadFactory(name="老客户", phone="+8613900002002", title="采购经理", score=0, grade="D",
                        score_version=0)  # fmt: skip
    content = "姓名,手机,职位\n周总,13900002001,总经理\n老客户,13900002002,采购经理\n"
    body = {"file": SimpleUploadedFile("list.csv", content.encode(), content_type="text/csv"),
            "campaign": campaign.pk, "legal_basis": "event_registration",
            "legal_basis_date": "2026-05-20"}  # fmt: skip
    with no_tasks():
        response = api(marketer).post("/api/v1/imports/", body, format="multipart")
        assert response.status_code == 201, response.json()
        import_run(job_id=response.json()["id"])
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.created, job.duplicates) == ("done", 1, 1), job.errors
    assert_scored_now(Lead.objects.get(phone="+8613900002001"))
    known.refresh_from_db()
    assert known.score_version == version()  # its new touch rescored it in the batch


def test_a_fresh_lead_always_has_its_rule_grade_for_the_desk(desk):
    """Reproduction (a): the desk never sees "no rule grade yet" for a new lead."""
    with no_tasks():
        lead = lifecycle.lead_create(actor=desk, fields={"name": "Li", "phone": "13900000009"})
        qualified = lifecycle.lead_qualify(lead=lead.lead.pk, actor=desk)
    assert qualified.stage == Stage.MQL and qualified.grade == "D"
    assert qualified.grade_source == GradeSource.RULE


def test_an_edit_rescores_in_its_transaction_and_a_manual_grade_right_after_creation_stays(desk):
    """Reproduction (c): nothing scores the lead after its commit, so nothing can replace
    a manual grade given right after creation."""
    with mock.patch("pipeline.queue.enqueue") as queued, no_tasks() as callbacks:
        lead = lifecycle.lead_create(actor=desk, fields={"name": "Ma", "phone": "13900000004"}).lead
        services.lead_set_grade(lead=lead, actor=desk, grade="A", reason="the CEO called us")
        lifecycle.lead_update(lead=lead, actor=desk, fields={"timeline": "1m"})
    for callback in callbacks:  # what a worker would run after these commits
        callback()
    assert not [c for c in queued.call_args_list if "scor" in str(c.args[0])]
    lead.refresh_from_db()
    assert (lead.grade, lead.grade_source) == ("A", "manual")
    assert any(d["rule"] == "Buying within 1 month" for d in lead.score_detail)


def test_reset_grade_stamps_the_version(desk):
    with no_tasks():
        lead = lifecycle.lead_create(actor=desk, fields={"name": "Wu", "phone": "13900000005"}).lead
        services.lead_set_grade(lead=lead, actor=desk, grade="B", reason="strategic")
        GradeThresholds.objects.filter(pk=1).update(version=F("version") + 1)
        services.lead_reset_grade(lead=lead, actor=desk)
    lead.refresh_from_db()
    assert (lead.grade_source, lead.score_version) == ("rule", version())


def test_rule_page_edit_still_rescores_in_the_embedded_default(client, desk):
    """Eager tasks (no broker): no debounce, the rescore runs right after the commit."""
    lead = LeadFactory(title="采购总监", score=0, grade="D", score_version=0)
    client.force_login(desk)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(reverse("scoring:rule_create"), {
            "name": "Procurement", "dimension": "fit", "field": "title", "operator": "contains",
            "value": "采购", "points": "40", "active": "on",
        })  # fmt: skip
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.score_version == version()
    assert any(d["rule"] == "Procurement" for d in lead.score_detail)


def test_facts_edited_in_the_admin_are_scored_in_its_transaction(desk):
    lead = lifecycle.lead_create(actor=desk, fields={"name": "Su", "phone": "13900000006"}).lead
    assert lead.grade == "D"
    lead.decision_role, lead.timeline, lead.budget = "decision_maker", "1m", Decimal("300000")
    with no_tasks():
        LeadAdmin(Lead, admin.site).save_model(None, lead, None, True)
    lead.refresh_from_db()
    assert (lead.grade, lead.score_version) == ("A", version())
