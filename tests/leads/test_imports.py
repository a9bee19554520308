"""Bulk import: encodings, XLSX, header mapping, row errors, duplicates, re-import,
limits, resuming an interrupted job; and export with formula neutralising."""

from __future__ import annotations

import csv
import datetime as dt
import io
from unittest import mock

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from campaigns.models import CampaignFigures
from leads import imports, lifecycle
from leads.choices import EventKind, Stage
from leads.models import ImportJob, Lead, LeadEvent, LeadTouch
from pipeline.errors import ServiceError
from scoring.models import GradeThresholds
from scoring.services import active_rules, current_thresholds, score_of
from tests.factories import CampaignFactory, lead_in_stage

pytestmark = pytest.mark.django_db

HEADER = ["姓名", "公司", "手机", "邮箱", "职位", "行业", "地区", "签到时间"]
ROWS = [
    ["张伟", "上海电气集团股份有限公司", "13900001001", "zhang@se.cn", "采购总监", "制造业",
     "上海", "2026-05-20 09:30"],
    ["李娜", "苏州精密机械有限公司", "139 0000 1002", "", "工程师", "制造业", "江苏",
     "2026/5/20 10:05"],
    ["Wang Fang", "Acme Robotics Co., Ltd.", "+86 139-0000-1003", "FANG@ACME.COM",
     "Director", "Automotive", "广东", ""],
]  # fmt: skip


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def campaign(marketer):
    return CampaignFactory(name="CIIF 2026", owner=marketer)


def csv_bytes(rows, header=HEADER, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


CONTENT_TYPES = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
LEGAL_BASIS = {"legal_basis": "event_registration", "legal_basis_date": "2026-05-20"}


def upload_file(name: str, content: bytes) -> SimpleUploadedFile:
    """The file as a browser sends it: the content type its extension implies."""
    kind = CONTENT_TYPES.get(name[name.rfind(".") :].lower(), "application/octet-stream")
    return SimpleUploadedFile(name, content, content_type=kind)


def upload(api, user, campaign, content: bytes, name="list.csv", **extra):
    body = {"file": upload_file(name, content), "campaign": campaign.pk, **LEGAL_BASIS, **extra}
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api(user).post("/api/v1/imports/", body, format="multipart")
    return response


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_chinese_excel_encoding(api, marketer, campaign, encoding):
    response = upload(api, marketer, campaign, csv_bytes(ROWS, encoding=encoding))
    assert response.status_code == 201, response.json()
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.total, job.created, job.failed) == ("done", 3, 3, 0)
    zhang = Lead.objects.get(phone="+8613900001001")
    assert zhang.name == "张伟" and zhang.company.name == "上海电气集团股份有限公司"
    assert zhang.company.region == "上海" and zhang.source_campaign == campaign
    touch = zhang.touches.get()
    assert touch.kind == "import" and touch.is_first
    assert timezone.localtime(touch.occurred_at).strftime("%Y-%m-%d %H:%M") == "2026-05-20 09:30"
    assert Lead.objects.get(phone="+8613900001003").email == "fang@acme.com"
    assert zhang.scored_at is not None and zhang.score > 0  # scored in the same job


