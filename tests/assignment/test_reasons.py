"""The "why this owner" reason is stored as a code and parameters and worded in the reader's
language (issue #8): a lead routed by an English-speaking worker reads in Chinese on a
Chinese page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from assignment import reasons
from assignment import services as assignment_services
from assignment.models import Assignment
from assignment.reasons import DecisionReason, reason_text
from leads import lifecycle
from leads.choices import EventKind, Stage
from leads.models import LeadEvent
from tests.factories import CompanyFactory, lead_in_stage

pytestmark = pytest.mark.django_db

PICK_EN = (
    "Rule “East rotation” (Round robin) chose rep2: 0 open leads, 0 assigned today. "
    "Skipped: rep (daily capacity 0 reached)."
)
PICK_ZH = (
    "规则“East rotation”（轮询）选择了 rep2：未结线索 0 条，今日已分配 0 条。 "
    "已跳过：rep（已达每日容量 0）。"
)
POOL_EN = (
    "No assignment rule found an eligible salesperson; the lead went to the pool. "
    "“East rotation”: nobody eligible (rep: marked unavailable; rep2: away until 2099-01-01)."
)
POOL_ZH = (
    "没有分配规则找到合适的销售，线索已进入公海。 "
    "“East rotation”：没有符合条件的人（rep：已标记为不可接单；rep2：休假至 2099-01-01）。"
)


@pytest.fixture(autouse=True)
def _keep_language():
    """A request leaves its language active in the thread (LocaleMiddleware activates it and
    nothing deactivates it); later tests expect the default back."""
    language = translation.get_language()
    yield
    if language is None:
        translation.deactivate_all()
    else:
        translation.activate(language)


def _in(client, language: str, user):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(user)
    return client


def _rule(desk, team):
    return assignment_services.rule_save(
        actor=desk, name="East rotation", conditions=[], strategy="round_robin", team=team
    )


@pytest.fixture
def routed(desk, team, rep, other_rep):
    """A lead routed with English active: rep is full for today, so rep2 gets it."""
    _rule(desk, team)
    rep.memberships.update(daily_capacity=0)
    with translation.override("en"):
        return assignment_services.lead_route(lead=lead_in_stage(Stage.MQL))


@pytest.fixture
def pooled(desk, team, rep, other_rep):
    """A lead that found nobody: one member unavailable, the other away."""
    _rule(desk, team)
    rep.memberships.update(available=False)
    other_rep.memberships.update(away_until=dt.date(2099, 1, 1))
    with translation.override("en"):
        return assignment_services.lead_route(lead=lead_in_stage(Stage.MQL))


def test_routed_reason_is_stored_as_code_params_and_site_language_text(routed, other_rep):
    decision = Assignment.objects.get(lead=routed)
    assert decision.owner == other_rep
    assert decision.reason == PICK_EN
    assert decision.reason_code == "rule_pick"
    assert decision.reason_params == {
        "rule": "East rotation",
        "strategy": "round_robin",
        "user": "rep2",
        "open": 0,
        "today": 0,
        "skipped": [{"user": "rep", "code": "daily_capacity", "params": {"n": 0}}],
    }
    event = LeadEvent.objects.get(lead=routed, kind=EventKind.ASSIGNED)
    assert event.reason == PICK_EN
    assert event.data["reason_code"] == "rule_pick"
    assert event.data["reason_params"] == decision.reason_params


def test_stored_text_is_the_site_language_whoever_decided(desk, team, rep, other_rep):
    _rule(desk, team)
    with translation.override("zh-hans"):  # e.g. a Chinese desk user's "route" request
        lead = assignment_services.lead_route(lead=lead_in_stage(Stage.MQL), actor=desk)
        decision = Assignment.objects.get(lead=lead)
        assert decision.reason.startswith("Rule “East rotation” (Round robin) chose ")
        assert decision.reason_display.startswith("规则“East rotation”（轮询）选择了 ")


def test_lead_page_in_chinese_shows_the_reason_in_chinese(client, routed, other_rep):
    html = _in(client, "zh-hans", other_rep).get(reverse("leads:detail", args=[routed.pk]))
    html = html.content.decode()
    assert f'<p class="decision-reason">{PICK_ZH}</p>' in html
    assert f'<p class="event-reason">{PICK_ZH}</p>' in html  # the timeline too
    assert PICK_EN not in html


def test_lead_page_in_english_shows_the_english_reason_without_raw_params(
    client, routed, other_rep
):
    html = _in(client, "en", other_rep).get(reverse("leads:detail", args=[routed.pk]))
    html = html.content.decode()
    assert f'<p class="decision-reason">{PICK_EN}</p>' in html
    assert f'<p class="event-reason">{PICK_EN}</p>' in html
    assert "Reason params" not in html and "rule_pick" not in html


def test_pool_notes_and_skipped_candidates_render_in_chinese(client, pooled, desk):
    decision = Assignment.objects.get(lead=pooled)
    assert decision.strategy == "pool" and decision.reason == POOL_EN
    assert decision.reason_code == "pooled"
    assert decision.reason_params["notes"][0]["code"] == "rule_none_eligible"
    html = _in(client, "zh-hans", desk).get(reverse("leads:detail", args=[pooled.pk]))
    assert f'<p class="decision-reason">{POOL_ZH}</p>' in html.content.decode()
    event = LeadEvent.objects.get(lead=pooled, kind=EventKind.POOLED)
    assert event.data["reason_code"] == "pooled"
    with translation.override("zh-hans"):
        assert event.reason_display == POOL_ZH


def test_rule_with_nobody_to_choose_from_is_a_pool_note(desk, team, rep):
    _rule(desk, team)
    with translation.override("en"):
        lead = assignment_services.lead_route(lead=lead_in_stage(Stage.MQL), exclude={rep.pk})
    decision = Assignment.objects.get(lead=lead)
    assert decision.reason.endswith(" “East rotation”: nobody to choose from.")
    with translation.override("zh-hans"):
        assert decision.reason_display == (
            "没有分配规则找到合适的销售，线索已进入公海。 “East rotation”：没有可选的人。"
        )


def test_manual_reason_is_shown_as_typed_in_either_language(client, desk, rep):
    lead = lead_in_stage(Stage.MQL)
    lifecycle.lead_assign(lead=lead, actor=desk, owner=rep, reason="  speaks 粤语, knows them ")
    decision = Assignment.objects.get(lead=lead)
    assert decision.reason_code == "manual"
    assert decision.reason_params == {"user": "desk", "text": "speaks 粤语, knows them"}
    assert decision.reason == "Assigned by hand by desk. speaks 粤语, knows them"
    html = _in(client, "zh-hans", rep).get(reverse("leads:detail", args=[lead.pk]))
    assert "由 desk 手动分配。 speaks 粤语, knows them" in html.content.decode()


def test_manual_assignment_by_the_system_names_the_system():
    with translation.override("zh-hans"):
        assert reason_text("manual", {"user": "", "text": ""}) == "由 系统 手动分配。"
    with translation.override("en"):
        assert str(reasons.manual(user="")) == "Assigned by hand by the system."


def test_claim_and_company_stickiness_render_in_chinese(desk, rep, other_rep):
    company = CompanyFactory(name="华为")
    lead_in_stage(Stage.MQL, owner=rep, company=company)
    with translation.override("en"):
        sticky = assignment_services.lead_route(lead=lead_in_stage(Stage.MQL, company=company))
    decision = Assignment.objects.get(lead=sticky)
    assert decision.reason_code == "company_stickiness"
    with translation.override("zh-hans"):
        assert decision.reason_display == "公司归属：rep 已负责 华为 的一条未结线索。"

    pooled = lead_in_stage(Stage.MQL, in_pool=True)
    lifecycle.lead_claim(lead=pooled, actor=other_rep)
    claim = Assignment.objects.get(lead=pooled, strategy="claim")
    assert claim.reason == "Claimed from the pool by rep2."
    with translation.override("zh-hans"):
        assert claim.reason_display == "由 rep2 从公海认领。"


def test_new_for_me_page_shows_the_reason_in_chinese(client, routed, other_rep):
    response = _in(client, "zh-hans", other_rep).get(reverse("assignment:new_for_me"))
    html = response.content.decode()
    assert PICK_ZH in html and PICK_EN not in html


def test_api_assignments_and_events_answer_in_the_request_language(api, routed, other_rep):
    client = api(other_rep)
    rows = client.get(
        f"/api/v1/leads/{routed.pk}/assignments/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).json()
    assert rows[0]["reason"] == PICK_ZH
    assert rows[0]["reason_code"] == "rule_pick"
    assert rows[0]["reason_params"]["skipped"][0]["code"] == "daily_capacity"
    english = client.get(f"/api/v1/leads/{routed.pk}/assignments/", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()[0]["reason"] == PICK_EN
    events = client.get(f"/api/v1/leads/{routed.pk}/events/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assigned = [e for e in events if e["kind"] == EventKind.ASSIGNED]
    assert assigned[0]["reason"] == PICK_ZH
    assert assigned[0]["data"]["reason_code"] == "rule_pick"


def test_rows_without_a_code_show_their_stored_text(client, desk, rep):
    lead = lead_in_stage(Stage.MQL)
    lifecycle.lead_assign(lead=lead, actor=desk, owner=rep)
    # as written before codes existed: text only
    Assignment.objects.filter(lead=lead).update(
        reason_code="", reason_params={}, reason="Old English reason."
    )
    decision = Assignment.objects.get(lead=lead)
    with translation.override("zh-hans"):
        assert decision.reason_display == "Old English reason."
    html = _in(client, "zh-hans", rep).get(reverse("leads:detail", args=[lead.pk]))
    assert '<p class="decision-reason">Old English reason.</p>' in html.content.decode()


def test_other_events_reason_codes_are_not_decision_reasons(desk, rep):
    lead = lead_in_stage(Stage.MQL, owner=rep)
    lifecycle.lead_reject(lead=lead, actor=rep, reason="Wrong number", reason_code="other")
    event = LeadEvent.objects.get(lead=lead, kind=EventKind.REJECTED)
    assert event.data["reason_code"] == "other"
    assert event.reason_display == "Wrong number"


@pytest.mark.parametrize(
    ("code", "params"),
    [
        ("", {}),
        ("no_such_code", {"x": 1}),
        ("rule_pick", {"rule": "R"}),  # parameters missing
        ("daily_capacity", {"n": "many"}),  # wrong type
        ("pooled", {"notes": "not a list of notes"}),
    ],
)
def test_unknown_codes_and_broken_params_fall_back_to_the_stored_text(code, params):
    assert reason_text(code, params, fallback="stored") == "stored"


def test_every_code_has_a_chinese_wording():
    samples = {
        "manual": {"user": "u", "text": ""},
        "claimed": {"user": "u"},
        "company_stickiness": {"user": "u", "company": "c"},
        "rule_pick": {"rule": "r", "strategy": "weighted", "user": "u", "open": 1, "today": 2},
        "pooled": {"notes": []},
        "inactive": {},
        "unavailable": {},
        "away": {"date": "2099-01-01"},
        "daily_capacity": {"n": 3},
        "open_lead_cap": {"n": 3},
        "rule_no_candidates": {"rule": "r"},
        "rule_none_eligible": {"rule": "r", "skipped": []},
    }
    assert set(samples) == reasons.REASON_CODES
    for code, params in samples.items():
        with translation.override("en"):
            english = reason_text(code, params)
        with translation.override("zh-hans"):
            chinese = reason_text(code, params)
        assert english and chinese and english != chinese, code
    reason = DecisionReason("daily_capacity", {"n": 5})
    with translation.override("zh-hans"):
        assert str(reason) == "已达每日容量 5"
    assert reason.stored_text() == "daily capacity 5 reached"


def test_reasons_name_people_by_their_display_name(desk, team, rep, other_rep):
    """Chinese names read family name first, no space; a user without a name keeps the
    username."""
    rep.first_name, rep.last_name = "伟", "张"
    rep.save(update_fields=["first_name", "last_name"])
    other_rep.first_name, other_rep.last_name = "Cindy", "Lin"
    other_rep.save(update_fields=["first_name", "last_name"])
    _rule(desk, team)
    rep.memberships.update(daily_capacity=0)
    with translation.override("en"):
        lead = assignment_services.lead_route(lead=lead_in_stage(Stage.MQL))
    decision = Assignment.objects.get(lead=lead)
    assert decision.reason_params["user"] == "Cindy Lin"
    assert decision.reason_params["skipped"][0]["user"] == "张伟"
    with translation.override("zh-hans"):
        assert "选择了 Cindy Lin" in decision.reason_display
        assert "已跳过：张伟（已达每日容量 0）" in decision.reason_display
