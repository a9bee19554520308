"""Teams, memberships, assignment rules and simulation over HTTP (docs/architecture.md §9)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import QueryDict
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from assignment import services
from assignment.models import Assignment, AssignmentRule, Team, TeamMembership
from leads.filters import LeadFilterSet
from leads.selectors import leads_visible_to
from pipeline.api import BaseViewSet, ServiceSaveMixin
from pipeline.errors import ServiceError
from pipeline.roles import Role, has_role
from scoring.forms import condition_display

User = get_user_model()


def _reads_assignment(user) -> bool:
    return has_role(user, Role.LEAD_DESK, Role.SALES_MANAGER, Role.MANAGER)


class TeamSerializer(serializers.ModelSerializer):
    manager = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), allow_null=True, required=False
    )

    class Meta:
        model = Team
        fields = ["id", "name", "manager"]


class MembershipSerializer(serializers.ModelSerializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    username = serializers.CharField(source="user.username", read_only=True)
    weight = serializers.IntegerField(required=False, default=1)
    daily_capacity = serializers.IntegerField(required=False, default=20)
    max_open_leads = serializers.IntegerField(required=False, default=200)

    class Meta:
        model = TeamMembership
        fields = [
            "id",
            "team",
            "user",
            "username",
            "weight",
            "daily_capacity",
            "max_open_leads",
            "available",
            "away_until",
        ]
        read_only_fields = ["id", "team", "username"]
        validators = []  # uniqueness is checked by the service with a readable message


class ConditionSerializer(serializers.Serializer):
    field = serializers.CharField()
    operator = serializers.CharField()
    value = serializers.JSONField()
    #: Read only: the condition in words, in the request's language ("预算 ≥ 500,000").
    description = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_description(self, condition) -> str:
        return condition_display(
            str(condition.get("field", "")),
            str(condition.get("operator", "")),
            condition.get("value"),
        )


class AssignmentRuleSerializer(serializers.ModelSerializer):
    conditions = ConditionSerializer(many=True, required=False)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), allow_null=True, required=False
    )
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = AssignmentRule
        fields = ["id", "name", "priority", "active", "conditions", "strategy", "team", "user"]


class AssignmentSerializer(serializers.ModelSerializer):
    owner_username = serializers.CharField(source="owner.username", default=None)
    # Why, in the request's language; ``reason_code``/``reason_params`` are the same reason
    # as stored (empty for decisions recorded before codes existed).
    reason = serializers.CharField(source="reason_display", read_only=True)
    reason_params = serializers.DictField(read_only=True)

    class Meta:
        model = Assignment
        fields = [
            "id",
            "lead",
            "owner",
            "owner_username",
            "previous_owner",
            "rule",
            "rule_name",
            "strategy",
            "reason",
            "reason_code",
            "reason_params",
            "actor",
            "at",
        ]
        read_only_fields = fields


class TeamViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    BaseViewSet,
):
    """Sales teams. The desk manages them; managers of a team and its members read it."""

    queryset = Team.objects.select_related("manager").order_by("name")
    serializer_class = TeamSerializer

    def scope(self, queryset):
        user = self.request.user
        if has_role(user, Role.LEAD_DESK, Role.MANAGER):
            return queryset
        return queryset.filter(Q(manager=user) | Q(memberships__user=user)).distinct()

    def _require_desk(self):
        if not has_role(self.request.user, Role.LEAD_DESK):
            raise ServiceError(_("Only the lead desk manages teams."), code="forbidden")

    def perform_create(self, serializer):
        self._require_desk()
        serializer.save()

    def perform_update(self, serializer):
        self._require_desk()
        serializer.save()

    @extend_schema(methods=["GET"], responses={200: MembershipSerializer(many=True)})
    @extend_schema(
        methods=["POST"], request=MembershipSerializer, responses={201: MembershipSerializer}
    )
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=MembershipSerializer,
        pagination_class=None,
        filterset_class=None,
    )
    def members(self, request, pk=None):
        team = self.get_object()
        if request.method == "GET":
            rows = team.memberships.select_related("user").order_by("user__username")
            return Response(MembershipSerializer(rows, many=True).data)
        serializer = MembershipSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_save(
            actor=request.user, team=team, **serializer.validated_data
        )
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MembershipSerializer, responses={200: MembershipSerializer})
    @action(
        detail=True,
        methods=["put", "patch", "delete"],
        url_path=r"members/(?P<member_id>\d+)",
        serializer_class=MembershipSerializer,
        pagination_class=None,
        filterset_class=None,
    )
    def member(self, request, pk=None, member_id=None):
        team = self.get_object()
        membership = team.memberships.select_related("user").filter(pk=member_id).first()
        if membership is None:
            return Response({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)
        if request.method == "DELETE":
            if not services.can_manage_team(request.user, team):
                raise ServiceError(_("You are not allowed to change this team."), code="forbidden")
            membership.delete()
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = MembershipSerializer(
            membership, data=request.data, partial=request.method == "PATCH"
        )
        serializer.is_valid(raise_exception=True)
        merged = {
            "user": membership.user,
            "weight": membership.weight,
            "daily_capacity": membership.daily_capacity,
            "max_open_leads": membership.max_open_leads,
            "available": membership.available,
            "away_until": membership.away_until,
            **serializer.validated_data,
        }
        membership = services.membership_save(
            actor=request.user, team=team, membership=membership, **merged
        )
        return Response(MembershipSerializer(membership).data)


SimulateRequest = inline_serializer(
    "SimulateRequest",
    {
        "filter": serializers.DictField(required=False),
        "rules": AssignmentRuleSerializer(many=True, required=False),
    },
)
SimulateResponse = inline_serializer(
    "SimulateResponse",
    {
        "total": serializers.IntegerField(),
        "unmatched": serializers.IntegerField(),
        "changed": serializers.IntegerField(),
        "distribution": inline_serializer(
            "SimulateRow",
            {
                "user": serializers.IntegerField(),
                "username": serializers.CharField(),
                "count": serializers.IntegerField(),
            },
            many=True,
        ),
    },
)


class AssignmentRuleViewSet(
    ServiceSaveMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    BaseViewSet,
):
    """Ordered routing rules: the desk and administrators write them, others who see
    assignment read them (a rule decides for every team)."""

    queryset = AssignmentRule.objects.select_related("team", "user").order_by("priority", "id")
    serializer_class = AssignmentRuleSerializer

    def scope(self, queryset):
        return queryset if _reads_assignment(self.request.user) else queryset.none()

    def _save(self, serializer, rule=None):
        data = {
            **(
                {}
                if rule is None
                else {
                    "name": rule.name,
                    "priority": rule.priority,
                    "active": rule.active,
                    "conditions": rule.conditions,
                    "strategy": rule.strategy,
                    "team": rule.team,
                    "user": rule.user,
                }
            ),
            **serializer.validated_data,
        }
        data.setdefault("conditions", [])
        data["conditions"] = [dict(c) for c in data["conditions"]]
        return services.rule_save(actor=self.request.user, rule=rule, **data)

    def perform_destroy(self, instance):
        services.rule_delete(actor=self.request.user, rule=instance)

    @extend_schema(request=SimulateRequest, responses={200: SimulateResponse})
    @action(detail=False, methods=["post"], filterset_class=None, pagination_class=None)
    def simulate(self, request):
        """Replay current (or draft) rules over a filtered set of leads; writes nothing."""
        if not _reads_assignment(request.user):
            raise ServiceError(_("You are not allowed to simulate assignment."), code="forbidden")
        body = request.data if isinstance(request.data, dict) else {}
        raw_filter = body.get("filter") or {}
        if not isinstance(raw_filter, dict):
            raise ValidationError({"filter": [_("The filter must be an object.")]})
        query = QueryDict(mutable=True)
        for key, value in raw_filter.items():
            for item in value if isinstance(value, list) else [value]:
                query.appendlist(
                    key,
                    ""
                    if item is None
                    else str(item).lower()
                    if isinstance(item, bool)
                    else str(item),
                )
        filterset = LeadFilterSet(query, queryset=leads_visible_to(request.user), request=request)
        if not filterset.is_valid():
            raise ValidationError({"filter": filterset.errors})
        if "rules" in body and body["rules"] is not None:
            drafts = AssignmentRuleSerializer(data=body["rules"], many=True)
            drafts.is_valid(raise_exception=True)
            specs = []
            for d in drafts.validated_data:
                cleaned = services.clean_rule(
                    name=d.get("name", ""),
                    conditions=[dict(c) for c in d.get("conditions", [])],
                    strategy=d.get("strategy", ""),
                    team=d.get("team"),
                    user=d.get("user"),
                )
                specs.append(
                    services.RuleSpec(
                        name=cleaned["name"],
                        conditions=tuple(
                            (c["field"], c["operator"], c["value"]) for c in cleaned["conditions"]
                        ),
                        strategy=cleaned["strategy"],
                        team_id=cleaned["team"].pk if cleaned["team"] else None,
                        user_id=cleaned["user"].pk if cleaned["user"] else None,
                    )
                )
        else:
            specs = services.active_rule_specs()
        return Response(services.simulate(leads=filterset.qs, rules=specs))
