"""Import pages (upload → column mapping → job with progress) and the lead list export.

The upload is checked (``inspect_file``) and kept in a staging file — the path lives in the
session — until the user confirms the column mapping; only then does ``import_start``
create the ``ImportJob``. A refused file therefore leaves nothing behind but a message.
The job runs in the background; its page polls ``/api/v1/imports/<id>/``.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Campaign
from campaigns.selectors import campaigns_visible_to
from leads.choices import ImportStatus, TouchKind
from leads.exports import csv_stream, lead_rows, xlsx_file
from leads.filters import LeadFilterSet
from leads.imports import (
    IMPORT_FIELDS,
    FileShape,
    auto_mapping,
    check_mapping,
    import_start,
    inspect_file,
)
from leads.lifecycle.fields import LEAD_FIELDS
from leads.models import ImportJob
from leads.selectors import leads_visible_to
from leads.views.lists import sort_param, sorted_leads
from pipeline.errors import ServiceError
from pipeline.roles import Role, has_role

#: Who sees import jobs, and who may start one (the import service's rule).
IMPORT_READERS = (Role.MARKETER, Role.LEAD_DESK, Role.MANAGER)
IMPORT_WRITERS = (Role.MARKETER, Role.LEAD_DESK)
#: What a list is: the touch each row adds to the campaign.
IMPORT_TOUCH_KINDS = (TouchKind.IMPORT, TouchKind.EVENT_CHECKIN, TouchKind.WEBINAR)
SHOWN_ERRORS = 100
SESSION_KEY = "import_staged"
STAGING_DIR = "imports/staging"

#: The write fields under the spec's labels, and the import's own column.
FIELD_LABELS = {
    **{field.name: field.label for field in LEAD_FIELDS},
    "touched_at": gettext_lazy("Date of the touch (check-in, sign-up)"),
}

ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": gettext_lazy("UTF-8 with BOM"),
    "gb18030": gettext_lazy("GBK / GB18030 (Chinese Excel)"),
    "utf-16": "UTF-16",
}


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


def _can_read(user) -> bool:
    return has_role(user, *IMPORT_READERS)


def _can_import(user) -> bool:
    return has_role(user, *IMPORT_WRITERS)


def _mb(size: int) -> int:
    return size // (1024 * 1024)


# --------------------------------------------------------------------------------------
# Forms
# --------------------------------------------------------------------------------------


class CampaignChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} · {obj.channel}"


class UploadForm(forms.Form):
    campaign = CampaignChoiceField(
        label=gettext_lazy("Campaign"),
        queryset=Campaign.objects.none(),
        empty_label=gettext_lazy("— choose a campaign —"),
    )
    touch_kind = forms.ChoiceField(
        label=gettext_lazy("What is this list?"),
        choices=[(kind.value, kind.label) for kind in IMPORT_TOUCH_KINDS],
        initial=TouchKind.IMPORT,
        help_text=gettext_lazy("Each row adds this kind of touch to the campaign."),
    )
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "CSV (UTF-8 or GBK, as Excel saves it) or XLSX; the first row holds the headers."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = campaigns_visible_to(user).order_by("-start_date", "-id")
        limit = settings.IMPORT_MAX_BYTES
        self.fields["file"].widget.attrs["data-max-bytes"] = str(limit)
        self.fields["file"].widget.attrs["data-too-large"] = _(
            "This file is larger than %(limit)d MB. Split it into smaller files."
        ) % {"limit": _mb(limit)}


class MappingForm(forms.Form):
    """One select per column of the file: a lead field, or ignore."""

    def __init__(self, *args, headers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("— ignore —")), *[(f, field_label(f)) for f in IMPORT_FIELDS]]
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header or _("(column %(n)d, no header)") % {"n": index + 1},
                choices=choices,
                required=False,
            )

    def mapping(self) -> dict[str, str]:
        return {
            name.removeprefix("col_"): value for name, value in self.cleaned_data.items() if value
        }


# --------------------------------------------------------------------------------------
# Staging: the checked upload waits here until the mapping is confirmed
# --------------------------------------------------------------------------------------


def _staged(request: HttpRequest) -> dict[str, Any] | None:
    return request.session.get(SESSION_KEY)


def _drop_staged(request: HttpRequest) -> None:
    staged = request.session.pop(SESSION_KEY, None)
    if staged:
        with contextlib.suppress(OSError):
            default_storage.delete(staged["path"])


def _stage(request: HttpRequest, upload, shape: FileShape, campaign: Campaign, kind: str) -> str:
    """Keep the upload until the mapping is confirmed; one staged file per session."""
    _drop_staged(request)
    token = str(uuid.uuid4())
    upload.seek(0)
    path = default_storage.save(f"{STAGING_DIR}/{token}.{shape.kind}", upload)
    request.session[SESSION_KEY] = {
        "token": token,
        "path": path,
        "name": (upload.name or "upload")[:255],
        "size": upload.size,
        "campaign": campaign.pk,
        "touch_kind": kind,
    }
    return token


# --------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------


def progress_percent(job: ImportJob) -> int:
    if job.status == ImportStatus.DONE:
        return 100
    if not job.total:
        return 0
    return min(100, job.processed * 100 // job.total)


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    """Import jobs, newest first (optionally of one campaign)."""
    if not _can_read(request.user):
        raise PermissionDenied(_("Imports are for marketing, the lead desk and management."))
    jobs = ImportJob.objects.select_related("campaign__channel", "created_by").order_by(
        "-created_at", "-id"
    )
    campaign = None
    if request.GET.get("campaign", "").isdigit():
        campaign = get_object_or_404(
            campaigns_visible_to(request.user), pk=int(request.GET["campaign"])
        )
        jobs = jobs.filter(campaign=campaign)
    paginator = Paginator(jobs, 25)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "imports/import_list.html",
        {
            "rows": [(job, progress_percent(job)) for job in page.object_list],
            "page_obj": page,
            "paginator": paginator,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "campaign": campaign,
            "can_import": _can_import(request.user),
        },
    )


def _too_large_message() -> str:
    return _("The file is larger than %(limit)d MB. Split it into smaller files.") % {
        "limit": _mb(settings.IMPORT_MAX_BYTES)
    }


@login_required
def import_upload(request: HttpRequest) -> HttpResponse:
    """Step 1: choose the campaign and the file; the file is checked before anything."""
    user = request.user
    if not _can_import(user):
        raise PermissionDenied(_("You are not allowed to import leads."))

    def page(form: UploadForm, status: int = 200) -> HttpResponse:
        context = {"form": form, "max_mb": _mb(settings.IMPORT_MAX_BYTES)}
        return render(request, "imports/import_upload.html", context, status=status)

    if request.method != "POST":
        initial = {}
        if request.GET.get("campaign", "").isdigit():
            initial["campaign"] = request.GET["campaign"]
        return page(UploadForm(user=user, initial=initial))

    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > settings.IMPORT_MAX_BYTES + 64 * 1024:
        # Refuse before reading the body: a 200 MB upload is not spooled to disk first.
        messages.error(request, _too_large_message())
        return page(UploadForm(user=user), status=413)
    form = UploadForm(request.POST, request.FILES, user=user)
    if not form.is_valid():
        return page(form, status=400)
    upload = form.cleaned_data["file"]
    try:
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise ServiceError(_too_large_message(), field="file")
        shape = inspect_file(upload, upload.name or "")
    except ServiceError as error:
        messages.error(request, error.message)
        return page(form, status=400)
    token = _stage(
        request, upload, shape, form.cleaned_data["campaign"], form.cleaned_data["touch_kind"]
    )
    return redirect("imports:mapping", token=token)


def _columns(shape: FileShape, form: MappingForm) -> list[dict[str, Any]]:
    return [
        {
            "index": index,
            "header": header,
            "field": form[f"col_{index}"],
            "samples": [row[index] for row in shape.sample if index < len(row) and row[index]],
        }
        for index, header in enumerate(shape.headers)
    ]


@login_required
def import_mapping(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    """Step 2: check the column mapping (pre-filled from the headers) and start the job."""
    user = request.user
    if not _can_import(user):
        raise PermissionDenied(_("You are not allowed to import leads."))
    staged = _staged(request)
    if not staged or staged.get("token") != str(token):
        messages.warning(request, _("This upload is no longer waiting; upload the file again."))
        return redirect("imports:new")
    campaign = get_object_or_404(campaigns_visible_to(user), pk=staged["campaign"])
    if request.method == "POST" and "cancel" in request.POST:
        _drop_staged(request)
        messages.info(request, _("Import cancelled; nothing was imported."))
        return redirect(f"{reverse('imports:new')}?campaign={campaign.pk}")
    try:
        with default_storage.open(staged["path"], "rb") as handle:
            shape = inspect_file(handle, staged["name"])
    except (OSError, ServiceError):
        request.session.pop(SESSION_KEY, None)
        messages.error(request, _("The uploaded file could not be read again; upload it again."))
        return redirect("imports:new")

    initial = {f"col_{i}": field for i, field in auto_mapping(shape.headers).items()}
    form = MappingForm(request.POST or None, headers=shape.headers, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            mapping = check_mapping(form.mapping(), shape.headers)
            with default_storage.open(staged["path"], "rb") as handle:
                job = import_start(
                    actor=user,
                    campaign=campaign,
                    upload=File(handle, name=staged["name"]),
                    mapping=mapping,
                    touch_kind=staged["touch_kind"],
                )
        except ServiceError as error:
            if error.code == "forbidden":
                raise PermissionDenied(error.message) from error
            messages.error(request, error.message)
            status = 400
        else:
            _drop_staged(request)
            job.refresh_from_db(fields=["status"])
            if job.status == ImportStatus.DONE:  # small files may be done already
                messages.success(request, _("Import finished."))
            else:
                messages.success(request, _("Import started. You can leave this page; it runs on."))
            return redirect("imports:detail", pk=job.pk)
    return render(
        request,
        "imports/import_mapping.html",
        {
            "form": form,
            "staged": staged,
            "campaign": campaign,
            "shape": shape,
            "encoding": ENCODING_LABELS.get(shape.encoding, shape.encoding),
            "touch_kind": TouchKind(staged["touch_kind"]).label,
            "columns": _columns(shape, form),
            "mapped": len(initial),
        },
        status=status,
    )


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A job: progress (polled by static/js/imports.js), counters and the first errors."""
    if not _can_read(request.user):
        raise PermissionDenied(_("Imports are for marketing, the lead desk and management."))
    job = get_object_or_404(
        ImportJob.objects.select_related("campaign__channel", "created_by"), pk=pk
    )
    headers = job.headers or []
    mapping = [
        (headers[int(index)] if int(index) < len(headers) else index, field_label(field))
        for index, field in sorted(job.mapping.items(), key=lambda item: int(item[0]))
    ]
    return render(
        request,
        "imports/import_detail.html",
        {
            "job": job,
            "percent": progress_percent(job),
            "finished": job.status in (ImportStatus.DONE, ImportStatus.FAILED),
            "errors": job.errors[:SHOWN_ERRORS],
            "error_count": len(job.errors),
            "shown_errors": SHOWN_ERRORS,
            "mapping": mapping,
            "encoding": ENCODING_LABELS.get(job.encoding, job.encoding),
            "status_labels": {code: str(label) for code, label in ImportStatus.choices},
            "poll_url": reverse("import-detail", args=[job.pk]),
            "errors_url": reverse("import-errors-csv", args=[job.pk]),
        },
    )


# --------------------------------------------------------------------------------------
# Export of the lead list (the same filters, masking and files as the API's export)
# --------------------------------------------------------------------------------------


@login_required
def lead_export(request: HttpRequest) -> HttpResponse:
    """``/leads/export/?file_format=csv|xlsx&<lead list filters>``, in the list's order."""
    user = request.user
    file_format = request.GET.get("file_format", "csv")
    if file_format not in ("csv", "xlsx"):
        return HttpResponseBadRequest(_("file_format must be csv or xlsx."))
    filterset = LeadFilterSet(request.GET, queryset=leads_visible_to(user), request=request)
    rows = lead_rows(sorted_leads(filterset.qs, sort_param(request)), user)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if file_format == "xlsx":
        return FileResponse(
            xlsx_file(rows, title=_("Leads")),
            as_attachment=True,
            filename=f"leads-{stamp}.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response = StreamingHttpResponse(csv_stream(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
    return response
