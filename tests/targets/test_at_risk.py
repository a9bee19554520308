"""The weekly "target at risk" notices (DESIGN §11): owner and their manager, in each
recipient's language, once a week per target."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from notifications.models import Notification, UserSettings
from pipeline.celery import app as celery_app
from pipeline.scheduler import EmbeddedScheduler
from reports.attainment.alerts import targets_at_risk_notify
from reports.tasks import targets_at_risk_task
from targets.models import Target, TargetAlert
from tests.factories import LeadFactory
from tests.parallel import race

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = dt.datetime(2026, 12, 14, 9, tzinfo=SHANGHAI)


def test_at_risk_targets_tell_owner_and_manager_once_a_week_in_their_language(
    rep, sales_manager, manager, marketer
):
    UserSettings.objects.create(user=sales_manager, language="zh-hans")
    UserSettings.objects.create(user=rep, language="en")
    # 0 won of 10 by mid-December: far below pace. The company's leads target is met.
    Target.objects.create(period="2026-12", metric="won", value=10, user=rep)
    Target.objects.create(period="2026-12", metric="leads", value=1)
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, tzinfo=SHANGHAI), tick=False):
        LeadFactory()
    with time_machine.travel(MONDAY, tick=False):
        assert targets_at_risk_notify() == 2
        assert targets_at_risk_notify() == 0  # the same week: nothing again
    with time_machine.travel(MONDAY + dt.timedelta(days=3), tick=False):
        assert targets_at_risk_task() == 0  # later that week, by the beat's task
    notes = {n.user_id: n for n in Notification.objects.filter(event="target_at_risk")}
    assert set(notes) == {rep.pk, sales_manager.pk}
    assert notes[rep.pk].text.startswith("Target Won deals")
    assert "is at risk" in notes[rep.pk].text
    assert notes[sales_manager.pk].text == "目标 赢单数 · rep · 2026-12 存在未达成风险"
    assert TargetAlert.objects.count() == 2
    # The next week it is told again.
    with time_machine.travel(MONDAY + dt.timedelta(days=7), tick=False):
        assert targets_at_risk_notify() == 2
    assert Notification.objects.filter(event="target_at_risk").count() == 4


def test_company_targets_tell_the_managers(manager, rep):
    Target.objects.create(period="2026-12", metric="leads", value=1000)
    with time_machine.travel(MONDAY, tick=False):
        assert targets_at_risk_notify() == 1
    assert Notification.objects.get(event="target_at_risk").user_id == manager.pk


def test_the_weekly_job_is_on_the_beat_and_the_embedded_scheduler(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["targets-at-risk"]
    assert entry["task"] == "reports.tasks.targets_at_risk_task"
    scheduler = EmbeddedScheduler(celery_app, {"targets-at-risk": entry})
    assert [e.task for e in scheduler.entries] == ["reports.tasks.targets_at_risk_task"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_jobs_at_once_still_tell_each_person_once(rep, sales_manager):
    Target.objects.create(period="2026-12", metric="won", value=10, user=rep)
    with time_machine.travel(MONDAY, tick=False):
        results = race([targets_at_risk_notify] * 4)
    assert sorted(results) == [0, 0, 0, 2]
    assert Notification.objects.filter(event="target_at_risk").count() == 2
    assert TargetAlert.objects.count() == 2
