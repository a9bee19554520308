"""The campaigns' all-time revenue totals (``reports.rollups.totals``) equal the live
selector (``reports.selectors.with_revenue(live=True)``) for every campaign and model,
after a build and after random changes refreshed, and the campaign list sorts by them."""

from __future__ import annotations

import random

import pytest
from django.test import TestCase

from campaigns.models import Campaign
from campaigns.selectors import with_figures
from leads.credits import MODELS
from leads.models import Lead
from reports import selectors
from reports.metrics import money
from reports.rollups import marks as rollup_marks
from reports.rollups.build import compute_days, rebuild_rollups
from reports.rollups.marks import cohort_day
from reports.rollups.models import RollupCampaignTotal, RollupDay, RollupMark
from reports.rollups.read import plan
from tests.reports.test_rollups import SEEDS, _change, _world

pytestmark = pytest.mark.django_db


def _totals() -> dict[tuple[int, str], object]:
    """Every campaign and model: its stored total (none: 0)."""
    stored = {
        (row.campaign_id, row.model): row.revenue for row in RollupCampaignTotal.objects.all()
    }
    return {
        (pk, model): money(stored.get((pk, model), 0.0))
        for pk in Campaign.objects.values_list("pk", flat=True)
        for model in MODELS
    }


def _live() -> dict[tuple[int, str], object]:
    return {
        (campaign.pk, model): money(campaign.revenue)
        for model in MODELS
        for campaign in selectors.with_revenue(
            with_figures(Campaign.objects.all()), model=model, live=True
        )
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_totals_equal_the_live_selector_after_changes_and_refresh(seed):
    rng = random.Random(seed)
    world = _world(rng)
    assert not RollupCampaignTotal.objects.exists()
    rebuild_rollups()
    assert RollupCampaignTotal.objects.exists()
    live = _live()
    assert any(live.values())  # something to compare
    assert _totals() == live
    for _round in range(3):
        with TestCase.captureOnCommitCallbacks(execute=True):
            _change(rng, world)  # marks its days; the refresh runs after commit
        assert not RollupMark.objects.exists()
        assert _totals() == _live()
    # A day's rows gone wholesale (its leads deleted): its campaigns' totals follow.
    day = RollupDay.objects.order_by("day").values_list("day", flat=True).first()
    gone = [lead.pk for lead in Lead.objects.all() if cohort_day(lead.created_at) == day]
    assert gone
    with TestCase.captureOnCommitCallbacks(execute=True):
        Lead.objects.filter(pk__in=gone).delete()
    compute_days(day, day)
    assert not RollupDay.objects.filter(day=day).exists()
    assert _totals() == _live()


def test_the_list_sorts_by_the_totals_and_with_stale_days_adds_them_live(monkeypatch):
    rng = random.Random(5)
    world = _world(rng)
    rebuild_rollups()
    monkeypatch.setattr(rollup_marks, "request_refresh", lambda: None)
    with TestCase.captureOnCommitCallbacks(execute=True):
        _change(rng, world)
    assert plan() is not None and plan().stale  # marked, not refreshed: totals are behind
    for model in MODELS:
        rows = selectors.with_revenue(with_figures(Campaign.objects.all()), model=model)
        served = {c.pk: c.revenue for c in rows}
        assert {pk: money(value) for pk, value in served.items()} == {
            pk: value for (pk, m), value in _live().items() if m == model
        }
        ordered = [c.pk for c in rows.order_by("-revenue", "pk")]
        assert ordered == sorted(served, key=lambda pk: (-served[pk], pk))
