"""No silent pool (issue #14): whoever qualifies or assigns a lead is told where routing
sent it and why, on the page and in the API answer (``assignment.selectors.routing_outcome``)."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone, translation

from assignment import services as assignment_services
from assignment import subscribers
from assignment.models import Assignment
from leads.choices import Stage
from leads.models import Lead
from tests.factories import CompanyFactory, LeadFactory

#: Real commits: routing runs after the commit (eager here), before the answer is built.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def _auto_assign(settings):
    settings.AUTO_ASSIGN = True


@pytest.fixture
def region_rule(desk, team, rep):
    """The demo's shape: a rule by region, which the public form never asks."""
    return assignment_services.rule_save(
        actor=desk,
        name="East by region",
        conditions=[{"field": "region", "operator": "in", "value": ["上海"]}],
        strategy="round_robin",
        team=team,
    )


def _form_lead(**kwargs) -> Lead:
    return LeadFactory(company=CompanyFactory(region=""), grade="A", score=100, **kwargs)


CONSULT = {"timeline": "unknown", "decision_role": "unknown"}


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_api_qualify_says_the_lead_went_to_the_pool_and_why(api, desk, region_rule):
    lead = _form_lead()
    response = api(desk).post(f"/api/v1/leads/{lead.pk}/qualify/", {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == lead.pk and body["stage"] == Stage.MQL  # the lead fields stay
    assert body["routing"] == {
        "outcome": "pooled",
        "owner": None,
        "reason": "No assignment rule matched (not filled in: Region); the lead went to the pool.",
    }
    lead.refresh_from_db()
    assert lead.in_pool and lead.owner_id is None
    decision = Assignment.objects.get(lead=lead)
    assert decision.owner_id is None
    assert decision.reason_params == {"notes": [], "empty": ["region"]}


def test_the_reason_is_in_the_readers_language(api, desk, region_rule):
    lead = _form_lead()
    client = api(desk)
    with translation.override("zh-hans"):
        response = client.post(
            f"/api/v1/leads/{lead.pk}/qualify/", {}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
    reason = response.json()["routing"]["reason"]
    assert "地区" in reason and "公海" in reason, reason


def test_api_qualify_names_the_owner_when_a_rule_matched(api, desk, team, rep):
    assignment_services.rule_save(
        actor=desk, name="Everyone", conditions=[], strategy="round_robin", team=team
    )
    lead = _form_lead()
    body = api(desk).post(f"/api/v1/leads/{lead.pk}/qualify/", {}, format="json").json()
    lead.refresh_from_db()
    assert lead.owner_id == rep.pk
    assert body["routing"]["outcome"] == "assigned"
    assert body["routing"]["owner"] == rep.pk
    assert "Everyone" in body["routing"]["reason"]


def test_with_a_worker_routing_is_pending_and_says_so(api, desk, region_rule, monkeypatch):
    queued = []
    monkeypatch.setattr(
        subscribers, "enqueue_on_commit", lambda task, *args, **_: queued.append(args)
    )
    lead = _form_lead()
    body = api(desk).post(f"/api/v1/leads/{lead.pk}/qualify/", {}, format="json").json()
    assert queued == [(lead.pk,)]
    assert body["routing"]["outcome"] == "pending"
    assert "background" in body["routing"]["reason"]
    lead.refresh_from_db()
    assert not lead.in_pool and lead.owner_id is None


def test_without_auto_assign_the_desk_is_told_it_assigns(api, desk, region_rule, settings):
    settings.AUTO_ASSIGN = False
    lead = _form_lead()
    body = api(desk).post(f"/api/v1/leads/{lead.pk}/qualify/", {}, format="json").json()
    assert body["routing"]["outcome"] == "pending"
    assert "off" in body["routing"]["reason"]


def test_api_assign_without_owner_reports_the_pool(api, desk, region_rule):
    lead = _form_lead()
    lead_qualified = api(desk).post(f"/api/v1/leads/{lead.pk}/qualify/", {}, format="json")
    assert lead_qualified.json()["routing"]["outcome"] == "pooled"
    other = _form_lead()
    Lead.objects.filter(pk=other.pk).update(stage=Stage.MQL, mql_at=timezone.now())
    body = api(desk).post(f"/api/v1/leads/{other.pk}/assign/", {}, format="json").json()
    assert body["routing"]["outcome"] == "pooled"
    assert "Region" in body["routing"]["reason"]


def test_api_consult_qualify_includes_routing(api, desk, region_rule):
    lead = _form_lead()
    response = api(desk).post(
        f"/api/v1/leads/{lead.pk}/consult/", {**CONSULT, "decision": "qualify"}, format="json"
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["routing"]["outcome"] == "pooled"
    save = _form_lead()
    body = api(desk).post(f"/api/v1/leads/{save.pk}/consult/", CONSULT, format="json").json()
    assert body["routing"] is None  # still new: routing has nothing to say


def test_the_desk_consult_message_says_where_and_why(client, desk, region_rule):
    lead = _form_lead()
    client.force_login(desk)
    response = client.post(
        reverse("leads:desk_consult", args=[lead.pk]),
        {**CONSULT, "decision": "qualify"},
        follow=True,
    )
    text = " ".join(_messages(response))
    assert f"{lead.name} qualified as MQL with grade" in text
    assert "No assignment rule matched (not filled in: Region)" in text
    assert Lead.objects.get(pk=lead.pk).in_pool


def test_the_desk_bulk_message_names_the_pooled_leads(client, desk, region_rule):
    lead = _form_lead()
    client.force_login(desk)
    response = client.post(
        reverse("leads:desk_bulk"), {"action": "qualify", "lead": [lead.pk]}, follow=True
    )
    text = " ".join(_messages(response))
    assert f"{lead.name} (#{lead.pk}) went to the pool: No assignment rule matched" in text
    assert Lead.objects.get(pk=lead.pk).in_pool


def test_the_lead_page_qualify_message_says_where_and_why(client, desk, region_rule):
    lead = _form_lead()
    client.force_login(desk)
    response = client.post(reverse("leads:action", args=[lead.pk, "qualify"]), {}, follow=True)
    text = " ".join(_messages(response))
    assert "Lead qualified as MQL." in text
    assert "(not filled in: Region); the lead went to the pool." in text


def test_a_pool_decision_no_rule_matched_is_worded_in_both_languages():
    from assignment.reasons import POOLED, reason_text

    with translation.override("en"):
        assert reason_text(POOLED, {"notes": [], "empty": []}) == (
            "No assignment rule matched; the lead went to the pool."
        )
        old = reason_text(POOLED, {"notes": []})  # decisions stored before #14
        assert old.startswith("No assignment rule found an eligible salesperson")
    with translation.override("zh-hans"):
        assert reason_text(POOLED, {"notes": [], "empty": ["region", "industry"]}) == (
            "没有匹配的分配规则（未填写：地区、行业）；线索已进入公海。"
        )


def test_the_desk_queue_lists_the_days_pooled_leads_with_their_reason(client, desk, region_rule):
    lead = _form_lead()
    client.force_login(desk)
    client.post(reverse("leads:desk_bulk"), {"action": "qualify", "lead": [lead.pk]})
    assert Lead.objects.get(pk=lead.pk).in_pool
    html = client.get(reverse("leads:desk")).content.decode()
    assert 'id="pooled-today"' in html
    assert lead.name in html
    assert "went to pool: No assignment rule matched (not filled in: Region)" in html
    # Claimed (out of the pool): no longer listed.
    Lead.objects.filter(pk=lead.pk).update(in_pool=False)
    assert 'id="pooled-today"' not in client.get(reverse("leads:desk")).content.decode()
