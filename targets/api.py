"""``targets/`` (DESIGN §11): CRUD within the writer's scope, ``copy-last-period/``, and
the XLSX import and export. Reading: what concerns the user (``targets.selectors``)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from assignment.models import Team
from campaigns.models import Campaign, Channel
from pipeline.api import BaseViewSet
from pipeline.errors import ServiceError
from targets import services, xlsx
from targets.choices import SCOPES, Metric
from targets.models import Target
from targets.selectors import targets_visible_to, writes_any_target

SCOPE_CHOICES = ("company", *SCOPES)


class TargetSerializer(serializers.ModelSerializer):
    period = serializers.CharField(max_length=7)
    metric = serializers.ChoiceField(choices=Metric.choices)
    user = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), allow_null=True, required=False
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), allow_null=True, required=False
    )
    channel = serializers.SlugRelatedField(
        slug_field="code", queryset=Channel.objects.all(), allow_null=True, required=False
    )
    campaign = serializers.PrimaryKeyRelatedField(
        queryset=Campaign.objects.all(), allow_null=True, required=False
    )
    value = serializers.DecimalField(max_digits=14, decimal_places=4)
    scope = serializers.CharField(read_only=True)
    scope_label = serializers.CharField(read_only=True)

    class Meta:
        model = Target
        fields = [
            "id", "period", "start", "end", "metric", "scope", "scope_label", "user", "team",
            "channel", "campaign", "value", "created_by", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["start", "end", "created_by", "created_at", "updated_at"]
        # Uniqueness is the service's (409), not the serializer's.
        validators: list = []


class CopySerializer(serializers.Serializer):
    period = serializers.CharField(max_length=7)


class IsSignedIn(permissions.IsAuthenticated):
    pass


class TargetViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    BaseViewSet,
):
    """Targets per period, metric and scope. Managers write every target, sales managers
    their teams' and their reps'; nobody writes their own; everyone reads what concerns
    them. Filters: ``period``, ``metric``, ``scope`` (``company``, ``user``, ``team``,
    ``channel``, ``campaign``)."""

    queryset = Target.objects.select_related("user", "team", "channel", "campaign").order_by(
        "period", "metric", "pk"
    )
    serializer_class = TargetSerializer
    permission_classes = [IsSignedIn]

    def scope(self, queryset):
        return queryset.filter(pk__in=targets_visible_to(self.request.user).values("pk"))

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, description="2026-12 or 2026-Q4"),
            OpenApiParameter("metric", str, enum=Metric.values),
            OpenApiParameter("scope", str, enum=list(SCOPE_CHOICES)),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def filter_queryset(self, queryset):
        params = self.request.query_params
        if self.action not in ("list", "export"):
            return queryset
        if params.get("period"):
            queryset = queryset.filter(period=params["period"])
        if params.get("metric"):
            if params["metric"] not in Metric.values:
                raise serializers.ValidationError({"metric": [_("Unknown metric.")]})
            queryset = queryset.filter(metric=params["metric"])
        scope = params.get("scope")
        if scope:
            if scope not in SCOPE_CHOICES:
                raise serializers.ValidationError({"scope": [_("Unknown scope.")]})
            if scope == "company":
                queryset = queryset.filter(
                    user__isnull=True,
                    team__isnull=True,
                    channel__isnull=True,
                    campaign__isnull=True,
                )
            else:
                queryset = queryset.filter(**{f"{scope}__isnull": False})
        return queryset

    def _save(self, serializer, target: Target | None = None) -> Target:
        data = dict(serializer.validated_data)
        scope_keys = ("user", "team", "channel", "campaign")
        if target is not None and not any(key in data for key in scope_keys):
            data.update({key: getattr(target, key) for key in scope_keys})
        return services.target_save(
            actor=self.request.user,
            target=target,
            period=data.get("period", target.period if target else ""),
            metric=data.get("metric", target.metric if target else ""),
            value=data.get("value", target.value if target else ""),
            user=data.get("user"),
            team=data.get("team"),
            channel=data.get("channel"),
            campaign=data.get("campaign"),
        )

    def create(self, request, *args, **kwargs):
        if not writes_any_target(request.user):
            raise ServiceError(_("You may not set targets."), code="forbidden")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = self._save(serializer)
        return Response(self.get_serializer(target).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        target = self.get_object()
        if not services.may_write(request.user, target):
            raise ServiceError(_("You may not change this target."), code="forbidden")
        serializer = self.get_serializer(
            target, data=request.data, partial=kwargs.pop("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        return Response(self.get_serializer(self._save(serializer, target)).data)

    def perform_destroy(self, instance):
        services.target_delete(actor=self.request.user, target=instance)

    @extend_schema(
        request=CopySerializer,
        responses={
            200: inline_serializer(
                "TargetCopy",
                {"copied": serializers.IntegerField(), "skipped": serializers.IntegerField()},
            )
        },
    )
    @action(detail=False, methods=["post"], url_path="copy-last-period")
    def copy_last_period(self, request):
        """Copy the previous month's or quarter's targets you may write into ``period``
        (those already set there are skipped)."""
        if not writes_any_target(request.user):
            raise ServiceError(_("You may not set targets."), code="forbidden")
        serializer = CopySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(
            services.copy_last_period(
                actor=request.user, period=serializer.validated_data["period"]
            )
        )

    @extend_schema(
        parameters=[OpenApiParameter("period", str, description="2026-12 or 2026-Q4")],
        responses={(200, xlsx.CONTENT_TYPE): OpenApiTypes.BINARY},
    )
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request):
        """The visible targets (of ``period`` if given) as an XLSX workbook."""
        queryset = self.filter_queryset(self.get_queryset())
        response = HttpResponse(xlsx.export_targets(queryset), content_type=xlsx.CONTENT_TYPE)
        response["Content-Disposition"] = 'attachment; filename="targets.xlsx"'
        return response

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "TargetImport", {"file": serializers.FileField()}
            )
        },
        responses={
            200: inline_serializer(
                "TargetImportResult",
                {
                    "created": serializers.IntegerField(),
                    "updated": serializers.IntegerField(),
                    "errors": serializers.ListField(child=serializers.DictField()),
                },
            )
        },
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def import_(self, request):
        """Targets from an XLSX workbook, one row per target (period, metric, scope,
        scope key, value). All or nothing: with any bad row nothing is written and every
        row's problems are answered (400)."""
        if not writes_any_target(request.user):
            raise ServiceError(_("You may not set targets."), code="forbidden")
        upload = request.FILES.get("file")
        if upload is None:
            raise ServiceError(_("Choose an XLSX file."), field="file")
        result = xlsx.import_targets(actor=request.user, file=upload)
        if result["errors"]:
            return Response(
                {"detail": _("Nothing was imported: fix the rows below."), **result},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(result)
