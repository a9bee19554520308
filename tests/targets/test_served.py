"""Attainment and agreement served from snapshots (``reports.attainment.served``, issue #16
item 7): the same rows as the live page for every viewer and never one more, the live
fallback, the "Computed at" label, the API header, and a fixed query count."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from assignment.models import Team
from campaigns.models import Campaign, Channel
from leads.demo.seed import seed_demo
from reports.attainment.agreement import agreement_figures
from reports.attainment.selectors import attainment_for
from reports.attainment.served import agreement_served, attainment_served
from reports.choices import ReportJobOrigin, ReportKind
from reports.models import ReportSnapshot
from reports.snapshots import (
    ReportKey,
    attainment_key,
    attainment_report_keys,
    report_job_request,
    report_job_run,
    snapshots_refresh_standard,
)
from targets.models import Target
from tests.factories import LeadFactory, TeamMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2025, 3, 20)
NOW = timezone.make_aware(dt.datetime.combine(TODAY, dt.time(10)))
PERIODS = ("2025-03", "2025-02", "2025-Q1")


def _refresh(today: dt.date = TODAY) -> None:
    """What the scheduled refresh computes for the attainment and agreement pages."""
    job = report_job_request(
        keys=attainment_report_keys(today=today), origin=ReportJobOrigin.SCHEDULED, queue=False
    )
    done = report_job_run(job_id=job.pk)
    assert done is not None and done.status == "done", done and done.error


@pytest.fixture
def world():
    """The demo world (targets of every role this month and last) plus targets of every
    scope kind, some on people and teams a given viewer must not see."""
    with time_machine.travel(NOW, tick=False):
        seed_demo(leads=300, seed=7, today=TODAY)
        teams = list(Team.objects.order_by("pk"))
        assert len(teams) >= 2
        campaigns = list(Campaign.objects.filter(owner__isnull=False).order_by("pk"))
        for period in ("2025-03", "2025-Q1"):
            for team in teams:
                Target.objects.get_or_create(
                    period=period, metric="won", team=team, defaults={"value": 4}
                )
                for member in team.memberships.values_list("user_id", flat=True):
                    Target.objects.get_or_create(
                        period=period,
                        metric="first_response_rate",
                        user_id=member,
                        defaults={"value": "0.8"},
                    )
            Target.objects.get_or_create(
                period=period, metric="leads", campaign=campaigns[0], defaults={"value": 10}
            )
            Target.objects.get_or_create(
                period=period,
                metric="mqls",
                channel=Channel.objects.get(code="seo"),
                defaults={"value": 5},
            )
        yield {"teams": teams, "campaigns": campaigns}


def _viewers() -> list[User]:
    """One of each role, two reps of different teams among them."""
    people = [User.objects.get(username="boss")]
    for role in ("marketer", "lead_desk", "sales_manager"):
        people.append(User.objects.filter(groups__name=role).order_by("pk").first())
    teams = Team.objects.order_by("pk")
    for team in teams[:2]:
        people.append(
            User.objects.filter(groups__name="sales_rep", memberships__team=team)
            .order_by("pk")
            .first()
        )
    assert all(people) and len({p.pk for p in people}) == len(people)
    return people


def test_every_viewer_sees_from_the_snapshot_exactly_the_live_rows(world):
    with time_machine.travel(NOW, tick=False):
        _refresh()
        total = {period: Target.objects.filter(period=period).count() for period in PERIODS}
        for viewer in _viewers():
            for period in PERIODS:
                served = attainment_served(viewer, period=period, now=NOW)
                assert served.computed_at == NOW, (viewer.username, period)
                live = attainment_for(viewer, period=period, now=NOW)
                assert served.report == live, (viewer.username, period)
        # The snapshot holds the company's actuals; a rep is shown only their own share.
        rep = User.objects.filter(groups__name="sales_rep").order_by("pk").first()
        snapshot = ReportSnapshot.objects.get(
            kind=ReportKind.ATTAINMENT, start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31)
        )
        assert len(snapshot.payload["actuals"]) > len(
            attainment_served(rep, period="2025-03", now=NOW).report["rows"]
        )
        assert (
            len(
                attainment_served(
                    User.objects.get(username="boss"), period="2025-03", now=NOW
                ).report["rows"]
            )
            == total["2025-03"]
        )


def test_a_snapshot_never_shows_a_viewer_a_row_the_live_page_hides(world):
    with time_machine.travel(NOW, tick=False):
        _refresh()
        first, second = world["teams"][:2]
        rep = (
            User.objects.filter(groups__name="sales_rep", memberships__team=first)
            .order_by("pk")
            .first()
        )
        others = set(
            Target.objects.filter(period="2025-03")
            .exclude(user=rep)
            .exclude(
                user__isnull=True, team__isnull=True, channel__isnull=True, campaign__isnull=True
            )
            .exclude(team=first)
            .values_list("pk", flat=True)
        )
        assert others  # other reps', the other team's, channels', campaigns', marketers'
        api = APIClient()
        api.force_authenticate(rep)
        response = api.get("/api/v1/reports/attainment/", {"period": "2025-03"})
        assert response.status_code == 200 and response["X-Report-Computed-At"]
        shown = {row["target"] for row in response.json()["rows"]}
        assert shown and not shown & others
        assert shown == {r["target"] for r in attainment_for(rep, period="2025-03")["rows"]}
        for row in response.json()["rows"]:
            assert row["scope"] in ("company", "user", "team")
            if row["scope"] == "user":
                assert row["scope_id"] == rep.pk
            if row["scope"] == "team":
                assert row["scope_id"] == first.pk
        # The page: no other rep's name, no other team's.
        client = Client()
        client.force_login(rep)
        page = client.get("/reports/attainment/?period=2025-03").content.decode()
        assert second.name not in page
        # A sales manager: their teams' and members', not the other team's members.
        boss_of_second = second.manager
        served = attainment_served(boss_of_second, period="2025-03", now=NOW)
        members = set(second.memberships.values_list("user_id", flat=True)) | {boss_of_second.pk}
        for row in served.report["rows"]:
            if row["scope"] == "user":
                assert row["scope_id"] in members
            if row["scope"] == "team":
                assert row["scope_id"] in set(
                    Team.objects.filter(manager=boss_of_second).values_list("pk", flat=True)
                ) | set(boss_of_second.memberships.values_list("team_id", flat=True))


def test_live_without_a_fresh_snapshot_or_when_a_target_is_not_in_it(world):
    boss = User.objects.get(username="boss")
    with time_machine.travel(NOW, tick=False):
        served = attainment_served(boss, period="2025-03", now=NOW)
        assert served.computed_at is None
        assert served.report == attainment_for(boss, period="2025-03", now=NOW)
        _refresh()
        assert attainment_served(boss, period="2025-03", now=NOW).computed_at == NOW
        # A target set since, of a metric and scope the snapshot has not computed: live,
        # and the new target is there.
        rep = TeamMembershipFactory(team=world["teams"][0]).user
        new = Target.objects.create(period="2025-03", metric="win_rate", value="0.9", user=rep)
        served = attainment_served(boss, period="2025-03", now=NOW)
        assert served.computed_at is None
        assert new.pk in {r["target"] for r in served.report["rows"]}
        # A changed value is judged now against the new value, from the snapshot.
        new.delete()
        target = Target.objects.filter(period="2025-03", metric="leads").first()
        Target.objects.filter(pk=target.pk).update(value=123456)
        served = attainment_served(boss, period="2025-03", now=NOW)
        assert served.computed_at == NOW
        row = next(r for r in served.report["rows"] if r["target"] == target.pk)
        assert row["value"] == 123456 and row["status"] == "at_risk"
    with (
        override_settings(REPORT_SNAPSHOT_MAX_AGE=3600),
        time_machine.travel(NOW + dt.timedelta(hours=2), tick=False),
    ):
        assert attainment_served(boss, period="2025-03").computed_at is None  # too old


def test_the_snapshot_reads_the_leads_as_of_its_time(world):
    boss = User.objects.get(username="boss")
    with time_machine.travel(NOW, tick=False):
        Target.objects.update_or_create(
            period="2025-03",
            metric="leads",
            user=None,
            team=None,
            channel=None,
            campaign=None,
            defaults={"value": 1},
        )
        _refresh()
        before = attainment_served(boss, period="2025-03", now=NOW).report
        LeadFactory.create_batch(3)
        after = attainment_served(boss, period="2025-03", now=NOW).report
        assert after == before  # the stored actuals until the next refresh
        live = attainment_for(boss, period="2025-03", now=NOW)
        company = next(
            r["target"] for r in live["rows"] if r["metric"] == "leads" and r["scope"] == "company"
        )
        actual = {r["target"]: r["actual"] for r in live["rows"]}[company]
        assert actual == {r["target"]: r["actual"] for r in before["rows"]}[company] + 3
        _refresh()
        assert attainment_served(boss, period="2025-03", now=NOW).report == live


def test_agreement_from_snapshots_equals_live(world):
    boss = User.objects.get(username="boss")
    with time_machine.travel(NOW, tick=False):
        live = agreement_served(boss, period="2025-03", now=NOW)
        assert live.computed_at is None
        figures = agreement_figures(start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31), now=NOW)
        assert live.figures == figures and figures["acceptance"] is not None
        client = Client()
        client.force_login(boss)
        live_page = client.get("/reports/agreement/?period=2025-03")
        assert b"Computed live just now" in live_page.content
        _refresh()
        served = agreement_served(boss, period="2025-03", now=NOW)
        assert served.computed_at == NOW
        assert served.figures == figures and served.report == live.report
        page = client.get("/reports/agreement/?period=2025-03")
        assert page.status_code == 200
        assert b"Computed at" in page.content and b"Computed live" not in page.content
        verdict = [line for line in page.content.split(b"\n") if b"verdict" in line]
        assert verdict == [line for line in live_page.content.split(b"\n") if b"verdict" in line]
        # Only the attainment snapshot is there: both live (never a mix).
        ReportSnapshot.objects.filter(kind=ReportKind.AGREEMENT).delete()
        assert agreement_served(boss, period="2025-03", now=NOW).computed_at is None


def test_pages_say_when_the_figures_were_computed_in_the_users_language(world):
    boss = User.objects.get(username="boss")
    with time_machine.travel(NOW, tick=False):
        _refresh()
        client = Client()
        client.force_login(boss)
        page = client.get("/reports/attainment/?period=2025-03", HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert page.status_code == 200
        assert "计算于" in page.content.decode()
        api = APIClient()
        api.force_authenticate(boss)
        response = api.get("/api/v1/reports/attainment/", {"period": "2025-03"})
        assert dt.datetime.fromisoformat(response["X-Report-Computed-At"]) == NOW
        ReportSnapshot.objects.all().delete()
        response = api.get("/api/v1/reports/attainment/", {"period": "2025-03"})
        assert response.status_code == 200 and "X-Report-Computed-At" not in response


def test_served_pages_keep_a_fixed_query_count(assert_queries_flat, world):
    boss = User.objects.get(username="boss")
    client = Client()
    client.force_login(boss)
    team = world["teams"][0]

    def grow():
        for _ in range(3):
            user = TeamMembershipFactory(team=team).user
            Target.objects.create(period="2025-03", metric="revenue", value=5, user=user)
            Target.objects.create(
                period="2025-03", metric="follow_up_compliance", value="0.5", user=user
            )
            marketer = UserFactory(roles=["marketer"])
            Target.objects.create(period="2025-03", metric="leads", value=5, user=marketer)
        _refresh()

    with time_machine.travel(NOW, tick=False):
        _refresh()
        for url in ("/reports/attainment/?period=2025-03", "/reports/agreement/?period=2025-03"):
            client.get(url)  # caches warm (roles, calendar)
            response = assert_queries_flat(lambda url=url: client.get(url), grow=grow)
            assert b"Computed at" in response.content


def test_the_scheduled_refresh_stores_every_period_the_pages_offer():
    with time_machine.travel(NOW, tick=False):
        snapshots_refresh_standard(today=TODAY)
        stored = set(
            ReportSnapshot.objects.filter(
                kind__in=[ReportKind.ATTAINMENT, ReportKind.AGREEMENT]
            ).values_list("kind", "start", "end")
        )
    assert stored == {
        (key.kind, key.start, key.end)
        for period in PERIODS
        for key in (
            attainment_key(ReportKind.ATTAINMENT, period),
            attainment_key(ReportKind.AGREEMENT, period),
        )
    }


def test_an_attainment_key_must_be_a_month_or_a_quarter():
    key = ReportKey.of(ReportKind.ATTAINMENT, start=dt.date(2025, 3, 2), end=dt.date(2025, 3, 31))
    with pytest.raises(ValueError, match="not a month or a quarter"):
        key.compute()
    key = ReportKey.of(ReportKind.AGREEMENT, start=dt.date(2025, 1, 1), end=dt.date(2025, 6, 30))
    with pytest.raises(ValueError, match="not a month or a quarter"):
        key.compute()
    assert attainment_key(ReportKind.ATTAINMENT, "2025-Q1").period == "2025-Q1"
