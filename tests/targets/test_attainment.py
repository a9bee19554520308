"""Attainment (DESIGN §11): actuals are the reports' figures, pacing over working days,
status thresholds, and the endpoint."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from assignment.models import Team
from campaigns.models import Channel
from leads.demo.seed import seed_demo
from reports.attainment.selectors import attainment_for, elapsed_share, judge
from reports.calendar import Calendar
from reports.sla.compliance import compliance, state_now_once
from targets.models import Target
from tests.factories import LeadFactory, TeamMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")

TODAY = dt.date(2025, 3, 31)
NOW = timezone.make_aware(dt.datetime.combine(TODAY, dt.time(10)))


def _set(metric, value, **scope):
    return Target.objects.create(period="2025-03", metric=metric, value=value, **scope)


def test_actuals_equal_the_dashboards_and_scorecards_figures():
    with time_machine.travel(NOW, tick=False):
        seed_demo(leads=300, seed=7, today=TODAY)
        Target.objects.all().delete()  # only the targets of this test
        boss = User.objects.filter(groups__name="manager").first()
        api = APIClient()
        api.force_authenticate(boss)
        period = {"from": "2025-03-01", "to": "2025-03-31"}
        cards = {
            (c["role"], c["user"]): c["metrics"]
            for c in api.get("/api/v1/reports/scorecards/", period).json()["cards"]
        }
        best = max((m["won"], uid) for (role, uid), m in cards.items() if role == "sales_rep")
        reps = [User.objects.get(pk=best[1])]
        marketer = User.objects.filter(groups__name="marketer").order_by("pk").first()
        desk = User.objects.filter(groups__name="lead_desk").order_by("pk").first()
        team = Team.objects.order_by("pk").first()
        channel = Channel.objects.get(code="seo")
        for metric in ("leads", "mqls", "sqls", "cost_per_mql_max", "budget_max", "revenue",
                       "won", "win_rate", "first_response_rate", "qualified", "acceptance_rate",
                       "qualification_hours_p50_max", "follow_up_compliance"):  # fmt: skip
            _set(metric, 1)
        for metric in ("leads", "mqls", "revenue"):
            _set(metric, 1, channel=channel)
        for metric in ("revenue", "won", "win_rate", "first_response_rate"):
            _set(metric, 1, user=reps[0])
            _set(metric, 1, team=team)
        for metric in ("leads", "mqls", "sqls", "cost_per_mql_max", "budget_max"):
            _set(metric, 1, user=marketer)
        for metric in ("qualified", "acceptance_rate", "qualification_hours_p50_max"):
            _set(metric, 1, user=desk)

        rows = api.get("/api/v1/reports/attainment/", {"period": "2025-03"}).json()["rows"]
        got = {(r["metric"], r["scope"], str(r["scope_id"])): r["actual"] for r in rows}
        funnel = api.get("/api/v1/reports/funnel/", period).json()["totals"]
        roi = {
            r["channel"]: r for r in api.get("/api/v1/reports/channel-roi/", period).json()["rows"]
        }
        compliance = api.get("/api/v1/reports/follow-up-compliance/", period).json()["rows"]

        def num(value):
            return None if value is None else float(value)

        assert got[("leads", "company", "None")] == funnel["leads"]
        assert got[("mqls", "company", "None")] == funnel["mqls"]
        assert got[("budget_max", "company", "None")] == float(funnel["cost"])
        assert got[("cost_per_mql_max", "company", "None")] == num(funnel["cost_per_mql"])
        assert got[("leads", "channel", "seo")] == roi["seo"]["leads"]
        assert got[("revenue", "channel", "seo")] == float(roi["seo"]["revenue"])
        rep = cards[("sales_rep", reps[0].pk)]
        assert got[("revenue", "user", str(reps[0].pk))] == float(rep["revenue"])
        assert got[("won", "user", str(reps[0].pk))] == rep["won"]
        assert got[("win_rate", "user", str(reps[0].pk))] == rep["win_rate"]
        assert got[("first_response_rate", "user", str(reps[0].pk))] == rep["compliance"]
        members = set(team.memberships.values_list("user_id", flat=True))
        team_rows = [r for r in compliance if r["user"] in members]
        due = sum(r["due"] for r in team_rows)
        assert got[("first_response_rate", "team", str(team.pk))] == (
            round(sum(r["in_time"] for r in team_rows) / due, 4) if due else None
        )
        team_cards = [
            m for (role, uid), m in cards.items() if role == "sales_rep" and uid in members
        ]
        assert got[("won", "team", str(team.pk))] == sum(m["won"] for m in team_cards)
        market = cards[("marketer", marketer.pk)]
        pairs = [("leads", "leads"), ("mqls", "mqls"), ("sqls", "sqls"), ("budget_max", "cost"),
                 ("cost_per_mql_max", "cost_per_mql")]  # fmt: skip
        for metric, key in pairs:
            assert got[(metric, "user", str(marketer.pk))] == num(market[key]), metric
        desk_card = cards[("lead_desk", desk.pk)]
        assert got[("qualified", "user", str(desk.pk))] == desk_card["qualified"]
        assert got[("acceptance_rate", "user", str(desk.pk))] == desk_card["acceptance"]
        assert (
            got[("qualification_hours_p50_max", "user", str(desk.pk))]
            == (desk_card["median_hours_to_qualify"])
        )
        # The figures are real, not all zero.
        assert funnel["leads"] > 0 and rep["won"] > 0 and desk_card["qualified"] > 0


DECEMBER = Calendar()  # Monday to Friday; December 2026 has 23 working days


def test_pacing_counts_working_days_elapsed():
    start, end = dt.date(2026, 12, 1), dt.date(2026, 12, 31)
    assert elapsed_share(DECEMBER, start, end, dt.date(2026, 11, 30)) == 0
    assert elapsed_share(DECEMBER, start, end, dt.date(2026, 12, 4)) == pytest.approx(4 / 23)
    # The weekend adds nothing; Monday does.
    assert elapsed_share(DECEMBER, start, end, dt.date(2026, 12, 6)) == pytest.approx(4 / 23)
    assert elapsed_share(DECEMBER, start, end, dt.date(2026, 12, 7)) == pytest.approx(5 / 23)
    assert elapsed_share(DECEMBER, start, end, dt.date(2027, 1, 3)) == 1


@pytest.mark.parametrize(
    ("day", "expected", "status"),
    [
        # 23 leads targeted: one a working day. 3 leads by Friday the 4th (4 expected):
        # 25 % below pace is at risk; by Sunday still 4 expected (the weekend adds none).
        (dt.datetime(2026, 12, 4, 20, tzinfo=SHANGHAI), 4.0, "at_risk"),
        (dt.datetime(2026, 12, 6, 20, tzinfo=SHANGHAI), 4.0, "at_risk"),
        (dt.datetime(2026, 12, 3, 20, tzinfo=SHANGHAI), 3.0, "on_track"),
        (dt.datetime(2026, 12, 2, 20, tzinfo=SHANGHAI), 2.0, "ahead"),
    ],
)
@override_settings(TARGET_AT_RISK=0.2)
def test_attainment_paces_with_the_clock(manager, marketer, day, expected, status):
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, tzinfo=SHANGHAI), tick=False):
        for _ in range(3):
            LeadFactory()
    Target.objects.create(period="2026-12", metric="leads", value=23)
    with time_machine.travel(day, tick=False):
        row = attainment_for(manager, period="2026-12")["rows"][0]
    assert (row["actual"], row["expected_by_now"], row["status"]) == (3.0, expected, status)
    assert row["attainment"] == round(3 / 23, 4)


@pytest.mark.parametrize(
    ("metric", "value", "actual", "share", "over", "status"),
    [
        ("leads", 100, 50, 0.5, False, "on_track"),
        ("leads", 100, 40, 0.5, False, "on_track"),  # 20 % below pace: the edge holds
        ("leads", 100, 39, 0.5, False, "at_risk"),
        ("leads", 100, 51, 0.5, False, "ahead"),
        ("leads", 100, 100, 0.5, False, "met"),
        ("leads", 100, 99, 1.0, True, "missed"),
        ("leads", 100, 100, 1.0, True, "met"),
        ("win_rate", 0.3, 0.24, 0.1, False, "on_track"),  # a level: judged as it stands
        ("win_rate", 0.3, 0.2, 0.1, False, "at_risk"),
        ("win_rate", 0.3, None, 0.5, False, "on_track"),
        ("win_rate", 0.3, None, 1.0, True, "missed"),
        ("budget_max", 1000, 400, 0.5, False, "ahead"),  # spending less than planned
        ("budget_max", 1000, 620, 0.5, False, "on_track"),  # 500 expected: within 20 %
        ("budget_max", 1000, 640, 0.5, False, "at_risk"),
        ("budget_max", 1000, 1100, 1.0, True, "missed"),
        ("budget_max", 1000, 900, 1.0, True, "met"),
        ("cost_per_mql_max", 200, 240, 0.5, False, "on_track"),
        ("cost_per_mql_max", 200, 260, 0.5, False, "at_risk"),
    ],
)
def test_status_thresholds(metric, value, actual, share, over, status):
    result = judge(metric=metric, value=value, actual=actual, share=share, over=over, risk=0.2)
    assert result["status"] == status


def test_attainment_of_max_metrics_is_value_over_actual():
    assert (
        judge(metric="budget_max", value=1000, actual=800, share=1, over=True, risk=0.2)[
            "attainment"
        ]
        == 1.25
    )
    assert (
        judge(metric="leads", value=200, actual=50, share=1, over=True, risk=0.2)["attainment"]
        == 0.25
    )


def test_a_rep_reads_only_what_concerns_them(manager, rep, other_rep):
    Target.objects.create(period="2026-12", metric="revenue", value=10, user=rep)
    Target.objects.create(period="2026-12", metric="revenue", value=10, user=other_rep)
    api = APIClient()
    api.force_authenticate(rep)
    rows = api.get("/api/v1/reports/attainment/?period=2026-12").json()["rows"]
    assert [r["scope_id"] for r in rows] == [rep.pk]
    assert api.get("/api/v1/reports/attainment/?period=2026-14").status_code == 400


def test_attainment_queries_stay_flat(assert_queries_flat, manager, team):
    def grow():
        for _ in range(5):
            user = TeamMembershipFactory(team=team).user
            Target.objects.create(period="2026-12", metric="revenue", value=5, user=user)
            Target.objects.create(
                period="2026-12", metric="first_response_rate", value=0.5, user=user
            )
            mk = UserFactory(roles=["marketer"])
            Target.objects.create(period="2026-12", metric="leads", value=5, user=mk)
        Target.objects.get_or_create(
            period="2026-12", metric="won", team=team, defaults={"value": 3}
        )

    grow()  # every kind of target once; then five more of each
    api = APIClient()
    api.force_authenticate(manager)
    api.get("/api/v1/reports/attainment/?period=2026-12")  # caches warm (roles, calendar)
    assert_queries_flat(lambda: api.get("/api/v1/reports/attainment/?period=2026-12"), grow=grow)


def test_demo_world_has_targets_for_every_role_this_month_and_last():
    with time_machine.travel(NOW, tick=False):
        seed_demo(leads=300, seed=7, today=TODAY)
        for period in ("2025-03", "2025-02"):
            targets = Target.objects.filter(period=period)
            scopes = {t.scope for t in targets}
            assert scopes == {"company", "user", "team", "channel"}
            roles = set(
                User.objects.filter(targets__period=period).values_list("groups__name", flat=True)
            )
            assert {"marketer", "lead_desk", "sales_rep"} <= roles
        boss = User.objects.get(username="boss")
        statuses = {row["status"] for row in attainment_for(boss, period="2025-02")["rows"]}
        assert statuses == {"met", "missed"}
        current = {row["status"] for row in attainment_for(boss, period="2025-03")["rows"]}
        assert len(current) >= 2


def test_scorecards_show_attainment_next_to_figures_with_a_target(manager, rep):
    Target.objects.create(period="2026-12", metric="revenue", value=1000, user=rep)
    Target.objects.create(period="2026-12", metric="first_response_rate", value="0.8", user=rep)
    api = APIClient()
    api.force_authenticate(manager)
    with time_machine.travel(dt.datetime(2026, 12, 10, 12, tzinfo=SHANGHAI), tick=False):
        card = next(
            c
            for c in api.get(
                "/api/v1/reports/scorecards/", {"from": "2026-12-01", "to": "2026-12-10"}
            ).json()["cards"]
            if c["user"] == rep.pk
        )
        page = Client()
        page.force_login(manager)
        html = page.get("/reports/scorecards/?from=2026-12-01&to=2026-12-10").content.decode()
    assert card["targets"]["revenue"]["value"] == 1000
    assert card["targets"]["revenue"]["attainment"] == 0
    assert card["targets"]["compliance"]["attainment"] is None  # no response due yet
    assert "won" not in card["targets"]
    assert "target" in html and "1,000" in html


def _overdue_scans(queries) -> int:
    """Scans of the open owned leads overdue now (``reports.sla.compliance.overdue_q``)."""
    return sum(1 for q in queries if "next_follow_up_at" in q["sql"])


def test_overdue_now_is_read_once_per_request(manager, team, rep):
    """Attainment needs the overdue-now figures three times (period compliance of a team,
    the company's cohort compliance, a rep's follow-up compliance): one scan."""
    now = timezone.now()
    LeadFactory(
        owner=rep,
        stage="mql",
        mql_at=now,
        assigned_at=now,
        last_follow_up_at=now,
        next_follow_up_at=now - dt.timedelta(days=1),
    )
    LeadFactory(
        owner=rep,
        stage="mql",
        mql_at=now,
        assigned_at=now,
        last_follow_up_at=now,
        next_follow_up_at=now + dt.timedelta(days=1),
    )
    Target.objects.create(period="2026-12", metric="first_response_rate", value="0.8", team=team)
    Target.objects.create(period="2026-12", metric="first_response_rate", value="0.8")
    Target.objects.create(period="2026-12", metric="follow_up_compliance", value="0.8", user=rep)
    with CaptureQueriesContext(connection) as queries:
        rows = attainment_for(manager, period="2026-12", now=now)["rows"]
    assert _overdue_scans(queries) == 1
    follow = next(r for r in rows if r["metric"] == "follow_up_compliance")
    assert follow["actual"] == 0.5  # one of the rep's two open leads is overdue
    start, end = dt.date(2026, 12, 1), dt.date(2026, 12, 31)
    state = state_now_once(now)
    with CaptureQueriesContext(connection) as queries:
        shared = compliance(start=start, end=end, now=now, state=state)
        cohort = compliance(start=start, end=end, now=now, cohort=True, state=state)
        assert state_now_once(now, state=state) is state
    assert _overdue_scans(queries) == 1
    with CaptureQueriesContext(connection) as queries:
        assert compliance(start=start, end=end, now=now) == shared
        assert compliance(start=start, end=end, now=now, cohort=True) == cohort
    assert _overdue_scans(queries) == 2  # without a shared state: one scan per call
    assert [r["overdue_now"] for r in shared if r["user"] == rep.pk] == [1]
    # A state of another instant is not reused.
    assert state_now_once(now + dt.timedelta(seconds=1), state=state) is not state
