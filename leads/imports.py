"""Bulk import of attendee lists and ad-platform exports (CSV or XLSX) into a campaign.

The web request only stores the upload (``import_upload``: streamed to disk by
``ImportUploadHandler``, bounded checks of kind, size and legal basis); a worker reads it
(``import_inspect`` for the page's mapping step, ``import_run``), an XLSX only after its zip
directory passed the limits (``check_xlsx_package``).

Files are streamed row by row, never loaded whole. Rows are processed in batches: each
batch is validated, matched against open leads (the duplicate rule), written with bulk
inserts, scored, and committed together with the job's progress, so an interrupted job
resumes after its last committed batch and never creates a lead twice.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import functools
import io
import itertools
import logging
import re
import unicodedata
import uuid
import zipfile
import zoneinfo
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from assignment.bulk import routed_as_a_set
from campaigns.models import Campaign
from leads.choices import (
    CLOSED_STAGES,
    IMPORT_TOUCH_KINDS,
    CompanySize,
    DecisionRole,
    EventKind,
    GradeSource,
    ImportRowOutcome,
    ImportStatus,
    LegalBasis,
    Stage,
    Timeline,
    TouchKind,
)
from leads.credits import recompute_credits, sole_touch_credits
from leads.lifecycle import can_create_lead, clean_lead_fields, lead_create
from leads.lifecycle.announcements import Announcement, announce
from leads.lifecycle.arrival import (
    created_event_data,
    new_lead_values,
    returned_event_data,
    touch_values,
)
from leads.models import (
    Company,
    ContactReview,
    ImportJob,
    ImportRow,
    Lead,
    LeadEvent,
    LeadTouch,
    company_name_of,
)
from leads.normalize import normalize_company_name
from pipeline.db import fast_bulk_insert  # also registers the __any_of lookup
from pipeline.errors import ServiceError
from pipeline.queue import enqueue, enqueue_on_commit
from pipeline.text import joined, labelled
from pipeline.writers import OrmWriter, PostgresCopyWriter
from scoring.services import auto_qualify, score_arrivals, score_leads

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000
MAX_ERRORS = 5000
SAMPLE_BYTES = 256 * 1024

#: Header spellings recognised automatically (compared after ``_header_key``).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "fullname", "contact", "contactname", "姓名", "名字", "联系人", "客户姓名"),
    "company_name": (
        "company",
        "companyname",
        "organization",
        "organisation",
        "account",
        "公司",
        "公司名称",
        "单位",
        "企业",
        "企业名称",
        "单位名称",
    ),
    "phone": (
        "phone",
        "mobile",
        "mobilephone",
        "tel",
        "telephone",
        "cell",
        "phonenumber",
        "手机",
        "手机号",
        "手机号码",
        "电话",
        "联系电话",
        "联系方式",
    ),
    "email": ("email", "e-mail", "mail", "emailaddress", "邮箱", "电子邮件", "邮件", "电子邮箱"),
    "title": ("title", "jobtitle", "position", "role", "职位", "职务", "岗位", "头衔"),
    "industry": ("industry", "行业", "所属行业"),
    "region": ("region", "province", "city", "location", "地区", "省份", "城市", "区域", "所在地"),
    "wechat": ("wechat", "weixin", "wechatid", "微信", "微信号"),
    "company_size": (
        "companysize",
        "size",
        "employees",
        "headcount",
        "公司规模",
        "规模",
        "人数",
        "员工人数",
    ),
    "product_interest": (
        "product",
        "productinterest",
        "interest",
        "产品",
        "意向产品",
        "感兴趣产品",
        "关注产品",
    ),
    "budget": ("budget", "预算"),
    "timeline": ("timeline", "timeframe", "purchasetime", "采购时间", "预计采购时间"),
    "decision_role": ("decisionrole", "角色", "决策角色"),
    "need": ("need", "needs", "requirement", "notes", "comment", "需求", "备注", "留言"),
    "touched_at": (
        "date",
        "time",
        "checkin",
        "checkintime",
        "registeredat",
        "signupdate",
        "签到时间",
        "报名时间",
        "时间",
        "日期",
        "参会时间",
    ),
}
IMPORT_FIELDS = tuple(HEADER_ALIASES)
_TIMELINE_WORDS = {
    "1m": ("1m", "1个月", "一个月", "1 month", "within 1 month", "本月", "立即", "马上"),
    "3m": ("3m", "3个月", "三个月", "3 months", "within 3 months", "本季度"),
    "6m": ("6m", "6个月", "六个月", "半年", "6 months", "within 6 months"),
    "later": ("later", "一年", "明年", "以后", "12 months", "next year"),
}
_ROLE_WORDS = {
    "decision_maker": ("decision_maker", "decision maker", "决策者", "决策人", "老板", "ceo"),
    "influencer": ("influencer", "影响者", "参与决策", "推荐人"),
    "user": ("user", "使用者", "用户", "end user"),
}
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%d/%m/%Y",
    "%Y年%m月%d日",
    "%Y年%m月%d日 %H:%M",
    "%m/%d/%Y",
)


def _header_key(text: Any) -> str:
    value = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    return re.sub(r"[\s_\-\.:：()（）*]+", "", value)


_ALIAS_LOOKUP = {_header_key(a): f for f, aliases in HEADER_ALIASES.items() for a in aliases}


def auto_mapping(headers: list[str]) -> dict[str, str]:
    """``{column index: field}`` for the headers we recognise (first match per field)."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        target = _ALIAS_LOOKUP.get(_header_key(header))
        if target and target not in taken:
            mapping[str(index)] = target
            taken.add(target)
    return mapping


def check_mapping(mapping: Mapping[str, str], headers: list[str]) -> dict[str, str]:
    """Validate a ``{column index: field}`` mapping: known fields, name and a contact."""
    cleaned: dict[str, str] = {}
    for index, target in mapping.items():
        if target in ("", None, "ignore"):
            continue
        if target not in IMPORT_FIELDS:
            raise ServiceError(
                _("Unknown field “%(field)s” in the mapping.") % {"field": target}, field="mapping"
            )
        if not str(index).isdigit() or int(index) >= len(headers):
            raise ServiceError(
                _("The mapping names a column the file does not have."), field="mapping"
            )
        if target in cleaned.values():
            raise ServiceError(
                _("Two columns are mapped to “%(field)s”.") % {"field": target}, field="mapping"
            )
        cleaned[str(index)] = target
    fields = set(cleaned.values())
    missing = []
    if "name" not in fields:
        missing.append(_("name (姓名)"))
    if not fields & {"phone", "email", "wechat"}:
        missing.append(_("phone (手机), email (邮箱) or WeChat (微信)"))
    if missing:
        raise ServiceError(
            _("Required columns are missing: %(cols)s. Columns found: %(found)s.")
            % {"cols": "; ".join(missing), "found": ", ".join(headers) or "—"},
            field="mapping",
        )
    return cleaned


# --------------------------------------------------------------------------------------
# Reading files (in the worker: the upload request only stores the file)
# --------------------------------------------------------------------------------------

#: The accepted extensions and the kind each means. The extension of the client's file name
#: chooses the kind; the content must then be that kind. Files are stored under a generated
#: name with this extension, never the client's.
UPLOAD_KINDS = {".csv": "csv", ".xlsx": "xlsx"}
#: Content types browsers send for each kind (Windows sends ``application/vnd.ms-excel``
#: for a .csv when Excel is installed; some clients send only ``application/octet-stream``).
UPLOAD_CONTENT_TYPES = {
    "csv": frozenset(
        {
            "",
            "text/csv",
            "text/plain",
            "text/x-csv",
            "text/comma-separated-values",
            "application/csv",
            "application/vnd.ms-excel",
            "application/octet-stream",
        }
    ),
    "xlsx": frozenset(
        {
            "",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/zip",
            "application/x-zip-compressed",
            "application/octet-stream",
        }
    ),
}
#: How far past the limit an upload is still read to tell its exact size; a larger one is
#: cut there (the request's ``Content-Length`` is checked against the same margin first).
UPLOAD_SLACK_BYTES = 64 * 1024
_MB = 1024 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class FileShape:
    kind: str  # "csv" or "xlsx"
    encoding: str = ""
    delimiter: str = ","
    headers: list[str] = field(default_factory=list)
    sample: list[list[str]] = field(default_factory=list)


