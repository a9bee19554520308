"""SLA scan and compliance over many leads and follow-ups: seconds and query counts, at
two data sizes to show the number of queries does not grow with the data."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignment.models import Assignment
from leads.models import Lead
from reports.sla import compliance, sla_scan
from tests.benchmarks import data

N = int(os.environ.get("BENCH_LEADS", "1000000"))


def build(n: int, owners: list[int], campaigns, companies, offset: int = 0) -> None:
    ids = data.owned_leads(
        n, owners=owners, campaigns_=campaigns, companies_=companies, offset=offset
    )
    rows = Lead.objects.filter(pk__gte=min(ids), owner__isnull=False).values_list(
        "pk", "owner_id", "assigned_at", "first_contact_at"
    )
    Assignment.objects.bulk_create(
        [
            Assignment(lead_id=pk, owner_id=owner, strategy="weighted", reason="bench", at=at)
            for pk, owner, at, _ in rows.iterator()
        ],
        batch_size=20_000,
    )
    data.follow_ups(
        [(pk, owner, first) for pk, owner, _, first in rows.iterator() if first is not None],
        per_lead=3,
    )


def measure() -> dict:
    today = timezone.localdate()
    with CaptureQueriesContext(connection) as scan_q:
        start = time.perf_counter()
        scan = sla_scan()
        scan_s = time.perf_counter() - start
    with CaptureQueriesContext(connection) as comp_q:
        start = time.perf_counter()
        rows = compliance(start=today - dt.timedelta(days=90), end=today)
        comp_s = time.perf_counter() - start
    return {
        "scan_seconds": round(scan_s, 1),
        "scan_queries": len(scan_q),
        "scan_reminded": scan.reminded,
        "scan_recycled": scan.recycled_for_neglect,
        "compliance_seconds": round(comp_s, 1),
        "compliance_queries": len(comp_q),
        "compliance_rows": len(rows),
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sla_scan_and_compliance(report, settings):
    settings.DEBUG = False
    sales = Group.objects.get(name="sales_rep")
    owners = []
    for i in range(50):
        user = User.objects.create(username=f"sla-rep-{i}")
        user.groups.add(sales)
        owners.append(user.pk)
    campaigns, companies = data.campaigns(100), data.companies(20_000)
    small = N // 10
    build(small, owners, campaigns, companies)
    first = measure()
    build(N - small, owners, campaigns, companies, offset=small)
    second = measure()
    from leads.models import FollowUp

    report(
        "sla",
        {
            "leads": Lead.objects.count(),
            "follow_ups": FollowUp.objects.count(),
            f"at_{small}_leads": first,
            f"at_{N}_leads": second,
        },
    )
