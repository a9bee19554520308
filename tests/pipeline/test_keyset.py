"""Keyset pagination of the lead list and ``/api/v1/leads/`` (``pipeline.keyset``; issue
#17 item 8): following ``next`` (and back with ``previous``) through signed cursors
gives every visible lead once, in exactly the order of the first page's full ordering,
for every named order; a cursor that was altered or belongs to another order is a 400."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.utils import timezone

from leads.choices import Stage
from leads.filters import LEAD_ORDERS, sorted_leads
from leads.models import Lead
from leads.selectors import leads_visible_to
from pipeline.keyset import SALT, InvalidCursor, cursor_for, parse_cursor
from tests.factories import CompanyFactory, LeadFactory, lead_in_stage

ORDERS = list(LEAD_ORDERS)


@pytest.fixture
def world(db, desk, rep):
    """Leads with ties on every key, leads without a company or a follow-up (the nullable
    keys' empty values), several stages, and pooled and owned ones."""
    now = timezone.now()
    leads = []
    for i in range(14):
        lead = LeadFactory(
            name=["王伟", "Alice", "李娜", "Bob"][i % 4],
            score=[10, 55, 55, 90][i % 4],
            grade="ABCD"[i % 3],
            company=None if i % 5 == 0 else CompanyFactory(name=["Acme", "北京科技"][i % 2]),
            created_at=now - dt.timedelta(hours=i % 6),  # ties on the creation time too
            next_follow_up_at=None if i % 3 else now + dt.timedelta(days=i % 4),
        )
        leads.append(lead)
    leads.append(lead_in_stage(Stage.MQL, desk=desk, in_pool=True))
    leads.append(lead_in_stage(Stage.SQL, owner=rep, desk=desk))
    leads.append(lead_in_stage(Stage.MQL, owner=rep, desk=desk))
    # The lead's own company name (what the company sort reads) follows its company.
    for lead in leads:
        Lead.objects.filter(pk=lead.pk).update(
            company_name=lead.company.name if lead.company_id else None
        )
    return leads


def _expected(user, sort: str) -> list[int]:
    return list(sorted_leads(leads_visible_to(user), sort).values_list("pk", flat=True))


def _walk_api(client, url: str) -> tuple[list[int], list[dict]]:
    seen: list[int] = []
    bodies = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        bodies.append(body)
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    return seen, bodies


@pytest.mark.parametrize("ordering", ORDERS)
def test_api_next_links_walk_every_lead_once_in_order(api, manager, world, ordering):
    client = api(manager)
    seen, bodies = _walk_api(client, f"/api/v1/leads/?ordering={ordering}&page_size=3")
    assert seen == _expected(manager, ordering)
    # Past the first page every ``next`` is a cursor, not a page number (no OFFSET).
    assert all("cursor=" in body["next"] for body in bodies[:-1])
    assert all("page=" not in body["next"] for body in bodies[:-1])
    assert all(body["count"] == len(world) for body in bodies)

    # And back: ``previous`` from the last page returns the same pages in reverse.
    back: list[list[int]] = []
    url = bodies[-1]["previous"]
    while url and "cursor=" in url:
        body = client.get(url).json()
        back.insert(0, [row["id"] for row in body["results"]])
        url = body["previous"]
    assert [pk for page in back for pk in page] == seen[: len(seen) - len(bodies[-1]["results"])]


def test_api_rep_walks_only_the_leads_they_see(api, rep, world):
    seen, _bodies = _walk_api(api(rep), "/api/v1/leads/?ordering=-score&page_size=1")
    assert seen == _expected(rep, "-score")
    assert set(seen) == {
        lead.pk for lead in world if lead.owner_id == rep.pk or lead.in_pool
    }  # own and pooled: three of the seventeen


def test_api_cursor_keeps_the_filters(api, manager, world):
    seen, _bodies = _walk_api(api(manager), "/api/v1/leads/?grade=A&ordering=name&page_size=2")
    expected = sorted_leads(leads_visible_to(manager).filter(grade="A"), "name")
    assert seen == list(expected.values_list("pk", flat=True)) and seen


def _cursor_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["cursor"][0]


def test_api_altered_cursor_is_a_400_with_a_clear_message(api, manager, world):
    client = api(manager)
    first = client.get("/api/v1/leads/?ordering=score&page_size=3").json()
    token = _cursor_of(first["next"])
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    answer = client.get(f"/api/v1/leads/?ordering=score&page_size=3&cursor={tampered}")
    assert answer.status_code == 400
    assert "altered" in answer.json()["cursor"][0]
    # A cursor signed by someone else (not with the project's key) is refused too.
    forged = signing.dumps({"o": "score", "v": 0, "i": 1}, salt=SALT, key="not-the-key")
    answer = client.get(f"/api/v1/leads/?ordering=score&cursor={forged}")
    assert answer.status_code == 400


def test_api_cursor_of_another_ordering_is_a_400(api, manager, world):
    client = api(manager)
    first = client.get("/api/v1/leads/?ordering=score&page_size=3").json()
    answer = client.get(f"/api/v1/leads/?ordering=-score&cursor={_cursor_of(first['next'])}")
    assert answer.status_code == 400 and "another sort" in answer.json()["cursor"][0]


def test_api_unknown_or_combined_ordering_is_a_400_naming_the_offered(api, manager, world):
    client = api(manager)
    for ordering in ("phone", "score,-created_at", "-"):
        answer = client.get(f"/api/v1/leads/?ordering={ordering}")
        assert answer.status_code == 400, ordering
        assert "-created_at" in answer.json()["ordering"][0]


def test_api_cursor_pages_query_count_does_not_grow(api, manager, world, assert_queries_flat):
    client = api(manager)
    first = client.get("/api/v1/leads/?ordering=-created_at&page_size=3").json()
    url = first["next"]
    assert_queries_flat(
        lambda: client.get(url),
        grow=lambda: LeadFactory.create_batch(10, created_at=timezone.now() - dt.timedelta(days=9)),
        max_queries=6,
    )


# -- the page -----------------------------------------------------------------------


def _walk_page(client, url: str) -> list[int]:
    seen: list[int] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += [lead.pk for lead, _contact in response.context["rows"]]
        url = response.context["page_next_url"]
        if url:
            url = "/leads/" + url
    return seen


@pytest.mark.parametrize("sort", ["-created_at", "company", "-company", "next_follow_up_at"])
def test_page_next_links_walk_every_lead_once_in_order(client, manager, world, sort):
    LeadFactory.create_batch(40, company=None, next_follow_up_at=None)  # past one page
    client.force_login(manager)
    seen = _walk_page(client, f"/leads/?sort={sort}&page_size=25")
    assert seen == _expected(manager, sort) and len(seen) == 57


def test_page_previous_link_returns_to_the_earlier_rows(client, manager, world):
    LeadFactory.create_batch(60)
    client.force_login(manager)
    first = client.get("/leads/?sort=-score")
    second = client.get("/leads/" + first.context["page_next_url"])
    third = client.get("/leads/" + second.context["page_next_url"])
    back = client.get("/leads/" + third.context["page_previous_url"])
    assert [lead.pk for lead, _ in back.context["rows"]] == [
        lead.pk for lead, _ in second.context["rows"]
    ]
    html = third.content.decode()
    assert "First page" in html and 'rel="prev"' in html


def test_page_altered_cursor_shows_the_first_page_with_an_error(client, manager, world):
    client.force_login(manager)
    response = client.get("/leads/?sort=score&cursor=garbage")
    assert response.status_code == 400
    assert "This page link is invalid" in response.content.decode()
    assert [lead.pk for lead, _ in response.context["rows"]] == _expected(manager, "score")[:25]


def test_sort_links_and_saved_views_drop_the_cursor(client, manager, world):
    LeadFactory.create_batch(30)
    client.force_login(manager)
    first = client.get("/leads/?sort=score")
    second = client.get("/leads/" + first.context["page_next_url"])
    html = second.content.decode()
    assert 'aria-sort="ascending" data-col="score"><a href="?sort=-score"' in html


# -- the module ---------------------------------------------------------------------


def test_cursor_round_trips_values_of_every_kind(world):
    lead = Lead.objects.get(pk=world[0].pk)
    for name, order in LEAD_ORDERS.items():
        cursor = parse_cursor(cursor_for(order, lead), order)
        assert (cursor.order, cursor.id, cursor.before) == (name, lead.pk, False)
        assert cursor.value == order.value_of(lead)
        with pytest.raises(InvalidCursor):
            other = LEAD_ORDERS["score" if name != "score" else "-score"]
            parse_cursor(cursor_for(order, lead), other)


def test_cursor_with_a_value_of_an_unknown_kind_is_invalid(db):
    token = signing.dumps({"o": "score", "v": [1, 2], "i": 1}, salt=SALT)
    with pytest.raises(InvalidCursor):
        parse_cursor(token, LEAD_ORDERS["score"])
    token = signing.dumps({"o": "score", "v": 1, "i": "1"}, salt=SALT)
    with pytest.raises(InvalidCursor):
        parse_cursor(token, LEAD_ORDERS["score"])


def test_page_cursor_query_count_does_not_grow(client, manager, world, assert_queries_flat):
    LeadFactory.create_batch(30)
    client.force_login(manager)
    url = "/leads/" + client.get("/leads/?sort=-score").context["page_next_url"]
    assert_queries_flat(
        lambda: client.get(url), grow=lambda: LeadFactory.create_batch(30, score=1), max_queries=14
    )
