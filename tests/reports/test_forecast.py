"""The pipeline forecast on a seeded world: figures computed by hand, the 180-day stage win
rates, scopes on the API and the page, flat query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings

from leads.models import Lead
from reports.forecast.engine import StageOutcomes
from reports.forecast.selectors import (
    ForecastScope,
    forecast_scope,
    pipeline_forecast,
    stage_outcomes,
)
from reports.scorecards import rep_metrics
from targets.models import Target
from tests.factories import LeadFactory, TeamFactory, TeamMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 15, 10, 0, tzinfo=SH)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=SH)


def deal(stage, *, owner=None, sql=None, opp=None, closed=None, amount=None, expected=None, **kw):
    """A lead written directly in ``stage`` with the timestamps given (``closed``: the
    won/lost/disqualified time)."""
    fields = {
        "stage": stage,
        "owner": owner,
        "created_at": at("2026-01-02"),
        "mql_at": at("2026-01-03") if stage not in ("new", "disqualified") else None,
        "sql_at": at(sql) if sql else None,
        "opportunity_at": at(opp) if opp else None,
        "expected_amount": Decimal(expected) if expected is not None else None,
        **kw,
    }
    if stage == "won":
        fields.update(
            won_at=closed, won_amount=Decimal(amount), signed_at=closed.astimezone(SH).date()
        )
    elif stage == "lost":
        fields.update(lost_at=closed, lost_reason="price")
    elif stage == "disqualified":
        fields.update(disqualified_at=closed, disqualify_reason="no_need")
    return LeadFactory(**fields)


@pytest.fixture
def world():
    """Team A (manager ``smgr_a``): r1, r2; team B (``smgr_b``): r3.

    History closed in the last 180 days (since 2026-06-18): reached SQL — won 3 (W1, H1,
    H2), lost 4 (L1, L2, L3, L5) → 3/7 = 0.4286; reached opportunity — won 3, lost 1 (L3)
    → 0.75. Closed before the window (W0, L4) and a disqualified lead that never reached
    SQL (D1) count nowhere.
    """
    team_a, team_b = TeamFactory(name="A"), TeamFactory(name="B")
    r1 = TeamMembershipFactory(team=team_a, user=UserFactory(username="r1", roles=["sales_rep"]))
    r2 = TeamMembershipFactory(team=team_a, user=UserFactory(username="r2", roles=["sales_rep"]))
    r3 = TeamMembershipFactory(team=team_b, user=UserFactory(username="r3", roles=["sales_rep"]))
    r1, r2, r3 = r1.user, r2.user, r3.user
    won = {"sql": "2026-01-05", "opp": "2026-01-06"}
    # Won in the period by r1 (and a close of the window).
    deal("won", owner=r1, closed=at("2026-12-03"), amount="10000", expected="9000", **won)
    # History of r3: won outside the period, lost, too old.
    deal("won", owner=r3, closed=at("2026-10-10"), amount="7000", **won)
    # 2026-11-30 23:00 in Shanghai is the day before the period.
    deal("won", owner=r3, closed=at("2026-11-30", 23), amount="3000", **won)
    deal("lost", owner=r3, sql="2026-01-05", closed=at("2026-09-01"))
    deal("lost", owner=r3, sql="2026-01-05", closed=at("2026-11-01"))
    deal("lost", owner=r3, closed=at("2026-11-05"), **won)
    deal("lost", owner=r3, sql="2026-01-05", closed=at("2026-12-01"))
    deal("lost", owner=r3, closed=at("2026-01-05"), **won)
    deal("won", owner=r3, closed=at("2026-03-01"), amount="9999", **won)
    deal("disqualified", closed=at("2026-11-10"))
    # Open deals now.
    deal("opportunity", owner=r1, expected="20000", **won)
    deal("sql", owner=r1, sql="2026-12-01", expected="5000")
    deal("sql", owner=r1, sql="2026-12-02")  # no expected amount: not a deal
    deal("opportunity", owner=r2, expected="30000", **won)
    deal("opportunity", in_pool=True, expected="8000", **won)  # pooled: the company's only
    deal("mql", owner=r2, expected="777")  # not a sales stage
    return {"A": team_a, "B": team_b, "r1": r1, "r2": r2, "r3": r3}


def money(value: str) -> Decimal:
    return Decimal(value)


def test_stage_outcomes_count_closes_of_the_last_180_days(world):
    assert stage_outcomes() == {
        "sql": StageOutcomes(won=3, lost=4, disqualified=0),
        "opportunity": StageOutcomes(won=3, lost=1, disqualified=0),
    }


def test_stage_outcomes_count_a_disqualified_lead_that_reached_the_stage(world):
    deal("disqualified", sql="2026-01-05", closed=at("2026-12-10"))
    assert stage_outcomes()["sql"] == StageOutcomes(won=3, lost=4, disqualified=1)


def test_forecast_per_rep_team_and_company_by_hand(world, manager):
    report = pipeline_forecast(period="2026-12", scope=forecast_scope(manager))
    assert [(r["stage"], r["win_rate"]) for r in report["win_rates"]] == [
        ("sql", 0.4286),
        ("opportunity", 0.75),
    ]
    rows = {row["username"]: row for row in report["rows"]}
    # Every active salesperson has a row, team managers included.
    assert set(rows) == {"r1", "r2", "r3", world["A"].manager.username, world["B"].manager.username}
    r1 = rows["r1"]
    assert (r1["won"], r1["open_count"], r1["open_amount"]) == (
        money("10000.00"),
        2,
        money("25000.00"),
    )
    # 10000 + 20000 × 0.75 + 5000 × 0.4286; committed: the opportunity only (0.75 ≥ 0.5)
    assert (r1["best_case"], r1["weighted"], r1["committed"]) == (
        money("35000.00"),
        money("27143.00"),
        money("30000.00"),
    )
    assert (r1["target"], r1["gap"]) == (None, None)
    r2 = rows["r2"]
    assert (r2["best_case"], r2["weighted"], r2["committed"]) == (
        money("30000.00"),
        money("22500.00"),
        money("30000.00"),
    )
    # r3's deals were all signed before the period (one at 23:00 the day before).
    assert (rows["r3"]["won"], rows["r3"]["best_case"]) == (money("0.00"), money("0.00"))
    teams = {team["name"]: team for team in report["teams"]}
    assert (teams["A"]["won"], teams["A"]["weighted"], teams["A"]["committed"]) == (
        money("10000.00"),
        money("49643.00"),
        money("60000.00"),
    )
    assert sorted(teams["A"]["members"]) == sorted([world["r1"].pk, world["r2"].pk])
    assert teams["B"]["best_case"] == money("0.00")
    company = report["company"]
    # + the pooled opportunity: 8000 × 0.75
    assert (company["open_count"], company["best_case"], company["weighted"]) == (
        4,
        money("73000.00"),
        money("55643.00"),
    )
    assert company["committed"] == money("68000.00")


def test_revenue_targets_of_the_period_give_target_and_gap(world, manager):
    """The targets app's revenue targets (rep, team, company) reach the forecast; another
    period's, another metric's and a channel's do not."""
    Target.objects.create(period="2026-12", metric="revenue", user=world["r1"], value=30000)
    Target.objects.create(period="2026-12", metric="revenue", team=world["A"], value=40000)
    Target.objects.create(period="2026-12", metric="revenue", value=100000)
    Target.objects.create(period="2026-11", metric="revenue", user=world["r2"], value=1)
    Target.objects.create(period="2026-12", metric="won", user=world["r2"], value=2)
    report = pipeline_forecast(period="2026-12", scope=forecast_scope(manager))
    rows = {row["username"]: row for row in report["rows"]}
    assert (rows["r1"]["target"], rows["r1"]["gap"]) == (money("30000"), money("2857.00"))
    assert (rows["r2"]["target"], rows["r2"]["gap"]) == (None, None)
    teams = {team["name"]: team for team in report["teams"]}
    assert (teams["A"]["target"], teams["A"]["gap"]) == (money("40000"), money("-9643.00"))
    assert report["company"]["gap"] == money("44357.00")


