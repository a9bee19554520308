"""Parallel pool claims by one rep stop at exactly the daily limit (issue #13 finding 5).

Real parallel workers on PostgreSQL, each with its own connection (``tests.parallel.race``);
skipped on SQLite, whose single writer serialises claims anyway."""

from __future__ import annotations

import pytest

from assignment.models import PoolPolicy
from leads import lifecycle
from leads.choices import EventKind, Stage
from leads.models import Lead, LeadEvent
from pipeline.errors import ServiceError
from tests.factories import UserFactory, lead_in_stage
from tests.parallel import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_thirty_parallel_claims_by_one_rep_stop_at_the_daily_limit():
    PoolPolicy.current()
    PoolPolicy.objects.filter(pk=1).update(daily_claim_limit=20, reclaim_cooldown_days=0)
    rep = UserFactory(roles=["sales_rep"])
    desk = UserFactory(roles=["lead_desk"])
    pooled = [lead_in_stage(Stage.MQL, in_pool=True, desk=desk) for _ in range(30)]
    results = race([lambda pk=lead.pk: lifecycle.lead_claim(lead=pk, actor=rep) for lead in pooled])
    won = [r for r in results if isinstance(r, Lead)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(won) == 20 and len(refused) == 10, results
    assert {e.code for e in refused} == {"forbidden"}
    assert all("limit of 20" in e.message for e in refused)
    assert Lead.objects.filter(owner=rep, in_pool=False).count() == 20
    assert Lead.objects.filter(owner__isnull=True, in_pool=True).count() == 10
    assert LeadEvent.objects.filter(kind=EventKind.CLAIMED, actor=rep).count() == 20
    assert lifecycle.claims_today(rep) == 20
