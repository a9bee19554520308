"""Back-dated follow-ups per rep (DESIGN §7): follow-ups recorded more than
FOLLOW_UP_BACKDATE_HOURS after the time they state, counted in compliance rows, the API,
the team page, the scoreboard and the scorecards."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from leads import lifecycle
from leads.choices import Stage
from leads.models import FollowUp
from reports.models import BusinessCalendar
from reports.sla.compliance import compliance
from tests.factories import lead_in_stage

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SH)
WEDNESDAY_10 = MONDAY_10 + dt.timedelta(days=2)
NOTE = "Back-dated: follow-ups recorded more than 24 hours after the time they state."


@pytest.fixture
def logged(desk, rep, other_rep):
    """Rep: one follow-up logged two days after its stated time, one within the hour.
    Other rep: one logged on time."""
    BusinessCalendar.objects.update_or_create(pk=1, defaults={"use_cn_holidays": False})
    with time_machine.travel(MONDAY_10, tick=False):
        late = lead_in_stage(Stage.MQL)
        fresh = lead_in_stage(Stage.MQL)
        theirs = lead_in_stage(Stage.MQL)
        lifecycle.lead_assign(lead=late, actor=desk, owner=rep)
        lifecycle.lead_assign(lead=fresh, actor=desk, owner=rep)
        lifecycle.lead_assign(lead=theirs, actor=desk, owner=other_rep)
    with time_machine.travel(WEDNESDAY_10, tick=False):
        stated = MONDAY_10 + dt.timedelta(hours=1)
        lifecycle.follow_up_log(lead=late, actor=rep, method="call", at=stated)
        lifecycle.follow_up_log(
            lead=fresh, actor=rep, method="call", at=WEDNESDAY_10 - dt.timedelta(hours=1)
        )
        lifecycle.follow_up_log(lead=theirs, actor=other_rep, method="call")
    assert FollowUp.objects.count() == 3
    return {"late": late}


def test_compliance_rows_count_back_dated_follow_ups_per_rep(logged, rep, other_rep):
    with time_machine.travel(WEDNESDAY_10 + dt.timedelta(hours=1), tick=False):
        rows = {r["user"]: r for r in compliance(start=MONDAY_10.date(), end=WEDNESDAY_10.date())}
    assert rows[rep.pk]["backdated"] == 1
    assert rows[other_rep.pk]["backdated"] == 0
    # Recorded outside the period: not counted in it.
    with time_machine.travel(WEDNESDAY_10 + dt.timedelta(hours=1), tick=False):
        before = compliance(start=MONDAY_10.date(), end=MONDAY_10.date(), user_ids=[rep.pk])
    assert before[0]["backdated"] == 0


def test_compliance_api_rows_carry_backdated(api, logged, manager, rep, other_rep):
    period = {"from": "2026-11-23", "to": "2026-11-25"}
    with time_machine.travel(WEDNESDAY_10 + dt.timedelta(hours=1), tick=False):
        response = api(manager).get("/api/v1/reports/follow-up-compliance/", period)
    assert response.status_code == 200
    rows = {r["user"]: r for r in response.json()["rows"]}
    assert (rows[rep.pk]["backdated"], rows[other_rep.pk]["backdated"]) == (1, 0)


def test_scoreboard_and_scorecards_show_backdated_with_its_definition(client, logged, manager):
    period = {"from": "2026-11-23", "to": "2026-11-25"}
    client.force_login(manager)
    with time_machine.travel(WEDNESDAY_10 + dt.timedelta(hours=1), tick=False):
        board = client.get("/reports/scoreboard/", period)
        cards = client.get("/reports/scorecards/", period)
    assert board.status_code == 200 and cards.status_code == 200
    table = board.context["tables"]["reps"]
    labels = [str(c["label"]) for c in table["columns"]]
    by_rep = {
        row[0]["text"]: dict(zip(labels, [c["text"] for c in row], strict=True))
        for row in table["rows"]
    }
    assert by_rep["rep"]["Back-dated follow-ups"] == "1"
    assert board.context["sales"]["figures"][-3][:2] == ("Back-dated follow-ups", "1")
    assert NOTE in board.content.decode()
    html = cards.content.decode()
    assert "Back-dated follow-ups" in html and NOTE in html


def test_team_page_shows_backdated_per_rep(client, logged, sales_manager, rep):
    client.force_login(sales_manager)
    with time_machine.travel(WEDNESDAY_10 + dt.timedelta(hours=1), tick=False):
        response = client.get(reverse("sales:team"))
    assert response.status_code == 200
    rows = {row["user"]: row for row in response.context["compliance"]["rows"]}
    assert rows[rep.pk]["backdated"] == 1
    html = response.content.decode()
    assert NOTE in html and "Back-dated" in html


def test_team_page_shows_the_definition_in_chinese(client, logged, sales_manager):
    client.force_login(sales_manager)
    with time_machine.travel(WEDNESDAY_10 + dt.timedelta(hours=1), tick=False):
        response = client.get(reverse("sales:team"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "补录" in response.content.decode()
