"""Figures that describe the same set agree on every page and endpoint, and figures that
differ on purpose say so (issue #14, item 5).

One deterministic demo world (``leads.demo.seed``) is walked like a user would: the
dashboard, scoreboard, scorecards, team page, compliance, calibration, My leads, New for
me, the pool and the desk queue, and the report endpoints; the counts that describe the
same set are read off each and compared.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone, translation

from assignment.models import Team
from leads.choices import Stage
from leads.demo.seed import seed_demo
from leads.models import Lead
from reports.definitions import DEFINITIONS
from reports.selectors import closed_in_period
from reports.views.common import fmt

pytestmark = pytest.mark.django_db

TODAY = dt.date(2025, 3, 31)
#: The demo world's "now": ten in the morning on its last day.
NOW = timezone.make_aware(dt.datetime.combine(TODAY, dt.time(10)))
PERIODS = [
    (TODAY - dt.timedelta(days=89), TODAY),  # the pages' default "last 90 days"
    (TODAY - dt.timedelta(days=364), TODAY),
]
COHORT_FIGURES = ("leads", "mqls", "sqls", "won", "revenue")


@pytest.fixture
def world():
    with time_machine.travel(NOW, tick=False):
        seed_demo(leads=300, seed=7, today=TODAY)
        yield {u.username: u for u in User.objects.all()}


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _api(api, user, path: str, **params) -> dict:
    response = api(user).get(f"/api/v1/reports/{path}/", params)
    assert response.status_code == 200, response.content
    return response.json()


def _span(start: dt.date, end: dt.date) -> dict[str, str]:
    return {"from": start.isoformat(), "to": end.isoformat()}


def _number(value) -> float:
    return float(Decimal(str(value)))


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("period", PERIODS, ids=["90-days", "year"])
def test_cohort_figures_agree_across_pages_and_api(world, api, period):
    boss = world["boss"]
    span = _span(*period)
    funnel = _api(api, boss, "funnel", **span)["totals"]
    assert funnel["leads"] > 0 and funnel["won"] > 0
    # Channel ROI, under any model: credits of a lead add up to 1, so the totals are the
    # cohort's (every demo lead has a source campaign).
    for model in ("first_touch", "linear", "u_shaped"):
        roi = _api(api, boss, "channel-roi", model=model, **span)["totals"]
        for key in COHORT_FIGURES:
            assert _number(roi[key]) == pytest.approx(_number(funnel[key]), abs=0.01), (model, key)
    # The dashboard's tiles show the same figures.
    dashboard = _client(boss).get("/reports/", span)
    tiles = {kpi["key"]: kpi["value"] for kpi in dashboard.context["kpis"]}
    for key in COHORT_FIGURES:
        kind = "money" if key == "revenue" else "count"
        assert tiles[key] == fmt(Decimal(funnel[key]) if kind == "money" else funnel[key], kind)
    # Grade calibration: every lead has a grade, so its rows add up to the cohort.
    calibration = _api(api, boss, "grade-calibration", **span)
    for key in ("leads", "mqls", "won"):
        assert sum(row[key] for row in calibration["rows"]) == funnel[key], key
    assert sum(Decimal(row["revenue"]) for row in calibration["rows"]) == Decimal(funnel["revenue"])
    # The scoreboard's marketing side: leads and MQLs of the same cohort.
    scoreboard = _client(boss).get("/reports/scoreboard/", span)
    marketing = {
        str(label): value for label, value, _term in scoreboard.context["marketing"]["figures"]
    }
    assert marketing["Leads"] == fmt(funnel["leads"], "count")
    assert marketing["MQLs"] == fmt(funnel["mqls"], "count")
    # Marketers' scorecards: every demo campaign has a marketer, so their leads and MQLs
    # add up to the cohort.
    cards = _api(api, boss, "scorecards", role="marketer", **span)["cards"]
    assert sum(card["metrics"]["leads"] for card in cards) == funnel["leads"]
    assert sum(card["metrics"]["mqls"] for card in cards) == funnel["mqls"]


@pytest.mark.parametrize("period", PERIODS, ids=["90-days", "year"])
def test_rejected_by_sales_counts_the_same_leads_everywhere(world, api, period):
    boss = world["boss"]
    span = _span(*period)
    calibration = _api(api, boss, "grade-calibration", **span)
    by_grade = sum(row["rejected"] for row in calibration["rows"])
    by_reason = sum(item["count"] for item in calibration["reasons"]["rejected"])
    assert by_grade > 0
    assert by_reason == by_grade
    page = _client(boss).get("/reports/grade-calibration/", span)
    tables = page.context["tables"]
    rejected_column = [c["label"] for c in tables["grades"]["columns"]].index("Rejected")
    on_page = sum(int(row[rejected_column]["text"]) for row in tables["grades"]["rows"])
    assert on_page == by_grade
    assert tables["rejected"]["totals"][-1]["text"] == fmt(by_grade, "count")
    scoreboard = _client(boss).get("/reports/scoreboard/", span)
    quality = scoreboard.context["tables"]["quality"]
    rejected_column = [c["label"] for c in quality["columns"]].index("Rejected by sales")
    assert quality["totals"][rejected_column]["text"] == fmt(by_grade, "count")
    # Both tables are labelled with the one definition of "rejected".
    for html in (page.content.decode(), scoreboard.content.decode()):
        assert 'data-definition="acceptance"' in html


@pytest.mark.parametrize("period", PERIODS, ids=["90-days", "year"])
def test_sales_figures_agree_across_pages_and_api(world, api, period):
    boss = world["boss"]
    span = _span(*period)
    closed = closed_in_period(start=period[0], end=period[1])
    assert closed["won"] > 0
    # Scoreboard: revenue signed and the reps' won deals are the deals closed in the period.
    scoreboard = _client(boss).get("/reports/scoreboard/", span)
    sales = {str(label): value for label, value, _term in scoreboard.context["sales"]["figures"]}
    assert sales["Revenue signed"] == fmt(closed["revenue"], "money")
    assert sales["Win rate"] == fmt(closed["win_rate"], "pct")
    # Sales reps' scorecards add up to the same deals.
    cards = _api(api, boss, "scorecards", role="sales_rep", **span)["cards"]
    assert sum(card["metrics"]["won"] for card in cards) == closed["won"]
    assert sum(Decimal(card["metrics"]["revenue"]) for card in cards) == closed["revenue"]
    # First responses: the compliance endpoint, the compliance page, the scoreboard and
    # the three team pages count the same assignments.
    rows = _api(api, boss, "follow-up-compliance", **span)["rows"]
    due, in_time = sum(r["due"] for r in rows), sum(r["in_time"] for r in rows)
    assert due > 0
    compliance = _client(boss).get("/sla/compliance/", span).context["compliance"]["totals"]
    assert (compliance["due"], compliance["in_time"]) == (due, in_time)
    assert sales["Responses due / in time"] == f"{fmt(due, 'count')} / {fmt(in_time, 'count')}"
    team_due = team_in_time = 0
    for team in Team.objects.all():
        totals = _client(boss).get("/sales/team/", {"team": team.pk, **span})
        team_due += totals.context["compliance"]["totals"]["due"]
        team_in_time += totals.context["compliance"]["totals"]["in_time"]
    assert (team_due, team_in_time) == (due, in_time)


def test_revenue_that_differs_on_purpose_is_labelled_on_both_pages(world, api):
    """Cohort revenue (dashboard) and revenue signed in the period (scoreboard) differ in
    the demo; both pages show both, side by side, each with its definition."""
    boss = world["boss"]
    start, end = PERIODS[0]
    span = _span(start, end)
    cohort = Decimal(_api(api, boss, "funnel", **span)["totals"]["revenue"])
    signed = closed_in_period(start=start, end=end)["revenue"]
    assert cohort != signed
    for url in ("/reports/", "/reports/scoreboard/"):
        html = _client(boss).get(url, span).content.decode()
        section = html[html.index('id="why-differ"') :]
        revenue = section[section.index('data-why="revenue"') :]
        revenue = revenue[: revenue.index('data-why="won"')]
        assert fmt(cohort, "money") in revenue and fmt(signed, "money") in revenue, url
        assert 'data-definition="cohort_revenue"' in revenue
        assert 'data-definition="signed_revenue"' in revenue
        text = _text(revenue)
        assert str(DEFINITIONS["cohort_revenue"].label) in text
        assert str(DEFINITIONS["signed_revenue"].label) in text
    # Where each figure is shown, it names its definition.
    dashboard = _client(boss).get("/reports/", span).content.decode()
    tile = dashboard[dashboard.index("kpi kpi-revenue") :]
    assert tile.index('data-definition="cohort_revenue"') < tile.index("kpi kpi-cpl")
    scoreboard = _client(boss).get("/reports/scoreboard/", span).content.decode()
    signed_at = scoreboard.index("Revenue signed")
    assert 'data-definition="signed_revenue"' in scoreboard[signed_at : signed_at + 600]
    # Credit-weighted channel counts vs whole leads by source channel: both labelled.
    assert 'data-definition="credit_weighted"' in dashboard
    assert 'data-definition="lead_counts"' in scoreboard


def test_report_answers_carry_their_definitions(world, api):
    boss = world["boss"]
    span = _span(*PERIODS[0])
    expected = {
        "funnel": "cohort_revenue",
        "channel-roi": "credit_weighted",
        "campaign-roi": "credit_weighted",
        "grade-calibration": "acceptance",
        "follow-up-compliance": "first_response",
        "scorecards": "signed_revenue",
    }
    for path, key in expected.items():
        body = _api(api, boss, path, **span)
        with translation.override("en"):
            assert body["definitions"][key]["label"] == str(DEFINITIONS[key].label), path
        assert body["definitions"][key]["basis"] in ("cohort", "events", "now")
    chinese = api(boss).get("/api/v1/reports/funnel/", span, HTTP_ACCEPT_LANGUAGE="zh-hans")
    with translation.override("zh-hans"):
        label = str(DEFINITIONS["cohort"].label)
    assert chinese.json()["definitions"]["cohort"]["label"] == label == "同期线索：本期创建的线索"


def test_new_for_me_is_one_count_on_every_page(world, api):
    """My leads' "New for you", the New for me page, the team page and the API filter count
    the same leads for every rep."""
    reps = [user for name, user in world.items() if name.startswith("rep")]
    boss = world["boss"]
    team_counts: dict[int, int] = {}
    for team in Team.objects.all():
        page = _client(boss).get("/sales/team/", {"team": team.pk})
        team_counts.update({s.user.pk: s.new for s in page.context["summaries"]})
    urgent_somewhere = False
    for rep in reps:
        expected = Lead.objects.filter(owner=rep, stage=Stage.MQL).count()
        mine = _client(rep).get("/sales/")
        chip = next(s for s in mine.context["sections"] if s["key"] == "new")
        urgent_somewhere |= chip["count"] > len(chip["rows"])
        page = _client(rep).get("/assignment/new-for-me/")
        listed = api(rep).get("/api/v1/leads/", {"owner": rep.pk, "stage": "mql"}).json()
        assert (
            chip["count"],
            mine.context["new_total"],
            page.context["paginator"].count,
            team_counts[rep.pk],
            listed["count"],
        ) == (expected,) * 5, rep.username
    # The demo has new leads whose first response is due, listed under Overdue or Due
    # today: exactly the case where the section alone read "0 new for you".
    assert urgent_somewhere


def test_queues_count_what_the_lead_list_counts(world, api):
    desk, rep = world["desk1"], world["rep1"]
    queue = _client(desk).get("/leads/desk/")
    new = api(desk).get("/api/v1/leads/", {"stage": "new"}).json()["count"]
    assert queue.context["paginator"].count == new > 0
    pool = _client(rep).get("/assignment/pool/")
    pooled = api(rep).get("/api/v1/leads/", {"in_pool": "true"}).json()["count"]
    assert pool.context["paginator"].count == pooled > 0
