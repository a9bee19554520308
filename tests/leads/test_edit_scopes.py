"""Editing and entering leads (issue #13 findings 3 and 4): a phone or email another open
lead holds is a clear 400 that changes nothing; marketers edit only unowned open leads of
their own campaigns and never move or enter leads in another marketer's campaign.

These run on SQLite and on PostgreSQL (DATABASE_URL): the unique indexes differ in their
error text, so both the check and the index fallback are exercised on each."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.models import Campaign
from leads.choices import EventKind, Stage
from leads.lifecycle import editing
from leads.models import Lead, LeadEvent
from tests.factories import CampaignFactory, LeadFactory, UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db

# --------------------------------------------------------------------------------------
# Finding 3: a phone or email already on another open lead
# --------------------------------------------------------------------------------------


def _events(lead: Lead) -> int:
    return LeadEvent.objects.filter(lead=lead, kind=EventKind.UPDATED).count()


def test_api_edit_to_a_taken_phone_is_a_400_naming_the_visible_lead(api, desk):
    taken = LeadFactory(name="Zhang San", phone="+8613900000001")
    lead = LeadFactory(phone="+8613900000002")
    response = api(desk).patch(f"/api/v1/leads/{lead.pk}/", {"phone": "13900000001"})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["phone"] == ["This phone number already belongs to an open lead: Zhang San."]
    assert body["detail"] == body["phone"][0]
    lead.refresh_from_db()
    assert lead.phone == "+8613900000002"
    assert _events(lead) == 0
    assert Lead.objects.get(pk=taken.pk).phone == "+8613900000001"


def test_api_edit_to_a_taken_email_does_not_name_a_lead_the_editor_cannot_see(api, rep, desk):
    LeadFactory(name="Secret Person", email="boss@corp.cn")
    lead = lead_in_stage(Stage.SQL, owner=rep, desk=desk, email="mine@corp.cn")
    response = api(rep).patch(
        f"/api/v1/leads/{lead.pk}/", {"email": "Boss@Corp.cn", "title": "CEO"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["email"] == ["This email address already belongs to another open lead."]
    assert "Secret" not in response.content.decode()
    lead.refresh_from_db()
    assert (lead.email, lead.title) == ("mine@corp.cn", "")
    assert _events(lead) == 0


def test_a_closed_lead_does_not_hold_its_phone(api, desk, rep):
    lead_in_stage(Stage.LOST, owner=rep, desk=desk, phone="+8613900000007")
    lead = LeadFactory(phone="+8613900000008")
    response = api(desk).patch(f"/api/v1/leads/{lead.pk}/", {"phone": "13900000007"})
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.phone == "+8613900000007"


def test_the_unique_index_race_gives_the_same_answer(api, desk, monkeypatch):
    """A parallel edit that takes the value after the check hits the index: same 400."""
    monkeypatch.setattr(editing, "_check_contacts_free", lambda **_kwargs: None)
    LeadFactory(phone="+8613900000011")
    lead = LeadFactory(phone="+8613900000012", title="Old")
    response = api(desk).patch(
        f"/api/v1/leads/{lead.pk}/", {"phone": "13900000011", "title": "New"}
    )
    assert response.status_code == 400
    assert response.json()["phone"] == ["This phone number already belongs to another open lead."]
    lead.refresh_from_db()
    assert (lead.phone, lead.title) == ("+8613900000012", "Old")
    assert _events(lead) == 0


def test_edit_page_shows_the_taken_phone_on_the_field(client, desk):
    LeadFactory(name="Li Si", phone="+8613900000021")
    lead = LeadFactory(name="Wang", phone="+8613900000022")
    client.force_login(desk)
    url = reverse("leads:edit", args=[lead.pk])
    response = client.post(url, {"name": "Wang", "phone": "139 0000 0021", "timeline": "3m",
                                 "decision_role": "user"})  # fmt: skip
    assert response.status_code == 200
    assert response.context["form"].errors["phone"] == [
        "This phone number already belongs to an open lead: Li Si."
    ]
    lead.refresh_from_db()
    assert lead.phone == "+8613900000022"
    assert _events(lead) == 0


# --------------------------------------------------------------------------------------
# Finding 4: marketers' scope
# --------------------------------------------------------------------------------------


@pytest.fixture
def own(marketer) -> Campaign:
    return CampaignFactory(owner=marketer, name="Mine")


@pytest.fixture
def theirs() -> Campaign:
    return CampaignFactory(name="Theirs")


def test_marketer_cannot_move_a_won_lead_to_their_campaign(api, marketer, own, theirs, rep, desk):
    won = lead_in_stage(Stage.WON, owner=rep, desk=desk, source_campaign=theirs)
    response = api(marketer).patch(f"/api/v1/leads/{won.pk}/", {"source_campaign": own.pk})
    assert response.status_code == 403
    assert response.json()["detail"]
    won.refresh_from_db()
    assert won.source_campaign_id == theirs.pk


def test_marketer_cannot_touch_the_contacts_of_a_reps_lead(api, marketer, own, rep, desk):
    lead = lead_in_stage(Stage.OPPORTUNITY, owner=rep, desk=desk, source_campaign=own)
    phone = lead.phone
    response = api(marketer).patch(f"/api/v1/leads/{lead.pk}/", {"phone": "13911112222"})
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.phone == phone
    assert _events(lead) == 0


def test_marketer_cannot_edit_a_pooled_lead_of_their_campaign(api, marketer, own, desk):
    pooled = lead_in_stage(Stage.MQL, in_pool=True, desk=desk, source_campaign=own)
    response = api(marketer).patch(f"/api/v1/leads/{pooled.pk}/", {"title": "x"})
    assert response.status_code == 403
    pooled.refresh_from_db()
    assert pooled.title == ""


def test_marketer_edits_an_unowned_lead_of_their_campaign(api, marketer, own, theirs):
    lead = LeadFactory(source_campaign=own)
    client = api(marketer)
    assert client.patch(f"/api/v1/leads/{lead.pk}/", {"title": "CTO"}).status_code == 200
    moved = client.patch(f"/api/v1/leads/{lead.pk}/", {"source_campaign": theirs.pk})
    assert moved.status_code == 403
    lead.refresh_from_db()
    assert (lead.title, lead.source_campaign_id) == ("CTO", own.pk)
    other = LeadFactory(source_campaign=theirs)
    assert client.patch(f"/api/v1/leads/{other.pk}/", {"title": "CTO"}).status_code == 403
    other.refresh_from_db()
    assert other.title == ""


def test_marketer_cannot_create_a_lead_in_another_marketers_campaign(api, marketer, theirs, own):
    client = api(marketer)
    refused = client.post(
        "/api/v1/leads/", {"name": "A", "phone": "13900000031", "source_campaign": theirs.pk}
    )
    assert refused.status_code == 403
    assert refused.json()["source_campaign"]
    assert not Lead.objects.filter(phone="+8613900000031").exists()
    created = client.post(
        "/api/v1/leads/", {"name": "A", "phone": "13900000031", "source_campaign": own.pk}
    )
    assert created.status_code == 201
    assert Lead.objects.get(phone="+8613900000031").source_campaign_id == own.pk


def test_desk_and_owner_keep_their_rights(api, desk, rep, own, theirs):
    lead = lead_in_stage(Stage.SQL, owner=rep, desk=desk, source_campaign=theirs)
    assert api(rep).patch(f"/api/v1/leads/{lead.pk}/", {"title": "CFO"}).status_code == 200
    moved = api(desk).patch(f"/api/v1/leads/{lead.pk}/", {"source_campaign": own.pk})
    assert moved.status_code == 200
    lead.refresh_from_db()
    assert (lead.title, lead.source_campaign_id) == ("CFO", own.pk)
    # the owner edits the lead but does not move campaign figures
    back = api(rep).patch(f"/api/v1/leads/{lead.pk}/", {"source_campaign": theirs.pk})
    assert back.status_code == 403
    lead.refresh_from_db()
    assert lead.source_campaign_id == own.pk


def test_pages_follow_the_marketer_scope(client, marketer, own, theirs, rep, desk):
    client.force_login(marketer)
    new_page = client.get(reverse("leads:create"))
    picker = new_page.context["form"].fields["source_campaign"].queryset
    assert list(picker) == [own]
    refused = client.post(
        reverse("leads:create"),
        {"name": "B", "phone": "13900000041", "source_campaign": theirs.pk, "timeline": "3m",
         "decision_role": "user"},
    )  # fmt: skip
    assert refused.status_code == 200 and refused.context["form"].errors["source_campaign"]
    assert not Lead.objects.filter(phone="+8613900000041").exists()

    owned = lead_in_stage(Stage.SQL, owner=rep, desk=desk, source_campaign=own)
    detail = client.get(reverse("leads:detail", args=[owned.pk])).content.decode()
    assert reverse("leads:edit", args=[owned.pk]) not in detail
    edit_url = reverse("leads:edit", args=[owned.pk])
    assert client.get(edit_url).status_code == 403
    changed = {"name": "Changed", "phone": "13900000042", "timeline": "3m", "decision_role": "user"}
    assert client.post(edit_url, changed).status_code == 403
    owned.refresh_from_db()
    assert owned.name != "Changed"

    mine = LeadFactory(source_campaign=own)
    page = client.get(reverse("leads:edit", args=[mine.pk]))
    assert page.status_code == 200
    assert list(page.context["form"].fields["source_campaign"].queryset) == [own]


def test_owner_edit_page_offers_only_the_current_campaign(client, own, theirs):
    rep = UserFactory(roles=["sales_rep"])
    client.force_login(rep)
    lead = lead_in_stage(Stage.SQL, owner=rep, source_campaign=theirs)
    page = client.get(reverse("leads:edit", args=[lead.pk]))
    assert page.status_code == 200
    assert list(page.context["form"].fields["source_campaign"].queryset) == [theirs]
