"""Report jobs raced by real parallel workers on PostgreSQL (conditional UPDATE claims,
the one-active-job constraint, upserted snapshots)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from reports import snapshots
from reports.choices import ReportJobStatus, ReportKind
from reports.models import ReportJob, ReportSnapshot
from reports.snapshots import ReportKey
from tests.factories import CampaignCostFactory, CampaignFactory
from tests.parallel import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def keys() -> list[ReportKey]:
    today = timezone.localdate()
    period = {"start": today - dt.timedelta(days=30), "end": today}
    return [
        ReportKey.of(ReportKind.CHANNEL_ROI, model="linear", **period),
        ReportKey.of(ReportKind.FUNNEL, **period),
        ReportKey.of(ReportKind.TREND, **period),
    ]


def test_two_workers_claiming_one_job_compute_it_once():
    CampaignCostFactory(campaign=CampaignFactory(), date=timezone.localdate())
    job = snapshots.report_job_request(keys=keys(), queue=False)

    results = race([lambda: snapshots.report_job_run(job_id=job.pk) for _ in range(2)])

    assert not [r for r in results if isinstance(r, Exception)], results
    finished = [r for r in results if r is not None]
    assert len(finished) == 1 and finished[0].status == ReportJobStatus.DONE, results
    job.refresh_from_db()
    assert (job.status, job.processed, job.total) == (ReportJobStatus.DONE, 3, 3)
    assert ReportSnapshot.objects.count() == 3
    for key in keys():
        assert ReportSnapshot.objects.get(**key.fields).payload == key.compute()


def test_parallel_requests_for_the_same_reports_make_one_job():
    results = race([lambda: snapshots.report_job_request(keys=keys(), queue=False)] * 6)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.pk for r in results}) == 1
    assert ReportJob.objects.count() == 1


def test_parallel_snapshot_writes_leave_one_row():
    key = keys()[1]
    payload = key.compute()

    results = race([lambda: snapshots.snapshot_store(key=key, payload=payload)] * 6)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert ReportSnapshot.objects.filter(**key.fields).count() == 1
