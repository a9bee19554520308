"""Lead exports above ``EXPORT_SYNC_MAX_ROWS`` run as a job on the bulk queue (issue #17
item 9): 202 / the job's page, a stored file with the same rows the request would have
written (scope and masking included), a notification with a link only the requester
can open, expiry, and clear errors for bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.choices import Stage
from leads.exports import export_cleanup
from leads.models import ExportJob
from notifications.models import Notification
from tests.factories import CampaignFactory, lead_in_stage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EXPORT_SYNC_MAX_ROWS = 2
    settings.EXPORT_FILE_DAYS = 7


@pytest.fixture
def world(desk, rep, other_rep, outsider_rep):
    leads = [lead_in_stage(Stage.SQL, owner=rep, desk=desk, score=s) for s in (30, 90, 60)]
    leads.append(lead_in_stage(Stage.MQL, desk=desk, in_pool=True, wechat="wxid_secret"))
    leads.append(lead_in_stage(Stage.SQL, owner=outsider_rep, desk=desk))
    return leads


def _body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def _sync(client, url: str, settings) -> bytes:
    settings.EXPORT_SYNC_MAX_ROWS = 1000
    try:
        response = client.get(url)
        assert response.status_code == 200
        return _body(response)
    finally:
        settings.EXPORT_SYNC_MAX_ROWS = 2


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_page_export_above_the_cap_is_a_job_with_the_same_file(
    client, rep, world, settings, django_capture_on_commit_callbacks, file_format
):
    client.force_login(rep)
    url = f"{reverse('export-leads')}?file_format={file_format}&sort=-score"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(url)
    job = ExportJob.objects.get(requested_by=rep)
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:export-job", args=[job.pk])
    assert (job.status, job.total, job.processed, job.file_format) == ("done", 4, 4, file_format)
    assert job.expires_at > timezone.now() + dt.timedelta(days=6)
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert reverse("leads:export-download", args=[job.pk]) in page.content.decode()
    download = client.get(reverse("leads:export-download", args=[job.pk]))
    assert download.status_code == 200
    stored = _body(download)
    expected = _sync(client, url, settings)
    if file_format == "csv":
        assert stored == expected
        text = stored.decode("utf-8-sig")
        assert "wxid_secret" not in text and "w***" in text  # pooled contact masked
    else:
        from io import BytesIO

        from openpyxl import load_workbook

        def cells(data):
            sheet = load_workbook(BytesIO(data), read_only=True).active
            return [list(row) for row in sheet.iter_rows(values_only=True)]

        assert cells(stored) == cells(expected)
    note = Notification.objects.get(user=rep, event="export_ready")
    assert note.url == reverse("leads:export-job", args=[job.pk])


def test_only_the_requester_opens_the_job_and_its_file(
    client, api, rep, other_rep, manager, world, django_capture_on_commit_callbacks
):
    client.force_login(rep)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(reverse("export-leads"))
    job = ExportJob.objects.get(requested_by=rep)
    for someone in (other_rep, manager):
        client.force_login(someone)
        assert client.get(reverse("leads:export-job", args=[job.pk])).status_code == 404
        assert client.get(reverse("leads:export-download", args=[job.pk])).status_code == 404
        answer = api(someone).get(f"/api/v1/lead-exports/{job.pk}/download/")
        assert answer.status_code == 404
        assert api(someone).get(f"/api/v1/lead-exports/{job.pk}/").status_code == 404
    assert api(rep).get(f"/api/v1/lead-exports/{job.pk}/download/").status_code == 200


def test_api_answers_202_and_the_job_file_matches_the_sync_export(
    api, manager, world, settings, django_capture_on_commit_callbacks
):
    client = api(manager)
    url = "/api/v1/leads/export/?file_format=csv&ordering=score"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(url)
    assert response.status_code == 202
    data = response.json()
    assert data["status"] == "pending" and data["url"].endswith(f"/lead-exports/{data['id']}/")
    followed = client.get(data["url"]).json()
    assert followed["status"] == "done" and followed["total"] == 5
    download = client.get(followed["download_url"])
    assert download.status_code == 200
    stored = _body(download).decode("utf-8-sig")
    assert stored.encode() == _sync(client, url, settings).decode("utf-8-sig").encode()
    scores = [line.split(",")[11] for line in stored.splitlines()[1:]]
    assert scores == sorted(scores, key=int)  # the API's ?ordering=score


def test_expired_exports_are_refused_and_cleaned_up(
    client, api, rep, world, django_capture_on_commit_callbacks
):
    client.force_login(rep)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(reverse("export-leads"))
    job = ExportJob.objects.get(requested_by=rep)
    path = job.file.path
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - dt.timedelta(1))
    response = client.get(reverse("leads:export-download", args=[job.pk]), follow=True)
    assert "expired" in response.content.decode()
    answer = api(rep).get(f"/api/v1/lead-exports/{job.pk}/download/")
    assert answer.status_code == 410 and "expired" in answer.json()["detail"]
    assert export_cleanup() == 1
    job.refresh_from_db()
    assert not job.file
    import os

    assert not os.path.exists(path)


def test_bad_input_gets_a_clear_error(client, api, rep, world):
    other = CampaignFactory(name="Not theirs")
    client.force_login(rep)
    response = client.get(reverse("export-leads") + "?file_format=pdf")
    assert response.status_code == 400 and b"csv or xlsx" in response.content
    response = client.get(reverse("export-leads") + f"?campaign={other.pk}")
    assert response.status_code == 400 and b"campaign" in response.content
    answer = api(rep).get("/api/v1/leads/export/?file_format=pdf")
    assert answer.status_code == 400 and "file_format" in answer.json()
    assert api(rep).get(f"/api/v1/leads/export/?campaign={other.pk}").status_code == 400
    assert not ExportJob.objects.exists()


def test_a_small_export_stays_in_the_request(client, rep, desk, settings):
    settings.EXPORT_SYNC_MAX_ROWS = 2
    lead_in_stage(Stage.SQL, owner=rep, desk=desk)
    client.force_login(rep)
    response = client.get(reverse("export-leads"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert not ExportJob.objects.exists()
