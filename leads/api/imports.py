"""imports/: upload a list into a campaign, follow the job, download its error report."""

from __future__ import annotations

import csv
import io
import json

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from campaigns.models import Campaign
from leads.choices import TouchKind
from leads.exports import neutralise
from leads.imports import errors_csv_rows, import_start
from leads.models import ImportJob
from pipeline.api import BaseViewSet
from pipeline.errors import ServiceError
from pipeline.roles import Role, has_role


class ImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField()
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all())
    touch_kind = serializers.ChoiceField(choices=TouchKind.choices, required=False)
    #: ``{"column index": "field"}`` as JSON text; without it headers are mapped automatically.
    mapping = serializers.CharField(required=False, allow_blank=True)

    def validate_mapping(self, value: str):
        if not value:
            return None
        try:
            mapping = json.loads(value)
        except ValueError as exc:
            raise serializers.ValidationError(_("The mapping must be a JSON object.")) from exc
        if not isinstance(mapping, dict):
            raise serializers.ValidationError(_("The mapping must be a JSON object."))
        return {str(k): str(v) for k, v in mapping.items()}


class ImportJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportJob
        fields = [
            "id",
            "campaign",
            "original_name",
            "file_kind",
            "encoding",
            "headers",
            "mapping",
            "touch_kind",
            "status",
            "total",
            "processed",
            "created",
            "duplicates",
            "failed",
            "errors",
            "message",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """Imports of attendee lists and ad exports; marketing and the desk run them."""

    queryset = ImportJob.objects.select_related("campaign").order_by("-created_at", "-id")
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser]

    def scope(self, queryset):
        if has_role(self.request.user, Role.MARKETER, Role.LEAD_DESK, Role.MANAGER):
            return queryset
        return queryset.none()

    @extend_schema(
        request={"multipart/form-data": ImportCreateSerializer},
        responses={
            201: ImportJobSerializer,
            400: OpenApiResponse(description="Bad file, mapping or campaign"),
            413: OpenApiResponse(description="File too large"),
        },
    )
    def create(self, request, *args, **kwargs):
        """Upload a CSV (UTF-8, UTF-8 BOM, GBK/GB18030) or XLSX; the job runs in background."""
        if not has_role(request.user, Role.MARKETER, Role.LEAD_DESK):
            raise ServiceError(_("You are not allowed to import leads."), code="forbidden")
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.IMPORT_MAX_BYTES + 64 * 1024:
            # Refuse before reading the body: a 200 MB upload is not spooled to disk first.
            return Response(
                {
                    "detail": _(
                        "The file is larger than %(limit)d MB. Split it into smaller files."
                    )
                    % {"limit": settings.IMPORT_MAX_BYTES // (1024 * 1024)}
                },
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        serializer = ImportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = import_start(
            actor=request.user,
            campaign=data["campaign"],
            upload=data["file"],
            mapping=data.get("mapping"),
            touch_kind=data.get("touch_kind", TouchKind.IMPORT),
        )
        job.refresh_from_db()
        return Response(ImportJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(description="row,column,message")})
    @action(detail=True, methods=["get"], url_path="errors")
    def errors_csv(self, request, pk=None):
        """The per-row error report as CSV (opens in Excel, Chinese included)."""
        job = self.get_object()
        buffer = io.StringIO()
        buffer.write("\ufeff")
        writer = csv.writer(buffer)
        for row in errors_csv_rows(job):
            writer.writerow([neutralise(cell) for cell in row])
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
        return response
