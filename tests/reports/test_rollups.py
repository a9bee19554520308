"""Daily rollups (``reports.rollups``) answer exactly what the live selectors answer.

Property test: seeded random worlds (leads across days and local midnights, 1-4 touches of
random campaigns and channels, random stages, amounts and SQL dates), random periods, every
attribution model and filter: the funnel, channel ROI, campaign ROI and the campaign list's
revenue from the rollups equal the live selectors' to the cent; again after random changes
kept current by the marks and the refresh, and with days left marked (stale days live).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Campaign, Channel
from campaigns.selectors import with_figures
from leads import lifecycle
from leads.choices import Stage
from leads.credits import MODELS, recompute_credits
from leads.models import Lead, LeadTouch
from reports import selectors
from reports.definitions import funnel_counts
from reports.metrics import money
from reports.rollups import marks as rollup_marks
from reports.rollups.build import rebuild_rollups, refresh_marked, stretches
from reports.rollups.models import RollupChannelDay, RollupDay, RollupFunnel, RollupMark
from reports.rollups.read import FUNNEL_FIELDS, ROI_FIELDS, plan
from reports.trends import monthly_trend
from tests.factories import CampaignCostFactory, CampaignFactory, UserFactory, lead_in_stage
from tests.worlds import seeds_for_this_database

pytestmark = pytest.mark.django_db

#: The random worlds. Each database compares two of the four (the PostgreSQL suite 1 and 23,
#: the SQLite suite 7 and 42): CI runs both suites, so every world is compared on every
#: change, and a run on one database costs half.
ALL_SEEDS = (1, 7, 23, 42)
SEEDS = seeds_for_this_database(ALL_SEEDS)
STAGES = (Stage.NEW, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON, Stage.LOST)
DAYS = 12


def _world(rng: random.Random) -> dict:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return _build(rng)


def _build(rng: random.Random) -> dict:
    tz = timezone.get_current_timezone()
    base = timezone.localdate() - dt.timedelta(days=DAYS + 2)
    channels = list(Channel.objects.order_by("code")[:4])
    campaigns = []
    for index in range(6):
        campaign = CampaignFactory(name=f"C{index}", channel=channels[index % len(channels)])
        campaigns.append(campaign)
        for offset in rng.sample(range(DAYS), 4):
            CampaignCostFactory(
                campaign=campaign,
                date=base + dt.timedelta(days=offset),
                amount=Decimal(rng.randint(1, 90000)) / 100,
            )
    desk, owner = UserFactory(roles=["lead_desk"]), UserFactory(roles=["sales_rep"])
    leads = []
    for _ in range(30):
        stage = rng.choice(STAGES)
        source = rng.choice([*campaigns, None])
        lead = lead_in_stage(stage, owner=owner, desk=desk, source_campaign=source)
        day = base + dt.timedelta(days=rng.randrange(DAYS))
        # around local midnight as often as not: the edges of a cohort day
        minute = rng.choice([0, 1, 23 * 60 + 59, rng.randrange(24 * 60)])
        created = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=tz)
        update = {"created_at": created}
        if stage == Stage.WON:
            update["won_amount"] = Decimal(rng.randint(100, 10_000_000)) / 100
        Lead.objects.filter(pk=lead.pk).update(**update)
        for _touch in range(rng.randint(0, 4)):
            LeadTouch.objects.create(
                lead_id=lead.pk,
                campaign=rng.choice([*campaigns, None]),
                kind="form",
                occurred_at=created + dt.timedelta(hours=rng.randint(0, 200)),
            )
        leads.append(lead.pk)
    recompute_credits(leads)
    return {"base": base, "campaigns": campaigns, "leads": leads, "channels": channels}


def _periods(rng: random.Random, base: dt.date) -> list[tuple[dt.date, dt.date]]:
    periods = [(base - dt.timedelta(days=3), base + dt.timedelta(days=DAYS + 3))]
    for _ in range(5):
        start = base + dt.timedelta(days=rng.randrange(-2, DAYS))
        periods.append((start, start + dt.timedelta(days=rng.randrange(0, DAYS))))
    return periods


def _revenues(model: str, *, live: bool) -> dict[int, Decimal]:
    rows = selectors.with_revenue(with_figures(Campaign.objects.all()), model=model, live=live)
    return {c.pk: money(c.revenue) for c in rows}


def _assert_same(rng: random.Random, world: dict) -> int:
    """Every report over random periods, models and filters: rollups == live."""
    compared = 0
    kinds = sorted({c.kind for c in world["channels"]})
    codes = [c.code for c in world["channels"]]
    for start, end in _periods(rng, world["base"]):
        assert plan(start, end) is not None  # served from the rollups
        for channel_kind in (None, rng.choice(kinds)):
            for channel in (None, rng.choice(codes)):
                args = {"start": start, "end": end, "channel_kind": channel_kind}
                assert selectors.funnel(**args, channel=channel) == selectors.funnel(
                    **args, channel=channel, live=True
                )
                for model in MODELS:
                    assert selectors.campaign_roi(
                        **args, model=model, channel=channel
                    ) == selectors.campaign_roi(**args, model=model, channel=channel, live=True)
                    compared += 1
            for model in MODELS:
                rolled = selectors.channel_roi(**args, model=model)
                live = selectors.channel_roi(**args, model=model, live=True)
                assert rolled["totals"] == live["totals"]
                for mine, theirs in zip(rolled["rows"], live["rows"], strict=True):
                    assert mine == theirs
        kind = rng.choice([None, *kinds])
        assert monthly_trend(start=start, end=end, channel_kind=kind) == monthly_trend(
            start=start, end=end, channel_kind=kind, live=True
        )
    for model in MODELS:
        assert _revenues(model, live=False) == _revenues(model, live=True)
    return compared


def _change(rng: random.Random, world: dict) -> None:
    """Random changes through the ORM (what the lifecycle does underneath): a lead moved to
    another cohort day, a new amount, a touch added and one deleted, a lead deleted."""
    tz = timezone.get_current_timezone()
    ids = rng.sample(world["leads"], 6)
    moved = Lead.objects.get(pk=ids[0])
    moved.created_at = dt.datetime.combine(
        world["base"] + dt.timedelta(days=rng.randrange(DAYS)), dt.time(12), tzinfo=tz
    )
    moved.save()
    won = Lead.objects.filter(stage=Stage.WON).first()
    if won is not None:
        won.won_amount = Decimal(rng.randint(100, 900_000)) / 100
        won.save(update_fields=["won_amount"])
    lead = Lead.objects.get(pk=ids[1])
    LeadTouch.objects.create(
        lead=lead,
        campaign=rng.choice(world["campaigns"]),
        kind="form",
        occurred_at=lead.created_at + dt.timedelta(minutes=5),
    )
    gone = LeadTouch.objects.filter(lead_id__in=ids[2:4]).first()
    if gone is not None:
        gone.delete()
    recompute_credits(ids)
    Lead.objects.get(pk=ids[4]).delete()
    world["leads"].remove(ids[4])


@pytest.mark.parametrize("seed", SEEDS)
def test_rollups_answer_as_the_live_selectors(seed):
    rng = random.Random(seed)
    world = _world(rng)
    assert plan() is None  # never built: live
    rebuild_rollups()
    assert not RollupMark.objects.exists()
    assert RollupDay.objects.exists() and RollupFunnel.objects.exists()
    assert _assert_same(rng, world) > 0

    # Kept current: each change marks its days (old and new) and the refresh (eager, after
    # commit) recomputes only those.
    with TestCase.captureOnCommitCallbacks(execute=True):
        _change(rng, world)
    assert not RollupMark.objects.exists()
    _assert_same(rng, world)


@pytest.mark.parametrize("seed", SEEDS)
def test_stale_days_are_answered_live(seed, monkeypatch):
    """Marked days not refreshed yet: their part is summed live, the rest from rollups."""
    rng = random.Random(seed)
    world = _world(rng)
    rebuild_rollups()
    monkeypatch.setattr(rollup_marks, "request_refresh", lambda: None)
    with TestCase.captureOnCommitCallbacks(execute=True):
        _change(rng, world)
    stale = plan()
    assert stale is not None and stale.stale  # marked, not refreshed
    _assert_same(rng, world)
    assert refresh_marked() == len(stale.stale)
    assert not RollupMark.objects.exists()
    _assert_same(rng, world)


def _rollup_rows() -> dict[tuple, tuple]:
    """Every rollup row, by table, day, key and model: its figures (float noise below the
    ninth decimal dropped, as ``reports.metrics`` does: a sum in another order)."""
    rows: dict[tuple, tuple] = {}
    for table, key in ((RollupDay, "campaign_id"), (RollupChannelDay, "channel_id")):
        for row in table.objects.values("day", key, "model", *ROI_FIELDS):
            figures = tuple(round(row[name], 9) for name in ROI_FIELDS)
            rows[(table.__name__, row["day"], row[key], row["model"])] = figures
    for row in RollupFunnel.objects.values("day", "channel_id", *FUNNEL_FIELDS):
        rows[("funnel", row["day"], row["channel_id"], None)] = tuple(
            row[name] for name in FUNNEL_FIELDS
        )
    return rows


def _per_day_rows(low: dt.date, high: dt.date) -> dict[tuple, tuple]:
    """The rows the per-day build wrote: each day by the live selectors for that one day
    (``_live_touch_rows`` and ``cohort`` + ``funnel_counts``, no cohort-day grouping)."""
    rows: dict[tuple, tuple] = {}
    day = low
    while day <= high:
        for model in MODELS:
            for table, key in (
                ("RollupDay", "campaign_id"),
                ("RollupChannelDay", "campaign__channel_id"),
            ):
                live = selectors._live_touch_rows(
                    start=day, end=day, model=model, key=key, channel_kind=None
                )
                for pk, row in live.items():
                    rows[(table, day, pk, model)] = tuple(
                        round(float(row[name] or 0), 9) for name in ROI_FIELDS
                    )
        counts = (
            selectors.cohort(start=day, end=day)
            .values("source_campaign__channel_id")
            .annotate(**funnel_counts(*FUNNEL_FIELDS))
            .order_by()
        )
        for row in counts:
            rows[("funnel", day, row["source_campaign__channel_id"], None)] = tuple(
                row[name] or 0 for name in FUNNEL_FIELDS
            )
        day += dt.timedelta(days=1)
    return rows


@pytest.mark.parametrize("seed", SEEDS)
def test_multi_day_build_equals_the_per_day_build(seed, monkeypatch):
    """One grouped query per model and table over a stretch of days writes the rows the
    per-day build wrote (every day, model, campaign and channel); chunks of 5 days cross
    the world's days, and marked stretches are refreshed together."""
    rng = random.Random(seed)
    world = _world(rng)
    rebuild_rollups(chunk=5)
    low, high = world["base"], timezone.localdate()
    assert RollupDay.objects.exclude(day__gte=low, day__lte=high).count() == 0
    built = _rollup_rows()
    assert len({key[1] for key in built}) > 5  # more days than one chunk
    assert built == _per_day_rows(low, high)

    monkeypatch.setattr(rollup_marks, "request_refresh", lambda: None)
    with TestCase.captureOnCommitCallbacks(execute=True):
        _change(rng, world)
    marked = set(RollupMark.objects.values_list("day", flat=True))
    assert refresh_marked() == len(marked)
    assert not RollupMark.objects.exists()
    assert _rollup_rows() == _per_day_rows(low, high)


