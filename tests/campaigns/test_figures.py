"""The campaign figures the lists read (``CampaignFigures``, kept by ``campaigns.triggers``)
equal their definition (``campaigns.selectors.live_figures``) after any write.

Property test: seeded random worlds of campaigns, cost lines and leads, then random changes
through the real services and the set-based paths — lead creation (new and returning
person), imports (bulk writer and auto-qualification), qualification one by one and in bulk,
disqualification, a move to another campaign, a split of a contact review into a new lead,
erasure, cost lines added, edited and deleted, set-based updates and deletes of leads, a
campaign deleted — and after each, every campaign's cost, leads and MQLs from the table
equal the live count.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import F
from django.test import TestCase

from campaigns import services as campaign_services
from campaigns import triggers
from campaigns.models import Campaign, CampaignCost, CampaignFigures
from campaigns.selectors import live_figures, with_figures
from leads import lifecycle
from leads.actions import run_bulk
from leads.choices import Stage
from leads.lifecycle.rules import can_edit_lead
from leads.models import Lead
from leads.privacy import person_erase
from leads.reviews import review_different_person
from tests.factories import (
    CampaignCostFactory,
    CampaignFactory,
    UserFactory,
    conflict_review,
    lead_in_stage,
)

pytestmark = pytest.mark.django_db

SEEDS = (3, 17, 29)


def _figures(queryset) -> dict[int, tuple[Decimal, int, int]]:
    return {
        c.pk: (Decimal(c.actual_cost_sum).quantize(Decimal("0.01")), c.lead_count, c.mql_count)
        for c in queryset
    }


def assert_figures_exact() -> None:
    fast = _figures(with_figures(Campaign.objects.all()))
    live = _figures(live_figures(Campaign.objects.all()))
    assert fast == live
    # One row per campaign, no row left of a deleted one.
    assert set(CampaignFigures.objects.values_list("campaign_id", flat=True)) == set(live)


def _world(rng: random.Random, marketer) -> dict:
    campaigns = [CampaignFactory(owner=marketer) for _ in range(5)]
    for campaign in campaigns:
        for _ in range(rng.randint(0, 3)):
            CampaignCostFactory(campaign=campaign, amount=Decimal(rng.randint(1, 90000)) / 100)
    desk, rep = UserFactory(roles=["lead_desk"]), UserFactory(roles=["sales_rep"])
    for _ in range(12):
        stage = rng.choice([Stage.NEW, Stage.MQL, Stage.SQL, Stage.LOST, Stage.DISQUALIFIED])
        lead_in_stage(stage, owner=rep, desk=desk, source_campaign=rng.choice([*campaigns, None]))
    return {"campaigns": campaigns, "desk": desk, "rep": rep, "marketer": marketer}


def _import(api, world: dict, rng: random.Random, step: int) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["姓名", "公司", "手机", "职位"])
    for row in range(rng.randint(1, 4)):
        writer.writerow([f"导入{step}-{row}", "某公司", f"1390{step:03d}{row:04d}", "经理"])
    # One known person: a touch, not a lead.
    known = Lead.objects.exclude(phone="").order_by("?").first()
    if known is not None:
        writer.writerow([known.name, "", known.phone, ""])
    upload = SimpleUploadedFile("list.csv", buffer.getvalue().encode(), content_type="text/csv")
    body = {
        "file": upload,
        "campaign": rng.choice(world["campaigns"]).pk,
        "legal_basis": "event_registration",
        "legal_basis_date": "2026-05-20",
    }
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api(world["marketer"]).post("/api/v1/imports/", body, format="multipart")
    assert response.status_code == 201, response.content


def _change(api, rng: random.Random, world: dict, step: int) -> str:
    desk, campaigns = world["desk"], world["campaigns"]
    kind = rng.choice(
        [
            "create",
            "returning",
            "import",
            "qualify",
            "bulk_qualify",
            "disqualify",
            "move",
            "split",
            "erase",
            "cost_add",
            "cost_edit",
            "cost_delete",
            "set_update",
            "set_delete",
            "campaign_delete",
        ]
    )
    new_leads = Lead.objects.filter(stage=Stage.NEW).order_by("?")
    if kind == "create":
        lifecycle.lead_create(
            actor=desk,
            fields={"name": f"新{step}", "phone": f"+8613800{step:06d}"},
            campaign=rng.choice([*campaigns, None]),
        )
    elif kind == "returning" and Lead.objects.exclude(phone="").exists():
        known = Lead.objects.exclude(phone="").order_by("?").first()
        lifecycle.lead_create(
            actor=desk,
            fields={"name": known.name, "phone": known.phone},
            campaign=rng.choice(campaigns),
        )
    elif kind == "import":
        _import(api, world, rng, step)
    elif kind == "qualify" and new_leads.exists():
        lifecycle.lead_qualify(lead=new_leads.first(), actor=desk, grade="B", reason="test")
    elif kind == "bulk_qualify":
        ids = list(new_leads.values_list("pk", flat=True)[:3])
        run_bulk(name="qualify", lead_ids=ids, actor=desk, data={"grade": "A", "reason": "t"})
    elif kind == "disqualify" and new_leads.exists():
        lifecycle.lead_disqualify(lead=new_leads.first(), actor=desk, reason="test")
    elif kind == "move":
        lead = next((x for x in Lead.objects.order_by("?") if can_edit_lead(desk, x)), None)
        if lead is not None:
            lifecycle.lead_update(
                lead=lead, actor=desk, fields={}, source_campaign=rng.choice([*campaigns, None])
            )
    elif kind == "split":
        lead = Lead.objects.filter(erased_at__isnull=True).order_by("?").first()
        if lead is not None:
            review = conflict_review(lead, campaign=rng.choice(campaigns))
            review_different_person(review=review, actor=desk, phone=f"+8613700{step:06d}")
    elif kind == "erase":
        lead = Lead.objects.filter(erased_at__isnull=True).order_by("?").first()
        if lead is not None:
            person_erase(lead=lead, actor=desk, confirm=True)
    elif kind == "cost_add":
        campaign_services.cost_save(
            actor=world["marketer"],
            campaign=rng.choice(campaigns),
            date=dt.date(2026, 5, rng.randint(1, 28)),
            amount=Decimal(rng.randint(0, 50000)) / 100,
            note="",
        )
    elif kind == "cost_edit" and CampaignCost.objects.exists():
        cost = CampaignCost.objects.order_by("?").first()
        campaign_services.cost_save(
            actor=world["marketer"],
            campaign=cost.campaign,
            cost=cost,
            date=cost.date,
            amount=Decimal(rng.randint(0, 50000)) / 100,
            note="edited",
        )
    elif kind == "cost_delete" and CampaignCost.objects.exists():
        campaign_services.cost_delete(
            actor=world["marketer"], cost=CampaignCost.objects.order_by("?").first()
        )
    elif kind == "set_update":
        # Set-based writes underneath the services: campaign and MQL time of many rows.
        ids = list(Lead.objects.order_by("?").values_list("pk", flat=True)[:5])
        Lead.objects.filter(pk__in=ids[:3]).update(source_campaign=rng.choice(campaigns))
        Lead.objects.filter(pk__in=ids[3:], mql_at__isnull=False).update(
            mql_at=F("mql_at") - dt.timedelta(minutes=1)
        )
    elif kind == "set_delete":
        ids = list(Lead.objects.order_by("?").values_list("pk", flat=True)[:2])
        Lead.objects.filter(pk__in=ids).delete()
    elif kind == "campaign_delete":
        spare = CampaignFactory(owner=world["marketer"])
        CampaignCostFactory(campaign=spare, amount=Decimal("12.34"))
        assert CampaignFigures.objects.get(campaign=spare).cost == Decimal("12.34")
        spare.delete()  # its cost lines and figures go with it
    return kind


@pytest.mark.parametrize("seed", SEEDS)
def test_figures_equal_the_live_count_after_random_changes(seed, api, marketer):
    rng = random.Random(seed)
    world = _world(rng, marketer)
    assert_figures_exact()
    assert (
        sum(f.leads for f in CampaignFigures.objects.all())
        == Lead.objects.filter(source_campaign__isnull=False).count()
    )
    done = set()
    for step in range(25):
        done.add(_change(api, rng, world, step))
        assert_figures_exact()
    assert len(done) >= 8  # the changes really vary


def test_every_kind_of_change_is_counted(api, marketer):
    """Each change at least once, whatever the seeds drew."""
    rng = random.Random(5)
    world = _world(rng, marketer)
    kinds = set()
    for step in range(200):
        kinds.add(_change(api, rng, world, 100 + step))
        if len(kinds) == 15:
            break
    assert len(kinds) == 15
    assert_figures_exact()


def test_a_new_campaign_has_its_row_and_a_lead_counts_at_once(marketer, desk):
    campaign = campaign_services.campaign_save(
        actor=marketer,
        campaign=None,
        name="新活动",
        channel=CampaignFactory().channel,
        owner=marketer,
        start_date=None,
        end_date=None,
        budget=Decimal("0"),
        status="active",
        utm_campaign="",
        accept_utm_only=False,
        description="",
    )
    assert CampaignFigures.objects.filter(campaign=campaign, leads=0, mqls=0).exists()
    lead = lifecycle.lead_create(
        actor=desk, fields={"name": "甲", "phone": "+8613911112222"}, campaign=campaign
    ).lead
    lifecycle.lead_qualify(lead=lead, actor=desk, grade="A", reason="test")
    row = CampaignFigures.objects.get(campaign=campaign)
    assert (row.leads, row.mqls) == (1, 1)


def test_the_list_reads_no_lead(marketer):
    """Sorting the campaigns by their figures reads the figures table, not the leads."""
    sql = str(with_figures(Campaign.objects.order_by("figures__leads")).query)
    assert "leads_lead" not in sql and "campaigns_campaignfigures" in sql


def test_missing_triggers_are_put_back_and_the_figures_rebuilt(marketer, desk):
    campaign = CampaignFactory()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER campaigns_figures_lead_insert ON leads_lead")
        else:
            cursor.execute("DROP TRIGGER campaigns_figures_lead_insert")
    lead_in_stage(Stage.MQL, desk=desk, source_campaign=campaign)
    assert CampaignFigures.objects.get(campaign=campaign).leads == 0  # missed
    assert triggers.installed(connection) != set(triggers.NAMES)
    assert triggers.ensure(connection) is True
    assert triggers.installed(connection) == set(triggers.NAMES)
    row = CampaignFigures.objects.get(campaign=campaign)
    assert (row.leads, row.mqls) == (1, 1)
    assert triggers.ensure(connection) is False
    assert_figures_exact()


def test_pages_list_the_rows_of_their_sort_with_their_figures(client, api, manager):
    """The page and the API pick their page's ids first, then read those rows: same rows,
    same order, same figures as one sorted query, for every sort they offer."""
    from campaigns.api import CampaignViewSet
    from campaigns.views import SORT_FIELDS, _sorted
    from reports.selectors import with_revenue

    rng = random.Random(11)
    _world(rng, manager)
    for _ in range(30):
        campaign = CampaignFactory(budget=Decimal(rng.randint(0, 3)))
        if rng.random() < 0.5:
            CampaignCostFactory(campaign=campaign, amount=Decimal(rng.randint(1, 5)))
    every = with_revenue(with_figures(Campaign.objects.all()))
    client.force_login(manager)
    for key in SORT_FIELDS:
        for sort in (key, "-" + key):
            expected = [(c.name, c.lead_count, c.mql_count) for c in _sorted(every, sort)[25:50]]
            page = client.get("/campaigns/", {"sort": sort, "page": 2}).context["rows"]
            assert [(c.name, c.lead_count, c.mql_count) for c, *_ in page] == expected, sort
    for key in CampaignViewSet.ordering_fields:
        for ordering in (key, "-" + key):
            expected = [
                c.pk for c in every.order_by(ordering, "-id" if ordering[0] == "-" else "id")[:50]
            ]
            body = api(manager).get("/api/v1/campaigns/", {"ordering": ordering}).json()
            assert [row["id"] for row in body["results"]] == expected, ordering
            assert body["count"] == len(every)


def test_the_rebuild_command_repairs_figures_a_truncate_left_wrong(desk):
    from django.core.management import call_command

    campaign = CampaignFactory()
    lead_in_stage(Stage.MQL, desk=desk, source_campaign=campaign)
    CampaignFigures.objects.filter(campaign=campaign).update(leads=7, mqls=0)  # stale
    call_command("rebuild_campaign_figures", stdout=io.StringIO())
    row = CampaignFigures.objects.get(campaign=campaign)
    assert (row.leads, row.mqls) == (1, 1)
    assert_figures_exact()
