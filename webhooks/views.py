"""Webhook pages for administrators: the list, create/edit, the delivery log and the
"Send test message" button. Every write goes through ``webhooks.services``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from pipeline.errors import ServiceError
from pipeline.pagination import CappedPaginator
from webhooks import selectors, services
from webhooks.forms import WebhookForm
from webhooks.models import Webhook


def _require_admin(request: HttpRequest) -> None:
    if not services.can_manage_webhooks(request.user):
        raise PermissionDenied(_("Only administrators manage webhooks."))


@login_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    hooks = list(selectors.webhooks_with_counts())
    return render(request, "webhooks/webhook_list.html", {"hooks": hooks})


def _form_page(request: HttpRequest, webhook: Webhook | None) -> HttpResponse:
    if webhook is None:
        initial = {"language": request.LANGUAGE_CODE, "active": True}
    else:
        initial = {
            "name": webhook.name, "kind": webhook.kind, "url": webhook.url,
            "events": webhook.events, "team": webhook.team_id, "language": webhook.language,
            "active": webhook.active,
        }  # fmt: skip
    form = WebhookForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = services.webhook_save(
                    actor=request.user,
                    webhook=webhook,
                    name=data["name"],
                    kind=data["kind"],
                    url=data["url"],
                    events=data["events"],
                    secret=form.secret_value(),
                    team=data["team"],
                    language=data["language"],
                    active=data["active"],
                )
            except ServiceError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("Webhook “%(name)s” saved.") % {"name": saved.name})
                return redirect("webhooks:deliveries", pk=saved.pk)
        status = 400
    context = {
        "form": form,
        "webhook": webhook,
        "secret_masked": services.masked_secret(webhook.secret) if webhook else "",
    }
    return render(request, "webhooks/webhook_form.html", context, status=status)


@login_required
def webhook_create(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    return _form_page(request, None)


@login_required
def webhook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    return _form_page(request, get_object_or_404(Webhook, pk=pk))


@login_required
def webhook_deliveries(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    webhook = get_object_or_404(Webhook.objects.select_related("team"), pk=pk)
    paginator = CappedPaginator(selectors.deliveries_of(webhook=webhook), 25)
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "webhook": webhook,
        "page_obj": page,
        "page_range": paginator.get_elided_page_range(page.number),
        "secret_masked": services.masked_secret(webhook.secret),
    }
    return render(request, "webhooks/delivery_list.html", context)


@login_required
@require_POST
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    webhook = get_object_or_404(Webhook, pk=pk)
    delivery = services.delivery_test(actor=request.user, webhook=webhook)
    messages.success(
        request,
        _("Test message queued (delivery %(id)s); its result appears below.") % {"id": delivery.pk},
    )
    return redirect("webhooks:deliveries", pk=webhook.pk)


@login_required
@require_POST
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    webhook = get_object_or_404(Webhook, pk=pk)
    services.webhook_delete(actor=request.user, webhook=webhook)
    messages.success(request, _("Webhook “%(name)s” deleted.") % {"name": webhook.name})
    return redirect("webhooks:list")
