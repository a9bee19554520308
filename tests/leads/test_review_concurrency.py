"""Two desk users deciding one contact review at once, on PostgreSQL: one decides, the
other is refused with a clear 409 (the review row is locked and re-checked)."""

from __future__ import annotations

import pytest

from leads.choices import EventKind, ReviewStatus
from leads.models import ContactReview, Lead, LeadEvent
from leads.reviews import review_different_person, review_keep
from pipeline.errors import ServiceError
from tests.factories import LeadFactory, UserFactory, conflict_review
from tests.parallel import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_two_desk_users_deciding_one_review_at_once_one_wins_the_other_gets_409():
    first, second = (UserFactory(roles=["lead_desk"]) for _ in range(2))
    lead = LeadFactory(name="陈小明", phone="+8613900002001", email="chen@acme.cn")
    review = conflict_review(lead, name="王大伟", email="wang@beta.cn")
    leads_before = Lead.objects.count()
    results = race(
        [
            lambda: review_different_person(review=review, actor=first, phone="13900002002"),
            lambda: review_keep(review=review, actor=second),
        ]
    )
    done = [r for r in results if isinstance(r, ContactReview)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(done) == 1 and len(refused) == 1, results
    assert refused[0].code == "conflict" and refused[0].status == 409
    assert "already decided" in refused[0].message
    review.refresh_from_db()
    assert review.status == done[0].status != ReviewStatus.OPEN
    assert LeadEvent.objects.filter(lead=lead, kind=EventKind.CONTACT_REVIEWED).count() == 1
    # A split made one new lead, a keep none: never both, never two.
    assert Lead.objects.count() == leads_before + (review.status == ReviewStatus.SPLIT)
