"""Two erasures of one person at once, on PostgreSQL: one erases, the other is refused."""

from __future__ import annotations

import pytest

from leads.choices import EventKind, Stage
from leads.models import Lead, LeadEvent
from leads.privacy import ErasureResult, person_erase
from pipeline.errors import ServiceError
from tests.factories import UserFactory, lead_in_stage
from tests.parallel import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_two_parallel_erasures_of_one_person_erase_once():
    desks = [UserFactory(roles=["lead_desk"]) for _ in range(2)]
    lead = lead_in_stage(Stage.NEW)
    results = race(
        [lambda desk=desk: person_erase(lead=lead, actor=desk, confirm=True) for desk in desks]
    )
    done = [r for r in results if isinstance(r, ErasureResult)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(done) == 1 and len(refused) == 1, results
    assert refused[0].code == "conflict"
    lead.refresh_from_db()
    assert lead.erased_at == done[0].erased_at and lead.phone == ""
    assert Lead.objects.filter(erased_at__isnull=False).count() == 1
    assert LeadEvent.objects.filter(lead=lead, kind=EventKind.DATA_ERASED).count() == 1
