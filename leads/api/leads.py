"""Leads over HTTP: list/detail/create/update and one POST endpoint per lifecycle action."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from assignment.api import AssignmentSerializer
from assignment.selectors import OUTCOMES, routing_outcome
from campaigns.models import Campaign
from leads import lifecycle
from leads.actions import run_action
from leads.api.actions import action_schema, action_serializer
from leads.api.exports import ExportJobSerializer
from leads.api.fields import lead_write_serializer_fields
from leads.bulk import BULK_ACTIONS, BULK_CAP, bulk_run
from leads.choices import (
    FollowUpMethod,
)
from leads.exports import EXPORT_FORMATS, export_needs_job, export_response, export_start, lead_rows
from leads.filters import DEFAULT_SORT, LEAD_ORDERS, LeadFilterSet
from leads.lifecycle.fields import LIFECYCLE_FIELDS
from leads.models import FollowUp, Lead, LeadEvent
from leads.privacy import person_erase, personal_data_export
from leads.selectors import (
    campaign_search,
    contact_masked,
    lead_campaign_choices,
    lead_events_for,
    lead_follow_ups_for,
    leads_visible_to,
    mask_email,
    mask_phone,
    mask_text,
)
from pipeline.api import BaseViewSet, DisplayNameField
from pipeline.db import reading_replica
from pipeline.errors import ServiceError
from pipeline.pagination import KeysetOrderingFilter, KeysetPagination
from pipeline.widgets import CAMPAIGN_SCOPES
from targets.selectors import target_campaign_choices

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
            "expected_close_date",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
            "landing_page",
            "consent_at",
            "consent_version",
            *LIFECYCLE_FIELDS,
            "erased_at",
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


class RoutingSerializer(serializers.Serializer):
    """Where routing sent the lead (``assignment.selectors.routing_outcome``; issue #14)."""

    outcome = serializers.ChoiceField(
        choices=OUTCOMES,
        help_text="assigned: it has an owner; pooled: it went to the pool; pending: routing "
        "runs in the background (a worker) or is off (the desk assigns).",
    )
    owner = serializers.IntegerField(allow_null=True, help_text="The owner's user id.")
    reason = serializers.CharField(help_text="Why, in the reader's language.")


class RoutedLeadSerializer(LeadSerializer):
    """A lead, after qualify/assign/consult: plus where routing sent it."""

    routing = RoutingSerializer(
        read_only=True,
        allow_null=True,
        help_text="null when the lead waits for no owner (not qualified, closed).",
    )

    class Meta(LeadSerializer.Meta):
        fields = [*LeadSerializer.Meta.fields, "routing"]
        read_only_fields = fields


class LeadWriteSerializer(serializers.Serializer):
    """The write fields of a lead (``leads.lifecycle.fields``); rules (normalising,
    duplicates) live in the lifecycle."""

    source_campaign = serializers.PrimaryKeyRelatedField(
        queryset=Campaign.objects.all(), required=False, allow_null=True
    )
    expected_close_date = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="An open deal's expected close date (owner and their managers; null "
        "clears it): the forecast counts the deal in the period it falls in.",
    )

    def get_fields(self):
        """The spec's write fields (``leads.lifecycle.fields``), then ``source_campaign``
        and ``expected_close_date``."""
        return {**lead_write_serializer_fields(), **super().get_fields()}


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
            "recorded_at",
            "created_at",
        ]
        read_only_fields = ["id", "lead", "author", "recorded_at", "created_at"]
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


class EraseRequestSerializer(serializers.Serializer):
    """The erasure's confirmation (checked by ``leads.privacy.person_erase``)."""

    confirm = serializers.BooleanField(
        help_text="Must be true: erasing cannot be undone.", required=True
    )


class ErasureSerializer(serializers.Serializer):
    """Which leads of the person were erased, and when."""

    lead_ids = serializers.ListField(child=serializers.IntegerField())
    erased_at = serializers.DateTimeField(allow_null=True)


class BulkRequestSerializer(serializers.Serializer):
    """``POST leads/bulk/``: one action on many leads (``leads.bulk.bulk_run``)."""

    action = serializers.ChoiceField(choices=BULK_ACTIONS)
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=BULK_CAP
    )
    data = serializers.DictField(
        required=False,
        default=dict,
        help_text="The action's input, as its single-lead endpoint takes it "
        "(assign: owner, reason — required to reassign; disqualify/recycle: reason_code, reason).",
    )


class BulkRefusalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    detail = serializers.CharField()


class BulkResultSerializer(serializers.Serializer):
    done = serializers.ListField(child=serializers.IntegerField())
    refused = BulkRefusalSerializer(many=True)


class CampaignChoiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CampaignChoicesSerializer(serializers.Serializer):
    """``GET leads/campaign-choices/``: the lead filters' campaign picker."""

    results = CampaignChoiceSerializer(many=True)