def test_quarter_counts_revenue_signed_in_the_whole_quarter(world, manager):
    report = pipeline_forecast(period="2026-Q4", scope=forecast_scope(manager))
    rows = {row["username"]: row for row in report["rows"]}
    assert rows["r3"]["won"] == money("10000.00")  # 7000 (October) + 3000 (30 November)
    assert (report["from"], report["to"]) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))


def test_scopes_rep_sales_manager_and_team(world):
    r1, smgr_a = world["r1"], world["A"].manager
    assert forecast_scope(r1) == ForecastScope(user_ids=frozenset({r1.pk}))
    scope = forecast_scope(smgr_a)
    assert scope.user_ids == {smgr_a.pk, r1.pk, world["r2"].pk}
    assert scope.teams == (world["A"],) and not scope.company
    report = pipeline_forecast(period="2026-12", scope=scope)
    assert {row["username"] for row in report["rows"]} == {"r1", "r2", smgr_a.username}
    assert report["company"] is None


# --------------------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------------------


def test_api_answers_rows_totals_and_definitions(world, manager, api):
    response = api(manager).get("/api/v1/reports/forecast/", {"period": "2026-12"})
    assert response.status_code == 200
    body = response.json()
    rows = {row["username"]: row for row in body["rows"]}
    assert rows["r1"]["weighted"] == "27143.00"
    assert rows["r1"]["target"] is None and rows["r1"]["gap"] is None
    assert body["company"]["best_case"] == "73000.00"
    assert {t["name"] for t in body["teams"]} == {"A", "B"}
    assert set(body["definitions"]) >= {"signed_revenue", "stage_win_rate", "forecast"}


