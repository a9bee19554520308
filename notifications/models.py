"""Per-user settings (language, channels per event) and the in-app notifications."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications.choices import Event, Language


def default_language() -> str:
    """The site language (``LANGUAGE_CODE``) when it is one users can choose, else English."""
    code = (settings.LANGUAGE_CODE or "en").lower()
    return code if code in Language.values else Language.EN.value


class UserSettings(models.Model):
    """One user's language and how far each event kind reaches them.

    Created lazily (on the first login, the first language switch or the settings page);
    a user without a row reads as the defaults (``notifications.services.settings_for``).
    ``channels`` maps an event code to a ``Channel``; a missing code is the default.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_settings",
        verbose_name=_("user"),
    )
    language = models.CharField(
        _("language"), max_length=10, choices=Language.choices, default=default_language
    )
    channels = models.JSONField(_("channels per event"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("user settings")
        verbose_name_plural = _("user settings")

    def __str__(self) -> str:
        return str(self.user)


class Notification(models.Model):
    """One in-app notification. ``text`` (one line) and ``detail`` (more lines, e.g. the
    leads an SLA reminder lists) are stored as rendered in the recipient's language when
    the event happened; ``url`` is the path it opens (a lead, an import, a report)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("user"),
    )
    event = models.CharField(_("event"), max_length=30, choices=Event.choices)
    lead = models.ForeignKey(
        "leads.Lead",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lead"),
    )
    text = models.TextField(_("text"))
    detail = models.TextField(_("detail"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="notif_user_newest"),
            models.Index(
                fields=["user"],
                condition=models.Q(read_at__isnull=True),
                name="notif_user_unread",
            ),
        ]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return self.text
