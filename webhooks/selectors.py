"""Reads of the webhooks app (administrators only; the views check that)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery, Webhook


def deliveries_of(*, webhook: Webhook) -> QuerySet[Delivery]:
    """A webhook's deliveries, newest first, with their attempts."""
    return (
        Delivery.objects.filter(webhook=webhook)
        .prefetch_related("attempt_log")
        .order_by("-created_at", "-pk")
    )


def webhooks_with_counts() -> QuerySet[Webhook]:
    """Every webhook with its number of deliveries sent, failing and given up."""
    return (
        Webhook.objects.select_related("team")
        .annotate(
            sent_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.SENT)),
            failing_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
            gave_up_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.GAVE_UP)),
        )
        .order_by("name", "pk")
    )