def test_api_defaults_to_this_month(world, manager, api):
    body = api(manager).get("/api/v1/reports/forecast/").json()
    assert (body["period"], body["from"]) == ("2026-12", "2026-12-01")


def test_api_rep_reads_only_their_own_row(world, api):
    r1 = world["r1"]
    body = api(r1).get("/api/v1/reports/forecast/").json()
    assert [row["username"] for row in body["rows"]] == ["r1"]
    assert body["teams"] == [] and body["company"] is None
    refused = api(r1).get("/api/v1/reports/forecast/", {"user": world["r2"].pk})
    assert refused.status_code == 403
    assert "your own forecast" in refused.json()["detail"]


def test_api_sales_manager_reads_their_team_not_another(world, api):
    smgr_a = world["A"].manager
    body = api(smgr_a).get("/api/v1/reports/forecast/", {"team": world["A"].pk}).json()
    assert {row["username"] for row in body["rows"]} == {"r1", "r2"}
    assert [t["weighted"] for t in body["teams"]] == ["49643.00"]
    one = api(smgr_a).get("/api/v1/reports/forecast/", {"user": world["r2"].pk}).json()
    assert [row["username"] for row in one["rows"]] == ["r2"]
    assert api(smgr_a).get("/api/v1/reports/forecast/", {"team": world["B"].pk}).status_code == 403
    assert api(smgr_a).get("/api/v1/reports/forecast/", {"user": world["r3"].pk}).status_code == 403


def test_api_refuses_marketing_and_the_desk(world, marketer, desk, api):
    for user in (marketer, desk):
        assert api(user).get("/api/v1/reports/forecast/").status_code == 403


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"period": "2026-13"}, "period"),
        ({"period": "2026-Q5"}, "period"),
        ({"period": "december"}, "period"),
        ({"team": 999999}, "team"),
        ({"user": "x"}, "user"),
        ({"user": 999999}, "user"),
    ],
)
def test_api_bad_input_names_the_field(world, manager, api, query, field):
    response = api(manager).get("/api/v1/reports/forecast/", query)
    assert response.status_code == 400
    assert field in response.json()