def campaign_choices_in(scope: str, user):
    """The campaigns of one picker scope (``pipeline.widgets.CAMPAIGN_SCOPES``): each the
    one rule of its purpose."""
    if scope == "lead":
        return lifecycle.campaigns_usable_by(user)
    if scope == "target":
        return target_campaign_choices(user)
    return lead_campaign_choices(user)


class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """Leads visible to the user; writes and transitions go through ``leads.lifecycle``."""

    queryset = Lead.objects.all()
    serializer_class = LeadSerializer
    filterset_class = LeadFilterSet
    # The lead list's named orders, each index-served and continued by signed cursors
    # (``next``/``previous``): deep pages never OFFSET through a million leads.
    filter_backends = [DjangoFilterBackend, KeysetOrderingFilter]
    pagination_class = KeysetPagination
    keyset_orders = LEAD_ORDERS
    keyset_default = DEFAULT_SORT

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
        if fields.pop("expected_close_date", None) is not None:
            raise ServiceError(
                _("A new lead is not a deal yet: set the expected close date once it is."),
                field="expected_close_date",
            )
        result = lifecycle.lead_create(actor=request.user, fields=fields, campaign=campaign)
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
        close = fields.pop("expected_close_date", ...)
        lead = lifecycle.lead_update(
            lead=lead,
            actor=request.user,
            fields=fields,
            source_campaign=campaign,
            expected_close=close,
        )
        return self._answer(lead)

    @extend_schema(request=LeadWriteSerializer, responses={200: LeadSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def _run(self, request, name: str) -> Response:
        """404 (``get_object``) → 403 → 409 → 400, then the one service call."""
        lead = self.get_object()
        return self._answer(run_action(lead=lead, actor=request.user, name=name, data=request.data))

    def _routed(self, lead: Lead) -> Response:
        """The lead and where routing sent it (after the commit: eager routing has run)."""
        outcome = routing_outcome(lead.pk)
        return self._answer(lead, routing=outcome.as_data() if outcome is not None else None)

    @action_schema("qualify", response=RoutedLeadSerializer, summary="new → mql with a grade")
    @action(detail=True, methods=["post"])
    def qualify(self, request, pk=None):
        lead = self.get_object()
        return self._routed(
            run_action(lead=lead, actor=request.user, name="qualify", data=request.data)
        )

    @action_schema("disqualify", response=LeadSerializer, summary="new/mql → disqualified")
    @action(detail=True, methods=["post"])
    def disqualify(self, request, pk=None):
        return self._run(request, "disqualify")

    @action_schema(
        "assign",
        response=RoutedLeadSerializer,
        summary="Assign or reassign; without owner the router decides",
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        lead = self.get_object()
        return self._routed(
            run_action(lead=lead, actor=request.user, name="assign", data=request.data)
        )

    @action_schema("accept", response=LeadSerializer, summary="Owned mql → sql")
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._run(request, "accept")

    @action_schema("reject", response=LeadSerializer, summary="Owned mql → back to the lead desk")
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._run(request, "reject")

    @action_schema("recycle", response=LeadSerializer, summary="Owned mql/sql → the pool")
    @action(detail=True, methods=["post"])
    def recycle(self, request, pk=None):
        return self._run(request, "recycle")

    @action_schema("claim", response=LeadSerializer, summary="Claim a pooled lead")
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        return self._run(request, "claim")

    @action_schema("to_opportunity", response=LeadSerializer, summary="sql → opportunity")
    @action(detail=True, methods=["post"])
    def to_opportunity(self, request, pk=None):
        return self._run(request, "to_opportunity")

    @action_schema("win", response=LeadSerializer, summary="sql/opportunity → won")
    @action(detail=True, methods=["post"])
    def win(self, request, pk=None):
        return self._run(request, "win")

    @action_schema("lose", response=LeadSerializer, summary="sql/opportunity → lost")
    @action(detail=True, methods=["post"])
    def lose(self, request, pk=None):
        return self._run(request, "lose")

    @action_schema(
        "consult",
        response=RoutedLeadSerializer,
        summary="The desk's consult: save the call's findings, then qualify or disqualify",
    )
    @action(detail=True, methods=["post"])
    def consult(self, request, pk=None):
        lead = self.get_object()
        result = run_action(lead=lead, actor=request.user, name="consult", data=request.data)
        return self._routed(result.lead)

    @extend_schema(methods=["GET"], responses={200: FollowUpSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=action_serializer("follow_up"),
        responses={201: FollowUpSerializer},
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
            rows = lead_follow_ups_for(request.user, lead)
            return Response(FollowUpSerializer(rows, many=True).data)
        follow_up = run_action(lead=lead, actor=request.user, name="follow_up", data=request.data)
        return Response(FollowUpSerializer(follow_up).data, status=status.HTTP_201_CREATED)

    @action_schema("reset_grade", response=LeadSerializer)
    @action(detail=True, methods=["post"])
    def reset_grade(self, request, pk=None):
        return self._run(request, "reset_grade")

    @action_schema("grade", response=LeadSerializer)
    @action(detail=True, methods=["post"])
    def grade(self, request, pk=None):
        return self._run(request, "grade")

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="Text the campaign's name contains (any case)."),
            OpenApiParameter(
                "scope",
                str,
                enum=list(CAMPAIGN_SCOPES),
                default="filter",
                description=(
                    "Which campaigns: those the user may filter leads by (filter), enter a "
                    "lead in or move one to (lead), set a target on (target)."
                ),
            ),
        ],
        responses={200: CampaignChoicesSerializer},
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="campaign-choices",
        filter_backends=[],
        pagination_class=None,
    )
    def campaign_choices(self, request):
        """Up to 20 campaigns whose name contains ``q``, in ``scope``: ``filter`` (default),
        those the user may filter leads by (``campaign`` and ``touched_by``: every campaign
        for the desk, marketing and management, a salesperson's only the source campaigns of
        their (teams') leads); ``lead``, those the user may enter a lead in or move one to
        (``lifecycle.campaigns_usable_by``); ``target``, those the user may set a target on
        (``targets.selectors.target_campaign_choices``). Names starting with ``q`` come
        first; an empty ``q`` gives the first by name."""
        scope = request.query_params.get("scope") or "filter"
        if scope not in CAMPAIGN_SCOPES:
            raise ValidationError({"scope": _("Unknown scope.")})
        campaigns = campaign_choices_in(scope, request.user)
        rows = campaign_search(campaigns, text=request.query_params.get("q", ""))
        data = [{"id": campaign.pk, "name": campaign.name} for campaign in rows]
        return Response(CampaignChoicesSerializer({"results": data}).data)

    @extend_schema(
        parameters=[OpenApiParameter("file_format", str, enum=["csv", "xlsx"])],
        responses={
            (200, "text/csv"): OpenApiResponse(description="The filtered leads"),
            202: OpenApiResponse(
                response=ExportJobSerializer,
                description="More than EXPORT_SYNC_MAX_ROWS leads: a job on the bulk queue "
                "(follow /api/v1/lead-exports/<id>/; its requester is notified when done)",
            ),
        },
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    @reading_replica()
    def export(self, request):
        """The filtered list as CSV or XLSX (same filters as the list); above
        ``EXPORT_SYNC_MAX_ROWS`` leads, 202 with the export job to follow."""
        file_format = request.query_params.get("file_format", "csv")
        if file_format not in EXPORT_FORMATS:
            raise ServiceError(_("file_format must be csv or xlsx."), field="file_format")
        queryset = self.filter_queryset(self.get_queryset())
        if export_needs_job(queryset):
            job = export_start(
                user=request.user,
                params=request.query_params,
                source="api",
                file_format=file_format,
            )
            data = ExportJobSerializer(job, context=self.get_serializer_context()).data
            return Response(data, status=status.HTTP_202_ACCEPTED)
        rows = lead_rows(queryset, request.user)
        return export_response(rows, file_format=file_format)

    @extend_schema(
        summary="One action on many leads; each lead refused or done on its own",
        request=BulkRequestSerializer,
        responses={200: BulkResultSerializer},
    )
    @action(detail=False, methods=["post"], filterset_class=None, pagination_class=None)
    def bulk(self, request):
        """Assign, qualify, disqualify, recycle, claim or accept up to 500 leads. Ids the
        user may not see are refused as not found; 403 when the role may not run the
        action at all; 400 for input no lead could run with."""
        serializer = BulkRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        result = bulk_run(
            actor=request.user, name=values["action"], lead_ids=values["ids"], data=values["data"]
        )
        return Response(
            {
                "done": result.done,
                "refused": [{"id": pk, "detail": message} for pk, message in result.refused],
            }
        )

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
        return Response(LeadEventSerializer(lead_events_for(request.user, lead), many=True).data)

    @extend_schema(
        summary="Everything held about the lead's person (PIPL data-subject export)",
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="personal-data",
        filterset_class=None,
        pagination_class=None,
    )
    def personal_data(self, request, pk=None):
        """Lead desk and administrators: the person's leads, touches, events, follow-ups,
        assignments, consent and import errors as JSON; logged on each lead."""
        lead = self.get_object()
        return Response(personal_data_export(lead=lead, actor=request.user))

    @extend_schema(
        summary="Erase the lead's person (PIPL); reports do not change",
        request=EraseRequestSerializer,
        responses={200: ErasureSerializer},
    )
    @action(detail=True, methods=["post"], filterset_class=None, pagination_class=None)
    def erase(self, request, pk=None):
        """Lead desk and administrators: wipe the person's contact data and texts on every
        lead of theirs (``{"confirm": true}``); 409 when this lead is erased already."""
        lead = self.get_object()
        result = person_erase(lead=lead, actor=request.user, confirm=request.data.get("confirm"))
        return Response(ErasureSerializer(result).data)
