"""Numbers and dates on pages follow the language: thousands grouped by "," in English and
Chinese alike, dates ISO in English and 2026年1月1日 in Chinese. Exports and form inputs
keep raw values."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation

from leads.choices import Stage
from reports.charts import grouped
from reports.views.common import fmt
from tests.factories import CampaignCostFactory, CampaignFactory, lead_in_stage

pytestmark = pytest.mark.django_db


def _in(client, language: str):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


@pytest.fixture
def campaign(marketer):
    campaign = CampaignFactory(owner=marketer, budget=Decimal("1234567.89"))
    CampaignCostFactory(campaign=campaign, amount=Decimal("2815039.50"))
    return campaign


@pytest.mark.parametrize(("language", "date"), [("zh-hans", "2026年1月1日"), ("en", "2026-01-01")])
def test_campaign_page_groups_money_and_formats_dates(client, marketer, campaign, language, date):
    _in(client, language).force_login(marketer)
    html = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "1,234,567.89" in html  # the budget, grouped in both languages
    assert "2,815,039.50" in html  # the actual cost
    assert date in html  # the start date
    assert "1234567.89" not in html.replace('value="1234567.89"', "")


def test_chinese_lead_list_shows_chinese_dates(client, desk):
    lead = lead_in_stage(Stage.NEW)
    _in(client, "zh-hans").force_login(desk)
    html = client.get(reverse("leads:list")).content.decode()
    created = timezone.localtime(lead.created_at)
    assert f"{created.year}年{created.month}月{created.day}日" in html


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_counts_are_grouped_in_both_languages(language):
    # Pages show counts with |intcomma; thousands of rows are not needed to check it.
    with translation.override(language):
        rendered = Template("{% load humanize %}{{ n|intcomma }}").render(Context({"n": 1234567}))
    assert rendered == "1,234,567"


def test_form_inputs_and_exports_keep_raw_numbers(client, marketer, desk, campaign):
    _in(client, "zh-hans").force_login(marketer)
    form = client.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    assert 'value="1234567.89"' in form  # an <input> must stay parseable
    assert 'value="2026-01-01"' in form  # <input type="date"> takes ISO only

    lead = lead_in_stage(Stage.NEW, budget=Decimal("1234567.89"))
    _in(client, "zh-hans").force_login(desk)
    export = client.get(reverse("export-leads"), {"file_format": "csv"})
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][0] == str(lead.pk)
    assert "1,234,567" not in text


def test_api_numbers_are_not_localised(api, desk):
    lead = lead_in_stage(Stage.NEW, budget=Decimal("1234567.89"))
    response = api(desk).get(f"/api/v1/leads/{lead.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.json()["budget"] == "1234567.89"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_report_numbers_group_by_thousands_in_both_languages(language):
    with translation.override(language):
        assert grouped(2815039, 0) == "2,815,039"
        assert grouped(Decimal("1234567.885"), 2) == "1,234,567.89"
        assert fmt(1234567, "count") == "1,234,567"