def _detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        try:
            # A multi-byte character may be cut at the end of the sample.
            codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ServiceError(
        _("The file's text encoding is not recognised: save it as UTF-8 or GBK CSV, or XLSX."),
        field="file",
    )


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _open_csv(handle: IO[bytes], encoding: str, delimiter: str) -> Iterator[list[str]]:
    handle.seek(0)
    text = io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline="")
    try:
        for row in csv.reader(text, delimiter=delimiter):
            yield [cell.strip() for cell in row]
    finally:
        text.detach()


def _megabytes(value: int, places: int = 0) -> str:
    """``value`` bytes as MB in the user's number format, rounded (``number_format`` alone
    would cut the decimals: 50.0195 must read 50.02, not 50.01)."""
    return _("%(size)s MB") % {
        "size": number_format(round(value / _MB, places), decimal_pos=places)
    }


def _xlsx_refused(message: str) -> ServiceError:
    return ServiceError(message, field="file")


def check_xlsx_package(handle: IO[bytes]) -> None:
    """Refuse a workbook that would unpack too large, from the zip's central directory only.

    An XLSX is a zip of XML parts; openpyxl (even read-only) loads the shared-string table
    whole, so a 500 KB file can hold a 170 MB table. The declared sizes are checked here,
    before anything is decompressed; Python's ``zipfile`` never returns more than a part's
    declared size (a part that lies fails its CRC check), so what openpyxl may read is capped
    by what this function accepted. Limits: ``IMPORT_XLSX_MAX_UNPACKED_MB`` (all parts),
    ``IMPORT_XLSX_MAX_SHARED_STRINGS_MB`` (the shared-string table) and
    ``IMPORT_XLSX_MAX_RATIO`` (unpacked : packed of any part over 1 MB).
    """
    handle.seek(0)
    try:
        with zipfile.ZipFile(handle) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _xlsx_refused(_("This file is not a readable XLSX workbook.")) from exc
    unpacked = sum(part.file_size for part in parts)
    limit = settings.IMPORT_XLSX_MAX_UNPACKED_MB * _MB
    if unpacked > limit:
        raise _xlsx_refused(
            _(
                "This workbook unpacks to %(size)s; the limit is %(limit)s. "
                "Save it as CSV or split it into smaller files."
            )
            % {"size": _megabytes(unpacked), "limit": _megabytes(limit)}
        )
    for part in parts:
        if part.file_size > _MB and part.file_size > settings.IMPORT_XLSX_MAX_RATIO * max(
            part.compress_size, 1
        ):
            raise _xlsx_refused(
                _(
                    "This workbook's part %(part)s unpacks %(ratio)s times larger than it is "
                    "stored (the limit is %(limit)s times): it is not a normal spreadsheet."
                )
                % {
                    "part": part.filename,
                    "ratio": number_format(part.file_size // max(part.compress_size, 1)),
                    "limit": number_format(settings.IMPORT_XLSX_MAX_RATIO),
                }
            )
    strings = sum(p.file_size for p in parts if p.filename.lower() == "xl/sharedstrings.xml")
    limit = settings.IMPORT_XLSX_MAX_SHARED_STRINGS_MB * _MB
    if strings > limit:
        raise _xlsx_refused(
            _(
                "This workbook's table of texts (shared strings) unpacks to %(size)s; the limit "
                "is %(limit)s. Save it as CSV or split it into smaller files."
            )
            % {"size": _megabytes(strings), "limit": _megabytes(limit)}
        )


def _too_many_cells(cells: int) -> ServiceError:
    return _xlsx_refused(
        _(
            "The sheet has more than %(limit)s cells (%(cells)s or more); split it into "
            "smaller files."
        )
        % {
            "limit": number_format(settings.IMPORT_XLSX_MAX_CELLS),
            "cells": number_format(cells),
        }
    )


def _open_xlsx(handle: IO[bytes]) -> Generator[list[str], None, None]:
    """The first sheet's rows; call ``check_xlsx_package`` first. Stops with a refusal once
    the sheet's declared dimension, or the cells actually read, pass ``IMPORT_XLSX_MAX_CELLS``."""
    from openpyxl import load_workbook

    handle.seek(0)
    limit = settings.IMPORT_XLSX_MAX_CELLS
    try:
        workbook = load_workbook(handle, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise _xlsx_refused(_("This file is not a readable XLSX workbook.")) from exc
    try:
        sheet = workbook.worksheets[0]
        declared = (sheet.max_row or 0) * (sheet.max_column or 0)
        if declared > limit:
            raise _too_many_cells(declared)
        cells = 0
        for row in sheet.iter_rows(values_only=True):
            cells += len(row)
            if cells > limit:
                raise _too_many_cells(cells)
            yield [_cell_text(v) for v in row]
    finally:
        workbook.close()


def _csv_shape(head: bytes, complete: bool) -> FileShape:
    """Encoding, delimiter, headers and sample rows from the first bytes of a CSV only."""
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ServiceError(_("This is not a CSV or XLSX file."), field="file")
    encoding = _detect_encoding(head)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=complete)
    try:
        delimiter = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = list(itertools.islice(reader, 7))
    except csv.Error as exc:
        raise ServiceError(_("This is not a CSV or XLSX file."), field="file") from exc
    if not complete:
        rows = rows[:-1]  # the last row read may be cut at the end of the head
    if not rows:
        raise ServiceError(
            _("The first row is longer than %(size)s KB: this is not a list of people.")
            % {"size": SAMPLE_BYTES // 1024},
            field="file",
        )
    rows = [[cell.strip() for cell in row] for row in rows]
    return FileShape(
        kind="csv", encoding=encoding, delimiter=delimiter, headers=rows[0], sample=rows[1:6]
    )


def inspect_file(handle: IO[bytes], kind: str) -> FileShape:
    """Read the header row and a few sample rows of a stored upload (in the worker).

    A CSV is read from its first ``SAMPLE_BYTES`` only; an XLSX is checked against the
    limits (``check_xlsx_package``) before openpyxl opens it.
    """
    handle.seek(0)
    head = handle.read(SAMPLE_BYTES)
    if not head.strip():
        raise ServiceError(_("The file is empty."), field="file")
    if kind == "xlsx":
        if not head.startswith(_ZIP_MAGIC):
            raise ServiceError(_("This file is not a readable XLSX workbook."), field="file")
        check_xlsx_package(handle)
        rows = _open_xlsx(handle)
        with contextlib.closing(rows):
            headers = next(rows, [])
            sample = list(itertools.islice(rows, 5))
        shape = FileShape(kind="xlsx", headers=headers, sample=sample)
    else:
        shape = _csv_shape(head, complete=len(head) < SAMPLE_BYTES)
    shape.headers = [h.strip() for h in shape.headers]
    while shape.headers and not shape.headers[-1]:
        shape.headers.pop()
    if not shape.headers:
        raise ServiceError(_("The first row must hold the column headers."), field="file")
    return shape


def _count_rows(handle: IO[bytes], shape: FileShape) -> int | None:
    if shape.kind == "xlsx":
        from openpyxl import load_workbook

        handle.seek(0)
        workbook = load_workbook(handle, read_only=True)
        try:
            rows = workbook.worksheets[0].max_row
        finally:
            workbook.close()
        return max(0, rows - 1) if rows else None
    handle.seek(0)
    lines, last = 0, b""
    while chunk := handle.read(1024 * 1024):
        lines += chunk.count(b"\n")
        last = chunk
    if last and not last.endswith(b"\n"):
        lines += 1
    return max(0, lines - 1)  # quoted newlines make this an estimate; progress caps at 100%


def iter_rows(handle: IO[bytes], shape: FileShape) -> Iterator[list[str]]:
    """Data rows (after the header), streamed."""
    rows = (
        _open_xlsx(handle)
        if shape.kind == "xlsx"
        else _open_csv(handle, shape.encoding, shape.delimiter)
    )
    next(rows, None)
    yield from rows


# --------------------------------------------------------------------------------------
# Receiving the upload (in the request: store it, parse nothing)
# --------------------------------------------------------------------------------------


def size_refusal(size: int | None) -> ServiceError:
    """The refusal of a file over ``IMPORT_MAX_BYTES``: its exact size when known, with
    enough decimals that it never reads like the limit ("50.02 MB; the limit is 50 MB")."""
    limit = settings.IMPORT_MAX_BYTES
    if size is None:
        message = _("The file is larger than %(limit)s. Split it into smaller files.") % {
            "limit": _megabytes(limit)
        }
        return ServiceError(message, code="too_large", field="file")
    places = next((p for p in range(2, 7) if round(size / _MB, p) != round(limit / _MB, p)), 6)
    message = _("The file is %(size)s; the limit is %(limit)s. Split it into smaller files.") % {
        "size": _megabytes(size, places),
        "limit": _megabytes(limit, 0 if limit % _MB == 0 else places),
    }
    return ServiceError(message, code="too_large", field="file")


def check_request_length(content_length: int) -> None:
    """Refuse, before the body is read, a request too long to hold an allowed file."""
    if content_length > settings.IMPORT_MAX_BYTES + UPLOAD_SLACK_BYTES:
        raise size_refusal(None)


class ImportUploadHandler(TemporaryFileUploadHandler):
    """Streams an uploaded file to a temporary file on disk (never into memory) and stops
    writing at ``IMPORT_MAX_BYTES``: bytes past it are only counted, up to
    ``UPLOAD_SLACK_BYTES``, to tell the exact size; a longer upload is cut there
    (``StopUpload``: the rest of the body is not read). Install it with
    ``request.upload_handlers = [ImportUploadHandler(request)]`` before the body is parsed,
    then call ``check()``."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.limit = settings.IMPORT_MAX_BYTES
        self.received = 0
        self.too_large = False
        self.cut = False

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_large = True
            if self.received > self.limit + UPLOAD_SLACK_BYTES:
                self.cut = True
                self.file.close()
                raise StopUpload(connection_reset=True)
            return None
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.too_large:
            self.file.close()  # a temporary file: deleted on close
            return None
        return super().file_complete(file_size)

    def check(self) -> None:
        """Raise the size refusal if a file went over the limit."""
        if self.too_large:
            raise size_refusal(None if self.cut else self.received)


def _upload_kind(upload: UploadedFile) -> str:
    """The kind of an upload, from its checked extension, content type and first bytes."""
    name = upload.name or ""
    extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if extension == ".xls":
        raise ServiceError(
            _("This is an old Excel .xls file: save it as .xlsx or CSV first."), field="file"
        )
    kind = UPLOAD_KINDS.get(extension)
    if kind is None:
        raise ServiceError(
            _("Only .csv and .xlsx files can be imported; “%(name)s” is neither.")
            % {"name": name[-80:]},
            field="file",
        )
    content_type = (getattr(upload, "content_type", "") or "").split(";")[0].strip().lower()
    if content_type not in UPLOAD_CONTENT_TYPES[kind]:
        raise ServiceError(
            _("The file is sent as “%(type)s”, which is not a %(kind)s file.")
            % {"type": content_type[:80], "kind": kind.upper()},
            field="file",
        )
    upload.seek(0)
    head = upload.read(SAMPLE_BYTES)
    upload.seek(0)
    if not head.strip():
        raise ServiceError(_("The file is empty."), field="file")
    if head.startswith(_OLE_MAGIC):
        raise ServiceError(
            _("This is an old Excel .xls file: save it as .xlsx or CSV first."), field="file"
        )
    if kind == "xlsx" and not head.startswith(_ZIP_MAGIC):
        raise ServiceError(_("This file is not a readable XLSX workbook."), field="file")
    if kind == "csv":
        if head.startswith(_ZIP_MAGIC):
            raise ServiceError(
                _("This is an XLSX workbook named .csv: rename it to .xlsx."), field="file"
            )
        if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise ServiceError(_("This is not a CSV or XLSX file."), field="file")
        _detect_encoding(head)
    return kind


def _can_import(actor: User, campaign: Campaign | None = None) -> bool:
    """Who imports, into which campaign: the arrival rule's (a marketer into their own
    campaigns, the desk into any)."""
    return can_create_lead(actor, campaign)


def check_legal_basis(*, basis: str, note: str, date: dt.date | None) -> None:
    """The legal basis a list is imported under (PIPL, DESIGN §13): one of ``LegalBasis``,
    a note (required for "other"), and the date it was obtained (not in the future)."""
    if basis not in LegalBasis.values:
        raise ServiceError(
            _("Say on what legal basis these people's information is processed."),
            field="legal_basis",
        )
    if basis == LegalBasis.OTHER and not note.strip():
        raise ServiceError(
            _("Explain the legal basis in the note when it is “other”."),
            field="legal_basis_note",
        )
    if len(note) > 500:
        raise ServiceError(
            _("The note on the legal basis is longer than 500 characters."),
            field="legal_basis_note",
        )
    if date is None:
        raise ServiceError(
            _("Give the date of the legal basis (the registration, the consent, the contract)."),
            field="legal_basis_date",
        )
    if date > timezone.localdate():
        raise ServiceError(
            _("The date of the legal basis cannot be in the future."), field="legal_basis_date"
        )


def _check_touch_kind(touch_kind: str) -> None:
    if touch_kind not in IMPORT_TOUCH_KINDS:
        raise ServiceError(
            _("“%(value)s” is not a kind of list that can be imported; use one of: %(kinds)s.")
            % {"value": touch_kind, "kinds": ", ".join(IMPORT_TOUCH_KINDS)},
            field="touch_kind",
        )


def _check_mapping_fields(mapping: Mapping[str, str]) -> None:
    """What can be checked of a mapping before the file's headers are known."""
    targets = [t for t in mapping.values() if t not in ("", None, "ignore")]
    for index, target in mapping.items():
        if target in ("", None, "ignore"):
            continue
        if target not in IMPORT_FIELDS:
            raise ServiceError(
                _("Unknown field “%(field)s” in the mapping.") % {"field": target}, field="mapping"
            )
        if not str(index).isdigit():
            raise ServiceError(
                _("The mapping names a column the file does not have."), field="mapping"
            )
        if targets.count(target) > 1:
            raise ServiceError(
                _("Two columns are mapped to “%(field)s”.") % {"field": target}, field="mapping"
            )


def import_upload(
    *,
    actor: User,
    campaign: Campaign,
    upload: UploadedFile,
    legal_basis: str,
    legal_basis_note: str = "",
    legal_basis_date: dt.date | None,
    touch_kind: str = TouchKind.IMPORT,
    mapping: Mapping[str, str] | None = None,
    await_mapping: bool = False,
) -> ImportJob:
    """Check and store an upload as a ``pending`` job; parse nothing.

    Only bounded checks run here (permission, the list's kind and legal basis, extension,
    content type, size, the first bytes); the file is stored under a generated name with
    the checked extension. A worker then reads the headers (``import_inspect``, when the
    page waits to show the column mapping: ``await_mapping``) or runs the import
    (``import_run``, which reads the headers itself and maps them automatically when no
    ``mapping`` was given).
    """
    if not _can_import(actor):
        raise ServiceError(_("You are not allowed to import leads."), code="forbidden")
    if not _can_import(actor, campaign):
        raise ServiceError(
            _("You can only enter leads in your own campaigns."), code="forbidden", field="campaign"
        )
    if upload.size is not None and upload.size > settings.IMPORT_MAX_BYTES:
        raise size_refusal(upload.size)
    _check_touch_kind(touch_kind)
    check_legal_basis(basis=legal_basis, note=legal_basis_note, date=legal_basis_date)
    if mapping is not None:
        _check_mapping_fields(mapping)
    kind = _upload_kind(upload)
    with transaction.atomic():
        job = ImportJob(
            campaign=campaign,
            original_name=(upload.name or "upload")[:255],
            file_kind=kind,
            mapping=dict(mapping or {}),
            touch_kind=touch_kind,
            legal_basis=legal_basis,
            legal_basis_note=legal_basis_note.strip(),
            legal_basis_date=legal_basis_date,
            awaiting_mapping=await_mapping,
            created_by=actor,
        )
        upload.seek(0)
        job.file.save(f"{uuid.uuid4().hex}.{kind}", upload, save=False)
        job.save()
        task = "leads.tasks.import_inspect_task" if await_mapping else "leads.tasks.import_run_task"
        enqueue_on_commit(task, job.pk)
    return job


def _fail(job_id: int, message: str) -> None:
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportStatus.FAILED, finished_at=timezone.now(), message=message
    )
    enqueue_on_commit("notifications.tasks.tell_import_done_task", job_id)


