"""Grade calibration, bounce reasons and scorecards."""

from __future__ import annotations

import pytest
from django.utils import timezone

from leads import lifecycle
from leads.choices import Stage
from tests.factories import CampaignCostFactory, CampaignFactory, UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db


def get(api, user, path, **params):
    today = timezone.localdate().isoformat()
    response = api(user).get(f"/api/v1/reports/{path}/", {"from": today, "to": today, **params})
    assert response.status_code == 200, response.json()
    return response.json()


def test_calibration_warns_when_a_grade_converts_worse_than_the_one_below(api, manager, rep):
    for _ in range(2):
        lead = lead_in_stage(Stage.MQL, owner=rep, grade="A")
        lifecycle.lead_reject(lead=lead, actor=rep, reason="no budget", reason_code="no_need")
    lead_in_stage(Stage.WON, owner=rep, grade="B")
    body = get(api, manager, "grade-calibration")
    rows = {row["grade"]: row for row in body["rows"]}
    assert (rows["A"]["leads"], rows["A"]["accepted"], rows["A"]["rejected"]) == (2, 0, 2)
    assert rows["A"]["acceptance_rate"] == 0.0 and rows["B"]["acceptance_rate"] == 1.0
    assert rows["B"]["win_rate"] == 1.0 and rows["B"]["revenue"] == "4800.00"
    assert rows["B"]["median_days_to_sql"] == 0.0
    assert {
        "grade": "A",
        "below": "B",
        "metric": "acceptance_rate",
        "value": 0.0,
        "below_value": 1.0,
    } in body["warnings"]
    reasons = body["reasons"]["rejected"]
    assert reasons[0]["reason"] == "no_need" and reasons[0]["count"] == 2


def test_scorecards_manager_sees_all_rep_sees_own(api, manager, rep, other_rep, marketer, desk):
    campaign = CampaignFactory(owner=marketer)
    CampaignCostFactory(campaign=campaign, date=timezone.localdate())
    won = lead_in_stage(Stage.WON, owner=rep, source_campaign=campaign, desk=desk)
    all_cards = get(api, manager, "scorecards")["cards"]
    cards = {(c["role"], c["user"]): c for c in all_cards}
    rep_card = cards[("sales_rep", rep.pk)]["metrics"]
    assert rep_card["won"] == 1 and rep_card["revenue"] == "4800.00"
    mkt = cards[("marketer", marketer.pk)]["metrics"]
    assert (mkt["leads"], mkt["mqls"], mkt["cost"], mkt["sql_acceptance"]) == (1, 1, "1000.00", 1.0)
    desk_card = cards[("lead_desk", desk.pk)]["metrics"]
    assert desk_card["qualified"] == 1 and desk_card["acceptance"] == 1.0
    own = get(api, rep, "scorecards")["cards"]
    assert [(c["role"], c["user"]) for c in own] == [("sales_rep", rep.pk)]
    assert won.pk and other_rep.pk


def test_scorecard_bad_role_is_400(api, manager):
    response = api(manager).get("/api/v1/reports/scorecards/", {"role": "ceo"})
    assert response.status_code == 400


def test_nobody_without_role_reads_scorecards(api):
    assert api(UserFactory()).get("/api/v1/reports/scorecards/").status_code == 403


def test_rejected_counts_each_never_accepted_lead_once_in_both_tables(
    api, manager, desk, rep, other_rep
):
    """The calibration's "rejected" per grade and its reasons table count the same leads
    (``reports.definitions.REJECTED``): a lead sent back twice counts once, under its
    latest reason; a lead sent back and accepted later by someone else is accepted."""
    twice = lead_in_stage(Stage.MQL, owner=rep, grade="A")
    lifecycle.lead_reject(lead=twice, actor=rep, reason="not now", reason_code="no_need")
    lifecycle.lead_assign(lead=twice, actor=desk, owner=other_rep)
    lifecycle.lead_reject(
        lead=twice, actor=other_rep, reason="wrong number", reason_code="not_reachable"
    )
    later_accepted = lead_in_stage(Stage.MQL, owner=rep, grade="A")
    lifecycle.lead_reject(lead=later_accepted, actor=rep, reason="not mine", reason_code="other")
    lifecycle.lead_assign(lead=later_accepted, actor=desk, owner=other_rep)
    lifecycle.lead_accept(lead=later_accepted, actor=other_rep)
    body = get(api, manager, "grade-calibration")
    rows = {row["grade"]: row for row in body["rows"]}
    assert (rows["A"]["accepted"], rows["A"]["rejected"]) == (1, 1)
    assert [(r["reason"], r["count"]) for r in body["reasons"]["rejected"]] == [
        ("not_reachable", 1)
    ]
    by_campaign = get(api, manager, "grade-calibration", by="campaign")["reasons"]["rejected"]
    assert sum(r["count"] for r in by_campaign) == 1
