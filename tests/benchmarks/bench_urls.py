"""Benchmark-only URLConf (``bench_settings``): every production URL, plus the baseline a
write endpoint is compared with. Never part of the production URLs."""

from __future__ import annotations

import json

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from leads.models import Lead
from pipeline.urls import urlpatterns as app_urlpatterns


@csrf_exempt
@require_POST
def bare_insert(request: HttpRequest) -> HttpResponse:
    """The real limit for a write on this server: read the JSON body, insert one lead row
    in one transaction, answer 201. No throttle, validation, dedup, scoring or queueing."""
    data = json.loads(request.body)
    with transaction.atomic():
        lead = Lead.objects.create(
            name=str(data.get("name") or "")[:100],
            email=str(data.get("email") or "")[:254],
            created_at=timezone.now(),
        )
    return JsonResponse({"received": True, "id": lead.pk}, status=201)


urlpatterns = [path("bench/bare-insert/", bare_insert), *app_urlpatterns]