def test_xlsx_with_numeric_phone_cells(api, desk, campaign):
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Company", "Mobile", "Email", "Title"])
    sheet.append(["Chen Jie", "Beta Ltd", 13900002001, "chen@beta.cn", "CTO"])
    sheet.append(["Zhou Min", "Gamma", 13900002002.0, None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(api, desk, campaign, buffer.getvalue(), name="webinar.xlsx")
    assert response.status_code == 201, response.json()
    job = ImportJob.objects.get()
    assert (job.file_kind, job.status, job.created) == ("xlsx", "done", 2)
    assert Lead.objects.filter(phone__in=["+8613900002001", "+8613900002002"]).count() == 2


def test_row_errors_are_reported_and_valid_rows_kept(api, marketer, campaign):
    rows = [
        *ROWS[:1],
        ["坏号码", "X", "12345", "", "", "", "", ""],
        ["", "NoName Inc", "13900001005", "", "", "", "", ""],
        ["无联系方式", "Y", "", "", "", "", "", ""],
        ["日期怪", "Z", "13900001006", "", "", "", "", "next tuesday"],
        ["", "", "", "", "", "", "", ""],
    ]
    response = upload(api, marketer, campaign, csv_bytes(rows))
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.created, job.failed) == ("done", 1, 4)
    by_row = {e["row"]: e for e in job.errors}
    assert by_row[2]["column"] == "手机" and "12345" in by_row[2]["message"]
    assert by_row[3]["column"] == "姓名"
    assert by_row[4]["column"] == "手机"
    assert by_row[5]["column"] == "签到时间" and "next tuesday" in by_row[5]["message"]
    report = api(marketer).get(f"/api/v1/imports/{job.pk}/errors/")
    assert report.status_code == 200
    text = report.content.decode("utf-8-sig")
    assert next(csv.reader(io.StringIO(text))) == ["row", "column", "message"]
    assert "签到时间" in text


def test_duplicates_become_touches_and_reimport_creates_nothing(api, marketer, campaign, rep):
    existing = lead_in_stage(
        Stage.SQL, owner=rep, name="张伟", phone="+8613900001001", email="zhang@se.cn"
    )
    existing.touches.create(
        kind="manual", occurred_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC), is_first=True
    )
    # The same names (trimmed, full-width as half-width): touches, not conflicts.
    rows = [*ROWS, [" 李娜 ", "", "13900001002", "", "", "", "", ""]]
    first = upload(api, marketer, campaign, csv_bytes(rows))
    job = ImportJob.objects.get(pk=first.json()["id"])
    assert (job.created, job.duplicates) == (2, 2)
    assert LeadTouch.objects.filter(lead=existing, campaign=campaign).count() == 1
    assert existing.events.filter(kind=EventKind.DUPLICATE).count() == 1
    credits = existing.touches.order_by("occurred_at", "id")  # shared anew with the old one
    assert [t.credit_linear for t in credits] == [0.5, 0.5]
    assert [t.credit_last_touch for t in credits] == [0.0, 1.0]
    leads_before = Lead.objects.count()
    touches_before = LeadTouch.objects.count()
    again = upload(api, marketer, campaign, csv_bytes(rows))
    job2 = ImportJob.objects.get(pk=again.json()["id"])
    assert (job2.created, job2.duplicates) == (0, 4)
    assert Lead.objects.count() == leads_before and LeadTouch.objects.count() == touches_before


def test_duplicate_owner_gets_one_email(api, marketer, campaign, rep, mailoutbox):
    lead_in_stage(Stage.SQL, owner=rep, phone="+8613900001001")
    upload(api, marketer, campaign, csv_bytes(ROWS))
    # The owner hears once of their leads that came back; the importer that it finished.
    assert sorted(m.to[0] for m in mailoutbox) == sorted([rep.email, marketer.email])


@pytest.mark.parametrize(
    ("content", "name", "needle"),
    [
        (b"", "empty.csv", "empty"),
        (b"%PDF-1.7 binary\x00\x01", "x.pdf", "Only .csv and .xlsx"),
        (b"MZ\x90\x00\x03", "data.exe", "Only .csv and .xlsx"),
        (b"%PDF-1.7 binary\x00\x01", "x.csv", "not a CSV"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", ".xls"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xlsx", ".xls file"),
        (b"name,phone\n", "list.xlsx", "not a readable XLSX"),
    ],
)
def test_bad_files_are_refused_in_the_request(api, marketer, campaign, content, name, needle):
    response = upload(api, marketer, campaign, content, name=name)
    assert response.status_code == 400, response.content
    assert needle in response.json()["detail"]
    assert "file" in response.json()  # the field is named
    assert ImportJob.objects.count() == 0 and Lead.objects.count() == 0


def test_content_type_must_match_the_extension(api, marketer, campaign):
    body = {
        "file": SimpleUploadedFile("list.csv", csv_bytes(ROWS), content_type="image/png"),
        "campaign": campaign.pk,
        **LEGAL_BASIS,
    }
    response = api(marketer).post("/api/v1/imports/", body, format="multipart")
    assert response.status_code == 400
    assert response.json()["detail"] == "The file is sent as “image/png”, which is not a CSV file."
    assert ImportJob.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "name", "needle"),
    [
        ("公司,城市\nA,B\n".encode(), "nohead.csv", "Required columns are missing"),
        (b"PK\x03\x04garbage", "broken.xlsx", "not a readable XLSX"),
    ],
)
def test_files_refused_by_the_worker_fail_the_job(api, marketer, campaign, content, name,
                                                  needle):  # fmt: skip
    response = upload(api, marketer, campaign, content, name=name)
    assert response.status_code == 201, response.content
    job = ImportJob.objects.get()
    assert job.status == "failed" and needle in job.message
    assert (job.processed, job.created) == (0, 0)
    assert Lead.objects.count() == 0


def test_explicit_mapping_for_unknown_headers(api, marketer, campaign):
    content = csv_bytes([["Sun Li", "13900003001"]], header=["参会人", "联系号码"])
    refused = upload(api, marketer, campaign, content)
    assert refused.status_code == 201  # the worker reads the headers, and refuses them
    failed = ImportJob.objects.get()
    assert failed.status == "failed" and "参会人" in failed.message
    response = upload(api, marketer, campaign, content, mapping='{"0": "name", "1": "phone"}')
    assert response.status_code == 201
    assert Lead.objects.get().phone == "+8613900003001"


