"""Scoring rules, grade thresholds and rescoring jobs over HTTP."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from pipeline.api import BaseViewSet, ServiceSaveMixin
from pipeline.errors import ServiceError
from pipeline.roles import Role, has_role
from scoring import services
from scoring.forms import condition_display
from scoring.models import GradeThresholds, RescoreJob, ScoringRule


def _reads_scoring(user) -> bool:
    return has_role(user, Role.LEAD_DESK, Role.MARKETER, Role.MANAGER, Role.SALES_MANAGER)


class ScoringRuleSerializer(serializers.ModelSerializer):
    # Plain text here: the service refuses unknown fields, operators and dimensions with a
    # message that lists the valid ones.
    name = serializers.CharField(max_length=100)
    dimension = serializers.CharField(max_length=12)
    field = serializers.CharField(max_length=40)
    operator = serializers.CharField(max_length=10)
    value = serializers.JSONField()
    points = serializers.IntegerField(min_value=-100, max_value=100)
    #: Read only: the condition in words, in the request's language ("职位 是 决策者").
    description = serializers.SerializerMethodField()

    class Meta:
        model = ScoringRule
        fields = [
            "id", "name", "dimension", "field", "operator", "value", "points", "active",
            "description",
        ]  # fmt: skip

    @extend_schema_field(OpenApiTypes.STR)
    def get_description(self, rule: ScoringRule) -> str:
        return condition_display(rule.field, rule.operator, rule.value)


class ScoringRuleViewSet(
    ServiceSaveMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    BaseViewSet,
):
    """The rules the scorer adds up; the desk edits, desk/marketing/management read."""

    queryset = ScoringRule.objects.order_by("dimension", "-points", "name")
    serializer_class = ScoringRuleSerializer

    def scope(self, queryset):
        return queryset if _reads_scoring(self.request.user) else queryset.none()

    def _save(self, serializer, rule=None):
        current = (
            {}
            if rule is None
            else {
                "name": rule.name,
                "dimension": rule.dimension,
                "field": rule.field,
                "operator": rule.operator,
                "value": rule.value,
                "points": rule.points,
                "active": rule.active,
            }
        )
        data = {**current, **serializer.validated_data}
        return services.scoring_rule_save(actor=self.request.user, rule=rule, **data)

    def perform_destroy(self, instance):
        services.scoring_rule_delete(actor=self.request.user, rule=instance)


class GradeThresholdsSerializer(serializers.ModelSerializer):
    class Meta:
        model = GradeThresholds
        fields = ["a", "b", "c", "auto_qualify", "auto_qualify_score"]
        extra_kwargs = {
            "a": {"required": True},
            "b": {"required": True},
            "c": {"required": True},
            "auto_qualify": {"required": False},
            "auto_qualify_score": {"required": False},
        }


class GradeThresholdsView(APIView):
    """GET/PUT the A/B/C thresholds (A above B above C); a change rescores every open lead."""

    serializer_class = GradeThresholdsSerializer

    @extend_schema(responses={200: GradeThresholdsSerializer})
    def get(self, request):
        if not _reads_scoring(request.user):
            raise ServiceError(
                _("You are not allowed to read the grade thresholds."), code="forbidden"
            )
        return Response(GradeThresholdsSerializer(GradeThresholds.current()).data)

    @extend_schema(request=GradeThresholdsSerializer, responses={200: GradeThresholdsSerializer})
    def put(self, request):
        serializer = GradeThresholdsSerializer(data=request.data)
        if not has_role(request.user, Role.LEAD_DESK):
            raise ServiceError(_("Only the lead desk changes scoring."), code="forbidden")
        serializer.is_valid(raise_exception=True)
        thresholds = services.thresholds_save(actor=request.user, **serializer.validated_data)
        return Response(GradeThresholdsSerializer(thresholds).data)


class RescoreJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = RescoreJob
        fields = [
            "id",
            "status",
            "reason",
            "version",
            "total",
            "processed",
            "changed",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class RescoreJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """Progress of rescoring jobs (rules or thresholds changed)."""

    queryset = RescoreJob.objects.order_by("-created_at", "-id")
    serializer_class = RescoreJobSerializer

    def scope(self, queryset):
        return queryset if _reads_scoring(self.request.user) else queryset.none()
