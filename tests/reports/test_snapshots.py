"""Stored report snapshots: the beat refresh, reading them on the pages and the API, jobs
for expensive periods, the managers' refresh, and claiming jobs safely."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client, TestCase
from django.utils import timezone

from campaigns.models import Channel
from leads import lifecycle
from pipeline.celery import app as celery_app
from reports import snapshots
from reports.choices import ReportJobOrigin, ReportJobStatus, ReportKind
from reports.models import ReportJob, ReportSnapshot
from reports.snapshots import ReportKey, standard_report_keys
from reports.tasks import refresh_report_snapshots_task, report_job_task
from tests.factories import CampaignCostFactory, CampaignFactory

pytestmark = pytest.mark.django_db
#: The dashboard from snapshots: session, user, roles, the snapshots (one query for all
#: three reports), the navigation's unread-notification badge (one COUNT), plus the deals
#: closed in the period beside the cohort's revenue ("Why do these differ?", one aggregate
#: over the period's won leads and one over its lost leads), whether the daily rollups
#: serve the period (one look at the marks); nothing grows with leads or campaigns.
QUERIES = 8


def campaign_on(code: str, name: str, **kwargs):
    return CampaignFactory(name=name, channel=Channel.objects.get(code=code), **kwargs)


def arrive(marketer, campaign, phone, name="x"):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return lifecycle.lead_create(
            actor=marketer, fields={"name": name, "phone": phone}, campaign=campaign
        ).lead


@pytest.fixture
def world(desk, marketer, rep):
    """Web (cost 1000) brought a lead won for 10,000 and another; the show (cost 3000) one
    lead and a touch of the first."""
    web = campaign_on("website", "Web", owner=marketer)
    show = campaign_on("trade_show", "Show", owner=marketer)
    today = timezone.localdate()
    CampaignCostFactory(campaign=web, date=today, amount=Decimal("1000"))
    CampaignCostFactory(campaign=show, date=today, amount=Decimal("3000"))
    with TestCase.captureOnCommitCallbacks(execute=True):
        one = arrive(marketer, web, "13900008001", "one")
        arrive(marketer, show, "13900008001")
        lifecycle.lead_qualify(lead=one, actor=desk, grade="A", reason="call")
        lifecycle.lead_assign(lead=one, actor=desk, owner=rep)
        lifecycle.lead_accept(lead=one, actor=rep)
        lifecycle.lead_win(lead=one, actor=rep, amount="10000", signed_at=today)
        arrive(marketer, show, "13900008002", "two")
        arrive(marketer, web, "13900008003", "three")
    return {"web": web, "show": show, "marketer": marketer}


def week(**extra):
    today = timezone.localdate()
    return {"from": (today - dt.timedelta(days=7)).isoformat(), "to": today.isoformat(), **extra}


def week_key(kind, **extra) -> ReportKey:
    today = timezone.localdate()
    return ReportKey.of(kind, start=today - dt.timedelta(days=7), end=today, **extra)


def dashboard_keys(model="first_touch", channel=None) -> list[ReportKey]:
    roi = ReportKind.CAMPAIGN_ROI if channel else ReportKind.CHANNEL_ROI
    return [
        week_key(roi, model=model, channel=channel),
        week_key(ReportKind.FUNNEL, channel=channel),
        week_key(ReportKind.TREND, channel=channel),
    ]


@pytest.fixture
def expensive(settings):
    """Every period with a lead in it is too large to compute live."""
    settings.REPORT_LIVE_MAX_LEADS = 0
    return settings


# --------------------------------------------------------------------------------------
# The scheduled refresh
# --------------------------------------------------------------------------------------


def test_beat_schedule_runs_the_refresh_task():
    entry = django_settings.CELERY_BEAT_SCHEDULE["report-snapshots"]
    assert entry["task"] == refresh_report_snapshots_task.name
    assert entry["task"] in celery_app.tasks


def test_standard_keys_are_the_page_presets_under_every_model():
    keys = standard_report_keys(today=dt.date(2026, 5, 20))
    # The attainment and agreement pages' periods: this month, last month, this quarter.
    targets = {(k.kind, k.start, k.end) for k in keys if k.kind in ("attainment", "agreement")}
    assert targets == {
        (kind, start, end)
        for kind in ("attainment", "agreement")
        for start, end in (
            (dt.date(2026, 5, 1), dt.date(2026, 5, 31)),
            (dt.date(2026, 4, 1), dt.date(2026, 4, 30)),
            (dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
        )
    }
    keys = [k for k in keys if k.kind not in ("attainment", "agreement")]
    assert len(keys) == len(set(keys)) == 5 * 10
    periods = {(k.start, k.end) for k in keys}
    assert (dt.date(2026, 5, 1), dt.date(2026, 5, 20)) in periods  # this month
    assert (dt.date(2026, 4, 1), dt.date(2026, 5, 20)) in periods  # this quarter
    assert (dt.date(2026, 1, 1), dt.date(2026, 5, 20)) in periods  # this year
    roi = [k for k in keys if k.kind == ReportKind.CHANNEL_ROI]
    assert {k.model for k in roi} == {"first_touch", "last_touch", "linear", "u_shaped"}
    # On 1 January this month, this quarter and this year are one period: computed once.
    assert len(standard_report_keys(today=dt.date(2026, 1, 1))) == 3 * 10 + 6


def test_refresh_task_stores_every_standard_report_as_the_live_selector_returns_it(world):
    status = refresh_report_snapshots_task.delay().get()

    assert status == ReportJobStatus.DONE
    keys = standard_report_keys()
    assert ReportSnapshot.objects.count() == len(keys)
    for key in keys:
        stored = ReportSnapshot.objects.get(**key.fields)
        assert stored.payload == key.compute(), key
    job = ReportJob.objects.get()
    assert (job.origin, job.status, job.processed, job.total) == (
        ReportJobOrigin.SCHEDULED,
        ReportJobStatus.DONE,
        len(keys),
        len(keys),
    )
    roi = ReportSnapshot.objects.get(**keys[2].fields).payload  # channel ROI, first touch
    assert isinstance(roi["totals"]["cost"], Decimal) and isinstance(roi["from"], dt.date)
    assert roi["totals"]["cost"] == Decimal("4000.00")


def test_second_refresh_replaces_the_snapshots_instead_of_adding_rows(world):
    # The refresh 30 minutes later must fall on the same local day (the keys are per day):
    # run the whole test an hour earlier when the suite runs just before midnight.
    now = timezone.now()
    if timezone.localtime(now).time() >= dt.time(23, 25):
        now -= dt.timedelta(hours=1)
    with time_machine.travel(now):
        _refresh_twice(world)


def _refresh_twice(world):
    refresh_report_snapshots_task.delay()
    key = standard_report_keys()[0]  # this month's funnel
    first = ReportSnapshot.objects.get(**key.fields)
    arrive(world["marketer"], world["web"], "13900008009", "late")

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=30)):
        refresh_report_snapshots_task.delay()

    assert ReportSnapshot.objects.count() == len(standard_report_keys())
    second = ReportSnapshot.objects.get(**key.fields)
    assert second.pk == first.pk and second.computed_at > first.computed_at
    assert second.payload["totals"]["leads"] == first.payload["totals"]["leads"] + 1
    assert second.payload == key.compute()
    assert ReportJob.objects.filter(status=ReportJobStatus.DONE).count() == 2


def test_report_job_task_run_twice_computes_once(world):
    job = snapshots.report_job_request(keys=dashboard_keys(), queue=False)

    assert report_job_task.delay(job.pk).get() == ReportJobStatus.DONE
    first = {s.pk: s.computed_at for s in ReportSnapshot.objects.all()}
    assert report_job_task.delay(job.pk).get() is None

    assert {s.pk: s.computed_at for s in ReportSnapshot.objects.all()} == first
    assert len(first) == 3


def test_old_snapshots_and_finished_jobs_are_pruned(world):
    with time_machine.travel(timezone.now() - dt.timedelta(days=8)):
        snapshots.report_job_run(job_id=snapshots.report_job_request(keys=dashboard_keys()).pk)
    assert ReportSnapshot.objects.count() == 3

    refresh_report_snapshots_task.delay()

    assert not ReportSnapshot.objects.filter(computed_at__lt=timezone.now() - snapshots.KEEP)
    assert ReportJob.objects.count() == 1


# --------------------------------------------------------------------------------------
# Pages read snapshots; expensive periods go through a job
# --------------------------------------------------------------------------------------


def store(keys, *, forge=None):
    """Compute ``keys`` into snapshots through a job; ``forge`` replaces a payload's totals
    cost so a test can tell a stored answer from a live one."""
    job = snapshots.report_job_request(keys=keys, queue=False)
    snapshots.report_job_run(job_id=job.pk)
    if forge is not None:
        snapshot = ReportSnapshot.objects.get(**keys[0].fields)
        snapshot.payload["totals"]["cost"] = forge
        snapshot.save()
    return job


def test_dashboard_reads_the_snapshot_in_a_constant_number_of_queries(
    client, manager, world, expensive, assert_queries_flat, monkeypatch
):
    store(dashboard_keys(), forge=Decimal("777777"))
    client.force_login(manager)
    client.get("/reports/", week())  # warm the session

    def live(self):
        raise AssertionError("computed live although a snapshot exists")

    monkeypatch.setattr(ReportKey, "compute", live)

    def five_more_leads():
        for index in range(5):
            arrive(world["marketer"], world["web"], f"1390000810{index}")

    response = assert_queries_flat(
        lambda: client.get("/reports/", week()), grow=five_more_leads, max_queries=QUERIES
    )
    assert response.context["snapshot"]["computed_at"] is not None
    assert response.context["kpis"][0]["value"] == "777,777.00"
    body = response.content.decode()
    assert "Computed at" in body and 'action="/reports/refresh/"' in body


def test_a_stale_snapshot_is_not_shown(client, manager, world, settings):
    store(dashboard_keys(), forge=Decimal("777777"))
    client.force_login(manager)
    later = timezone.now() + dt.timedelta(seconds=settings.REPORT_SNAPSHOT_MAX_AGE + 60)
    with time_machine.travel(later):
        response = client.get("/reports/", week())
    assert response.context["kpis"][0]["value"] == "4,000.00"  # live: cheap period
    assert response.context["snapshot"]["computed_at"] is None
    assert "Computed live just now" in response.content.decode()


def test_cheap_period_without_snapshot_is_computed_live_and_stores_nothing(client, manager, world):
    client.force_login(manager)
    response = client.get("/reports/", week())
    assert response.status_code == 200
    assert response.context["kpis"][0]["value"] == "4,000.00"
    assert not ReportSnapshot.objects.exists() and not ReportJob.objects.exists()


def test_expensive_period_queues_a_job_then_the_page_shows_the_result(
    client, marketer, world, expensive, django_capture_on_commit_callbacks
):
    client.force_login(marketer)
    with django_capture_on_commit_callbacks(execute=True):
        waiting = client.get("/reports/", week(model="linear"))
        job = ReportJob.objects.get()
        assert job.status == ReportJobStatus.PENDING  # the task runs after the response

    assert waiting.status_code == 200
    assert waiting.templates[0].name == "reports/report_job.html"
    body = waiting.content.decode()
    assert f'data-poll-url="/api/v1/reports/jobs/{job.pk}/"' in body
    assert 'role="progressbar"' in body and "0</span> of <span data-job-total>3" in body
    job.refresh_from_db()
    assert (job.status, job.processed, job.total) == (ReportJobStatus.DONE, 3, 3)
    assert (job.origin, job.requested_by) == (ReportJobOrigin.ON_DEMAND, marketer)

    status = client.get(f"/api/v1/reports/jobs/{job.pk}/")
    assert status.status_code == 200
    assert (status.json()["status"], status.json()["percent"]) == ("done", 100)

    shown = client.get("/reports/", week(model="linear"))
    assert shown.templates[0].name == "reports/dashboard.html"
    assert shown.context["snapshot"]["computed_at"] is not None
    assert shown.context["kpis"][0]["value"] == "4,000.00"
    keys = dashboard_keys(model="linear")
    for key in keys:
        assert ReportSnapshot.objects.get(**key.fields).payload == key.compute()
    assert ReportJob.objects.count() == 1


def test_two_people_opening_the_same_expensive_period_share_one_job(
    client, marketer, manager, world, expensive
):
    for user in (marketer, manager):
        client.force_login(user)
        assert client.get("/reports/channel/website/", week()).status_code == 200
    job = ReportJob.objects.get()
    assert job.status == ReportJobStatus.PENDING
    assert [ReportKey.from_json(s) for s in job.reports] == sorted(
        dashboard_keys(channel="website")
    )


def test_failed_job_shows_its_error_and_a_retry(client, manager, world, expensive, monkeypatch):
    def broken(self):
        raise RuntimeError("database went away")

    monkeypatch.setattr(ReportKey, "compute", broken)
    job = snapshots.report_job_request(keys=dashboard_keys(), queue=False)
    assert snapshots.report_job_run(job_id=job.pk).status == ReportJobStatus.FAILED

    client.force_login(manager)
    response = client.get("/reports/", week(job=job.pk))
    body = response.content.decode()
    assert "The report could not be computed." in body and "database went away" in body
    assert not ReportSnapshot.objects.exists()


# --------------------------------------------------------------------------------------
# The managers' refresh button
# --------------------------------------------------------------------------------------


def refresh_form(**extra):
    return {**week(model="first_touch"), **extra}


def test_manager_refresh_recomputes_and_the_page_follows_the_job(client, manager, world):
    store(dashboard_keys(), forge=Decimal("777777"))
    client.force_login(manager)

    response = client.post("/reports/refresh/", refresh_form())

    job = ReportJob.objects.get(origin=ReportJobOrigin.REFRESH)
    assert response.status_code == 302
    assert response["Location"].startswith("/reports/?") and f"job={job.pk}" in response["Location"]
    assert job.requested_by == manager
    following = client.get(response["Location"])
    assert following.templates[0].name == "reports/report_job.html"

    snapshots.report_job_run(job_id=job.pk)
    shown = client.get(response["Location"])
    assert shown.context["kpis"][0]["value"] == "4,000.00"  # the forged figure is replaced
    assert 'href="/reports/?' in shown.content.decode()
    assert "job=" not in "".join(p["url"] for p in shown.context["presets"])


def test_refresh_of_a_channel_page_recomputes_that_channel(client, manager, world):
    client.force_login(manager)
    response = client.post("/reports/refresh/", refresh_form(channel="website"))
    assert response["Location"].startswith("/reports/channel/website/?")
    job = ReportJob.objects.get()
    assert [ReportKey.from_json(s) for s in job.reports] == sorted(
        dashboard_keys(channel="website")
    )


@pytest.mark.parametrize("who", ["marketer", "desk", "sales_manager", "rep"])
def test_only_managers_may_refresh(client, world, who, request):
    client.force_login(request.getfixturevalue(who))
    assert client.post("/reports/refresh/", refresh_form()).status_code == 403
    assert not ReportJob.objects.exists()


def test_refresh_is_a_post_with_a_csrf_token(manager, world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(manager)
    assert browser.get("/reports/refresh/").status_code == 405
    assert browser.post("/reports/refresh/", refresh_form()).status_code == 403
    assert not ReportJob.objects.exists()

    page = browser.get("/reports/", week())
    token = page.context["csrf_token"]
    assert browser.post("/reports/refresh/", {**refresh_form(), "csrfmiddlewaretoken": token})[
        "Location"
    ].startswith("/reports/?")
    assert ReportJob.objects.count() == 1


def test_refresh_button_is_shown_to_managers_only(client, manager, marketer, world):
    client.force_login(marketer)
    assert 'action="/reports/refresh/"' not in client.get("/reports/", week()).content.decode()
    client.force_login(manager)
    assert 'action="/reports/refresh/"' in client.get("/reports/", week()).content.decode()


# --------------------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["channel-roi", "campaign-roi", "funnel"])
def test_api_answers_202_with_a_job_then_the_same_shape_as_live(
    api, manager, world, path, settings, django_capture_on_commit_callbacks
):
    live = api(manager).get(f"/api/v1/reports/{path}/", week())
    assert live.status_code == 200 and "X-Report-Computed-At" not in live
    settings.REPORT_LIVE_MAX_LEADS = 0

    with django_capture_on_commit_callbacks(execute=True):
        accepted = api(manager).get(f"/api/v1/reports/{path}/", week())
    assert accepted.status_code == 202
    body = accepted.json()
    job = ReportJob.objects.get()
    assert body["job"]["id"] == job.pk and body["job"]["status"] == "pending"
    assert body["detail"] and accepted["Location"] == body["job"]["url"]
    assert accepted["Location"].endswith(f"/api/v1/reports/jobs/{job.pk}/")
    assert api(manager).get(accepted["Location"]).json()["status"] == "done"

    stored = api(manager).get(f"/api/v1/reports/{path}/", week())
    assert stored.status_code == 200
    assert stored.json() == live.json()
    assert stored["X-Report-Computed-At"]
    assert ReportSnapshot.objects.count() == 1


def test_api_bad_input_stays_400_and_queues_nothing(api, manager, world, expensive):
    today = timezone.localdate()
    for params in (
        {"from": today.isoformat(), "to": (today - dt.timedelta(days=1)).isoformat()},
        {"model": "w_shaped"},
        {"channel_kind": "telepathy"},
    ):
        response = api(manager).get("/api/v1/reports/channel-roi/", params)
        assert response.status_code == 400, params
        assert response.json()
    assert not ReportJob.objects.exists()


def test_api_refresh_is_for_managers(
    api, manager, marketer, world, django_capture_on_commit_callbacks
):
    payload = {"report": "campaign-roi", **week(model="u_shaped", channel="website")}
    refused = api(marketer).post("/api/v1/reports/jobs/", payload)
    assert refused.status_code == 403 and refused.json()["detail"]
    assert not ReportJob.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        accepted = api(manager).post("/api/v1/reports/jobs/", payload)
    assert accepted.status_code == 202 and accepted.json()["job"]["status"] == "pending"
    job = ReportJob.objects.get()
    assert job.origin == ReportJobOrigin.REFRESH and job.status == ReportJobStatus.DONE
    key = week_key(ReportKind.CAMPAIGN_ROI, model="u_shaped", channel="website")
    assert ReportSnapshot.objects.get(**key.fields).payload == key.compute()

    bad = api(manager).post("/api/v1/reports/jobs/", {**payload, "report": "scorecards"})
    assert bad.status_code == 400 and "report" in bad.json()
    today = timezone.localdate()
    backwards = {**payload, "from": today.isoformat(), "to": "2020-01-01"}
    assert api(manager).post("/api/v1/reports/jobs/", backwards).status_code == 400


def test_job_status_needs_a_report_role_and_an_existing_job(api, rep, manager, world):
    job = snapshots.report_job_request(keys=dashboard_keys(), queue=False)
    assert api(rep).get(f"/api/v1/reports/jobs/{job.pk}/").status_code == 403
    assert api().get(f"/api/v1/reports/jobs/{job.pk}/").status_code == 401
    missing = api(manager).get(f"/api/v1/reports/jobs/{job.pk + 99}/")
    assert missing.status_code == 404 and missing.json()["detail"]
    body = api(manager).get(f"/api/v1/reports/jobs/{job.pk}/").json()
    assert (body["status"], body["processed"], body["total"], body["percent"]) == (
        "pending",
        0,
        3,
        0,
    )


def test_pages_refuse_people_without_a_report_role(client, rep, world, expensive):
    client.force_login(rep)
    assert client.get("/reports/", week()).status_code == 403
    assert client.get("/reports/channel/website/", week()).status_code == 403
    assert not ReportJob.objects.exists()


# --------------------------------------------------------------------------------------
# Claiming (the parallel race itself is in test_snapshot_concurrency, on PostgreSQL)
# --------------------------------------------------------------------------------------


def test_a_running_job_is_not_claimed_again_until_its_heartbeat_is_stale(world, settings):
    job = snapshots.report_job_request(keys=dashboard_keys(), queue=False)
    first = snapshots.report_job_claim(job_id=job.pk)
    assert isinstance(first, uuid.UUID)
    assert snapshots.report_job_claim(job_id=job.pk) is None
    assert snapshots.report_job_run(job_id=job.pk) is None
    assert not ReportSnapshot.objects.exists()

    later = timezone.now() + dt.timedelta(seconds=settings.REPORT_JOB_STALE_SECONDS + 1)
    with time_machine.travel(later):
        done = snapshots.report_job_run(job_id=job.pk)
    assert done.status == ReportJobStatus.DONE and done.run != first
    # The first worker comes back: its progress is refused, so it stops.
    assert not ReportJob.objects.filter(pk=job.pk, run=first).update(processed=1)


def test_one_active_job_per_set_of_reports(world):
    first = snapshots.report_job_request(keys=dashboard_keys(), queue=False)
    again = snapshots.report_job_request(keys=list(reversed(dashboard_keys())), queue=False)
    assert again.pk == first.pk
    snapshots.report_job_run(job_id=first.pk)
    after = snapshots.report_job_request(keys=dashboard_keys(), queue=False)
    assert after.pk != first.pk and ReportJob.objects.count() == 2


def test_the_page_following_a_done_job_shows_its_result_however_short_the_max_age(
    client, manager, world, expensive
):
    expensive.REPORT_SNAPSHOT_MAX_AGE = 0
    client.force_login(manager)
    waiting = client.get("/reports/channel/website/", week())
    job = ReportJob.objects.get()
    assert 'data-done-url="/reports/channel/website/?' in waiting.content.decode()
    assert waiting.context["done_url"].endswith(f"job={job.pk}")
    snapshots.report_job_run(job_id=job.pk)

    shown = client.get(waiting.context["done_url"])

    assert shown.templates[0].name == "reports/channel_detail.html"
    assert shown.context["snapshot"]["computed_at"] is not None
    assert "Computed at" in shown.content.decode()
    assert ReportJob.objects.count() == 1  # no second job
