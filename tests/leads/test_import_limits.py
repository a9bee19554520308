"""Import uploads: only stored in the request, read by a worker within limits (issue #13).

Each test checks the answer and what the database (and the media folder) holds.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc
import zipfile
from unittest import mock

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import StopUpload
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import Workbook

from leads import imports
from leads.api.imports import ImportCreateSerializer
from leads.choices import IMPORT_TOUCH_KINDS, EventKind
from leads.imports import ImportUploadHandler, size_refusal
from leads.models import ImportJob, Lead, LeadEvent
from leads.views.imports import UploadForm
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["姓名", "手机"]
LEGAL_BASIS = {"legal_basis": "booth_consent", "legal_basis_date": "2026-05-20"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def campaign(marketer):
    return CampaignFactory(name="CIIF 2026", owner=marketer)


def stored_files(tmp_path) -> list:
    return [path for path in (tmp_path / "imports").rglob("*") if path.is_file()]


def csv_bytes(rows=(("张伟", "13900001001"), ("李娜", "13900001002"))) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def xlsx_bytes(rows=(("张伟", "13900001001"),)) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def shared_strings_bomb(unpacked_mb: int = 24) -> bytes:
    """A valid-looking XLSX whose shared-string table unpacks to ``unpacked_mb`` MB of
    repeated text, compressed to a few dozen KB (the shape of the file of issue #13)."""
    item = b"<si><t>" + b"x" * 1000 + b"</t></si>"
    count = unpacked_mb * 1024 * 1024 // len(item)
    table = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        + f'count="{count}" uniqueCount="{count}">'.encode()
        + item * count
        + b"</sst>"
    )
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for part in source.infolist():
            if part.filename == "xl/sharedStrings.xml":
                continue
            bomb.writestr(part.filename, source.read(part.filename))
        bomb.writestr("xl/sharedStrings.xml", table)
    return out.getvalue()


def api_upload(api, user, campaign, content, name="list.csv", content_type="text/csv", **extra):
    body = {
        "file": SimpleUploadedFile(name, content, content_type=content_type),
        "campaign": campaign.pk,
        **LEGAL_BASIS,
        **extra,
    }
    return api(user).post("/api/v1/imports/", body, format="multipart")


# --------------------------------------------------------------------------------------
# 1. XLSX bombs: stored in the request, refused by the worker before openpyxl opens them
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (
            {"IMPORT_XLSX_MAX_SHARED_STRINGS_MB": 5, "IMPORT_XLSX_MAX_RATIO": 100_000},
            "This workbook's table of texts (shared strings) unpacks to 24 MB; the limit is "
            "5 MB. Save it as CSV or split it into smaller files.",
        ),
        (
            {"IMPORT_XLSX_MAX_UNPACKED_MB": 10, "IMPORT_XLSX_MAX_RATIO": 100_000},
            "This workbook unpacks to 24 MB; the limit is 10 MB. "
            "Save it as CSV or split it into smaller files.",
        ),
        ({}, "xl/sharedStrings.xml unpacks"),  # the default ratio limit catches it first
    ],
)
def test_xlsx_bomb_is_stored_quickly_and_refused_by_the_worker_in_bounded_memory(
    api, marketer, campaign, settings, tmp_path, limits, message
):
    for name, value in limits.items():
        setattr(settings, name, value)
    bomb = shared_strings_bomb()
    assert len(bomb) < 200 * 1024  # a small file ...
    opened = mock.Mock(side_effect=openpyxl.load_workbook)

    with mock.patch("openpyxl.load_workbook", opened):
        tracemalloc.start()
        try:
            response = api_upload(
                api, marketer, campaign, bomb, name="expo.xlsx", content_type=XLSX
            )
            _current, request_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # The request stored the file and answered with the pending job; nothing parsed it
        # (measured in memory, not seconds: the request with the test client's and first
        # imports' allocations stays well under the 24 MB the table unpacks to).
        assert response.status_code == 201, response.content
        assert request_peak < 16 * 1024 * 1024
        assert response.json()["status"] == "pending" and response.json()["headers"] == []
        assert opened.call_count == 0
        job = ImportJob.objects.get()
        assert (job.file_kind, job.status) == ("xlsx", "pending")
        assert len(stored_files(tmp_path)) == 1

        tracemalloc.start()
        try:
            assert imports.import_run(job_id=job.pk) is None
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert opened.call_count == 0  # ... never opened by openpyxl
    assert peak < 4 * 1024 * 1024  # ... whose 24 MB table was never unpacked
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert message in job.message
    assert (job.processed, job.created, job.headers) == (0, 0, [])
    assert not Lead.objects.exists()
    detail = api(marketer).get(f"/api/v1/imports/{job.pk}/").json()
    assert detail["status"] == "failed" and message in detail["message"]


