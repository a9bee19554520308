"""Races between real parallel workers on PostgreSQL (row locks and advisory locks)."""

from __future__ import annotations

import threading
from unittest import mock

import pytest

from leads import lifecycle
from leads.choices import EventKind, Stage
from leads.models import Lead, LeadEvent, LeadTouch
from pipeline.errors import ServiceError
from tests.factories import UserFactory, lead_in_stage
from tests.parallel import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_two_reps_claiming_one_pooled_lead_exactly_one_wins():
    reps = [UserFactory(roles=["sales_rep"]) for _ in range(2)]
    lead = lead_in_stage(Stage.MQL, in_pool=True)
    results = race([lambda rep=rep: lifecycle.lead_claim(lead=lead.pk, actor=rep) for rep in reps])
    winners = [r for r in results if isinstance(r, Lead)]
    losers = [r for r in results if isinstance(r, ServiceError)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert losers[0].code == "wrong_stage" and "pool" in losers[0].message
    lead.refresh_from_db()
    assert lead.owner_id == winners[0].owner_id and not lead.in_pool
    assert LeadEvent.objects.filter(lead=lead, kind=EventKind.CLAIMED).count() == 1


def test_parallel_arrivals_of_one_person_make_one_lead():
    marketer = UserFactory(roles=["marketer"])
    fields = {"name": "赵磊", "phone": "13700000077", "email": "zhao@example.cn"}
    results = race([lambda: lifecycle.lead_create(actor=marketer, fields=fields) for _ in range(8)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Lead.objects.count() == 1
    lead = Lead.objects.get()
    assert sorted(r.duplicate for r in results) == [False] + [True] * 7
    assert LeadTouch.objects.filter(lead=lead).count() == 8
    assert LeadTouch.objects.filter(lead=lead, is_first=True).count() == 1


def test_parallel_accept_and_recycle_leave_one_consistent_outcome():
    rep = UserFactory(roles=["sales_rep"])
    lead = lead_in_stage(Stage.MQL, owner=rep)
    results = race(
        [
            lambda: lifecycle.lead_accept(lead=lead.pk, actor=rep),
            lambda: lifecycle.lead_reject(lead=lead.pk, actor=rep, reason="no need"),
        ]
    )
    assert sum(isinstance(r, Lead) for r in results) == 1, results
    lead.refresh_from_db()
    events = LeadEvent.objects.filter(lead=lead, kind__in=["accepted", "rejected"])
    assert events.count() == 1
    if events.get().kind == "accepted":
        assert (lead.stage, lead.owner_id) == (Stage.SQL, rep.pk)
    else:
        assert (lead.stage, lead.owner_id) == (Stage.MQL, None)


def _import_job(marketer, campaign):
    from leads.models import ImportJob

    return ImportJob.objects.create(
        campaign=campaign,
        original_name="list.csv",
        file_kind="csv",
        headers=["姓名", "手机"],
        mapping={"0": "name", "1": "phone"},
        touch_kind="import",
        created_by=marketer,
    )


def _people(n: int) -> list[tuple[int, dict, None]]:
    return [(i + 1, {"name": f"人{i}", "phone": f"+861370000{1000 + i}"}, None) for i in range(n)]


def test_capture_racing_an_import_batch_becomes_a_touch_on_the_imported_lead():
    """The import batch wrote (not yet committed) the person the capture brings: the
    capture waits on the unique index, then lands as a duplicate touch, not an error."""
    import time

    from django.db import transaction

    from leads import imports
    from tests.factories import CampaignFactory

    marketer = UserFactory(roles=["marketer"])
    campaign = CampaignFactory()
    job = _import_job(marketer, campaign)
    written = threading.Event()

    def import_batch():
        with transaction.atomic():
            imports._write_batch(job, _people(50), imports.RowResult())
            written.set()
            time.sleep(1.0)  # the capture is now blocked on our uncommitted rows
        return "imported"

    def capture():
        assert written.wait(timeout=30)
        return lifecycle.lead_create(
            actor=None, fields={"name": "人7 again", "phone": "13700001007"}, campaign=campaign
        )

    results = race([import_batch, capture])
    assert results[0] == "imported", results
    answer = results[1]
    assert not isinstance(answer, Exception), answer
    assert answer.duplicate is True
    assert Lead.objects.count() == 50
    lead = Lead.objects.get(phone="+8613700001007")
    assert answer.lead.pk == lead.pk and lead.touches.count() == 2
    assert lead.events.filter(kind=EventKind.DUPLICATE).count() == 1


def test_import_batch_racing_a_capture_retries_in_bulk_and_counts_it_as_known():
    """The capture wrote (not yet committed) one of the batch's people: the batch's bulk
    insert waits, is refused by the unique index, and the bulk retry finds the captured
    lead (committed by then) and counts that person as a duplicate."""
    import time

    from django.db import transaction

    from leads import imports
    from tests.factories import CampaignFactory

    marketer = UserFactory(roles=["marketer"])
    campaign = CampaignFactory()
    job = _import_job(marketer, campaign)
    captured = threading.Event()

    def capture():
        with transaction.atomic():
            answer = lifecycle.lead_create(
                actor=None, fields={"name": "人3", "phone": "13700001003"}, campaign=campaign
            )
            captured.set()
            time.sleep(1.0)
        return answer

    def import_batch():
        assert captured.wait(timeout=30)
        result = imports.RowResult()
        slow = mock.patch.object(imports, "_write_batch_slowly", side_effect=AssertionError)
        with slow, mock.patch.object(imports, "_write_batch", wraps=imports._write_batch) as bulk:
            imports._commit_batch(job, _people(20), result, 20)
        assert bulk.call_count == 2  # refused once, then done in bulk
        return result

    results = race([capture, import_batch])
    assert not any(isinstance(r, Exception) for r in results), results
    assert (results[1].created, results[1].duplicates) == (19, 1)
    assert Lead.objects.count() == 20
    first = Lead.objects.get(phone="+8613700001003")
    assert first.pk == results[0].lead.pk and first.touches.count() == 2