def test_stretches_of_marked_days():
    day = dt.date(2026, 3, 1)
    days = [day, day + dt.timedelta(days=1), day + dt.timedelta(days=2), day + dt.timedelta(days=5)]
    assert list(stretches(days)) == [(days[0], days[2]), (days[3], days[3])]
    assert list(stretches(days, 2)) == [(days[0], days[1]), (days[2], days[2]), (days[3], days[3])]


def test_a_change_without_a_mark_would_show():
    """The comparison can fail: a change the marks never heard of leaves the rollups
    behind, and the rollup answer differs from the live one until the day is refreshed."""
    rng = random.Random(5)
    world = _world(rng)
    rebuild_rollups()
    lead = Lead.objects.filter(touches__campaign__isnull=False).first()
    Lead.objects.filter(pk=lead.pk).update(created_at=lead.created_at - dt.timedelta(days=40))
    start, end = world["base"] - dt.timedelta(days=60), world["base"] + dt.timedelta(days=DAYS)
    assert selectors.funnel(start=start, end=end) == selectors.funnel(
        start=start, end=end, live=True
    )  # same period total: the lead only moved inside it
    day = timezone.localtime(lead.created_at).date()
    assert selectors.funnel(start=day, end=day) != selectors.funnel(start=day, end=day, live=True)
    moved_to = timezone.localtime(lead.created_at - dt.timedelta(days=40)).date()
    with TestCase.captureOnCommitCallbacks(execute=True):  # eager: refreshed after commit
        rollup_marks.mark_days([day, moved_to])
    assert not RollupMark.objects.exists()
    assert selectors.funnel(start=day, end=day) == selectors.funnel(start=day, end=day, live=True)


