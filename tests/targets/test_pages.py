"""Targets pages: inline edit, copy, XLSX import with bad rows, the attainment page per
role and the agreement page's verdict; query counts flat."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from openpyxl import Workbook

from assignment.models import Team
from targets.models import Target
from tests.factories import TeamMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _xlsx(rows) -> io.BytesIO:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    handle = io.BytesIO()
    book.save(handle)
    handle.seek(0)
    handle.name = "targets.xlsx"
    return handle


def test_sales_manager_edits_inline_and_copies_last_period(sales_manager, rep, team):
    mine = Target.objects.create(period="2026-11", metric="revenue", value=100, user=rep)
    Target.objects.create(period="2026-11", metric="leads", value=100)  # not theirs
    client = _client(sales_manager)
    page = client.get("/targets/?period=2026-11").content.decode()
    assert f"/targets/{mine.pk}/value/" in page
    response = client.post(f"/targets/{mine.pk}/value/", {"value": "250"})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.value == 250
    response = client.post("/targets/copy/", {"period": "2026-12"}, follow=True)
    assert "1 targets copied from 2026-11" in response.content.decode()
    assert list(Target.objects.filter(period="2026-12").values_list("metric", "user")) == [
        ("revenue", rep.pk)
    ]


def test_a_rep_sees_their_target_but_cannot_change_it(rep, manager):
    mine = Target.objects.create(period="2026-12", metric="revenue", value=100, user=rep)
    client = _client(rep)
    page = client.get("/targets/?period=2026-12").content.decode()
    assert "100" in page and f"/targets/{mine.pk}/value/" not in page
    assert client.post(f"/targets/{mine.pk}/value/", {"value": "1"}).status_code == 403
    mine.refresh_from_db()
    assert mine.value == 100


def test_page_import_with_bad_rows_lists_each_row_and_writes_nothing(manager, rep):
    rows = [
        ["period", "metric", "scope", "key", "value"],
        ["2026-12", "revenue", "user", "rep", "5000"],
        ["2026-12", "revenue", "user", "ghost", "5000"],
        ["2026-12", "sparkle", "", "", "1"],
    ]
    response = _client(manager).post(
        "/targets/import/?period=2026-12", {"file": _xlsx(rows)}, follow=True
    )
    html = response.content.decode()
    assert "Nothing was imported" in html
    assert "Row 2:" in html and "ghost" in html and "Row 3:" in html
    assert not Target.objects.exists()


def test_attainment_page_per_role(marketer, rep, manager, desk):
    Target.objects.create(period="2026-12", metric="mqls", value=10, user=marketer)
    Target.objects.create(period="2026-12", metric="revenue", value=10, user=rep)
    Target.objects.create(period="2026-12", metric="qualified", value=10, user=desk)
    marketer_page = _client(marketer).get("/reports/attainment/?period=2026-12").content.decode()
    assert "MQLs" in marketer_page and "Leads qualified" not in marketer_page
    rep_page = _client(rep).get("/reports/attainment/?period=2026-12").content.decode()
    assert "Revenue" in rep_page and "MQLs" not in rep_page
    boss_page = _client(manager).get("/reports/attainment/?period=2026-12").content.decode()
    assert all(word in boss_page for word in ("MQLs", "Revenue", "Leads qualified"))
    assert _client(rep).get("/reports/attainment/?period=2026-99").status_code == 400


def test_agreement_judges_the_scoreboard_verdict_against_the_agreed_targets(manager):
    Target.objects.create(period="2026-12", metric="mqls", value=100)
    Target.objects.create(period="2026-12", metric="first_response_rate", value="0.95")
    Target.objects.create(period="2026-12", metric="acceptance_rate", value="0.5")
    html = _client(manager).get("/reports/agreement/?period=2026-12").content.decode()
    assert "agreed target 50%, 2026-12" in html and "agreed target 95%, 2026-12" in html
    assert "Marketing: lead volume and quality" in html and "MQLs" in html


def test_pages_queries_flat(assert_queries_flat, sales_manager, team):
    client = _client(sales_manager)

    def grow():
        for _ in range(4):
            user = TeamMembershipFactory(team=team, user=UserFactory(roles=["sales_rep"])).user
            Target.objects.create(period="2026-12", metric="revenue", value=5, user=user)
            Target.objects.create(period="2026-12", metric="won", value=5, user=user)
        Target.objects.create(
            period="2026-12",
            metric="won",
            value=3,
            team=Team.objects.create(name=f"T{Team.objects.count()}"),
        )

    grow()
    for url in ("/targets/?period=2026-12", "/reports/attainment/?period=2026-12"):
        client.get(url)
        assert_queries_flat(lambda url=url: client.get(url), grow=grow)
