"""Lists count up to a cap (``pipeline.pagination.COUNT_CAP``): past it the count says
"N+" and pages still go on to the end (issue #17 item 8)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from leads.models import Lead
from pipeline.pagination import CappedPaginator
from tests.factories import LeadFactory


@pytest.fixture
def cap_of_5(monkeypatch):
    monkeypatch.setattr(CappedPaginator, "count_cap", 5)


def test_count_is_exact_up_to_the_cap(db, cap_of_5):
    LeadFactory.create_batch(5)
    paginator = CappedPaginator(Lead.objects.order_by("id"), 2)
    assert (paginator.count, paginator.count_exact, paginator.count_label) == (5, True, "5")
    assert paginator.num_pages == 3
    assert not paginator.page(3).has_next()


def test_past_the_cap_pages_go_on_to_the_end(db, cap_of_5):
    leads = LeadFactory.create_batch(9)
    paginator = CappedPaginator(Lead.objects.order_by("id"), 2)
    assert (paginator.count, paginator.count_exact, paginator.count_label) == (5, False, "5+")
    pages = [paginator.page(number) for number in range(1, 6)]
    assert [lead.pk for page in pages for lead in page.object_list] == [x.pk for x in leads]
    assert [page.has_next() for page in pages] == [True, True, True, True, False]
    assert pages[4].start_index() == 9 and pages[4].end_index() == 9
    assert paginator.get_page(7).number == paginator.num_pages  # past the end: the last known


def test_lead_list_page_says_cap_plus(client, manager, cap_of_5):
    LeadFactory.create_batch(7)
    client.force_login(manager)
    page = client.get("/leads/?page_size=25").content.decode()
    assert "5+ leads" in page


def test_api_count_is_capped_and_next_reaches_the_last_row(api, manager, cap_of_5):
    leads = LeadFactory.create_batch(7)
    client = api(manager)
    body = client.get("/api/v1/leads/?page_size=3").json()
    assert (body["count"], body["count_exact"]) == (5, False)
    seen = [row["id"] for row in body["results"]]
    while body["next"]:
        body = client.get(body["next"]).json()
        seen += [row["id"] for row in body["results"]]
    assert sorted(seen) == sorted(lead.pk for lead in leads) and len(seen) == 7
    small = client.get("/api/v1/leads/?page_size=3&stage=won").json()
    assert (small["count"], small["count_exact"]) == (0, True)


def test_global_search_counts_up_to_the_cap(client, manager, cap_of_5):
    LeadFactory.create_batch(7, name="Zhang Wei")
    LeadFactory(name="Someone else")
    client.force_login(manager)
    page = client.get(reverse("leads:search"), {"q": "Zhang"})
    html = page.content.decode()
    assert page.context["total_label"] == "5+" and not page.context["total_exact"]
    assert "5+ leads match “Zhang”" in html
    assert len(page.context["rows"]) == 7  # the rows shown are not cut by the count's cap
    exact = client.get(reverse("leads:search"), {"q": "Someone"})
    assert (exact.context["total"], exact.context["total_exact"]) == (1, True)
    assert "1 lead matches “Someone”" in exact.content.decode()


def test_search_and_desk_tabs_count_only_up_to_the_short_cap(client, desk, monkeypatch):
    """A hint beside a short answer (the search's 50 rows, the desk's tab badges) counts
    up to ``SHORT_COUNT_CAP`` only: a tenth of the rows of the lists' cap."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pipeline.pagination import SHORT_COUNT_CAP

    monkeypatch.setattr("pipeline.pagination.SHORT_COUNT_CAP", 3)
    monkeypatch.setattr("leads.views.search.SHORT_COUNT_CAP", 3)
    monkeypatch.setattr("leads.views.desk.SHORT_COUNT_CAP", 3)
    LeadFactory.create_batch(5, name="Zhang Wei")
    client.force_login(desk)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(reverse("leads:search"), {"q": "Zhang"})
    assert page.context["total_label"] == "3+" and len(page.context["rows"]) == 5
    counts = [
        q["sql"]
        for q in captured.captured_queries
        if "COUNT(" in q["sql"] and 'FROM "leads_lead"' in q["sql"]
    ]
    assert counts and all("LIMIT 4" in sql for sql in counts)
    for path, tab in (("/leads/desk/", "new"), ("/leads/desk/reviews/", "reviews")):
        with CaptureQueriesContext(connection) as captured:
            desk_page = client.get(path)
        assert desk_page.context["counts"][tab] == "3+" or tab == "reviews"
        # The tab's badge is the list's own count: one count of each tab, no second one.
        counts = [q["sql"] for q in captured.captured_queries if "SELECT COUNT(" in q["sql"]]
        lead_counts = [sql for sql in counts if "notifications_notification" not in sql]
        assert len(lead_counts) == 3, lead_counts
        assert all("LIMIT 4" in sql for sql in lead_counts)
    assert len(client.get("/leads/desk/").context["rows"]) == 5  # rows are not cut by it
    assert SHORT_COUNT_CAP == 1_000
