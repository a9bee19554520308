"""The set-based export (issue #17 item 9) writes exactly what the per-lead export wrote:
for every role, the same rows, columns and values — masking of pooled contacts, erased
leads, CJK owner names, empty companies and amounts, formula-looking and control
characters included — as CSV and as XLSX. The reference below is the export as it was
(model instances, one ``contact_masked`` per lead, openpyxl's write-only workbook)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from leads.choices import Stage
from leads.exports import _columns, csv_stream, lead_rows, neutralise, xlsx_file
from leads.models import Lead
from leads.privacy import erase_leads
from leads.selectors import (
    contact_masked,
    leads_visible_to,
    mask_email,
    mask_phone,
    mask_text,
)
from pipeline.people import display_name
from tests.factories import CampaignFactory, CompanyFactory, UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db


def _old_when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _old_values(lead: Lead, user) -> dict[str, str]:
    masked = contact_masked(user, lead)
    company = lead.company
    campaign = lead.source_campaign
    return {
        "id": str(lead.pk),
        "name": lead.name,
        "title": lead.title,
        "company": company.name if company else "",
        "phone": mask_phone(lead.phone) if masked and lead.phone else lead.phone,
        "email": mask_email(lead.email) if masked and lead.email else lead.email,
        "wechat": mask_text(lead.wechat) if masked else lead.wechat,
        "industry": company.industry if company else "",
        "region": company.region if company else "",
        "stage": str(lead.get_stage_display()),
        "grade": lead.grade,
        "score": str(lead.score),
        "owner": display_name(lead.owner),
        "in_pool": _("yes") if lead.in_pool else "",
        "campaign": campaign.name if campaign else "",
        "channel": str(campaign.channel) if campaign else "",
        "created_at": _old_when(lead.created_at),
        "next_follow_up_at": _old_when(lead.next_follow_up_at),
        "expected_amount": str(lead.expected_amount or ""),
        "won_amount": str(lead.won_amount or ""),
        "signed_at": lead.signed_at.isoformat() if lead.signed_at else "",
    }


def _old_rows(leads, user) -> list[list[str]]:
    columns = _columns()
    rows = [[str(label) for _, label in columns]]
    for lead in leads.iterator(chunk_size=2000):
        values = _old_values(lead, user)
        rows.append([values[key] for key, _ in columns])
    return rows


def _old_csv(rows) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()


def _old_xlsx(rows) -> io.BytesIO:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="Leads")
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
            cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
    handle = io.BytesIO()
    workbook.save(handle)
    handle.seek(0)
    return handle


def _read_xlsx(handle) -> list[list[str]]:
    sheet = load_workbook(handle, read_only=True).active
    return [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]


@pytest.fixture
def world(desk, rep, other_rep, outsider_rep, sales_manager):
    """Leads in every stage, owned across teams, pooled, erased, with awkward values."""
    zhang = UserFactory(username="zhang", first_name="伟", last_name="张", roles=["sales_rep"])
    campaign = CampaignFactory(name='=HYPERLINK("http://x")')
    company = CompanyFactory(name="华为技术有限公司", industry="制造业", region="广东")
    leads = [
        lead_in_stage(Stage.NEW, name="+cmd|' /C calc'!A0", company=None),
        lead_in_stage(Stage.MQL, desk=desk, source_campaign=campaign, wechat="wx_abcdef"),
        lead_in_stage(Stage.MQL, desk=desk, in_pool=True, wechat="wxid_pooled", company=company),
        lead_in_stage(Stage.SQL, owner=rep, desk=desk, in_pool=True, title="-2+3"),
        lead_in_stage(Stage.SQL, owner=rep, desk=desk, name="王\x07大伟", source_campaign=campaign),
        lead_in_stage(Stage.OPPORTUNITY, owner=other_rep, desk=desk, company=company),
        lead_in_stage(Stage.WON, owner=zhang, desk=desk),
        lead_in_stage(Stage.LOST, owner=outsider_rep, desk=desk),
        lead_in_stage(Stage.DISQUALIFIED, desk=desk, phone="", email=""),
        lead_in_stage(Stage.SQL, owner=sales_manager, desk=desk, name="@sum <b>&amp;</b>"),
    ]
    Lead.objects.filter(pk=leads[5].pk).update(
        next_follow_up_at=timezone.now() + dt.timedelta(days=3), expected_amount=Decimal("0")
    )
    Lead.objects.filter(pk=leads[3].pk).update(
        next_follow_up_at=dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)
    )
    erase_leads(lead_ids=[leads[1].pk, leads[7].pk], actor=desk)
    return leads


ROLES = ["manager", "desk", "marketer", "rep", "other_rep", "sales_manager", "outsider_rep"]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("role", [*ROLES, "admin"])
def test_new_export_rows_equal_the_old_for_every_role(request, world, role, language):
    user = (
        UserFactory(username="root", is_superuser=True, is_staff=True)
        if role == "admin"
        else request.getfixturevalue(role)
    )
    leads = leads_visible_to(user).order_by("pk")
    with translation.override(language):
        old = _old_rows(leads, user)
        new = list(lead_rows(leads, user))
        assert new == old
        assert len(new) == 1 + leads.count() and len(new) > 1
        assert _old_csv(old) == "".join(csv_stream(new))
        assert _read_xlsx(_old_xlsx(old)) == _read_xlsx(xlsx_file(iter(new), title="Leads"))
    erased = {str(lead.pk) for lead in world if Lead.objects.get(pk=lead.pk).erased_at}
    assert len(erased) == 2


def test_pooled_contacts_are_masked_for_sales_only(world, rep, manager):
    pooled = Lead.objects.filter(in_pool=True, wechat="wxid_pooled").get()
    for user, masked in ((rep, True), (manager, False)):
        rows = {row[0]: row for row in lead_rows(leads_visible_to(user).order_by("pk"), user)}
        row = rows[str(pooled.pk)]
        assert (row[4], row[5], row[6]) == (
            (mask_phone(pooled.phone), mask_email(pooled.email), "w***")
            if masked
            else (pooled.phone, pooled.email, "wxid_pooled")
        )


def test_export_queries_do_not_grow_with_the_leads(world, manager):
    leads = leads_visible_to(manager).order_by("pk")
    with CaptureQueriesContext(connection) as few:
        list(lead_rows(leads.filter(pk__in=[world[0].pk]), manager))
    with CaptureQueriesContext(connection) as many:
        assert len(list(lead_rows(leads, manager))) == 11
    assert len(many.captured_queries) == len(few.captured_queries) <= 2


def test_xlsx_cells_are_text_never_formulas_and_control_characters_dropped():
    rows = [["=1+1", "a\x01b", "<&>", " lead ", "", "長い"]]
    sheet = load_workbook(xlsx_file(iter(rows), title="T"), read_only=False).active
    cells = next(iter(sheet.iter_rows()))
    assert [c.value for c in cells] == ["=1+1", "ab", "<&>", " lead ", None, "長い"]
    assert cells[0].data_type == "s"
    assert sheet.title == "T"
