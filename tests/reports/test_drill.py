"""From a figure to its leads: every linked count of the ROI pages opens the lead list of
exactly the leads it counts (whole-lead models), or every lead with credit there (shared
models, and the link says so); viewers who don't see every lead get no links."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from leads.models import Lead
from reports.views.common import fmt
from tests.reports.test_views import page, period, world  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def linked_figures(response) -> list[tuple[str, str, str]]:
    """(shown figure, url, title) of every link on a count: tiles, rows and totals."""
    kpis = response.context.get("kpis") or []
    found = [(kpi["value"], kpi["url"], kpi["url_title"]) for kpi in kpis]
    found = [item for item in found if item[1]]
    for table in response.context["tables"].values():
        for row in [*table["rows"], table["totals"] or []]:
            for cell in row:
                if cell["url"] and cell["url"].startswith("/leads/"):
                    found.append((cell["text"], cell["url"], cell.get("title", "")))
    return found


def listed(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["filter"].form
    assert not form.errors, form.errors
    return response.context["paginator"].count


@pytest.mark.parametrize("model", ["first_touch", "last_touch"])
@pytest.mark.parametrize(
    "url", ["/reports/", "/reports/channel/website/", "/reports/channel/trade_show/"]
)
def test_each_linked_count_lists_exactly_its_leads(client, manager, world, model, url):  # noqa: F811
    response = page(client, manager, url, **period(model=model))
    figures = linked_figures(response)
    # tiles (leads, MQLs, SQLs, won) and every count cell of the rows and totals
    assert len(figures) >= 4 + 5
    for shown, link, title in figures:
        assert fmt(listed(client, link), "count") == shown, link
        assert title == "The leads behind this figure"


def test_the_stage_and_credit_filters_reproduce_the_dashboard_row(client, manager, world):  # noqa: F811
    response = page(client, manager, "/reports/", **period(model="first_touch"))
    row = next(
        r for r in response.context["tables"]["channels"]["rows"] if r[0]["text"] == "Website"
    )
    labels = [str(c["label"]) for c in response.context["tables"]["channels"]["columns"]]
    query = parse_qs(urlsplit(row[labels.index("Won")]["url"]).query)
    assert query["credit_channel"] == ["website"] and query["reached"] == ["won"]
    assert query["credit_model"] == ["first_touch"]
    assert {"created_after", "created_before"} <= set(query)
    client.force_login(manager)
    won = client.get(row[labels.index("Won")]["url"]).context["page_obj"].object_list
    assert [lead.pk for lead in won] == [world["one"].pk]


def test_shared_credit_links_list_every_lead_with_credit_and_say_so(client, manager, world):  # noqa: F811
    response = page(client, manager, "/reports/", **period(model="linear"))
    row = next(
        r for r in response.context["tables"]["channels"]["rows"] if r[0]["text"] == "Website"
    )
    leads_cell = row[3]
    assert leads_cell["text"] == "1.2"  # 1/2 + 2/3: weighted
    assert "every lead with credit" in leads_cell["title"]
    client.force_login(manager)
    assert listed(client, leads_cell["url"]) == 2  # the two leads Website touched before SQL


def test_viewers_who_dont_see_every_lead_get_no_links(client, sales_manager, world):  # noqa: F811
    response = page(client, sales_manager, "/reports/", **period())
    assert response.status_code == 200
    assert linked_figures(response) == []


def test_reached_filter_follows_the_report_definitions(client, manager, world):  # noqa: F811
    client.force_login(manager)
    assert (
        listed(client, "/leads/?reached=mql") == Lead.objects.filter(mql_at__isnull=False).count()
    )
    assert listed(client, "/leads/?reached=won") == Lead.objects.filter(stage="won").count()
    response = client.get("/leads/?reached=maybe")
    assert response.context["filter"].form.errors


def test_key_columns_show_and_the_others_wait_for_all_columns(client, manager, world):  # noqa: F811
    """The channel table shows the key figures at 1366 px; the rest behind the toggle,
    and the export still has every column."""
    response = page(client, manager, "/reports/", **period())
    columns = response.context["tables"]["channels"]["columns"]
    shown = [str(c["short"] or c["label"]) for c in columns if "secondary" not in c["css"]]
    assert shown == [
        "Channel",
        "Cost",
        "Leads",
        "MQLs",
        "SQLs",
        "Opp.",
        "Won",
        "Revenue",
        "CPL",
        "CAC",
        "ROI",
    ]
    html = response.content.decode()
    assert '<abbr title="Cost per lead">CPL</abbr>' in html
    assert 'class="all-columns-toggle"' in html
    exported = client.get("/reports/", {**period(), "export": "csv", "table": "channels"})
    header = b"".join(exported.streaming_content).decode("utf-8-sig").splitlines()[0]
    assert "Cost per MQL" in header and "Win rate" in header and "Kind" in header


def test_scoreboard_quality_counts_list_exactly_their_leads(client, manager, world):  # noqa: F811
    """Whole leads by source channel: leads, MQLs, accepted and each grade's count."""
    response = page(client, manager, "/reports/scoreboard/", **period())
    figures = linked_figures(response)
    table = response.context["tables"]["quality"]
    linked_rows = [row for row in table["rows"] if any(cell["url"] for cell in row)]
    assert len(linked_rows) >= 3 and table["totals"][1]["url"]
    for shown, link, _title in figures:
        assert fmt(listed(client, link), "count") == shown, link