def _read_shape(job: ImportJob) -> FileShape:
    with job.file.open("rb") as handle:
        return inspect_file(handle, job.file_kind)


def import_inspect(*, job_id: int) -> ImportJob | None:
    """Worker: read the headers and sample rows of a job waiting for its column mapping,
    or fail it with the reason. Safe to run twice (a job already read is left alone)."""
    job = ImportJob.objects.filter(
        pk=job_id, status=ImportStatus.PENDING, awaiting_mapping=True
    ).first()
    if job is None or job.headers:
        return None
    try:
        shape = _read_shape(job)
    except ServiceError as exc:
        _fail(job_id, exc.message)
        return None
    ImportJob.objects.filter(pk=job_id, status=ImportStatus.PENDING).update(
        headers=shape.headers,
        sample=shape.sample,
        encoding=shape.encoding,
        delimiter=shape.delimiter,
    )
    job.refresh_from_db()
    return job


def _waiting_job(actor: User, job: ImportJob) -> None:
    if not _can_import(actor):
        raise ServiceError(_("You are not allowed to import leads."), code="forbidden")
    if job.created_by_id != actor.pk or not job.awaiting_mapping:
        raise ServiceError(
            _("This upload is no longer waiting; upload the file again."), code="not_found"
        )


def import_confirm(*, actor: User, job: ImportJob, mapping: Mapping[str, str]) -> ImportJob:
    """The uploader confirms the column mapping of a job read by ``import_inspect``: the job
    is queued. A conditional update, so two confirmations queue it once."""
    _waiting_job(actor, job)
    if job.status != ImportStatus.PENDING or not job.headers:
        raise ServiceError(_("The file has not been read yet; wait a moment."), code="conflict")
    chosen = check_mapping(mapping, job.headers)
    with transaction.atomic():
        updated = ImportJob.objects.filter(
            pk=job.pk, status=ImportStatus.PENDING, awaiting_mapping=True
        ).update(mapping=chosen, awaiting_mapping=False)
        if not updated:
            raise ServiceError(
                _("This upload is no longer waiting; upload the file again."), code="conflict"
            )
        enqueue_on_commit("leads.tasks.import_run_task", job.pk)
    job.refresh_from_db()
    return job


