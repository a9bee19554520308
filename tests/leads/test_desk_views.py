"""The lead desk's workspace: new-lead queue, consult, bulk actions, rejected queue, and the
desk's additions to the lead page ("why this owner", grade by hand).

Each test checks what the page shows *and* what the database holds afterwards.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from assignment import services as assignment_services
from assignment.models import Assignment
from leads import lifecycle
from leads.actions import run_bulk
from leads.choices import EventKind, Stage
from leads.models import Lead, LeadEvent
from leads.views.desk import age_badge
from scoring.services import score_of
from tests.factories import CampaignFactory, LeadFactory, UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def _get(client, user, name, *args, **params):
    client.force_login(user)
    return client.get(reverse(name, args=args), params)


def _queue_ids(response) -> list[int]:
    return [row["lead"].pk for row in response.context["rows"]]


# --------------------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["leads:desk", "leads:desk_rejected"])
def test_desk_pages_render_for_the_desk_only(client, desk, rep, marketer, manager, page):
    response = _get(client, desk, page)
    assert response.status_code == 200
    assert 'data-nav="desk" class="active"' in response.content.decode()
    for user in (rep, marketer, manager):
        assert _get(client, user, page).status_code == 403


def test_desk_actions_are_403_for_others_and_change_nothing(client, rep):
    lead = LeadFactory()
    client.force_login(rep)
    response = client.post(reverse("leads:desk_bulk"), {"action": "qualify", "lead": [lead.pk]})
    assert response.status_code == 403
    response = client.post(
        reverse("leads:desk_consult", args=[lead.pk]), {"need": "x", "decision": "qualify"}
    )
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.stage == Stage.NEW and lead.need == ""


# --------------------------------------------------------------------------------------
# The queue of new leads
# --------------------------------------------------------------------------------------


def test_queue_orders_by_score_then_oldest_first_with_age_badges(client, desk):
    now = timezone.now()
    old_hot = LeadFactory(score=80, created_at=now - dt.timedelta(days=2))
    fresh_hot = LeadFactory(score=80, created_at=now - dt.timedelta(minutes=20))
    warm = LeadFactory(score=40, created_at=now - dt.timedelta(hours=3))
    lead_in_stage("mql", score=99)  # not new: not in the queue

    response = _get(client, desk, "leads:desk")
    assert _queue_ids(response) == [old_hot.pk, fresh_hot.pk, warm.pk]
    badges = {row["lead"].pk: row["age"].css for row in response.context["rows"]}
    assert badges == {old_hot.pk: "age-old", fresh_hot.pk: "age-fresh", warm.pk: "age-today"}
    html = response.content.decode()
    assert "badge age age-old" in html
    assert "2 d" in html and "20 min" in html and "3 h" in html


def test_age_badge_boundaries():
    now = timezone.now()
    assert age_badge(now - dt.timedelta(minutes=59), now).css == "age-fresh"
    assert age_badge(now - dt.timedelta(minutes=60), now).css == "age-today"
    assert age_badge(now - dt.timedelta(hours=23, minutes=59), now).css == "age-today"
    assert age_badge(now - dt.timedelta(hours=24), now).css == "age-old"


def test_queue_shows_source_company_contact_grade_and_score(client, desk):
    campaign = CampaignFactory(name="Spring expo")
    lead = LeadFactory(
        name="Zhao Lei",
        phone="+8613912345678",
        email="zhao@acme.cn",
        source_campaign=campaign,
        score=63,
        grade="B",
    )
    html = _get(client, desk, "leads:desk").content.decode()
    assert "Zhao Lei" in html
    assert "+8613912345678" in html and "zhao@acme.cn" in html  # the desk sees contact
    assert "Spring expo" in html
    assert lead.company.name in html
    assert 'class="badge grade grade-b"' in html
    assert f'action="{reverse("leads:desk_consult", args=[lead.pk])}"' in html
    assert "csrfmiddlewaretoken" in html


def _make_queue(count: int) -> None:
    campaign = CampaignFactory()
    for index in range(count):
        LeadFactory(source_campaign=campaign, score=index % 100)


def test_queue_query_count_does_not_grow_with_leads(client, desk, assert_queries_flat):
    _make_queue(3)
    client.force_login(desk)
    assert_queries_flat(
        lambda: client.get(reverse("leads:desk")), grow=lambda: _make_queue(22), max_queries=15
    )
    assert Lead.objects.filter(stage=Stage.NEW).count() == 25


def test_queue_is_paginated(client, desk):
    _make_queue(30)
    response = _get(client, desk, "leads:desk")
    assert len(response.context["rows"]) == 25
    assert response.context["paginator"].count == 30
    assert len(_get(client, desk, "leads:desk", page=2).context["rows"]) == 5


# --------------------------------------------------------------------------------------
# Consult
# --------------------------------------------------------------------------------------


def _consult(client, user, lead, decision, **fields):
    data = {
        "product_interest": "CRM",
        "budget": "200000",
        "timeline": "1m",
        "decision_role": "decision_maker",
        "need": "Wants to replace spreadsheets",
        "decision": decision,
        **fields,
    }
    client.force_login(user)
    return client.post(reverse("leads:desk_consult", args=[lead.pk]), data)


def test_consult_and_qualify_writes_the_fields_and_a_qualified_event(client, desk):
    lead = LeadFactory(grade="D", score=5)
    response = _consult(client, desk, lead, "qualify", next=reverse("leads:desk"))
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:desk")

    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    assert lead.need == "Wants to replace spreadsheets"
    assert lead.budget == 200000
    assert (lead.timeline, lead.decision_role, lead.product_interest) == (
        "1m",
        "decision_maker",
        "CRM",
    )
    # Qualified with the rule grade the call's findings give (rescored before qualifying).
    assert lead.grade == score_of(lead).grade
    assert lead.grade_source == "rule"
    kinds = list(lead.events.values_list("kind", flat=True))
    assert EventKind.UPDATED in kinds
    assert kinds.count(EventKind.QUALIFIED) == 1
    assert any("qualified as MQL" in text for _level, text in _messages(response))


def test_consult_override_without_reason_shows_the_error_and_changes_nothing(client, desk):
    lead = LeadFactory(need="", score=5, grade="D")
    findings = {
        "product_interest": "",
        "budget": "",
        "timeline": "unknown",
        "decision_role": "unknown",
        "need": "",
    }
    rule_grade = score_of(lead).grade
    other = "A" if rule_grade != "A" else "B"
    response = _consult(client, desk, lead, "qualify", grade=other, grade_reason="", **findings)
    assert response.status_code == 200
    assert response.context["form"].errors["grade_reason"] == ["A reason is required."]

    # With new findings too it is all or nothing: the findings are not saved either.
    response = _consult(client, desk, lead, "qualify", grade="D", grade_reason="")
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.stage == Stage.NEW
    assert lead.need == "" and lead.budget is None
    assert not lead.events.exists()


def test_consult_override_with_reason_is_a_manual_grade(client, desk):
    lead = LeadFactory(score=5, grade="D")
    response = _consult(client, desk, lead, "qualify", grade="A", grade_reason="CEO on the call")
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.stage, lead.grade) == (Stage.MQL, "A")
    if lead.grade_source == "manual":
        assert lead.grade_reason == "CEO on the call"


def test_consult_and_disqualify_with_reason_code(client, desk):
    lead = LeadFactory()
    response = _consult(
        client, desk, lead, "disqualify", reason_code="competitor", disqualify_reason="Works at X"
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.stage == Stage.DISQUALIFIED
    assert lead.disqualify_reason == "competitor"
    assert lead.need == "Wants to replace spreadsheets"
    event = lead.events.get(kind=EventKind.DISQUALIFIED)
    assert event.reason == "Works at X"


def test_consult_disqualify_without_reason_is_refused_on_the_field(client, desk):
    lead = LeadFactory()
    response = _consult(client, desk, lead, "disqualify", reason_code="spam", disqualify_reason="")
    assert response.status_code == 200
    assert response.context["form"].errors["disqualify_reason"] == ["A reason is required."]
    lead.refresh_from_db()
    assert lead.stage == Stage.NEW and lead.need == ""


def test_consult_save_only_keeps_the_lead_new(client, desk):
    lead = LeadFactory()
    response = _consult(client, desk, lead, "save")
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.stage == Stage.NEW
    assert lead.product_interest == "CRM"


# --------------------------------------------------------------------------------------
# Bulk
# --------------------------------------------------------------------------------------


def test_bulk_qualify_reports_refusals_and_leaves_refused_leads_alone(client, desk):
    first, second = LeadFactory(grade="B"), LeadFactory(grade="C")
    already = lead_in_stage("mql")
    before = (already.mql_at, already.events.count(), already.updated_at)
    client.force_login(desk)
    response = client.post(
        reverse("leads:desk_bulk"),
        {"action": "qualify", "lead": [first.pk, already.pk, second.pk]},
    )
    assert response.status_code == 302
    [(level, text)] = _messages(response)
    assert level == "warning"
    assert text.startswith("2 qualified, 1 refused: ")
    assert f"(#{already.pk}): Cannot qualify a lead in stage “MQL”." in text

    for lead, grade in ((first, "B"), (second, "C")):
        lead.refresh_from_db()
        assert (lead.stage, lead.grade) == (Stage.MQL, grade)
    already.refresh_from_db()
    assert (already.mql_at, already.events.count(), already.updated_at) == before


def test_bulk_disqualify_needs_a_reason_and_applies_the_code(client, desk):
    leads = [LeadFactory(), LeadFactory()]
    ids = [lead.pk for lead in leads]
    client.force_login(desk)
    response = client.post(
        reverse("leads:desk_bulk"), {"action": "disqualify", "lead": ids, "reason": ""}
    )
    [(level, text)] = _messages(response)
    assert level == "error" and text.startswith("0 disqualified, 2 refused")
    assert Lead.objects.filter(pk__in=ids, stage=Stage.NEW).count() == 2

    response = client.post(
        reverse("leads:desk_bulk"),
        {"action": "disqualify", "lead": ids, "reason": "Spam wave", "reason_code": "spam"},
    )
    level, text = _messages(response)[-1]
    assert (level, text) == ("success", "2 disqualified, 0 refused.")
    assert list(Lead.objects.filter(pk__in=ids).values_list("disqualify_reason", flat=True)) == [
        "spam",
        "spam",
    ]


def test_bulk_without_selection_does_nothing(client, desk):
    LeadFactory()
    client.force_login(desk)
    response = client.post(reverse("leads:desk_bulk"), {"action": "qualify"})
    assert _messages(response) == [("warning", "Select at least one lead first.")]
    assert not Lead.objects.exclude(stage=Stage.NEW).exists()


def test_run_bulk_runs_each_lead_in_its_own_transaction(desk):
    good = LeadFactory(grade="A")
    ungraded = LeadFactory(grade="", grade_source="")
    result = run_bulk(name="qualify", lead_ids=[good.pk, ungraded.pk, good.pk], actor=desk)
    assert result.done == [good.pk]
    assert [pk for pk, _message in result.refused] == [ungraded.pk]
    assert "no rule grade" in result.refused[0][1]
    good.refresh_from_db()
    assert good.stage == Stage.MQL
    with pytest.raises(ValueError):
        run_bulk(name="explode", lead_ids=[good.pk], actor=desk)


# --------------------------------------------------------------------------------------
# Rejected by sales
# --------------------------------------------------------------------------------------


def _rejected(rep, **kwargs) -> Lead:
    lead = lead_in_stage("mql", owner=rep, **kwargs)
    return lifecycle.lead_reject(
        lead=lead, actor=rep, reason="Only a student project", reason_code="no_need"
    )


def test_rejected_queue_lists_rejected_leads_with_the_latest_reason(client, desk, rep):
    rejected = _rejected(rep)
    lead_in_stage("mql")  # unowned but never rejected
    lead_in_stage("mql", in_pool=True)  # pooled
    lead_in_stage("mql", owner=rep)  # owned

    response = _get(client, desk, "leads:desk_rejected")
    assert _queue_ids(response) == [rejected.pk]
    row = response.context["rows"][0]
    assert row["rejection"].label == "No need"
    assert row["rejection"].actor == "rep"
    html = response.content.decode()
    assert "No need" in html and "Only a student project" in html
    assert response.context["counts"]["rejected"] == 1


def test_rejected_lead_is_regraded_reassigned_or_disqualified(client, desk, rep, other_rep):
    lead = _rejected(rep)
    client.force_login(desk)
    client.post(
        reverse("leads:desk_set_grade", args=[lead.pk]),
        {"grade": "C", "reason": "Small project", "next": reverse("leads:desk_rejected")},
    )
    lead.refresh_from_db()
    assert (lead.grade, lead.grade_source, lead.grade_reason) == ("C", "manual", "Small project")

    response = client.post(
        reverse("leads:desk_assign", args=[lead.pk]), {"owner": other_rep.pk, "reason": "Retry"}
    )
    assert response["Location"] == reverse("leads:desk_rejected")
    lead.refresh_from_db()
    assert lead.owner == other_rep
    assert Assignment.objects.filter(lead=lead, owner=other_rep, strategy="manual").exists()

    second = _rejected(rep)
    client.post(
        reverse("leads:desk_disqualify", args=[second.pk]),
        {"reason_code": "no_need", "reason": "Confirmed no budget"},
    )
    second.refresh_from_db()
    assert (second.stage, second.disqualify_reason) == (Stage.DISQUALIFIED, "no_need")


def test_reassign_without_owner_lets_the_router_decide(client, desk, rep):
    lead = _rejected(rep)
    client.force_login(desk)
    response = client.post(reverse("leads:desk_assign", args=[lead.pk]), {"owner": ""})
    lead.refresh_from_db()
    assert lead.in_pool  # no rules: the router sends it to the pool
    assert any("went to the pool" in text for _level, text in _messages(response))


def test_rejected_queue_query_count_does_not_grow(client, desk, rep, assert_queries_flat):
    for _ in range(2):
        _rejected(rep)
    client.force_login(desk)
    assert_queries_flat(
        lambda: client.get(reverse("leads:desk_rejected")),
        grow=lambda: [_rejected(rep) for _ in range(8)],
        max_queries=16,
    )


# --------------------------------------------------------------------------------------
# Lead page: why this owner, grade by hand
# --------------------------------------------------------------------------------------


def test_lead_page_shows_why_this_owner_from_the_router(client, desk, rep, team):
    assignment_services.rule_save(
        actor=desk, name="East rotation", conditions=[], strategy="round_robin", team=team
    )
    lead = assignment_services.lead_route(lead=lead_in_stage("mql"))
    decision = Assignment.objects.get(lead=lead)
    assert decision.owner == rep

    html = _get(client, rep, "leads:detail", lead.pk).content.decode()
    assert "Why this owner" in html
    assert decision.reason in html
    assert "East rotation" in html
    assert "Round robin" in html


def test_desk_grades_by_hand_on_the_lead_page_and_resets(client, desk):
    lead = LeadFactory(grade="C")
    url = reverse("leads:detail", args=[lead.pk])
    response = _get(client, desk, "leads:detail", lead.pk)
    assert response.context["grade_form"] is not None
    assert reverse("leads:desk_set_grade", args=[lead.pk]) in response.content.decode()
    assert not response.context["can_reset_grade"]

    response = client.post(
        reverse("leads:desk_set_grade", args=[lead.pk]),
        {"grade": "A", "reason": "Board approved the budget", "next": url},
    )
    assert response["Location"] == url
    lead.refresh_from_db()
    assert (lead.grade, lead.grade_source) == ("A", "manual")
    assert LeadEvent.objects.filter(lead=lead, kind=EventKind.GRADED, actor=desk).exists()

    response = _get(client, desk, "leads:detail", lead.pk)
    assert response.context["can_reset_grade"]
    client.post(reverse("leads:desk_reset_grade", args=[lead.pk]), {"next": url})
    lead.refresh_from_db()
    assert lead.grade_source == "rule"
    assert lead.grade == score_of(lead).grade


def test_grade_by_hand_without_reason_is_refused(client, desk):
    lead = LeadFactory(grade="C")
    client.force_login(desk)
    response = client.post(reverse("leads:desk_set_grade", args=[lead.pk]), {"grade": "A"})
    assert _messages(response) == [("error", "A reason is required.")]
    lead.refresh_from_db()
    assert (lead.grade, lead.grade_source) == ("C", "rule")


def test_grade_forms_only_for_the_desk_on_open_leads(client, desk, rep):
    owned = lead_in_stage("mql", owner=rep)
    response = _get(client, rep, "leads:detail", owned.pk)
    assert response.context["grade_form"] is None
    assert reverse("leads:desk_set_grade", args=[owned.pk]) not in response.content.decode()
    closed = lead_in_stage("disqualified")
    assert _get(client, desk, "leads:detail", closed.pk).context["grade_form"] is None
    client.force_login(rep)
    response = client.post(
        reverse("leads:desk_set_grade", args=[owned.pk]), {"grade": "A", "reason": "x"}
    )
    assert response.status_code == 403


def test_lead_page_query_count_stays_bounded_with_assignments(
    client, desk, rep, other_rep, assert_queries_flat
):
    lead = lead_in_stage("mql", owner=rep)
    client.force_login(desk)

    def reassign_four_times():
        for owner in (other_rep, rep, other_rep, rep):
            lifecycle.lead_assign(lead=lead, actor=desk, owner=owner)

    response = assert_queries_flat(
        lambda: client.get(reverse("leads:detail", args=[lead.pk])), grow=reassign_four_times
    )
    assert len(response.context["assignments"]) == 5


def test_superuser_uses_the_desk(client):
    root = UserFactory(is_superuser=True, is_staff=True)
    LeadFactory()
    assert _get(client, root, "leads:desk").status_code == 200
