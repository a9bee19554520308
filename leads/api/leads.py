"""Leads over HTTP: list/detail/create/update and one POST endpoint per lifecycle action."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from assignment.api import AssignmentSerializer
from assignment.services import lead_assign_or_route
from campaigns.models import Campaign
from leads import services
from leads.api.fields import lead_write_serializer_fields
from leads.choices import (
    DisqualifyReason,
    FollowUpMethod,
    Grade,
    LoseReason,
    RecycleReason,
    RejectReason,
)
from leads.exports import csv_stream, lead_rows, xlsx_file
from leads.filters import LeadFilterSet
from leads.models import FollowUp, Lead, LeadEvent
from leads.selectors import (
    contact_masked,
    lead_events,
    leads_visible_to,
    mask_email,
    mask_phone,
    mask_text,
    masked_event_data,
)
from pipeline.api import BaseViewSet, DisplayNameField
from pipeline.errors import ServiceError
from scoring.services import lead_reset_grade, lead_set_grade

User = get_user_model()


class LeadSerializer(serializers.ModelSerializer):
    """What a lead reads like; contact details are masked for pooled leads (sales view)."""

    company_name = serializers.CharField(source="company.name", default="", read_only=True)
    industry = serializers.CharField(source="company.industry", default="", read_only=True)
    company_size = serializers.CharField(source="company.size", default="", read_only=True)
    region = serializers.CharField(source="company.region", default="", read_only=True)
    channel = serializers.CharField(
        source="source_campaign.channel.code", default=None, read_only=True
    )
    contact_masked = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id",
            "name",
            "title",
            "phone",
            "email",
            "wechat",
            "company",
            "company_name",
            "industry",
            "company_size",
            "region",
            "product_interest",
            "budget",
            "timeline",
            "decision_role",
            "need",
            "source_campaign",
            "channel",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
            "landing_page",
            "stage",
            "grade",
            "grade_source",
            "grade_reason",
            "score",
            "score_detail",
            "owner",
            "in_pool",
            "created_at",
            "updated_at",
            "mql_at",
            "sql_at",
            "opportunity_at",
            "won_at",
            "lost_at",
            "disqualified_at",
            "assigned_at",
            "pooled_at",
            "first_contact_at",
            "last_follow_up_at",
            "next_follow_up_at",
            "expected_amount",
            "won_amount",
            "signed_at",
            "disqualify_reason",
            "reject_reason",
            "lost_reason",
            "recycle_reason",
            "contact_masked",
        ]
        read_only_fields = fields

    def get_contact_masked(self, lead: Lead) -> bool:
        return contact_masked(self.context["request"].user, lead)

    def to_representation(self, lead):
        data = super().to_representation(lead)
        if data["contact_masked"]:
            data["phone"] = mask_phone(data["phone"] or "")
            data["email"] = mask_email(data["email"] or "") if data["email"] else ""
            data["wechat"] = mask_text(data["wechat"] or "")
        return data


class LeadWriteSerializer(serializers.Serializer):
    """Write fields of DESIGN §9; rules (normalising, duplicates) live in the service."""

    source_campaign = serializers.PrimaryKeyRelatedField(
        queryset=Campaign.objects.all(), required=False, allow_null=True
    )

    def get_fields(self):
        """The spec's write fields (``leads.lifecycle.fields``), then ``source_campaign``."""
        return {**lead_write_serializer_fields(), **super().get_fields()}


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class QualifySerializer(serializers.Serializer):
    grade = serializers.ChoiceField(choices=Grade.choices, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class DisqualifySerializer(ReasonSerializer):
    reason_code = serializers.ChoiceField(choices=DisqualifyReason.choices, required=False)


class RejectSerializer(ReasonSerializer):
    reason_code = serializers.ChoiceField(choices=RejectReason.choices, required=False)


class RecycleSerializer(ReasonSerializer):
    reason_code = serializers.ChoiceField(choices=RecycleReason.choices, required=False)


class LoseSerializer(ReasonSerializer):
    reason_code = serializers.ChoiceField(choices=LoseReason.choices, required=False)


class AssignSerializer(serializers.Serializer):
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class GradeSerializer(serializers.Serializer):
    # Checked by the service after rights and stage (403 before 409 before 400).
    grade = serializers.CharField(max_length=5, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class EmptySerializer(serializers.Serializer):
    pass


class OpportunitySerializer(serializers.Serializer):
    expected_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )


class WinSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    signed_at = serializers.DateField()


class FollowUpSerializer(serializers.ModelSerializer):
    at = serializers.DateTimeField(required=False)

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "lead",
            "author",
            "at",
            "method",
            "outcome",
            "note",
            "next_follow_up_at",
            "created_at",
        ]
        read_only_fields = ["id", "lead", "author", "created_at"]
        extra_kwargs = {"method": {"choices": FollowUpMethod.choices}}