def import_discard(*, actor: User, job: ImportJob) -> None:
    """Drop an upload that waits for its mapping (cancelled, or its file was refused): the
    job and its file go; nothing was imported."""
    _waiting_job(actor, job)
    _delete_job(job)


def _delete_job(job: ImportJob) -> None:
    name = job.file.name
    job.delete()
    if name:
        with contextlib.suppress(OSError):
            job.file.storage.delete(name)


# --------------------------------------------------------------------------------------
# Running a job
# --------------------------------------------------------------------------------------

_SIZE_BRACKETS = (
    (5000, "5000+"),
    (1000, "1000-4999"),
    (200, "200-999"),
    (50, "50-199"),
    (1, "1-49"),
)


def _size_bracket(text: str) -> str:
    if text in CompanySize.values:
        return text
    digits = re.findall(r"\d+", text.replace(",", ""))
    if not digits:
        return ""
    count = int(digits[-1]) if "+" not in text and "以上" not in text else int(digits[0])
    return next((bracket for floor, bracket in _SIZE_BRACKETS if count >= floor), "")


def _word_choice(text: str, table: Mapping[str, tuple[str, ...]], default: str) -> str:
    folded = text.strip().lower()
    for code, words in table.items():
        if folded == code or any(word in folded for word in words):
            return code
    return default


#: Year-first dates with an optional time, the way nearly every list writes them (a fast
#: path for the first formats of ``_DATE_FORMATS``).
_YEAR_FIRST = re.compile(
    r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)


def _parse_when(text: str) -> dt.datetime:
    """A list's date or time, in the current time zone; ``ValueError`` when unreadable."""
    return _parse_when_in(text, timezone.get_current_timezone_name())


@functools.lru_cache(maxsize=4096)  # check-in times repeat (minutes of one event day)
def _parse_when_in(text: str, zone: str) -> dt.datetime:
    match = _YEAR_FIRST.fullmatch(text.strip())
    if match:
        try:
            # Up to six numbers (year to second): the star never reaches ``tzinfo``.
            parsed = dt.datetime(*(int(part) for part in match.groups() if part is not None))  # type: ignore[arg-type]  # noqa: DTZ001
        except ValueError:
            pass  # 2026-13-01: let the formats below refuse it
        else:
            return timezone.make_aware(parsed, zoneinfo.ZoneInfo(zone))
    for fmt in _DATE_FORMATS:
        try:
            parsed = dt.datetime.strptime(text.strip(), fmt)  # noqa: DTZ007 - made aware below
        except ValueError:
            continue
        return timezone.make_aware(parsed, zoneinfo.ZoneInfo(zone))
    raise ValueError(text)


#: A clean row to write: (row number, lead fields, when the person came).
CleanRow = tuple[int, dict[str, Any], dt.datetime | None]


@dataclass
class RowResult:
    created: int = 0
    duplicates: int = 0
    conflicts: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    lead_ids: list[int] = field(default_factory=list)  # known leads touched again
    new_lead_ids: list[int] = field(default_factory=list)
    owners_told: dict[int, int] = field(default_factory=dict)
    #: ``ImportRow`` values of the rows refused while reading (kept when a write is redone)
    failed_rows: list[dict[str, Any]] = field(default_factory=list)
    #: ``ImportRow`` values of the rows written (created, touch, conflict)
    rows: list[dict[str, Any]] = field(default_factory=list)


def _refuse(result: RowResult, row_no: int, problems: list[dict[str, str]]) -> None:
    """Record a refused row: each problem in the job's errors and the row's messages."""
    result.failed += 1
    result.errors += [{"row": row_no, **problem} for problem in problems]
    result.failed_rows.append(
        {"row": row_no, "outcome": ImportRowOutcome.FAILED, "lead_id": None, "messages": problems}
    )


#: Contact fields: a row needs one that is valid.
_CONTACT_FIELDS = ("phone", "email", "wechat")


