"""Fair rotation under real parallel workers on PostgreSQL (docs/architecture.md §4, issue 5)."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db.models import Count
from django.utils import timezone

from assignment import services
from assignment.models import Assignment, RotationCursor
from leads.choices import Stage
from leads.models import Lead
from tests.factories import TeamFactory, TeamMembershipFactory, UserFactory
from tests.leads.test_concurrency import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def bulk_mqls(n: int) -> list[int]:
    now = timezone.now()
    leads = Lead.objects.bulk_create(
        Lead(name=f"P{i}", phone=f"+86137{i:08d}", stage=Stage.MQL, grade="B",
             grade_source="rule", created_at=now, mql_at=now)
        for i in range(n)
    )  # fmt: skip
    return [lead.pk for lead in leads]


def test_8_workers_route_400_leads_round_robin_exactly_100_each():
    desk = UserFactory(roles=["lead_desk"])
    team = TeamFactory(name="Parallel")
    reps = [
        TeamMembershipFactory(team=team, daily_capacity=5000, max_open_leads=5000).user
        for _ in range(4)
    ]
    rule = services.rule_save(actor=desk, name="rr", conditions=[], strategy="round_robin",
                              team=team)  # fmt: skip
    ids = bulk_mqls(400)
    chunks = [ids[i::8] for i in range(8)]

    def worker(chunk):
        return [services.lead_route(lead=pk).owner_id for pk in chunk]

    results = race([lambda c=chunk: worker(c) for chunk in chunks])
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    counts = Counter(Lead.objects.filter(pk__in=ids).values_list("owner_id", flat=True))
    assert counts == {rep.pk: 100 for rep in reps}
    per_lead = Assignment.objects.filter(lead_id__in=ids).values("lead_id").annotate(n=Count("id"))
    assert {row["n"] for row in per_lead} == {1} and len(per_lead) == 400
    assert RotationCursor.objects.get(rule=rule).position == 400
