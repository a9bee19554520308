"""Attainment at scale (issue #16 item 7): targets for every role and scope of this month
over a million leads, timed next to the dashboards' own figures computed in the same run
(the report selectors the dashboards, scorecards and scoreboard call), with the actuals
asserted equal; then the attainment and agreement pages (server time, query count), live
and then served from the snapshots the scheduled refresh stores (``reports.attainment.served``,
the refresh itself timed), a manager's and a rep's, and the attainment API.

The world: ``bench_forecast``'s (``BENCH_ATTAINMENT_BASE`` leads by ``data.owned_leads``,
40 reps in 5 teams, copied inside PostgreSQL up to ``BENCH_ATTAINMENT_LEADS``, default
1,000,000), plus 4 marketers owning the campaigns, 3 desk users, an assignment per owned
lead (the SLA clocks the compliance figures read), a first touch per lead (the channel
credits) and this month's campaign costs — all by ``INSERT … SELECT``.
"""

from __future__ import annotations

import os
import time
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignment.models import Assignment, Team, TeamMembership
from campaigns.models import Campaign, CampaignCost, Channel
from leads.models import Lead, LeadTouch
from reports import selectors
from reports.attainment.selectors import attainment_rows, cohort_compliance
from reports.attainment.served import attainment_served
from reports.choices import ReportJobOrigin, ReportJobStatus
from reports.models import ReportSnapshot
from reports.periods import period_bounds
from reports.scorecards import desk_metrics, marketer_metrics, rep_metrics
from reports.sla.compliance import compliance
from reports.snapshots import attainment_report_keys, report_job_request, report_job_run
from reports.trends import channel_quality
from targets.choices import (
    ALLOWED_SCOPES,
    DESK_METRICS,
    MARKETING_METRICS,
    Metric,
    month_of,
    parse_period,
    previous_period,
)
from targets.models import Target
from targets.selectors import targets_visible_to
from tests.benchmarks import data
from tests.benchmarks.bench_forecast import _copy_leads, timed

N = int(os.environ.get("BENCH_ATTAINMENT_LEADS", "1000000"))
BASE = min(N, int(os.environ.get("BENCH_ATTAINMENT_BASE", "100000")))


def _insert_select(model: Any, values: dict[str, str], source: str) -> None:
    """``INSERT INTO model (…) SELECT … FROM source``: ``values`` gives the SQL of the
    columns named; every other NOT NULL column gets its field's default."""
    columns, select = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.column in values:
            select.append(values[field.column])
        elif field.null:
            continue
        else:
            default = field.get_default()
            if isinstance(default, bool):
                select.append("TRUE" if default else "FALSE")
            elif isinstance(default, int | float):
                select.append(str(default))
            elif isinstance(default, dict):
                select.append("'{}'::jsonb")
            else:
                select.append("''")
        columns.append(field.column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(select)} FROM {source}"
        )


