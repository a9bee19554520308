"""The sales workspace pages: "My leads" (sections, SLA clocks) and the team page."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from leads import lifecycle
from leads.choices import EventKind, Stage
from leads.models import Lead
from reports.models import BusinessCalendar
from tests.factories import TeamFactory, TeamMembershipFactory, UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SH)


@pytest.fixture(autouse=True)
def _plain_calendar(db):
    # Mon–Fri 09:00–18:00 without public holidays: the clocks below are easy to read.
    BusinessCalendar.objects.update_or_create(pk=1, defaults={"use_cn_holidays": False})


def lead_at(moment: dt.datetime, stage: str, **kwargs) -> Lead:
    with time_machine.travel(moment, tick=False):
        return lead_in_stage(stage, **kwargs)


def get_at(client, moment: dt.datetime, url: str, data=None):
    with time_machine.travel(moment, tick=False):
        return client.get(url, data or {})


def section_of(response, lead: Lead) -> str:
    for section in response.context["sections"]:
        if any(row.lead.pk == lead.pk for row in section["rows"]):
            return section["key"]
    raise AssertionError(f"{lead.name} is on no section")


# --------------------------------------------------------------------------------------
# My leads
# --------------------------------------------------------------------------------------


def test_my_leads_puts_overdue_first_and_fresh_mql_under_new_for_you(client, rep, other_rep):
    # B: follow up at least every 7 days; ten days of silence is overdue.
    overdue = lead_at(
        MONDAY_10 - dt.timedelta(days=10), Stage.SQL, owner=rep, grade="B", name="Olga Overdue"
    )
    # D: first response within 16 working hours, so it is not due today.
    fresh = lead_at(MONDAY_10, Stage.MQL, owner=rep, grade="D", name="Nina New")
    planned = lead_at(MONDAY_10 - dt.timedelta(days=1), Stage.SQL, owner=rep, name="Tom Today")
    with time_machine.travel(MONDAY_10 - dt.timedelta(hours=1), tick=False):
        lifecycle.follow_up_log(
            lead=planned,
            actor=rep,
            method="call",
            next_follow_up_at=MONDAY_10 + dt.timedelta(hours=5),
        )
    someone_elses = lead_at(MONDAY_10, Stage.MQL, owner=other_rep, name="Not Mine")
    client.force_login(rep)

    response = get_at(client, MONDAY_10, reverse("sales:my_leads"))

    assert response.status_code == 200
    assert section_of(response, overdue) == "overdue"
    assert section_of(response, planned) == "today"
    assert section_of(response, fresh) == "new"
    html = response.content.decode()
    order = [m.group(1) for m in re.finditer(r'data-section="(\w+)"', html)]
    assert order == ["overdue", "today", "new"]
    assert html.index("Olga Overdue") < html.index("Tom Today") < html.index("Nina New")
    assert someone_elses.name not in html


def test_my_leads_shows_sla_countdown_in_working_hours(client, rep):
    # A: first response within 2 working hours of assignment.
    lead_at(MONDAY_10 - dt.timedelta(minutes=10), Stage.MQL, owner=rep, grade="A", name="Soon")
    # Assigned Friday 17:00: due Monday 10:00 (1h Friday + 1h Monday); Monday 13:10 = 3h10m late.
    lead_at(dt.datetime(2026, 11, 20, 17, 0, tzinfo=SH), Stage.MQL, owner=rep, grade="A")
    client.force_login(rep)

    response = get_at(client, MONDAY_10 + dt.timedelta(hours=3, minutes=10), "/sales/")
    html = response.content.decode()

    assert "late by 3h 10m" in html
    assert "late by 1h 20m" in html  # the one assigned at 09:50 was due 11:50
    early = get_at(client, MONDAY_10, "/sales/").content.decode()
    assert "due in 1h 50m" in early


def test_a_long_late_first_response_is_shown_in_working_days_not_hours_over_24(client, rep):
    # Assigned Monday 2026-11-02 10:00 (A: due 12:00); three weeks later, Monday 10:00, it is
    # late by 15 working days minus 2 hours = 14 working days 7 h (a working day: 9 hours).
    lead_at(MONDAY_10 - dt.timedelta(days=21), Stage.MQL, owner=rep, grade="A", name="Old")
    client.force_login(rep)

    html = get_at(client, MONDAY_10, "/sales/").content.decode()

    assert "late by 14 working days 7 h" in html
    assert not re.search(r"late by \d+d \d+h", html)


def test_my_leads_quick_forms_post_to_the_lead_actions(client, rep):
    lead = lead_at(MONDAY_10, Stage.MQL, owner=rep, grade="D")
    client.force_login(rep)
    html = get_at(client, MONDAY_10, "/sales/").content.decode()
    assert f'action="{reverse("leads:action", args=[lead.pk, "accept"])}"' in html
    assert f'action="{reverse("leads:action", args=[lead.pk, "follow_up"])}"' in html
    assert f'href="{reverse("leads:detail", args=[lead.pk])}#action-reject"' in html

    with time_machine.travel(MONDAY_10 + dt.timedelta(minutes=5), tick=False):
        response = client.post(
            reverse("leads:action", args=[lead.pk, "follow_up"]),
            {"method": "call", "outcome": "reached", "next_follow_up_at": "2026-11-25T10:00"},
        )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.responded_at == MONDAY_10 + dt.timedelta(minutes=5)
    assert lead.next_follow_up_at == dt.datetime(2026, 11, 25, 10, 0, tzinfo=SH)


def test_my_leads_query_count_does_not_grow_with_leads(team, assert_queries_flat):
    def rep_with(n: int):
        user = TeamMembershipFactory(team=team, user=UserFactory(roles=["sales_rep"])).user
        for index in range(n):
            stage = (Stage.MQL, Stage.SQL, Stage.OPPORTUNITY)[index % 3]
            lead_at(MONDAY_10 - dt.timedelta(days=index), stage, owner=user)
        return user

    def my_leads_page_of(user):
        logged_in = Client()
        logged_in.force_login(user)
        return lambda: get_at(logged_in, MONDAY_10, reverse("sales:my_leads"))

    few, many = rep_with(3), rep_with(15)
    assert_queries_flat(my_leads_page_of(few), then=my_leads_page_of(many))


def test_my_leads_needs_login(client):
    response = client.get("/sales/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --------------------------------------------------------------------------------------
# Team page
# --------------------------------------------------------------------------------------


def test_team_page_is_refused_to_reps(client, rep):
    client.force_login(rep)
    assert client.get(reverse("sales:team")).status_code == 403
    lead = lead_at(MONDAY_10, Stage.SQL, owner=rep)
    response = client.post(
        reverse("sales:reassign", args=[lead.pk]), {"owner": rep.pk, "team": rep.pk}
    )
    assert response.status_code == 403


def test_team_page_shows_only_the_managers_team(client, sales_manager, rep, outsider_rep):
    mine = lead_at(MONDAY_10 - dt.timedelta(days=10), Stage.SQL, owner=rep, name="East Lead")
    theirs = lead_at(MONDAY_10, Stage.SQL, owner=outsider_rep, name="West Lead")
    client.force_login(sales_manager)

    response = get_at(client, MONDAY_10, reverse("sales:team"))

    assert response.status_code == 200
    html = response.content.decode()
    assert mine.name in html and theirs.name not in html
    assert response.context["team"].name == "East"
    assert [row.lead.pk for row in response.context["overdue_rows"]] == [mine.pk]
    west = outsider_rep.memberships.get().team
    assert client.get(reverse("sales:team"), {"team": west.pk}).status_code == 403
    summary = {s.user.pk: s for s in response.context["summaries"]}
    assert (summary[rep.pk].open, summary[rep.pk].overdue) == (1, 1)


def test_managers_pick_any_team(client, manager, team, outsider_rep):
    lead_at(MONDAY_10, Stage.SQL, owner=outsider_rep, name="West Lead")
    west = outsider_rep.memberships.get().team
    client.force_login(manager)
    response = get_at(client, MONDAY_10, reverse("sales:team"), {"team": west.pk})
    assert response.status_code == 200
    assert "West Lead" in response.content.decode()
    assert list(response.context["teams"]) == [team, west]
    assert response.context["can_reassign"] is False


def test_reassignment_moves_the_lead_and_writes_an_event(client, sales_manager, rep, other_rep):
    lead = lead_at(MONDAY_10, Stage.SQL, owner=rep)
    team = rep.memberships.get().team
    client.force_login(sales_manager)
    back = f"{reverse('sales:team')}?team={team.pk}"

    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=1), tick=False):
        response = client.post(
            reverse("sales:reassign", args=[lead.pk]),
            {"owner": other_rep.pk, "team": team.pk, "reason": "rep on leave", "next": back},
        )

    assert response.status_code == 302 and response["Location"] == back
    lead.refresh_from_db()
    assert lead.owner == other_rep
    event = lead.events.filter(kind=EventKind.REASSIGNED).get()
    assert event.actor == sales_manager
    assert event.data["previous_owner"] == rep.pk and event.data["owner"] == other_rep.pk


def test_reassignment_only_to_members_of_the_team(client, sales_manager, rep, outsider_rep):
    lead = lead_at(MONDAY_10, Stage.SQL, owner=rep)
    team = rep.memberships.get().team
    client.force_login(sales_manager)
    response = client.post(
        reverse("sales:reassign", args=[lead.pk]), {"owner": outsider_rep.pk, "team": team.pk}
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == rep
    assert not lead.events.filter(kind=EventKind.REASSIGNED).exists()


def test_team_page_without_a_team(client):
    lonely = UserFactory(roles=["sales_manager"])
    TeamFactory()  # managed by someone else
    client.force_login(lonely)
    response = client.get(reverse("sales:team"))
    assert response.status_code == 200
    assert response.context["team"] is None


def test_team_page_query_count_does_not_grow_with_leads(
    client, team, sales_manager, assert_queries_flat
):
    first = TeamMembershipFactory(team=team, user=UserFactory(roles=["sales_rep"])).user
    second = TeamMembershipFactory(team=team, user=UserFactory(roles=["sales_rep"])).user
    for index in range(3):
        lead_at(MONDAY_10 - dt.timedelta(days=index), Stage.SQL, owner=first)

    def twelve_more():
        for index in range(12):
            owner = (first, second)[index % 2]
            lead_at(MONDAY_10 - dt.timedelta(days=index), Stage.MQL, owner=owner)

    client.force_login(sales_manager)
    assert_queries_flat(lambda: get_at(client, MONDAY_10, reverse("sales:team")), grow=twelve_more)