def _clean_all(fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``clean_lead_fields`` reporting every bad field, not only the first: the first bad
    field is set aside (a missing or bad name replaced by a stand-in) and the rest checked
    again, so a row with no name and an invalid phone has both problems named. Returns the
    clean fields (meaningful only without problems) and ``{field: message}``."""
    problems: dict[str, str] = {}
    fields = dict(fields)
    for _attempt in range(len(fields) + 2):
        try:
            return clean_lead_fields(fields), problems
        except ServiceError as exc:
            name = exc.field or "name"
            if name in problems:  # never expected: stop rather than loop
                break
            problems[name] = exc.message
            if name == "name":
                fields["name"] = "x"  # a stand-in, so the other fields are checked
            else:
                fields.pop(name, None)
    return {}, problems


@dataclass(frozen=True)
class _Clock:
    """The time zone that reads a list's dates and the latest believable check-in, taken
    once per batch of rows (asking Django for the current zone costs more than parsing)."""

    zone: str
    horizon: dt.datetime

    @classmethod
    def now(cls) -> _Clock:
        return cls(timezone.get_current_timezone_name(), timezone.now() + dt.timedelta(days=1))


def _row_fields(
    row: list[str],
    mapping: Mapping[str, str],
    headers: list[str],
    row_no: int,
    result: RowResult,
    clock: _Clock | None = None,
) -> tuple[dict[str, Any], dt.datetime | None] | None:
    """One row as clean lead fields, or ``None`` after recording every reason it is refused
    (each with its column)."""
    clock = clock or _Clock.now()
    raw = {target: (row[int(i)] if int(i) < len(row) else "") for i, target in mapping.items()}
    column = {target: headers[int(i)] for i, target in mapping.items()}
    if not any(raw.values()):
        return None  # blank line: not a lead, not an error
    unreadable = [t for t, v in raw.items() if "\ufffd" in v]
    if unreadable:
        message = _("Characters that cannot be read in this encoding.")
        _refuse(result, row_no, [{"column": column[t], "message": message} for t in unreadable])
        return None
    problems: list[dict[str, str]] = []
    when = None
    if raw.get("touched_at"):
        try:
            when = _parse_when_in(raw["touched_at"], clock.zone)
        except ValueError:
            problems.append(
                {
                    "column": column["touched_at"],
                    "message": _(
                        "“%(value)s” is not a date we understand "
                        "(use 2026-05-31 or 2026/5/31 14:00)."
                    )
                    % {"value": raw["touched_at"]},
                }
            )
        else:
            if when > clock.horizon:
                when = None
    fields = {k: v for k, v in raw.items() if k != "touched_at" and v != ""}
    if "company_size" in fields:
        fields["company_size"] = _size_bracket(fields["company_size"])
    if "timeline" in fields:
        fields["timeline"] = _word_choice(fields["timeline"], _TIMELINE_WORDS, Timeline.UNKNOWN)
    if "decision_role" in fields:
        fields["decision_role"] = _word_choice(
            fields["decision_role"], _ROLE_WORDS, DecisionRole.UNKNOWN
        )
    if "budget" in fields:
        fields["budget"] = re.sub(r"[,，¥￥\s元]", "", fields["budget"])
    cleaned, bad = _clean_all(fields)
    problems += [{"column": column.get(name, name), "message": text} for name, text in bad.items()]
    given_contact = any(fields.get(name) for name in _CONTACT_FIELDS)
    if not given_contact or (not bad and not any(cleaned.get(n) for n in _CONTACT_FIELDS)):
        problems.append(
            {
                "column": column.get("phone", "phone"),
                "message": _("No phone, email or WeChat: the person cannot be reached."),
            }
        )
    if problems:
        _refuse(result, row_no, problems)
        return None
    cleaned["_company_key"] = normalize_company_name(cleaned.get("company_name", ""))
    return cleaned, when


def _companies_for(rows: list[dict[str, Any]]) -> dict[str, SimpleNamespace]:
    """The companies of these rows by normalised name (created when new), as plain values."""
    wanted: dict[str, dict[str, Any]] = {}
    for data in rows:
        key = data.setdefault("_company_key", normalize_company_name(data.get("company_name", "")))
        if key and key not in wanted:
            wanted[key] = data
    if not wanted:
        return {}
    columns = ("pk", "normalized_name", "name", "industry", "size", "region")

    def known(keys: list[str]) -> dict[str, SimpleNamespace]:
        return {
            row[1]: SimpleNamespace(**dict(zip(columns, row, strict=True)))
            for row in Company.objects.filter(normalized_name__any_of=keys).values_list(*columns)
        }

    found = known(list(wanted))
    missing = [key for key in wanted if key not in found]
    if missing:
        fast_bulk_insert(
            Company,
            [
                Company(
                    normalized_name=key,
                    name=wanted[key]["company_name"][:200],
                    industry=wanted[key].get("industry", ""),
                    size=wanted[key].get("company_size", ""),
                    region=wanted[key].get("region", ""),
                )
                for key in missing
            ],
            ignore_conflicts=True,  # another import or a capture may create one meanwhile
        )
        found |= known(missing)
    return found


#: What an unsaved lead holds before its own fields are set (the model's defaults).
_LEAD_BLANK = {
    f.attname: f.get_default()
    for f in Lead._meta.concrete_fields
    if not (f.primary_key or f.is_relation or getattr(f, "auto_now", False))
}


@dataclass(frozen=True)
class _OpenLead:
    """An open lead as the batch matches it (plain values)."""

    pk: int
    owner_id: int | None
    name: str
    phone: str
    email: str


def _open_leads(phones: set[str], emails: set[str]) -> dict[str, _OpenLead]:
    """Open leads holding these contacts: ``{"p:<phone>" | "e:<email>": lead}``.

    One query per contact kind, shaped like the partial unique indexes of the duplicate
    rule so that those indexes answer it.
    """
    found: dict[str, _OpenLead] = {}
    open_leads = Lead.objects.exclude(stage__in=sorted(CLOSED_STAGES))
    for prefix, column, values in (("p:", "phone", phones), ("e:", "email", emails)):
        if not values:
            continue
        rows = (
            open_leads.exclude(**{column: ""})
            .filter(**{f"{column}__any_of": sorted(values)})
            .order_by()
            .values_list(column, "pk", "owner_id", "name", "phone", "email")
        )
        for value, *lead in rows:
            found.setdefault(prefix + value, _OpenLead(*lead))
    return found


def name_key(text: str) -> str:
    """A name as compared for the same person: trimmed, spaces collapsed, full-width
    characters as half-width (NFKC), case folded — "Wang  Fang" is "ｗａｎｇ fang"."""
    return " ".join(unicodedata.normalize("NFKC", text or "").split()).casefold()


def contact_differences(data: Mapping[str, Any], lead: _OpenLead, *, matched: str) -> list[str]:
    """The fields in which an arrival matched on ``matched`` ("phone" or "email") differs
    from its lead: the name, and the other contact when both have one. Empty: the same
    person (a plain touch); else a conflict for the desk."""
    differs = []
    if data.get("name") and name_key(data["name"]) != name_key(lead.name):
        differs.append("name")
    other = "email" if matched == "phone" else "phone"
    if data.get(other) and getattr(lead, other) and data[other] != getattr(lead, other):
        differs.append(other)
    return differs


def given_values(data: Mapping[str, Any]) -> dict[str, str]:
    """What a conflicting arrival gave, kept on its touch (``LeadTouch.given``)."""
    return {
        "name": data.get("name", "") or "",
        "phone": data.get("phone", "") or "",
        "email": data.get("email", "") or "",
        "company": data.get("company_name", "") or "",
    }


def _given_key(given: Mapping[str, Any]) -> tuple[str, str, str]:
    return (name_key(given.get("name", "")), given.get("phone", ""), given.get("email", ""))


def _conflict_messages(
    differs: list[str], *, matched: str, lead_id: int, columns: Mapping[str, str]
) -> list[dict[str, str]]:
    """One message per differing column of a conflict row (no personal values: they are
    kept on the touch, which the privacy requests reach)."""
    on = _("phone") if matched == "phone" else _("email")
    return [
        {
            "column": columns.get(name, name),
            "message": _(
                "Differs from lead %(lead)s, which has the same %(contact)s: added as a touch "
                "and flagged for the desk's review."
            )
            % {"lead": lead_id, "contact": on},
        }
        for name in differs
    ]


def _matched(data: Mapping[str, Any], found: Mapping[str, Any]) -> tuple[str, str] | None:
    """(the key, "phone" or "email") of the first contact of the row in ``found``."""
    for key, kind in (
        ("p:" + data.get("phone", ""), "phone"),
        ("e:" + data.get("email", ""), "email"),
    ):
        if len(key) > 2 and key in found:
            return key, kind
    return None


def _columns(job: ImportJob) -> dict[str, str]:
    """``{field: the file's header}`` of the job's mapping."""
    headers = job.headers or []
    return {
        target: headers[int(i)] if str(i).isdigit() and int(i) < len(headers) else target
        for i, target in (job.mapping or {}).items()
    }


def _write_batch(job: ImportJob, batch: list[CleanRow], result: RowResult) -> None:
    """Bulk-write one batch of clean rows (caller holds the transaction).

    New people become leads written already scored, with their first touch and their
    ``created`` event; known people (an open lead with the same phone or email, in the
    database or earlier in this file) get a touch and a ``duplicate`` event, once per
    campaign and touch kind. A known person's row that gives another name (or the other
    contact) is a *conflict*: it gets its own touch keeping what it gave (``given``) and a
    ``ContactReview`` that flags the lead for the desk, once per lead and values given by
    this list. Every row's outcome goes to ``result.rows``. Rows are plain values: no model
    instance per row.

    No identity locks are taken (a batch would need thousands): the partial unique indexes
    of the duplicate rule refuse a lead that a capture or another import wrote since the
    lookup, and the caller then redoes the batch row by row; a capture that loses to this
    batch becomes a touch on its lead (``lead_create``).
    """
    now = timezone.now()
    campaign = job.campaign
    columns = _columns(job)
    existing = _open_leads(
        {d["phone"] for _, d, _ in batch if d.get("phone")},
        {d["email"] for _, d, _ in batch if d.get("email")},
    )
    # Known people this list (campaign and touch kind) touched before, and the conflicting
    # values it already kept on them. Filtered here, not in SQL, so the only usable index is
    # the one on the lead: a campaign's touches can number millions, and right after a big
    # import the planner's statistics lag behind.
    already: set[int] = set()
    flagged: set[tuple[int, tuple[str, str, str]]] = set()
    for lead_id, campaign_id, kind, given in (
        LeadTouch.objects.filter(lead_id__any_of={lead.pk for lead in existing.values()})
        .order_by()
        .values_list("lead_id", "campaign_id", "kind", "given")
    ):
        if campaign_id == campaign.pk and kind == job.touch_kind:
            already.add(lead_id)
            if given:
                flagged.add((lead_id, _given_key(given)))
    companies = _companies_for([d for _, d, _ in batch])
    new_leads: list[tuple[dict[str, Any], dt.datetime, SimpleNamespace | None, int]] = []
    pending: dict[str, int] = {}  # contact key → index in new_leads
    in_file: list[tuple[int, dict[str, Any], dt.datetime | None, int, str]] = []
    touches: list[dict[str, Any]] = []
    conflicts: list[tuple[int, int, dict[str, Any], dt.datetime | None, str]] = []
    events: list[dict[str, Any]] = []
    for row_no, data, when in batch:
        match = _matched(data, existing)
        if match is None:
            earlier = _matched(data, pending)
            if earlier is not None:  # the same contact earlier in this file
                key, kind = earlier
                in_file.append((row_no, data, when, pending[key], kind))
                continue
            company = companies.get(data.get("_company_key", ""))
            lead = new_lead_values(  # the columns it does not set keep their defaults
                data,
                campaign_id=campaign.pk,
                company_id=company.pk if company else None,
                company_name=company_name_of(company),
                actor_id=job.created_by_id,
                now=now,
            )
            for key in ("p:" + data.get("phone", ""), "e:" + data.get("email", "")):
                if len(key) > 2:
                    pending.setdefault(key, len(new_leads))
            new_leads.append((lead, when or now, company, row_no))
            continue
        key, kind = match
        known = existing[key]
        differs = contact_differences(data, known, matched=kind)
        if differs:
            conflicts.append((row_no, known.pk, data, when, kind))
            result.rows.append(
                {
                    "row": row_no,
                    "outcome": ImportRowOutcome.CONFLICT,
                    "lead_id": known.pk,
                    "messages": _conflict_messages(
                        differs, matched=kind, lead_id=known.pk, columns=columns
                    ),
                }
            )
            result.conflicts += 1
        else:
            result.rows.append(
                {
                    "row": row_no,
                    "outcome": ImportRowOutcome.TOUCH,
                    "lead_id": known.pk,
                    "messages": [],
                }
            )
            result.duplicates += 1
            if known.pk in already:
                continue  # this list (or another row of it) already touched them
            already.add(known.pk)
            touches.append(
                {
                    "lead_id": known.pk,
                    **touch_values(
                        campaign_id=campaign.pk,
                        kind=job.touch_kind,
                        occurred_at=when or now,
                        is_first=False,
                    ),
                }
            )
            events.append(_returned_event(job, known.pk, row_no, now))
        result.lead_ids.append(known.pk)
        if known.owner_id:
            result.owners_told[known.owner_id] = result.owners_told.get(known.owner_id, 0) + 1
    # Scored here, in the batch's transaction, with the rule set held until it commits: no
    # lead of the batch is committed without its rule grade and the version it came from.
    version, scores = score_arrivals(
        [
            SimpleNamespace(**{**_LEAD_BLANK, **lead}, company=company, source_campaign=campaign)
            for lead, _when, company, _row in new_leads
        ],
        touch_kind=job.touch_kind,
    )
    for (lead, _when, _company, _row), score in zip(new_leads, scores, strict=True):
        lead.update(
            score=score.score,
            grade=score.grade,
            grade_source=GradeSource.RULE,
            score_detail=score.detail,
            score_version=version,
            scored_at=now,
        )
    writer = _writer()
    ids = writer.insert(Lead, [lead for lead, _when, _company, _row in new_leads], return_ids=True)
    ids = ids or []
    event_data = created_event_data(
        campaign_id=campaign.pk, touch_kind=job.touch_kind, **_created_extra(job)
    )
    sole_credits = sole_touch_credits() if ids else {}  # a new lead's touch is its only one
    for pk, (_lead, when, _company, row_no) in zip(ids, new_leads, strict=True):
        touches.append(
            {
                "lead_id": pk,
                **touch_values(
                    campaign_id=campaign.pk, kind=job.touch_kind, occurred_at=when, is_first=True
                ),
                **sole_credits,
            }
        )
        events.append(
            {
                "lead_id": pk,
                "kind": EventKind.CREATED,
                "at": now,
                "actor_id": job.created_by_id,
                "to_stage": Stage.NEW,
                "data": event_data,
            }
        )
        result.rows.append(
            {"row": row_no, "outcome": ImportRowOutcome.CREATED, "lead_id": pk, "messages": []}
        )
    # The same contact again later in this file: a touch on the lead just written (which
    # has this list's touch already), or a conflict when it gives another name.
    for row_no, data, when, index, kind in in_file:
        lead_values, pk = new_leads[index][0], ids[index]
        written = _OpenLead(
            pk, None, lead_values.get("name", ""), lead_values.get("phone", ""),
            lead_values.get("email", ""),
        )  # fmt: skip
        differs = contact_differences(data, written, matched=kind)
        outcome = ImportRowOutcome.CONFLICT if differs else ImportRowOutcome.TOUCH
        messages = _conflict_messages(differs, matched=kind, lead_id=pk, columns=columns)
        result.rows.append({"row": row_no, "outcome": outcome, "lead_id": pk, "messages": messages})
        if differs:
            conflicts.append((row_no, pk, data, when, kind))
            result.conflicts += 1
            result.lead_ids.append(pk)
        else:
            result.duplicates += 1
    _write_conflicts(job, writer, conflicts, flagged, events, now)
    writer.insert(LeadTouch, touches)
    writer.insert(LeadEvent, events)
    if result.lead_ids:
        # Known people: their touches share the credit anew, and a lead without a source
        # campaign takes this one (as ``lead_create`` does for a single arrival).
        recompute_credits(result.lead_ids)
        Lead.objects.filter(pk__any_of=result.lead_ids, source_campaign__isnull=True).update(
            source_campaign_id=campaign.pk, updated_at=now
        )
    result.created += len(ids)
    result.new_lead_ids += ids


def _returned_event(
    job: ImportJob, lead_id: int, row_no: int, now: dt.datetime, **extra: Any
) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "kind": EventKind.DUPLICATE,
        "at": now,
        "data": returned_event_data(
            campaign_id=job.campaign_id,
            touch_kind=job.touch_kind,
            # Extra event data: neither key is ``name`` (no personal value in the event).
            **{"import": job.pk, "row": row_no, **extra},
        ),
    }


def _write_conflicts(
    job: ImportJob,
    writer: PostgresCopyWriter | OrmWriter,
    conflicts: list[tuple[int, int, dict[str, Any], dt.datetime | None, str]],
    flagged: set[tuple[int, tuple[str, str, str]]],
    events: list[dict[str, Any]],
    now: dt.datetime,
) -> None:
    """Each conflict row's touch (with the values it gave) and its review, in bulk; a lead
    this list already flagged with the same values is not flagged twice (a re-import)."""
    touches, reviews = [], []
    for row_no, lead_id, data, when, kind in conflicts:
        given = given_values(data)
        if (lead_id, _given_key(given)) in flagged:
            continue
        flagged.add((lead_id, _given_key(given)))
        touches.append(
            {
                "lead_id": lead_id,
                **touch_values(
                    campaign_id=job.campaign_id,
                    kind=job.touch_kind,
                    occurred_at=when or now,
                    is_first=False,
                ),
                "given": given,
            }
        )
        reviews.append({"lead_id": lead_id, "job_id": job.pk, "row": row_no, "created_at": now})
        events.append(_returned_event(job, lead_id, row_no, now, conflict=kind))
    touch_ids = writer.insert(LeadTouch, touches, return_ids=True) or []
    writer.insert(
        ContactReview,
        [{**review, "touch_id": pk} for review, pk in zip(reviews, touch_ids, strict=True)],
    )


def _created_extra(job: ImportJob) -> dict[str, Any]:
    """What a lead created by this import records in its ``created`` event: the import and
    the legal basis the marketer stated for the list (PIPL)."""
    extra: dict[str, Any] = {"import": job.pk}
    if job.legal_basis:
        extra.update(
            legal_basis=job.legal_basis,
            legal_basis_note=job.legal_basis_note,
            legal_basis_date=job.legal_basis_date.isoformat() if job.legal_basis_date else None,
        )
    return extra


def _writer() -> PostgresCopyWriter | OrmWriter:
    return PostgresCopyWriter() if PostgresCopyWriter.available() else OrmWriter(BATCH_SIZE)


def _write_batch_slowly(job: ImportJob, batch: list[CleanRow], result: RowResult) -> None:
    """Row by row through the lifecycle service: used when a bulk write hit a race. A row
    that ``lead_create`` turned into a touch on a lead of another name (or contact) is
    flagged as a conflict, as in the bulk path."""
    columns = _columns(job)
    for row_no, data, when in batch:
        fields = {k: v for k, v in data.items() if not k.startswith("_")}
        try:
            with transaction.atomic():
                known = _match_one(data)
                answer = lead_create(
                    actor=None,
                    fields=fields,
                    campaign=job.campaign,
                    touch_kind=job.touch_kind,
                    occurred_at=when,
                )
        except ServiceError as exc:
            _refuse(
                result,
                row_no,
                [{"column": columns.get(exc.field or "", ""), "message": exc.message}],
            )
            continue
        lead = answer.lead
        result.lead_ids.append(lead.pk)
        if not answer.duplicate:
            result.created += 1
            result.new_lead_ids.append(lead.pk)
            result.rows.append(
                {
                    "row": row_no,
                    "outcome": ImportRowOutcome.CREATED,
                    "lead_id": lead.pk,
                    "messages": [],
                }
            )
            continue
        kind = known[1] if known else ("phone" if data.get("phone") == lead.phone else "email")
        plain = _OpenLead(lead.pk, lead.owner_id, lead.name, lead.phone, lead.email)
        differs = contact_differences(data, plain, matched=kind)
        if not differs:
            result.duplicates += 1
            result.rows.append(
                {
                    "row": row_no,
                    "outcome": ImportRowOutcome.TOUCH,
                    "lead_id": lead.pk,
                    "messages": [],
                }
            )
            continue
        touch = LeadTouch.objects.filter(lead=lead).order_by("-id").first()
        if touch is not None:
            touch.given = given_values(data)
            touch.save(update_fields=["given"])
            ContactReview.objects.get_or_create(
                touch=touch, defaults={"lead": lead, "job": job, "row": row_no}
            )
        result.conflicts += 1
        result.rows.append(
            {
                "row": row_no,
                "outcome": ImportRowOutcome.CONFLICT,
                "lead_id": lead.pk,
                "messages": _conflict_messages(
                    differs, matched=kind, lead_id=lead.pk, columns=columns
                ),
            }
        )


def _match_one(data: Mapping[str, Any]) -> tuple[str, str] | None:
    """How one row matches an open lead before it is written (slow path)."""
    return _matched(
        data,
        _open_leads(
            {data["phone"]} if data.get("phone") else set(),
            {data["email"]} if data.get("email") else set(),
        ),
    )


def stale_after() -> dt.timedelta:
    """How long a running job may go without a heartbeat before another worker takes over."""
    return dt.timedelta(seconds=settings.IMPORT_STALE_SECONDS)


def _claim(job_id: int) -> bool:
    """pending → running, or take over a running job whose worker went silent."""
    now = timezone.now()
    stale = Q(status=ImportStatus.RUNNING, heartbeat_at__lt=now - stale_after())
    return bool(
        ImportJob.objects.filter(
            Q(pk=job_id, awaiting_mapping=False) & (Q(status=ImportStatus.PENDING) | stale)
        ).update(status=ImportStatus.RUNNING, heartbeat_at=now, started_at=now)
    )


def _commit_batch(job: ImportJob, batch: list[CleanRow], result: RowResult, rows_seen: int) -> None:
    """Write one batch with its progress in one transaction. If someone wrote one of these
    people meanwhile (the unique index refuses the insert), look again and retry in bulk
    once (the racing lead is committed by now, so it counts as a duplicate), then, if it
    still races, redo the batch one row at a time through the lifecycle service."""
    for _attempt in range(2):
        try:
            with transaction.atomic():
                _relaxed_commit()
                _write_batch(job, batch, result)
                _finish_batch(job, result, rows_seen)
            return
        except IntegrityError:
            logger.info("Import %s: a batch raced another arrival; retrying", job.pk)
            _forget_writes(result)
    with transaction.atomic():
        _write_batch_slowly(job, batch, result)
        _finish_batch(job, result, rows_seen)


def _forget_writes(result: RowResult) -> None:
    """Undo a rolled-back attempt's counts (the rows' own errors stay)."""
    result.created = result.duplicates = result.conflicts = 0
    result.rows.clear()
    result.lead_ids.clear()
    result.new_lead_ids.clear()
    result.owners_told.clear()


def _relaxed_commit() -> None:
    """Let this batch's commit return before its WAL reaches the disk (PostgreSQL).

    Safe here: a crash can lose only the last batches whole, and the job's progress is
    committed with them, so the job resumes exactly after the last batch that survived.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _finish_batch(job: ImportJob, result: RowResult, rows_seen: int) -> None:
    if result.lead_ids:  # a new touch can change a known lead's score
        score_leads(sorted(set(result.lead_ids)), event_data={"import": job.pk})
    with routed_as_a_set():  # the qualified rows are routed by one set-based task
        auto_qualify(result.new_lead_ids)
    if result.lead_ids or result.new_lead_ids:
        announce(
            Announcement.IMPORTED,
            lead_ids=sorted(set(result.lead_ids) | set(result.new_lead_ids)),
        )
    job.processed = rows_seen
    job.created += result.created
    job.duplicates += result.duplicates
    job.conflicts += result.conflicts
    job.failed += result.failed
    room = MAX_ERRORS - len(job.errors)
    job.errors = job.errors + result.errors[: max(0, room)]
    job.heartbeat_at = timezone.now()
    job.save(
        update_fields=[
            "processed",
            "created",
            "duplicates",
            "conflicts",
            "failed",
            "errors",
            "heartbeat_at",
        ]
    )
    # Every row's outcome, set-based with the batch (a resumed job never stores one twice).
    # Through the batch's writer: COPY on PostgreSQL, ``bulk_create`` elsewhere.
    _writer().insert(
        ImportRow, [{"job_id": job.pk, **row} for row in (*result.failed_rows, *result.rows)]
    )


