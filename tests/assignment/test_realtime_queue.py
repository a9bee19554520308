"""Speed-to-lead wiring (issue 17): a new web lead's routing is published to ``realtime``
at priority 0; leads an import qualifies are routed from ``bulk``; on ``realtime``, notices
and their emails have a lower priority than routing. Checked at the publish boundary:
what would be sent to the broker, with the queue the router resolves."""

from __future__ import annotations

import pytest
from celery.app.task import Task
from django.conf import settings

from campaigns.models import Campaign, Channel
from leads.capture import capture_submit
from leads.choices import Stage
from leads.models import Lead
from pipeline.celery import app
from scoring.models import GradeThresholds
from scoring.services import auto_qualify
from tests.factories import lead_in_stage

pytestmark = pytest.mark.django_db

ROUTE = "assignment.tasks.route_lead_task"


@pytest.fixture
def published(monkeypatch, settings):
    """Every task message published (name, args, resolved queue, priority); nothing runs."""
    settings.AUTO_ASSIGN = True
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    sent: list[tuple[str, tuple, str, int]] = []

    def record(self, args=None, kwargs=None, **options):
        route = app.amqp.router.route(dict(options), self.name, args, kwargs)
        queue = route["queue"]
        sent.append((self.name, tuple(args or ()), queue.name, route.get("priority") or 0))

    monkeypatch.setattr(Task, "apply_async", record)
    GradeThresholds.objects.filter(pk=1).update(auto_qualify=True, auto_qualify_score=0)
    yield sent
    app.conf.task_always_eager = eager


def test_a_captured_lead_is_routed_from_realtime_first(
    published, django_capture_on_commit_callbacks
):
    campaign = Campaign.objects.create(
        name="Web", channel=Channel.objects.get(code="website"), utm_campaign="web"
    )
    with django_capture_on_commit_callbacks(execute=True):
        capture_submit(
            data={"campaign_key": campaign.public_key, "name": "王伟", "email": "w@x.cn",
                  "consent": True}
        )  # fmt: skip
    lead = Lead.objects.get(email="w@x.cn")
    assert lead.stage == Stage.MQL  # auto-qualified in the capture's transaction
    # Routing is the one message ahead of everything else on realtime (the rollup
    # refresh and any notice wait behind it at a lower priority).
    first = [(name, args, queue) for name, args, queue, priority in published if priority == 0]
    assert first == [(ROUTE, (lead.pk,), "realtime")]
    later = {name for name, _args, _queue, priority in published if priority != 0}
    assert "reports.tasks.rollup_refresh_task" in later


def test_leads_a_bulk_path_qualifies_are_routed_from_bulk(
    published, django_capture_on_commit_callbacks
):
    leads = [lead_in_stage(Stage.NEW, phone=f"+861390000{i:04d}") for i in range(3)]
    Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(grade="B", score=50)
    with django_capture_on_commit_callbacks(execute=True):
        assert auto_qualify([lead.pk for lead in leads]) == 3
    routes = [(args, queue) for name, args, queue, _p in published if name == ROUTE]
    assert sorted(routes) == sorted(((lead.pk,), "bulk") for lead in leads)
    assert set(
        Lead.objects.filter(pk__in=[x.pk for x in leads]).values_list("stage", flat=True)
    ) == {Stage.MQL}


def test_notices_wait_behind_routing_on_realtime():
    """The Redis transport reads priority 0 first: routing before any notice or email."""
    router = app.amqp.router
    route = router.route({}, ROUTE)
    assert route["queue"].name == "realtime" and not route.get("priority")
    notices = [name for name in settings.CELERY_TASK_ROUTES if name.startswith("notifications.")]
    assert notices
    for name in notices:
        resolved = router.route({}, name)
        assert resolved["queue"].name == "realtime"
        assert resolved["priority"] == settings.NOTICE_PRIORITY > 0
