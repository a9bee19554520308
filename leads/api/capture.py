"""Public web capture endpoint (``capture/``; docs/architecture.md §5)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.api.fields import lead_write_serializer_fields
from leads.capture import capture_idempotent, capture_submit
from pipeline.errors import ServiceError
from pipeline.throttles import CaptureThrottle


class CaptureSerializer(serializers.Serializer):
    """A public submission: campaign, the lead write fields, UTM fields, landing page."""

    campaign_key = serializers.CharField(max_length=64, required=False, allow_blank=True)
    utm_campaign = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_medium = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_term = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_content = serializers.CharField(max_length=100, required=False, allow_blank=True)
    landing_page = serializers.URLField(max_length=500, required=False, allow_blank=True)
    #: Honeypot: hidden on the form, so only bots fill it.
    website = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def get_fields(self):
        """The fields above, then the spec's write fields (``leads.lifecycle.fields``)."""
        return {**super().get_fields(), **lead_write_serializer_fields()}


CaptureAnswerSerializer = inline_serializer(
    "CaptureAnswer", {"lead": serializers.IntegerField(), "duplicate": serializers.BooleanField()}
)


class CaptureView(APIView):
    """Public lead capture: no login, throttled per IP, idempotent with ``Idempotency-Key``."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [CaptureThrottle]

    @extend_schema(
        request=CaptureSerializer,
        responses={
            201: CaptureAnswerSerializer,
            400: OpenApiResponse(description="Bad input"),
            409: OpenApiResponse(description="Idempotency-Key reused"),
            429: OpenApiResponse(description="Too many submissions from this address"),
        },
        parameters=[
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)
        ],
    )
    def post(self, request):
        serializer = CaptureSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.pop("website", ""):
            raise ServiceError(_("Submission rejected."), code="invalid")
        key = request.headers.get("Idempotency-Key", "").strip()
        answer = capture_idempotent(key=key, data=data) if key else capture_submit(data=data)
        return Response(answer.body, status=answer.status)
