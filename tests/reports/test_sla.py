"""SLA clock on assignment, the escalation ladder, neglect recycling, compliance."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from leads import lifecycle
from leads.choices import EventKind, Stage
from leads.models import Lead
from notifications.models import Notification
from reports.models import BusinessCalendar, SlaBreach, SlaPolicy
from reports.services import compliance_snapshot_store
from reports.sla.compliance import compliance
from reports.sla.scan import sla_scan
from tests.factories import UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SH)


@pytest.fixture(autouse=True)
def _plain_calendar(db):
    BusinessCalendar.objects.update_or_create(pk=1, defaults={"use_cn_holidays": False})


def assigned_lead(rep, grade="B"):
    with time_machine.travel(MONDAY_10, tick=False):
        return lead_in_stage(Stage.MQL, owner=rep, grade=grade)


def test_assignment_starts_the_clock_in_working_hours(rep):
    lead = assigned_lead(rep, grade="A")  # A: first response within 2 working hours
    assert lead.response_due_at == MONDAY_10 + dt.timedelta(hours=2)
    assert lead.responded_at is None


def test_first_follow_up_stops_the_clock(rep):
    lead = assigned_lead(rep)
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=1), tick=False):
        lifecycle.follow_up_log(lead=lead, actor=rep, method="call")
    lead.refresh_from_db()
    assert lead.responded_at == MONDAY_10 + dt.timedelta(hours=1)
    with time_machine.travel(MONDAY_10 + dt.timedelta(days=3), tick=False):
        assert sla_scan().reminded == 0


def test_ladder_reminds_then_tells_manager_then_recycles(
    rep, sales_manager, mailoutbox, django_capture_on_commit_callbacks
):
    lead = assigned_lead(rep)  # B: due 14:00, manager after +4h, recycle after +16h
    # Emails go out after the commit (notifications.tasks.send_emails_task).
    with (
        time_machine.travel(MONDAY_10 + dt.timedelta(hours=5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        first = sla_scan()
    assert (first.reminded, first.escalated, first.final) == (1, 0, 0)
    assert [m.to for m in mailoutbox] == [[rep.email]]
    assert "1 new lead is waiting for your first call" in mailoutbox[0].subject
    with (
        time_machine.travel(dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        second = sla_scan()  # Tue 10:00 = 5 working hours past due
    assert (second.reminded, second.escalated, second.final) == (0, 1, 0)
    assert mailoutbox[-1].to == [sales_manager.email]
    assert "1 lead of your team has had no first response" in mailoutbox[-1].subject
    with time_machine.travel(dt.datetime(2026, 11, 25, 17, 0, tzinfo=SH), tick=False):
        third = sla_scan()
    assert third.final == 1
    lead.refresh_from_db()
    assert lead.in_pool and lead.owner is None and lead.recycle_reason == "no_follow_up"
    assert lead.events.filter(kind=EventKind.SLA_BREACH).count() == 3
    assert SlaBreach.objects.filter(lead=lead).count() == 3


def test_scan_twice_has_one_effect(rep, mailoutbox, django_capture_on_commit_callbacks):
    assigned_lead(rep)
    with (
        time_machine.travel(MONDAY_10 + dt.timedelta(hours=5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sla_scan().reminded == 1
        assert sla_scan().reminded == 0
    assert len(mailoutbox) == 1 and SlaBreach.objects.count() == 1


def test_reassignment_starts_a_new_cycle(desk, rep, other_rep):
    lead = assigned_lead(rep)
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=5), tick=False):
        sla_scan()
        lifecycle.lead_assign(lead=lead, actor=desk, owner=other_rep)
    with time_machine.travel(MONDAY_10 + dt.timedelta(days=1, hours=2), tick=False):
        assert sla_scan().reminded == 1  # the new owner's own first-response breach


def test_neglected_lead_is_recycled_and_counted_as_wasted(rep):
    with time_machine.travel(MONDAY_10, tick=False):
        lead = lead_in_stage(Stage.SQL, owner=rep, grade="B")
        lifecycle.follow_up_log(lead=lead, actor=rep, method="call")
    with time_machine.travel(MONDAY_10 + dt.timedelta(days=31), tick=False):
        result = sla_scan()
        rows = compliance(
            start=(MONDAY_10 + dt.timedelta(days=31)).date(),
            end=(MONDAY_10 + dt.timedelta(days=31)).date(),
        )
    lead.refresh_from_db()
    assert result.recycled_for_neglect == 1 and lead.in_pool
    assert lead.events.filter(kind=EventKind.RECYCLED, data__reason_code="no_follow_up").exists()
    assert {r["user"]: r["wasted"] for r in rows}[rep.pk] == 1


def test_compliance_counts_in_time_late_and_pending(rep, other_rep):
    on_time, late, silent = (assigned_lead(rep) for _ in range(3))
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=1), tick=False):
        lifecycle.follow_up_log(lead=on_time, actor=rep, method="call")
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=6), tick=False):
        lifecycle.follow_up_log(lead=late, actor=rep, method="visit")
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=2), tick=False):
        pending = lead_in_stage(Stage.MQL, owner=other_rep)  # due 16:00, not elapsed at 15:00
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=5), tick=False):
        rows = {r["user"]: r for r in compliance(start=MONDAY_10.date(), end=MONDAY_10.date())}
    mine = rows[rep.pk]
    assert (mine["assigned"], mine["due"], mine["in_time"]) == (3, 3, 1)
    assert mine["compliance"] == round(1 / 3, 4)
    assert mine["median_response_hours"] == 3.5  # 1h and 6h
    theirs = rows[other_rep.pk]
    assert (theirs["assigned"], theirs["due"], theirs["compliance"]) == (1, 0, None)
    assert silent.pk and pending.pk


def test_snapshot_is_idempotent(rep):
    assigned_lead(rep)
    with time_machine.travel(MONDAY_10 + dt.timedelta(days=1), tick=False):
        assert compliance_snapshot_store(day=MONDAY_10.date()) == 1
        assert compliance_snapshot_store(day=MONDAY_10.date()) == 1
    from reports.models import ComplianceSnapshot

    snap = ComplianceSnapshot.objects.get()
    assert (snap.user, snap.assigned, snap.due, snap.in_time) == (rep, 1, 1, 0)


def test_policy_api_validation_and_rights(api, manager, rep):
    url = "/api/v1/sla-policies/B/"
    bad = api(manager).patch(
        url, {"recycle_after_days": 2, "follow_up_every_days": 5}, format="json"
    )
    assert bad.status_code == 400 and "recycle_after_days" in bad.json()
    ok = api(manager).patch(url, {"first_response_hours": 6}, format="json")
    assert ok.status_code == 200 and ok.json()["first_response_hours"] == 6
    assert SlaPolicy.objects.get(grade="B").first_response_hours == 6
    assert api(rep).patch(url, {"first_response_hours": 1}, format="json").status_code == 403
    assert len(api(rep).get("/api/v1/sla-policies/").json()) == 4


def test_compliance_api_rep_sees_only_self(api, rep, other_rep, manager, team):
    assigned_lead(rep)
    assigned_lead(other_rep)
    day = MONDAY_10.date().isoformat()
    with time_machine.travel(MONDAY_10 + dt.timedelta(days=1), tick=False):
        mine = api(rep).get("/api/v1/reports/follow-up-compliance/", {"from": day, "to": day})
        everyone = api(manager).get(
            "/api/v1/reports/follow-up-compliance/", {"from": day, "to": day, "team": team.pk}
        )
    assert [r["user"] for r in mine.json()["rows"]] == [rep.pk]
    assert {r["user"] for r in everyone.json()["rows"]} == {rep.pk, other_rep.pk}
    outsider_manager = UserFactory(roles=["sales_manager"])
    refused = api(outsider_manager).get("/api/v1/reports/follow-up-compliance/", {"team": team.pk})
    assert refused.status_code == 403
    assert Lead.objects.count() == 2 and timezone.now()


def test_overdue_digest_once_per_rep_per_day(rep, mailoutbox, django_capture_on_commit_callbacks):
    from reports.sla.digest import digest_overdue

    lead = assigned_lead(rep)
    with (
        time_machine.travel(MONDAY_10 + dt.timedelta(days=10), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert digest_overdue() == 1
        assert digest_overdue() == 0
    assert len(mailoutbox) == 1 and lead.name in mailoutbox[0].body
    assert Notification.objects.filter(user=rep, event="sla_reminder").count() == 1
    assert "1 lead is overdue for follow-up" in mailoutbox[0].subject
