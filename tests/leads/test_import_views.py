"""Import pages (upload → column mapping → job page) and the lead list export link.

Each test checks what the page shows *and* what the database (and media folder) holds.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from leads.models import ImportJob, Lead
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db

HEADER = ["姓名", "公司", "手机", "邮箱", "职位", "签到时间"]
ROWS = [
    ["张伟", "上海电气集团股份有限公司", "13900001001", "zhang@se.cn", "采购总监",
     "2026-05-20 09:30"],
    ["李娜", "苏州精密机械有限公司", "139 0000 1002", "", "工程师", "2026/5/20 10:05"],
    ["坏行", "某公司", "12", "", "", ""],
]  # fmt: skip


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def campaign(marketer):
    return CampaignFactory(name="CIIF 2026", owner=marketer)


def csv_bytes(rows=ROWS, header=HEADER, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows=ROWS, header=HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


CONTENT_TYPES = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
LEGAL_BASIS = {"legal_basis": "event_registration", "legal_basis_date": "2026-05-20"}


def upload(client, campaign, content: bytes, name="list.csv", touch_kind="event_checkin",
           **extra):  # fmt: skip
    """Post the upload form; the worker's reading of the headers runs on commit."""
    kind = CONTENT_TYPES.get(name[name.rfind(".") :].lower(), "application/octet-stream")
    data = {
        "campaign": campaign.pk,
        "touch_kind": touch_kind,
        "file": SimpleUploadedFile(name, content, content_type=kind),
        **LEGAL_BASIS,
        **extra,
    }
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(reverse("imports:new"), data)


def confirm(client, mapping_url, mapping: dict[int, str]):
    data = {f"col_{index}": field for index, field in mapping.items()}
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(mapping_url, data)


def stored_files(tmp_path) -> list:
    return [path for path in (tmp_path / "imports").rglob("*") if path.is_file()]


# --------------------------------------------------------------------------------------
# Upload → mapping → job
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "encoding_shown"),
    [
        (csv_bytes(encoding="gbk"), "签到名单.csv", "GBK / GB18030"),
        (csv_bytes(encoding="utf-8-sig"), "list.csv", "UTF-8 with BOM"),
        (xlsx_bytes(), "list.xlsx", None),
    ],
)
def test_upload_map_confirm_runs_the_job(
    client, marketer, campaign, tmp_path, content, name, encoding_shown
):
    client.force_login(marketer)
    response = upload(client, campaign, content, name=name)
    assert response.status_code == 302
    mapping_url = response["Location"]
    waiting = ImportJob.objects.get()  # stored, read by the worker, not run before the mapping
    assert mapping_url == reverse("imports:mapping", args=[waiting.pk])
    assert (waiting.status, waiting.awaiting_mapping, waiting.created) == ("pending", True, 0)
    assert waiting.headers == HEADER
    kind = name.rsplit(".", 1)[1]
    assert re.fullmatch(rf"imports/\d{{4}}/\d{{2}}/[0-9a-f]{{32}}\.{kind}", waiting.file.name)
    assert len(stored_files(tmp_path)) == 1
    assert not Lead.objects.exists()

    page = client.get(mapping_url)
    assert page.status_code == 200
    html = page.content.decode()
    form = page.context["form"]
    # Chinese headers are recognised and pre-selected.
    assert {name: form[f"col_{i}"].value() for i, name in enumerate(HEADER)} == {
        "姓名": "name",
        "公司": "company_name",
        "手机": "phone",
        "邮箱": "email",
        "职位": "title",
        "签到时间": "touched_at",
    }
    assert "上海电气集团股份有限公司" in html  # sample rows
    if encoding_shown:
        assert encoding_shown in html

    response = confirm(client, mapping_url, dict(enumerate(
        ["name", "company_name", "phone", "email", "title", "touched_at"]
    )))  # fmt: skip

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:detail", args=[job.pk])
    assert (job.status, job.total, job.created, job.duplicates, job.failed) == ("done", 3, 2, 0, 1)
    assert job.touch_kind == "event_checkin"
    assert job.original_name == name
    assert set(Lead.objects.values_list("phone", flat=True)) == {"+8613900001001", "+8613900001002"}
    assert job.awaiting_mapping is False
    assert (job.legal_basis, str(job.legal_basis_date)) == ("event_registration", "2026-05-20")

    detail = client.get(response["Location"])
    html = detail.content.decode()
    assert detail.context["finished"] is True
    assert detail.context["errors"][0]["row"] == 3
    assert reverse("import-errors-csv", args=[job.pk]) in html
    assert "Download error report (CSV)" in html
    assert 'data-poll-url="/api/v1/imports/' in html
    assert "imports.js" in html