def test_page_upload_of_an_xlsx_bomb_is_refused_at_the_mapping_step(
    client, marketer, campaign, settings, tmp_path
):
    settings.IMPORT_XLSX_MAX_SHARED_STRINGS_MB = 5
    settings.IMPORT_XLSX_MAX_RATIO = 100_000
    client.force_login(marketer)
    data = {
        "campaign": campaign.pk,
        "touch_kind": "event_checkin",
        "file": SimpleUploadedFile("expo.xlsx", shared_strings_bomb(), content_type=XLSX),
        **LEGAL_BASIS,
    }
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(reverse("imports:new"), data)
    assert response.status_code == 302
    assert ImportJob.objects.get().status == "failed"

    page = client.get(response["Location"], follow=True)

    assert "table of texts (shared strings) unpacks to 24 MB" in page.content.decode()
    assert not ImportJob.objects.exists() and stored_files(tmp_path) == []
    assert not Lead.objects.exists()


def test_sheet_over_the_cell_limit_fails_the_job(api, marketer, campaign, settings):
    settings.IMPORT_XLSX_MAX_CELLS = 5
    content = xlsx_bytes(rows=[("张伟", "13900001001"), ("李娜", "13900001002")])  # 3 × 2
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_upload(api, marketer, campaign, content, name="list.xlsx", content_type=XLSX)
    assert response.status_code == 201
    job = ImportJob.objects.get()
    assert job.status == "failed"
    assert job.message == (
        "The sheet has more than 5 cells (6 or more); split it into smaller files."
    )
    assert not Lead.objects.exists()


def test_normal_xlsx_still_imports(api, marketer, campaign):
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_upload(
            api, marketer, campaign, xlsx_bytes(), name="list.xlsx", content_type=XLSX
        )
    assert response.status_code == 201
    job = ImportJob.objects.get()
    assert (job.status, job.created, job.headers) == ("done", 1, HEADER)
    assert Lead.objects.get().phone == "+8613900001001"


# --------------------------------------------------------------------------------------
# 2. Sizes, extensions, content types, stored names
# --------------------------------------------------------------------------------------


def test_file_just_over_the_limit_names_both_sizes(api, marketer, campaign, settings, tmp_path):
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    content = csv_bytes() + b"#" * (1024 * 1024 + 20 * 1024 - len(csv_bytes()))

    response = api_upload(api, marketer, campaign, content)

    assert response.status_code == 413
    assert response.json()["detail"] == (
        "The file is 1.02 MB; the limit is 1 MB. Split it into smaller files."
    )
    assert response.json()["file"] == [response.json()["detail"]]
    assert not ImportJob.objects.exists() and stored_files(tmp_path) == []


def test_size_message_is_in_the_users_language(settings):
    settings.IMPORT_MAX_BYTES = 50 * 1024 * 1024
    with translation.override("zh-hans"):
        message = size_refusal(50 * 1024 * 1024 + 20 * 1024).message
    assert "50.02" in message and "50 MB" in message
    assert "文件" in message


def test_upload_without_a_length_is_cut_at_the_limit_while_streaming(
    client, marketer, campaign, settings, tmp_path
):
    settings.IMPORT_MAX_BYTES = 1024
    client.force_login(marketer)
    huge = csv_bytes() + b"#" * (300 * 1024)
    data = {
        "campaign": campaign.pk,
        "touch_kind": "import",
        "file": SimpleUploadedFile("list.csv", huge, content_type="text/csv"),
        **LEGAL_BASIS,
    }
    # As with a chunked upload: no Content-Length to refuse it by; the handler must cut it.
    with mock.patch("leads.views.imports.check_request_length"):
        response = client.post(reverse("imports:new"), data)

    assert response.status_code == 413
    assert "The file is larger than" in response.content.decode()
    assert not ImportJob.objects.exists() and stored_files(tmp_path) == []


def test_upload_handler_writes_no_byte_past_the_limit(settings):
    settings.IMPORT_MAX_BYTES = 1000
    handler = ImportUploadHandler()
    handler.new_file("file", "list.csv", "text/csv", None)
    chunk = b"x" * 600
    handler.receive_data_chunk(chunk, 0)
    handler.receive_data_chunk(chunk, 600)  # over the limit: counted, not written
    assert handler.file.tell() == 600
    with pytest.raises(StopUpload):
        for start in range(1200, 200_000, 600):
            handler.receive_data_chunk(chunk, start)
    assert handler.received <= 1000 + imports.UPLOAD_SLACK_BYTES + 600
    assert handler.cut and handler.file.closed
    with pytest.raises(imports.ServiceError) as refused:
        handler.check()
    assert refused.value.code == "too_large"


