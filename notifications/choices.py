"""The notification vocabulary: event codes, delivery channels, user languages."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.TextChoices):
    """What a notification is about (docs/architecture.md, notifications; DESIGN §12)."""

    LEAD_ASSIGNED = "lead_assigned", _("A lead was assigned to you")
    LEAD_REASSIGNED = "lead_reassigned", _("A lead of yours was reassigned")
    SLA_REMINDER = "sla_reminder", _("SLA reminder")
    SLA_ESCALATION = "sla_escalation", _("SLA escalation (team leads without a first response)")
    LEAD_RECYCLED = "lead_recycled", _("A lead of yours went back to the pool")
    DUPLICATE_TOUCH = "duplicate_touch", _("A known person came back on your lead")
    IMPORT_DONE = "import_done", _("Import finished")
    REPORT_READY = "report_ready", _("Report ready")
    TARGET_AT_RISK = "target_at_risk", _("Target at risk")
    EXPORT_READY = "export_ready", _("Export ready")


class Channel(models.TextChoices):
    """How far an event reaches a user; each level includes the ones before it."""

    IN_APP = "in_app", _("In the app only")
    EMAIL = "email", _("In the app and by email")
    ROBOT = "robot", _("In the app, by email and in my team's chat robot")


class Language(models.TextChoices):
    """The languages a user can read LeadLoop in (settings.LANGUAGES)."""

    EN = "en", "English"
    ZH_HANS = "zh-hans", "简体中文"


#: What a user receives before choosing: the in-app notification and the email (the
#: emails LeadLoop always sent keep coming).
DEFAULT_CHANNEL = Channel.EMAIL
