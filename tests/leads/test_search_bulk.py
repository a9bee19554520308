"""Search and bulk (issue #15 item 4): phone search in any spelling, the global search,
one bulk path for every list (refusals, hidden ids), and the bulk API endpoint."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assignment.models import Assignment
from leads.bulk import BULK_CAP, offered_actions
from leads.choices import Stage
from leads.filters import search_q
from leads.models import Lead
from leads.normalize import phone_search_key
from leads.selectors import leads_visible_to
from tests.factories import CampaignFactory, LeadFactory, lead_in_stage

pytestmark = pytest.mark.django_db


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def _ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


# --------------------------------------------------------------------------------------
# Phone spellings
# --------------------------------------------------------------------------------------

SPELLINGS = [
    "139 1234 0001",
    "139-1234-0001",
    "+86 139 1234 0001",
    "+86-139-1234-0001",
    "0086 139 1234 0001",
    "13912340001",
    "(+86) 139 1234 0001",
    "１３９ １２３４ ０００１",  # full-width digits, as Chinese keyboards type them
]


@pytest.mark.parametrize("typed", SPELLINGS)
def test_phone_search_key_matches_capture_normalisation(typed):
    assert phone_search_key(typed, "CN") == "+8613912340001"


@pytest.mark.parametrize("typed", ["", "zhang", "0001", "139", "abc 139 1234", "12345678901234"])
def test_text_that_is_not_a_whole_phone_has_no_phone_key(typed):
    assert phone_search_key(typed, "CN") is None


@pytest.mark.parametrize("typed", SPELLINGS)
def test_api_q_finds_the_phone_in_any_spelling(api, desk, typed):
    lead = LeadFactory(phone="+8613912340001")
    LeadFactory(phone="+8613912340002")
    assert _ids(api(desk).get("/api/v1/leads/", {"q": typed})) == {lead.pk}


@pytest.mark.parametrize("typed", ["139 1234 0001", "139-1234-0001", "+86 139 1234 0001"])
def test_lead_list_page_q_finds_the_phone_in_any_spelling(client, desk, typed):
    lead = LeadFactory(phone="+8613912340001")
    LeadFactory(phone="+8613912340002")
    client.force_login(desk)
    response = client.get(reverse("leads:list"), {"q": typed})
    assert [row[0].pk for row in response.context["rows"]] == [lead.pk]


def test_phone_search_is_an_exact_match_not_a_substring_scan(api, desk):
    LeadFactory(phone="+8613912340001")
    with CaptureQueriesContext(connection) as queries:
        api(desk).get("/api/v1/leads/", {"q": "139 1234 0001"})
    lead_queries = [
        q["sql"] for q in queries.captured_queries if '"leads_lead"."phone"' in q["sql"]
    ]
    assert lead_queries
    for sql in lead_queries:
        assert '"leads_lead"."phone" = ' in sql
        assert "%8613912340001%" not in sql and "LIKE '%+86" not in sql


def test_q_matches_the_wechat_id(api, desk):
    lead = LeadFactory(wechat="zhang_san_88")
    LeadFactory(wechat="li_si")
    assert _ids(api(desk).get("/api/v1/leads/", {"q": "zhang_san_88"})) == {lead.pk}


def test_pooled_contact_details_stay_unsearchable_for_sales(api, rep):
    pooled = lead_in_stage(Stage.MQL, in_pool=True, phone="+8613912340001", wechat="pool_wx")
    assert _ids(api(rep).get("/api/v1/leads/", {"q": "139 1234 0001"})) == set()
    assert _ids(api(rep).get("/api/v1/leads/", {"q": "pool_wx"})) == set()
    # by name it is found (the name is not masked)
    assert pooled.pk in _ids(api(rep).get("/api/v1/leads/", {"q": pooled.name}))


# --------------------------------------------------------------------------------------
# The global search
# --------------------------------------------------------------------------------------


def _search(client, user, q):
    client.force_login(user)
    return client.get(reverse("leads:search"), {"q": q})


def _found(response) -> set[int]:
    return {lead.pk for lead, _contact in response.context["rows"]}


def test_the_search_box_is_in_the_navigation_of_every_page(client, rep):
    client.force_login(rep)
    for name in ("leads:list", "sales:my_leads", "assignment:pool"):
        html = client.get(reverse(name)).content.decode()
        assert f'action="{reverse("leads:search")}"' in html
        assert 'id="global-search"' in html


def test_global_search_shows_only_leads_the_user_may_see(client, rep, other_rep, desk):
    mine = lead_in_stage(Stage.MQL, owner=rep, name="Acme buyer", phone="+8613912340001")
    theirs = lead_in_stage(Stage.MQL, owner=other_rep, name="Acme other")
    # a rep sees their own lead, by phone in any spelling and by name; never a colleague's
    assert _found(_search(client, rep, "139-1234-0001")) == {mine.pk}
    assert _found(_search(client, rep, "Acme")) == {mine.pk}
    # the desk sees both
    assert _found(_search(client, desk, "Acme")) == {mine.pk, theirs.pk}


def test_sales_manager_finds_the_team_but_not_other_teams(client, sales_manager, rep, outsider_rep):
    team_lead = lead_in_stage(Stage.MQL, owner=rep, name="Beta one")
    lead_in_stage(Stage.MQL, owner=outsider_rep, name="Beta two")
    assert _found(_search(client, sales_manager, "Beta")) == {team_lead.pk}


def test_campaigns_are_found_by_name_for_marketing_not_for_sales(client, marketer, rep):
    campaign = CampaignFactory(name="Spring webinar")
    response = _search(client, marketer, "webinar")
    assert [c.pk for c in response.context["campaigns"]] == [campaign.pk]
    assert _search(client, rep, "webinar").context["campaigns"] == []


def test_global_search_query_count_is_flat(client, desk, assert_queries_flat):
    LeadFactory(name="Flat 0")
    client.force_login(desk)
    url = reverse("leads:search")
    assert_queries_flat(
        lambda: client.get(url, {"q": "Flat"}),
        grow=lambda: [LeadFactory(name=f"Flat {n}") for n in range(1, 12)],
    )


# --------------------------------------------------------------------------------------
# Bulk: which actions are offered
# --------------------------------------------------------------------------------------


def test_offered_actions_follow_the_lifecycle_rules(desk, rep, sales_manager, marketer, manager):
    assert offered_actions(desk) == ["assign", "qualify", "disqualify"]
    assert offered_actions(sales_manager) == ["assign", "recycle", "claim", "accept"]
    assert offered_actions(rep) == ["recycle", "claim", "accept"]
    assert offered_actions(marketer) == []
    assert offered_actions(manager) == []


def test_lead_list_offers_only_the_roles_actions(client, rep, desk):
    lead_in_stage(Stage.MQL, owner=rep)
    client.force_login(rep)
    html = client.get(reverse("leads:list")).content.decode()
    assert 'value="accept"' in html and 'value="recycle"' in html
    assert 'value="qualify"' not in html and 'name="assign-owner"' not in html
    client.force_login(desk)
    html = client.get(reverse("leads:list")).content.decode()
    assert 'value="qualify"' in html and 'name="assign-owner"' in html
    assert 'value="accept"' not in html


def test_a_role_posting_an_action_it_may_not_run_changes_nothing(client, rep):
    lead = LeadFactory()
    client.force_login(rep)
    response = client.post(reverse("leads:bulk"), {"action": "qualify", "lead": [lead.pk]})
    assert _messages(response) == [("error", "Choose what to do with the selected leads.")]
    lead.refresh_from_db()
    assert lead.stage == Stage.NEW


# --------------------------------------------------------------------------------------
# Bulk: results, refusals, hidden ids
# --------------------------------------------------------------------------------------


def test_bulk_accept_reports_refusals_and_hidden_ids_are_untouched(client, rep, other_rep):
    mine = [lead_in_stage(Stage.MQL, owner=rep) for _ in range(2)]
    accepted = lead_in_stage(Stage.SQL, owner=rep)
    hidden = lead_in_stage(Stage.MQL, owner=other_rep)
    before = (hidden.stage, hidden.updated_at, hidden.events.count())
    client.force_login(rep)
    response = client.post(
        reverse("leads:bulk"),
        {"action": "accept", "lead": [m.pk for m in mine] + [accepted.pk, hidden.pk]},
    )
    [(level, text)] = _messages(response)
    assert level == "warning"
    assert text.startswith("2 accepted, 2 refused: ")
    assert f"(#{accepted.pk}): Cannot accept a lead in stage" in text
    assert f"; #{hidden.pk}: Lead not found." in text
    assert hidden.name not in text  # a hidden lead's name does not leak
    assert set(
        Lead.objects.filter(pk__in=[m.pk for m in mine]).values_list("stage", flat=True)
    ) == {Stage.SQL}
    hidden.refresh_from_db()
    assert (hidden.stage, hidden.updated_at, hidden.events.count()) == before


def test_bulk_reassign_needs_a_reason_and_stores_it_on_the_assignment(
    client, sales_manager, rep, other_rep
):
    owned = [lead_in_stage(Stage.SQL, owner=rep) for _ in range(2)]
    ids = [lead.pk for lead in owned]
    client.force_login(sales_manager)
    response = client.post(
        reverse("leads:bulk"),
        {"action": "assign", "lead": ids, "assign-owner": other_rep.pk, "assign-reason": ""},
    )
    [(level, text)] = _messages(response)
    assert level == "error" and text.startswith("0 assigned, 2 refused")
    assert "Give a reason to reassign" in text
    assert set(Lead.objects.filter(pk__in=ids).values_list("owner", flat=True)) == {rep.pk}

    response = client.post(
        reverse("leads:bulk"),
        {
            "action": "assign",
            "lead": ids,
            "assign-owner": other_rep.pk,
            "assign-reason": "Rep on leave",
        },
    )
    assert _messages(response)[-1] == ("success", "2 assigned, 0 refused.")
    assert set(Lead.objects.filter(pk__in=ids).values_list("owner", flat=True)) == {other_rep.pk}
    for pk in ids:
        decision = Assignment.objects.filter(lead_id=pk).order_by("-at", "-id").first()
        assert decision.owner_id == other_rep.pk
        assert decision.previous_owner_id == rep.pk
        assert "Rep on leave" in decision.reason


def test_bulk_recycle_with_reason_goes_through_the_lifecycle(client, rep):
    leads = [lead_in_stage(Stage.SQL, owner=rep) for _ in range(2)]
    client.force_login(rep)
    response = client.post(
        reverse("leads:bulk"),
        {
            "action": "recycle",
            "lead": [lead.pk for lead in leads],
            "recycle-reason_code": "not_reachable",
            "recycle-reason": "Unreachable for weeks",
        },
    )
    assert _messages(response) == [("success", "2 recycled to the pool, 0 refused.")]
    for lead in leads:
        lead.refresh_from_db()
        assert (lead.in_pool, lead.owner_id, lead.recycle_reason) == (True, None, "not_reachable")


def test_bulk_claim_from_the_pool_page(client, rep):
    pooled = lead_in_stage(Stage.MQL, in_pool=True)
    client.force_login(rep)
    html = client.get(reverse("assignment:pool")).content.decode()
    assert 'value="claim"' in html and 'form="bulk-form"' in html
    client.post(reverse("leads:bulk"), {"action": "claim", "lead": [pooled.pk]})
    pooled.refresh_from_db()
    assert (pooled.owner_id, pooled.in_pool) == (rep.pk, False)


def test_bulk_desk_qualify_and_disqualify_on_the_lead_list(client, desk):
    good, ungraded = LeadFactory(grade="A"), LeadFactory(grade="", grade_source="")
    client.force_login(desk)
    response = client.post(
        reverse("leads:bulk"), {"action": "qualify", "lead": [good.pk, ungraded.pk]}
    )
    [(level, text)] = _messages(response)
    assert level == "warning" and text.startswith("1 qualified, 1 refused")
    response = client.post(
        reverse("leads:bulk"),
        {
            "action": "disqualify",
            "lead": [ungraded.pk],
            "disqualify-reason_code": "spam",
            "disqualify-reason": "Bot form fill",
        },
    )
    ungraded.refresh_from_db()
    assert (ungraded.stage, ungraded.disqualify_reason) == (Stage.DISQUALIFIED, "spam")


def test_select_all_matching_applies_the_filters_within_the_users_scope(client, rep, other_rep):
    grade_a = [lead_in_stage(Stage.MQL, owner=rep, grade="A") for _ in range(2)]
    grade_b = lead_in_stage(Stage.MQL, owner=rep, grade="B")
    hidden_a = lead_in_stage(Stage.MQL, owner=other_rep, grade="A")
    client.force_login(rep)
    response = client.post(
        reverse("leads:bulk"), {"action": "accept", "select_all": "1", "query": "grade=A"}
    )
    assert _messages(response) == [("success", "2 accepted, 0 refused.")]
    assert {lead.stage for lead in Lead.objects.filter(pk__in=[x.pk for x in grade_a])} == {
        Stage.SQL
    }
    for untouched in (grade_b, hidden_a):
        untouched.refresh_from_db()
        assert untouched.stage == Stage.MQL


def test_select_all_refuses_more_than_the_cap(client, desk, settings, monkeypatch):
    monkeypatch.setattr("leads.views.bulk.BULK_CAP", 2)
    leads = [LeadFactory() for _ in range(3)]
    client.force_login(desk)
    response = client.post(
        reverse("leads:bulk"),
        {"action": "disqualify", "select_all": "1", "query": "stage=new", "disqualify-reason": "x"},
    )
    assert _messages(response) == [("error", "More than 2 leads match: narrow the filters first.")]
    assert Lead.objects.filter(pk__in=[x.pk for x in leads], stage=Stage.NEW).count() == 3


def test_the_lead_list_states_the_cap(client, desk):
    LeadFactory()
    client.force_login(desk)
    html = client.get(reverse("leads:list")).content.decode()
    assert f"(at most {BULK_CAP} at once)" in html
    assert "All 1 lead matching the filters" in html


def test_bulk_export_of_the_selection_holds_only_visible_selected_leads(client, rep, other_rep):
    mine = lead_in_stage(Stage.MQL, owner=rep, name="Mine export")
    other_mine = lead_in_stage(Stage.MQL, owner=rep, name="Not selected")
    hidden = lead_in_stage(Stage.MQL, owner=other_rep, name="Hidden export")
    client.force_login(rep)
    response = client.post(
        reverse("leads:bulk"),
        {"action": "export", "file_format": "csv", "lead": [mine.pk, hidden.pk]},
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Mine export" in body
    assert hidden.name not in body and other_mine.name not in body


@pytest.mark.parametrize(
    "page", ["leads:list", "assignment:pool", "sales:my_leads", "assignment:new_for_me"]
)
def test_list_pages_with_the_bulk_bar_keep_flat_query_counts(
    client, rep, page, assert_queries_flat
):
    def grow():
        for _ in range(6):
            lead_in_stage(Stage.MQL, owner=rep)
            lead_in_stage(Stage.MQL, in_pool=True)

    lead_in_stage(Stage.MQL, owner=rep)
    lead_in_stage(Stage.MQL, in_pool=True)
    client.force_login(rep)
    url = reverse(page)
    client.get(url)  # first visit: settings rows (the pool policy) are created once
    assert_queries_flat(lambda: client.get(url), grow=grow)


def test_team_page_bulk_bar_keeps_flat_query_counts(
    client, sales_manager, rep, other_rep, assert_queries_flat
):
    lead_in_stage(Stage.SQL, owner=rep)
    client.force_login(sales_manager)
    url = reverse("sales:team")
    html = client.get(url).content.decode()
    assert 'name="assign-owner"' in html and 'value="recycle"' in html
    assert_queries_flat(
        lambda: client.get(url),
        grow=lambda: [lead_in_stage(Stage.SQL, owner=other_rep) for _ in range(6)],
    )


# --------------------------------------------------------------------------------------
# The bulk API
# --------------------------------------------------------------------------------------


def test_bulk_api_reports_done_and_refused_per_lead(api, rep, other_rep):
    mine = lead_in_stage(Stage.MQL, owner=rep)
    sql = lead_in_stage(Stage.SQL, owner=rep)
    hidden = lead_in_stage(Stage.MQL, owner=other_rep)
    response = api(rep).post(
        "/api/v1/leads/bulk/",
        {"action": "accept", "ids": [mine.pk, sql.pk, hidden.pk, 999999]},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["done"] == [mine.pk]
    refused = {row["id"]: row["detail"] for row in body["refused"]}
    assert set(refused) == {sql.pk, hidden.pk, 999999}
    assert refused[hidden.pk] == "Lead not found."
    assert refused[999999] == "Lead not found."
    hidden.refresh_from_db()
    assert hidden.stage == Stage.MQL


def test_bulk_api_refuses_the_whole_run_for_bad_input(api, rep, desk):
    lead = lead_in_stage(Stage.MQL, owner=rep)
    client = api(rep)
    assert (
        client.post(
            "/api/v1/leads/bulk/", {"action": "win", "ids": [lead.pk]}, format="json"
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/api/v1/leads/bulk/", {"action": "accept", "ids": []}, format="json"
        ).status_code
        == 400
    )
    too_many = list(range(1, BULK_CAP + 2))
    assert (
        client.post(
            "/api/v1/leads/bulk/", {"action": "accept", "ids": too_many}, format="json"
        ).status_code
        == 400
    )
    # the desk may not accept leads at all: 403, nothing runs
    response = api(desk).post(
        "/api/v1/leads/bulk/", {"action": "accept", "ids": [lead.pk]}, format="json"
    )
    assert response.status_code == 403
    response = api(desk).post(
        "/api/v1/leads/bulk/",
        {"action": "disqualify", "ids": [lead.pk], "data": {"reason_code": "nonsense"}},
        format="json",
    )
    assert response.status_code == 400
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_bulk_api_reassign_keeps_the_reason(api, desk, rep, other_rep):
    lead = lead_in_stage(Stage.MQL, owner=rep)
    response = api(desk).post(
        "/api/v1/leads/bulk/",
        {"action": "assign", "ids": [lead.pk], "data": {"owner": other_rep.pk}},
        format="json",
    )
    assert response.json()["refused"][0]["id"] == lead.pk
    response = api(desk).post(
        "/api/v1/leads/bulk/",
        {"action": "assign", "ids": [lead.pk], "data": {"owner": other_rep.pk, "reason": "Load"}},
        format="json",
    )
    assert response.json() == {"done": [lead.pk], "refused": []}
    decision = Assignment.objects.filter(lead=lead).order_by("-at", "-id").first()
    assert decision.owner_id == other_rep.pk and "Load" in decision.reason


# --------------------------------------------------------------------------------------
# Progressive enhancement hooks (the behaviour itself: tests/e2e/test_list_filters.py)
# --------------------------------------------------------------------------------------


def test_filter_bar_auto_applies_and_pickers_are_searchable(client, desk):
    client.force_login(desk)
    html = client.get(reverse("leads:list")).content.decode()
    assert "data-auto-apply" in html
    assert "data-apply-button" in html  # the Apply button stays for pages without JS
    for name in ("owner", "channel"):
        assert re.search(rf'<select name="{name}"[^>]*data-searchable', html), name
    # Campaigns (thousands) search the server instead (tests/leads/test_campaign_picker.py).
    assert re.search(r'<select name="campaign"[^>]*data-lookup="/api/v1/', html)
    form = client.get(reverse("leads:create")).content.decode()
    assert re.search(r'<select name="source_campaign"[^>]*data-lookup="/api/v1/', form)
    assert not re.search(r'<select name="source_campaign"[^>]*data-searchable', form)


@pytest.mark.postgres
def test_phone_search_is_index_look_ups_on_postgresql(desk):
    """No scan of the lead table for a phone number: PostgreSQL answers from the phone
    and WeChat indexes (sequential scans off, so a plan without them would show one)."""
    for _ in range(5):
        LeadFactory()
    queryset = leads_visible_to(desk).filter(search_q("139-1234-0001", desk))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = queryset.explain()
    assert "lead_phone_idx" in plan and "lead_wechat_idx" in plan, plan
    assert "Seq Scan on leads_lead" not in plan, plan
