"""The campaign pages: list, create/edit, detail with costs, funnel, leads and the snippet.

Each test checks what the page shows *and* what the database holds afterwards.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.models import Campaign, CampaignCost, Channel
from leads import lifecycle
from leads.choices import TouchKind
from tests.factories import (
    CampaignCostFactory,
    CampaignFactory,
    LeadFactory,
    UserFactory,
    lead_in_stage,
)

pytestmark = pytest.mark.django_db


def _get(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params)


def _listed(response) -> list[str]:
    return [campaign.name for campaign, *_figures in response.context["rows"]]


def _form_data(**overrides) -> dict:
    data = {
        "name": "CIIF 2026 上海工博会",
        "channel": str(Channel.objects.get(code="trade_show").pk),
        "status": "planned",
        "owner": "",
        "start_date": "2026-09-20",
        "end_date": "2026-09-24",
        "budget": "120,000.50",
        "utm_campaign": "",
        "description": "Booth 5H-A01",
    }
    data.update(overrides)
    return data


# --------------------------------------------------------------------------------------
# List
# --------------------------------------------------------------------------------------


def test_list_shows_budget_vs_cost_leads_and_mqls(client, marketer, desk):
    campaign = CampaignFactory(name="SEM Q2", owner=marketer, budget=Decimal("1000.00"))
    CampaignCostFactory(campaign=campaign, amount=Decimal("250.00"))
    CampaignCostFactory(campaign=campaign, amount=Decimal("150.00"))
    LeadFactory(source_campaign=campaign)
    lead_in_stage("mql", source_campaign=campaign, desk=desk)

    response = _get(client, marketer, reverse("campaigns:list"))

    assert response.status_code == 200
    listed = response.context["rows"][0][0]
    assert (listed.actual_cost_sum, listed.lead_count, listed.mql_count) == (
        Decimal("400.00"),
        2,
        1,
    )
    assert response.context["rows"][0][1] == 40  # percent of the budget spent
    html = response.content.decode()
    assert "SEM Q2" in html
    assert "400.00" in html
    assert "40%" in html
    assert reverse("campaigns:create") in html  # marketers get "New campaign"


def test_list_filters_by_kind_channel_status_owner_and_search(client, marketer):
    other = UserFactory(roles=["marketer"])
    CampaignFactory(name="Website form", status="active", owner=marketer)
    CampaignFactory(
        name="Trade show",
        channel=Channel.objects.get(code="trade_show"),
        status="planned",
        owner=other,
    )
    CampaignFactory(name="Old webinar", channel=Channel.objects.get(code="webinar"),
                    status="completed", utm_campaign="webinar-2025")  # fmt: skip
    url = reverse("campaigns:list")

    assert set(_listed(_get(client, marketer, url, kind="offline"))) == {
        "Old webinar",
        "Trade show",
    }
    assert _listed(_get(client, marketer, url, channel="trade_show")) == ["Trade show"]
    assert set(_listed(_get(client, marketer, url, status=["active", "planned"]))) == {
        "Website form",
        "Trade show",
    }
    assert _listed(_get(client, marketer, url, owner=other.pk)) == ["Trade show"]
    assert _listed(_get(client, marketer, url, q="webinar-2025")) == ["Old webinar"]
    # The channel filter is grouped by online/offline with both names.
    html = _get(client, marketer, url).content.decode()
    assert re.search(r'<optgroup label="Offline">.*?线下参展', html, re.S)


def test_list_sorts_by_actual_cost(client, marketer):
    cheap = CampaignFactory(name="Cheap")
    dear = CampaignFactory(name="Dear")
    CampaignCostFactory(campaign=cheap, amount=Decimal("10"))
    CampaignCostFactory(campaign=dear, amount=Decimal("900"))

    url = reverse("campaigns:list")
    assert _listed(_get(client, marketer, url, sort="-actual_cost")) == ["Dear", "Cheap"]
    assert _listed(_get(client, marketer, url, sort="actual_cost")) == ["Cheap", "Dear"]


def test_list_query_count_does_not_grow_with_campaigns(client, marketer, assert_queries_flat):
    def make(n):
        for _ in range(n):
            campaign = CampaignFactory()
            CampaignCostFactory(campaign=campaign)
            LeadFactory(source_campaign=campaign)

    client.force_login(marketer)
    url = reverse("campaigns:list")
    make(3)
    client.get(url)  # warm caches (content types, sessions)
    response = assert_queries_flat(lambda: client.get(url), grow=lambda: make(17))
    assert len(response.context["rows"]) == 20


def test_sales_cannot_open_campaign_pages(client, rep):
    campaign = CampaignFactory()
    assert _get(client, rep, reverse("campaigns:list")).status_code == 403
    assert _get(client, rep, reverse("campaigns:detail", args=[campaign.pk])).status_code == 404
    assert _get(client, rep, reverse("campaigns:create")).status_code == 403
    assert _get(client, rep, reverse("campaigns:edit", args=[campaign.pk])).status_code == 404


def test_desk_and_management_read_without_editing(client, desk, manager):
    campaign = CampaignFactory(name="Read only")
    for user in (desk, manager):
        response = _get(client, user, reverse("campaigns:list"))
        assert response.status_code == 200
        assert _listed(response) == ["Read only"]
        assert reverse("campaigns:create") not in response.content.decode()
        detail = _get(client, user, reverse("campaigns:detail", args=[campaign.pk]))
        assert detail.status_code == 200
        assert reverse("campaigns:edit", args=[campaign.pk]) not in detail.content.decode()
    assert _get(client, desk, reverse("campaigns:create")).status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("campaigns:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --------------------------------------------------------------------------------------
# Create and edit
# --------------------------------------------------------------------------------------


def test_marketer_creates_a_campaign_they_own(client, marketer):
    client.force_login(marketer)
    page = client.get(reverse("campaigns:create"))
    html = page.content.decode()
    assert re.search(r'<optgroup label="Online">.*?Website · 官网.*?</optgroup>', html, re.S)
    assert re.search(r'<optgroup label="Offline">.*?Trade shows · 线下参展', html, re.S)

    response = client.post(reverse("campaigns:create"), _form_data())

    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:detail", args=[campaign.pk])
    assert campaign.owner == marketer
    assert campaign.channel.code == "trade_show"
    assert campaign.budget == Decimal("120000.50")
    assert campaign.utm_campaign  # made from the name
    assert campaign.start_date == dt.date(2026, 9, 20)


def test_channel_names_follow_the_language(client, marketer):
    client.force_login(marketer)
    html = client.get(reverse("campaigns:create"), HTTP_ACCEPT_LANGUAGE="zh-hans").content
    assert "线下参展 · Trade shows" in html.decode()


@pytest.mark.parametrize(
    ("budget", "message"),
    [("abc", "is not an amount of money"), ("-5", "cannot be negative")],
)
def test_bad_budget_shows_the_error_and_saves_nothing(client, marketer, budget, message):
    client.force_login(marketer)
    response = client.post(reverse("campaigns:create"), _form_data(budget=budget))

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["budget"])
    assert Campaign.objects.count() == 0


def test_end_before_start_is_refused_on_the_field(client, marketer):
    client.force_login(marketer)
    response = client.post(
        reverse("campaigns:create"), _form_data(start_date="2026-09-24", end_date="2026-09-20")
    )
    assert "end_date" in response.context["form"].errors
    assert Campaign.objects.count() == 0


def test_taken_utm_campaign_is_refused(client, marketer):
    CampaignFactory(utm_campaign="ciif-2026")
    client.force_login(marketer)
    response = client.post(reverse("campaigns:create"), _form_data(utm_campaign="ciif-2026"))
    assert "utm_campaign" in response.context["form"].errors
    assert Campaign.objects.count() == 1


def test_owner_edits_their_campaign(client, marketer):
    campaign = CampaignFactory(owner=marketer, name="Before")
    client.force_login(marketer)
    url = reverse("campaigns:edit", args=[campaign.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["form"].initial["name"] == "Before"

    response = client.post(url, _form_data(name="After", status="active", budget="500"))

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.status, campaign.budget) == ("After", "active", Decimal("500"))


def test_marketer_cannot_edit_another_marketers_campaign(client, marketer):
    campaign = CampaignFactory(name="Theirs")  # owned by another marketer
    client.force_login(marketer)
    url = reverse("campaigns:edit", args=[campaign.pk])

    assert client.get(url).status_code == 403
    response = client.post(url, _form_data(name="Mine now"))

    assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.name == "Theirs"
    detail = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    assert url not in detail.content.decode()  # no Edit button either


# --------------------------------------------------------------------------------------
# Detail
# --------------------------------------------------------------------------------------


def test_detail_shows_figures_funnel_leads_touches_and_snippets(client, marketer, desk, rep):
    campaign = CampaignFactory(owner=marketer, name="Webinar 5月", budget=Decimal("2000"))
    CampaignCostFactory(campaign=campaign, amount=Decimal("1000"))
    new = LeadFactory(source_campaign=campaign, name="新线索")
    lead_in_stage("won", owner=rep, desk=desk, source_campaign=campaign)  # won 4800
    # A known person arriving again through this campaign: a touch, not a lead.
    lifecycle.lead_create(
        actor=None,
        fields={"name": "again", "phone": new.phone},
        campaign=campaign,
        touch_kind=TouchKind.FORM,
    )

    response = _get(client, marketer, reverse("campaigns:detail", args=[campaign.pk]))

    assert response.status_code == 200
    numbers = response.context["numbers"]
    assert (numbers["leads"], numbers["mqls"], numbers["sqls"], numbers["won"]) == (2, 1, 1, 1)
    assert numbers["cost"] == Decimal("1000.00")
    assert numbers["revenue"] == Decimal("4800.00")
    assert numbers["cpl"] == Decimal("500.00")
    assert response.context["roi_pct"] == 380
    assert [step["count"] for step in response.context["funnel"]] == [2, 1, 1, 1, 1]
    assert response.context["touch_total"] == 1
    html = response.content.decode()
    assert reverse("leads:detail", args=[new.pk]) in html
    assert f"/f/{campaign.public_key}/" in html
    assert "&lt;iframe src=" in html  # the snippet is shown as text, not embedded
    assert "/api/v1/capture/" in html
    assert campaign.public_key in html
    assert f"{reverse('imports:new')}?campaign={campaign.pk}" in html
    assert "+380.0%" in html


def test_roi_is_a_dash_without_cost(client, marketer):
    campaign = CampaignFactory(owner=marketer)
    LeadFactory(source_campaign=campaign)
    response = _get(client, marketer, reverse("campaigns:detail", args=[campaign.pk]))
    assert response.context["numbers"]["roi"] is None
    assert response.context["numbers"]["cpl"] == Decimal("0.00")
    assert response.context["roi_pct"] is None


def test_recent_leads_are_the_twenty_latest(client, marketer):
    campaign = CampaignFactory(owner=marketer)
    for _ in range(22):
        LeadFactory(source_campaign=campaign)
    response = _get(client, marketer, reverse("campaigns:detail", args=[campaign.pk]))
    assert len(response.context["recent_leads"]) == 20
    assert response.context["numbers"]["leads"] == 22


# --------------------------------------------------------------------------------------
# Costs
# --------------------------------------------------------------------------------------


def test_cost_add_and_delete_update_the_actual_cost(client, marketer):
    campaign = CampaignFactory(owner=marketer, budget=Decimal("1000"))
    client.force_login(marketer)
    detail = reverse("campaigns:detail", args=[campaign.pk])

    response = client.post(
        reverse("campaigns:cost-add", args=[campaign.pk]),
        {"date": "2026-05-01", "amount": "1,234.50", "note": "展位费"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{detail}#costs"
    cost = CampaignCost.objects.get()
    assert (cost.amount, cost.note) == (Decimal("1234.50"), "展位费")
    page = client.get(detail)
    assert page.context["numbers"]["cost"] == Decimal("1234.50")
    assert page.context["spent"] == 123
    assert "展位费" in page.content.decode()

    response = client.post(reverse("campaigns:cost-delete", args=[campaign.pk, cost.pk]))
    assert response.status_code == 302
    assert not CampaignCost.objects.exists()
    assert client.get(detail).context["numbers"]["cost"] == Decimal("0.00")


def test_bad_cost_amount_is_shown_on_the_form(client, marketer):
    campaign = CampaignFactory(owner=marketer)
    client.force_login(marketer)
    response = client.post(
        reverse("campaigns:cost-add", args=[campaign.pk]), {"date": "2026-05-01", "amount": "-3"}
    )
    assert response.status_code == 400
    assert "cannot be negative" in " ".join(response.context["cost_form"].errors["amount"])
    assert not CampaignCost.objects.exists()


def test_costs_of_another_marketers_campaign_are_refused(client, marketer):
    campaign = CampaignFactory()
    cost = CampaignCostFactory(campaign=campaign)
    client.force_login(marketer)

    add = client.post(
        reverse("campaigns:cost-add", args=[campaign.pk]), {"date": "2026-05-01", "amount": "9"}
    )
    delete = client.post(reverse("campaigns:cost-delete", args=[campaign.pk, cost.pk]))

    assert (add.status_code, delete.status_code) == (403, 403)
    assert list(CampaignCost.objects.values_list("pk", flat=True)) == [cost.pk]


def test_cost_of_another_campaign_is_not_found(client, marketer):
    mine = CampaignFactory(owner=marketer)
    cost = CampaignCostFactory()
    client.force_login(marketer)
    response = client.post(reverse("campaigns:cost-delete", args=[mine.pk, cost.pk]))
    assert response.status_code == 404
    assert CampaignCost.objects.filter(pk=cost.pk).exists()


def test_cost_pages_are_post_only(client, marketer):
    campaign = CampaignFactory(owner=marketer)
    client.force_login(marketer)
    assert client.get(reverse("campaigns:cost-add", args=[campaign.pk])).status_code == 405
