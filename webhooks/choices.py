"""Codes of the webhooks app: robot kinds, delivery states and the events a hook can follow."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookKind(models.TextChoices):
    GENERIC = "generic", _("Generic (signed JSON)")
    WECOM = "wecom", _("WeCom group robot")
    DINGTALK = "dingtalk", _("DingTalk group robot")
    FEISHU = "feishu", _("Feishu group robot")


class Event(models.TextChoices):
    """The notification events (DESIGN §12) a webhook may subscribe to."""

    LEAD_ASSIGNED = "lead_assigned", _("Lead assigned")
    LEAD_REASSIGNED = "lead_reassigned", _("Lead reassigned")
    SLA_REMINDER = "sla_reminder", _("SLA reminder")
    SLA_ESCALATION = "sla_escalation", _("SLA escalation")
    LEAD_RECYCLED = "lead_recycled", _("Lead recycled")
    DUPLICATE_TOUCH = "duplicate_touch", _("Known person came back")
    IMPORT_DONE = "import_done", _("Import finished")
    REPORT_READY = "report_ready", _("Report ready")
    TARGET_AT_RISK = "target_at_risk", _("Target at risk")


#: The event of a "Send test message" delivery (not subscribable).
TEST_EVENT = "test"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed, will retry")
    GAVE_UP = "gave_up", _("Gave up")


#: States a worker may still send from (first try, or a retry that is due).
SENDABLE = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