def _world() -> dict[str, Any]:
    sales, smgr = Group.objects.get(name="sales_rep"), Group.objects.get(name="sales_manager")
    reps, teams = [], []
    for t in range(5):
        lead = User.objects.create(username=f"bench-smgr-{t}", first_name=f"经理{t}")
        lead.groups.add(smgr)
        team = Team.objects.create(name=f"Bench team {t}", manager=lead)
        teams.append(team)
        for i in range(8):
            user = User.objects.create(
                username=f"bench-rep-{t}-{i}", last_name="王", first_name=f"{t}{i}"
            )
            user.groups.add(sales)
            TeamMembership.objects.create(team=team, user=user)
            reps.append(user.pk)
    marketers = []
    for m in range(4):
        user = User.objects.create(username=f"bench-mkt-{m}")
        user.groups.add(Group.objects.get(name="marketer"))
        marketers.append(user)
    desk = []
    for d in range(3):
        user = User.objects.create(username=f"bench-desk-{d}")
        user.groups.add(Group.objects.get(name="lead_desk"))
        desk.append(user)
    campaigns = data.campaigns(200)
    for m, marketer in enumerate(marketers):
        Campaign.objects.filter(pk__in=[c.pk for c in campaigns[m::4]]).update(owner=marketer)
    data.owned_leads(BASE, owners=reps, campaigns_=campaigns, companies_=data.companies(20_000))
    copies = N // BASE - 1
    if copies > 0:
        _copy_leads(copies)
    today = timezone.localdate()
    CampaignCost.objects.bulk_create(
        [
            CampaignCost(campaign=c, date=today.replace(day=1), amount=Decimal("1000"))
            for c in campaigns
        ]
    )
    # One assignment per owned lead, carrying the lead's SLA clock.
    _insert_select(
        Assignment,
        {
            "lead_id": "id",
            "owner_id": "owner_id",
            "strategy": "'manual'",
            "reason": "'bench'",
            "at": "assigned_at",
            "response_due_at": "response_due_at",
            "first_response_at": "first_contact_at",
            "response_work_seconds": "CASE WHEN first_contact_at IS NULL THEN NULL ELSE "
            "EXTRACT(EPOCH FROM first_contact_at - assigned_at)::int END",
        },
        "leads_lead WHERE owner_id IS NOT NULL AND assigned_at IS NOT NULL",
    )
    # A first touch per lead: all the credit to its source campaign.
    _insert_select(
        LeadTouch,
        {
            "lead_id": "id",
            "campaign_id": "source_campaign_id",
            "kind": "'form'",
            "occurred_at": "created_at",
            "is_first": "TRUE",
            "credit_first_touch": "1",
            "credit_last_touch": "1",
            "credit_linear": "1",
            "credit_u_shaped": "1",
        },
        "leads_lead WHERE source_campaign_id IS NOT NULL",
    )
    with connection.cursor() as cursor:
        for table in ("leads_lead", "assignment_assignment", "leads_leadtouch"):
            cursor.execute(f"ANALYZE {table}")
    return {
        "reps": reps,
        "teams": teams,
        "marketers": marketers,
        "desk": desk,
        "campaigns": campaigns,
    }


def _targets(world: dict[str, Any], period: str) -> int:
    """A target for every metric and scope it allows: the company, every channel, 20
    campaigns, every marketer, desk user, rep and team."""
    made = []
    for metric in Metric.values:
        scopes = ALLOWED_SCOPES[metric]
        made.append(Target(period=period, metric=metric, value=1))
        if "channel" in scopes:
            made += [
                Target(period=period, metric=metric, value=1, channel=c)
                for c in Channel.objects.all()
            ]
        if "campaign" in scopes:
            made += [
                Target(period=period, metric=metric, value=1, campaign=c)
                for c in world["campaigns"][::10]
            ]
        if "team" in scopes:
            made += [Target(period=period, metric=metric, value=1, team=t) for t in world["teams"]]
        if "user" in scopes:
            if metric in MARKETING_METRICS:
                people = [u.pk for u in world["marketers"]]
            elif metric in DESK_METRICS:
                people = [u.pk for u in world["desk"]]
            else:
                people = world["reps"]
            made += [Target(period=period, metric=metric, value=1, user_id=pk) for pk in people]
    for target in made:
        target.save()
    return len(made)