def test_unknown_headers_are_mapped_by_hand(client, marketer, campaign):
    client.force_login(marketer)
    content = csv_bytes(rows=[["Zhao", "zhao@x.cn"]], header=["参会人", "Contact mail"])
    mapping_url = upload(client, campaign, content)["Location"]

    page = client.get(mapping_url)
    assert page.context["form"]["col_0"].value() in ("", None)

    confirm(client, mapping_url, {0: "name", 1: "email"})

    job = ImportJob.objects.get()
    assert (job.status, job.created) == ("done", 1)
    assert job.mapping == {"0": "name", "1": "email"}


def test_missing_required_columns_are_refused_on_confirm(client, marketer, campaign, tmp_path):
    client.force_login(marketer)
    mapping_url = upload(client, campaign, csv_bytes())["Location"]

    response = confirm(client, mapping_url, {1: "company_name"})  # no name, no contact

    assert response.status_code == 400
    assert any("Required columns are missing" in m for m in _messages(response))
    job = ImportJob.objects.get()
    assert (job.status, job.awaiting_mapping, job.mapping) == ("pending", True, {})
    assert len(stored_files(tmp_path)) == 1  # still there to fix the mapping
    assert not Lead.objects.exists()


def test_cancel_drops_the_staged_file(client, marketer, campaign, tmp_path):
    client.force_login(marketer)
    mapping_url = upload(client, campaign, csv_bytes())["Location"]
    assert len(stored_files(tmp_path)) == 1
    response = client.post(mapping_url, {"cancel": "1"})
    assert response.status_code == 302
    assert stored_files(tmp_path) == []
    assert client.get(mapping_url).status_code == 302  # no longer waiting
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "empty"),
        (b"  \n\n", "blank.csv", "The file is empty."),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old.xls", ".xls"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100, "logo.png", "Only .csv and .xlsx"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100, "logo.csv", "not a CSV or XLSX"),
        (b"MZ\x90\x00", "data.exe", "Only .csv and .xlsx"),
    ],
)
def test_bad_files_show_a_message_and_create_nothing(
    client, marketer, campaign, tmp_path, content, name, message
):
    client.force_login(marketer)
    response = upload(client, campaign, content, name=name)

    assert response.status_code == 400
    html = response.content.decode()
    assert message in html or any(message in m for m in _messages(response))
    assert not ImportJob.objects.exists()
    assert stored_files(tmp_path) == []


def test_file_the_worker_refuses_is_dropped_with_its_message(client, marketer, campaign,
                                                             tmp_path):  # fmt: skip
    client.force_login(marketer)
    response = upload(client, campaign, b"PK\x03\x04broken zip", name="broken.xlsx")
    assert response.status_code == 302  # stored; the worker reads it
    assert ImportJob.objects.get().status == "failed"

    page = client.get(response["Location"])

    assert page.status_code == 302
    assert page["Location"] == f"{reverse('imports:new')}?campaign={campaign.pk}"
    assert any("not a readable XLSX" in m for m in _messages(page))
    assert not ImportJob.objects.exists()
    assert stored_files(tmp_path) == []


def test_mapping_page_waits_while_the_worker_reads(client, marketer, campaign):
    client.force_login(marketer)
    csv_file = SimpleUploadedFile("list.csv", csv_bytes(), content_type="text/csv")
    data = {"campaign": campaign.pk, "touch_kind": "import", "file": csv_file, **LEGAL_BASIS}
    response = client.post(reverse("imports:new"), data)  # on-commit inspection not run
    job = ImportJob.objects.get()
    assert (job.status, job.headers) == ("pending", [])

    page = client.get(response["Location"])

    assert page.status_code == 200
    html = page.content.decode()
    assert '<meta http-equiv="refresh" content="2">' in html
    assert "Reading the file" in html and "mapping-table" not in html
    assert ImportJob.objects.get().awaiting_mapping is True


def test_too_large_file_is_refused_before_staging(client, marketer, campaign, settings, tmp_path):
    settings.IMPORT_MAX_BYTES = 1024
    client.force_login(marketer)
    big = csv_bytes(rows=[["名字", "公司", f"139000010{i:02d}", "", "", ""] for i in range(60)])
    response = upload(client, campaign, big)

    assert response.status_code == 413
    assert "the limit is" in response.content.decode()
    assert not ImportJob.objects.exists()
    assert stored_files(tmp_path) == []


def test_huge_upload_is_refused_before_the_body_is_read(client, marketer, campaign, settings):
    settings.IMPORT_MAX_BYTES = 1024
    client.force_login(marketer)
    huge = csv_bytes(rows=[["名字", "公司", f"139{i:08d}", "", "", ""] for i in range(4000)])
    assert len(huge) > 1024 + 64 * 1024

    response = upload(client, campaign, huge)

    assert response.status_code == 413
    assert "Split it into smaller files" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_upload_page_preselects_the_campaign(client, marketer, campaign):
    client.force_login(marketer)
    page = client.get(reverse("imports:new"), {"campaign": campaign.pk})
    assert page.status_code == 200
    assert re.search(rf'<option value="{campaign.pk}" selected>', page.content.decode())