def test_lifecycle_changes_keep_rollups_current(desk, rep):
    """The embedded default: lifecycle services, eager tasks, the refresh after commit."""
    campaign = CampaignFactory()
    rebuild_rollups()
    today = timezone.localdate()
    with TestCase.captureOnCommitCallbacks(execute=True):
        lead = lifecycle.lead_create(
            actor=desk, fields={"name": "a", "phone": "13900007001"}, campaign=campaign
        ).lead
    assert not RollupMark.objects.exists()
    row = RollupDay.objects.get(day=today, campaign=campaign, model="first_touch")
    assert row.leads == 1 and row.sqls == 0
    with TestCase.captureOnCommitCallbacks(execute=True):
        lifecycle.lead_qualify(lead=lead, actor=desk, grade="A", reason="call")
        lifecycle.lead_assign(lead=lead, actor=desk, owner=rep)
        lifecycle.lead_accept(lead=lead, actor=rep)
        lifecycle.lead_win(lead=lead, actor=rep, amount="1234.56", signed_at=today)
    row = RollupDay.objects.get(day=today, campaign=campaign, model="linear")
    assert (row.sqls, row.won, row.revenue) == (1, 1, 1234.56)
    funnel = RollupFunnel.objects.get(day=today, channel=campaign.channel)
    assert (funnel.leads, funnel.won, funnel.revenue) == (1, 1, Decimal("1234.56"))
    report = selectors.campaign_roi(start=today, end=today, model="u_shaped")
    assert report == selectors.campaign_roi(start=today, end=today, model="u_shaped", live=True)


