"""Bulk import of attendee lists and ad-platform exports (CSV or XLSX) into a campaign.

Files are streamed row by row, never loaded whole. Rows are processed in batches: each
batch is validated, matched against open leads (the duplicate rule), written with bulk
inserts, scored, and committed together with the job's progress, so an interrupted job
resumes after its last committed batch and never creates a lead twice.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from leads.choices import (
    CLOSED_STAGES,
    CompanySize,
    DecisionRole,
    EventKind,
    ImportStatus,
    Stage,
    Timeline,
    TouchKind,
)
from leads.models import Company, ImportJob, Lead, LeadEvent, LeadTouch
from leads.normalize import normalize_company_name
from leads.services import _lock_identity, clean_lead_fields, lead_create
from pipeline.db import fast_bulk_insert
from pipeline.errors import ServiceError
from pipeline.roles import Role, has_role
from pipeline.tasks import enqueue_on_commit
from reports.attribution import recompute_credits

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
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
# Reading files
# --------------------------------------------------------------------------------------


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


def _open_xlsx(handle: IO[bytes]) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    handle.seek(0)
    workbook = load_workbook(handle, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [_cell_text(v) for v in row]
    finally:
        workbook.close()


def inspect_file(handle: IO[bytes], name: str) -> FileShape:
    """Recognise the file type, encoding and delimiter, and read the header row."""
    handle.seek(0)
    head = handle.read(SAMPLE_BYTES)
    if not head.strip():
        raise ServiceError(_("The file is empty."), field="file")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ServiceError(
            _("This is an old Excel .xls file: save it as .xlsx or CSV first."), field="file"
        )
    if head.startswith(b"PK\x03\x04"):
        try:
            rows = _open_xlsx(handle)
            headers = next(rows, [])
            sample = [r for _, r in zip(range(5), rows, strict=False)]
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise ServiceError(
                _("This file is not a readable XLSX workbook."), field="file"
            ) from exc
        shape = FileShape(kind="xlsx", headers=headers, sample=sample)
    else:
        if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise ServiceError(_("This is not a CSV or XLSX file."), field="file")
        encoding = _detect_encoding(head)
        text = head.decode(encoding, errors="ignore")
        try:
            delimiter = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
        rows = _open_csv(handle, encoding, delimiter)
        headers = next(rows, [])
        sample = [r for _, r in zip(range(5), rows, strict=False)]
        shape = FileShape(
            kind="csv", encoding=encoding, delimiter=delimiter, headers=headers, sample=sample
        )
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
# Starting a job
# --------------------------------------------------------------------------------------


def _can_import(actor: User) -> bool:
    return has_role(actor, Role.MARKETER, Role.LEAD_DESK)


def import_start(
    *,
    actor: User,
    campaign: Campaign,
    upload: UploadedFile,
    mapping: Mapping[str, str] | None = None,
    touch_kind: str = TouchKind.IMPORT,
) -> ImportJob:
    """Check the file and the mapping, save the upload and queue the job."""
    if not _can_import(actor):
        raise ServiceError(_("You are not allowed to import leads."), code="forbidden")
    limit = settings.IMPORT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ServiceError(
            _("The file is %(size)d MB; the limit is %(limit)d MB. Split it into smaller files.")
            % {"size": upload.size // (1024 * 1024), "limit": limit // (1024 * 1024)},
            field="file",
        )
    if touch_kind not in TouchKind.values:
        raise ServiceError(
            _("“%(value)s” is not a valid choice.") % {"value": touch_kind}, field="touch_kind"
        )
    shape = inspect_file(upload, upload.name or "")
    chosen = check_mapping(
        auto_mapping(shape.headers) if mapping is None else mapping, shape.headers
    )
    upload.seek(0)
    with transaction.atomic():
        job = ImportJob.objects.create(
            campaign=campaign,
            file=upload,
            original_name=(upload.name or "upload")[:255],
            file_kind=shape.kind,
            encoding=shape.encoding,
            delimiter=shape.delimiter,
            headers=shape.headers,
            mapping=chosen,
            touch_kind=touch_kind,
            created_by=actor,
        )
        from leads.tasks import import_run_task

        enqueue_on_commit(import_run_task, job.pk)
    return job


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


def _parse_when(text: str) -> dt.datetime:
    for fmt in _DATE_FORMATS:
        try:
            parsed = dt.datetime.strptime(text.strip(), fmt)  # noqa: DTZ007 - made aware below
        except ValueError:
            continue
        return timezone.make_aware(parsed)
    raise ValueError(text)


@dataclass
class RowResult:
    created: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    lead_ids: list[int] = field(default_factory=list)
    new_leads: list[Lead] = field(default_factory=list)
    owners_told: dict[int, int] = field(default_factory=dict)


def _row_fields(
    row: list[str], mapping: Mapping[str, str], headers: list[str], row_no: int, result: RowResult
) -> tuple[dict, dt.datetime | None] | None:
    """One row as clean lead fields, or ``None`` after recording why it is refused."""
    raw = {target: (row[int(i)] if int(i) < len(row) else "") for i, target in mapping.items()}
    column = {target: headers[int(i)] for i, target in mapping.items()}
    if not any(raw.values()):
        return None  # blank line: not a lead, not an error
    if any("\ufffd" in value for value in raw.values()):
        bad = next(t for t, v in raw.items() if "\ufffd" in v)
        result.errors.append(
            {
                "row": row_no,
                "column": column[bad],
                "message": _("Characters that cannot be read in this encoding."),
            }
        )
        result.failed += 1
        return None
    when = None
    if raw.get("touched_at"):
        try:
            when = _parse_when(raw["touched_at"])
        except ValueError:
            result.errors.append(
                {
                    "row": row_no,
                    "column": column["touched_at"],
                    "message": _(
                        "“%(value)s” is not a date we understand "
                        "(use 2026-05-31 or 2026/5/31 14:00)."
                    )
                    % {"value": raw["touched_at"]},
                }
            )
            result.failed += 1
            return None
        if when > timezone.now() + dt.timedelta(days=1):
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
    try:
        cleaned = clean_lead_fields(fields)
    except ServiceError as exc:
        name = exc.field or "name"
        result.errors.append(
            {"row": row_no, "column": column.get(name, name), "message": exc.message}
        )
        result.failed += 1
        return None
    if not (cleaned.get("phone") or cleaned.get("email") or cleaned.get("wechat")):
        result.errors.append(
            {
                "row": row_no,
                "column": column.get("phone", "phone"),
                "message": _("No phone, email or WeChat: the person cannot be reached."),
            }
        )
        result.failed += 1
        return None
    return cleaned, when


def _companies_for(rows: list[dict]) -> dict[str, Company]:
    wanted: dict[str, dict] = {}
    for data in rows:
        key = data.setdefault("_company_key", normalize_company_name(data.get("company_name", "")))
        if key and key not in wanted:
            wanted[key] = data
    if not wanted:
        return {}
    Company.objects.bulk_create(
        [
            Company(
                normalized_name=key,
                name=data["company_name"][:200],
                industry=data.get("industry", ""),
                size=data.get("company_size", ""),
                region=data.get("region", ""),
            )
            for key, data in wanted.items()
        ],
        ignore_conflicts=True,
    )
    return {c.normalized_name: c for c in Company.objects.filter(normalized_name__in=wanted)}


_OWN_FIELDS = (
    "name",
    "title",
    "phone",
    "email",
    "wechat",
    "product_interest",
    "budget",
    "timeline",
    "decision_role",
    "need",
)


def _write_batch(
    job: ImportJob, batch: list[tuple[int, dict, dt.datetime | None]], result: RowResult
) -> None:
    """Bulk-write one batch of clean rows (caller holds the transaction)."""
    now = timezone.now()
    _lock_identity([k for _, d, _ in batch for k in (d.get("phone"), d.get("email")) if k])
    phones = {d["phone"] for _, d, _ in batch if d.get("phone")}
    emails = {d["email"] for _, d, _ in batch if d.get("email")}
    existing: dict[str, Lead] = {}
    if phones or emails:
        for lead in (
            Lead.objects.filter(Q(phone__in=phones) | Q(email__in=emails))
            .exclude(stage__in=CLOSED_STAGES)
            .only("pk", "phone", "email", "owner_id", "stage")
        ):
            if lead.phone:
                existing.setdefault("p:" + lead.phone, lead)
            if lead.email:
                existing.setdefault("e:" + lead.email, lead)
    already = set(
        LeadTouch.objects.filter(
            campaign=job.campaign,
            kind=job.touch_kind,
            lead_id__in={lead.pk for lead in existing.values()},
        ).values_list("lead_id", flat=True)
    )
    companies = _companies_for([d for _, d, _ in batch])
    new_leads: list[tuple[Lead, dt.datetime]] = []
    pending: dict[str, Lead] = {}
    touches, events = [], []
    for row_no, data, when in batch:
        keys = [
            k for k in ("p:" + data.get("phone", ""), "e:" + data.get("email", "")) if len(k) > 2
        ]
        match = next((existing[k] for k in keys if k in existing), None)
        if match is None:
            match = next((pending[k] for k in keys if k in pending), None)
        if match is not None:
            result.duplicates += 1
            if match.pk is None or match.pk in already:
                continue  # same person twice in this file, or this list imported before
            already.add(match.pk)
            touches.append(
                LeadTouch(
                    lead_id=match.pk,
                    campaign=job.campaign,
                    kind=job.touch_kind,
                    occurred_at=when or now,
                )
            )
            events.append(
                LeadEvent(
                    lead_id=match.pk,
                    kind=EventKind.DUPLICATE,
                    at=now,
                    data={
                        "campaign": job.campaign_id,
                        "import": job.pk,
                        "row": row_no,
                        "touch_kind": job.touch_kind,
                    },
                )
            )
            result.lead_ids.append(match.pk)
            if match.owner_id:
                result.owners_told[match.owner_id] = result.owners_told.get(match.owner_id, 0) + 1
            continue
        key = data.get("_company_key", "")
        lead = Lead(
            **{k: data[k] for k in _OWN_FIELDS if k in data},
            company=companies.get(key),
            source_campaign=job.campaign,
            created_by=job.created_by,
            created_at=now,
            stage=Stage.NEW,
        )
        new_leads.append((lead, when or now))
        for k in keys:
            pending[k] = lead
    fast_bulk_insert(Lead, [lead for lead, _when in new_leads])
    for lead, when in new_leads:
        touches.append(
            LeadTouch(
                lead_id=lead.pk,
                campaign=job.campaign,
                kind=job.touch_kind,
                occurred_at=when,
                is_first=True,
            )
        )
        events.append(
            LeadEvent(
                lead_id=lead.pk,
                kind=EventKind.CREATED,
                at=now,
                actor=job.created_by,
                to_stage=Stage.NEW,
                data={"campaign": job.campaign_id, "import": job.pk, "touch_kind": job.touch_kind},
            )
        )
        result.lead_ids.append(lead.pk)
    result.new_leads += [lead for lead, _ in new_leads]
    fast_bulk_insert(LeadTouch, touches)
    fast_bulk_insert(LeadEvent, events)
    recompute_credits({touch.lead_id for touch in touches})
    result.created += len(new_leads)


def _write_batch_slowly(job: ImportJob, batch, result: RowResult) -> None:
    """Row by row through the lifecycle service: used when a bulk write hit a race."""
    for row_no, data, when in batch:
        try:
            with transaction.atomic():
                answer = lead_create(
                    actor=None,
                    fields={k: v for k, v in data.items() if not k.startswith("_")},
                    campaign=job.campaign,
                    touch_kind=job.touch_kind,
                    occurred_at=when,
                )
        except ServiceError as exc:
            result.failed += 1
            result.errors.append({"row": row_no, "column": exc.field or "", "message": exc.message})
            continue
        result.lead_ids.append(answer.lead.pk)
        if answer.duplicate:
            result.duplicates += 1
        else:
            result.created += 1


def stale_after() -> dt.timedelta:
    """How long a running job may go without a heartbeat before another worker takes over."""
    return dt.timedelta(seconds=settings.IMPORT_STALE_SECONDS)


def _claim(job_id: int) -> bool:
    """pending → running, or take over a running job whose worker went silent."""
    now = timezone.now()
    stale = Q(status=ImportStatus.RUNNING, heartbeat_at__lt=now - stale_after())
    return bool(
        ImportJob.objects.filter(Q(pk=job_id) & (Q(status=ImportStatus.PENDING) | stale)).update(
            status=ImportStatus.RUNNING, heartbeat_at=now, started_at=now
        )
    )


def _commit_batch(job: ImportJob, batch: list, result: RowResult, rows_seen: int) -> None:
    from scoring.services import score_leads

    try:
        with transaction.atomic():
            _write_batch(job, batch, result)
            _finish_batch(job, result, rows_seen, score_leads)
    except IntegrityError:
        # Someone captured one of these people meanwhile: redo this batch one by one.
        logger.info("Import %s: batch raced a capture, retrying row by row", job.pk)
        result.created = result.duplicates = 0
        result.lead_ids.clear()
        result.new_leads.clear()
        result.owners_told.clear()
        with transaction.atomic():
            _write_batch_slowly(job, batch, result)
            _finish_batch(job, result, rows_seen, score_leads)


def _finish_batch(job: ImportJob, result: RowResult, rows_seen: int, score_leads) -> None:
    if result.lead_ids:
        score_leads(
            sorted(set(result.lead_ids)), loaded=result.new_leads, event_data={"import": job.pk}
        )
    job.processed = rows_seen
    job.created += result.created
    job.duplicates += result.duplicates
    job.failed += result.failed
    room = MAX_ERRORS - len(job.errors)
    job.errors = job.errors + result.errors[: max(0, room)]
    job.heartbeat_at = timezone.now()
    job.save(
        update_fields=["processed", "created", "duplicates", "failed", "errors", "heartbeat_at"]
    )


def import_run(*, job_id: int) -> ImportJob | None:
    """Run (or resume) an import job. A second delivery of a running job is a no-op."""
    if not _claim(job_id):
        return None
    job = ImportJob.objects.select_related("campaign", "created_by").get(pk=job_id)
    owners: dict[int, int] = {}
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
            skip, rows_seen = job.processed, 0
            batch: list = []
            result = RowResult()
            for row in iter_rows(handle, shape):
                rows_seen += 1
                if rows_seen <= skip:
                    continue  # committed by an earlier run of this job
                parsed = _row_fields(row, job.mapping, job.headers, rows_seen, result)
                if parsed is not None:
                    batch.append((rows_seen, *parsed))
                if len(batch) >= BATCH_SIZE or (rows_seen - skip) % (BATCH_SIZE * 2) == 0:
                    _commit_batch(job, batch, result, rows_seen)
                    for owner, n in result.owners_told.items():
                        owners[owner] = owners.get(owner, 0) + n
                    batch, result = [], RowResult()
            _commit_batch(job, batch, result, rows_seen)
            for owner, n in result.owners_told.items():
                owners[owner] = owners.get(owner, 0) + n
        job.total = rows_seen
        job.status, job.finished_at = ImportStatus.DONE, timezone.now()
        if len(job.errors) >= MAX_ERRORS:
            job.message = _("Only the first %(n)d errors are listed.") % {"n": MAX_ERRORS}
        job.save(update_fields=["total", "status", "finished_at", "message"])
    except Exception as exc:
        logger.exception("Import %s failed", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportStatus.FAILED,
            finished_at=timezone.now(),
            message=_("The import stopped: %(error)s. Rows before it were imported.")
            % {"error": exc},
        )
        raise
    if owners:
        from leads.tasks import notify_import_duplicates_task

        for owner_id, count in owners.items():
            enqueue_on_commit(notify_import_duplicates_task, job.pk, owner_id, count)
    return job


def requeue_stale_imports() -> int:
    """Queue again the jobs whose worker died (no heartbeat for ``IMPORT_STALE_SECONDS``)
    or that were never picked up; ``import_run`` resumes after the last committed batch."""
    from leads.tasks import import_run_task
    from pipeline.tasks import enqueue

    cutoff = timezone.now() - stale_after()
    jobs = ImportJob.objects.filter(
        Q(status=ImportStatus.RUNNING, heartbeat_at__lt=cutoff)
        | Q(status=ImportStatus.PENDING, created_at__lt=cutoff)
    ).values_list("pk", flat=True)
    return sum(enqueue(import_run_task, pk) for pk in jobs)


def staging_cleanup(*, older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Delete uploads left in ``imports/staging/`` by mapping steps nobody confirmed."""
    from django.core.files.storage import default_storage

    if not default_storage.exists("imports/staging"):
        return 0
    cutoff = timezone.now() - older_than
    removed = 0
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