def test_sales_cannot_import_or_see_imports(client, rep, campaign):
    client.force_login(rep)
    assert client.get(reverse("imports:new")).status_code == 403
    assert client.get(reverse("imports:list")).status_code == 403
    assert upload(client, campaign, csv_bytes()).status_code == 403
    assert not ImportJob.objects.exists()


def test_another_sessions_staged_upload_cannot_be_confirmed(client, marketer, desk, campaign):
    client.force_login(marketer)
    mapping_url = upload(client, campaign, csv_bytes())["Location"]
    client.force_login(desk)  # a new session
    response = confirm(client, mapping_url, {0: "name", 2: "phone"})
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:new")
    job = ImportJob.objects.get()
    assert (job.status, job.awaiting_mapping, job.mapping) == ("pending", True, {})
    assert not Lead.objects.exists()


def test_manager_reads_the_import_list_and_job(client, marketer, manager, campaign):
    client.force_login(marketer)
    mapping_url = upload(client, campaign, csv_bytes())["Location"]
    confirm(client, mapping_url, dict(enumerate(["name", "company_name", "phone", "email"])))
    job = ImportJob.objects.get()

    client.force_login(manager)
    listing = client.get(reverse("imports:list"))
    assert listing.status_code == 200
    assert job.original_name in listing.content.decode()
    assert reverse("imports:new") not in listing.content.decode()  # may not start one
    assert client.get(reverse("imports:detail", args=[job.pk])).status_code == 200
    by_campaign = client.get(reverse("imports:list"), {"campaign": campaign.pk})
    assert [row[0] for row in by_campaign.context["rows"]] == [job]


def test_running_job_page_polls(client, marketer, campaign):
    client.force_login(marketer)
    mapping_url = upload(client, campaign, csv_bytes())["Location"]
    client.post(mapping_url, {"col_0": "name", "col_2": "phone"})  # on-commit job not run
    job = ImportJob.objects.get()
    assert job.status == "pending"
    page = client.get(reverse("imports:detail", args=[job.pk]))
    html = page.content.decode()
    assert page.context["finished"] is False
    assert 'data-finished="0"' in html
    assert "<script>" not in html  # no inline script, only static/js/imports.js


# --------------------------------------------------------------------------------------
# Export from the lead list
# --------------------------------------------------------------------------------------


def _export_links(html: str) -> dict[str, str]:
    return {
        kind: href.replace("&amp;", "&")
        for href, kind in re.findall(r'href="([^"]+)" data-export="(csv|xlsx)"', html)
    }


def test_export_link_returns_csv_with_bom_and_neutralised_formulas(client, desk):
    LeadFactory(name='=HYPERLINK("http://evil")', company=None)
    LeadFactory(name="Other", grade="D")
    client.force_login(desk)

    links = _export_links(client.get(reverse("leads:list"), {"grade": "B"}).content.decode())
    assert links["csv"].startswith(reverse("export-leads"))
    assert "grade=B" in links["csv"] and "file_format=csv" in links["csv"]

    response = client.get(links["csv"])

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert len(rows) == 2  # header + the one grade-B lead
    assert rows[1][1] == '\'=HYPERLINK("http://evil")'


def test_export_xlsx_follows_the_filters(client, desk):
    LeadFactory(name="+cmd|' /C calc'!A0", grade="A")
    LeadFactory(name="Not exported", grade="C")
    client.force_login(desk)
    links = _export_links(client.get(reverse("leads:list"), {"grade": "A"}).content.decode())

    response = client.get(links["xlsx"])

    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    values = [row[1] for row in workbook.active.iter_rows(values_only=True)]
    assert values[1:] == ["+cmd|' /C calc'!A0"]  # stored as text, never a formula
    assert workbook.active.cell(row=2, column=2).data_type == "s"


def test_export_masks_pooled_contacts_for_sales(client, rep):
    from tests.factories import lead_in_stage

    lead_in_stage("mql", in_pool=True, phone="+8613912345678")
    client.force_login(rep)
    body = b"".join(client.get(reverse("export-leads")).streaming_content).decode()
    assert "+8613912345678" not in body
    assert "+86139****5678" in body


def test_export_bad_format_is_400(client, desk):
    client.force_login(desk)
    assert client.get(reverse("export-leads"), {"file_format": "pdf"}).status_code == 400


def test_the_upload_page_offers_a_marketer_only_their_own_campaigns(client, marketer, campaign):
    theirs = CampaignFactory(name="Someone else's show")
    client.force_login(marketer)
    response = client.get(reverse("imports:new"))
    offered = set(response.context["form"].fields["campaign"].queryset)
    assert campaign in offered and theirs not in offered