def _prepare(job: ImportJob) -> None:
    """Read the headers (a job from the API was not read before) and check the mapping,
    automatic when none was given; saved so that a resumed job reads them again as is."""
    if not job.headers:
        shape = _read_shape(job)
        job.headers, job.sample = shape.headers, shape.sample
        job.encoding, job.delimiter = shape.encoding, shape.delimiter
    job.mapping = check_mapping(job.mapping or auto_mapping(job.headers), job.headers)
    job.save(update_fields=["headers", "sample", "encoding", "delimiter", "mapping"])


def _parsed_batches(
    handle: IO[bytes], shape: FileShape, job: ImportJob, *, skip: int
) -> Generator[tuple[list[CleanRow], RowResult, int], None, None]:
    """The rows after the first ``skip`` (committed by an earlier run), read and checked,
    in batches: ``(clean rows, the refused rows' errors, rows seen so far)``. The last
    batch may be empty; it carries the final count."""
    rows_seen, result = 0, RowResult()
    batch: list[CleanRow] = []
    clock = _Clock.now()
    for row in iter_rows(handle, shape):
        rows_seen += 1
        if rows_seen <= skip:
            continue
        parsed = _row_fields(row, job.mapping, job.headers, rows_seen, result, clock)
        if parsed is not None:
            batch.append((rows_seen, *parsed))
        if len(batch) >= BATCH_SIZE or (rows_seen - skip) % (BATCH_SIZE * 2) == 0:
            yield batch, result, rows_seen
            batch, result, clock = [], RowResult(), _Clock.now()
    yield batch, result, max(rows_seen, skip)


