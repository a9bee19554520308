"""Honest clocks (DESIGN §7): a follow-up may be back-dated, but never before the lead was
assigned to its author; for the SLA a follow-up recorded long after its stated time counts
when it was recorded. Claimed, recycled and closed leads carry no inherited next
follow-up."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db.models import Q
from django.utils import timezone

from assignment.models import Assignment
from leads import lifecycle
from leads.choices import Stage
from leads.lifecycle.followups import effective_at
from leads.models import FollowUp, Lead
from pipeline.errors import ServiceError
from tests.factories import lead_in_stage

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
ASSIGNED = dt.datetime(2026, 7, 11, 10, 0, tzinfo=SHANGHAI)
LATER = dt.datetime(2026, 12, 2, 15, 0, tzinfo=SHANGHAI)


def assigned_lead(desk, rep) -> Lead:
    with time_machine.travel(ASSIGNED, tick=False):
        lead = lead_in_stage(Stage.MQL)
        lifecycle.lead_assign(lead=lead, actor=desk, owner=rep)
    lead.refresh_from_db()
    assert lead.response_due_at is not None
    return lead


def test_effective_at_keeps_the_stated_time_only_within_the_window(settings):
    settings.FOLLOW_UP_BACKDATE_HOURS = 24
    at = dt.datetime(2026, 7, 11, 23, 0, tzinfo=SHANGHAI)
    assert effective_at(at, at + dt.timedelta(hours=24)) == at
    late = at + dt.timedelta(hours=24, seconds=1)
    assert effective_at(at, late) == late


def test_a_follow_up_back_dated_by_months_counts_when_recorded(api, desk, rep):
    lead = assigned_lead(desk, rep)
    stated = dt.datetime(2026, 7, 11, 23, 0, tzinfo=SHANGHAI)
    with time_machine.travel(LATER, tick=False):
        response = api(rep).post(
            f"/api/v1/leads/{lead.pk}/follow-ups/",
            {"method": "call", "at": "2026-07-11T23:00+08:00"},
            format="json",
        )
    assert response.status_code == 201, response.json()
    assert dt.datetime.fromisoformat(response.json()["recorded_at"]) == LATER
    follow_up = FollowUp.objects.get(lead=lead)
    assert follow_up.at == stated and follow_up.recorded_at == LATER
    lead.refresh_from_db()
    assert lead.responded_at == LATER and lead.last_follow_up_at == LATER
    assert lead.first_contact_at == stated  # what happened, as claimed
    assignment = Assignment.objects.get(lead=lead, owner=rep)
    assert assignment.first_response_at == LATER
    assert assignment.first_response_at > assignment.response_due_at
    assert assignment.response_work_seconds is not None
    assert assignment.response_work_seconds > 100 * 8 * 3600  # months of working time


def test_a_follow_up_logged_within_the_window_counts_at_its_stated_time(api, desk, rep):
    lead = assigned_lead(desk, rep)
    stated = ASSIGNED + dt.timedelta(hours=1)
    with time_machine.travel(stated + dt.timedelta(hours=20), tick=False):
        response = api(rep).post(
            f"/api/v1/leads/{lead.pk}/follow-ups/",
            {"method": "call", "at": stated.isoformat()},
            format="json",
        )
    assert response.status_code == 201, response.json()
    lead.refresh_from_db()
    assert lead.responded_at == stated == lead.last_follow_up_at
    assignment = Assignment.objects.get(lead=lead, owner=rep)
    assert assignment.first_response_at == stated
    assert assignment.first_response_at <= assignment.response_due_at  # in time


def test_a_follow_up_dated_before_the_assignment_is_400_and_stores_nothing(api, desk, rep):
    lead = assigned_lead(desk, rep)
    with time_machine.travel(ASSIGNED + dt.timedelta(hours=2), tick=False):
        response = api(rep).post(
            f"/api/v1/leads/{lead.pk}/follow-ups/",
            {"method": "call", "at": (ASSIGNED - dt.timedelta(minutes=5)).isoformat()},
            format="json",
        )
    assert response.status_code == 400 and "at" in response.json()
    assert not FollowUp.objects.filter(lead=lead).exists()
    lead.refresh_from_db()
    assert lead.responded_at is None and lead.last_follow_up_at is None
    assert Assignment.objects.get(lead=lead, owner=rep).first_response_at is None


def test_back_dating_before_the_assignment_is_refused_in_the_lifecycle(desk, rep):
    lead = assigned_lead(desk, rep)
    with pytest.raises(ServiceError) as refused:
        lifecycle.follow_up_log(
            lead=lead, actor=rep, method="call", at=ASSIGNED - dt.timedelta(days=1)
        )
    assert refused.value.field == "at"


def _with_next_follow_up(lead: Lead) -> Lead:
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=timezone.now() - dt.timedelta(days=2))
    lead.refresh_from_db()
    return lead


def test_claim_starts_without_the_previous_owners_next_follow_up(other_rep):
    lead = _with_next_follow_up(lead_in_stage(Stage.MQL, in_pool=True))
    lifecycle.lead_claim(lead=lead, actor=other_rep)
    lead.refresh_from_db()
    assert lead.owner == other_rep and lead.next_follow_up_at is None


def test_recycle_clears_the_next_follow_up(rep):
    lead = _with_next_follow_up(lead_in_stage(Stage.SQL, owner=rep))
    lifecycle.lead_recycle(lead=lead, actor=rep, reason="not now", reason_code="not_now")
    lead.refresh_from_db()
    assert lead.in_pool and lead.next_follow_up_at is None


def test_bulk_recycle_clears_the_next_follow_up(rep):
    lead = _with_next_follow_up(lead_in_stage(Stage.SQL, owner=rep))
    lifecycle.leads_recycle_bulk(
        where=Q(pk=lead.pk), reason="neglected", reason_code="no_follow_up", now=timezone.now()
    )
    lead.refresh_from_db()
    assert lead.in_pool and lead.next_follow_up_at is None


@pytest.mark.parametrize(
    ("stage", "close"),
    [
        (
            Stage.OPPORTUNITY,
            lambda lead, rep: lifecycle.lead_win(
                lead=lead, actor=rep, amount="100", signed_at=timezone.localdate()
            ),
        ),
        (
            Stage.SQL,
            lambda lead, rep: lifecycle.lead_lose(
                lead=lead, actor=rep, reason="budget", reason_code="competitor"
            ),
        ),
        (
            Stage.MQL,
            lambda lead, rep: lifecycle.lead_disqualify(
                lead=lead, actor=rep, reason="spam", reason_code="spam"
            ),
        ),
    ],
    ids=["won", "lost", "disqualified"],
)
def test_a_closed_lead_has_no_next_follow_up(stage, close, rep, desk):
    lead = _with_next_follow_up(lead_in_stage(stage, owner=rep))
    close(lead, desk if stage == Stage.MQL else rep)
    lead.refresh_from_db()
    assert lead.stage in {Stage.WON, Stage.LOST, Stage.DISQUALIFIED}
    assert lead.next_follow_up_at is None