def test_oversized_upload_is_refused_before_reading(api, marketer, campaign, settings):
    settings.IMPORT_MAX_BYTES = 1024
    response = upload(api, marketer, campaign, b"a" * 200_000)
    assert response.status_code == 413 and "MB" in response.json()["detail"]
    assert ImportJob.objects.count() == 0


def test_sales_cannot_import(api, rep, campaign):
    response = upload(api, rep, campaign, csv_bytes(ROWS))
    assert response.status_code == 403 and Lead.objects.count() == 0


def test_job_run_twice_has_one_effect(api, marketer, campaign):
    response = upload(api, marketer, campaign, csv_bytes(ROWS))
    assert imports.import_run(job_id=response.json()["id"]) is None
    assert Lead.objects.count() == 3


def test_interrupted_job_resumes_without_duplicates(marketer, campaign, monkeypatch):
    rows = [[f"人{i}", "", f"1390000{4000 + i}", "", "", "", "", ""] for i in range(7)]
    job = imports.import_upload(
        actor=marketer,
        campaign=campaign,
        upload=upload_file("big.csv", csv_bytes(rows)),
        legal_basis="event_registration",
        legal_basis_date=dt.date(2026, 5, 20),
    )  # not run: on_commit callbacks are not executed here
    monkeypatch.setattr(imports, "BATCH_SIZE", 3)
    real = imports._write_batch
    calls = {"n": 0}

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the worker is killed mid-file
        return real(*args, **kwargs)

    with mock.patch.object(imports, "_write_batch", dying), pytest.raises(KeyboardInterrupt):
        imports.import_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed, job.created) == ("running", 3, 3)
    assert imports.import_run(job_id=job.pk) is None  # still owned by the dead worker
    with (
        time_machine.travel(timezone.now() + dt.timedelta(minutes=11)),
        mock.patch("leads.tasks.import_run_task.delay") as queued,
    ):
        assert imports.requeue_stale_imports() == 1  # the sweep hands it to a live worker
        queued.assert_called_once_with(job.pk)
        imports.import_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed, job.created, job.duplicates) == ("done", 7, 7, 0)
    assert Lead.objects.count() == 7


def test_bulk_path_writes_scored_leads_with_touch_credits_and_events(api, marketer, campaign):
    rows = [*ROWS, ["周杰", "", "13900001009", "", "", "", "", ""]]
    rows[0] = [*rows[0][:4], "采购总监\t(华东)\\区", *rows[0][5:]]  # COPY escapes
    with mock.patch.object(imports, "_write_batch_slowly", side_effect=AssertionError("slow")):
        response = upload(api, marketer, campaign, csv_bytes(rows))
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.created, job.failed) == ("done", 4, 0)
    rules, thresholds = active_rules(), current_thresholds()
    for lead in Lead.objects.select_related("company", "source_campaign__channel"):
        expected = score_of(lead, rules=rules, thresholds=thresholds)
        assert (lead.score, lead.grade, lead.score_detail) == (
            expected.score,
            expected.grade,
            expected.detail,
        )
        assert lead.grade_source == "rule" and lead.scored_at and lead.updated_at
        assert lead.created_by == marketer and lead.stage == Stage.NEW
        touch = lead.touches.get()
        assert touch.is_first and touch.credit_first_touch == touch.credit_u_shaped == 1.0
        created = lead.events.get()
        assert created.kind == EventKind.CREATED and created.actor == marketer
        assert created.data == {
            "campaign": campaign.pk,
            "import": job.pk,
            "touch_kind": "import",
            "legal_basis": "event_registration",
            "legal_basis_note": "",
            "legal_basis_date": "2026-05-20",
        }
    # The backslash survives COPY; the tab, a control character, is a space in a one-line
    # field (leads.lifecycle.fields.clean_text), as on every other path.
    assert Lead.objects.get(phone="+8613900001001").title == "采购总监 (华东)\\区"


def test_batch_racing_a_capture_is_redone_row_by_row(api, marketer, campaign, monkeypatch):
    """A person captured after the batch looked for duplicates: the bulk insert hits the
    unique index, and the batch is redone one lead at a time, with no duplicate lead."""
    captured = lead_in_stage(Stage.NEW, name="李娜", phone="+8613900001002", email="")
    monkeypatch.setattr(imports, "_open_leads", lambda phones, emails: {})
    response = upload(api, marketer, campaign, csv_bytes(ROWS))
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.created, job.duplicates, job.failed) == ("done", 2, 1, 0)
    assert Lead.objects.filter(phone="+8613900001002").get() == captured
    assert captured.touches.filter(campaign=campaign).count() == 1
    assert Lead.objects.count() == 3