def test_api_refuses_team_and_user_together(world, manager, api):
    response = api(manager).get(
        "/api/v1/reports/forecast/", {"team": world["A"].pk, "user": world["r1"].pk}
    )
    assert response.status_code == 400
    assert "user" in response.json()


def test_api_query_count_is_flat(world, manager, api, assert_queries_flat):
    client = api(manager)

    def grow():
        for index in range(5):
            team = TeamFactory(name=f"More {index}")
            rep = TeamMembershipFactory(team=team).user
            deal("opportunity", owner=rep, sql="2026-01-05", opp="2026-01-06", expected="100")
            deal("won", owner=rep, sql="2026-01-05", closed=at("2026-12-04"), amount="50")

    client.get("/api/v1/reports/forecast/")  # the user's roles, cached on the user object
    assert_queries_flat(
        lambda: client.get("/api/v1/reports/forecast/", {"period": "2026-12"}),
        grow=grow,
        max_queries=10,
    )


# --------------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------------


def test_page_shows_figures_definitions_and_drill_down(world, manager, client):
    client.force_login(manager)
    page = client.get("/reports/forecast/", {"period": "2026-12"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-row="company"' in html and f'data-row="team-{world["A"].pk}"' in html
    assert 'data-definition="stage_win_rate"' in html and 'data-definition="forecast"' in html
    assert f"?period=2026-12&amp;user={world['r1'].pk}" in html
    assert f"/leads/?owner={world['r1'].pk}&amp;stage=sql&amp;stage=opportunity" in html
    assert 'data-table="forecast-deals"' not in html  # the whole company: no deal list
    drill = client.get("/reports/forecast/", {"period": "2026-12", "user": world["r1"].pk})
    deals = drill.content.decode()
    opened = Lead.objects.filter(owner=world["r1"], stage__in=["sql", "opportunity"])
    shown = [lead for lead in opened if f'data-lead="{lead.pk}"' in deals]
    assert len(shown) == 2  # the two with an expected amount, not the SQL without one


def test_page_scopes(world, client, marketer):
    r1, smgr_a = world["r1"], world["A"].manager
    client.force_login(r1)
    html = client.get("/reports/forecast/").content.decode()
    assert f'data-row="user-{r1.pk}"' in html
    assert f'data-row="user-{world["r2"].pk}"' not in html and 'data-row="company"' not in html
    assert client.get("/reports/forecast/", {"user": world["r2"].pk}).status_code == 403
    client.force_login(smgr_a)
    html = client.get("/reports/forecast/").content.decode()
    assert f'data-row="user-{world["r2"].pk}"' in html
    assert f'data-row="user-{world["r3"].pk}"' not in html
    assert client.get("/reports/forecast/", {"team": world["B"].pk}).status_code == 400
    client.force_login(marketer)
    assert client.get("/reports/forecast/").status_code == 403


def test_page_bad_period_shows_the_message(world, manager, client):
    client.force_login(manager)
    page = client.get("/reports/forecast/", {"period": "2026-13"})
    assert page.status_code == 400
    assert "2026-Q4" in page.content.decode()


def test_page_query_count_is_flat(world, manager, client, assert_queries_flat):
    client.force_login(world["A"].manager)

    def grow():
        for _index in range(6):
            rep = TeamMembershipFactory(team=world["A"]).user
            deal("opportunity", owner=rep, sql="2026-01-05", opp="2026-01-06", expected="100")

    assert_queries_flat(
        lambda: client.get("/reports/forecast/", {"period": "2026-12", "team": world["A"].pk}),
        grow=grow,
    )


def test_page_and_api_speak_chinese(world, manager, client, api):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    client.force_login(manager)
    html = client.get("/reports/forecast/", {"period": "2026-12"}).content.decode()
    assert "销售管道业绩预测" in html and "阶段赢单率（近 180 天）" in html
    body = api(manager).get("/api/v1/reports/forecast/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert body["definitions"]["forecast"]["label"] == "最佳情况、加权预测、承诺预测"


def test_won_so_far_is_the_scorecards_revenue_signed_in_the_period(world, manager):
    """One definition of "signed in the period": the forecast's won is the sales
    scorecard's revenue for the same days."""
    report = pipeline_forecast(period="2026-Q4", scope=forecast_scope(manager))
    ids = [row["user"] for row in report["rows"]]
    cards = rep_metrics(dt.date(2026, 10, 1), dt.date(2026, 12, 31), ids)
    assert {row["user"]: row["won"] for row in report["rows"]} == {
        uid: cards[uid]["revenue"] for uid in ids
    }


# --------------------------------------------------------------------------------------
# Expected close dates
# --------------------------------------------------------------------------------------


def test_open_deals_count_in_the_period_of_their_expected_close(world, manager, client):
    """A dated deal counts in the period its close date falls in; undated ones only in
    the current period, shown apart as "no close date"."""
    r2 = world["r2"]
    opp = {"sql": "2026-01-05", "opp": "2026-01-06"}
    deal("opportunity", owner=r2, expected="1000", expected_close_date=dt.date(2026, 12, 31), **opp)
    deal("opportunity", owner=r2, expected="2000", expected_close_date=dt.date(2027, 1, 1), **opp)
    deal("sql", owner=r2, sql="2026-12-01", expected="400", expected_close_date=dt.date(2027, 2, 9))
    deal("opportunity", owner=r2, expected="4000", expected_close_date=dt.date(2026, 11, 30), **opp)
    everyone = forecast_scope(manager)

    def row(period):
        report = pipeline_forecast(period=period, scope=everyone)
        return report, next(r for r in report["rows"] if r["user"] == r2.pk)

    report, december = row("2026-12")
    assert report["current"] is True
    # The world's undated 30000 plus the 1000 closing on 31 December.
    assert (december["open_count"], december["open_amount"]) == (2, money("31000.00"))
    assert (december["undated_count"], december["undated_amount"]) == (1, money("30000.00"))
    report, january = row("2027-01")
    assert report["current"] is False
    assert (january["open_count"], january["open_amount"]) == (1, money("2000.00"))
    assert january["undated_count"] == 0
    assert row("2027-Q1")[1]["open_amount"] == money("2400.00")
    assert row("2026-11")[1]["open_amount"] == money("4000.00")  # dated, though overdue
    assert row("2026-Q4")[1]["open_amount"] == money("35000.00")  # current quarter
    # The company's weighted figure adds up the same deals.
    company = pipeline_forecast(period="2027-01", scope=everyone)["company"]
    assert company["open_amount"] == money("2000.00") and company["undated_amount"] == 0

    client.force_login(manager)
    html = client.get("/reports/forecast/", {"period": "2026-12", "user": r2.pk}).content.decode()
    undated = '<span class="muted">no close date</span>'
    assert undated in html and "Of which no close date" in html
    assert "2026-12-31" in html or "12/31/2026" in html
    html = client.get("/reports/forecast/", {"period": "2027-01", "user": r2.pk}).content.decode()
    assert undated not in html
    assert html.count('data-lead="') == 1


def test_forecast_query_count_is_flat_with_dated_deals(world, manager, api, assert_queries_flat):
    client = api(manager)

    def grow():
        rep = TeamMembershipFactory(team=world["A"]).user
        for month in (12, 1):
            deal(
                "opportunity", owner=rep, sql="2026-01-05", opp="2026-01-06", expected="10",
                expected_close_date=dt.date(2026 if month == 12 else 2027, month, 3),
            )  # fmt: skip

    client.get("/api/v1/reports/forecast/")
    assert_queries_flat(
        lambda: client.get("/api/v1/reports/forecast/", {"period": "2027-01"}),
        grow=grow,
        max_queries=10,
    )