def test_rebuild_command_and_mark_everything():
    campaign = CampaignFactory()
    lead = lead_in_stage(Stage.MQL, source_campaign=campaign)
    LeadTouch.objects.create(lead=lead, campaign=campaign, kind="form", occurred_at=lead.created_at)
    recompute_credits([lead.pk])
    call_command("rebuild_rollups", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert plan() is not None
    assert RollupDay.objects.filter(campaign=campaign).count() == len(MODELS)
    with TestCase.captureOnCommitCallbacks(execute=True):
        rollup_marks.mark_everything()  # eager: the rebuild ran after commit
    assert plan() is not None and not RollupMark.objects.exists()


def test_a_campaign_moved_to_another_channel_marks_its_days():
    rng = random.Random(11)
    world = _world(rng)
    rebuild_rollups()
    campaign = world["campaigns"][0]
    other = Channel.objects.exclude(pk=campaign.channel_id).order_by("code").first()
    with TestCase.captureOnCommitCallbacks(execute=True):
        campaign = Campaign.objects.get(pk=campaign.pk)
        campaign.channel = other
        campaign.save()
    assert not RollupMark.objects.exists()
    _assert_same(rng, world)


def test_dashboard_from_rollups_takes_a_constant_number_of_queries(
    client, manager, marketer, assert_queries_flat
):
    """Served from the rollups (no snapshot, no job), the dashboard's queries do not grow
    with leads, campaigns or days; its figures are the live ones."""
    today = timezone.localdate()
    rebuild_rollups()

    def build(n, batch):
        for index in range(n):
            campaign = CampaignFactory(owner=marketer)
            CampaignCostFactory(campaign=campaign, date=today, amount=Decimal("10"))
            with TestCase.captureOnCommitCallbacks(execute=True):
                lifecycle.lead_create(
                    actor=marketer,
                    fields={"name": "x", "phone": f"139{batch}000{n:02d}{index:02d}"},
                    campaign=campaign,
                )

    build(3, batch=1)
    client.force_login(manager)
    period = {"from": (today - dt.timedelta(days=40)).isoformat(), "to": today.isoformat()}
    client.get("/reports/", period)
    response = assert_queries_flat(
        lambda: client.get("/reports/", period), grow=lambda: build(12, batch=2), max_queries=22
    )
    assert response.context["snapshot"]["computed_at"] is None  # not a snapshot
    start = today - dt.timedelta(days=40)
    assert plan(start, today) is not None and not RollupMark.objects.exists()
    assert selectors.channel_roi(start=start, end=today) == selectors.channel_roi(
        start=start, end=today, live=True
    )


def test_an_import_marks_the_days_of_the_leads_it_touched(api, marketer, settings, tmp_path):
    """The import writes touches set-based (no model signal) and recomputes the credits of
    known people whose lead already has a source campaign (so ``updated_at`` stays): its
    ``imported`` announcement marks those leads' days, and the rollups follow."""
    from tests.leads.test_imports import csv_bytes, upload

    settings.MEDIA_ROOT = tmp_path
    first, fair = CampaignFactory(owner=marketer), CampaignFactory(owner=marketer)
    with TestCase.captureOnCommitCallbacks(execute=True):
        known = lifecycle.lead_create(
            actor=marketer, fields={"name": "张伟", "phone": "13900001001"}, campaign=first
        ).lead
    Lead.objects.filter(pk=known.pk).update(created_at=known.created_at - dt.timedelta(days=9))
    day = timezone.localtime(known.created_at - dt.timedelta(days=9)).date()
    rebuild_rollups()
    assert RollupDay.objects.get(day=day, campaign=first, model="linear").leads == 1

    rows = [["张伟", "", "13900001001", "", "", "", "", ""], ["李娜", "", "13900001002"] + [""] * 5]
    assert upload(api, marketer, fair, csv_bytes(rows)).status_code == 201

    assert not RollupMark.objects.exists()  # marked, then refreshed after the commit
    linear = RollupDay.objects.get(day=day, campaign=fair, model="linear")
    assert linear.leads == 0.5  # the known lead's credit is now shared with the fair
    today = timezone.localdate()
    for model in MODELS:
        assert selectors.campaign_roi(start=day, end=today, model=model) == (
            selectors.campaign_roi(start=day, end=today, model=model, live=True)
        )


@pytest.mark.postgres
def test_the_marks_check_is_one_indexed_query():
    """Whether the rollups serve a period (every request's fixed cost) is one read of the
    marks' day index, however many marks there are: no sequential scan of the table."""
    first = dt.date(2026, 1, 1)
    RollupMark.objects.all().delete()  # the migration's "every day" mark
    RollupMark.objects.bulk_create(
        [RollupMark(day=first + dt.timedelta(days=n % 300)) for n in range(3000)]
    )
    start, end = first + dt.timedelta(days=100), first + dt.timedelta(days=100)
    with CaptureQueriesContext(connection) as queries:
        found = plan(start, end)
    assert len(queries) == 1
    assert found is not None and found.stale == {start}
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reports_rollupmark")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + queries[0]["sql"])
        explained = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan" not in explained and "rollup_mark_day" in explained, explained
    RollupMark.objects.create(day=None)
    assert plan(start, end) is None  # every day marked: live


def test_the_refresh_is_asked_for_once_per_window_and_process(settings, monkeypatch):
    """With a broker, the first change of a debounce window queues the refresh and stores
    when (one Redis call, ``SET NX GET``); another process learns that time from its own
    one call and queues nothing; neither asks again until shortly before the refresh runs."""
    import uuid

    from django.core.cache import caches

    from pipeline.env import env_str

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.ROLLUP_DEBOUNCE_SECONDS = 30
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env_str("REDIS_URL") or "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": f"rollup-test-{uuid.uuid4().hex[:8]}",
        }
    }
    queued: list[tuple] = []
    monkeypatch.setattr(rollup_marks, "enqueue", lambda *a, **k: queued.append((a, k)))
    claims: list[float] = []
    claim = rollup_marks._claim_window
    monkeypatch.setattr(
        rollup_marks, "_claim_window", lambda now, delay: claims.append(now) or claim(now, delay)
    )
    monkeypatch.setattr(rollup_marks, "_ahead_until", 0.0)
    try:
        rollup_marks.request_refresh()
        rollup_marks.request_refresh()  # the same process, same window: no call at all
        assert queued == [((rollup_marks.REFRESH_TASK,), {"countdown": 30})]
        assert len(claims) == 1
        first = claims[0]
        assert rollup_marks._ahead_until == pytest.approx(first + 30 - 0.5)

        monkeypatch.setattr(rollup_marks, "_ahead_until", 0.0)  # another process
        rollup_marks.request_refresh()
        assert len(queued) == 1 and len(claims) == 2  # asked once, queued nothing
        assert rollup_marks._ahead_until == pytest.approx(first + 30 - 0.5)

        caches["default"].delete(rollup_marks._QUEUED_KEY)  # the window ended
        monkeypatch.setattr(rollup_marks, "_ahead_until", 0.0)
        rollup_marks.request_refresh()
        assert len(queued) == 2
    finally:
        caches["default"].delete(rollup_marks._QUEUED_KEY)
