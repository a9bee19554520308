"""Two SLA scans at once on PostgreSQL: each step and each recycle happens once."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from leads import lifecycle
from leads.choices import EventKind, Stage
from leads.models import Lead, LeadEvent
from reports.models import BusinessCalendar, SlaBreach
from reports.sla.scan import ScanResult, sla_scan
from tests.factories import UserFactory, lead_in_stage
from tests.leads.test_concurrency import race
from tests.reports.test_sla_scale import MONDAY_10, WEDNESDAY_17

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_two_parallel_scans_write_one_breach_and_one_recycle_each():
    BusinessCalendar.objects.update_or_create(pk=1, defaults={"use_cn_holidays": False})
    desk = UserFactory(roles=["lead_desk"])
    rep = UserFactory(roles=["sales_rep"])
    with time_machine.travel(MONDAY_10, tick=False):
        late = [lead_in_stage(Stage.MQL, owner=rep, desk=desk) for _ in range(20)]
    with time_machine.travel(WEDNESDAY_17 - dt.timedelta(days=31), tick=False):
        stale = [lead_in_stage(Stage.SQL, owner=rep, desk=desk) for _ in range(20)]
        for lead in stale:
            lifecycle.follow_up_log(lead=lead, actor=rep, method="call")
    with time_machine.travel(WEDNESDAY_17, tick=False):
        results = race([sla_scan, sla_scan])
    assert all(isinstance(r, ScanResult) for r in results), results
    assert sum(r.reminded for r in results) == 20
    assert sum(r.final for r in results) == 20
    assert sum(r.recycled_for_neglect for r in results) == 20
    ids = [lead.pk for lead in late + stale]
    assert SlaBreach.objects.filter(lead_id__in=ids).count() == 20 * 3 + 20
    recycled = LeadEvent.objects.filter(lead_id__in=ids, kind=EventKind.RECYCLED)
    assert sorted(recycled.values_list("lead_id", flat=True)) == sorted(ids)
    assert LeadEvent.objects.filter(kind=EventKind.SLA_BREACH).count() == 60
    assert Lead.objects.filter(pk__in=ids, in_pool=True, owner__isnull=True).count() == 40
