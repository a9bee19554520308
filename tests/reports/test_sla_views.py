"""SLA pages: policies per grade, the business calendar, follow-up compliance and its CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from leads import lifecycle
from leads.choices import Stage
from pipeline.errors import ServiceError
from reports.models import BusinessCalendar, SlaPolicy
from reports.sla.compliance import compliance
from reports.views.sla import business_calendar_save
from tests.factories import UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SH)
POLICIES_URL = "/sla/"


@pytest.fixture(autouse=True)
def _plain_calendar(db):
    BusinessCalendar.objects.update_or_create(pk=1, defaults={"use_cn_holidays": False})


def policy_post(grade: str = "B", **changes) -> dict:
    values = {
        "first_response_hours": 4,
        "follow_up_every_days": 7,
        "recycle_after_days": 30,
        "escalate_after_hours": 4,
        "final_action": "recycle",
        "final_after_hours": 16,
        **changes,
    }
    return {
        "form": "policy",
        "grade": grade,
        **{f"policy-{grade}-{key}": value for key, value in values.items()},
    }


def calendar_post(**changes) -> dict:
    values = {
        "work_start": "09:00",
        "work_end": "18:00",
        "weekdays": ["0", "1", "2", "3", "4"],
        "use_cn_holidays": "",
        **changes,
    }
    return {"form": "calendar", **{f"calendar-{key}": value for key, value in values.items()}}


# --------------------------------------------------------------------------------------
# Policies
# --------------------------------------------------------------------------------------


def test_policies_page_needs_login(client):
    response = client.get(reverse("sla:policies"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_policies_page_lists_four_grades_with_a_due_preview(client, rep):
    client.force_login(rep)
    with time_machine.travel(MONDAY_10, tick=False):
        response = client.get(POLICIES_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert [row["grade"] for row in response.context["rows"]] == ["A", "B", "C", "D"]
    # A: 2 working hours → 12:00; D: 16 working hours → Tuesday 17:00.
    assert "2026-11-23 12:00" in html and "2026-11-24 17:00" in html
    assert 'id="policy-form-' not in html  # read-only for reps
    assert "2 working hours" in html


def test_manager_edits_a_policy(client, manager):
    client.force_login(manager)
    response = client.post(POLICIES_URL, policy_post("B", first_response_hours=6))
    assert response.status_code == 302 and response["Location"] == reverse("sla:policies")
    policy = SlaPolicy.objects.get(grade="B")
    assert policy.first_response_hours == 6 and policy.recycle_after_days == 30


def test_sales_manager_edits_a_policy(client, sales_manager):
    client.force_login(sales_manager)
    response = client.post(POLICIES_URL, policy_post("A", final_action="reassign"))
    assert response.status_code == 302
    assert SlaPolicy.objects.get(grade="A").final_action == "reassign"


def test_rep_cannot_edit_a_policy(client, rep):
    client.force_login(rep)
    response = client.post(POLICIES_URL, policy_post("B", first_response_hours=1))
    assert response.status_code == 403
    assert SlaPolicy.objects.get(grade="B").first_response_hours == 4


def test_recycling_before_the_follow_up_interval_is_refused(client, manager):
    client.force_login(manager)
    response = client.post(
        POLICIES_URL, policy_post("B", follow_up_every_days=10, recycle_after_days=5)
    )
    assert response.status_code == 200
    assert "Recycling must come after the follow-up interval." in response.content.decode()
    form = response.context["rows"][1]["form"]
    assert "recycle_after_days" in form.errors
    policy = SlaPolicy.objects.get(grade="B")
    assert (policy.follow_up_every_days, policy.recycle_after_days) == (7, 30)


def test_policy_form_rejects_values_out_of_range(client, manager):
    client.force_login(manager)
    response = client.post(POLICIES_URL, policy_post("C", first_response_hours=0))
    assert response.status_code == 200
    assert "The first response needs at least one working hour." in response.content.decode()
    assert SlaPolicy.objects.get(grade="C").first_response_hours == 8


# --------------------------------------------------------------------------------------
# Business calendar
# --------------------------------------------------------------------------------------


def test_manager_saves_the_calendar(client, manager):
    client.force_login(manager)
    response = client.post(
        POLICIES_URL,
        calendar_post(
            work_start="08:30", work_end="17:30", weekdays=["0", "1", "2", "3", "4", "5"]
        ),
    )
    assert response.status_code == 302
    row = BusinessCalendar.current()
    assert (row.work_start, row.work_end) == (dt.time(8, 30), dt.time(17, 30))
    assert row.weekdays == [0, 1, 2, 3, 4, 5] and row.use_cn_holidays is False


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"work_start": "18:00", "work_end": "09:00"}, "The working day must end after it starts."),
        ({"work_start": "09:00", "work_end": "09:00"}, "The working day must end after it starts."),
        ({"weekdays": []}, "Choose at least one working weekday."),
    ],
)
def test_calendar_form_validation(client, manager, changes, message):
    client.force_login(manager)
    response = client.post(POLICIES_URL, calendar_post(**changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    row = BusinessCalendar.current()
    assert (row.work_start, row.work_end, row.weekdays) == (
        dt.time(9, 0),
        dt.time(18, 0),
        [0, 1, 2, 3, 4],
    )


def test_only_managers_change_the_calendar(client, sales_manager):
    client.force_login(sales_manager)
    response = client.post(POLICIES_URL, calendar_post(work_end="20:00"))
    assert response.status_code == 403
    assert BusinessCalendar.current().work_end == dt.time(18, 0)
    with pytest.raises(ServiceError) as refused:
        business_calendar_save(
            actor=sales_manager,
            work_start=dt.time(9),
            work_end=dt.time(20),
            weekdays=[0],
            use_cn_holidays=False,
        )
    assert refused.value.code == "forbidden"


def test_calendar_save_rejects_unknown_weekdays(manager):
    with pytest.raises(ServiceError) as refused:
        business_calendar_save(
            actor=manager,
            work_start=dt.time(9),
            work_end=dt.time(18),
            weekdays=[0, 7],
            use_cn_holidays=True,
        )
    assert refused.value.field == "weekdays"


# --------------------------------------------------------------------------------------
# Compliance
# --------------------------------------------------------------------------------------


@pytest.fixture
def scenario(rep, other_rep):
    """rep: one answered in time, one late, one silent; other_rep: one silent."""
    with time_machine.travel(MONDAY_10, tick=False):
        on_time, late, silent = (lead_in_stage(Stage.MQL, owner=rep) for _ in range(3))
        lead_in_stage(Stage.MQL, owner=other_rep)
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=1), tick=False):
        lifecycle.follow_up_log(lead=on_time, actor=rep, method="call")
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=6), tick=False):
        lifecycle.follow_up_log(lead=late, actor=rep, method="visit")
    return silent


DAY = {"from": "2026-11-23", "to": "2026-11-23"}
LATER = MONDAY_10 + dt.timedelta(days=1)


def test_compliance_page_matches_the_report(client, manager, rep, other_rep, scenario):
    client.force_login(manager)
    with time_machine.travel(LATER, tick=False):
        response = client.get(reverse("sla:compliance"), DAY)
        expected = compliance(start=dt.date(2026, 11, 23), end=dt.date(2026, 11, 23))
    assert response.status_code == 200
    rows = {row["user"]: row for row in response.context["compliance"]["rows"]}
    keys = (
        "assigned",
        "due",
        "in_time",
        "compliance",
        "median_response_hours",
        "p95_response_hours",
        "overdue_now",
        "wasted",
    )
    for row in expected:
        assert {k: rows[row["user"]][k] for k in keys} == {k: row[k] for k in keys}
    assert (rows[rep.pk]["assigned"], rows[rep.pk]["due"], rows[rep.pk]["in_time"]) == (3, 3, 1)
    totals = response.context["compliance"]["totals"]
    assert (totals["assigned"], totals["due"], totals["in_time"]) == (4, 4, 1)
    html = response.content.decode()
    assert "33.3%" in html and "25.0%" in html  # rep, and everyone together
    assert response.context["delays"]["routing"]["count"] == 4


def test_rep_sees_only_their_own_row(client, rep, scenario):
    client.force_login(rep)
    with time_machine.travel(LATER, tick=False):
        response = client.get(reverse("sla:compliance"), DAY)
    assert [row["user"] for row in response.context["compliance"]["rows"]] == [rep.pk]
    assert "team" not in response.context["form"].fields


def test_sales_manager_reads_only_teams_they_manage(client, sales_manager, team, scenario):
    client.force_login(sales_manager)
    with time_machine.travel(LATER, tick=False):
        mine = client.get(reverse("sla:compliance"), {**DAY, "team": team.pk})
    assert mine.status_code == 200
    assert len(mine.context["compliance"]["rows"]) == 2
    stranger_team = UserFactory(roles=["sales_manager"]).managed_teams.create(name="North")
    assert client.get(reverse("sla:compliance"), {"team": stranger_team.pk}).status_code == 403


def test_compliance_page_is_refused_to_marketers(client, marketer):
    client.force_login(marketer)
    assert client.get(reverse("sla:compliance")).status_code == 403


def test_compliance_csv_has_a_bom_rows_and_neutralised_cells(client, manager, rep, scenario):
    rep.first_name = "=HYPERLINK(1)"
    rep.save()
    client.force_login(manager)
    with time_machine.travel(LATER, tick=False):
        response = client.get(reverse("sla:compliance"), {**DAY, "download": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert rows[0][0] == "Sales rep" and len(rows) == 4  # header, two reps, totals
    mine = next(row for row in rows if row[1] == "rep")
    assert mine[0] == "'=HYPERLINK(1)"
    assert mine[2:6] == ["3", "3", "1", "33.3"]
    assert rows[-1][0] == "Total" and rows[-1][2:6] == ["4", "4", "1", "25.0"]


def test_bad_period_shows_the_error_and_the_default_period(client, manager):
    client.force_login(manager)
    response = client.get(reverse("sla:compliance"), {"from": "2026-11-23", "to": "2026-11-01"})
    assert response.status_code == 200
    assert "is after" in response.content.decode()
