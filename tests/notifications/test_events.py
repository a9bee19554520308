"""Each event reaches the right people, in their own language, through the channels they
chose; outlets get one Occurrence per event with the mentions."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import transaction
from django.utils import translation
from rest_framework.test import APIClient

from leads import lifecycle
from leads.choices import Stage
from leads.models import ImportJob
from leads.privacy import person_erase
from notifications.choices import Event
from notifications.events import tell_import_done, tell_report_ready
from notifications.models import Notification, UserSettings
from notifications.services import notify, send_emails
from reports import snapshots
from reports.choices import ReportJobOrigin, ReportJobStatus
from reports.models import ReportJob
from reports.sla.scan import sla_scan
from tests.factories import CampaignFactory, UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SH)


def rows(user, event=None):
    found = Notification.objects.filter(user=user)
    return list(found.filter(event=event) if event else found)


def test_assignment_reaches_a_chinese_owner_in_chinese_while_the_desk_browses_english(
    desk, rep, chinese, on_commit, mailoutbox, published
):
    chinese(rep)
    lead = lead_in_stage(Stage.MQL, name="Wang Fang")
    api = APIClient()
    api.force_authenticate(desk)
    with on_commit():
        answer = api.post(
            f"/api/v1/leads/{lead.pk}/assign/",
            {"owner": rep.pk, "reason": "Speaks the customer's dialect"},
            format="json",
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert answer.status_code == 200
    assert "assigned" in answer.json()["routing"]["outcome"]  # the desk read English
    [row] = rows(rep, Event.LEAD_ASSIGNED)
    assert row.text == "您有新线索：Wang Fang" and row.lead_id == lead.pk
    assert "原因：" in row.detail and "Speaks the customer's dialect" in row.detail
    assert row.url == f"/leads/{lead.pk}/"
    [mail] = mailoutbox
    assert mail.to == [rep.email] and mail.subject == "您有新线索：Wang Fang"
    assert "查看：" in mail.body and f"/leads/{lead.pk}/" in mail.body
    assert [o.event for o in published] == ["lead_assigned"]
    assert published[0].render("zh-hans").startswith("您有新线索：Wang Fang")
    assert published[0].render("en").startswith("New lead for you: Wang Fang")
    assert published[0].lead_id == lead.pk and published[0].mention_user_ids == ()


def test_reassignment_tells_the_previous_owner_who_took_it_who_decided_and_why(
    rep, other_rep, sales_manager, chinese, on_commit, mailoutbox, published
):
    lead = lead_in_stage(Stage.SQL, owner=rep, name="Li Lei")
    Notification.objects.all().delete()
    chinese(other_rep)
    sales_manager.first_name, sales_manager.last_name = "Mia", "Chen"
    sales_manager.save()
    with on_commit(), translation.override("zh-hans"):  # the manager browses Chinese
        lifecycle.lead_assign(
            lead=lead, actor=sales_manager, owner=other_rep, reason="Rep on leave until May"
        )
    [gone] = rows(rep)
    assert gone.event == Event.LEAD_REASSIGNED
    assert gone.text == "Your lead Li Lei was reassigned to rep2 by Mia Chen"
    assert "Why:" in gone.detail and "Rep on leave until May" in gone.detail
    [new] = rows(other_rep)
    assert new.event == Event.LEAD_ASSIGNED and new.text == "您有新线索：Li Lei"
    assert sorted(m.to[0] for m in mailoutbox) == sorted([rep.email, other_rep.email])
    english = next(m for m in mailoutbox if m.to == [rep.email])
    assert english.subject == "Your lead Li Lei was reassigned to rep2 by Mia Chen"
    assert [o.event for o in published] == ["lead_assigned", "lead_reassigned"]
    assert rows(sales_manager) == []  # the actor is not told of what they did


def test_reassignment_by_the_router_says_so_in_the_previous_owners_language(
    desk, rep, other_rep, chinese, on_commit
):
    lead = lead_in_stage(Stage.SQL, owner=rep, name="Zhao")
    chinese(rep)
    with on_commit():
        lifecycle.lead_assign(lead=lead, actor=None, owner=other_rep, strategy="round_robin")
    [gone] = rows(rep, Event.LEAD_REASSIGNED)
    assert gone.text == "您的线索 Zhao 已按分配规则改派给 rep2"


def test_channel_in_app_only_sends_no_email_and_robot_mentions(
    desk, rep, other_rep, on_commit, mailoutbox, published
):
    UserSettings.objects.create(user=rep, channels={"lead_assigned": "in_app"})
    UserSettings.objects.create(user=other_rep, channels={"lead_assigned": "robot"})
    first = lead_in_stage(Stage.MQL)
    second = lead_in_stage(Stage.MQL)
    with on_commit():
        lifecycle.lead_assign(lead=first, actor=desk, owner=rep)
        lifecycle.lead_assign(lead=second, actor=desk, owner=other_rep)
    assert len(rows(rep)) == 1 and len(rows(other_rep)) == 1  # in-app always
    assert [m.to for m in mailoutbox] == [[other_rep.email]]  # robot includes email
    by_lead = {o.lead_id: o for o in published}
    assert by_lead[first.pk].mention_user_ids == ()
    assert by_lead[second.pk].mention_user_ids == (other_rep.pk,)
    team = other_rep.memberships.get().team_id
    assert by_lead[second.pk].team_id == team


def test_one_occurrence_per_event_whatever_the_number_of_recipients(
    rep, other_rep, chinese, published
):
    chinese(other_rep)
    UserSettings.objects.create(user=rep, channels={"target_at_risk": "robot"})
    made = notify(
        event=Event.TARGET_AT_RISK,
        recipients=[rep.pk, other_rep.pk, rep.pk, None],
        target="Q4 East",
        actual="¥1.2M",
        goal="¥3M",
        expected="¥2.4M",
    )
    assert len(made) == 2 and len(published) == 1
    assert published[0].mention_user_ids == (rep.pk,)
    texts = {row.user_id: row.text for row in made}
    assert texts == {
        rep.pk: "Target Q4 East is at risk",
        other_rep.pk: "目标 Q4 East 存在未达成风险",
    }


def test_inactive_users_and_the_actor_are_not_told(rep, other_rep, published):
    other_rep.is_active = False
    other_rep.save()
    made = notify(event=Event.REPORT_READY, recipients=[rep.pk, other_rep.pk], actor_id=rep.pk, n=1)
    assert made == [] and Notification.objects.count() == 0
    assert len(published) == 1  # the event still happened, for the outlets


def test_sla_reminder_and_escalation_in_each_recipients_language(
    rep, sales_manager, chinese, on_commit, mailoutbox
):
    chinese(rep)
    with time_machine.travel(MONDAY_10, tick=False):
        lead = lead_in_stage(Stage.MQL, owner=rep, grade="B", name="Sun")
    Notification.objects.all().delete()
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=5), tick=False), on_commit():
        assert sla_scan().reminded == 1
    [reminder] = rows(rep, Event.SLA_REMINDER)
    assert reminder.text == "有 1 条新线索等待您首次致电"
    assert "- Sun (B), 截止 2026年11月23日 14:00" in reminder.detail  # the Chinese date style
    with (
        time_machine.travel(dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH), tick=False),
        on_commit(),
    ):
        assert sla_scan().escalated == 1
    [escalation] = rows(sales_manager, Event.SLA_ESCALATION)
    assert escalation.text == "1 lead of your team has had no first response"
    assert "- Sun (B)" in escalation.detail
    subjects = {m.to[0]: m.subject for m in mailoutbox}
    assert subjects == {
        rep.email: "有 1 条新线索等待您首次致电",
        sales_manager.email: "1 lead of your team has had no first response",
    }
    assert lead.pk  # the lead itself is listed, not linked: one row per recipient


def test_recycle_tells_the_previous_owner_why_but_not_when_they_did_it(
    rep, sales_manager, chinese, on_commit
):
    chinese(rep)
    mine = lead_in_stage(Stage.SQL, owner=rep, name="Mine")
    taken = lead_in_stage(Stage.SQL, owner=rep, name="Taken")
    Notification.objects.all().delete()
    with on_commit():
        lifecycle.lead_recycle(lead=mine, actor=rep, reason="No budget", reason_code="not_now")
        lifecycle.lead_recycle(
            lead=taken, actor=sales_manager, reason="Stuck for weeks", reason_code="other"
        )
    [told] = rows(rep)
    assert told.event == Event.LEAD_RECYCLED and told.lead_id == taken.pk
    assert told.text == "您的线索 Taken 已被收回公海"
    assert "其他：Stuck for weeks" in told.detail and "salesmgr" not in told.text


def test_a_returning_person_tells_the_owner(rep, on_commit, chinese):
    chinese(rep)
    cache.clear()
    campaign = CampaignFactory(name="Expo 2026")
    lead = lead_in_stage(Stage.SQL, owner=rep, phone="+8613900000303", name="Qian")
    Notification.objects.all().delete()
    with on_commit():
        APIClient().post(
            "/api/v1/capture/",
            {"campaign_key": campaign.public_key, "name": "Qian", "phone": "13900000303",
             "consent": True},
            format="json",
        )  # fmt: skip
    [row] = rows(rep)
    assert row.event == Event.DUPLICATE_TOUCH and row.lead_id == lead.pk
    assert row.text == "您的线索 Qian 通过 Expo 2026 再次留资"


def test_import_done_tells_who_started_it(marketer, chinese):
    chinese(marketer)
    campaign = CampaignFactory(owner=marketer, name="List")
    job = ImportJob.objects.create(
        campaign=campaign, created_by=marketer, original_name="fair.csv", status="done",
        created=7, duplicates=2, failed=1,
    )  # fmt: skip
    assert tell_import_done(job_id=job.pk) == 1
    [row] = rows(marketer)
    assert row.text == "fair.csv 已导入 List，导入完成"
    assert row.detail == "新建线索 7 条，已有联系人 2 人（已追加触点），拒绝 1 行。"
    assert row.url == f"/imports/{job.pk}/"


def test_report_job_tells_whoever_asked_not_the_schedule(manager):
    asked = ReportJob.objects.create(
        key="a", origin=ReportJobOrigin.ON_DEMAND, status=ReportJobStatus.PENDING,
        requested_by=manager, reports=[],
    )  # fmt: skip
    scheduled = ReportJob.objects.create(
        key="b", origin=ReportJobOrigin.SCHEDULED, status=ReportJobStatus.PENDING,
        requested_by=manager, reports=[],
    )  # fmt: skip
    snapshots.report_job_run(job_id=asked.pk)
    snapshots.report_job_run(job_id=scheduled.pk)
    [row] = rows(manager)
    assert row.event == Event.REPORT_READY and row.text.startswith("Your report")
    assert tell_report_ready(job_id=scheduled.pk) == 0


def test_emails_go_once_even_when_the_task_runs_twice(rep, mailoutbox):
    [row] = notify(event=Event.REPORT_READY, recipients=[rep.pk], n=2)
    assert send_emails(notification_ids=[row.pk]) == 1
    assert send_emails(notification_ids=[row.pk]) == 0
    assert len(mailoutbox) == 1


def test_a_rolled_back_change_tells_nobody(desk, rep, on_commit, mailoutbox):
    lead = lead_in_stage(Stage.MQL)
    with on_commit(), pytest.raises(RuntimeError), transaction.atomic():
        lifecycle.lead_assign(lead=lead, actor=desk, owner=rep)
        raise RuntimeError
    assert Notification.objects.count() == 0 and mailoutbox == []


def test_no_user_without_settings_breaks_anything(desk, on_commit):
    newcomer = UserFactory(roles=["sales_rep"])
    with on_commit():
        lifecycle.lead_assign(lead=lead_in_stage(Stage.MQL), actor=desk, owner=newcomer)
    assert rows(newcomer)[0].text.startswith("New lead for you")


def test_erasing_a_person_removes_the_notifications_that_name_them(desk, rep, on_commit):
    lead = lead_in_stage(Stage.MQL, name="Erase Me", phone="+8613900000909")
    other = lead_in_stage(Stage.MQL, name="Keep Me")
    with on_commit():
        lifecycle.lead_assign(lead=lead, actor=desk, owner=rep)
        lifecycle.lead_assign(lead=other, actor=desk, owner=rep)
    assert len(rows(rep)) == 2
    person_erase(lead=lead, actor=desk, confirm=True)
    assert [row.text for row in rows(rep)] == ["New lead for you: Keep Me"]


def test_a_failed_send_is_retried_not_lost(rep, monkeypatch, mailoutbox):
    [row] = notify(event=Event.REPORT_READY, recipients=[rep.pk], n=1)

    def down(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("notifications.services.send_mail", down)
    with pytest.raises(ConnectionRefusedError):
        send_emails(notification_ids=[row.pk])
    row.refresh_from_db()
    assert row.emailed_at is None
    monkeypatch.undo()
    assert send_emails(notification_ids=[row.pk]) == 1 and len(mailoutbox) == 1


def test_a_set_assigned_together_is_told_once_per_owner_in_their_language(
    desk, rep, other_rep, chinese, on_commit, mailoutbox, published
):
    """A bulk batch announces its assignments once: the new owner hears of all their new
    leads in one notice (the list), a previous owner of all the leads they lost in one, each
    in their own language; one task for the set, not one per lead."""
    from notifications import subscribers

    chinese(other_rep)
    moved = [lead_in_stage(Stage.SQL, owner=other_rep, name=f"Moved {i}") for i in range(2)]
    fresh = lead_in_stage(Stage.MQL, name="Fresh")
    Notification.objects.all().delete()
    queued = []
    original = subscribers.enqueue

    def counting(task, *args, **kw):
        queued.append(task.name)
        return original(task, *args, **kw)

    with pytest.MonkeyPatch.context() as patch, on_commit():
        patch.setattr(subscribers, "enqueue", counting)
        with transaction.atomic():
            locked = lifecycle.lock_leads([lead.pk for lead in [*moved, fresh]])
            result = lifecycle.leads_assign_bulk(
                decisions=[
                    lifecycle.OwnerDecision(lead=lead, owner_id=rep.pk, reason="Territory")
                    for lead in locked
                ],
                actor=desk,
            )
    assert len(result.done) == 3
    assert queued == ["notifications.tasks.tell_assignments_task"]
    [new] = rows(rep)
    assert new.event == Event.LEAD_ASSIGNED and new.text == "3 new leads for you"
    assert all(f"- {name} (" in new.detail for name in ("Moved 0", "Moved 1", "Fresh"))
    assert new.url == "/sales/"  # my leads, not one lead
    [gone] = rows(other_rep)
    assert gone.event == Event.LEAD_REASSIGNED and gone.text == "您有 2 条线索已被改派"
    assert "- Moved 0 → rep" in gone.detail and "Fresh" not in gone.detail
    assert sorted(m.to[0] for m in mailoutbox) == sorted([rep.email, other_rep.email])
    assert sorted(o.event for o in published) == ["lead_assigned", "lead_reassigned"]
    assert rows(desk) == []
