"""An open deal's expected close date: set by the owner and their managers through the
lead update service (API and edit page), validated, recorded in the timeline."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import translation

from leads import lifecycle
from leads.choices import EventKind, Stage
from leads.forms import LeadForm
from leads.models import LeadEvent
from pipeline.errors import ServiceError
from tests.factories import lead_in_stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def opportunity(rep):
    return lead_in_stage(Stage.OPPORTUNITY, owner=rep)


def test_owner_sets_and_clears_it_and_the_timeline_records_it(opportunity, rep):
    lead = lifecycle.lead_update(
        lead=opportunity, actor=rep, fields={}, expected_close="2026-12-20"
    )
    lead.refresh_from_db()
    assert lead.expected_close_date == dt.date(2026, 12, 20)
    event = LeadEvent.objects.filter(lead=lead, kind=EventKind.UPDATED).latest("id")
    assert event.data["changed"]["expected_close_date"] == ["", "2026-12-20"]
    lifecycle.lead_update(lead=lead, actor=rep, fields={}, expected_close=None)
    lead.refresh_from_db()
    assert lead.expected_close_date is None


def test_the_owners_sales_manager_may_set_it_the_desk_may_not(opportunity, sales_manager, desk):
    lifecycle.lead_update(
        lead=opportunity, actor=sales_manager, fields={}, expected_close=dt.date(2027, 1, 5)
    )
    opportunity.refresh_from_db()
    assert opportunity.expected_close_date == dt.date(2027, 1, 5)
    with pytest.raises(ServiceError) as error:
        lifecycle.lead_update(
            lead=opportunity, actor=desk, fields={}, expected_close=dt.date(2027, 2, 5)
        )
    assert error.value.code == "forbidden" and error.value.field == "expected_close_date"
    opportunity.refresh_from_db()
    assert opportunity.expected_close_date == dt.date(2027, 1, 5)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("31/12/2026", "Enter a date like 2026-12-31."),
        ("2001-01-01", "The deal cannot close before the lead came in"),
        ("2999-01-01", "Give a date within the next 5 years."),
    ],
)
def test_bad_dates_are_refused_with_a_clear_message(opportunity, rep, value, message):
    with translation.override("en"), pytest.raises(ServiceError) as error:
        lifecycle.lead_update(lead=opportunity, actor=rep, fields={}, expected_close=value)
    assert message in error.value.message and error.value.field == "expected_close_date"


def test_only_an_open_deal_has_one(rep):
    lead = lead_in_stage(Stage.MQL, owner=rep)
    with translation.override("en"), pytest.raises(ServiceError, match="Only an open deal"):
        lifecycle.lead_update(lead=lead, actor=rep, fields={}, expected_close="2027-01-01")


def test_api_patch_sets_it_and_names_the_field_on_bad_input(opportunity, rep, api):
    client = api(rep)
    url = f"/api/v1/leads/{opportunity.pk}/"
    response = client.patch(url, {"expected_close_date": "2027-03-01"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["expected_close_date"] == "2027-03-01"
    opportunity.refresh_from_db()
    assert opportunity.expected_close_date == dt.date(2027, 3, 1)
    response = client.patch(url, {"expected_close_date": "soon"}, format="json")
    assert response.status_code == 400 and "expected_close_date" in str(response.json())
    response = client.patch(url, {"expected_close_date": "2000-01-01"}, format="json")
    assert response.status_code == 400 and "before the lead came in" in str(response.json())


def test_edit_page_offers_it_to_the_owner_only_on_a_deal(opportunity, rep):
    client = Client()
    client.force_login(rep)
    page = client.get(f"/leads/{opportunity.pk}/edit/").content.decode()
    assert 'name="expected_close_date"' in page
    other = lead_in_stage(Stage.MQL, owner=rep)
    assert (
        'name="expected_close_date"' not in client.get(f"/leads/{other.pk}/edit/").content.decode()
    )
    initial = LeadForm.initial_for(opportunity)
    data = {k: v for k, v in initial.items() if v is not None}
    data["expected_close_date"] = "2027-04-30"
    response = client.post(f"/leads/{opportunity.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    opportunity.refresh_from_db()
    assert opportunity.expected_close_date == dt.date(2027, 4, 30)
    detail = client.get(f"/leads/{opportunity.pk}/").content.decode()
    assert "Expected close date" in detail
