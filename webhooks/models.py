"""Outgoing webhooks: the chat robots and signed endpoints events are posted to, and the
log of every delivery and attempt."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assignment.models import Team
from webhooks.choices import DeliveryStatus, WebhookKind


def default_language() -> str:
    return str(settings.LANGUAGE_CODE)


class Webhook(models.Model):
    """Where notification events are posted: a WeCom/DingTalk/Feishu group robot or a
    generic HTTPS endpoint. ``events`` is a list of ``webhooks.choices.Event`` codes; a hook
    with a ``team`` gets only the events of that team, one without gets every event. The
    ``secret`` signs (DingTalk, Feishu, generic) and is never shown back."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=WebhookKind.choices)
    url = models.URLField(_("URL"), max_length=1000)
    secret = models.CharField(_("secret"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list)
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="webhooks",
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=default_language
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self) -> str:
        return self.name


class Delivery(models.Model):
    """One event for one webhook: the rendered message, and where its sending stands.

    ``payload`` is the platform's JSON body without the time-dependent signature (added at
    each attempt, since DingTalk and Feishu refuse a timestamp older than an hour). A worker
    claims the row with a conditional UPDATE on ``claimed_until`` before sending
    (``webhooks.services.delivery_attempt``), so two workers never send it twice.
    """

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=30)
    lead_id = models.BigIntegerField(null=True, blank=True)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    text = models.TextField(blank=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["webhook", "-created_at"], name="delivery_by_hook"),
            # Erasing a person (leads.privacy) finds the messages about their leads.
            models.Index(fields=["lead_id"], name="delivery_by_lead"),
        ]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")

    def __str__(self) -> str:
        return f"{self.webhook_id}:{self.event}#{self.pk}"


class DeliveryAttempt(models.Model):
    """One try at sending a delivery: the answer's status code, the latency, the error."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    ok = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="one_attempt_per_number")
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id}#{self.number}"
