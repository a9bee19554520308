"""The server-rendered lead pages: list, detail, actions, create and edit.

Each test checks what the page shows *and* what the database holds afterwards.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from leads import lifecycle
from leads.choices import EventKind, Stage
from leads.models import FollowUp, Lead, LeadEvent, LeadTouch
from tests.factories import CampaignFactory, LeadFactory, UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db


def _messages(response) -> list[tuple[str, str]]:
    """(level, text) of the messages a response carried (after ``follow=True``)."""
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)] or [
        (m.level_tag, str(m)) for m in (response.context or {}).get("messages", [])
    ]


def _page(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params)


def _listed_ids(response) -> set[int]:
    return {lead.pk for lead, _contact in response.context["rows"]}


def _action_url(lead, action) -> str:
    return reverse("leads:action", args=[lead.pk, action])


# --------------------------------------------------------------------------------------
# List
# --------------------------------------------------------------------------------------


def test_rep_lists_own_and_pooled_leads_desk_lists_all(client, rep, other_rep, desk):
    own = lead_in_stage("mql", owner=rep)
    pooled = lead_in_stage("mql", in_pool=True)
    others = lead_in_stage("mql", owner=other_rep)
    fresh = LeadFactory()

    response = _page(client, rep, reverse("leads:list"))
    assert response.status_code == 200
    assert _listed_ids(response) == {own.pk, pooled.pk}
    assert others.name not in response.content.decode()

    response = _page(client, desk, reverse("leads:list"))
    assert _listed_ids(response) == {own.pk, pooled.pk, others.pk, fresh.pk}


def test_list_masks_pooled_contact_for_rep_but_not_for_desk(client, rep, desk):
    pooled = lead_in_stage("mql", in_pool=True, phone="+8613912345678", email="pool@acme.cn")

    html = _page(client, rep, reverse("leads:list")).content.decode()
    assert "+8613912345678" not in html
    assert "pool@acme.cn" not in html
    assert "+86139****5678" in html
    assert "p***@acme.cn" in html

    html = _page(client, desk, reverse("leads:list")).content.decode()
    assert "+8613912345678" in html
    assert "pool@acme.cn" in html
    assert pooled.in_pool


def test_list_uses_the_api_filters(client, desk):
    campaign = CampaignFactory()
    hit = LeadFactory(name="Zhang Wei", source_campaign=campaign)
    LeadFactory(name="Li Na")
    response = _page(client, desk, reverse("leads:list"), campaign=campaign.pk)
    assert _listed_ids(response) == {hit.pk}
    response = _page(client, desk, reverse("leads:list"), q="zhang")
    assert _listed_ids(response) == {hit.pk}


def test_pool_filter_lists_only_pooled_leads(client, rep):
    pooled = lead_in_stage("mql", in_pool=True)
    lead_in_stage("mql", owner=rep)
    response = _page(client, rep, reverse("leads:list"), in_pool="true")
    assert _listed_ids(response) == {pooled.pk}


def test_pool_filter_any_and_not_in_pool(client, desk):
    pooled = lead_in_stage("mql", in_pool=True)
    other = LeadFactory()
    response = _page(client, desk, reverse("leads:list"), in_pool="")
    assert _listed_ids(response) == {pooled.pk, other.pk}
    assert not response.context["filter"].form.errors
    response = _page(client, desk, reverse("leads:list"), in_pool="false")
    assert _listed_ids(response) == {other.pk}
    html = response.content.decode()
    assert re.search(r'<select name="in_pool"[^>]*>\s*<option value=""[^>]*>Any</option>', html)


def test_list_sorts_by_whitelisted_columns_and_ignores_others(client, desk):
    low = LeadFactory(score=10)
    high = LeadFactory(score=90)
    mid = LeadFactory(score=50)

    response = _page(client, desk, reverse("leads:list"), sort="-score")
    assert [lead.pk for lead, _c in response.context["rows"]] == [high.pk, mid.pk, low.pk]
    response = _page(client, desk, reverse("leads:list"), sort="score")
    assert [lead.pk for lead, _c in response.context["rows"]] == [low.pk, mid.pk, high.pk]
    # Not a whitelisted column (and not a real one): falls back to newest first.
    response = _page(client, desk, reverse("leads:list"), sort="-phone")
    assert response.context["sort"] == "-created_at"
    assert [lead.pk for lead, _c in response.context["rows"]] == [mid.pk, high.pk, low.pk]


def test_list_paginates_with_page_size_choice(client, desk):
    for _ in range(30):
        LeadFactory()
    response = _page(client, desk, reverse("leads:list"))
    assert response.context["paginator"].count == 30
    assert len(response.context["rows"]) == 25
    response = _page(client, desk, reverse("leads:list"), page_size=50)
    assert len(response.context["rows"]) == 30
    response = _page(client, desk, reverse("leads:list"), page_size=7)  # not offered → 25
    assert len(response.context["rows"]) == 25
    response = _page(client, desk, reverse("leads:list"), page=2)
    assert len(response.context["rows"]) == 5


def _make_list_leads(count: int, rep) -> None:
    """Owned and pooled leads with companies and source campaigns (every related row)."""
    campaign = CampaignFactory()
    now = timezone.now()
    for index in range(count):
        if index % 2:
            LeadFactory(owner=rep, stage=Stage.MQL, mql_at=now, source_campaign=campaign)
        else:
            LeadFactory(in_pool=True, stage=Stage.MQL, mql_at=now, source_campaign=campaign)


def test_list_query_count_does_not_grow_with_leads(client, rep, assert_queries_flat):
    _make_list_leads(3, rep)
    client.force_login(rep)
    assert_queries_flat(
        lambda: client.get(reverse("leads:list"), {"sort": "-score"}),
        grow=lambda: _make_list_leads(27, rep),
        max_queries=15,
    )
    assert Lead.objects.count() == 30


# --------------------------------------------------------------------------------------
# Detail
# --------------------------------------------------------------------------------------


def test_detail_is_404_for_a_lead_the_rep_cannot_see(client, rep, other_rep):
    hidden = lead_in_stage("mql", owner=other_rep)
    response = _page(client, rep, reverse("leads:detail", args=[hidden.pk]))
    assert response.status_code == 404
    assert hidden.name not in response.content.decode()


def test_detail_masks_pooled_contact_for_rep_but_not_for_desk(client, rep, desk):
    pooled = lead_in_stage(
        "mql", in_pool=True, phone="+8613912345678", email="pool@acme.cn", wechat="wx_pool"
    )
    url = reverse("leads:detail", args=[pooled.pk])

    html = _page(client, rep, url).content.decode()
    assert "+8613912345678" not in html
    assert "pool@acme.cn" not in html
    assert "wx_pool" not in html
    assert "+86139****5678" in html

    html = _page(client, desk, url).content.decode()
    assert "+8613912345678" in html
    assert "pool@acme.cn" in html
    assert "wx_pool" in html


def test_detail_timeline_does_not_leak_edited_contact_of_pooled_lead(client, rep, desk):
    lead = lead_in_stage("mql", owner=rep, phone="+8613912345678")
    lifecycle.lead_update(lead=lead, actor=desk, fields={"phone": "13987654321"})
    lifecycle.lead_recycle(lead=lead, actor=rep, reason="not now", reason_code="not_now")

    html = _page(client, rep, reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "+8613987654321" not in html
    assert "+8613912345678" not in html
    assert "+86139****4321" in html


def test_detail_shows_fields_score_follow_ups_and_readable_timeline(client, rep):
    lead = lead_in_stage("sql", owner=rep, need="Needs 200 seats")
    Lead.objects.filter(pk=lead.pk).update(
        score_detail=[{"rule": "Decision maker", "dimension": "fit", "points": 30}]
    )
    lifecycle.follow_up_log(
        lead=lead, actor=rep, method="call", outcome="Demo booked", note="Call went well"
    )
    lifecycle.lead_lose(lead=lead, actor=rep, reason="Went with a rival", reason_code="competitor")

    response = _page(client, rep, reverse("leads:detail", args=[lead.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Needs 200 seats" in html
    assert "Decision maker" in html  # score detail rule
    assert "Demo booked" in html  # follow-up
    assert "Went with a rival" in html  # event reason
    assert "Chose a competitor" in html  # reason code shown by its label
    assert '"reason_code"' not in html  # no raw JSON
    kinds = [entry.event.kind for entry in response.context["timeline"]]
    assert kinds[0] == EventKind.QUALIFIED  # LeadFactory writes no "created" event
    assert kinds[-1] == EventKind.LOST  # oldest first
    assert response.context["panels"] == []  # a lost lead has no actions


def test_detail_query_count_is_bounded(client, rep, assert_queries_flat):
    lead = lead_in_stage("sql", owner=rep)
    client.force_login(rep)

    def follow_up_and_edit_six_times():
        for index in range(6):
            lifecycle.follow_up_log(lead=lead, actor=rep, method="call", outcome=f"call {index}")
            lifecycle.lead_update(lead=lead, actor=rep, fields={"need": f"need {index}"})

    response = assert_queries_flat(
        lambda: client.get(reverse("leads:detail", args=[lead.pk])),
        grow=follow_up_and_edit_six_times,
        max_queries=30,
    )
    assert len(response.context["timeline"]) >= 15


def test_detail_offers_only_allowed_actions(client, rep, desk):
    lead = lead_in_stage("mql", owner=rep)
    url = reverse("leads:detail", args=[lead.pk])
    rep_actions = [p.name for p in _page(client, rep, url).context["panels"]]
    assert set(rep_actions) == {"accept", "reject", "recycle", "follow_up"}
    desk_actions = [p.name for p in _page(client, desk, url).context["panels"]]
    assert set(desk_actions) == {"disqualify", "assign"}


# --------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------


def test_qualify_with_changed_grade_and_no_reason_shows_error_and_changes_nothing(client, desk):
    lead = LeadFactory(grade="B")
    events_before = LeadEvent.objects.filter(lead=lead).count()
    client.force_login(desk)
    response = client.post(_action_url(lead, "qualify"), {"grade": "A", "reason": ""}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("leads:detail", args=[lead.pk]) + (
        "#action-qualify"
    )
    assert ("error", "A reason is required.") in _messages(response)
    lead.refresh_from_db()
    assert (lead.stage, lead.grade, lead.mql_at) == (Stage.NEW, "B", None)
    assert LeadEvent.objects.filter(lead=lead).count() == events_before


def test_accept_by_someone_other_than_the_owner_is_refused(client, rep, desk):
    lead = lead_in_stage("mql", owner=rep)
    client.force_login(desk)
    response = client.post(_action_url(lead, "accept"), follow=True)

    assert ("error", "You are not allowed to accept this lead.") in _messages(response)
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    assert lead.sql_at is None
    assert not LeadEvent.objects.filter(lead=lead, kind=EventKind.ACCEPTED).exists()


def test_action_on_an_invisible_lead_is_404_and_changes_nothing(client, rep, other_rep):
    lead = lead_in_stage("mql", owner=other_rep)
    client.force_login(rep)
    response = client.post(_action_url(lead, "accept"))
    assert response.status_code == 404
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_action_needs_post(client, rep):
    lead = lead_in_stage("mql", owner=rep)
    client.force_login(rep)
    assert client.get(_action_url(lead, "accept")).status_code == 405
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_unknown_action_is_404(client, rep):
    lead = lead_in_stage("mql", owner=rep)
    client.force_login(rep)
    assert client.post(_action_url(lead, "explode")).status_code == 404


def test_accept_by_owner_moves_to_sql_and_writes_event(client, rep):
    lead = lead_in_stage("mql", owner=rep)
    client.force_login(rep)
    response = client.post(_action_url(lead, "accept"), follow=True)

    assert response.status_code == 200
    assert ("success", "Lead accepted; it is now an SQL.") in _messages(response)
    lead.refresh_from_db()
    assert lead.stage == Stage.SQL
    assert lead.sql_at is not None
    event = LeadEvent.objects.get(lead=lead, kind=EventKind.ACCEPTED)
    assert event.actor == rep
    assert (event.from_stage, event.to_stage) == (Stage.MQL, Stage.SQL)


def test_qualify_with_manual_grade_and_reason(client, desk):
    lead = LeadFactory(grade="C")
    client.force_login(desk)
    client.post(_action_url(lead, "qualify"), {"grade": "A", "reason": "CEO called us"})
    lead.refresh_from_db()
    assert (lead.stage, lead.grade, lead.grade_source) == (Stage.MQL, "A", "manual")
    assert lead.grade_reason == "CEO called us"


def test_bad_amount_is_a_message_and_changes_nothing(client, rep):
    lead = lead_in_stage("sql", owner=rep)
    client.force_login(rep)
    response = client.post(
        _action_url(lead, "to_opportunity"), {"expected_amount": "lots"}, follow=True
    )
    [(level, text)] = _messages(response)
    assert level == "error"
    assert text.startswith("Expected amount:")
    lead.refresh_from_db()
    assert lead.stage == Stage.SQL
    assert lead.expected_amount is None


def test_win_with_future_date_is_refused_then_valid_win_closes_the_deal(client, rep):
    lead = lead_in_stage("opportunity", owner=rep)
    client.force_login(rep)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    response = client.post(
        _action_url(lead, "win"), {"amount": "1200.50", "signed_at": tomorrow}, follow=True
    )
    assert ("error", "The signing date cannot be in the future.") in _messages(response)
    lead.refresh_from_db()
    assert lead.stage == Stage.OPPORTUNITY

    response = client.post(
        _action_url(lead, "win"),
        {"amount": "1200.50", "signed_at": timezone.localdate().isoformat()},
        follow=True,
    )
    lead.refresh_from_db()
    assert lead.stage == Stage.WON
    assert str(lead.won_amount) == "1200.50"
    assert LeadEvent.objects.filter(lead=lead, kind=EventKind.WON, actor=rep).exists()


def test_assign_by_desk_to_a_rep(client, desk, rep):
    lead = lead_in_stage("mql")
    client.force_login(desk)
    response = client.post(_action_url(lead, "assign"), {"owner": rep.pk, "reason": "East"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == rep
    event = LeadEvent.objects.get(lead=lead, kind=EventKind.ASSIGNED)
    assert (event.actor, event.data["owner"], event.data["strategy"]) == (desk, rep.pk, "manual")
    assert event.reason.endswith("East")


def test_assign_without_owner_lets_the_router_decide(client, desk):
    lead = lead_in_stage("mql")
    client.force_login(desk)
    response = client.post(_action_url(lead, "assign"), {"owner": ""}, follow=True)
    lead.refresh_from_db()
    # No rules exist yet: the router sends the lead to the pool, and the message says why.
    assert lead.in_pool
    assert lead.owner is None
    assert (
        "success",
        "No assignment rule matched; the lead went to the pool.",
    ) in _messages(response)


def test_reject_sends_lead_back_and_redirects_rep_to_the_list(client, rep):
    lead = lead_in_stage("mql", owner=rep)
    client.force_login(rep)
    response = client.post(
        _action_url(lead, "reject"), {"reason_code": "not_reachable", "reason": "No answer x5"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:list")
    lead.refresh_from_db()
    assert lead.owner is None
    assert lead.reject_reason == "not_reachable"
    event = LeadEvent.objects.get(lead=lead, kind=EventKind.REJECTED)
    assert event.reason == "No answer x5"


def test_claim_from_pool_unmasks_contact(client, rep):
    lead = lead_in_stage("mql", in_pool=True, phone="+8613912345678")
    client.force_login(rep)
    response = client.post(_action_url(lead, "claim"), follow=True)
    lead.refresh_from_db()
    assert lead.owner == rep
    assert not lead.in_pool
    assert "+8613912345678" in response.content.decode()


def test_follow_up_form_logs_a_follow_up(client, rep):
    lead = lead_in_stage("sql", owner=rep)
    client.force_login(rep)
    next_at = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    client.post(
        _action_url(lead, "follow_up"),
        {"method": "visit", "outcome": "Met the CTO", "note": "", "next_follow_up_at": next_at},
    )
    follow_up = FollowUp.objects.get(lead=lead)
    assert (follow_up.author, follow_up.method, follow_up.outcome) == (rep, "visit", "Met the CTO")
    lead.refresh_from_db()
    assert lead.next_follow_up_at == follow_up.next_follow_up_at
    assert lead.first_contact_at is not None


def test_follow_up_in_the_future_is_refused(client, rep):
    lead = lead_in_stage("sql", owner=rep)
    client.force_login(rep)
    later = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        _action_url(lead, "follow_up"), {"method": "call", "at": later}, follow=True
    )
    assert ("error", "A follow-up cannot be dated in the future.") in _messages(response)
    assert not FollowUp.objects.filter(lead=lead).exists()


# --------------------------------------------------------------------------------------
# Create and edit
# --------------------------------------------------------------------------------------


def test_create_page_is_forbidden_for_a_sales_rep(client, rep):
    client.force_login(rep)
    assert client.get(reverse("leads:create")).status_code == 403
    response = client.post(reverse("leads:create"), {"name": "X", "phone": "13900000001"})
    assert response.status_code == 403
    assert not Lead.objects.exists()


def test_marketer_creates_lead_with_normalised_phone(client, marketer):
    campaign = CampaignFactory(owner=marketer)
    client.force_login(marketer)
    assert client.get(reverse("leads:create")).status_code == 200
    response = client.post(
        reverse("leads:create"),
        {
            "name": "Wang Fang",
            "phone": "139 0000 0001",
            "email": "Wang.Fang@Example.COM",
            "company_name": "华为技术有限公司",
            "timeline": "3m",
            "decision_role": "decision_maker",
            "budget": "50000",
            "source_campaign": campaign.pk,
        },
    )
    lead = Lead.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:detail", args=[lead.pk])
    assert lead.phone == "+8613900000001"
    assert lead.email == "wang.fang@example.com"
    assert lead.company.name == "华为技术有限公司"
    assert lead.source_campaign == campaign
    assert lead.created_by == marketer
    assert LeadEvent.objects.filter(lead=lead, kind=EventKind.CREATED, actor=marketer).exists()


def test_create_with_bad_phone_shows_field_error_and_creates_nothing(client, desk):
    client.force_login(desk)
    response = client.post(
        reverse("leads:create"),
        {"name": "Bad", "phone": "12", "timeline": "unknown", "decision_role": "unknown"},
    )
    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert not Lead.objects.exists()


def test_create_duplicate_adds_a_touch_and_redirects_to_the_existing_lead(client, desk):
    existing = LeadFactory(phone="+8613900000001")
    LeadTouch.objects.create(
        lead=existing, kind="manual", occurred_at=timezone.now(), is_first=True
    )
    client.force_login(desk)
    response = client.post(
        reverse("leads:create"),
        {
            "name": "Same person",
            "phone": "13900000001",
            "timeline": "unknown",
            "decision_role": "unknown",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("leads:detail", args=[existing.pk])
    [(level, text)] = _messages(response)
    assert level == "warning"
    assert "already known — added a touch to the existing lead" in text
    assert Lead.objects.count() == 1
    assert existing.touches.count() == 2


def test_desk_edits_a_lead_and_the_change_is_on_the_timeline(client, desk):
    lead = LeadFactory(name="Old name", phone="+8613900000001")
    client.force_login(desk)
    form = client.get(reverse("leads:edit", args=[lead.pk])).context["form"]
    data = {k: ("" if v is None else v) for k, v in form.initial.items()}
    data["name"] = "New name"
    response = client.post(reverse("leads:edit", args=[lead.pk]), data)
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.name == "New name"
    event = LeadEvent.objects.get(lead=lead, kind=EventKind.UPDATED)
    assert event.data["changed"]["name"] == ["Old name", "New name"]
    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert re.search(r"Old name</span>\s*→\s*New name", html)


def test_edit_is_forbidden_for_a_rep_who_does_not_own_the_lead(client, rep):
    lead = lead_in_stage("mql", in_pool=True)
    client.force_login(rep)
    assert client.get(reverse("leads:edit", args=[lead.pk])).status_code == 403


def test_list_shows_new_lead_button_only_to_creators(client, rep, marketer):
    create_url = reverse("leads:create")
    assert create_url not in _page(client, rep, reverse("leads:list")).content.decode()
    assert create_url in _page(client, marketer, reverse("leads:list")).content.decode()


def test_pages_need_login(client):
    response = client.get(reverse("leads:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_superuser_sees_everything(client):
    admin = UserFactory(is_superuser=True, is_staff=True)
    lead = LeadFactory()
    response = _page(client, admin, reverse("leads:list"))
    assert _listed_ids(response) == {lead.pk}


def test_timeline_names_people_and_decisions_instead_of_ids(client, desk, rep):
    lead = lead_in_stage("mql")
    lifecycle.lead_assign(lead=lead, actor=desk, owner=rep, reason="East region")
    client.force_login(desk)
    response = client.get(reverse("leads:detail", args=[lead.pk]))
    [assigned] = [e for e in response.context["timeline"] if e.event.kind == EventKind.ASSIGNED]
    details = dict(assigned.details)
    assert details["Owner"] == "rep"
    assert details["Decided by"] == "Manual assignment"
    assert "Assignment rule" not in details  # no rule decided a manual assignment
    assert assigned.actor == "desk"
