"""``manage.py seed_demo``: a deterministic demo world whose state the services could have made."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Max, Min, Q, Sum
from django.test import Client
from django.utils import timezone, translation

from assignment.models import Assignment, Team, TeamMembership
from campaigns.models import Campaign, CampaignCost, Channel
from leads.choices import (
    DisqualifyReason,
    EventKind,
    LoseReason,
    RecycleReason,
    RejectReason,
    Stage,
)
from leads.credits import recompute_all_credits
from leads.demo.data import DEMO_PASSWORD, DEMO_USERNAMES
from leads.lifecycle.arrival import (
    created_event_data,
    returned_event_data,
)
from leads.models import Company, FollowUp, Lead, LeadEvent, LeadTouch
from leads.normalize import normalize_phone
from scoring.scorer import Thresholds, grade_for
from tests.conftest import ROLES
from tests.worlds import shared_world

pytestmark = pytest.mark.django_db

N_LEADS = 300
#: A fixed end of the demo year keeps the world (and these tests) the same on every day.
TODAY = dt.date(2025, 3, 31)
#: Midnight at the end of the demo year: "now" for the demo data.
NOW = timezone.make_aware(dt.datetime.combine(TODAY, dt.time.min))


def seed(**options) -> str:
    out = io.StringIO()
    options = {"leads": N_LEADS, "seed": 7, "batch_size": 120, "today": TODAY, **options}
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


#: The seeded demo world, built once for this module's tests (each test's changes are
#: rolled back after it, the world after the module): tests that seed an empty database
#: themselves are in ``test_seed_demo_runs.py``.
seeded = shared_world(seed)


def snapshot() -> list[tuple]:
    return list(
        Lead.objects.order_by("pk").values_list(
            "name", "phone", "email", "stage", "grade", "score", "created_at", "won_amount"
        )
    )


# --------------------------------------------------------------------------------------
# Users, teams, campaigns
# --------------------------------------------------------------------------------------


def test_every_role_has_a_demo_user_who_logs_in_with_the_documented_password(seeded):
    for role in ROLES:
        user = User.objects.filter(groups__name=role).order_by("username").first()
        assert user is not None, role
        assert (
            Client()
            .post("/accounts/login/", {"username": user.username, "password": DEMO_PASSWORD})
            .status_code
            == 302
        ), role
        assert not user.is_staff
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert (
        Client()
        .post("/accounts/login/", {"username": "admin", "password": DEMO_PASSWORD})
        .status_code
        == 302
    )
    assert set(User.objects.values_list("username", flat=True)) == set(DEMO_USERNAMES)
    assert User.objects.filter(first_name="").count() == 0
    # groups are the migration's, not new ones
    assert Group.objects.filter(name__in=ROLES).count() == len(ROLES)


def test_teams_are_managed_by_sales_managers_with_reps_as_members(seeded):
    teams = Team.objects.all()
    assert 2 <= teams.count() <= 3
    for team in teams:
        assert team.manager.groups.filter(name="sales_manager").exists()
        members = TeamMembership.objects.filter(team=team)
        assert 2 <= members.count() <= 4
        assert all(m.user.groups.filter(name="sales_rep").exists() for m in members)


def test_every_channel_has_several_campaigns_with_costs_inside_their_dates(seeded):
    today = TODAY
    for channel in Channel.objects.all():
        campaigns = Campaign.objects.filter(channel=channel)
        assert campaigns.count() >= 3, channel.code
        assert CampaignCost.objects.filter(campaign__channel=channel).aggregate(s=Sum("amount"))[
            "s"
        ], channel.code
    assert Channel.objects.count() == 14
    assert Campaign.objects.values("utm_campaign").distinct().count() == Campaign.objects.count()
    assert {c.status for c in Campaign.objects.all()} == {
        "planned",
        "active",
        "completed",
        "cancelled",
    }
    for cost in CampaignCost.objects.select_related("campaign"):
        campaign = cost.campaign
        assert cost.amount > 0
        assert campaign.start_date <= cost.date <= today
        assert campaign.end_date is None or cost.date <= campaign.end_date
    assert Campaign.objects.filter(owner__groups__name="marketer").count() == (
        Campaign.objects.count()
    )
    # no lead comes from a planned or cancelled campaign
    assert not Lead.objects.filter(source_campaign__status__in=["planned", "cancelled"]).exists()


def test_offline_channels_cost_more_per_lead_than_online_ones(seeded):
    def cost_per_lead(kind: str) -> float:
        cost = CampaignCost.objects.filter(campaign__channel__kind=kind).aggregate(s=Sum("amount"))[
            "s"
        ]
        leads = Lead.objects.filter(source_campaign__channel__kind=kind).count()
        return float(cost) / leads

    assert cost_per_lead("offline") > 2 * cost_per_lead("online")


# --------------------------------------------------------------------------------------
# Leads
# --------------------------------------------------------------------------------------


def test_every_stage_is_present_and_each_satisfies_its_rules(seeded):
    stages = dict(Lead.objects.values_list("stage").annotate(n=Count("pk")).order_by())
    assert set(stages) == set(Stage.values)
    assert Lead.objects.count() == N_LEADS

    won = Lead.objects.filter(stage=Stage.WON)
    assert not won.filter(Q(won_amount__isnull=True) | Q(won_amount__lte=0)).exists()
    assert not won.filter(Q(signed_at__isnull=True) | Q(won_at__isnull=True)).exists()
    for lead in won:
        assert lead.signed_at <= timezone.localtime(lead.won_at).date()
    assert not Lead.objects.filter(stage=Stage.OPPORTUNITY, expected_amount__isnull=True).exists()
    assert not Lead.objects.filter(in_pool=True, owner__isnull=False).exists()
    assert not Lead.objects.filter(
        stage__in=[Stage.SQL, Stage.OPPORTUNITY], owner__isnull=True, in_pool=False
    ).exists()
    assert not Lead.objects.filter(stage=Stage.DISQUALIFIED, owner__isnull=False).exists()

    assert set(
        Lead.objects.filter(stage=Stage.DISQUALIFIED).values_list("disqualify_reason", flat=True)
    ) <= set(DisqualifyReason.values)
    assert set(Lead.objects.filter(stage=Stage.LOST).values_list("lost_reason", flat=True)) <= (
        set(LoseReason.values)
    )
    assert set(
        Lead.objects.exclude(reject_reason="").values_list("reject_reason", flat=True)
    ) <= set(RejectReason.values)
    assert set(
        Lead.objects.exclude(recycle_reason="").values_list("recycle_reason", flat=True)
    ) <= set(RecycleReason.values)

    mql = Lead.objects.filter(stage=Stage.MQL)
    assert mql.filter(owner__isnull=False).exists()  # owned
    assert mql.filter(in_pool=True).exists()  # in the pool
    assert mql.filter(owner__isnull=True, in_pool=False).exclude(reject_reason="").exists()


def test_timestamps_follow_the_lifecycle_order(seeded):
    order = [
        ("created_at", "mql_at"),
        ("mql_at", "assigned_at"),
        ("assigned_at", "first_contact_at"),
        ("first_contact_at", "sql_at"),
        ("mql_at", "sql_at"),
        ("sql_at", "opportunity_at"),
        ("opportunity_at", "won_at"),
        ("opportunity_at", "lost_at"),
        ("sql_at", "won_at"),
        ("sql_at", "lost_at"),
        ("created_at", "disqualified_at"),
        ("mql_at", "disqualified_at"),
        ("first_contact_at", "last_follow_up_at"),
        ("created_at", "pooled_at"),
    ]
    for earlier, later in order:
        wrong = Lead.objects.filter(**{f"{earlier}__gt": F(later)})
        assert not wrong.exists(), (earlier, later, wrong.count())
    for field in ("created_at", "mql_at", "sql_at", "won_at", "lost_at", "last_follow_up_at"):
        assert not Lead.objects.filter(**{f"{field}__gte": NOW}).exists(), field
    assert not LeadEvent.objects.filter(at__gte=NOW).exists()
    assert not FollowUp.objects.filter(at__gte=NOW).exists()
    # a stage implies its timestamps
    assert (
        not Lead.objects.exclude(stage__in=[Stage.NEW, Stage.DISQUALIFIED])
        .filter(mql_at__isnull=True)
        .exists()
    )
    assert not Lead.objects.filter(
        stage__in=[Stage.OPPORTUNITY, Stage.WON, Stage.LOST], sql_at__isnull=True
    ).exists()
    assert not Lead.objects.filter(stage=Stage.OPPORTUNITY, opportunity_at__isnull=True).exists()
    assert not Lead.objects.filter(stage=Stage.DISQUALIFIED, disqualified_at__isnull=True).exists()
    assert not Lead.objects.filter(stage=Stage.LOST, lost_at__isnull=True).exists()
    assert not Lead.objects.filter(scored_at__isnull=True).exists()


def test_scores_explain_rule_grades_and_better_grades_convert_better(seeded):
    thresholds = Thresholds()
    for lead in Lead.objects.filter(grade_source="rule"):
        assert lead.score == max(0, min(100, sum(row["points"] for row in lead.score_detail)))
        assert lead.grade == grade_for(lead.score, thresholds)
        assert all(set(row) == {"rule", "dimension", "points"} for row in lead.score_detail)
    assert Lead.objects.filter(grade_source="manual").exclude(grade_reason="").exists() or (
        not Lead.objects.filter(grade_source="manual").exists()
    )

    def sql_rate(grades: list[str]) -> float:
        leads = Lead.objects.filter(grade__in=grades)
        return leads.filter(sql_at__isnull=False).count() / max(1, leads.count())

    assert sql_rate(["A", "B"]) > sql_rate(["D"])


def test_contacts_are_valid_and_unique(seeded):
    phones = list(Lead.objects.values_list("phone", flat=True))
    assert len(set(phones)) == len(phones)
    for phone in phones:
        assert phone.startswith("+861")
        assert normalize_phone(phone, "CN") == phone
    emails = list(Lead.objects.values_list("email", flat=True))
    assert len(set(emails)) == len(emails)
    assert all(email == email.lower() and "@" in email for email in emails)
    names = list(Lead.objects.values_list("name", flat=True))
    assert any(" " in name for name in names)  # English names
    assert any("\u4e00" <= name[0] <= "\u9fff" for name in names)  # Chinese names
    assert Company.objects.count() >= 200


def test_every_lead_has_one_first_touch_on_its_source_campaign(seeded):
    firsts = LeadTouch.objects.filter(is_first=True)
    assert firsts.count() == N_LEADS
    assert (
        firsts.filter(
            campaign_id=F("lead__source_campaign_id"), occurred_at=F("lead__created_at")
        ).count()
        == N_LEADS
    )
    later = LeadTouch.objects.filter(is_first=False)
    assert later.exists()  # multi-touch leads make the attribution models differ
    assert not later.filter(occurred_at__lt=F("lead__created_at")).exists()
    assert not later.filter(occurred_at__gt=F("lead__sql_at")).exists()
    assert not later.filter(campaign_id=F("lead__source_campaign_id")).exists()
    per_lead = Counter(later.values_list("lead_id", flat=True))
    assert max(per_lead.values()) <= 3


def test_arrival_events_carry_the_data_the_arrival_rule_gives(seeded):
    leads = {
        pk: (campaign_id, name)
        for pk, campaign_id, name in Lead.objects.values_list("pk", "source_campaign_id", "name")
    }
    touches = {
        (lead_id, at): (campaign_id, kind, is_first)
        for lead_id, at, campaign_id, kind, is_first in LeadTouch.objects.values_list(
            "lead_id", "occurred_at", "campaign_id", "kind", "is_first"
        )
    }
    first_kind = {lead_id: kind for (lead_id, _), (_, kind, first) in touches.items() if first}
    created = list(LeadEvent.objects.filter(kind=EventKind.CREATED).values_list("lead_id", "data"))
    assert len(created) == N_LEADS
    for lead_id, data in created:
        assert data == created_event_data(
            campaign_id=leads[lead_id][0], touch_kind=first_kind[lead_id]
        )
    returned = list(
        LeadEvent.objects.filter(kind=EventKind.DUPLICATE).values_list("lead_id", "at", "data")
    )
    assert returned
    assert len(returned) == LeadTouch.objects.filter(is_first=False).count()
    for lead_id, at, data in returned:  # each at the moment of its touch
        campaign_id, kind, is_first = touches[lead_id, at]
        assert not is_first
        assert data == returned_event_data(
            campaign_id=campaign_id, touch_kind=kind, name=leads[lead_id][1]
        )


def test_every_touch_has_its_attribution_credit(seeded):
    fields = ["credit_first_touch", "credit_last_touch", "credit_linear", "credit_u_shaped"]
    written = {row[0]: row[1:] for row in LeadTouch.objects.values_list("pk", *fields)}
    sums = LeadTouch.objects.values("lead").annotate(**{f: Sum(f) for f in fields})
    for row in sums:
        assert all(row[f] == pytest.approx(1.0) for f in fields)
    recompute_all_credits()
    for pk, *credits in LeadTouch.objects.values_list("pk", *fields):
        assert credits == pytest.approx(list(written[pk])), pk


def test_each_transition_has_its_event_at_the_lead_timestamp(seeded):
    pairs = [
        (EventKind.CREATED, "created_at"),
        (EventKind.QUALIFIED, "mql_at"),
        (EventKind.ACCEPTED, "sql_at"),
        (EventKind.TO_OPPORTUNITY, "opportunity_at"),
        (EventKind.WON, "won_at"),
        (EventKind.LOST, "lost_at"),
        (EventKind.DISQUALIFIED, "disqualified_at"),
    ]
    for kind, field in pairs:
        leads = Lead.objects.filter(**{f"{field}__isnull": False}).count()
        events = LeadEvent.objects.filter(kind=kind)
        assert events.count() == leads, kind
        assert events.filter(at=F(f"lead__{field}")).count() == leads, kind
    # the current owner got the lead by the assignment or claim dated assigned_at
    took = {
        (event.lead_id, event.at, event.data["owner"])
        for event in LeadEvent.objects.filter(kind__in=[EventKind.ASSIGNED, EventKind.CLAIMED])
    }
    owned = Lead.objects.filter(owner__isnull=False)
    assert owned.exists()
    for lead in owned:
        assert (lead.pk, lead.assigned_at, lead.owner_id) in took
    assert LeadEvent.objects.filter(kind=EventKind.REJECTED).exists()
    assert LeadEvent.objects.filter(kind=EventKind.RECYCLED).exists()
    assert LeadEvent.objects.filter(kind=EventKind.POOLED).exists()
    assert LeadEvent.objects.filter(kind=EventKind.GRADED).count() >= N_LEADS
    for event in LeadEvent.objects.filter(kind__in=[EventKind.DISQUALIFIED, EventKind.LOST]):
        assert event.reason and event.data["reason_code"]
    won = LeadEvent.objects.filter(kind=EventKind.WON).select_related("lead")
    assert all(e.data["amount"] == str(e.lead.won_amount) for e in won)


def test_every_ownership_decision_is_recorded_for_why_this_owner(seeded):
    decisions = LeadEvent.objects.filter(
        kind__in=[EventKind.ASSIGNED, EventKind.POOLED, EventKind.CLAIMED]
    ).count()
    assert Assignment.objects.count() == decisions
    assert set(Assignment.objects.values_list("strategy", flat=True)) >= {"weighted", "pool"}
    # coded like the real services', so a Chinese reader sees them in Chinese
    assert not Assignment.objects.filter(reason_code="").exists()
    with translation.override("zh-hans"):
        shown = {a.reason_code: a.reason_display for a in Assignment.objects.all()}
    assert set(shown) >= {"company_stickiness", "pooled", "claimed", "manual"}
    assert all(not text.isascii() for text in shown.values()), shown
    # a lead rejected back to the desk keeps its decision, so the sweep leaves it alone
    at_desk = Lead.objects.filter(stage=Stage.MQL, owner__isnull=True, in_pool=False)
    assert not at_desk.filter(assignments__isnull=True).exists()


def test_follow_ups_agree_with_the_lead_fields(seeded):
    leads = Lead.objects.annotate(
        n=Count("follow_ups"), first=Min("follow_ups__at"), last=Max("follow_ups__at")
    )
    with_follow_ups = leads.filter(n__gt=0)
    assert with_follow_ups.exists()
    assert (
        with_follow_ups.filter(first_contact_at=F("first"), last_follow_up_at=F("last")).count()
        == with_follow_ups.count()
    )
    assert not leads.filter(n=0, first_contact_at__isnull=False).exists()
    assert leads.aggregate(most=Max("n"))["most"] <= 6
    # owned leads past the desk have been followed up (a few are neglected on purpose)
    worked = leads.filter(stage__in=[Stage.OPPORTUNITY, Stage.WON, Stage.LOST])
    assert not worked.filter(n=0).exists()
    for follow_up in FollowUp.objects.select_related("lead")[:100]:
        assert follow_up.at >= follow_up.lead.assigned_at or follow_up.lead.assigned_at is None
        assert follow_up.next_follow_up_at is None or follow_up.next_follow_up_at > follow_up.at
        event = LeadEvent.objects.get(kind=EventKind.FOLLOW_UP, data__follow_up=follow_up.pk)
        assert event.actor_id == follow_up.author_id and event.at >= follow_up.at
    last_next = {
        lead.pk: lead.next_follow_up_at
        for lead in Lead.objects.filter(last_follow_up_at__isnull=False)
    }
    for follow_up in FollowUp.objects.filter(at=F("lead__last_follow_up_at")):
        assert last_next[follow_up.lead_id] == follow_up.next_follow_up_at
    open_owned = Lead.objects.filter(
        owner__isnull=False, stage__in=[Stage.MQL, Stage.SQL, Stage.OPPORTUNITY]
    )
    assert open_owned.filter(next_follow_up_at__lt=NOW).exists()  # overdue: for SLA pages
    assert open_owned.filter(next_follow_up_at__gt=NOW).exists()
    assert not Lead.objects.filter(
        stage__in=[Stage.WON, Stage.LOST], next_follow_up_at__isnull=False
    ).exists()


# --------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------


def test_running_twice_without_flush_refuses_and_changes_nothing(seeded):
    before = (Lead.objects.count(), LeadEvent.objects.count(), Campaign.objects.count())
    with pytest.raises(CommandError, match="--flush"):
        seed()
    assert (Lead.objects.count(), LeadEvent.objects.count(), Campaign.objects.count()) == before


def test_output_reports_progress_and_the_demo_users(seeded):
    assert f"leads {N_LEADS}/{N_LEADS} (100%)" in seeded
    assert "leads 120/300 (40%)" in seeded
    assert "leads/s" in seeded
    for username in DEMO_USERNAMES:
        assert username in seeded
    assert DEMO_PASSWORD in seeded


def test_open_owned_leads_have_an_sla_clock(seeded):
    owned = Lead.objects.filter(owner__isnull=False, stage__in=["mql", "sql", "opportunity"])
    assert owned.exists()
    assert not owned.filter(response_due_at__isnull=True).exists()
    assert not owned.filter(response_due_at__lt=F("assigned_at")).exists()


def test_demo_follow_ups_are_recorded_when_they_happen_none_back_dated(seeded):
    from leads.lifecycle.followups import backdated_q

    assert FollowUp.objects.exists()
    assert not FollowUp.objects.filter(backdated_q()).exists()


def test_the_demo_rules_end_with_a_catch_all_so_a_lead_without_region_reaches_a_team(seeded):
    """Issue #14: an A lead from the public form (no region) goes to a team, not the pool."""
    from assignment import services as assignment_services
    from assignment.models import AssignmentRule
    from leads.demo.data import DEMO_TEAMS
    from leads.demo.world import CATCH_ALL_NAME
    from tests.factories import CompanyFactory, LeadFactory

    last = AssignmentRule.objects.order_by("-priority").first()
    assert last.name.endswith(CATCH_ALL_NAME)
    assert [c["field"] for c in last.conditions] == ["grade"]
    assert last.team.name == DEMO_TEAMS[0][0]

    lead = LeadFactory(
        company=CompanyFactory(region=""), grade="A", stage=Stage.MQL, mql_at=timezone.now()
    )
    routed = assignment_services.lead_route(lead=lead)
    assert routed.owner_id is not None and not routed.in_pool
    assert TeamMembership.objects.filter(team=last.team, user_id=routed.owner_id).exists()
    assert Assignment.objects.get(lead=lead).rule_id == last.pk

    d_lead = LeadFactory(
        company=CompanyFactory(region=""), grade="D", stage=Stage.MQL, mql_at=timezone.now()
    )
    assert assignment_services.lead_route(lead=d_lead).in_pool  # D leads still go to the pool


def test_open_deals_have_expected_close_dates_for_the_forecast(seeded):
    open_deals = Lead.objects.filter(stage__in=[Stage.SQL, Stage.OPPORTUNITY])
    assert open_deals.count() > 10
    dated = open_deals.filter(expected_close_date__isnull=False)
    assert 0.7 * open_deals.count() <= dated.count() < open_deals.count()  # a few undated
    span = dated.aggregate(first=Min("expected_close_date"), last=Max("expected_close_date"))
    assert span["first"] >= TODAY and span["last"] <= TODAY + dt.timedelta(days=100)
    # Opportunities (they carry the amounts) close sooner, some within this month.
    opps = dated.filter(stage=Stage.OPPORTUNITY, expected_amount__isnull=False)
    assert opps.filter(expected_close_date__lte=TODAY + dt.timedelta(days=60)).count() == (
        opps.count()
    )
    assert opps.filter(expected_close_date=TODAY).exists()  # TODAY ends its month
    assert not Lead.objects.exclude(stage__in=[Stage.SQL, Stage.OPPORTUNITY]).filter(
        expected_close_date__isnull=False
    )
