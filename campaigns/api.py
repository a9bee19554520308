"""channels/, campaigns/ and campaigns/{id}/costs/ (docs/architecture.md §9)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from campaigns import services
from campaigns.filters import CampaignFilterSet
from campaigns.models import Campaign, CampaignCost, Channel
from campaigns.selectors import campaigns_visible_to, rows_in_order, with_figures
from pipeline.api import BaseViewSet
from reports.metrics import money, roi
from reports.selectors import with_revenue

User = get_user_model()


class ChannelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Channel
        fields = ["code", "name", "name_zh", "kind"]


class ChannelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseViewSet):
    """The marketing channels (seeded; admins add more in the admin)."""

    queryset = Channel.objects.order_by("sort_order", "code")
    serializer_class = ChannelSerializer
    lookup_field = "code"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    pagination_class = None


class CampaignSerializer(serializers.ModelSerializer):
    channel = serializers.SlugRelatedField(slug_field="code", queryset=Channel.objects.all())
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )
    budget = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    utm_campaign = serializers.CharField(max_length=100, required=False, allow_blank=True)
    actual_cost = serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True)
    leads = serializers.IntegerField(source="lead_count", read_only=True, default=0)
    mqls = serializers.IntegerField(source="mql_count", read_only=True, default=0)
    revenue = serializers.SerializerMethodField(
        help_text="Won amount credited to the campaign under first touch, all time "
        "(the campaign ROI report over all time)."
    )
    roi = serializers.SerializerMethodField(
        help_text="(revenue − cost) / cost as a fraction; null without cost."
    )

    @extend_schema_field(serializers.DecimalField(max_digits=16, decimal_places=2))
    def get_revenue(self, campaign: Campaign) -> str:
        return f"{money(getattr(campaign, 'revenue', 0)):.2f}"

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_roi(self, campaign: Campaign) -> float | None:
        return roi(revenue=getattr(campaign, "revenue", 0), cost=campaign.actual_cost)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "channel",
            "owner",
            "start_date",
            "end_date",
            "budget",
            "status",
            "utm_campaign",
            "accept_utm_only",
            "description",
            "public_key",
            "actual_cost",
            "leads",
            "mqls",
            "revenue",
            "roi",
        ]
        read_only_fields = ["id", "public_key", "actual_cost", "leads", "mqls", "revenue", "roi"]


class CampaignCostSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        model = CampaignCost
        fields = ["id", "campaign", "date", "amount", "note"]
        read_only_fields = ["id", "campaign"]


class CampaignViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    BaseViewSet,
):
    """Campaigns with actual cost, leads and MQLs; marketers edit the ones they own."""

    queryset = Campaign.objects.all()
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilterSet
    ordering_fields = ["start_date", "name", "budget", "created_at", "revenue", "roi"]
    ordering = ["-start_date", "-id"]

    def get_queryset(self):
        return with_revenue(with_figures(campaigns_visible_to(self.request.user)))

    def paginate_queryset(self, queryset):
        """The page's ids first, in the ordering (a narrow query), then those rows whole
        with their figures (``rows_in_order``), as the campaign list page."""
        ids = super().paginate_queryset(queryset.values_list("pk", flat=True))
        return None if ids is None else rows_in_order(queryset, ids)

    def _save(self, serializer, campaign=None):
        current = (
            {}
            if campaign is None
            else {
                "name": campaign.name,
                "channel": campaign.channel,
                "owner": campaign.owner,
                "start_date": campaign.start_date,
                "end_date": campaign.end_date,
                "budget": campaign.budget,
                "status": campaign.status,
                "utm_campaign": campaign.utm_campaign,
                "accept_utm_only": campaign.accept_utm_only,
                "description": campaign.description,
            }
        )
        data = {**current, **serializer.validated_data}
        saved = services.campaign_save(actor=self.request.user, campaign=campaign, **data)
        return self.get_queryset().get(pk=saved.pk)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(
            self.get_serializer(self._save(serializer)).data, status=status.HTTP_201_CREATED
        )

    def update(self, request, *args, **kwargs):
        campaign = self.get_object()
        serializer = self.get_serializer(
            campaign, data=request.data, partial=kwargs.pop("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        return Response(self.get_serializer(self._save(serializer, campaign)).data)

    @extend_schema(methods=["GET"], responses={200: CampaignCostSerializer(many=True)})
    @extend_schema(
        methods=["POST"], request=CampaignCostSerializer, responses={201: CampaignCostSerializer}
    )
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=CampaignCostSerializer,
        pagination_class=None,
        filterset_class=None,
    )
    def costs(self, request, pk=None):
        campaign = self.get_object()
        if request.method == "GET":
            return Response(
                CampaignCostSerializer(campaign.costs.order_by("date", "id"), many=True).data
            )
        serializer = CampaignCostSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cost = services.cost_save(
            actor=request.user, campaign=campaign, **serializer.validated_data
        )
        return Response(CampaignCostSerializer(cost).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CampaignCostSerializer, responses={200: CampaignCostSerializer})
    @action(
        detail=True,
        methods=["put", "patch", "delete"],
        url_path=r"costs/(?P<cost_id>\d+)",
        serializer_class=CampaignCostSerializer,
        pagination_class=None,
        filterset_class=None,
    )
    def cost(self, request, pk=None, cost_id=None):
        campaign = self.get_object()
        cost = campaign.costs.filter(pk=cost_id).first()
        if cost is None:
            return Response({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)
        if request.method == "DELETE":
            services.cost_delete(actor=request.user, cost=cost)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = CampaignCostSerializer(
            cost, data=request.data, partial=request.method == "PATCH"
        )
        serializer.is_valid(raise_exception=True)
        data = {
            "date": cost.date,
            "amount": cost.amount,
            "note": cost.note,
            **serializer.validated_data,
        }
        cost = services.cost_save(actor=request.user, campaign=campaign, cost=cost, **data)
        return Response(CampaignCostSerializer(cost).data)
