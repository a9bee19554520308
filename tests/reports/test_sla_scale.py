"""The SLA scan and compliance at scale: set-based statements whose number does not grow
with the leads, the bulk recycle matching the single-lead one, stored SLA figures."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.db.models import Min, OuterRef, Q, Subquery

from assignment.models import Assignment
from leads import lifecycle
from leads.choices import EventKind, Stage
from leads.models import FollowUp, Lead, LeadEvent
from notifications.models import Notification
from reports.calendar import add_working_hours, working_hours_between
from reports.models import BusinessCalendar, SlaBreach, SlaPolicy
from reports.sla.backfill import backfill_sla_clocks
from reports.sla.compliance import compliance
from reports.sla.config import load_calendar
from reports.sla.scan import sla_scan
from tests.factories import lead_in_stage

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SH)
WEDNESDAY_17 = dt.datetime(2026, 11, 25, 17, 0, tzinfo=SH)  # B: 16+ working h past due


@pytest.fixture(autouse=True)
def _plain_calendar(db):
    BusinessCalendar.objects.update_or_create(pk=1, defaults={"use_cn_holidays": False})


def late_and_neglected(n: int, *, rep, desk, shift: dt.timedelta) -> tuple[list, list]:
    """``n`` leads never answered (every ladder step due at WEDNESDAY_17 + shift) and ``n``
    accepted leads whose last follow-up is 31 days old then."""
    with time_machine.travel(MONDAY_10 + shift, tick=False):
        late = [lead_in_stage(Stage.MQL, owner=rep, desk=desk) for _ in range(n)]
    with time_machine.travel(WEDNESDAY_17 + shift - dt.timedelta(days=31), tick=False):
        stale = [lead_in_stage(Stage.SQL, owner=rep, desk=desk) for _ in range(n)]
        for lead in stale:
            lifecycle.follow_up_log(lead=lead, actor=rep, method="call")
    return late, stale


def scan_at(at: dt.datetime, *, expect: int):
    """``sla_scan()`` at ``at``, which reminds, escalates, sends the final notice for and
    recycles ``expect`` leads each."""
    cache.clear()  # both runs read the SLA configuration afresh
    with time_machine.travel(at, tick=False):
        result = sla_scan()
    assert (result.reminded, result.escalated, result.final, result.recycled_for_neglect) == (
        expect,
    ) * 4
    return result


def test_scan_statement_count_is_the_same_for_5_and_50_leads(
    desk, rep, sales_manager, assert_queries_flat
):
    assert connection.features.supports_json_field  # a one-time probe of the connection
    late_and_neglected(5, rep=rep, desk=desk, shift=dt.timedelta())
    week2 = dt.timedelta(days=14)
    assert_queries_flat(
        lambda: scan_at(WEDNESDAY_17, expect=5),
        grow=lambda: late_and_neglected(50, rep=rep, desk=desk, shift=week2),
        then=lambda: scan_at(WEDNESDAY_17 + week2, expect=50),
        max_queries=44,  # per event kind: recipients with their settings, one notification each
    )


def test_recycled_leads_get_one_event_each_and_run_twice_has_one_effect(
    desk, rep, mailoutbox, django_capture_on_commit_callbacks
):
    late, stale = late_and_neglected(3, rep=rep, desk=desk, shift=dt.timedelta())
    with (
        time_machine.travel(WEDNESDAY_17, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        first = sla_scan()
        second = sla_scan()
    assert (first.final, first.recycled_for_neglect) == (3, 3)
    assert (second.reminded, second.escalated, second.final, second.recycled_for_neglect) == (
        0,
        0,
        0,
        0,
    )
    ids = [lead.pk for lead in late + stale]
    recycled = LeadEvent.objects.filter(lead_id__in=ids, kind=EventKind.RECYCLED)
    assert sorted(recycled.values_list("lead_id", flat=True)) == sorted(ids)
    assert SlaBreach.objects.filter(lead_id__in=[x.pk for x in late]).count() == 9
    assert SlaBreach.objects.filter(kind=SlaBreach.Kind.NEGLECT).count() == 3
    assert LeadEvent.objects.filter(kind=EventKind.SLA_BREACH).count() == 9
    # The owner's reminder, the manager's escalation, and the owner told of each recycle
    # batch (the final step's and the neglected leads'): one notification each, not per lead.
    assert sorted(Notification.objects.values_list("event", flat=True)) == [
        "lead_recycled",
        "lead_recycled",
        "sla_escalation",
        "sla_reminder",
    ]
    assert len(mailoutbox) == 4
    assert Lead.objects.filter(pk__in=ids, in_pool=True, owner__isnull=True).count() == 6


def test_bulk_recycle_lands_in_the_pool_as_the_single_lead_recycle(desk, rep):
    with time_machine.travel(MONDAY_10, tick=False):
        by_hand = lead_in_stage(Stage.SQL, owner=rep, desk=desk)
        by_job = lead_in_stage(Stage.SQL, owner=rep, desk=desk)
    later = MONDAY_10 + dt.timedelta(days=2)
    with time_machine.travel(later, tick=False):
        lifecycle.lead_recycle(
            lead=by_hand, actor=None, reason="Taken back", reason_code="no_follow_up"
        )
        done = lifecycle.leads_recycle_bulk(
            where=Q(pk=by_job.pk), reason="Taken back", reason_code="no_follow_up", now=later
        )
    assert done == [(by_job.pk, rep.pk)]
    fields = [
        "stage",
        "owner_id",
        "in_pool",
        "pooled_at",
        "recycle_reason",
        "response_due_at",
        "responded_at",
        "assigned_at",
        "updated_at",
    ]
    one, other = (Lead.objects.values(*fields).get(pk=x.pk) for x in (by_hand, by_job))
    assert one == other
    assert one["in_pool"] and one["owner_id"] is None and one["response_due_at"] is None
    shape = ["kind", "from_stage", "to_stage", "actor_id", "at", "reason", "data"]
    events = [
        list(LeadEvent.objects.filter(lead=x, kind=EventKind.RECYCLED).values(*shape))
        for x in (by_hand, by_job)
    ]
    assert events[0] == events[1]
    assert events[0][0]["data"] == {"reason_code": "no_follow_up", "previous_owner": rep.pk}
    # the bulk path skips what the single path refuses: no owner, or a closed stage
    assert (
        lifecycle.leads_recycle_bulk(
            where=Q(pk=by_job.pk), reason="again", reason_code="no_follow_up", now=later
        )
        == []
    )


def previous_compliance(*, day: dt.date, now: dt.datetime) -> dict[int, dict]:
    """The definition before assignments stored their figures: the owner's first reply at
    or after each assignment by a correlated subquery, working hours in Python."""
    calendar = load_calendar(around=day)
    hours = {p.grade: p.first_response_hours for p in SlaPolicy.objects.all()}
    reply = (
        FollowUp.objects.filter(
            lead_id=OuterRef("lead_id"), author_id=OuterRef("owner_id"), at__gte=OuterRef("at")
        )
        .order_by()
        .values("lead_id")
        .annotate(first=Min("at"))
        .values("first")
    )
    rows: dict[int, dict] = {}
    for item in (
        Assignment.objects.filter(owner__isnull=False, at__date=day)
        .annotate(reply=Subquery(reply))
        .values("owner_id", "at", "reply", "lead__grade")
    ):
        row = rows.setdefault(item["owner_id"], {"due": 0, "in_time": 0, "samples": []})
        due = add_working_hours(calendar, item["at"], hours[item["lead__grade"] or "D"])
        if due > now:
            continue
        row["due"] += 1
        row["in_time"] += item["reply"] is not None and item["reply"] <= due
        if item["reply"] is not None:
            row["samples"].append(working_hours_between(calendar, item["at"], item["reply"]))
    for row in rows.values():
        ordered = sorted(row.pop("samples"))
        row["compliance"] = round(row["in_time"] / row["due"], 4) if row["due"] else None
        row["median"] = round(statistics.median(ordered), 2) if ordered else None
        # nearest rank, as before (the same rank as percentile_disc up to 11 samples)
        row["p95"] = round(ordered[round(0.95 * (len(ordered) - 1))], 2) if ordered else None
    return rows


def test_compliance_equals_the_previous_definition(desk, rep, other_rep):
    answers = [  # working hours after MONDAY_10 for each of rep's leads (None: silent)
        dt.timedelta(minutes=30),
        dt.timedelta(hours=1),
        dt.timedelta(hours=3, minutes=45),
        dt.timedelta(hours=7),
        dt.timedelta(days=1, hours=1),  # Tuesday 11:00 = 10 working hours
        dt.timedelta(days=2, hours=6),  # Wednesday 16:00 = 24 working hours
        None,
    ]
    with time_machine.travel(MONDAY_10, tick=False):
        leads = [lead_in_stage(Stage.MQL, owner=rep, desk=desk) for _ in answers]
    for lead, after in zip(leads, answers, strict=True):
        if after is not None:
            with time_machine.travel(MONDAY_10 + after, tick=False):
                lifecycle.follow_up_log(lead=lead, actor=rep, method="call")
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=1), tick=False):
        lifecycle.follow_up_log(lead=leads[-1], actor=desk_as_manager(rep), method="call")
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=7), tick=False):
        pending = lead_in_stage(Stage.MQL, owner=other_rep, desk=desk)  # due Tue 12:00
    now = dt.datetime(2026, 11, 27, 12, 0, tzinfo=SH)
    with time_machine.travel(now, tick=False):
        rows = {r["user"]: r for r in compliance(start=MONDAY_10.date(), end=MONDAY_10.date())}
    before = previous_compliance(day=MONDAY_10.date(), now=now)
    mine = rows[rep.pk]
    # B: due 4 working hours after assignment; in time: 0.5 h, 1 h, 3.75 h
    assert (mine["assigned"], mine["due"], mine["in_time"]) == (7, 7, 3)
    assert mine["compliance"] == before[rep.pk]["compliance"] == round(3 / 7, 4)
    assert mine["median_response_hours"] == before[rep.pk]["median"] == 5.38  # (3.75+7)/2
    assert mine["p95_response_hours"] == before[rep.pk]["p95"] == 24.0
    theirs = rows[other_rep.pk]
    assert (theirs["assigned"], theirs["due"], theirs["in_time"]) == (1, 1, 0)
    assert theirs["compliance"] == before[other_rep.pk]["compliance"] == 0
    assert theirs["median_response_hours"] is None and pending.pk


def desk_as_manager(rep):
    """A follow-up logged by the owner's manager does not count as the owner's response."""
    return rep.memberships.get().team.manager


def test_compliance_queries_do_not_grow_with_assignments(desk, rep, assert_queries_flat):
    def answered(n: int, day: dt.datetime) -> None:
        with time_machine.travel(day, tick=False):
            for _ in range(n):
                lead = lead_in_stage(Stage.MQL, owner=rep, desk=desk)
                lifecycle.follow_up_log(lead=lead, actor=rep, method="call")

    def compliance_of(day: dt.datetime, *, expect: int):
        with time_machine.travel(day + dt.timedelta(days=3), tick=False):
            rows = compliance(start=day.date(), end=day.date())
        assert rows[0]["assigned"] == expect
        return rows

    week2 = MONDAY_10 + dt.timedelta(days=7)
    answered(2, MONDAY_10)
    assert_queries_flat(
        lambda: compliance_of(MONDAY_10, expect=2),
        grow=lambda: answered(20, week2),
        then=lambda: compliance_of(week2, expect=20),
    )


def test_stored_working_seconds_skip_weekends_holidays_and_count_make_up_days(desk, rep):
    BusinessCalendar.objects.filter(pk=1).update(use_cn_holidays=True)
    cache.clear()
    # created Saturday 19 Sep 2026; Sunday the 20th is a make-up workday (调休)
    with time_machine.travel(dt.datetime(2026, 9, 19, 12, 0, tzinfo=SH), tick=False):
        lead = lead_in_stage(Stage.NEW)
    with time_machine.travel(dt.datetime(2026, 9, 30, 17, 0, tzinfo=SH), tick=False):
        lead = lifecycle.lead_qualify(lead=lead, actor=desk)
        lifecycle.lead_assign(lead=lead, actor=desk, owner=rep)
    # National Day: 1–7 Oct are off; Thursday the 8th 10:00 is 2 working hours later
    with time_machine.travel(dt.datetime(2026, 10, 8, 10, 0, tzinfo=SH), tick=False):
        lifecycle.follow_up_log(lead=lead, actor=rep, method="call")
    with time_machine.travel(dt.datetime(2026, 10, 9, 10, 0, tzinfo=SH), tick=False):
        lifecycle.follow_up_log(lead=lead, actor=rep, method="visit")  # not the first
    assignment = Assignment.objects.get(lead=lead)
    assert assignment.first_response_at == dt.datetime(2026, 10, 8, 10, 0, tzinfo=SH)
    assert assignment.response_work_seconds == 2 * 3600
    # Sat 19 → Wed 30 Sep: the make-up Sunday, 21–24, the 28th, 29th (9 h each; the 25th is
    # the Mid-Autumn holiday) and 9:00–17:00 on the 30th
    assert assignment.routing_work_seconds == (7 * 9 + 8) * 3600
    assert assignment.response_due_at == dt.datetime(2026, 10, 8, 12, 0, tzinfo=SH)
    rows = compliance(
        start=dt.date(2026, 9, 30),
        end=dt.date(2026, 9, 30),
        now=dt.datetime(2026, 10, 9, 12, 0, tzinfo=SH),
    )
    assert rows[0]["in_time"] == 1 and rows[0]["median_response_hours"] == 2.0


def test_backfill_fills_assignment_figures_as_the_lifecycle_does(desk, rep):
    with time_machine.travel(MONDAY_10 - dt.timedelta(hours=20), tick=False):
        lead = lead_in_stage(Stage.NEW)
    with time_machine.travel(MONDAY_10, tick=False):
        lead = lifecycle.lead_qualify(lead=lead, actor=desk)
        lifecycle.lead_assign(lead=lead, actor=desk, owner=rep)
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=3), tick=False):
        lifecycle.follow_up_log(lead=lead, actor=rep, method="call")
    figures = ["response_due_at", "first_response_at", "response_work_seconds"]
    figures.append("routing_work_seconds")
    stored = Assignment.objects.values(*figures).get(lead=lead)
    Assignment.objects.update(**dict.fromkeys(figures))
    assert backfill_sla_clocks() >= 1
    assert Assignment.objects.values(*figures).get(lead=lead) == stored
    assert stored["response_work_seconds"] == 3 * 3600
    assert stored["routing_work_seconds"] == 3600  # Sunday 14:00 → Monday 10:00: 1 h
    assert backfill_sla_clocks() == 0


def test_nearest_rank_p95_of_many_samples():
    from reports.sla.compliance import _nearest_rank

    values = list(range(1, 101))
    assert _nearest_rank(values, 0.95) == 95
    assert _nearest_rank([3.0], 0.95) == 3.0
    assert _nearest_rank(list(range(13)), 0.95) == 12 == math.ceil(0.95 * 13) - 1
