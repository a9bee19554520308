"""``manage.py backfill_sla_clocks`` fills what an upgrade left empty, once."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from assignment.models import Assignment
from leads.choices import Stage
from tests.factories import UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db


def test_fills_empty_assignment_figures_and_is_idempotent():
    rep = UserFactory(roles=["sales_rep"])
    lead = lead_in_stage(Stage.MQL, owner=rep)
    decision = Assignment.objects.create(
        lead=lead, owner=rep, strategy="manual", reason="old row", at=lead.assigned_at
    )
    assert decision.response_due_at is None  # written before the figures were kept
    out = io.StringIO()
    call_command("backfill_sla_clocks", stdout=out)
    decision.refresh_from_db()
    assert decision.response_due_at is not None and decision.response_due_at > decision.at
    assert "rows" in out.getvalue()
    again = io.StringIO()
    call_command("backfill_sla_clocks", stdout=again)
    assert "on 0 rows" in again.getvalue()


def test_backfill_counts_a_late_recorded_follow_up_when_it_was_recorded():
    """The backfill uses the lifecycle's effective time (``effective_at``), not ``at``."""
    import datetime as dt

    from leads.models import FollowUp, Lead

    rep = UserFactory(roles=["sales_rep"])
    lead = lead_in_stage(Stage.MQL, owner=rep)
    Lead.objects.filter(pk=lead.pk).update(response_due_at=None, responded_at=None)
    assigned = lead.assigned_at - dt.timedelta(days=60)
    Lead.objects.filter(pk=lead.pk).update(assigned_at=assigned)
    decision = Assignment.objects.create(
        lead=lead, owner=rep, strategy="manual", reason="old row", at=assigned
    )
    stated = assigned + dt.timedelta(hours=1)
    recorded = assigned + dt.timedelta(days=30)
    FollowUp.objects.create(lead=lead, author=rep, at=stated, recorded_at=recorded, method="call")
    call_command("backfill_sla_clocks", stdout=io.StringIO())
    decision.refresh_from_db()
    lead.refresh_from_db()
    assert decision.first_response_at == recorded
    assert lead.responded_at == recorded
