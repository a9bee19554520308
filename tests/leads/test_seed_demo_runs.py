"""``manage.py seed_demo`` run by the tests themselves on an empty database: the same seed
gives the same world, ``--flush``, the arrival rows, zero leads, the close-date stream. The
tests that read one seeded world share it in ``test_seed_demo.py``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError
from django.utils import timezone

from campaigns.models import Campaign, Channel
from leads.demo import seed as seed_module
from leads.lifecycle.arrival import UTM_FIELDS, new_lead_values, touch_values
from leads.lifecycle.fields import LEAD_OWN_FIELDS
from leads.models import Lead, LeadTouch
from targets.models import Target
from tests.conftest import ROLES
from tests.leads.test_seed_demo import N_LEADS, NOW, seed, snapshot

pytestmark = pytest.mark.django_db


def test_lead_and_touch_rows_are_the_ones_the_arrival_rule_builds(monkeypatch):
    written = []
    other_rows = seed_module._other_rows

    def spy(batch, lead_ids, follow_up_ids):
        rows = other_rows(batch, lead_ids, follow_up_ids)
        written.append((batch, rows[0]))
        return rows

    monkeypatch.setattr(seed_module, "_other_rows", spy)
    seed()
    credits = {f.attname for f in LeadTouch._meta.concrete_fields if f.name.startswith("credit_")}
    touch_keys = set(touch_values(campaign_id=None, kind="form", occurred_at=NOW, is_first=True))
    assert sum(len(batch) for batch, _ in written) == N_LEADS
    online, arrivals, returns = 0, {}, []
    for batch, touch_rows in written:
        for row in touch_rows:
            assert set(row) == touch_keys | credits | {"lead_id"}
        for sim in batch:
            f = sim.fields
            utm = {key: f.get(key, "") for key in UTM_FIELDS}
            landing = f.get("landing_page", "")
            arrival = new_lead_values(
                {key: f[key] for key in LEAD_OWN_FIELDS},
                campaign_id=f["source_campaign_id"],
                company_id=f["company_id"],
                company_name=f["company_name"],
                actor_id=f["created_by_id"],
                now=f["created_at"],
                utm=utm,
                landing_page=landing,
            )
            # the arrival's columns, and the lifecycle's on top (the stage moves on)
            assert {key: f[key] for key in arrival if key != "stage"} == {
                key: value for key, value in arrival.items() if key != "stage"
            }
            assert set(f) & set(UTM_FIELDS) == set(arrival) & set(UTM_FIELDS)
            online += bool(landing)
            first, *later = sim.touches
            # the first touch carries what the new lead carries
            assert first == touch_values(
                campaign_id=f["source_campaign_id"],
                kind=first["kind"],
                occurred_at=f["created_at"],
                is_first=True,
                utm=utm,
                landing_page=landing,
            )
            arrivals[first["campaign_id"]] = (utm, landing)
            returns += later
    assert 0 < online < N_LEADS  # forms carry UTM and a landing page; check-ins do not
    assert returns
    for touch in returns:  # a return carries what a first arrival by that campaign does
        if touch["campaign_id"] not in arrivals:
            continue
        utm, landing = arrivals[touch["campaign_id"]]
        assert touch == touch_values(
            campaign_id=touch["campaign_id"],
            kind=touch["kind"],
            occurred_at=touch["occurred_at"],
            is_first=False,
            utm=utm,
            landing_page=landing,
        )


def test_the_same_seed_gives_the_same_world_and_another_seed_another():
    seed()
    first = snapshot()
    campaigns = list(Campaign.objects.order_by("pk").values_list("name", "budget", "start_date"))
    seed(flush=True)
    assert snapshot() == first
    assert (
        list(Campaign.objects.order_by("pk").values_list("name", "budget", "start_date"))
        == campaigns
    )
    seed(seed=8, flush=True)
    assert [row[0] for row in snapshot()] != [row[0] for row in first]


def test_today_cannot_be_in_the_future():
    with pytest.raises(CommandError, match="future"):
        seed(today=timezone.localdate() + dt.timedelta(days=1))


def test_flush_keeps_channels_groups_and_other_users():
    other = User.objects.create_user("someone", password="x")
    seed()
    seed(flush=True)
    assert Lead.objects.count() == N_LEADS
    assert User.objects.filter(pk=other.pk).exists()
    assert Channel.objects.count() == 14
    assert Group.objects.filter(name__in=ROLES).count() == len(ROLES)


def test_zero_leads_still_builds_the_world():
    seed(leads=0)
    assert Lead.objects.count() == 0
    assert Campaign.objects.exists() and User.objects.filter(username="rep1").exists()


def test_close_dates_come_from_their_own_stream_the_rest_of_the_world_is_the_same(
    monkeypatch,
):
    # Every own column (ids and foreign keys are new after a flush).
    fields = [
        f.attname
        for f in Lead._meta.concrete_fields
        if not f.primary_key and not f.is_relation and f.attname != "updated_at"
    ]

    def everything(exclude: str | None = None) -> list[tuple]:
        wanted = [f for f in fields if f != exclude]
        return list(Lead.objects.order_by("pk").values_list(*wanted))

    seed()
    with_dates = everything()
    targets = list(Target.objects.order_by("pk").values_list("period", "metric", "value"))
    monkeypatch.setattr(seed_module.demo_world, "date_open_deals", lambda **kwargs: 0)
    seed(flush=True)
    assert not Lead.objects.filter(expected_close_date__isnull=False).exists()
    without = everything()
    assert everything("expected_close_date") == [
        tuple(v for f, v in zip(fields, row, strict=True) if f != "expected_close_date")
        for row in with_dates
    ]
    assert without != with_dates
    after = list(Target.objects.order_by("pk").values_list("period", "metric", "value"))
    assert after == targets
