"""Emails to salespeople about their leads."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from leads.models import ImportJob, Lead
from pipeline.text import email_subject


def notify_owner(*, lead_id: int, kind: str) -> bool:
    """Send the owner one email; returns False when there is nobody to tell."""
    lead = Lead.objects.select_related("owner", "company").filter(pk=lead_id).first()
    if lead is None or lead.owner is None or not lead.owner.email:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        if kind == "duplicate":
            subject = _("Your lead %(name)s came back through another campaign") % {
                "name": lead.name
            }
        else:
            subject = _("New lead for you: %(name)s") % {"name": lead.name}
        body = _("%(name)s (%(company)s), grade %(grade)s.\nOpen: %(url)s") % {
            "name": lead.name,
            "company": lead.company or "—",
            "grade": lead.grade or "—",
            "url": settings.SITE_URL + reverse("leads:detail", args=[lead.pk]),
        }
    send_mail(email_subject(subject), body, None, [lead.owner.email])
    return True


def notify_import_duplicates(*, job_id: int, owner_id: int, count: int) -> bool:
    """One email per owner per import: N of your open leads came back through a list."""
    job = ImportJob.objects.select_related("campaign").filter(pk=job_id).first()
    owner = get_user_model().objects.filter(pk=owner_id, is_active=True).first()
    if job is None or owner is None or not owner.email:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("%(n)d of your leads came back through %(campaign)s") % {
            "n": count,
            "campaign": job.campaign,
        }
        body = _(
            "The list “%(file)s” imported into %(campaign)s contains %(n)d people who are "
            "already your open leads; a touch was added to each."
        ) % {"file": job.original_name, "campaign": job.campaign, "n": count}
    send_mail(email_subject(subject), body, None, [owner.email])
    return True
