"""The marketing–sales agreement: the scoreboard's verdict judged against the agreed
targets by the attainment status rule (default only without a target, labelled so); the
sales side counted over the marketing cohort; scope labels showing people's names."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from assignment.models import Assignment
from leads.demo.seed import seed_demo
from reports.attainment.agreement import DEFAULT_TARGET, agreement_period, agreement_verdict
from reports.attainment.selectors import attainment_for, cohort_first_response
from reports.sla.compliance import compliance
from targets.models import Target
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


DEC = (dt.date(2026, 12, 1), dt.date(2026, 12, 31))


def test_verdict_uses_the_agreed_targets_and_the_attainment_status_rule():
    mid = _at(dt.date(2026, 12, 15))
    # No target: the default, labelled so; 0.6 against 0.7 mid-period is within the
    # TARGET_AT_RISK band of its pace (on track), as the attainment page would say.
    judged = agreement_verdict(start=DEC[0], end=DEC[1], acceptance=0.6, in_time=0.9, now=mid)
    assert judged["period"] == "2026-12"
    assert judged["marketing"] == {
        "actual": 0.6,
        "target": DEFAULT_TARGET,
        "agreed": False,
        "period": None,
        "status": "on_track",
        "verdict": "good",
    }
    assert judged["sales"]["status"] == "ahead"
    # Agreed targets: acceptance 0.8 puts 0.6 at risk (bad); 0.95 first responses keeps
    # 0.9 on track.
    Target.objects.create(period="2026-12", metric="acceptance_rate", value="0.8")
    Target.objects.create(period="2026-12", metric="first_response_rate", value="0.95")
    Target.objects.create(
        period="2026-12", metric="acceptance_rate", value="0.1", user=UserFactory()
    )
    judged = agreement_verdict(start=DEC[0], end=DEC[1], acceptance=0.6, in_time=0.9, now=mid)
    assert judged["marketing"]["target"] == 0.8 and judged["marketing"]["agreed"]
    assert (judged["marketing"]["status"], judged["marketing"]["verdict"]) == ("at_risk", "bad")
    assert judged["marketing"]["period"] == "2026-12"
    assert (judged["sales"]["status"], judged["sales"]["verdict"]) == ("on_track", "good")
    # Once the period is over: met or missed.
    after = _at(dt.date(2027, 1, 5))
    judged = agreement_verdict(start=DEC[0], end=DEC[1], acceptance=0.6, in_time=0.96, now=after)
    assert judged["marketing"]["status"] == "missed" and judged["sales"]["status"] == "met"
    # Nothing to judge.
    judged = agreement_verdict(start=DEC[0], end=DEC[1], acceptance=None, in_time=0.9, now=mid)
    assert judged["marketing"]["verdict"] == "none"


def test_the_period_a_span_is_judged_in():
    assert agreement_period(dt.date(2026, 12, 3), dt.date(2026, 12, 20)) == "2026-12"
    assert agreement_period(dt.date(2026, 10, 3), dt.date(2026, 12, 20)) == "2026-Q4"
    assert agreement_period(dt.date(2026, 9, 3), dt.date(2026, 12, 20)) is None


def test_scoreboard_names_the_target_it_judged_against(manager):
    client = Client()
    client.force_login(manager)
    span = {"from": "2026-12-01", "to": "2026-12-31"}
    with time_machine.travel(_at(dt.date(2026, 12, 15)), tick=False):
        html = client.get("/reports/scoreboard/", span).content.decode()
        assert "default target 70%: none agreed" in html
        Target.objects.create(period="2026-12", metric="acceptance_rate", value="0.85")
        response = client.get("/reports/scoreboard/", span)
    html = response.content.decode()
    assert "agreed target 85%, 2026-12" in html
    assert "default target 70%: none agreed" in html  # sales: no first-response target
    assert response.context["judged"]["marketing"]["target"] == 0.85
    assert "agreement of 2026-12" in html


def test_agreement_verdict_is_the_attainment_status_of_the_agreed_targets():
    """One rule: on a seeded world the agreement page's verdict has the actuals and the
    statuses of the attainment rows of the same targets."""
    today = dt.date(2025, 3, 20)
    with time_machine.travel(_at(today), tick=False):
        seed_demo(leads=300, seed=7, today=today)
        Target.objects.all().delete()
        Target.objects.create(period="2025-03", metric="acceptance_rate", value="0.9")
        Target.objects.create(period="2025-03", metric="first_response_rate", value="0.5")
        Target.objects.create(period="2025-03", metric="follow_up_compliance", value="0.5")
        boss = User.objects.filter(groups__name="manager").first()
        client = Client()
        client.force_login(boss)
        response = client.get("/reports/agreement/", {"period": "2025-03"})
        rows = {r["metric"]: r for r in attainment_for(boss, period="2025-03")["rows"]}
    verdict = response.context["verdict"]
    for side, metric in (("marketing", "acceptance_rate"), ("sales", "first_response_rate")):
        assert rows[metric]["actual"] is not None
        assert verdict[f"{side}_status"] == str(
            {"ahead": "Ahead", "on_track": "On track", "at_risk": "At risk"}[rows[metric]["status"]]
        )
        bad = rows[metric]["status"] in ("at_risk", "missed")
        assert verdict[side] == ("bad" if bad else "good")
    html = response.content.decode()
    assert "Sales&#x27; side of the agreement: the period&#x27;s leads" in html
    assert rows["follow_up_compliance"]["actual"] is not None


def test_sales_side_counts_the_marketing_cohort_not_the_assignments_of_the_period(rep):
    now = _at(dt.date(2027, 1, 10))
    old = LeadFactory(created_at=_at(dt.date(2026, 11, 28)), owner=rep)
    new = LeadFactory(created_at=_at(dt.date(2026, 12, 2)), owner=rep)
    later = LeadFactory(created_at=_at(dt.date(2026, 12, 30)), owner=rep)

    def assign(lead, day, *, answered_hour=None):
        Assignment.objects.create(
            lead=lead, owner=rep, strategy="manual", reason="r", at=_at(day),
            response_due_at=_at(day, 12),
            first_response_at=None if answered_hour is None else _at(day, answered_hour),
        )  # fmt: skip

    assign(old, dt.date(2026, 12, 1))  # November's lead, assigned in December, unanswered
    assign(new, dt.date(2026, 12, 2), answered_hour=11)  # December's, in time
    assign(later, dt.date(2027, 1, 4), answered_hour=11)  # December's, assigned in January
    by_assignment = compliance(start=DEC[0], end=DEC[1], now=now)
    assert [(r["due"], r["in_time"]) for r in by_assignment] == [(2, 1)]
    cohort = compliance(start=DEC[0], end=DEC[1], now=now, cohort=True)
    assert [(r["due"], r["in_time"]) for r in cohort] == [(2, 2)]
    assert cohort_first_response(start=DEC[0], end=DEC[1], now=now) == 1.0
    # The agreement's (company) target reads the cohort; a rep's own target reads their
    # scorecard's assignments of the period, as before.
    Target.objects.create(period="2026-12", metric="first_response_rate", value="0.8")
    Target.objects.create(period="2026-12", metric="first_response_rate", value="0.8", user=rep)
    boss = UserFactory(roles=["manager"])
    with time_machine.travel(now, tick=False):
        rows = attainment_for(boss, period="2026-12")["rows"]
    assert {r["scope"]: r["actual"] for r in rows} == {"company": 1.0, "user": 0.5}


def test_scope_labels_show_display_names_without_a_query_per_row(
    assert_queries_flat, manager, team
):
    named = UserFactory(username="zw", first_name="伟", last_name="张", roles=["sales_rep"])
    bare = UserFactory(username="plainrep", roles=["sales_rep"])
    Target.objects.create(period="2026-12", metric="revenue", value=5, user=named)
    Target.objects.create(period="2026-12", metric="revenue", value=5, user=bare)
    api = APIClient()
    api.force_authenticate(manager)
    labels = {
        r["scope_label"] for r in api.get("/api/v1/targets/?period=2026-12").json()["results"]
    }
    assert labels == {"张伟", "plainrep"}
    rows = api.get("/api/v1/reports/attainment/", {"period": "2026-12"}).json()["rows"]
    assert {r["scope_label"] for r in rows} == {"张伟", "plainrep"}
    client = Client()
    client.force_login(manager)
    for url in ("/targets/?period=2026-12", "/reports/attainment/?period=2026-12"):
        html = client.get(url).content.decode()
        assert "张伟" in html and "<td>zw</td>" not in html

    def grow():
        user = UserFactory(first_name="Cindy", last_name="Lin", roles=["sales_rep"])
        Target.objects.create(period="2026-12", metric="won", value=1, user=user)

    assert_queries_flat(lambda: client.get("/reports/attainment/?period=2026-12"), grow=grow)
