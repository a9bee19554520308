"""The leads API: auth, visibility, masking, error precedence, bad input, query budget."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from leads import lifecycle
from leads.choices import EventKind, Stage
from leads.models import Lead, LeadTouch
from tests.factories import CampaignFactory, LeadFactory, UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db


def ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


def test_token_auth_round_trip(rep):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/", {"username": "rep", "password": "pw-test-123"}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/leads/").status_code == 200


def test_token_refused_for_wrong_password(rep):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "rep", "password": "nope"}, format="json"
    )
    assert response.status_code == 400 and "detail" in response.json()


def test_anonymous_gets_401_json(api):
    response = api().get("/api/v1/leads/")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_visibility_per_role(api, desk, marketer, manager, rep, other_rep, sales_manager,
                             outsider_rep):  # fmt: skip
    own = lead_in_stage(Stage.SQL, owner=rep)
    teammate = lead_in_stage(Stage.SQL, owner=other_rep)
    outsider = lead_in_stage(Stage.SQL, owner=outsider_rep)
    pooled = lead_in_stage(Stage.MQL, in_pool=True)
    at_desk = lead_in_stage(Stage.NEW)
    everything = {own.pk, teammate.pk, outsider.pk, pooled.pk, at_desk.pk}
    for user in (desk, marketer, manager):
        assert ids(api(user).get("/api/v1/leads/")) == everything
    assert ids(api(rep).get("/api/v1/leads/")) == {own.pk, pooled.pk}
    assert ids(api(sales_manager).get("/api/v1/leads/")) == {own.pk, teammate.pk, pooled.pk}
    assert api(rep).get(f"/api/v1/leads/{teammate.pk}/").status_code == 404
    assert api(rep).get(f"/api/v1/leads/{own.pk}/").status_code == 200
    nobody = UserFactory()
    assert ids(api(nobody).get("/api/v1/leads/")) == set()


def test_pooled_contact_is_masked_for_sales_not_for_desk(api, rep, desk):
    lead = lead_in_stage(Stage.MQL, in_pool=True, phone="+8613912345678", email="li@acme.cn",
                         wechat="liwei88")  # fmt: skip
    masked = api(rep).get(f"/api/v1/leads/{lead.pk}/").json()
    assert masked["contact_masked"] is True
    assert masked["phone"] == "+86139****5678"
    assert masked["email"] == "l***@acme.cn" and masked["wechat"] == "l***"
    plain = api(desk).get(f"/api/v1/leads/{lead.pk}/").json()
    assert plain["phone"] == "+8613912345678" and plain["contact_masked"] is False
    # Masked details are not searchable either.
    assert ids(api(rep).get("/api/v1/leads/", {"q": "13912345678"})) == set()
    assert ids(api(desk).get("/api/v1/leads/", {"q": "13912345678"})) == {lead.pk}


def test_claimed_lead_shows_contact(api, rep):
    lead = lead_in_stage(Stage.MQL, in_pool=True, phone="+8613912345678")
    response = api(rep).post(f"/api/v1/leads/{lead.pk}/claim/")
    assert response.status_code == 200
    assert response.json()["phone"] == "+8613912345678" and response.json()["owner"] == rep.pk


def test_list_query_count_does_not_grow(api, desk, rep, assert_queries_flat):
    def make(n):
        for _ in range(n):
            lead_in_stage(Stage.SQL, owner=rep, source_campaign=CampaignFactory())

    def list_as_desk():
        client = api(type(desk).objects.get(pk=desk.pk))  # fresh user: no cached roles
        return client.get("/api/v1/leads/?page_size=100")

    make(3)
    response = assert_queries_flat(list_as_desk, grow=lambda: make(30))
    assert response.json()["count"] == 33


def test_create_normalises_and_answers_201(api, marketer):
    campaign = CampaignFactory(owner=marketer)
    response = api(marketer).post(
        "/api/v1/leads/",
        {"name": "王伟", "phone": "139 0000 0001", "email": " Wang@Example.COM ",
         "company_name": "华为技术有限公司", "source_campaign": campaign.pk,
         "timeline": "1m", "budget": "50000"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["duplicate"] is False and body["stage"] == "new"
    lead = Lead.objects.get(pk=body["id"])
    assert (lead.phone, lead.email) == ("+8613900000001", "wang@example.com")
    assert lead.company.normalized_name == "华为技术" and lead.source_campaign == campaign
    assert lead.touches.get().is_first and lead.events.get().kind == EventKind.CREATED


def test_create_known_open_contact_adds_touch(api, marketer, rep):
    existing = lead_in_stage(Stage.SQL, owner=rep, phone="+8613900000009")
    campaign = CampaignFactory(owner=marketer)
    response = api(marketer).post(
        "/api/v1/leads/",
        {"name": "Same Person", "phone": "13900000009", "source_campaign": campaign.pk},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["duplicate"] is True and response.json()["id"] == existing.pk
    assert Lead.objects.count() == 1
    assert LeadTouch.objects.filter(lead=existing, campaign=campaign).count() == 1
    assert existing.events.filter(kind=EventKind.DUPLICATE).count() == 1


def test_closed_lead_does_not_capture_a_new_arrival(api, marketer):
    closed = lead_in_stage(Stage.DISQUALIFIED, phone="+8613900000010")
    response = api(marketer).post(
        "/api/v1/leads/", {"name": "Back again", "phone": "13900000010"}, format="json"
    )
    assert response.status_code == 201 and response.json()["id"] != closed.pk


def test_sales_rep_cannot_create(api, rep):
    response = api(rep).post("/api/v1/leads/", {"name": "x", "phone": "13900000001"})
    assert response.status_code == 403 and Lead.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "phone": "13900000001"}, "name"),
        ({"name": "x" * 101, "phone": "13900000001"}, "name"),
        ({"name": "A", "phone": "12345"}, "phone"),
        ({"name": "A", "email": "not-an-email"}, "email"),
        ({"name": "A"}, "phone"),
        ({"name": "A", "phone": "13900000001", "timeline": "someday"}, "timeline"),
        ({"name": "A", "phone": "13900000001", "budget": "-1"}, "budget"),
        ({"name": "A", "phone": "13900000001", "budget": "lots"}, "budget"),
        ({"name": "A", "phone": "13900000001", "source_campaign": "abc"}, "source_campaign"),
        ({"name": "A", "phone": "13900000001", "source_campaign": 999999}, "source_campaign"),
    ],
)
def test_bad_create_input_is_400_with_field(api, desk, body, field):
    response = api(desk).post("/api/v1/leads/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json() and "detail" in response.json()
    assert Lead.objects.count() == 0


def test_update_edits_fields_and_writes_event(api, desk):
    lead = LeadFactory(name="Old")
    response = api(desk).patch(
        f"/api/v1/leads/{lead.pk}/", {"name": "New", "region": "江苏"}, format="json"
    )
    assert response.status_code == 200 and response.json()["name"] == "New"
    lead.refresh_from_db()
    assert lead.name == "New" and lead.company.region == "江苏"
    assert lead.events.get(kind=EventKind.UPDATED).data["changed"]["name"] == ["Old", "New"]


def test_update_by_stranger_rep_is_404(api, rep):
    lead = LeadFactory()
    response = api(rep).patch(f"/api/v1/leads/{lead.pk}/", {"name": "x"}, format="json")
    assert response.status_code == 404


# --- error precedence: 404 → 403 → 409 → 400 -------------------------------------------


def test_not_visible_is_404_before_anything(api, other_rep, rep):
    lead = lead_in_stage(Stage.MQL, owner=rep)
    response = api(other_rep).post(f"/api/v1/leads/{lead.pk}/reject/", {}, format="json")
    assert response.status_code == 404 and "detail" in response.json()


def test_forbidden_is_403_before_bad_body_and_wrong_stage(api, marketer):
    lead = lead_in_stage(Stage.SQL, owner=UserFactory(roles=["sales_rep"]))
    response = api(marketer).post(f"/api/v1/leads/{lead.pk}/qualify/", {"grade": "Z"})
    assert response.status_code == 403
    assert "not allowed" in response.json()["detail"]


def test_wrong_stage_is_409_before_bad_body(api, desk, rep):
    lead = lead_in_stage(Stage.SQL, owner=rep)
    response = api(desk).post(f"/api/v1/leads/{lead.pk}/qualify/", {"grade": "Z"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "wrong_stage" and "SQL" in response.json()["detail"]
    assert Lead.objects.get(pk=lead.pk).stage == Stage.SQL


def test_bad_body_is_400(api, desk):
    lead = LeadFactory()
    response = api(desk).post(f"/api/v1/leads/{lead.pk}/qualify/", {"grade": "Z"}, format="json")
    assert response.status_code == 400 and "grade" in response.json()
    response = api(desk).post(f"/api/v1/leads/{lead.pk}/disqualify/", {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    assert Lead.objects.get(pk=lead.pk).stage == Stage.NEW


def test_lifecycle_through_the_api(api, desk, rep):
    lead = lifecycle.lead_create(actor=desk, fields={"name": "陈静", "phone": "13800138000"}).lead
    base = f"/api/v1/leads/{lead.pk}"
    qualified = api(desk).post(f"{base}/qualify/", {"grade": "B", "reason": "needs demo"})
    assert qualified.json()["stage"] == "mql" and qualified.json()["grade_source"] == "manual"
    assert api(desk).post(f"{base}/assign/", {"owner": rep.pk}).json()["owner"] == rep.pk
    assert api(rep).post(f"{base}/accept/").json()["stage"] == "sql"
    follow = api(rep).post(
        f"{base}/follow-ups/",
        {"method": "call", "outcome": "demo booked",
         "next_follow_up_at": (timezone.now() + dt.timedelta(days=3)).isoformat()},
        format="json",
    )  # fmt: skip
    assert follow.status_code == 201, follow.json()
    assert follow.json()["author"] == rep.pk
    opp = api(rep).post(f"{base}/to_opportunity/", {"expected_amount": "120000"})
    assert opp.json()["stage"] == "opportunity"
    today = timezone.localdate().isoformat()
    won = api(rep).post(f"{base}/win/", {"amount": "98000.00", "signed_at": today})
    assert won.status_code == 200 and won.json()["won_amount"] == "98000.00"
    events = api(rep).get(f"{base}/events/").json()
    assert [e["kind"] for e in events] == [
        "created", "qualified", "assigned", "accepted", "follow_up", "to_opportunity", "won",
    ]  # fmt: skip
    assert api(rep).get(f"{base}/follow-ups/").json()[0]["outcome"] == "demo booked"


def test_follow_up_in_future_is_400(api, rep):
    lead = lead_in_stage(Stage.SQL, owner=rep)
    response = api(rep).post(
        f"/api/v1/leads/{lead.pk}/follow-ups/",
        {"method": "call", "at": (timezone.now() + dt.timedelta(days=1)).isoformat()},
        format="json",
    )
    assert response.status_code == 400 and "at" in response.json()
    assert lead.follow_ups.count() == 0


def test_assign_without_owner_routes_to_pool_when_nobody_fits(api, desk):
    lead = lead_in_stage(Stage.MQL)
    response = api(desk).post(f"/api/v1/leads/{lead.pk}/assign/", {}, format="json")
    assert response.status_code == 200 and response.json()["in_pool"] is True
    assert Lead.objects.get(pk=lead.pk).events.filter(kind=EventKind.POOLED).count() == 1


def test_assign_without_owner_follows_company_stickiness(api, desk, rep):
    first = lead_in_stage(Stage.SQL, owner=rep)
    lead = lead_in_stage(Stage.MQL, company=first.company)
    response = api(desk).post(f"/api/v1/leads/{lead.pk}/assign/", {}, format="json")
    assert response.status_code == 200 and response.json()["owner"] == rep.pk


def test_assign_without_owner_on_owned_lead_is_409(api, desk, rep):
    lead = lead_in_stage(Stage.MQL, owner=rep)
    response = api(desk).post(f"/api/v1/leads/{lead.pk}/assign/", {}, format="json")
    assert response.status_code == 409


@pytest.mark.parametrize(
    "query",
    ["stage=bogus", "grade=Z", "owner=abc", "campaign=x", "created_after=2026-13-45",
     "in_pool=maybe", "channel_kind=space"],
)  # fmt: skip
def test_bad_filters_are_400(api, desk, query):
    response = api(desk).get(f"/api/v1/leads/?{query}")
    assert response.status_code == 400 and "detail" in response.json()


def test_filters_select_the_right_leads(api, desk, rep):
    trade_show = CampaignFactory(channel__code="trade_show")
    from campaigns.models import Channel

    trade_show.channel = Channel.objects.get(code="trade_show")
    trade_show.save()
    offline = lead_in_stage(Stage.SQL, owner=rep, source_campaign=trade_show, name="线下客户")
    online = lead_in_stage(Stage.NEW, source_campaign=CampaignFactory(), name="Online One")
    client = api(desk)
    assert ids(client.get("/api/v1/leads/?channel_kind=offline")) == {offline.pk}
    assert ids(client.get("/api/v1/leads/?channel=trade_show")) == {offline.pk}
    assert ids(client.get("/api/v1/leads/?stage=new")) == {online.pk}
    assert ids(client.get("/api/v1/leads/?stage=new&stage=sql")) == {online.pk, offline.pk}
    assert ids(client.get(f"/api/v1/leads/?owner={rep.pk}")) == {offline.pk}
    assert ids(client.get("/api/v1/leads/", {"q": "线下"})) == {offline.pk}
    assert ids(client.get(f"/api/v1/leads/?campaign={trade_show.pk}")) == {offline.pk}


def test_page_size_is_capped_at_500(api, desk):
    response = api(desk).get("/api/v1/leads/?page_size=100000")
    assert response.status_code == 200 and set(response.json()) >= {"count", "next", "results"}


def test_malformed_path_id_is_json_404(api, desk):
    response = api(desk).get("/api/v1/leads/abc/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_schema_and_docs_are_served(api, desk):
    assert api(desk).get("/api/schema/").status_code == 200
    docs = api(desk).get("/api/docs/")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()


def test_event_data_of_pooled_lead_is_masked_for_sales(api, desk, rep):
    lead = lead_in_stage(Stage.MQL, in_pool=True, phone="+8613912340000")
    lifecycle.lead_update(lead=lead, actor=desk, fields={"phone": "13912349999"})
    rows = api(rep).get(f"/api/v1/leads/{lead.pk}/events/").json()
    changed = next(r for r in rows if r["kind"] == "updated")["data"]["changed"]["phone"]
    assert changed == ["+86139****0000", "+86139****9999"]
    plain = api(desk).get(f"/api/v1/leads/{lead.pk}/events/").json()
    changed = next(r for r in plain if r["kind"] == "updated")["data"]["changed"]["phone"]
    assert changed == ["+8613912340000", "+8613912349999"]
