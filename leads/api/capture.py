"""Public web capture endpoint (``capture/``; docs/architecture.md §5, DESIGN §9).

Every refusal is JSON (``detail`` and the field): bad input, no consent, a closed campaign,
a malformed JSON body, a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413), too many
submissions (429).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.api.fields import lead_write_serializer_fields
from leads.capture import IDEMPOTENCY_KEY_MAX_LENGTH, capture_submit
from pipeline.throttles import CaptureThrottle


def _viewer(request: Request) -> Any:
    """Who is calling, if anyone: a valid token or a session with its CSRF token.

    Never a refusal — the endpoint is public: credentials that do not check out make an
    anonymous caller, who may still submit but gets no ``lead`` and ``duplicate`` back.
    Done here rather than in ``authentication_classes`` so the schema shows the endpoint
    as what it is, public.
    """
    for authentication in (TokenAuthentication(), SessionAuthentication()):
        try:
            result = authentication.authenticate(request)
        except exceptions.APIException:
            continue
        if result is not None:
            return result[0]
    return None


class CaptureSerializer(serializers.Serializer):
    """A public submission: campaign, consent, the lead write fields, UTM, landing page."""

    campaign_key = serializers.CharField(max_length=64, required=False, allow_blank=True)
    utm_campaign = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_medium = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_term = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_content = serializers.CharField(max_length=100, required=False, allow_blank=True)
    landing_page = serializers.URLField(max_length=500, required=False, allow_blank=True)
    consent = serializers.BooleanField(
        required=False,
        help_text="true: the person agreed to the privacy notice (required to store anything).",
    )
    #: Honeypot: hidden on the form, so only bots fill it. No length limit: a refusal would
    #: tell the bot which field gave it away.
    website = serializers.CharField(required=False, allow_blank=True)

    def get_fields(self):
        """The fields above, then the spec's write fields (``leads.lifecycle.fields``)."""
        return {**super().get_fields(), **lead_write_serializer_fields()}


CaptureAnswerSerializer = inline_serializer(
    "CaptureAnswer",
    {
        "received": serializers.BooleanField(),
        "reference": serializers.CharField(help_text="Opaque reference of this submission."),
        "lead": serializers.IntegerField(
            required=False, help_text="Only for an authenticated caller who may see the lead."
        ),
        "duplicate": serializers.BooleanField(
            required=False, help_text="Only for an authenticated caller who may see the lead."
        ),
    },
)


class CaptureView(APIView):
    """Public lead capture: no login, throttled per client IP, idempotent with
    ``Idempotency-Key``."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [CaptureThrottle]

    def perform_authentication(self, request: Request) -> None:
        """Nothing up front (the caller is looked up by ``_viewer`` after the submission):
        DRF would otherwise replace the session's user by an anonymous one here."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, RequestDataTooBig):
            return Response(
                {"detail": _("The submission is too large."), "code": "too_large"},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        if isinstance(exc, SuspiciousOperation):  # too many fields or files, and the like
            return Response(
                {"detail": _("The submission could not be read."), "code": "invalid"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return super().handle_exception(exc)

    @extend_schema(
        request=CaptureSerializer,
        responses={
            201: CaptureAnswerSerializer,
            400: OpenApiResponse(description="Bad input, no consent, or no such open campaign"),
            409: OpenApiResponse(description="Idempotency-Key reused"),
            413: OpenApiResponse(description="Body too large"),
            429: OpenApiResponse(description="Too many submissions from this address"),
        },
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description=f"Up to {IDEMPOTENCY_KEY_MAX_LENGTH} characters, compared whole.",
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = CaptureSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        answer = capture_submit(
            data=dict(serializer.validated_data),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
        return Response(answer.body_for(_viewer(request)), status=answer.status)