class LeadEventSerializer(serializers.ModelSerializer):
    actor_name = DisplayNameField(source="actor", default=None)
    # In the request's language for ownership decisions (their code is in ``data``).
    reason = serializers.CharField(source="reason_display", read_only=True)

    class Meta:
        model = LeadEvent
        fields = [
            "id",
            "kind",
            "from_stage",
            "to_stage",
            "actor",
            "actor_name",
            "at",
            "reason",
            "data",
        ]
        read_only_fields = fields


def _action_schema(request_serializer, summary: str):
    return extend_schema(
        summary=summary,
        request=request_serializer,
        responses={
            200: LeadSerializer,
            400: OpenApiResponse(description="Bad body: field errors and a `detail`."),
            403: OpenApiResponse(description="This user may not run the action."),
            404: OpenApiResponse(description="Lead not visible to this user."),
            409: OpenApiResponse(description="The lead is in the wrong stage for the action."),
        },
    )


class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """Leads visible to the user; writes and transitions go through ``leads.services``."""

    queryset = Lead.objects.all()
    serializer_class = LeadSerializer
    filterset_class = LeadFilterSet
    ordering_fields = ["created_at", "score", "grade", "stage", "name", "next_follow_up_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return leads_visible_to(self.request.user)

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return LeadWriteSerializer
        return LeadSerializer

    def _answer(self, lead: Lead, *, code: int = status.HTTP_200_OK, **extra) -> Response:
        fresh = self.get_queryset().filter(pk=lead.pk).first() or lead
        data = LeadSerializer(fresh, context=self.get_serializer_context()).data
        data.update(extra)
        return Response(data, status=code)

    @extend_schema(
        request=LeadWriteSerializer, responses={201: LeadSerializer, 200: LeadSerializer}
    )
    def create(self, request, *args, **kwargs):
        """Create a lead; a known open contact gets a touch instead (``duplicate: true``)."""
        serializer = LeadWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        campaign = fields.pop("source_campaign", None)
        result = services.lead_create(actor=request.user, fields=fields, campaign=campaign)
        return self._answer(
            result.lead,
            code=status.HTTP_200_OK if result.duplicate else status.HTTP_201_CREATED,
            duplicate=result.duplicate,
        )

    @extend_schema(request=LeadWriteSerializer, responses={200: LeadSerializer})
    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        lead = self.get_object()
        serializer = LeadWriteSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        campaign = fields.pop("source_campaign", ...)
        lead = services.lead_update(
            lead=lead, actor=request.user, fields=fields, source_campaign=campaign
        )
        return self._answer(lead)

    @extend_schema(request=LeadWriteSerializer, responses={200: LeadSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def _transition(self, request, name: str, input_serializer, run) -> Response:
        """404 → 403 → 409 → 400, then one service call."""
        lead = self.get_object()
        services.check_action(lead=lead, actor=request.user, action=name)
        serializer = input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._answer(run(lead, serializer.validated_data))

    @_action_schema(QualifySerializer, "new → mql with a grade")
    @action(detail=True, methods=["post"])
    def qualify(self, request, pk=None):
        return self._transition(
            request,
            "qualify",
            QualifySerializer,
            lambda lead, d: services.lead_qualify(
                lead=lead,
                actor=request.user,
                grade=d.get("grade") or None,
                reason=d.get("reason", ""),
            ),
        )

    @_action_schema(DisqualifySerializer, "new/mql → disqualified")
    @action(detail=True, methods=["post"])
    def disqualify(self, request, pk=None):
        return self._transition(
            request,
            "disqualify",
            DisqualifySerializer,
            lambda lead, d: services.lead_disqualify(
                lead=lead, actor=request.user, reason=d["reason"], reason_code=d.get("reason_code")
            ),
        )

    @_action_schema(AssignSerializer, "Assign or reassign; without owner the router decides")
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        def run(lead, d):
            return lead_assign_or_route(
                lead=lead, actor=request.user, owner=d.get("owner"), reason=d.get("reason", "")
            )

        return self._transition(request, "assign", AssignSerializer, run)

    @_action_schema(EmptySerializer, "Owned mql → sql")
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._transition(
            request,
            "accept",
            EmptySerializer,
            lambda lead, d: services.lead_accept(lead=lead, actor=request.user),
        )

    @_action_schema(RejectSerializer, "Owned mql → back to the lead desk")
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._transition(
            request,
            "reject",
            RejectSerializer,
            lambda lead, d: services.lead_reject(
                lead=lead, actor=request.user, reason=d["reason"], reason_code=d.get("reason_code")
            ),
        )

    @_action_schema(RecycleSerializer, "Owned mql/sql → the pool")
    @action(detail=True, methods=["post"])
    def recycle(self, request, pk=None):
        return self._transition(
            request,
            "recycle",
            RecycleSerializer,
            lambda lead, d: services.lead_recycle(
                lead=lead, actor=request.user, reason=d["reason"], reason_code=d.get("reason_code")
            ),
        )

    @_action_schema(EmptySerializer, "Claim a pooled lead")
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        return self._transition(
            request,
            "claim",
            EmptySerializer,
            lambda lead, d: services.lead_claim(lead=lead, actor=request.user),
        )

    @_action_schema(OpportunitySerializer, "sql → opportunity")
    @action(detail=True, methods=["post"])
    def to_opportunity(self, request, pk=None):
        return self._transition(
            request,
            "to_opportunity",
            OpportunitySerializer,
            lambda lead, d: services.lead_to_opportunity(
                lead=lead, actor=request.user, expected_amount=d["expected_amount"]
            ),
        )

    @_action_schema(WinSerializer, "sql/opportunity → won")
    @action(detail=True, methods=["post"])
    def win(self, request, pk=None):
        return self._transition(
            request,
            "win",
            WinSerializer,
            lambda lead, d: services.lead_win(
                lead=lead, actor=request.user, amount=d["amount"], signed_at=d["signed_at"]
            ),
        )

    @_action_schema(LoseSerializer, "sql/opportunity → lost")
    @action(detail=True, methods=["post"])
    def lose(self, request, pk=None):
        return self._transition(
            request,
            "lose",
            LoseSerializer,
            lambda lead, d: services.lead_lose(
                lead=lead, actor=request.user, reason=d["reason"], reason_code=d.get("reason_code")
            ),
        )

    @extend_schema(methods=["GET"], responses={200: FollowUpSerializer(many=True)})
    @extend_schema(
        methods=["POST"], request=FollowUpSerializer, responses={201: FollowUpSerializer}
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="follow-ups",
        serializer_class=FollowUpSerializer,
        filterset_class=None,
        pagination_class=None,
    )
    def follow_ups(self, request, pk=None):
        lead = self.get_object()
        if request.method == "GET":
            rows = lead.follow_ups.select_related("author").order_by("-at", "-id")
            return Response(FollowUpSerializer(rows, many=True).data)
        services.check_action(lead=lead, actor=request.user, action="follow_up")
        serializer = FollowUpSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        follow_up = services.follow_up_log(
            lead=lead, actor=request.user, **serializer.validated_data
        )
        return Response(FollowUpSerializer(follow_up).data, status=status.HTTP_201_CREATED)

    @_action_schema(EmptySerializer, "Drop a manual grade: the rule grade applies again")
    @action(detail=True, methods=["post"])
    def reset_grade(self, request, pk=None):
        lead = self.get_object()
        return self._answer(lead_reset_grade(lead=lead, actor=request.user))

    @_action_schema(GradeSerializer, "Grade by hand with a reason (kept until reset)")
    @action(detail=True, methods=["post"])
    def grade(self, request, pk=None):
        lead = self.get_object()
        serializer = GradeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return self._answer(
            lead_set_grade(
                lead=lead,
                actor=request.user,
                grade=data.get("grade", ""),
                reason=data.get("reason", ""),
            )
        )

    @extend_schema(
        parameters=[OpenApiParameter("file_format", str, enum=["csv", "xlsx"])],
        responses={(200, "text/csv"): OpenApiResponse(description="The filtered leads")},
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request):
        """The filtered list as CSV or XLSX (same filters as the list)."""
        file_format = request.query_params.get("file_format", "csv")
        if file_format not in ("csv", "xlsx"):
            raise ServiceError(_("file_format must be csv or xlsx."), field="file_format")
        queryset = self.filter_queryset(self.get_queryset())
        rows = lead_rows(queryset, request.user)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        if file_format == "xlsx":
            return FileResponse(
                xlsx_file(rows, title=_("Leads")),
                as_attachment=True,
                filename=f"leads-{stamp}.xlsx",
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        response = StreamingHttpResponse(csv_stream(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
        return response

    @extend_schema(responses={200: AssignmentSerializer(many=True)})
    @action(
        detail=True,
        methods=["get"],
        serializer_class=AssignmentSerializer,
        filterset_class=None,
        pagination_class=None,
    )
    def assignments(self, request, pk=None):
        """Every ownership decision on this lead with its rule, strategy and reason."""
        lead = self.get_object()
        rows = lead.assignments.select_related("owner").order_by("at", "id")
        return Response(AssignmentSerializer(rows, many=True).data)

    @extend_schema(responses={200: LeadEventSerializer(many=True)})
    @action(
        detail=True,
        methods=["get"],
        serializer_class=LeadEventSerializer,
        filterset_class=None,
        pagination_class=None,
    )
    def events(self, request, pk=None):
        lead = self.get_object()
        rows = LeadEventSerializer(lead_events(lead), many=True).data
        if contact_masked(request.user, lead):
            for row in rows:
                row["data"] = masked_event_data(row["data"])
        return Response(rows)
