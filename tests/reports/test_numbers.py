"""Numbers on the pages read one way everywhere, in English and Chinese: money with
thousands separators and the currency's decimals, fractions as percentages, ROI signed,
working hours with their unit; the scorecards table is formatted on the page and raw in
its export."""

from __future__ import annotations

import csv
import io

import pytest
from django.template import Context, Template
from django.utils import translation

from reports.views.common import fmt
from tests.reports.test_views import card_of, page, period, scorecard_world  # noqa: F401

pytestmark = pytest.mark.django_db


def render(source: str, **values) -> str:
    return Template("{% load report_numbers %}" + source).render(Context(values))


@pytest.mark.parametrize(
    ("language", "hours"),
    [("en", "1.9 h"), ("zh-hans", "1.9 小时")],
)
def test_filters_in_both_languages(language, hours):
    with translation.override(language):
        assert render("{{ v|money }}", v="1870800.00") == "1,870,800.00"
        assert render("{{ v|unit_money }}", v=12.345) == "12.35"
        assert render("{{ v|percent }}", v=0.625) == "62.5%"
        assert render("{{ v|roi }}", v=1.5) == "+150.0%"
        assert render("{{ v|roi }}", v=-0.2) == "−20.0%"
        assert render("{{ v|count }}", v=1234) == "1,234"
        assert render("{{ v|count }}", v=1.25) == "1.3"
        assert render("{{ v|hours }}", v=1.94) == hours
        assert render("{{ v|money }}|{{ v|roi }}", v=None) == "—|—"


def test_money_follows_the_currency(settings):
    settings.CURRENCY = "JPY"
    assert fmt(1870800, "money") == "1,870,800"
    settings.CURRENCY = "CNY"
    assert fmt(1870800, "money") == "1,870,800.00"


def test_scorecards_table_is_formatted_on_the_page_and_raw_in_the_export(
    client,
    manager,
    scorecard_world,  # noqa: F811
):
    response = page(client, manager, "/reports/scorecards/", **period())
    table = response.context["tables"]["scorecards"]
    texts = [[cell["text"] for cell in row] for row in table["rows"]]
    revenue = next(row for row in texts if row[2] == "Revenue")
    assert revenue[3] == card_of(response, "rep")["Revenue"]["value"]
    assert "," in revenue[3] and revenue[3].endswith(".00")
    rate = next(row for row in texts if row[2] == "Win rate")
    assert rate[3].endswith("%")
    exported = client.get("/reports/scorecards/", {**period(), "export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode("utf-8-sig"))))
    raw = next(row for row in rows if row[2] == "Revenue" and row[1] == revenue[1])
    assert raw[3] == revenue[3].replace(",", "")  # 4800.00: plain for spreadsheets