@pytest.mark.parametrize(
    ("name", "content_type", "message"),
    [
        ("data.exe", "application/octet-stream", "Only .csv and .xlsx files can be imported"),
        ("list.csv.exe", "text/csv", "Only .csv and .xlsx files can be imported"),
        ("noextension", "text/csv", "Only .csv and .xlsx files can be imported"),
        ("list.csv", "application/x-msdownload", "which is not a CSV file"),
        ("list.xlsx", "text/csv", "which is not a XLSX file"),
    ],
)
def test_unknown_extensions_and_content_types_are_refused(
    api, marketer, campaign, tmp_path, name, content_type, message
):
    response = api_upload(
        api, marketer, campaign, csv_bytes(), name=name, content_type=content_type
    )
    assert response.status_code == 400
    assert message in response.json()["detail"] and "file" in response.json()
    assert not ImportJob.objects.exists() and stored_files(tmp_path) == []


def test_stored_name_is_generated_with_the_checked_extension(api, marketer, campaign):
    response = api_upload(api, marketer, campaign, csv_bytes(), name="../../Evil Name.CSV")
    assert response.status_code == 201
    job = ImportJob.objects.get()
    assert job.original_name == "Evil Name.CSV"
    assert job.file.name.startswith("imports/") and job.file.name.endswith(".csv")
    assert "Evil" not in job.file.name and ".." not in job.file.name
    assert (job.status, job.headers) == ("pending", [])  # stored, not read: the worker reads it


# --------------------------------------------------------------------------------------
# 3. One list of touch kinds for the page and the API
# --------------------------------------------------------------------------------------


def test_page_and_api_offer_the_same_touch_kinds(marketer):
    page = [value for value, _label in UploadForm(user=marketer).fields["touch_kind"].choices]
    api_choices = list(ImportCreateSerializer().fields["touch_kind"].choices)
    assert page == api_choices == [kind.value for kind in IMPORT_TOUCH_KINDS]


@pytest.mark.parametrize("kind", ["form", "manual", "api"])
def test_api_refuses_a_touch_kind_the_page_does_not_offer(api, marketer, campaign, tmp_path,
                                                          kind):  # fmt: skip
    response = api_upload(api, marketer, campaign, csv_bytes(), touch_kind=kind)
    assert response.status_code == 400
    assert "touch_kind" in response.json() and response.json()["detail"].startswith("touch_kind")
    assert not ImportJob.objects.exists() and stored_files(tmp_path) == []


def test_service_refuses_a_touch_kind_outside_the_list(marketer, campaign):
    with pytest.raises(imports.ServiceError) as refused:
        imports.import_upload(
            actor=marketer,
            campaign=campaign,
            upload=SimpleUploadedFile("list.csv", csv_bytes(), content_type="text/csv"),
            touch_kind="form",
            legal_basis="booth_consent",
            legal_basis_date=dt.date(2026, 5, 20),
        )
    assert refused.value.field == "touch_kind"
    assert not ImportJob.objects.exists()


