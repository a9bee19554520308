"""``webhooks/``: administrators configure outgoing webhooks and read their delivery log."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from assignment.models import Team
from pipeline.api import BaseViewSet, ServiceSaveMixin
from webhooks import selectors, services
from webhooks.choices import DeliveryStatus, Event, WebhookKind
from webhooks.models import Delivery, DeliveryAttempt, Webhook


class IsAdministrator(permissions.BasePermission):
    message = _("Only administrators manage webhooks.")

    def has_permission(self, request, view) -> bool:
        return services.can_manage_webhooks(request.user)


class WebhookSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=WebhookKind.choices)
    url = serializers.CharField(max_length=1000)
    # Write-only: an answer shows it masked; leaving it out of an update keeps it.
    secret = serializers.CharField(
        max_length=200, write_only=True, required=False, allow_blank=True, trim_whitespace=True
    )
    secret_masked = serializers.SerializerMethodField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices))
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), allow_null=True, required=False
    )
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)

    class Meta:
        model = Webhook
        fields = [
            "id", "name", "kind", "url", "secret", "secret_masked", "events", "team",
            "language", "active", "created_at",
        ]  # fmt: skip
        read_only_fields = ["created_at"]

    def get_secret_masked(self, webhook: Webhook) -> str:
        return services.masked_secret(webhook.secret)


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "at", "ok", "status_code", "latency_ms", "error"]


class DeliverySerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    lead = serializers.IntegerField(source="lead_id", allow_null=True)
    idempotency_key = serializers.UUIDField()
    attempt_log = DeliveryAttemptSerializer(many=True)

    class Meta:
        model = Delivery
        fields = [
            "id", "event", "lead", "idempotency_key", "text", "payload", "status", "attempts",
            "next_attempt_at", "last_status_code", "last_latency_ms", "last_error", "created_at",
            "sent_at", "attempt_log",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookViewSet(
    ServiceSaveMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    BaseViewSet,
):
    """Outgoing webhooks (WeCom, DingTalk, Feishu robots, generic signed JSON); admins only."""

    queryset = Webhook.objects.select_related("team").order_by("name", "pk")
    serializer_class = WebhookSerializer
    permission_classes = [permissions.IsAuthenticated, IsAdministrator]

    def _save(self, serializer, webhook: Webhook | None = None) -> Webhook:
        data = dict(serializer.validated_data)
        current = (
            {}
            if webhook is None
            else {
                "name": webhook.name, "kind": webhook.kind, "url": webhook.url,
                "events": webhook.events, "team": webhook.team, "language": webhook.language,
                "active": webhook.active,
            }
        )  # fmt: skip
        merged = {**current, **data}
        return services.webhook_save(
            actor=self.request.user,
            webhook=webhook,
            name=merged.get("name", ""),
            kind=merged.get("kind", ""),
            url=merged.get("url", ""),
            events=merged.get("events", []),
            secret=data.get("secret"),
            team=merged.get("team"),
            language=merged.get("language"),
            active=merged.get("active", True),
        )

    def perform_destroy(self, instance):
        services.webhook_delete(actor=self.request.user, webhook=instance)

    @extend_schema(responses={200: DeliverySerializer(many=True)})
    @action(detail=True, methods=["get"], serializer_class=DeliverySerializer)
    def deliveries(self, request, pk=None):
        """Every delivery of this webhook, newest first, with each attempt."""
        webhook = self.get_object()
        page = self.paginate_queryset(selectors.deliveries_of(webhook=webhook))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(
                inline_serializer("WebhookTestQueued", {"delivery": serializers.IntegerField()})
            )
        },
    )
    @action(detail=True, methods=["post"], serializer_class=serializers.Serializer)
    def test(self, request, pk=None):
        """Queue a test message; answers the delivery id to follow in ``deliveries/``."""
        webhook = self.get_object()
        delivery = services.delivery_test(actor=request.user, webhook=webhook)
        return Response({"delivery": delivery.pk}, status=status.HTTP_202_ACCEPTED)