def _num(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_attainment_at_scale(report):
    began = time.perf_counter()
    world = _world()
    figures: dict[str, Any] = {
        "leads": Lead.objects.count(),
        "build_s": round(time.perf_counter() - began, 1),
    }
    today = timezone.localdate()
    period = month_of(today)
    targets = _targets(world, period)
    figures["targets"] = targets
    start, end = Target.objects.filter(period=period).values_list("start", "end").first()
    now = timezone.now()

    # The dashboards' own figures, computed in this run by the report selectors.
    reps, marketers = world["reps"], [u.pk for u in world["marketers"]]
    desk = [u.pk for u in world["desk"]]
    began = time.perf_counter()
    dash = {
        "funnel": selectors.funnel(start=start, end=end)["totals"],
        "closed": selectors.closed_in_period(start=start, end=end),
        "channel": {r["channel"]: r for r in selectors.channel_roi(start=start, end=end)["rows"]},
        "campaign": {
            r["campaign"]: r for r in selectors.campaign_roi(start=start, end=end)["rows"]
        },
        "quality": channel_quality(start=start, end=end)["totals"],
        "marketer": marketer_metrics(start, end, marketers),
        "desk": desk_metrics(start, end, desk),
        "rep": rep_metrics(start, end, reps),
        "compliance": compliance(start=start, end=end, now=now),
        "cohort": cohort_compliance(start=start, end=end, now=now),
    }
    figures["dashboards_s"] = round(time.perf_counter() - began, 3)

    manager = User.objects.create(username="bench-boss")
    manager.groups.add(Group.objects.get(name="manager"))
    with CaptureQueriesContext(connection) as queries:
        ours, figures["attainment_all_s"] = timed(
            lambda: attainment_rows(Target.objects.all(), period=period, now=now)
        )
    figures["attainment_queries"] = len(queries)
    figures["attainment_rows"] = len(ours["rows"])
    figures["attainment_vs_dashboards"] = round(
        figures["attainment_all_s"] / max(figures["dashboards_s"], 0.001), 2
    )

    # Every actual equals the dashboards' figure.
    got = {(r["metric"], r["scope"], str(r["scope_id"])): r["actual"] for r in ours["rows"]}
    f, closed = dash["funnel"], dash["closed"]
    for metric, key in (("leads", "leads"), ("mqls", "mqls"), ("sqls", "sqls"),
                        ("budget_max", "cost"), ("cost_per_mql_max", "cost_per_mql")):  # fmt: skip
        assert got[(metric, "company", "None")] == _num(f[key]), metric
    for metric in ("won", "revenue", "win_rate"):
        assert got[(metric, "company", "None")] == _num(closed[metric]), metric
    assert got[("acceptance_rate", "company", "None")] == _num(dash["quality"]["acceptance_rate"])
    due = sum(r["due"] for r in dash["cohort"])
    assert got[("first_response_rate", "company", "None")] == (
        round(sum(r["in_time"] for r in dash["cohort"]) / due, 4) if due else None
    )
    checked = 0
    for code, row in dash["channel"].items():
        for metric, key in (("leads", "leads"), ("mqls", "mqls"), ("revenue", "revenue")):
            if (metric, "channel", code) in got:
                assert got[(metric, "channel", code)] == _num(row[key]), (metric, code)
                checked += 1
    for campaign in world["campaigns"][::10]:
        row = dash["campaign"].get(campaign.pk)
        key = ("leads", "campaign", str(campaign.pk))
        assert got[key] == (None if row is None else _num(row["leads"]))
        checked += 1
    for uid in marketers:
        for metric, key in (("leads", "leads"), ("mqls", "mqls"), ("budget_max", "cost")):
            assert got[(metric, "user", str(uid))] == _num(dash["marketer"][uid][key])
            checked += 1
    for uid in desk:
        assert got[("qualified", "user", str(uid))] == _num(dash["desk"][uid]["qualified"])
        checked += 1
    for uid in reps:
        card = dash["rep"][uid]
        assert got[("revenue", "user", str(uid))] == _num(card["revenue"])
        assert got[("won", "user", str(uid))] == _num(card["won"])
        assert got[("win_rate", "user", str(uid))] == _num(card["win_rate"])
        assert got[("first_response_rate", "user", str(uid))] == _num(card["compliance"])
        checked += 4
    by_rep = {r["user"]: r for r in dash["compliance"]}
    for team in world["teams"]:
        members = list(team.memberships.values_list("user_id", flat=True))
        assert got[("won", "team", str(team.pk))] == sum(dash["rep"][m]["won"] for m in members)
        team_due = sum(by_rep[m]["due"] for m in members if m in by_rep)
        assert got[("first_response_rate", "team", str(team.pk))] == (
            round(sum(by_rep[m]["in_time"] for m in members if m in by_rep) / team_due, 4)
            if team_due
            else None
        )
        checked += 2
    assert f["leads"] > 0 and closed["won"] > 0 and due > 0
    figures["actuals_checked"] = checked + 10
    figures["actuals_equal_dashboards"] = True

    # The pages, as a manager (every target), warm first.
    client = Client()
    client.force_login(manager)
    for name, url in (
        ("attainment_page", f"/reports/attainment/?period={period}"),
        ("agreement_page", f"/reports/agreement/?period={period}"),
        ("scoreboard_page", f"/reports/scoreboard/?from={start}&to={today}"),
    ):
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            response, figures[f"{name}_s"] = timed(lambda url=url: client.get(url))
        assert response.status_code == 200, name
        figures[f"{name}_queries"] = len(queries)
    low, high = period_bounds(start, end)
    figures["leads_created_in_period"] = Lead.objects.filter(
        created_at__gte=low, created_at__lt=high
    ).count()

    # Last month: a whole month of leads (this month may have just begun).
    last = previous_period(period)
    _targets(world, last)
    last_start, last_end = parse_period(last)
    low, high = period_bounds(last_start, last_end)
    figures["last_month_leads"] = Lead.objects.filter(
        created_at__gte=low, created_at__lt=high
    ).count()
    _, figures["last_month_dashboards_s"] = timed(
        lambda: (
            selectors.funnel(start=last_start, end=last_end),
            selectors.closed_in_period(start=last_start, end=last_end),
            selectors.channel_roi(start=last_start, end=last_end),
            selectors.campaign_roi(start=last_start, end=last_end),
            channel_quality(start=last_start, end=last_end),
            marketer_metrics(last_start, last_end, marketers),
            desk_metrics(last_start, last_end, desk),
            rep_metrics(last_start, last_end, reps),
            compliance(start=last_start, end=last_end, now=now),
            cohort_compliance(start=last_start, end=last_end, now=now),
        )
    )
    _, figures["last_month_attainment_all_s"] = timed(
        lambda: attainment_rows(Target.objects.all(), period=last, now=now)
    )
    figures["last_month_attainment_vs_dashboards"] = round(
        figures["last_month_attainment_all_s"] / max(figures["last_month_dashboards_s"], 0.001), 2
    )
    for name, url in (
        ("last_month_attainment_page", f"/reports/attainment/?period={last}"),
        ("last_month_agreement_page", f"/reports/agreement/?period={last}"),
    ):
        with CaptureQueriesContext(connection) as queries:
            response, figures[f"{name}_s"] = timed(lambda url=url: client.get(url))
        assert response.status_code == 200, name
        figures[f"{name}_queries"] = len(queries)
    figures["report_live_max_leads"] = settings.REPORT_LIVE_MAX_LEADS

    # Served from snapshots: the scheduled refresh's attainment and agreement keys (this
    # month, last month, this quarter), computed as the beat job computes them; then the
    # same pages, and the API, read them.
    keys = attainment_report_keys(today=today)
    job = report_job_request(keys=keys, origin=ReportJobOrigin.SCHEDULED, queue=False)
    done, figures["snapshot_refresh_s"] = timed(lambda: report_job_run(job_id=job.pk))
    assert done is not None and done.status == ReportJobStatus.DONE, done and done.error
    figures["snapshot_refresh_by_key_s"] = {
        f"{s.kind}:{s.start}": round(s.seconds, 3)
        for s in ReportSnapshot.objects.filter(kind__in=[k.kind for k in keys])
    }
    served = attainment_served(manager, period=period, now=now)
    assert served.computed_at is not None
    live_rows = {r["target"]: r["actual"] for r in ours["rows"]}
    assert {r["target"]: r["actual"] for r in served.report["rows"]} == live_rows
    a_rep = User.objects.get(pk=reps[0])
    rep_served = attainment_served(a_rep, period=period, now=now)
    assert rep_served.computed_at is not None
    assert {r["target"] for r in rep_served.report["rows"]} == {
        r["target"] for r in attainment_rows(targets_visible_to(a_rep), period=period)["rows"]
    }
    figures["rep_rows"] = len(rep_served.report["rows"])
    rep_client = Client()
    rep_client.force_login(a_rep)
    for name, who, url in (
        ("snapshot_attainment_page", client, f"/reports/attainment/?period={period}"),
        ("snapshot_agreement_page", client, f"/reports/agreement/?period={period}"),
        ("snapshot_attainment_api", client, f"/api/v1/reports/attainment/?period={period}"),
        ("snapshot_rep_attainment_page", rep_client, f"/reports/attainment/?period={period}"),
        ("snapshot_last_month_attainment_page", client, f"/reports/attainment/?period={last}"),
        ("snapshot_last_month_agreement_page", client, f"/reports/agreement/?period={last}"),
    ):
        who.get(url)
        with CaptureQueriesContext(connection) as queries:
            response, figures[f"{name}_s"] = timed(lambda who=who, url=url: who.get(url))
        assert response.status_code == 200, name
        if name.endswith("_api"):
            assert response["X-Report-Computed-At"], name
        else:
            assert b"data-snapshot" in response.content and b"Computed live" not in response.content
        figures[f"{name}_queries"] = len(queries)
    for page in ("attainment_page", "agreement_page"):
        figures[f"snapshot_{page}_vs_live"] = round(
            figures[f"snapshot_{page}_s"] / max(figures[f"{page}_s"], 0.001), 4
        )
        figures[f"snapshot_{page}_vs_dashboards"] = round(
            figures[f"snapshot_{page}_s"] / max(figures["dashboards_s"], 0.001), 4
        )
    report("attainment", figures)
