"""imports/: upload a list into a campaign, follow the job, read (or download) the outcome
of every row, download its error report."""

from __future__ import annotations

import csv
import io
import json

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from campaigns.models import Campaign
from leads.choices import IMPORT_TOUCH_KINDS, ImportRowOutcome, LegalBasis, TouchKind
from leads.exports import EXPORT_FORMATS, export_response, neutralise
from leads.imports import (
    ImportUploadHandler,
    check_request_length,
    errors_csv_rows,
    import_rows,
    import_upload,
    rows_file_rows,
)
from leads.models import ImportJob, ImportRow
from leads.selectors import IMPORT_ORDER, IMPORT_ORDERS
from pipeline.api import BaseViewSet
from pipeline.errors import ServiceError
from pipeline.pagination import KeysetOrderingFilter, KeysetPagination, Pagination
from pipeline.roles import Role, has_role


class ImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField()
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all())
    touch_kind = serializers.ChoiceField(
        choices=[(kind.value, kind.label) for kind in IMPORT_TOUCH_KINDS], required=False
    )
    # Required by the import service (PIPL): refused there with the field named.
    legal_basis = serializers.ChoiceField(
        choices=LegalBasis.choices,
        required=False,
        help_text="Required: the legal basis the list is processed under.",
    )
    legal_basis_note = serializers.CharField(required=False, allow_blank=True, max_length=500)
    legal_basis_date = serializers.DateField(
        required=False, help_text="Required: when the basis was obtained (YYYY-MM-DD)."
    )
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
            "legal_basis",
            "legal_basis_note",
            "legal_basis_date",
            "status",
            "total",
            "processed",
            "created",
            "duplicates",
            "failed",
            "conflicts",
            "errors",
            "message",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class ImportRowMessageSerializer(serializers.Serializer):
    column = serializers.CharField()
    message = serializers.CharField()


class ImportRowSerializer(serializers.ModelSerializer):
    """One data row's outcome: ``row`` is 1-based, the header not counted."""

    lead = serializers.IntegerField(source="lead_id", allow_null=True, read_only=True)
    messages = ImportRowMessageSerializer(many=True, read_only=True)

    class Meta:
        model = ImportRow
        fields = ["row", "outcome", "lead", "messages"]
        read_only_fields = fields


OUTCOME_PARAMETER = OpenApiParameter(
    "outcome", str, enum=ImportRowOutcome.values, description="Only the rows of this outcome."
)


class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """Imports of attendee lists and ad exports; marketing and the desk run them."""

    queryset = ImportJob.objects.select_related("campaign").order_by(*IMPORT_ORDER.order_by())
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser]
    # Newest (or oldest) first, continued by signed cursors (``next``/``previous``).
    filter_backends = [KeysetOrderingFilter]
    pagination_class = KeysetPagination
    keyset_orders = IMPORT_ORDERS
    keyset_default = "-created_at"

    def scope(self, queryset):
        if has_role(self.request.user, Role.MARKETER, Role.LEAD_DESK, Role.MANAGER):
            return queryset
        return queryset.none()

    @extend_schema(
        request={"multipart/form-data": ImportCreateSerializer},
        responses={
            201: ImportJobSerializer,
            400: OpenApiResponse(
                description="Bad file type, mapping, campaign, list kind or legal basis"
            ),
            413: OpenApiResponse(description="File too large"),
        },
    )
    def initialize_request(self, request, *args, **kwargs):
        if request.method == "POST":
            # Before anything reads the body: the file streams to disk, cut at the limit.
            self.upload_handler = ImportUploadHandler(request)
            request.upload_handlers = [self.upload_handler]
        return super().initialize_request(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        """Upload a CSV (UTF-8, UTF-8 BOM, GBK/GB18030) or XLSX with the legal basis of the
        list; the answer is the ``pending`` job: a worker reads the file and imports it."""
        if not has_role(request.user, Role.MARKETER, Role.LEAD_DESK):
            raise ServiceError(_("You are not allowed to import leads."), code="forbidden")
        # Refuse before reading the body: a 200 MB upload is not spooled to disk first.
        check_request_length(int(request.META.get("CONTENT_LENGTH") or 0))
        data_in = request.data
        self.upload_handler.check()
        serializer = ImportCreateSerializer(data=data_in)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = import_upload(
            actor=request.user,
            campaign=data["campaign"],
            upload=data["file"],
            mapping=data.get("mapping"),
            touch_kind=data.get("touch_kind", TouchKind.IMPORT),
            legal_basis=data.get("legal_basis", ""),
            legal_basis_note=data.get("legal_basis_note", ""),
            legal_basis_date=data.get("legal_basis_date"),
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

    @extend_schema(parameters=[OUTCOME_PARAMETER], responses={200: ImportRowSerializer(many=True)})
    @action(
        detail=True,
        methods=["get"],
        serializer_class=ImportRowSerializer,
        filter_backends=[],
        pagination_class=Pagination,
    )
    def rows(self, request, pk=None):
        """The outcome of every data row (``created``, ``touch``, ``conflict``, ``failed``),
        with its lead and every problem found in it; paginated, in row order."""
        job = self.get_object()
        rows = import_rows(job, request.query_params.get("outcome") or None)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ImportRowSerializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("file_format", str, enum=["csv", "xlsx"]), OUTCOME_PARAMETER],
        responses={(200, "text/csv"): OpenApiResponse(description="row,outcome,lead,messages")},
    )
    @action(detail=True, methods=["get"], url_path="rows/export", pagination_class=None)
    def rows_export(self, request, pk=None):
        """The row outcomes as CSV or XLSX (``?file_format=``), optionally of one outcome."""
        job = self.get_object()
        file_format = request.query_params.get("file_format", "csv")
        if file_format not in EXPORT_FORMATS:
            raise ServiceError(_("file_format must be csv or xlsx."), field="file_format")
        rows = import_rows(job, request.query_params.get("outcome") or None)
        return export_response(
            rows_file_rows(rows),
            file_format=file_format,
            name=f"import-{job.pk}-rows",
            title=_("Rows"),
        )
