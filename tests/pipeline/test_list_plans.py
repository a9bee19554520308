"""Every list's first page is read from an index in its order (issue #17 item 8).

For each list page and list endpoint, the query that reads the page's rows is explained
on PostgreSQL with sequential scans and sorts priced out of reach (``enable_seqscan`` and
``enable_sort`` off): a ``Sort`` node or a ``Seq Scan`` that still shows means no index
serves that order, and at a million leads the page would sort the table.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.choices import Stage
from leads.filters import LEAD_ORDERS
from leads.models import ImportJob, Lead
from leads.selectors import lead_campaign_choices
from leads.views.lists import SORT_FIELDS
from notifications.models import Notification
from tests.factories import CampaignFactory, LeadFactory, conflict_review, lead_in_stage

pytestmark = pytest.mark.postgres

#: Every sort of the lead list is served by an index of the lead table, the company sort
#: included (the lead's own ``company_name``, leads without a company last either way).
INDEXED_SORTS = list(SORT_FIELDS)


def _page_query(queries: list[dict], table: str) -> str:
    """The statement that reads the rows of the page from ``table`` (ordered, limited)."""
    return _page_queries(queries, table)[0]


def _page_queries(queries: list[dict], table: str) -> list[str]:
    """Every statement reading rows of the page from ``table`` (a keyset page that crosses
    from a nullable key's values to its empty ones reads two segments)."""
    found = [
        query["sql"]
        for query in queries
        if re.search(rf'FROM "{table}"', query["sql"])
        and " ORDER BY " in query["sql"]
        and " LIMIT " in query["sql"]
        and not query["sql"].lstrip().startswith("SELECT COUNT")
    ]
    assert found, f"no ordered page query on {table}"
    return found


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        # Statistics of this tiny world, not whatever an earlier test left to autovacuum:
        # the plan must not depend on the order the suite ran in.
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        # Nor an index giving only a prefix of the order (then an Incremental Sort): which
        # of the two the planner picks on a tiny table depends on its statistics, and the
        # claim is that an index serves the whole order.
        cursor.execute("SET LOCAL enable_incremental_sort = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET enable_sort")
        cursor.execute("RESET enable_incremental_sort")
    return plan


def _assert_index_served(plan: str, table: str) -> None:
    assert "Sort" not in plan, plan
    assert f"Seq Scan on {table}" not in plan, plan


def _served(client, url: str, table: str) -> str:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    plan = _plan(_page_query(captured.captured_queries, table))
    _assert_index_served(plan, table)
    return plan


@pytest.fixture
def world(db, rep, desk):
    LeadFactory()
    lead_in_stage(Stage.MQL, desk=desk)
    lead_in_stage(Stage.MQL, desk=desk, in_pool=True)
    lead_in_stage(Stage.MQL, owner=rep, desk=desk)
    lead_in_stage(Stage.SQL, owner=rep, desk=desk)
    LeadFactory(company=None)
    conflict_review(LeadFactory())
    ImportJob.objects.create(
        campaign=CampaignFactory(), file="imports/x.csv", original_name="x.csv", file_kind="csv",
        headers=["name"], mapping={"0": "name"}, created_by=desk,
    )  # fmt: skip
    Notification.objects.create(user=desk, event="lead_assigned", text="x")


@pytest.mark.parametrize("sort", [*INDEXED_SORTS, *(f"-{name}" for name in INDEXED_SORTS)])
def test_every_lead_list_sort_is_index_served(client, manager, world, sort):
    client.force_login(manager)
    _served(client, f"/leads/?sort={sort}", "leads_lead")


@pytest.mark.parametrize("ordering", ["", *LEAD_ORDERS])
def test_every_api_lead_ordering_is_index_served(api, manager, world, ordering):
    query = f"?ordering={ordering}" if ordering else ""
    _served(api(manager), f"/api/v1/leads/{query}", "leads_lead")


@pytest.mark.parametrize("ordering", list(LEAD_ORDERS))
def test_every_cursor_page_is_index_served(api, manager, world, ordering):
    """Keyset pages (``pipeline.keyset``): forwards through the whole list, including a
    nullable key's crossing into its empty values, and backwards from the last page."""
    # Some leads with a follow-up and a company name, some without: the nullable keys'
    # pages cross from values to empty ones.
    for number, lead in enumerate(Lead.objects.order_by("id")):
        lead.next_follow_up_at = timezone.now() if number % 2 else None
        lead.company_name = lead.company.name if lead.company_id and number % 3 else None
        lead.save(update_fields=["next_follow_up_at", "company_name"])
    client = api(manager)
    url = f"/api/v1/leads/?ordering={ordering}&page_size=1"
    pages = []
    while url:
        with CaptureQueriesContext(connection) as captured:
            body = client.get(url).json()
        pages.append(body)
        if "cursor=" in url:
            for sql in _page_queries(captured.captured_queries, "leads_lead"):
                _assert_index_served(_plan(sql), "leads_lead")
        url = body["next"]
    assert len(pages) == Lead.objects.count()  # every lead of the world, one a page
    url = pages[-1]["previous"]
    while url and "cursor=" in url:
        with CaptureQueriesContext(connection) as captured:
            body = client.get(url).json()
        for sql in _page_queries(captured.captured_queries, "leads_lead"):
            _assert_index_served(_plan(sql), "leads_lead")
        url = body["previous"]


def test_lead_list_page_cursor_is_index_served(client, manager, world):
    LeadFactory.create_batch(30)
    client.force_login(manager)
    for sort in ("-created_at", "company", "-next_follow_up_at"):
        first = client.get(f"/leads/?sort={sort}")
        _served(client, "/leads/" + first.context["page_next_url"], "leads_lead")


def test_pool_my_leads_and_new_for_me_are_index_served(client, rep, world):
    client.force_login(rep)
    _served(client, "/assignment/pool/", "leads_lead")
    _served(client, "/assignment/new-for-me/", "leads_lead")
    # My leads (the lead list with owner=me): the rep's visibility is owner or pool.
    _served(client, f"/leads/?owner={rep.pk}", "leads_lead")


def test_my_leads_newest_first_reads_the_owners_index(client, rep, world):
    """My leads in the default order walk the rep's own leads (``lead_owner_created``),
    not the whole table's newest filtered for theirs."""
    LeadFactory.create_batch(20)
    lead_in_stage(Stage.SQL, owner=rep)
    client.force_login(rep)
    plan = _served(client, f"/leads/?owner={rep.pk}", "leads_lead")
    assert "lead_owner_created" in plan, plan


def test_desk_queue_and_routing_page_are_index_served(client, desk, world):
    client.force_login(desk)
    _served(client, "/leads/desk/", "leads_lead")
    _served(client, "/assignment/route/", "leads_lead")


def test_imports_reviews_and_notifications_are_index_served(client, desk, world, api):
    client.force_login(desk)
    _served(client, "/imports/", "leads_importjob")
    _served(client, "/leads/desk/reviews/", "leads_contactreview")
    _served(client, "/me/notifications/", "notifications_notification")
    _served(api(desk), "/api/v1/contact-reviews/", "leads_contactreview")


def test_a_reps_campaign_choices_are_read_from_their_index(rep, world):
    """The lead list's campaign drop-down of a rep (``lead_campaign_choices``): the source
    campaigns of the leads they hold, from ``lead_owner_campaign`` (owner, campaign; pooled
    leads left out), never a scan of the lead table; same campaigns as before."""
    choices = lead_campaign_choices(rep)
    held = Lead.objects.filter(owner=rep, in_pool=False).values_list("source_campaign", flat=True)
    assert set(choices.values_list("pk", flat=True)) == set(held) - {None}
    sql, params = choices.query.sql_with_params()
    with connection.cursor() as cursor:
        plan = _plan(cursor.mogrify(sql, params).decode())
    assert "lead_owner_campaign" in plan and "Seq Scan on leads_lead" not in plan, plan


def test_the_default_order_is_plain_desc_not_nulls_last(client, manager, world):
    """The regression of issue #17: ``created_at DESC NULLS LAST`` on a NOT NULL column."""
    client.force_login(manager)
    with CaptureQueriesContext(connection) as captured:
        client.get("/leads/")
    sql = _page_query(captured.captured_queries, "leads_lead")
    assert "NULLS LAST" not in sql
    assert '"created_at" DESC, "leads_lead"."id" DESC' in sql


@pytest.mark.parametrize(
    ("who", "path", "table"),
    [
        ("rep", "/assignment/pool/", "leads_lead"),
        ("rep", "/assignment/new-for-me/", "leads_lead"),
        ("desk", "/leads/desk/", "leads_lead"),
        ("desk", "/assignment/route/", "leads_lead"),
        ("desk", "/imports/", "leads_importjob"),
    ],
)
def test_queue_cursor_pages_are_index_served(client, rep, desk, world, monkeypatch, who, path, table):  # fmt: skip  # noqa: E501
    """The queues' keyset pages (``pipeline.keyset``): each segment of a page past the
    first, forwards and back, is an index range of the queue's order."""
    monkeypatch.setattr("assignment.views.PAGE_SIZE", 1)
    monkeypatch.setattr("leads.views.desk.page_size", lambda request: 1)
    monkeypatch.setattr("leads.views.imports.IMPORTS_PER_PAGE", 1)
    now = timezone.now()
    for score in (10, 55, 55):
        LeadFactory(score=score)
        lead_in_stage(Stage.MQL, desk=desk, in_pool=True, score=score)
        lead_in_stage(Stage.MQL, owner=rep, desk=desk)
        lead_in_stage(Stage.MQL, desk=desk)
        ImportJob.objects.create(
            campaign=CampaignFactory(), file="imports/x.csv", original_name="x.csv",
            file_kind="csv", headers=["name"], mapping={"0": "name"}, created_by=desk,
        )  # fmt: skip
    Lead.objects.filter(owner=rep).update(assigned_at=now)
    client.force_login(rep if who == "rep" else desk)
    following = client.get(path).context["page_next_url"]
    assert following, "the world fills more than one page"
    explained = 0
    for link in ("page_next_url", "page_previous_url"):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path + following)
        for sql in _page_queries(captured.captured_queries, table):
            if sql.split(" FROM ", 1)[1].startswith(f'"{table}"'):  # the rows, not a join
                _assert_index_served(_plan(sql), table)
                explained += 1
        following = response.context[link] or following
    assert explained >= 2