def import_run(*, job_id: int) -> ImportJob | None:
    """Run (or resume) an import job. A second delivery of a running job is a no-op."""
    if not _claim(job_id):
        return None
    job = ImportJob.objects.select_related("campaign__channel", "created_by").get(pk=job_id)
    owners: dict[int, int] = {}
    if not job.headers or not job.mapping:
        try:
            _prepare(job)
        except ServiceError as exc:  # the file or its mapping is refused: nothing was written
            _fail(job_id, exc.message)
            return None
        except Exception as exc:  # e.g. the stored file is gone: failed, never left running
            logger.exception("Import %s failed before its first row", job_id)
            _fail(
                job_id, _("The import stopped: %(error)s. Nothing was imported.") % {"error": exc}
            )
            raise
    try:
        with job.file.open("rb") as handle:
            shape = FileShape(
                kind=job.file_kind,
                encoding=job.encoding,
                delimiter=job.delimiter or ",",
                headers=job.headers,
            )
            if job.total is None:
                job.total = _count_rows(handle, shape)
                job.save(update_fields=["total"])
            rows_seen = job.processed
            # Closed before the file is, even when a batch fails.
            batches = contextlib.closing(_parsed_batches(handle, shape, job, skip=job.processed))
            with batches as parsed:
                for batch, result, rows_seen in parsed:
                    _commit_batch(job, batch, result, rows_seen)
                    for owner, n in result.owners_told.items():
                        owners[owner] = owners.get(owner, 0) + n
        job.total = rows_seen
        job.status, job.finished_at = ImportStatus.DONE, timezone.now()
        if len(job.errors) >= MAX_ERRORS:
            job.message = _("Only the first %(n)d errors are listed.") % {"n": MAX_ERRORS}
        job.save(update_fields=["total", "status", "finished_at", "message"])
    except ServiceError as exc:  # a limit reached while reading (too many cells)
        _fail(
            job_id,
            _("The import stopped: %(error)s Rows before it were imported.")
            % {"error": exc.message},
        )
        return None
    except Exception as exc:
        logger.exception("Import %s failed", job_id)
        _fail(
            job_id,
            _("The import stopped: %(error)s. Rows before it were imported.") % {"error": exc},
        )
        raise
    for owner_id, count in owners.items():
        enqueue_on_commit(
            "notifications.tasks.tell_import_duplicates_task", job.pk, owner_id, count
        )
    enqueue_on_commit("notifications.tasks.tell_import_done_task", job.pk)
    return job


