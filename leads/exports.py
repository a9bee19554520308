"""Export of a lead list to CSV or XLSX, safe against spreadsheet formula injection."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from leads.models import Lead
from leads.selectors import contact_masked, mask_email, mask_phone, mask_text
from pipeline.people import display_name

#: Characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_000_000
#: The file formats a lead export offers (``?file_format=``).
EXPORT_FORMATS = ("csv", "xlsx")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value: str) -> str:
    """Prefix a quote so ``=HYPERLINK(...)`` and friends are shown as text, not run."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _columns() -> list[tuple[str, str]]:
    return [
        ("id", _("ID")), ("name", _("Name")), ("title", _("Title")), ("company", _("Company")),
        ("phone", _("Phone")), ("email", _("Email")), ("wechat", _("WeChat")),
        ("industry", _("Industry")), ("region", _("Region")), ("stage", _("Stage")),
        ("grade", _("Grade")), ("score", _("Score")), ("owner", _("Owner")),
        ("in_pool", _("In pool")), ("campaign", _("Source campaign")),
        ("channel", _("Channel")), ("created_at", _("Created")),
        ("next_follow_up_at", _("Next follow-up")), ("expected_amount", _("Expected amount")),
        ("won_amount", _("Won amount")), ("signed_at", _("Signed on")),
    ]  # fmt: skip


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _values(lead: Lead, user) -> dict[str, str]:
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
        "created_at": _when(lead.created_at),
        "next_follow_up_at": _when(lead.next_follow_up_at),
        "expected_amount": str(lead.expected_amount or ""),
        "won_amount": str(lead.won_amount or ""),
        "signed_at": lead.signed_at.isoformat() if lead.signed_at else "",
    }


def lead_rows(leads: QuerySet[Lead], user) -> Iterator[list[str]]:
    """Header, then one row per lead, streamed from the database in chunks."""
    columns = _columns()
    yield [str(label) for _, label in columns]
    for lead in leads.iterator(chunk_size=2000):
        values = _values(lead, user)
        yield [values[key] for key, _ in columns]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(rows: Iterable[list[str]]) -> Iterator[str]:
    """CSV text with a UTF-8 BOM (so Excel opens Chinese correctly), formulas neutralised."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for row in rows:
        yield writer.writerow([neutralise(cell) for cell in row])


def xlsx_file(rows: Iterable[list[str]], *, title: str) -> tempfile.SpooledTemporaryFile:
    """A write-only workbook; every cell is stored as text, so nothing is ever a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    for index, row in enumerate(rows):
        if index > XLSX_MAX_ROWS:
            break
        cells = []
        for value in row:
            # Control characters are not allowed in XLSX cells: drop them, keep the text.
            cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
            cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
    handle = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115
    workbook.save(handle)
    handle.seek(0)
    return handle


def export_response(
    rows: Iterable[list[str]],
    *,
    file_format: str,
    name: str = "leads",
    title: str | None = None,
) -> FileResponse | StreamingHttpResponse:
    """The download of ``rows`` (``lead_rows``, or another table's) as
    ``<name>-<time>.csv`` (streamed) or ``.xlsx``: the page's export and the API's answer
    with this one response."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if file_format == "xlsx":
        return FileResponse(
            xlsx_file(rows, title=title or _("Leads")),
            as_attachment=True,
            filename=f"{name}-{stamp}.xlsx",
            content_type=XLSX_CONTENT_TYPE,
        )
    response = StreamingHttpResponse(csv_stream(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response
