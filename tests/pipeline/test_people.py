"""People's names: family name first without a space for Chinese, and a sensible order."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.urls import reverse

from leads.choices import Stage
from pipeline.people import display_name, display_name_with_username, people_ordering
from tests.factories import LeadFactory, UserFactory, lead_in_stage

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="collation order needs PostgreSQL with ICU"
)


def _user(username="u", first="", last=""):
    # Unsaved users are enough for a pure helper.
    from django.contrib.auth import get_user_model

    return get_user_model()(username=username, first_name=first, last_name=last)


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("伟", "张", "张伟"),  # family name first, no space
        ("建华", "欧阳", "欧阳建华"),  # two-character family name
        (" 娜 ", "李", "李娜"),  # stray spaces do not survive
        ("Cindy", "Lin", "Cindy Lin"),
        ("Cindy", "", "Cindy"),
        ("", "张", "张"),
        ("", "", "rep1"),  # no name: the username
    ],
)
def test_display_name(first, last, expected):
    assert display_name(_user("rep1", first, last)) == expected


def test_display_name_of_nobody_is_empty():
    assert display_name(None) == ""
    assert display_name(AnonymousUser()) == ""


def test_display_name_with_username_for_pickers():
    assert display_name_with_username(_user("rep1", "伟", "张")) == "张伟 (rep1)"
    assert display_name_with_username(_user("rep1")) == "rep1"


@pytest.mark.django_db
def test_lead_pages_show_chinese_names_family_name_first(client, desk):
    rep = UserFactory(username="rep1", first_name="伟", last_name="张", roles=["sales_rep"])
    desk.first_name, desk.last_name = "芳", "王"
    desk.save()
    lead = lead_in_stage(Stage.SQL, owner=rep, desk=desk)
    client.force_login(desk)

    html = client.get(reverse("leads:list")).content.decode()
    assert "张伟" in html  # the owner column
    assert "伟 张" not in html
    assert '<span class="username">王芳</span>' in html  # the header

    detail = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "张伟" in detail and "伟 张" not in detail

    export = client.get(reverse("export-leads"), {"file_format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    owner = rows[0].index("Owner")
    assert rows[1][owner] == "张伟"


@pytest.mark.django_db
@needs_postgres
def test_lead_list_sorts_chinese_names_and_companies_by_pinyin(client, desk):
    for name, company in [("张伟", "浙江制造"), ("李娜", "北京软件"), ("阿明", "安徽电气")]:
        LeadFactory(name=name, company__name=company, company__normalized_name=company)
    client.force_login(desk)
    page = client.get(reverse("leads:list"), {"sort": "name"})
    names = [lead.name for lead, _ in page.context["rows"]]
    # Code-point (C collation) order would be 张 李 阿.
    assert names == ["阿明", "李娜", "张伟"]
    page = client.get(reverse("leads:list"), {"sort": "-company"})
    assert [lead.company.name for lead, _ in page.context["rows"]] == [
        "浙江制造",
        "北京软件",
        "安徽电气",
    ]


@pytest.mark.django_db
@needs_postgres
def test_people_are_ordered_by_family_name_in_pinyin_order():
    from django.contrib.auth import get_user_model

    for username, first, last in [("a", "伟", "张"), ("b", "娜", "李"), ("c", "Kevin", "Liu")]:
        UserFactory(username=username, first_name=first, last_name=last)
    ordered = get_user_model().objects.filter(username__in="abc").order_by(*people_ordering())
    # Chinese names in pinyin order (li, zhang; code points would put 张 before 李), then
    # Latin names: the zh collation sorts Han before Latin script.
    assert [u.username for u in ordered] == ["b", "a", "c"]


@pytest.mark.django_db
def test_api_events_carry_the_actors_display_name(api, desk):
    desk.first_name, desk.last_name = "芳", "王"
    desk.save()
    lead = lead_in_stage(Stage.MQL, desk=desk)
    events = api(desk).get(f"/api/v1/leads/{lead.pk}/events/").json()  # not paginated
    qualified = next(e for e in events if e["kind"] == "qualified")
    assert qualified["actor"] == desk.pk and qualified["actor_name"] == "王芳"
    from leads.api.leads import LeadEventSerializer
    from leads.models import LeadEvent

    system = LeadEvent(lead=lead, kind="created", actor=None, at=lead.created_at)
    assert LeadEventSerializer(system).data["actor_name"] is None  # the system acted
