"""Targets: who may set which (DESIGN §11), copying a period, the XLSX import and export."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from rest_framework.test import APIClient

from campaigns.models import Channel
from pipeline.errors import ServiceError
from targets.choices import parse_period, previous_period
from targets.models import Target
from targets.services import copy_last_period, target_delete, target_save, target_set_value
from tests.factories import TeamMembershipFactory

pytestmark = pytest.mark.django_db


def test_periods_month_and_quarter():
    assert parse_period("2026-12") == (
        parse_period("2026-Q4")[0].replace(month=12),
        parse_period("2026-Q4")[1],
    )
    assert [str(d) for d in parse_period("2026-Q1")] == ["2026-01-01", "2026-03-31"]
    assert [str(d) for d in parse_period("2024-02")] == ["2024-02-01", "2024-02-29"]
    assert previous_period("2026-01") == "2025-12"
    assert previous_period("2026-Q1") == "2025-Q4"
    for bad in ("2026-13", "2026-Q5", "26-12", "2026/12", ""):
        with pytest.raises(ValueError):
            parse_period(bad)


def test_manager_sets_company_team_and_rep_targets_with_derived_dates(manager, team, rep):
    company = target_save(actor=manager, period="2026-Q4", metric="revenue", value="1000000")
    assert (str(company.start), str(company.end), company.scope) == (
        "2026-10-01",
        "2026-12-31",
        "company",
    )
    target_save(actor=manager, period="2026-12", metric="won", value=5, team=team)
    target_save(actor=manager, period="2026-12", metric="revenue", value=5, user=rep)
    assert Target.objects.count() == 3


def test_sales_manager_sets_only_their_team_and_reps(sales_manager, team, rep, outsider_rep):
    target_save(actor=sales_manager, period="2026-12", metric="won", value=4, team=team)
    target_save(actor=sales_manager, period="2026-12", metric="win_rate", value="0.3", user=rep)
    other_team = outsider_rep.memberships.get().team
    for scope in ({"team": other_team}, {"user": outsider_rep}, {}, {"user": sales_manager}):
        with pytest.raises(ServiceError) as refused:
            target_save(actor=sales_manager, period="2026-12", metric="won", value=1, **scope)
        assert refused.value.code == "forbidden"
    channel = Channel.objects.get(code="seo")
    with pytest.raises(ServiceError):
        target_save(actor=sales_manager, period="2026-12", metric="leads", value=1, channel=channel)
    assert Target.objects.count() == 2


def test_nobody_changes_the_number_that_judges_them(manager, sales_manager, rep):
    mine = target_save(actor=sales_manager, period="2026-12", metric="revenue", value=100, user=rep)
    for actor in (rep,):
        with pytest.raises(ServiceError):
            target_set_value(actor=actor, target=mine, value=1)
        with pytest.raises(ServiceError):
            target_delete(actor=actor, target=mine)
    # A manager's own target is set by someone else, never by themself.
    with pytest.raises(ServiceError):
        target_save(actor=manager, period="2026-12", metric="revenue", value=1, user=manager)
    mine.refresh_from_db()
    assert mine.value == Decimal("100")


def test_bad_values_and_duplicates_are_refused(manager, rep, team):
    with pytest.raises(ServiceError) as bad:
        target_save(actor=manager, period="2026-12", metric="win_rate", value="1.5", user=rep)
    assert bad.value.field == "value"
    with pytest.raises(ServiceError) as bad:
        target_save(actor=manager, period="2026-12", metric="qualified", value=3, team=team)
    assert bad.value.field == "metric"
    target_save(actor=manager, period="2026-12", metric="won", value=3, team=team)
    with pytest.raises(ServiceError) as dup:
        target_save(actor=manager, period="2026-12", metric="won", value=4, team=team)
    assert dup.value.code == "conflict"
    assert Target.objects.get().value == 3


def test_copy_last_period_copies_what_the_actor_writes_and_skips_existing(
    manager, sales_manager, team, rep, outsider_rep
):
    target_save(actor=manager, period="2026-11", metric="revenue", value=900, user=rep)
    target_save(actor=manager, period="2026-11", metric="won", value=9, team=team)
    target_save(actor=manager, period="2026-11", metric="won", value=9, user=outsider_rep)
    target_save(actor=manager, period="2026-11", metric="leads", value=90)
    target_save(actor=manager, period="2026-12", metric="won", value=12, team=team)
    assert copy_last_period(actor=sales_manager, period="2026-12") == {"copied": 1, "skipped": 1}
    assert Target.objects.filter(period="2026-12").count() == 2
    assert copy_last_period(actor=manager, period="2026-12") == {"copied": 2, "skipped": 2}
    copied = Target.objects.get(period="2026-12", user=rep)
    assert (copied.value, str(copied.start)) == (Decimal("900"), "2026-12-01")


def _workbook(rows):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    handle = io.BytesIO()
    book.save(handle)
    handle.seek(0)
    handle.name = "targets.xlsx"
    return handle


def test_xlsx_import_with_bad_rows_writes_nothing_and_names_each_row(manager, rep, team):
    client = APIClient()
    client.force_authenticate(manager)
    rows = [
        ["期间", "指标", "范围", "对象", "目标值"],
        ["2026-12", "revenue", "user", "rep", "50000"],
        ["2026-13", "revenue", "company", "", "1"],
        ["2026-12", "won", "team", "Nowhere", "3"],
        ["2026-12", "win_rate", "user", "rep", "2"],
        ["2026-12", "leads", "", "", "300"],
    ]
    response = client.post("/api/v1/targets/import/", {"file": _workbook(rows)}, format="multipart")
    assert response.status_code == 400
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [
        (2, "period"),
        (3, ""),
        (4, "value"),
    ]
    assert "Nowhere" in response.json()["errors"][1]["message"]
    assert Target.objects.count() == 0
    good = [rows[0], rows[1], rows[5]]
    response = client.post("/api/v1/targets/import/", {"file": _workbook(good)}, format="multipart")
    assert response.json() == {"created": 2, "updated": 0, "errors": []}
    response = client.post("/api/v1/targets/import/", {"file": _workbook(good)}, format="multipart")
    assert response.json()["updated"] == 2
    assert Target.objects.get(user=rep).value == Decimal("50000")


def test_xlsx_import_respects_scopes(sales_manager, outsider_rep):
    client = APIClient()
    client.force_authenticate(sales_manager)
    rows = [
        ["period", "metric", "scope", "key", "value"],
        ["2026-12", "won", "user", outsider_rep.username, "2"],
    ]
    response = client.post("/api/v1/targets/import/", {"file": _workbook(rows)}, format="multipart")
    assert response.status_code == 400 and response.json()["errors"][0]["row"] == 1
    assert not Target.objects.exists()


def test_export_round_trips(manager, rep):
    target_save(actor=manager, period="2026-12", metric="revenue", value=100, user=rep)
    target_save(actor=manager, period="2026-11", metric="revenue", value=90, user=rep)
    client = APIClient()
    client.force_authenticate(manager)
    response = client.get("/api/v1/targets/export/?period=2026-12")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["period", "metric", "scope", "key", "value"],
        ["2026-12", "revenue", "user", "rep", "100.0000"],
    ]


def test_api_reads_what_concerns_the_user_and_filters(
    manager, sales_manager, rep, other_rep, marketer
):
    target_save(actor=manager, period="2026-12", metric="revenue", value=1, user=rep)
    target_save(actor=manager, period="2026-12", metric="revenue", value=2, user=other_rep)
    target_save(actor=manager, period="2026-12", metric="leads", value=3)
    target_save(actor=manager, period="2026-11", metric="leads", value=3)
    client = APIClient()
    client.force_authenticate(rep)
    got = client.get("/api/v1/targets/?period=2026-12").json()["results"]
    assert sorted((t["metric"], t["user"]) for t in got) == [("leads", None), ("revenue", rep.pk)]
    client.force_authenticate(sales_manager)
    got = client.get("/api/v1/targets/?period=2026-12&scope=user").json()["results"]
    assert {t["user"] for t in got} == {rep.pk, other_rep.pk}
    client.force_authenticate(marketer)
    got = client.get("/api/v1/targets/?scope=company&metric=leads").json()["results"]
    assert [t["period"] for t in got] == ["2026-11", "2026-12"]
    assert client.get("/api/v1/targets/?scope=planet").status_code == 400


def test_targets_api_list_queries_flat(assert_queries_flat, sales_manager, team, rep):
    client = APIClient()
    client.force_authenticate(sales_manager)

    def grow():
        for _ in range(4):
            user = TeamMembershipFactory(team=team).user
            Target.objects.create(period="2026-12", metric="revenue", value=5, user=user)
        Target.objects.create(period="2026-12", metric="leads", value=5, channel=next_channel())

    def next_channel():
        return Channel.objects.exclude(targets__isnull=False).order_by("pk").first()

    Target.objects.create(period="2026-12", metric="won", value=5, team=team)
    grow()
    client.get("/api/v1/targets/?period=2026-12")  # the user's roles cached
    assert_queries_flat(lambda: client.get("/api/v1/targets/?period=2026-12"), grow=grow)
