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
