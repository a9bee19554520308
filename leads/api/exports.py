"""Lead exports run as jobs (more than ``EXPORT_SYNC_MAX_ROWS`` leads): their progress
and, once done, their file — for the user who asked for them only."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.reverse import reverse

from leads.exports import XLSX_CONTENT_TYPE, export_file_for
from leads.models import ExportJob
from pipeline.api import BaseViewSet


class ExportJobSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id", "status", "file_format", "total", "processed", "error", "created_at",
            "finished_at", "expires_at", "url", "download_url", "page_url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_url(self, job: ExportJob) -> str:
        return reverse("lead-export-detail", args=[job.pk], request=self.context.get("request"))

    def get_download_url(self, job: ExportJob) -> str | None:
        if job.status != "done" or not job.file:
            return None
        return reverse("lead-export-download", args=[job.pk], request=self.context.get("request"))

    def get_page_url(self, job: ExportJob) -> str:
        return reverse("leads:export-job", args=[job.pk], request=self.context.get("request"))


class ExportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """The user's own lead exports (others' answer 404)."""

    queryset = ExportJob.objects.all()
    serializer_class = ExportJobSerializer

    def scope(self, queryset):
        return queryset.filter(requested_by=self.request.user)

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiResponse(description="The file")}
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def download(self, request, pk=None):
        """The finished file (404 someone else's, 409 not ready, 410 expired)."""
        job = export_file_for(request.user, int(pk))
        return FileResponse(
            job.file.open("rb"),
            as_attachment=True,
            filename=job.file.name.rsplit("/", 1)[-1],
            content_type=XLSX_CONTENT_TYPE if job.file_format == "xlsx" else "text/csv",
        )