def requeue_stale_imports() -> int:
    """Queue again the jobs whose worker died (no heartbeat for ``IMPORT_STALE_SECONDS``)
    or that were never picked up; ``import_run`` resumes after the last committed batch."""
    cutoff = timezone.now() - stale_after()
    jobs = ImportJob.objects.filter(
        Q(status=ImportStatus.RUNNING, heartbeat_at__lt=cutoff)
        | Q(status=ImportStatus.PENDING, awaiting_mapping=False, created_at__lt=cutoff)
    ).values_list("pk", flat=True)
    queued = sum(enqueue("leads.tasks.import_run_task", pk) for pk in jobs)
    unread = ImportJob.objects.filter(
        status=ImportStatus.PENDING, awaiting_mapping=True, created_at__lt=cutoff
    ).values_list("pk", "headers")
    return queued + sum(
        enqueue("leads.tasks.import_inspect_task", pk) for pk, headers in unread if not headers
    )


def staging_cleanup(*, older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Delete uploads whose column mapping nobody confirmed (the jobs waiting for it and
    their files), and files left in ``imports/staging/`` by earlier versions."""
    from django.core.files.storage import default_storage

    cutoff = timezone.now() - older_than
    removed = 0
    for job in ImportJob.objects.filter(awaiting_mapping=True, created_at__lt=cutoff):
        _delete_job(job)
        removed += 1
    if not default_storage.exists("imports/staging"):
        return removed
    for name in default_storage.listdir("imports/staging")[1]:
        path = f"imports/staging/{name}"
        if default_storage.get_modified_time(path) < cutoff:
            default_storage.delete(path)
            removed += 1
    return removed


def errors_csv_rows(job: ImportJob) -> Iterator[list[str]]:
    yield [_("row"), _("column"), _("message")]
    for error in job.errors:
        yield [str(error.get("row", "")), str(error.get("column", "")), error.get("message", "")]


def import_rows(job: ImportJob, outcome: str | None = None) -> QuerySet[ImportRow]:
    """The job's row outcomes in row order, optionally of one outcome (refused when unknown)."""
    rows = ImportRow.objects.filter(job=job).order_by("row")
    if outcome:
        if outcome not in ImportRowOutcome.values:
            raise ServiceError(
                _("“%(value)s” is not an outcome; use one of: %(outcomes)s.")
                % {"value": outcome, "outcomes": ", ".join(ImportRowOutcome.values)},
                field="outcome",
            )
        rows = rows.filter(outcome=outcome)
    return rows


def messages_text(messages: list[dict[str, Any]]) -> str:
    """A row's messages as one line: "column: message; …"."""
    return joined(
        labelled(m.get("column"), m.get("message"))
        if m.get("column")
        else str(m.get("message", ""))
        for m in messages
        if isinstance(m, dict)
    )


def rows_file_rows(rows: QuerySet[ImportRow]) -> Iterator[list[str]]:
    """Header, then one line per row outcome (for the CSV/XLSX download), streamed."""
    labels = dict(ImportRowOutcome.choices)
    yield [_("row"), _("outcome"), _("outcome (label)"), _("lead"), _("messages")]
    for row, outcome, lead_id, messages in rows.values_list(
        "row", "outcome", "lead_id", "messages"
    ).iterator(chunk_size=2000):
        yield [
            str(row),
            outcome,
            str(labels.get(outcome, outcome)),
            str(lead_id or ""),
            messages_text(messages or []),
        ]