def test_imported_leads_qualify_automatically_when_set(api, marketer, campaign):
    GradeThresholds.objects.filter(pk=1).update(auto_qualify=True, auto_qualify_score=0)
    upload(api, marketer, campaign, csv_bytes(ROWS))
    assert set(Lead.objects.values_list("stage", flat=True)) == {Stage.MQL}
    assert all(lead.mql_at for lead in Lead.objects.all())
    # Set-based, but as the lifecycle service qualifies one lead: one event each, by the
    # system, with the rule grade kept; the campaign's MQL figure follows.
    for lead in Lead.objects.all():
        (event,) = lead.events.filter(kind=EventKind.QUALIFIED)
        assert (event.actor_id, event.from_stage, event.to_stage) == (None, "new", "mql")
        assert event.at == lead.mql_at and lead.grade_source == "rule"
        assert event.data == {
            "grade": lead.grade,
            "previous_grade": lead.grade,
            "grade_source": "rule",
        }
    assert CampaignFigures.objects.get(campaign=campaign).mqls == Lead.objects.count()


def _new_graded_leads(n: int) -> list[int]:
    ids = [lead_in_stage(Stage.NEW, phone=f"+86139000{n:02d}{i:03d}").pk for i in range(n)]
    Lead.objects.filter(pk__in=ids).update(grade="B", grade_source="rule")
    return ids


def test_set_qualification_takes_the_same_statements_for_more_leads():
    """An import batch's auto-qualification is set-based: its statements do not grow with
    the batch (it took a lock, an update and an event per lead, and the lead table's
    statement triggers ran per lead: a 5,000-row batch did not finish in minutes)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for n in (2, 6):
        ids = _new_graded_leads(n)
        with CaptureQueriesContext(connection) as queries:
            assert sorted(lifecycle.leads_qualify_automatically(ids)) == sorted(ids)
        counts.append(len(queries))
        assert set(Lead.objects.filter(pk__in=ids).values_list("stage", flat=True)) == {"mql"}
    assert counts[0] == counts[1]


def test_set_qualification_refuses_a_lead_past_new_like_one_lead():
    ids = _new_graded_leads(2)
    Lead.objects.filter(pk=ids[1]).update(stage=Stage.DISQUALIFIED)
    with pytest.raises(ServiceError) as refused:
        lifecycle.leads_qualify_automatically(ids)
    assert refused.value.code == "wrong_stage"
    assert Lead.objects.get(pk=ids[0]).stage == Stage.NEW  # nothing written
    assert not LeadEvent.objects.filter(lead_id__in=ids, kind=EventKind.QUALIFIED).exists()


def test_export_csv_neutralises_formulas_and_masks_pool(api, desk, rep):
    lead_in_stage(Stage.NEW, name='=HYPERLINK("http://evil")', phone="+8613900005001")
    pooled = lead_in_stage(Stage.MQL, in_pool=True, phone="+8613900005002", name="@pool")
    response = api(desk).get("/api/v1/leads/export/?file_format=csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    names = {row[1] for row in rows[1:]}
    assert '\'=HYPERLINK("http://evil")' in names and "'@pool" in names
    phones = {row[4] for row in rows[1:]}
    assert "'+8613900005001" in phones
    rep_rows = list(csv.reader(io.StringIO(
        b"".join(api(rep).get("/api/v1/leads/export/").streaming_content)
        .decode("utf-8").lstrip("\ufeff")
    )))  # fmt: skip
    assert [row[4] for row in rep_rows[1:] if row[0] == str(pooled.pk)] == ["'+86139****5002"]


def test_export_xlsx_keeps_formulas_as_text(api, desk):
    lead_in_stage(Stage.NEW, name="=1+1", phone="+8613900006001")
    response = api(desk).get("/api/v1/leads/export/?file_format=xlsx&stage=new")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    cell = book.active["B2"]
    assert cell.value == "=1+1" and cell.data_type == "s"


def test_export_bad_format_is_400(api, desk):
    assert api(desk).get("/api/v1/leads/export/?file_format=pdf").status_code == 400


def test_staging_cleanup_removes_only_old_files(settings, tmp_path):
    import os

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    default_storage.save("imports/staging/old.csv", ContentFile(b"a"))
    default_storage.save("imports/staging/new.csv", ContentFile(b"b"))
    two_days_ago = (timezone.now() - dt.timedelta(days=2)).timestamp()
    os.utime(default_storage.path("imports/staging/old.csv"), (two_days_ago, two_days_ago))
    assert imports.staging_cleanup() == 1
    assert default_storage.exists("imports/staging/new.csv")
    assert not default_storage.exists("imports/staging/old.csv")


def test_export_xlsx_drops_control_characters(api, desk):
    lead_in_stage(Stage.NEW, name="Bad\x0bName\x1f", phone="+8613900006002")
    response = api(desk).get("/api/v1/leads/export/?file_format=xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert book.active["B2"].value == "BadName"
