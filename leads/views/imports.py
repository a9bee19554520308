"""Import pages (upload → column mapping → job with progress) and the lead list export.

The upload request only stores the file (streamed to disk, cut at the size limit) as a job
waiting for its column mapping (``import_upload``); a worker reads its headers
(``import_inspect``) while the mapping page waits, and once the user confirms the mapping
(``import_confirm``) the job runs in the background; its page polls
``/api/v1/imports/<id>/``. A cancelled or refused upload is dropped (``import_discard``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from campaigns.models import Campaign
from campaigns.selectors import campaigns_visible_to
from leads.choices import IMPORT_TOUCH_KINDS, ImportRowOutcome, ImportStatus, LegalBasis, TouchKind
from leads.exports import (
    EXPORT_FORMATS,
    XLSX_CONTENT_TYPE,
    export_file_for,
    export_needs_job,
    export_response,
    export_start,
    lead_rows,
)
from leads.filters import export_queryset
from leads.forms import campaign_picker_field
from leads.imports import (
    IMPORT_FIELDS,
    ImportUploadHandler,
    auto_mapping,
    check_request_length,
    import_confirm,
    import_discard,
    import_rows,
    messages_text,
)
from leads.imports import import_upload as store_upload
from leads.lifecycle import campaigns_usable_by
from leads.lifecycle.fields import LEAD_FIELDS
from leads.models import ExportJob, ImportJob
from leads.selectors import IMPORT_ORDER
from pipeline.db import reading_replica
from pipeline.errors import ServiceError
from pipeline.pagination import CappedPaginator, keyset_list
from pipeline.roles import Role, has_role

#: Who sees import jobs, and who may start one (the import service's rule).
IMPORT_READERS = (Role.MARKETER, Role.LEAD_DESK, Role.MANAGER)
IMPORT_WRITERS = (Role.MARKETER, Role.LEAD_DESK)
SHOWN_ERRORS = 100
#: Row outcomes listed per page on the job page.
ROWS_PER_PAGE = 50
#: Seconds between reloads of the mapping page while the worker reads the file.
INSPECT_REFRESH_SECONDS = 2

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
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )
    legal_basis = forms.ChoiceField(
        label=gettext_lazy("Legal basis"),
        choices=[("", gettext_lazy("— choose the legal basis —")), *LegalBasis.choices],
        help_text=gettext_lazy(
            "Why these people's information may be processed (PIPL), as you can show it."
        ),
    )
    legal_basis_date = forms.DateField(
        label=gettext_lazy("Date of the legal basis"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("When the people registered, consented or signed."),
    )
    legal_basis_note = forms.CharField(
        label=gettext_lazy("Note on the legal basis"),
        required=False,
        max_length=500,
        help_text=gettext_lazy(
            "Which event or form, where the consent is kept; required for “other”."
        ),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the campaigns this user may enter leads in (the arrival rule's scope).
        self.fields["campaign"].queryset = campaigns_usable_by(user)
        # A picker that searches them (the API's ``scope=lead``), not thousands of options.
        campaign_picker_field(self, "campaign", scope="lead")
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
# Pages
# --------------------------------------------------------------------------------------


def progress_percent(job: ImportJob) -> int:
    if job.status == ImportStatus.DONE:
        return 100
    if not job.total:
        return 0
    return min(100, job.processed * 100 // job.total)


#: Imports a page of the import list shows.
IMPORTS_PER_PAGE = 25


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    """Import jobs, newest first (optionally of one campaign); uploads still waiting for
    their column mapping are not imports yet."""
    if not _can_read(request.user):
        raise PermissionDenied(_("Imports are for marketing, the lead desk and management."))
    jobs = ImportJob.objects.select_related("campaign__channel", "created_by").exclude(
        awaiting_mapping=True
    )
    campaign = None
    if request.GET.get("campaign", "").isdigit():
        campaign = get_object_or_404(
            campaigns_visible_to(request.user), pk=int(request.GET["campaign"])
        )
        jobs = jobs.filter(campaign=campaign)
    listed = keyset_list(request, jobs, IMPORT_ORDER, IMPORTS_PER_PAGE)
    return render(
        request,
        "imports/import_list.html",
        {
            "rows": [(job, progress_percent(job)) for job in listed.rows],
            **listed.context(),
            "campaign": campaign,
            "can_import": _can_import(request.user),
        },
        status=listed.status,
    )


@csrf_exempt  # the CSRF check reads the body: the upload handler must be installed first
def import_upload(request: HttpRequest) -> HttpResponse:
    """Step 1: the campaign, the list's kind and legal basis, and the file, which is only
    stored here (streamed to disk, cut at the size limit): a worker reads it."""
    handler = ImportUploadHandler(request) if request.method == "POST" else None
    if handler is not None:
        request.upload_handlers = [handler]
        try:
            # Before the body is read (the CSRF check reads it): a 200 MB upload is refused
            # without being spooled to disk. Nothing changes, so no CSRF check is needed.
            check_request_length(int(request.META.get("CONTENT_LENGTH") or 0))
        except ServiceError as error:
            return _upload_refused(request, error)
    return _import_upload(request, handler)


def _upload_page(request: HttpRequest, form: UploadForm, status: int = 200) -> HttpResponse:
    context = {"form": form, "max_mb": _mb(settings.IMPORT_MAX_BYTES)}
    return render(request, "imports/import_upload.html", context, status=status)


@login_required
def _upload_refused(request: HttpRequest, error: ServiceError) -> HttpResponse:
    if not _can_import(request.user):
        raise PermissionDenied(_("You are not allowed to import leads."))
    messages.error(request, error.message)
    return _upload_page(request, UploadForm(user=request.user), status=error.status)


@csrf_protect
@login_required
def _import_upload(request: HttpRequest, handler: ImportUploadHandler | None) -> HttpResponse:
    user = request.user
    if not _can_import(user):
        raise PermissionDenied(_("You are not allowed to import leads."))

    def page(form: UploadForm, status: int = 200) -> HttpResponse:
        return _upload_page(request, form, status)

    if handler is None:
        initial: dict[str, Any] = {"legal_basis_date": timezone.localdate()}
        if request.GET.get("campaign", "").isdigit():
            initial["campaign"] = request.GET["campaign"]
        return page(UploadForm(user=user, initial=initial))

    try:
        form = UploadForm(request.POST, request.FILES, user=user)
        handler.check()
    except ServiceError as error:
        messages.error(request, error.message)
        return page(UploadForm(user=user), status=error.status)
    if not form.is_valid():
        return page(form, status=400)
    data = form.cleaned_data
    try:
        job = store_upload(
            actor=user,
            campaign=data["campaign"],
            upload=data["file"],
            touch_kind=data["touch_kind"],
            legal_basis=data["legal_basis"],
            legal_basis_note=data["legal_basis_note"],
            legal_basis_date=data["legal_basis_date"],
            await_mapping=True,
        )
    except ServiceError as error:
        if error.code == "forbidden":
            raise PermissionDenied(error.message) from error
        if error.field in form.fields and error.field != "file":
            form.add_error(error.field, error.message)
        else:
            messages.error(request, error.message)
        return page(form, status=error.status)
    return redirect("imports:mapping", pk=job.pk)


def _columns(job: ImportJob, form: MappingForm) -> list[dict[str, Any]]:
    return [
        {
            "index": index,
            "header": header,
            "field": form[f"col_{index}"],
            "samples": [row[index] for row in job.sample if index < len(row) and row[index]],
        }
        for index, header in enumerate(job.headers)
    ]


def _no_longer_waiting(request: HttpRequest) -> HttpResponse:
    messages.warning(request, _("This upload is no longer waiting; upload the file again."))
    return redirect("imports:new")


@login_required
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 2: wait for the worker to read the file, then check the column mapping
    (pre-filled from the headers) and start the job."""
    user = request.user
    if not _can_import(user):
        raise PermissionDenied(_("You are not allowed to import leads."))
    job = ImportJob.objects.select_related("campaign").filter(pk=pk).first()
    if job is None or job.created_by_id != user.pk or not job.awaiting_mapping:
        return _no_longer_waiting(request)
    campaign = get_object_or_404(campaigns_visible_to(user), pk=job.campaign_id)
    new_url = f"{reverse('imports:new')}?campaign={campaign.pk}"
    if request.method == "POST" and "cancel" in request.POST:
        import_discard(actor=user, job=job)
        messages.info(request, _("Import cancelled; nothing was imported."))
        return redirect(new_url)
    if job.status == ImportStatus.FAILED:  # the worker refused the file
        message = job.message
        import_discard(actor=user, job=job)
        messages.error(request, message)
        return redirect(new_url)
    context: dict[str, Any] = {
        "job": job,
        "campaign": campaign,
        "encoding": ENCODING_LABELS.get(job.encoding, job.encoding),
        "touch_kind": TouchKind(job.touch_kind).label,
    }
    if not job.headers:  # still being read: the page reloads itself
        context["refresh_seconds"] = INSPECT_REFRESH_SECONDS
        return render(request, "imports/import_mapping.html", context)

    initial = {f"col_{i}": field for i, field in auto_mapping(job.headers).items()}
    form = MappingForm(request.POST or None, headers=job.headers, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            job = import_confirm(actor=user, job=job, mapping=form.mapping())
        except ServiceError as error:
            if error.code == "forbidden":
                raise PermissionDenied(error.message) from error
            if error.code in ("not_found", "conflict"):
                return _no_longer_waiting(request)
            messages.error(request, error.message)
            status = 400
        else:
            if job.status == ImportStatus.DONE:  # small files may be done already
                messages.success(request, _("Import finished."))
            else:
                messages.success(request, _("Import started. You can leave this page; it runs on."))
            return redirect("imports:detail", pk=job.pk)
    context.update(form=form, columns=_columns(job, form), mapped=len(initial))
    return render(request, "imports/import_mapping.html", context, status=status)


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A job: progress (polled by static/js/imports.js), the counts of each row outcome,
    the rows of one outcome (``?outcome=``, paginated) and the first errors."""
    if not _can_read(request.user):
        raise PermissionDenied(_("Imports are for marketing, the lead desk and management."))
    job = get_object_or_404(
        ImportJob.objects.select_related("campaign__channel", "created_by"), pk=pk
    )
    outcome = request.GET.get("outcome", "")
    if outcome not in ImportRowOutcome.values:
        outcome = ""
    rows_page = CappedPaginator(import_rows(job, outcome or None), ROWS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    counts = {
        ImportRowOutcome.CREATED: job.created,
        ImportRowOutcome.TOUCH: job.duplicates,
        ImportRowOutcome.CONFLICT: job.conflicts,
        ImportRowOutcome.FAILED: job.failed,
    }
    outcomes = [
        {"code": code, "label": label, "count": counts[ImportRowOutcome(code)]}
        for code, label in ImportRowOutcome.choices
    ]
    rows_url = reverse("import-rows-export", args=[job.pk])
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
            "legal_basis": LegalBasis(job.legal_basis).label if job.legal_basis else "",
            "status_labels": {code: str(label) for code, label in ImportStatus.choices},
            "poll_url": reverse("import-detail", args=[job.pk]),
            "errors_url": reverse("import-errors-csv", args=[job.pk]),
            "outcomes": outcomes,
            "outcome": outcome,
            "outcome_labels": dict(ImportRowOutcome.choices),
            "rows": [(row, messages_text(row.messages or [])) for row in rows_page.object_list],
            "rows_page": rows_page,
            "rows_range": rows_page.paginator.get_elided_page_range(
                rows_page.number, on_each_side=2, on_ends=1
            ),
            "rows_csv_url": f"{rows_url}?file_format=csv"
            + (f"&outcome={outcome}" if outcome else ""),
            "rows_xlsx_url": f"{rows_url}?file_format=xlsx"
            + (f"&outcome={outcome}" if outcome else ""),
        },
    )


# --------------------------------------------------------------------------------------
# Export of the lead list (the same filters, masking and files as the API's export)
# --------------------------------------------------------------------------------------


@login_required
@reading_replica()
def lead_export(request: HttpRequest) -> HttpResponse:
    """``/leads/export/?file_format=csv|xlsx&<lead list filters>``, in the list's order.

    Up to ``EXPORT_SYNC_MAX_ROWS`` leads the file is the answer; a larger export becomes a
    job on the bulk queue and the page follows it (the user is notified when it is ready).
    """
    user = request.user
    file_format = request.GET.get("file_format", "csv")
    if file_format not in EXPORT_FORMATS:
        return HttpResponseBadRequest(_("file_format must be csv or xlsx."))
    try:
        leads = export_queryset(user, request.GET, source="page")
    except ServiceError as error:
        return HttpResponseBadRequest(error.message)
    if export_needs_job(leads):
        job = export_start(user=user, params=request.GET, source="page", file_format=file_format)
        messages.info(
            request,
            _(
                "More than %(n)d leads: the export runs in the background. You will be "
                "notified when the file is ready."
            )
            % {"n": settings.EXPORT_SYNC_MAX_ROWS},
        )
        return redirect("leads:export-job", pk=job.pk)
    return export_response(lead_rows(leads, user), file_format=file_format)


@login_required
def export_job(request: HttpRequest, pk: int) -> HttpResponse:
    """A background export's progress, then its download link (its requester only)."""
    job = get_object_or_404(ExportJob, pk=pk, requested_by=request.user)
    finished = job.status in (ImportStatus.DONE, ImportStatus.FAILED)
    expired = bool(job.expires_at and job.expires_at <= timezone.now())
    return render(
        request,
        "leads/export_job.html",
        {
            "job": job,
            "finished": finished,
            "expired": expired or (finished and not job.file and not job.error),
            "percent": min(100, round(100 * job.processed / job.total)) if job.total else 0,
            "refresh_seconds": 0 if finished else 3,
        },
    )


@login_required
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The file of a finished export, for the user who asked for it only."""
    try:
        job = export_file_for(request.user, pk)
    except ServiceError as error:
        if error.code == "not_found":
            raise Http404(error.message) from error
        messages.error(request, error.message)
        return redirect("leads:export-job", pk=pk)
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=job.file.name.rsplit("/", 1)[-1],
        content_type=XLSX_CONTENT_TYPE if job.file_format == "xlsx" else "text/csv",
    )
