"""Keyset pages of the queues (``pipeline.keyset``; issue #17 item 8): the pool, "new for
me", the desk's queue, the routing page and the imports, page and API. Following "Next"
(and back with "Previous") gives exactly the rows the user's scoped list holds, in the
order of its first page; an altered cursor, or one of another list, is a 400."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from leads.choices import Stage
from leads.models import ImportJob, Lead
from leads.selectors import (
    DESK_QUEUE_ORDER,
    IMPORT_ORDER,
    NEW_FOR_ME_ORDER,
    POOL_ORDER,
    ROUTE_ORDER,
    leads_visible_to,
    new_for_me,
)
from pipeline.keyset import KeysetOrder, cursor_for
from tests.factories import CampaignFactory, LeadFactory, UserFactory

SIZE = 3


@pytest.fixture
def small_pages(monkeypatch):
    """Three rows a page, so a dozen rows make several pages."""
    monkeypatch.setattr("assignment.views.PAGE_SIZE", SIZE)
    monkeypatch.setattr("leads.views.desk.page_size", lambda request: SIZE)
    monkeypatch.setattr("leads.views.imports.IMPORTS_PER_PAGE", SIZE)


@pytest.fixture
def queues(db, rep, desk):
    """Of each queue, rows tied on the first key and on the second (the id decides), and
    rows of the same kind that the rep may not see (another rep's)."""
    now = timezone.now()
    other = UserFactory(roles=["sales_rep"])
    for i in range(11):
        score = [10, 55, 55, 90][i % 4]
        when = now - dt.timedelta(hours=i % 3)  # ties on the second key too
        mql = {"stage": Stage.MQL, "mql_at": when}
        LeadFactory(score=score, created_at=when)  # the desk's new leads
        LeadFactory(score=score, in_pool=True, pooled_at=when, **mql)  # pooled
        LeadFactory(score=score, **mql)  # unowned MQLs to route
        LeadFactory(owner=rep, assigned_at=None if i % 4 == 0 else when, **mql)  # new for rep
        LeadFactory(owner=other, assigned_at=when, **mql)  # new for another rep
    for i in range(8):
        job = ImportJob.objects.create(
            campaign=CampaignFactory(), file="imports/x.csv", original_name=f"x{i}.csv",
            file_kind="csv", headers=["name"], mapping={"0": "name"}, created_by=desk,
            awaiting_mapping=i == 7,
        )  # fmt: skip
        ImportJob.objects.filter(pk=job.pk).update(created_at=now - dt.timedelta(hours=i % 3))


def _ids(rows) -> list[int]:
    """The ids of a page's rows, whatever shape its rows have."""
    ids = []
    for row in rows:
        item = row["lead"] if isinstance(row, dict) else row[0] if isinstance(row, tuple) else row
        ids.append(item.pk)
    return ids


def _walk(client, path: str) -> tuple[list[int], list]:
    """Every row from the first page through "Next", then back through "Previous"."""
    url = path
    seen: list[int] = []
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        pages.append(_ids(response.context["rows"]))
        seen += pages[-1]
        assert len(pages[-1]) <= SIZE
        following = response.context["page_next_url"]
        url = path.split("?")[0] + following if following else None
    back = [pages[-1]]
    previous = response.context["page_previous_url"]
    while previous:
        response = client.get(path.split("?")[0] + previous)
        assert response.status_code == 200
        back.append(_ids(response.context["rows"]))
        previous = response.context["page_previous_url"]
    assert back[::-1] == pages
    return seen, pages


def _in_order(queryset, order: KeysetOrder) -> list[int]:
    return list(queryset.order_by(*order.order_by()).values_list("pk", flat=True))


def test_rep_walks_the_pool_they_see(client, rep, queues, small_pages):
    client.force_login(rep)
    seen, pages = _walk(client, "/assignment/pool/")
    expected = _in_order(leads_visible_to(rep).filter(in_pool=True), POOL_ORDER)
    assert seen == expected and len(seen) == 11 and len(pages) == 4
    # The order is the pool's: best score first, then the longest pooled.
    keys = [(-lead.score, lead.pooled_at, lead.pk) for lead in Lead.objects.filter(pk__in=seen)]
    assert [key[2] for key in sorted(keys)] == seen


def test_rep_walks_only_their_own_new_leads(client, rep, queues, small_pages):
    client.force_login(rep)
    seen, _pages = _walk(client, "/assignment/new-for-me/")
    assert seen == _in_order(new_for_me(rep), NEW_FOR_ME_ORDER)
    assert set(seen) == set(Lead.objects.filter(owner=rep).values_list("pk", flat=True))
    # Those never stamped with an assignment time come last.
    assert all(lead.assigned_at is None for lead in Lead.objects.filter(pk__in=seen[-3:]))


def test_desk_walks_the_new_leads_queue(client, desk, queues, small_pages):
    client.force_login(desk)
    seen, _pages = _walk(client, "/leads/desk/")
    new = leads_visible_to(desk).filter(stage=Stage.NEW)
    assert seen == _in_order(new, DESK_QUEUE_ORDER) and len(seen) == 11


def test_desk_walks_the_routing_page(client, desk, queues, small_pages):
    client.force_login(desk)
    seen, _pages = _walk(client, "/assignment/route/")
    routable = leads_visible_to(desk).filter(stage=Stage.MQL, owner__isnull=True)
    assert seen == _in_order(routable, ROUTE_ORDER) and len(seen) == 22


def test_desk_walks_the_import_list(client, desk, queues, small_pages):
    client.force_login(desk)
    seen, _pages = _walk(client, "/imports/")
    listed = ImportJob.objects.exclude(awaiting_mapping=True)
    assert seen == _in_order(listed, IMPORT_ORDER) and len(seen) == 7


@pytest.mark.parametrize(
    "path", ["/assignment/pool/", "/assignment/new-for-me/", "/leads/desk/", "/imports/"]
)
def test_altered_cursor_shows_the_first_page_with_an_error(client, rep, desk, queues, path):
    user = desk if path in ("/leads/desk/", "/imports/") else rep
    client.force_login(user)
    first = client.get(path)
    response = client.get(path + "?cursor=garbage")
    assert response.status_code == 400
    assert "This page link is invalid" in response.content.decode()
    assert _ids(response.context["rows"]) == _ids(first.context["rows"])


def test_cursor_of_another_queue_is_a_400(client, rep, queues):
    """A desk-queue cursor (valid, signed) pasted into the pool: refused, not misread."""
    lead = Lead.objects.filter(stage=Stage.NEW).first()
    client.force_login(rep)
    response = client.get(f"/assignment/pool/?cursor={cursor_for(DESK_QUEUE_ORDER, lead)}")
    assert response.status_code == 400


def test_pool_cursor_cannot_reach_past_the_reps_scope(client, rep, queues):
    """A cursor made on a lead the rep may not see still pages only through the pool."""
    hidden = Lead.objects.filter(in_pool=False, stage=Stage.MQL).exclude(owner=rep).first()
    hidden.pooled_at = timezone.now()
    client.force_login(rep)
    response = client.get(f"/assignment/pool/?cursor={cursor_for(POOL_ORDER, hidden)}")
    assert response.status_code == 200
    visible = set(leads_visible_to(rep).filter(in_pool=True).values_list("pk", flat=True))
    assert set(_ids(response.context["rows"])) <= visible


def test_api_imports_walk_by_cursor_both_orders(api, desk, queues):
    client = api(desk)
    for ordering, descending in (("", True), ("created_at", False)):
        url = f"/api/v1/imports/?page_size=2&ordering={ordering}"
        seen = []
        bodies = []
        while url:
            body = client.get(url).json()
            bodies.append(body)
            seen += [row["id"] for row in body["results"]]
            url = body["next"]
        order = IMPORT_ORDER if descending else KeysetOrder("x", IMPORT_ORDER.key)
        assert seen == _in_order(ImportJob.objects.all(), order) and len(seen) == 8
        assert all("cursor=" in body["next"] for body in bodies[:-1])


def test_api_imports_refuse_altered_cursors_and_unknown_orderings(api, desk, queues):
    client = api(desk)
    response = client.get("/api/v1/imports/?cursor=garbage")
    assert response.status_code == 400 and "cursor" in response.json()
    token = client.get("/api/v1/imports/?page_size=2").json()["next"].split("cursor=")[1]
    assert client.get(f"/api/v1/imports/?ordering=created_at&cursor={token}").status_code == 400
    assert client.get("/api/v1/imports/?ordering=status").status_code == 400


def test_queue_cursor_pages_query_count_does_not_grow(
    client, desk, queues, small_pages, assert_queries_flat
):
    client.force_login(desk)
    url = "/leads/desk/" + client.get("/leads/desk/").context["page_next_url"]
    assert_queries_flat(
        lambda: client.get(url), grow=lambda: LeadFactory.create_batch(10, score=1), max_queries=20
    )
