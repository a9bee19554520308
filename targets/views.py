"""Targets pages: the targets of a period (inline edit of the value), a new target, copy
the last period, XLSX import and export. Every write goes through ``targets.services``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from pipeline.errors import ServiceError
from targets import services, xlsx
from targets.choices import month_of, parse_period, previous_period, quarter_of
from targets.forms import ImportForm, TargetForm
from targets.selectors import may_write, targets_visible_to, writable_filter, writes_any_target

#: The campaign picker's search box (``leads.forms.campaign_picker_field``).
CAMPAIGN_SEARCH = "campaign_search"


def _require_writer(request: HttpRequest) -> None:
    if not writes_any_target(request.user):
        raise PermissionDenied(_("You may not set targets."))


def _writable(request: HttpRequest, pk: int) -> Any:
    """The target if visible (else 404) and the user may change it (else 403)."""
    target = get_object_or_404(targets_visible_to(request.user), pk=pk)
    if not may_write(request.user, target):
        raise PermissionDenied(_("You may not change this target."))
    return target


def _period(request: HttpRequest) -> tuple[str, str | None]:
    """The period asked for (default this month) and why it is refused, if it is."""
    period = (request.GET.get("period") or request.POST.get("period") or "").strip()
    period = period or month_of(timezone.localdate())
    try:
        parse_period(period)
    except ValueError as error:
        return month_of(timezone.localdate()), str(error)
    return period, None


def _back(period: str) -> HttpResponse:
    return redirect(f"{reverse('targets:list')}?{urlencode({'period': period})}")


@login_required
def target_list(request: HttpRequest) -> HttpResponse:
    period, error = _period(request)
    if error:
        messages.error(request, error)
    user = request.user
    visible = targets_visible_to(user).filter(period=period)
    targets = list(
        visible.select_related("user", "team", "channel", "campaign").order_by("metric", "pk")
    )
    writes = writes_any_target(user)
    editable = (
        set(visible.filter(writable_filter(user)).values_list("pk", flat=True)) if writes else set()
    )
    rows = [{"target": t, "editable": t.pk in editable} for t in targets]
    today = timezone.localdate()
    context: dict[str, Any] = {
        "period": period,
        "previous": previous_period(period),
        "periods": [month_of(today), quarter_of(today), previous_period(month_of(today))],
        "rows": rows,
        "writes": writes,
        "form": TargetForm(
            initial={"period": period}, actor=user, search=request.GET.get(CAMPAIGN_SEARCH)
        )
        if writes
        else None,
        "import_form": ImportForm() if writes else None,
    }
    return render(request, "targets/target_list.html", context, status=400 if error else 200)


@login_required
@require_POST
def target_create(request: HttpRequest) -> HttpResponse:
    _require_writer(request)
    form = TargetForm(request.POST, actor=request.user)
    period = request.POST.get("period", "")
    search = request.POST.get(CAMPAIGN_SEARCH, "").strip()
    if search and "campaign" in form.fields:
        # Without the script the campaign box is a search: back to the list, which offers
        # the matches to choose from; nothing is saved.
        query = urlencode({"period": _safe_period(period), CAMPAIGN_SEARCH: search[:100]})
        return redirect(f"{reverse('targets:list')}?{query}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.target_save(
                actor=request.user,
                period=data["period"].strip(),
                metric=data["metric"],
                value=data["value"],
                user=data.get("user"),
                team=data.get("team"),
                channel=data.get("channel"),
                campaign=data.get("campaign"),
            )
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Target saved."))
    else:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))
    return _back(_safe_period(period))


def _safe_period(period: str) -> str:
    try:
        parse_period(period)
    except ValueError:
        return month_of(timezone.localdate())
    return period


@login_required
@require_POST
def target_value(request: HttpRequest, pk: int) -> HttpResponse:
    target = _writable(request, pk)
    try:
        services.target_set_value(
            actor=request.user, target=target, value=request.POST.get("value", "")
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Target saved."))
    return _back(target.period)


@login_required
@require_POST
def target_delete(request: HttpRequest, pk: int) -> HttpResponse:
    target = _writable(request, pk)
    try:
        services.target_delete(actor=request.user, target=target)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Target deleted."))
    return _back(target.period)


@login_required
@require_POST
def target_copy(request: HttpRequest) -> HttpResponse:
    _require_writer(request)
    period, error = _period(request)
    if error:
        messages.error(request, error)
        return _back(period)
    try:
        result = services.copy_last_period(actor=request.user, period=period)
    except ServiceError as failure:
        messages.error(request, failure.message)
    else:
        messages.success(
            request,
            _("%(copied)d targets copied from %(previous)s; %(skipped)d already set.")
            % {**result, "previous": previous_period(period)},
        )
    return _back(period)


@login_required
@require_POST
def target_import(request: HttpRequest) -> HttpResponse:
    _require_writer(request)
    period, _error = _period(request)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose an XLSX file."))
        return _back(period)
    try:
        result = xlsx.import_targets(actor=request.user, file=form.cleaned_data["file"])
    except ServiceError as error:
        messages.error(request, error.message)
        return _back(period)
    if result["errors"]:
        messages.error(request, _("Nothing was imported: fix the rows below."))
        for item in result["errors"]:
            messages.error(
                request,
                _("Row %(row)d: %(message)s") % {"row": item["row"], "message": item["message"]},
            )
    else:
        messages.success(
            request,
            _("Imported: %(created)d new targets, %(updated)d changed.") % result,
        )
    return _back(period)


@login_required
def target_export(request: HttpRequest) -> HttpResponse:
    period, _error = _period(request)
    targets = targets_visible_to(request.user).filter(period=period)
    response = HttpResponse(xlsx.export_targets(targets), content_type=xlsx.CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="targets-{period}.xlsx"'
    return response
