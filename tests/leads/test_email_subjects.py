"""Email subjects are built safely (``pipeline.text.email_subject``): a user-supplied value
with a line break never makes a notification fail with ``BadHeaderError``."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import TestCase
from rest_framework.test import APIClient

from leads.choices import Stage
from leads.models import ImportJob
from notifications.choices import Event
from notifications.events import tell_assigned, tell_import_duplicates, tell_lead_lists
from pipeline.text import email_subject
from tests.factories import CampaignFactory, lead_in_stage

pytestmark = pytest.mark.django_db
EVIL = "Evil\r\nBcc: victim@example.com\u202e"


def test_email_subject_is_one_clean_line():
    assert email_subject(f"New lead: {EVIL}") == "New lead: Evil Bcc: victim@example.com"
    assert len(email_subject("x" * 500)) == 200


def test_owner_is_told_even_when_the_stored_name_has_a_line_break(rep, mailoutbox):
    # Written before names were cleaned (or by any path that skipped the rule).
    lead = lead_in_stage(Stage.SQL, owner=rep, name=EVIL)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert tell_assigned(lead_id=lead.pk, owner_id=rep.pk, previous_owner_id=None) == 1
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [rep.email]
    assert "\n" not in mailoutbox[0].subject and "Evil Bcc" in mailoutbox[0].subject


def test_a_capture_with_a_line_break_in_the_name_still_tells_the_owner(rep, mailoutbox):
    cache.clear()
    campaign = CampaignFactory()
    lead_in_stage(Stage.SQL, owner=rep, phone="+8613900000202")
    with TestCase.captureOnCommitCallbacks(execute=True):
        answer = APIClient().post(
            "/api/v1/capture/",
            {"campaign_key": campaign.public_key, "name": EVIL, "phone": "13900000202",
             "consent": True},
            format="json",
        )  # fmt: skip
    assert answer.status_code == 201
    assert len(mailoutbox) == 1 and "\n" not in mailoutbox[0].subject


def test_import_and_sla_mails_survive_a_line_break(rep, marketer, mailoutbox):
    campaign = CampaignFactory(name="Expo\r\nBcc: x@y.cn", owner=marketer)
    job = ImportJob.objects.create(campaign=campaign, created_by=marketer, original_name="a.csv")
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert tell_import_duplicates(job_id=job.pk, owner_id=rep.pk, count=2) == 1
        tell_lead_lists(
            event=Event.SLA_REMINDER,
            grouped={rep.pk: [{"name": "Evil\r\nBcc: x@y.cn", "grade": "A"}]},
            kind="overdue",
        )
    assert len(mailoutbox) == 2
    assert all("\n" not in message.subject for message in mailoutbox)
