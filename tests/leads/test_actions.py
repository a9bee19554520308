"""The action registry: one input spec, one check and one service call per action, used
by pages, the API, bulk actions and the desk alike."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from leads import actions, lifecycle
from leads.api.actions import action_serializer
from leads.choices import EventKind, Stage
from leads.models import Lead
from pipeline.errors import ServiceError
from tests.factories import CampaignFactory, LeadFactory, lead_in_stage

pytestmark = pytest.mark.django_db


def test_every_lifecycle_action_has_one_registry_entry():
    assert set(actions.LIFECYCLE_ACTIONS) == set(lifecycle.ACTIONS)
    assert {"grade", "reset_grade", "consult"} <= set(actions.ACTIONS)


@pytest.mark.parametrize("name", sorted(actions.ACTIONS))
def test_page_form_and_api_body_come_from_the_same_spec(name):
    spec = [param.name for param in actions.get_action(name).params]
    assert list(actions.action_form(name).fields) == spec
    assert list(action_serializer(name)().fields) == spec


def test_refusals_come_in_contract_order_403_then_409_then_400(desk, rep):
    lead = lead_in_stage(Stage.SQL, owner=rep, desk=desk)
    bad_body = {"amount": "not money", "signed_at": "someday"}
    with pytest.raises(ServiceError) as forbidden:
        actions.run_action(lead=lead, actor=desk, name="win", data=bad_body)
    assert forbidden.value.code == "forbidden"
    closed = lead_in_stage(Stage.LOST, owner=rep, desk=desk)
    with pytest.raises(ServiceError) as wrong_stage:
        actions.run_action(lead=closed, actor=rep, name="win", data=bad_body)
    assert wrong_stage.value.code == "wrong_stage"
    with pytest.raises(actions.ActionInputError) as invalid:
        actions.run_action(lead=lead, actor=rep, name="win", data=bad_body)
    assert set(invalid.value.errors) == {"amount", "signed_at"}  # every bad field, not one
    assert invalid.value.as_dict()["detail"].startswith("Signed amount:")
    lead.refresh_from_db()
    assert lead.stage == Stage.SQL


def test_a_body_that_is_not_an_object_is_refused_with_a_message(rep, desk):
    lead = lead_in_stage(Stage.SQL, owner=rep, desk=desk)
    with pytest.raises(actions.ActionInputError):
        actions.run_action(lead=lead, actor=rep, name="lose", data=["reason"])


def test_run_action_returns_the_service_result(rep, desk):
    lead = lead_in_stage(Stage.SQL, owner=rep, desk=desk)
    signed = timezone.localdate().isoformat()
    won = actions.run_action(
        lead=lead, actor=rep, name="win", data={"amount": "1200.50", "signed_at": signed}
    )
    assert won.stage == Stage.WON and str(won.won_amount) == "1200.50"
    assert Lead.objects.get(pk=lead.pk).stage == Stage.WON


def test_consult_saves_the_call_and_qualifies_in_one_transaction(api, desk):
    lead = LeadFactory(grade="", grade_source="", score=0)
    response = api(desk).post(
        f"/api/v1/leads/{lead.pk}/consult/",
        {
            "decision": "qualify",
            "timeline": "1m",
            "decision_role": "decision_maker",
            "need": "CRM for 40 reps",
            "grade": "A",
            "grade_reason": "Budget confirmed on the call",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert (lead.stage, lead.grade, lead.need) == (Stage.MQL, "A", "CRM for 40 reps")
    kinds = list(lead.events.order_by("id").values_list("kind", flat=True))
    assert EventKind.UPDATED in kinds and kinds[-1] == EventKind.QUALIFIED


def test_a_refused_consult_step_keeps_nothing_and_names_the_consult_field(api, desk):
    lead = LeadFactory(need="")
    response = api(desk).post(
        f"/api/v1/leads/{lead.pk}/consult/",
        {"decision": "qualify", "timeline": "later", "decision_role": "user", "need": "x",
         "grade": "A"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert "grade_reason" in response.json()  # overriding the rule grade needs a reason
    lead.refresh_from_db()
    assert lead.stage == Stage.NEW and lead.need == ""  # the notes rolled back too


def test_consult_is_the_desks(api, rep, desk):
    lead = LeadFactory()
    body = {"decision": "save", "timeline": "1m", "decision_role": "user"}
    assert api(rep).post(f"/api/v1/leads/{lead.pk}/consult/", body, format="json").status_code in (
        403,
        404,
    )


def test_bulk_parses_the_input_once_and_refuses_bad_input_before_any_lead(desk):
    leads = [LeadFactory(), LeadFactory()]
    with pytest.raises(actions.ActionInputError):
        actions.run_bulk(
            name="disqualify",
            lead_ids=[lead.pk for lead in leads],
            actor=desk,
            data={"reason_code": "no-such-code", "reason": "x"},
        )
    assert not Lead.objects.filter(stage=Stage.DISQUALIFIED).exists()


def test_the_page_and_the_api_run_the_same_action(client, api, desk, rep):
    on_page = lead_in_stage(Stage.MQL, owner=rep, desk=desk)
    by_api = lead_in_stage(Stage.MQL, owner=rep, desk=desk)
    client.force_login(rep)
    body = {"reason_code": "no_need", "reason": "Only wanted a brochure"}
    client.post(reverse("leads:action", args=[on_page.pk, "reject"]), body)
    api(rep).post(f"/api/v1/leads/{by_api.pk}/reject/", body, format="json")
    rows = [
        Lead.objects.filter(pk=pk).values("stage", "owner_id", "reject_reason").get()
        for pk in (on_page.pk, by_api.pk)
    ]
    assert rows[0] == rows[1] == {"stage": Stage.MQL, "owner_id": None, "reject_reason": "no_need"}


def test_a_follow_up_dated_with_an_offset_is_parsed_the_same_everywhere(api, rep, desk):
    lead = lead_in_stage(Stage.SQL, owner=rep, desk=desk)
    lead.assigned_at = timezone.now() - dt.timedelta(days=1)  # dated after the assignment
    lead.save(update_fields=["assigned_at"])
    at = (timezone.now() - dt.timedelta(hours=1)).replace(microsecond=0)
    response = api(rep).post(
        f"/api/v1/leads/{lead.pk}/follow-ups/",
        {"method": "call", "at": at.isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert lead.follow_ups.get().at == at


def test_an_import_fills_a_known_leads_missing_source_campaign(desk):
    from leads.imports import _write_batch, RowResult  # noqa: I001 - the batch writer itself
    from leads.models import ImportJob

    known = LeadFactory(name="X", phone="+8613900001111", source_campaign=None)
    campaign = CampaignFactory()
    job = ImportJob.objects.create(campaign=campaign, created_by=desk, headers=[], mapping={})
    result = RowResult()
    _write_batch(job, [(1, {"name": "X", "phone": "+8613900001111"}, None)], result)
    known.refresh_from_db()
    assert known.source_campaign_id == campaign.pk
    assert result.duplicates == 1 and result.created == 0
