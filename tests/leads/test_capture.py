"""Public capture: campaign lookup, UTM, honeypot, throttle, idempotency, duplicates,
and no lost lead when the broker is down."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
import time_machine
from django.core.cache import cache
from django.test import TestCase
from django.utils import timezone
from kombu.exceptions import OperationalError

from assignment.bulk import sweep_unrouted
from leads.choices import EventKind, Stage
from leads.models import Lead, LeadTouch
from tests.factories import CampaignFactory, lead_in_stage

pytestmark = pytest.mark.django_db
URL = "/api/v1/capture/"


@pytest.fixture(autouse=True)
def _clear_throttle():
    cache.clear()


@pytest.fixture
def campaign(db):
    return CampaignFactory(utm_campaign="spring-webinar", accept_utm_only=True)


def submit(api, body, **headers):
    """A public submission; with consent unless the body says otherwise."""
    return api().post(URL, {"consent": True, **body}, format="json", **headers)


def test_capture_by_public_key_stores_lead_with_utm(api, campaign):
    response = submit(api, {
        "campaign_key": campaign.public_key, "name": "刘洋", "phone": "+86 139-0000-0101",
        "email": "LIU@Factory.cn", "company_name": "苏州精密机械有限公司",
        "utm_source": "baidu", "utm_medium": "cpc", "landing_page": "https://x.cn/lp?a=1",
    })  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json().keys() == {"received", "reference"}
    lead = Lead.objects.get()
    assert (lead.phone, lead.email) == ("+8613900000101", "liu@factory.cn")
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == ("baidu", "cpc",
                                                                     "spring-webinar")  # fmt: skip
    assert lead.source_campaign == campaign and lead.landing_page == "https://x.cn/lp?a=1"
    assert lead.touches.get().kind == "form"


def test_capture_by_utm_campaign(api, campaign):
    response = submit(api, {"utm_campaign": "spring-webinar", "name": "A", "email": "a@b.cn"})
    assert response.status_code == 201
    assert Lead.objects.get().source_campaign == campaign


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "email": "a@b.cn"}, "campaign_key"),
        ({"campaign_key": "nope", "name": "A", "email": "a@b.cn"}, "campaign_key"),
        ({"utm_campaign": "nope", "name": "A", "email": "a@b.cn"}, "campaign_key"),
        ({"utm_campaign": "spring-webinar", "name": "A", "phone": "123"}, "phone"),
        ({"utm_campaign": "spring-webinar", "name": "", "phone": "13900000001"}, "name"),
        ({"utm_campaign": "spring-webinar", "name": "A"}, "phone"),
    ],
)
def test_bad_submissions_are_400_and_store_nothing(api, campaign, body, field):
    response = submit(api, body)
    assert response.status_code == 400 and field in response.json(), response.json()
    assert Lead.objects.count() == 0


def test_honeypot_answers_like_a_success_and_stores_nothing(api, campaign):
    response = submit(api, {"utm_campaign": "spring-webinar", "name": "Bot",
                            "email": "bot@spam.cn", "website": "http://spam"})  # fmt: skip
    assert response.status_code == 201
    assert response.json().keys() == {"received", "reference"}
    assert Lead.objects.count() == 0 and LeadTouch.objects.count() == 0


def test_known_person_becomes_touch_and_owner_is_told(api, campaign, rep, mailoutbox):
    lead = lead_in_stage(Stage.SQL, owner=rep, phone="+8613900000202")
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = submit(api, {"utm_campaign": "spring-webinar", "name": "Same",
                                "phone": "139 0000 0202"})  # fmt: skip
    assert response.status_code == 201
    assert response.json().keys() == {"received", "reference"}
    assert Lead.objects.count() == 1
    assert LeadTouch.objects.filter(lead=lead, campaign=campaign).count() == 1
    assert lead.events.filter(kind=EventKind.DUPLICATE).count() == 1
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [rep.email]


def test_idempotency_key_returns_first_answer(api, campaign):
    body = {"utm_campaign": "spring-webinar", "name": "Retry", "email": "r@x.cn"}
    first = submit(api, body, HTTP_IDEMPOTENCY_KEY="abc-123")
    second = submit(api, body, HTTP_IDEMPOTENCY_KEY="abc-123")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Lead.objects.count() == 1 and LeadTouch.objects.count() == 1
    other = submit(api, {**body, "name": "Changed"}, HTTP_IDEMPOTENCY_KEY="abc-123")
    assert other.status_code == 409


def test_throttle_per_ip(api, campaign, settings):
    settings.CAPTURE_RATE = "3/min"
    codes = [
        submit(api, {"utm_campaign": "spring-webinar", "name": f"T{i}",
                     "email": f"t{i}@x.cn"}).status_code
        for i in range(5)
    ]  # fmt: skip
    assert codes == [201, 201, 201, 429, 429]
    assert Lead.objects.count() == 3


def test_broker_down_still_saves_lead_scored_and_graded(api, campaign):
    """Scoring needs no queue: the lead is committed with its rule grade (DESIGN §5)."""
    with (
        mock.patch("celery.app.task.Task.delay", side_effect=OperationalError("down")),
        mock.patch("celery.app.task.Task.apply_async", side_effect=OperationalError("down")),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        response = submit(api, {"utm_campaign": "spring-webinar", "name": "王总",
                                "phone": "13900000303", "decision_role": "decision_maker",
                                "timeline": "1m", "budget": "300000"})  # fmt: skip
    assert response.status_code == 201
    lead = Lead.objects.get()
    assert lead.scored_at is not None and lead.grade == "A" and lead.score_version > 0


def test_sweep_routes_qualified_leads_that_were_never_routed(settings, desk, rep):
    settings.AUTO_ASSIGN = True
    lead = lead_in_stage(Stage.MQL)  # qualified; routing queued on commit never ran here
    rejected = lead_in_stage(Stage.MQL, owner=rep)
    from leads.lifecycle import lead_reject

    lead_reject(lead=rejected, actor=rep, reason="wrong person")
    assert lead.assignments.count() == 0
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5)):
        routed = sweep_unrouted()
    lead.refresh_from_db()
    rejected.refresh_from_db()
    assert routed == 1 and lead.in_pool  # no rules: the pool, never nobody
    assert rejected.owner is None and not rejected.in_pool  # stays with the desk
