"""The bulk ``assign`` action runs set-based (``leads.bulk.bulk_assign``) and leaves the
database as the one-by-one action path (``leads.actions.run_bulk``) does."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from assignment import bulk as assignment_bulk
from assignment import subscribers
from assignment.models import Assignment
from leads import bulk as leads_bulk
from leads.actions import run_bulk
from leads.bulk import bulk_run
from leads.choices import EventKind, Stage
from leads.models import Lead, LeadEvent
from scoring.models import GradeThresholds
from tests.factories import CampaignFactory, LeadFactory
from tests.leads.test_imports import ROWS, csv_bytes, upload


def _world(rep, other_rep):
    now = timezone.now()
    owned = [
        Lead.objects.create(name=f"O{i}", phone=f"+86133{i:08d}", stage=Stage.MQL, owner=rep,
                            assigned_at=now, created_at=now, mql_at=now)
        for i in range(6)
    ]  # fmt: skip
    free = [
        Lead.objects.create(name=f"F{i}", phone=f"+86132{i:08d}", stage=Stage.MQL,
                            created_at=now, mql_at=now)
        for i in range(4)
    ]  # fmt: skip
    fresh = LeadFactory()  # stage new: not assignable
    already = Lead.objects.create(
        name="A", phone="+8613100000001", stage=Stage.MQL, owner=other_rep, assigned_at=now,
        created_at=now, mql_at=now,
    )  # fmt: skip
    return [lead.pk for lead in [*owned, fresh, *free, already]]


def _state(ids):
    leads = sorted(Lead.objects.filter(pk__in=ids).values_list("pk", "owner_id", "in_pool"))
    events = sorted(
        (e.lead_id, e.kind, e.actor_id, e.reason, repr(sorted(e.data.items())))
        for e in LeadEvent.objects.filter(lead_id__in=ids, kind__in=[EventKind.ASSIGNED,
                                                                    EventKind.REASSIGNED])
    )  # fmt: skip
    records = sorted(
        Assignment.objects.filter(lead_id__in=ids).values_list(
            "lead_id", "owner_id", "previous_owner_id", "actor_id", "strategy", "reason",
            "reason_code", "reason_params",
        )
    )  # fmt: skip
    return leads, events, [repr(r) for r in records]


def one_by_one(monkeypatch, **kwargs):
    """``bulk_run`` as it was: the action one lead at a time through ``run_bulk``."""
    with monkeypatch.context() as patch:
        patch.setattr(leads_bulk, "bulk_assign", lambda **kw: run_bulk(name="assign", **kw))
        return bulk_run(**kwargs)


def test_bulk_reassign_matches_one_by_one(desk, rep, other_rep, monkeypatch):
    ids = _world(rep, other_rep)
    data = {"owner": str(other_rep.pk), "reason": "territory change"}
    with transaction.atomic():
        one = one_by_one(monkeypatch, actor=desk, name="assign", lead_ids=ids, data=data)
        first = _state(ids)
        transaction.set_rollback(True)
    result = bulk_run(actor=desk, name="assign", lead_ids=ids, data=data)
    assert _state(ids) == first
    assert result.done == one.done and len(result.done) == 10
    assert dict(result.refused) == dict(one.refused) and len(result.refused) == 2
    assert Lead.objects.filter(pk__in=ids, owner=other_rep).count() == 11


def test_bulk_assign_without_owner_routes_by_the_rules(desk, rep, other_rep, team, monkeypatch):
    from assignment import services

    services.rule_save(actor=desk, name="rr", conditions=[], strategy="round_robin", team=team)
    ids = _world(rep, other_rep)
    with transaction.atomic():
        one = one_by_one(monkeypatch, actor=desk, name="assign", lead_ids=ids, data={})
        first = _state(ids)
        transaction.set_rollback(True)
    result = bulk_run(actor=desk, name="assign", lead_ids=ids, data={})
    assert _state(ids) == first
    assert result.done == one.done and len(result.done) == 4
    assert dict(result.refused) == dict(one.refused)


def test_import_routes_its_qualified_leads_as_one_set(api, marketer, settings, monkeypatch,
                                                       desk, team, rep):  # fmt: skip
    from assignment import services

    settings.AUTO_ASSIGN = True
    services.rule_save(actor=desk, name="rr", conditions=[], strategy="round_robin", team=team)
    GradeThresholds.objects.filter(pk=1).update(auto_qualify=True, auto_qualify_score=0)
    singles, sets = [], []
    monkeypatch.setattr(subscribers, "enqueue_on_commit", lambda *a: singles.append(a))
    real = assignment_bulk.enqueue_on_commit
    monkeypatch.setattr(assignment_bulk, "enqueue_on_commit", lambda *a: (sets.append(a), real(*a)))
    upload(api, marketer, CampaignFactory(owner=marketer), csv_bytes(ROWS))
    leads = Lead.objects.filter(stage=Stage.MQL)
    assert leads.count() >= 2
    assert singles == []  # no task per lead
    assert len(sets) == 1 and sorted(sets[0][1]) == sorted(leads.values_list("pk", flat=True))
    assert not leads.filter(owner__isnull=True).exists()  # the set task (eager here) routed them