# --------------------------------------------------------------------------------------
# 4. The legal basis (PIPL)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"legal_basis_date": "2026-05-20"}, "legal_basis", "legal basis"),
        ({"legal_basis": "other", "legal_basis_date": "2026-05-20"}, "legal_basis_note",
         "Explain the legal basis"),
        ({"legal_basis": "booth_consent"}, "legal_basis_date", "Give the date"),
        ({"legal_basis": "booth_consent", "legal_basis_date": "2999-01-01"}, "legal_basis_date",
         "cannot be in the future"),
    ],
)  # fmt: skip
def test_api_requires_the_legal_basis(api, marketer, campaign, tmp_path, body, field, message):
    response = api(marketer).post(
        "/api/v1/imports/",
        {
            "file": SimpleUploadedFile("list.csv", csv_bytes(), content_type="text/csv"),
            "campaign": campaign.pk,
            **body,
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert field in response.json() and message in response.json()["detail"]
    assert not ImportJob.objects.exists() and stored_files(tmp_path) == []


def test_legal_basis_is_stored_shown_and_recorded_on_each_created_lead(
    api, client, marketer, campaign
):
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_upload(
            api, marketer, campaign, csv_bytes(), legal_basis_note="CIIF booth, paper forms"
        )
    assert response.status_code == 201
    body = response.json()
    assert (body["legal_basis"], body["legal_basis_date"]) == ("booth_consent", "2026-05-20")
    job = ImportJob.objects.get()
    assert (job.status, job.created) == ("done", 2)
    assert job.legal_basis_note == "CIIF booth, paper forms"
    events = LeadEvent.objects.filter(kind=EventKind.CREATED)
    assert events.count() == 2
    for event in events:
        assert event.data["legal_basis"] == "booth_consent"
        assert event.data["legal_basis_date"] == "2026-05-20"
        assert event.data["legal_basis_note"] == "CIIF booth, paper forms"

    client.force_login(marketer)
    html = client.get(reverse("imports:detail", args=[job.pk])).content.decode()
    assert "Consent collected at a booth" in html and "2026-05-20" in html
    assert "CIIF booth, paper forms" in html


def test_upload_page_requires_the_legal_basis(client, marketer, campaign, tmp_path):
    client.force_login(marketer)
    page = client.get(reverse("imports:new"))
    assert page.context["form"]["legal_basis_date"].value() == timezone.localdate()
    data = {
        "campaign": campaign.pk,
        "touch_kind": "import",
        "file": SimpleUploadedFile("list.csv", csv_bytes(), content_type="text/csv"),
        "legal_basis": "other",
        "legal_basis_date": "2026-05-20",
    }
    response = client.post(reverse("imports:new"), data)
    assert response.status_code == 400
    assert response.context["form"].errors["legal_basis_note"] == [
        "Explain the legal basis in the note when it is “other”."
    ]
    assert not ImportJob.objects.exists() and stored_files(tmp_path) == []


# --------------------------------------------------------------------------------------
# Uploads waiting for their mapping: swept, re-read, not listed
# --------------------------------------------------------------------------------------


def _waiting_upload(client, campaign) -> ImportJob:
    data = {
        "campaign": campaign.pk,
        "touch_kind": "import",
        "file": SimpleUploadedFile("list.csv", csv_bytes(), content_type="text/csv"),
        **LEGAL_BASIS,
    }
    assert client.post(reverse("imports:new"), data).status_code == 302  # inspection not run
    return ImportJob.objects.get(awaiting_mapping=True)


def test_unread_upload_is_read_again_by_the_sweep_and_never_run(
    client, marketer, campaign, settings
):
    client.force_login(marketer)
    job = _waiting_upload(client, campaign)
    ImportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - dt.timedelta(seconds=settings.IMPORT_STALE_SECONDS + 60)
    )
    with mock.patch("leads.imports.enqueue", return_value=True) as enqueue:
        assert imports.requeue_stale_imports() == 1
    enqueue.assert_called_once_with("leads.tasks.import_inspect_task", job.pk)
    assert imports.import_run(job_id=job.pk) is None  # not claimed before the mapping
    job.refresh_from_db()
    assert (job.status, job.processed) == ("pending", 0)
    assert not Lead.objects.exists()


def test_abandoned_uploads_are_swept_and_not_listed(client, marketer, campaign, tmp_path):
    client.force_login(marketer)
    job = _waiting_upload(client, campaign)
    assert job not in [row[0] for row in client.get(reverse("imports:list")).context["rows"]]
    assert imports.staging_cleanup() == 0  # a fresh one stays
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - dt.timedelta(days=2))

    assert imports.staging_cleanup() == 1

    assert not ImportJob.objects.exists() and stored_files(tmp_path) == []


def test_a_marketer_cannot_import_into_another_marketers_campaign(api, marketer, tmp_path):
    theirs = CampaignFactory(name="Someone else's show")
    response = api_upload(api, marketer, theirs, csv_bytes())
    assert response.status_code == 403
    assert "campaign" in response.json()
    assert not ImportJob.objects.exists() and not Lead.objects.exists()
    assert stored_files(tmp_path) == []


def test_a_job_whose_file_is_gone_fails_with_a_message_and_is_not_left_running(
    api, marketer, campaign, tmp_path
):
    """A worker that cannot read the stored upload (deleted, or another MEDIA_ROOT) fails the
    job with the reason; it used to stay "running" for ever with no message."""
    response = api_upload(
        api, marketer, campaign, xlsx_bytes(), name="expo.xlsx", content_type=XLSX
    )
    assert response.status_code == 201, response.content
    job = ImportJob.objects.get()
    assert job.headers == [] and job.status == "pending"
    for path in stored_files(tmp_path):
        path.unlink()

    with pytest.raises(FileNotFoundError):
        imports.import_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert "Nothing was imported" in job.message and "No such file" in job.message
    assert not Lead.objects.exists()
