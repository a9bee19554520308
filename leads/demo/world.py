"""The fixed part of the demo world: users, teams, campaigns with costs, companies.

Everything is drawn from ``random.Random`` streams seeded from ``--seed`` and placed
relative to one ``today`` date, so the same seed and date give the same world.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
from bisect import bisect_right
from decimal import Decimal
from itertools import accumulate

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from assignment.models import AssignmentRule, Team, TeamMembership
from assignment.services import rule_save
from campaigns.choices import CampaignStatus
from campaigns.models import Campaign, CampaignCost, Channel
from leads.demo import data
from leads.models import Company, ImportJob, Lead
from leads.normalize import normalize_company_name
from targets.models import Target

#: The demo world spans this many days before ``today``.
HISTORY_DAYS = 364
CENT = Decimal("0.01")


def demo_rng(seed: int, stream: str) -> random.Random:
    """An independent, reproducible stream per part of the world (not for secrets)."""
    return random.Random(f"{seed}:{stream}")  # noqa: S311 - deterministic demo data


@dataclasses.dataclass(frozen=True)
class CampaignInfo:
    """What the lead simulator needs to know about a campaign that takes leads."""

    id: int
    channel: str
    channel_kind: str
    online: bool
    quality: float
    touch_kind: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    owner_id: int
    #: lead days, counted back from today: 1 = yesterday
    first_day_ago: int
    last_day_ago: int


@dataclasses.dataclass(frozen=True)
class CompanyInfo:
    id: int
    name: str
    size_index: int
    industry: str
    region: str
    domain: str
    english: bool
    team_index: int | None
    account_rep_id: int


@dataclasses.dataclass
class TeamInfo:
    id: int
    name: str
    manager_id: int
    member_ids: list[int]
    member_weights: list[int]


@dataclasses.dataclass
class DemoWorld:
    today: dt.date
    users: dict[str, int]
    teams: list[TeamInfo]
    campaigns: list[CampaignInfo]
    #: share of the leads each campaign brings (sums to 1)
    campaign_weights: list[float]
    companies: list[CompanyInfo] = dataclasses.field(default_factory=list)

    @property
    def rep_ids(self) -> list[int]:
        return [self.users[name] for name in data.DEMO_USERNAMES if name.startswith("rep")]

    @property
    def desk_ids(self) -> list[int]:
        return [self.users["desk1"], self.users["desk2"]]


# --------------------------------------------------------------------------------------
# Existing data and --flush
# --------------------------------------------------------------------------------------


def existing_demo_data() -> dict[str, int]:
    """What would collide with a new demo world (empty when the database is clean)."""
    team_names = [team[0] for team in data.DEMO_TEAMS]
    found = {
        "leads": Lead.objects.count(),
        "companies": Company.objects.count(),
        "campaigns": Campaign.objects.count(),
        "demo teams": Team.objects.filter(name__in=team_names).count(),
        "demo users": User.objects.filter(username__in=data.DEMO_USERNAMES).count(),
    }
    return {name: count for name, count in found.items() if count}


def flush_demo_data(*, chunk_size: int = 5000) -> dict[str, int]:
    """Delete every lead (with touches, events, follow-ups), company and campaign (with
    costs), the demo teams and the demo users. Channels and role groups stay.

    On PostgreSQL the lead tables are truncated together when nothing else points at them;
    otherwise leads go in chunks through the ORM, so any model that cascades from a lead
    goes with it, without holding a million rows in memory.
    """
    deleted = {"leads": Lead.objects.count()}
    if not _truncate_lead_tables():
        while True:
            with transaction.atomic():
                ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True)[:chunk_size])
                if not ids:
                    break
                Lead.objects.filter(pk__in=ids).only("pk").delete()
    with transaction.atomic():
        # the demo's company and channel targets (the others go with users and teams)
        Target.objects.filter(created_by__username__in=data.DEMO_USERNAMES).delete()
        # imports are lead-side records of campaigns and go with them
        ImportJob.objects.all().delete()
        deleted["campaigns"] = Campaign.objects.all().delete()[1].get("campaigns.Campaign", 0)
        deleted["companies"] = Company.objects.all().delete()[0]
        team_names = [team[0] for team in data.DEMO_TEAMS]
        AssignmentRule.objects.filter(
            Q(team__name__in=team_names) | Q(user__username__in=data.DEMO_USERNAMES)
        ).delete()
        Team.objects.filter(name__in=team_names).delete()
        deleted["users"] = (
            User.objects.filter(username__in=data.DEMO_USERNAMES).delete()[1].get("auth.User", 0)
        )
    return deleted


def _cascade_models(model: type[models.Model]) -> list[type[models.Model]] | None:
    """``model`` and every model a delete of it cascades to, recursively; ``None`` when a
    cascading key is nullable (its table may hold rows that belong to no lead)."""
    found = [model]
    for current in found:
        for relation in current._meta.related_objects:
            if relation.on_delete is not models.CASCADE or relation.related_model in found:
                continue
            if relation.field.null:
                return None
            found.append(relation.related_model)
    return found


def _truncate_lead_tables() -> bool:
    """``TRUNCATE`` leads and the tables that cascade from them (PostgreSQL only).

    PostgreSQL refuses when any other table still references one of them (a ``PROTECT``
    or ``SET_NULL`` relation added later): then the caller deletes through the ORM.
    """
    cascade = _cascade_models(Lead)
    if connection.vendor != "postgresql" or cascade is None:
        return False
    quote = connection.ops.quote_name
    tables = ", ".join(quote(m._meta.db_table) for m in cascade)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {tables}")
    except DatabaseError:
        return False
    return True


# --------------------------------------------------------------------------------------
# Users and teams
# --------------------------------------------------------------------------------------


def create_users() -> dict[str, int]:
    """The demo users; one password hash is computed once and shared (hashing is slow)."""
    password = make_password(data.DEMO_PASSWORD)
    groups = {group.name: group for group in Group.objects.all()}
    ids = {}
    for username, first_name, last_name, roles, superuser in data.DEMO_USERS:
        user = User.objects.create(
            username=username,
            first_name=first_name,
            last_name=last_name,
            email=f"{username}@leadloop.example",
            password=password,
            is_superuser=superuser,
            is_staff=superuser,
        )
        user.groups.add(*(groups[role] for role in roles))
        ids[username] = user.pk
    return ids


def create_teams(users: dict[str, int], today: dt.date) -> list[TeamInfo]:
    teams = []
    for name, manager, members, _provinces in data.DEMO_TEAMS:
        team = Team.objects.create(name=name, manager_id=users[manager])
        TeamMembership.objects.bulk_create(
            TeamMembership(
                team=team,
                user_id=users[username],
                weight=weight,
                daily_capacity=capacity,
                max_open_leads=max_open,
                away_until=today + dt.timedelta(days=away) if away else None,
            )
            for username, weight, capacity, max_open, away in members
        )
        teams.append(
            TeamInfo(
                id=team.pk,
                name=name,
                manager_id=users[manager],
                member_ids=[users[m[0]] for m in members],
                member_weights=[m[1] for m in members],
            )
        )
    return teams


#: The last demo routing rule's name (after its team's): A–C leads no regional rule took.
CATCH_ALL_NAME = "other regions, A–C"


def create_routing_rules(users: dict[str, int], teams: list[TeamInfo]) -> dict[int, tuple]:
    """One rule per team: its regions' A–C leads, weighted rotation; then a catch-all rule
    (issue #14: no silent pool): A–C leads of a region no team covers, or of no region at
    all (the public form asks none), go to the first team. D leads find no rule and go to
    the pool. Returns team index → (id, name) of the regional rules."""
    desk = User.objects.get(pk=users["desk1"])
    rules = {}
    for index, (team, (name, _, _, provinces)) in enumerate(
        zip(teams, data.DEMO_TEAMS, strict=True)
    ):
        rule = rule_save(
            actor=desk,
            name=f"{name}: A–C",
            conditions=[
                {"field": "region", "operator": "in", "value": list(provinces)},
                {"field": "grade", "operator": "in", "value": ["A", "B", "C"]},
            ],
            strategy="weighted",
            team=Team.objects.get(pk=team.id),
            priority=10 * (index + 1),
        )
        rules[index] = (rule.pk, rule.name)
    rule_save(
        actor=desk,
        name=f"{data.DEMO_TEAMS[0][0]}: {CATCH_ALL_NAME}",
        conditions=[{"field": "grade", "operator": "in", "value": ["A", "B", "C"]}],
        strategy="weighted",
        team=Team.objects.get(pk=teams[0].id),
        priority=10 * (len(teams) + 1),
    )
    return rules


# --------------------------------------------------------------------------------------
# Campaigns and costs
# --------------------------------------------------------------------------------------


def _quarter_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    first_month = (day.month - 1) // 3 * 3 + 1
    start = dt.date(day.year, first_month, 1)
    end = (
        dt.date(day.year + 1, 1, 1) if first_month == 10 else dt.date(day.year, first_month + 3, 1)
    ) - dt.timedelta(days=1)
    return start, end


def _months_back(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def _place(
    schedule: str, *, rng: random.Random, today: dt.date, slot: int
) -> tuple[dt.date, dt.date | None]:
    """Start and end date of a campaign with ``schedule`` (see ``CAMPAIGN_TEMPLATES``)."""
    earliest = today - dt.timedelta(days=HISTORY_DAYS)
    if schedule == "always":
        return earliest + dt.timedelta(days=rng.randint(0, 10)), None
    if schedule == "quarter":
        start, end = _quarter_bounds(_months_back(today, 3 * (slot % 4)))
        return max(start, earliest), end
    if schedule == "burst":
        start = today - dt.timedelta(days=rng.randint(20, 340))
        return start, start + dt.timedelta(days=rng.randint(14, 49))
    if schedule == "webinar":
        live = today - dt.timedelta(days=rng.randint(7, 340))
        return live - dt.timedelta(days=14), live
    if schedule == "planned":
        start = today + dt.timedelta(days=rng.randint(20, 75))
        return start, start + dt.timedelta(days=rng.choice([2, 30, 90]))
    _, month_day, days = schedule.split(":")
    month, day = (int(part) for part in month_day.split("-"))
    start = dt.date(today.year, month, day)
    if start + dt.timedelta(days=int(days)) >= today:
        start = dt.date(today.year - 1, month, day)
    return start, start + dt.timedelta(days=int(days) - 1)


def _labels(start: dt.date) -> dict[str, str]:
    quarter = (start.month - 1) // 3 + 1
    return {
        "year": str(start.year),
        "yq": f"{start.year} Q{quarter}",
        "month": f"{start.year}-{start.month:02d}",
    }


def _slug(template: str, start: dt.date, used: set[str]) -> str:
    quarter = (start.month - 1) // 3 + 1
    slug = template.format(
        year=start.year, yq=f"{start.year}q{quarter}", month=f"{start.year}{start.month:02d}"
    )
    base, n = slug, 2
    while slug in used:
        slug, n = f"{base}-{n}", n + 1
    used.add(slug)
    return slug


def _split(total: Decimal, parts: int, rng: random.Random) -> list[Decimal]:
    """``total`` in ``parts`` uneven amounts that add up to exactly ``total``."""
    weights = [rng.uniform(0.6, 1.4) for _ in range(parts)]
    scale = sum(weights)
    amounts = [(total * Decimal(w / scale)).quantize(CENT) for w in weights[:-1]]
    return [*amounts, total - sum(amounts, Decimal("0"))]


def create_campaigns(
    *, rng: random.Random, today: dt.date, n_leads: int, users: dict[str, int]
) -> tuple[list[CampaignInfo], list[float]]:
    """Campaigns on every channel over the last year, with cost lines sized to the leads
    they will bring (cost per lead differs by channel, so ROI does too)."""
    earliest = today - dt.timedelta(days=HISTORY_DAYS)
    yesterday = today - dt.timedelta(days=1)
    channels = {c.code: c for c in Channel.objects.filter(code__in=data.CHANNEL_PROFILES)}
    marketers = [users["marketer1"], users["marketer2"]]
    plans = []  # (campaign, lead weight, channel code)
    used_slugs: set[str] = set()
    for channel_index, (code, templates) in enumerate(data.CAMPAIGN_TEMPLATES.items()):
        channel = channels[code]
        online = channel.kind == "online"
        for slot, (name_fmt, slug_fmt, schedule) in enumerate(templates):
            start, end = _place(schedule, rng=rng, today=today, slot=slot + channel_index)
            if start > today:
                status = CampaignStatus.PLANNED
            elif slug_fmt in data.CANCELLED_TEMPLATES:
                status = CampaignStatus.CANCELLED
            elif end is not None and end < today:
                status = CampaignStatus.COMPLETED
            else:
                status = CampaignStatus.ACTIVE
            owner = marketers[0 if online else 1]
            if rng.random() < 0.2:
                owner = marketers[1 if online else 0]
            campaign = Campaign(
                name=name_fmt.format(**_labels(start))[:200],
                channel=channel,
                owner_id=owner,
                start_date=start,
                end_date=end,
                status=status,
                utm_campaign=_slug(slug_fmt, start, used_slugs),
                description=f"{channel.name_zh} · {channel.name}",
            )
            lead_days = 0
            if status in (CampaignStatus.ACTIVE, CampaignStatus.COMPLETED):
                lead_days = ((min(end or yesterday, yesterday)) - max(start, earliest)).days + 1
            weight = lead_days**0.7 * rng.uniform(0.6, 1.4) if lead_days > 0 else 0.0
            plans.append((campaign, weight, code))

    # Each channel gets its share of leads, split over its campaigns by weight.
    channel_weight: dict[str, float] = {}
    for _, weight, code in plans:
        channel_weight[code] = channel_weight.get(code, 0.0) + weight
    shares = {code: profile[0] for code, profile in data.CHANNEL_PROFILES.items()}
    total_share = sum(shares[code] for code, weight in channel_weight.items() if weight)
    lead_weights = [
        shares[code] / total_share * weight / channel_weight[code] if weight else 0.0
        for _, weight, code in plans
    ]

    costs = []
    for (campaign, _, code), lead_weight in zip(plans, lead_weights, strict=True):
        share, _quality, cpl, *_ = data.CHANNEL_PROFILES[code]
        kind = "online" if data.CHANNEL_PROFILES[code][3] == "form" else "offline"
        expected_leads = n_leads * lead_weight
        start, end = campaign.start_date, campaign.end_date
        spend_end = min(end or yesterday, yesterday)
        if campaign.status == CampaignStatus.CANCELLED:
            deposit = Decimal(rng.randint(5, 30) * 1000)
            costs.append(
                CampaignCost(
                    campaign=campaign, date=start, amount=deposit, note=data.CANCELLED_COST_NOTE
                )
            )
            campaign.budget = deposit * rng.randint(3, 6)
            continue
        if campaign.status == CampaignStatus.PLANNED:
            # about a quarter of what the channel brings in a year
            planned = n_leads * share / 100 / 4 * cpl * rng.uniform(0.8, 1.2)
            campaign.budget = Decimal(max(1, round(planned / 1000)) * 1000)
            continue
        spent = Decimal(expected_leads * cpl * rng.uniform(0.75, 1.3)).quantize(CENT)
        spent = max(spent, Decimal("500.00"))
        span = (spend_end - start).days + 1
        full_span = ((end or today + dt.timedelta(days=90)) - start).days + 1
        campaign.budget = (spent * Decimal(full_span / span * rng.uniform(1.0, 1.25))).quantize(
            Decimal("1000")
        ) or Decimal("1000")
        lines = max(1, min(12, span // 30)) if kind == "online" else rng.randint(2, 4)
        lines = min(lines, span)
        for index, amount in enumerate(_split(spent, lines, rng)):
            day = start + dt.timedelta(days=int((index + 0.5) * span / lines))
            note = rng.choice(data.COST_NOTES[kind])
            costs.append(
                CampaignCost(campaign=campaign, date=min(day, spend_end), amount=amount, note=note)
            )

    Campaign.objects.bulk_create([plan[0] for plan in plans])
    CampaignCost.objects.bulk_create(costs)  # campaign ids are filled in from the saved rows

    infos, weights = [], []
    for (campaign, _, code), lead_weight in zip(plans, lead_weights, strict=True):
        if not lead_weight:
            continue
        _, quality, _, touch_kind, utm_source, utm_medium = data.CHANNEL_PROFILES[code]
        start = max(campaign.start_date, earliest)
        stop = min(campaign.end_date or yesterday, yesterday)
        infos.append(
            CampaignInfo(
                id=campaign.pk,
                channel=code,
                channel_kind=campaign.channel.kind,
                online=touch_kind == "form",
                quality=quality,
                touch_kind=touch_kind,
                utm_source=utm_source,
                utm_medium=utm_medium,
                utm_campaign=campaign.utm_campaign,
                owner_id=campaign.owner_id,
                first_day_ago=(today - start).days,
                last_day_ago=(today - stop).days,
            )
        )
        weights.append(lead_weight)
    return infos, weights


# --------------------------------------------------------------------------------------
# Companies
# --------------------------------------------------------------------------------------


def create_companies(
    *, rng: random.Random, count: int, teams: list[TeamInfo], rep_ids: list[int], batch_size: int
) -> list[CompanyInfo]:
    """``count`` companies with unique normalised names, each with an account rep."""
    province_team = {
        province: index for index, team in enumerate(data.DEMO_TEAMS) for province in team[3]
    }
    city_cum = list(accumulate(c[3] for c in data.CITIES))
    size_cum = list(accumulate(s[1] for s in data.COMPANY_SIZES))
    team_cum = [list(accumulate(team.member_weights)) for team in teams]
    seen: set[str] = set()
    domains: set[str] = set()
    rows: list[tuple[Company, CompanyInfo]] = []
    attempts = 0
    while len(rows) < count:
        attempts += 1
        city, city_py, province, _ = data.CITIES[
            bisect_right(city_cum, rng.random() * city_cum[-1])
        ]
        english = rng.random() < 0.15
        if english:
            brand = rng.choice(data.EN_BRANDS)
            business, code, industry = rng.choice(data.EN_BUSINESSES)
            name = rng.choice(data.EN_COMPANY_FORMS).format(
                brand=brand, business=business, city=city_py.capitalize()
            )
            domain = f"{brand.lower().replace(' ', '')}-{code}.com"
        else:
            brand, brand_py = rng.choice(data.CN_BRANDS)
            business, code, industry = rng.choice(data.CN_BUSINESSES)
            name = rng.choice(data.CN_COMPANY_FORMS).format(
                city=city, brand=brand, business=business
            )
            domain = f"{brand_py}{code}.com.cn" if rng.random() < 0.5 else f"{brand_py}-{code}.com"
        if attempts > count * 20:
            name = f"{name}（{len(rows) + 1}）"  # the name space is exhausted: number them
        key = normalize_company_name(name)
        if key in seen:
            continue
        seen.add(key)
        size_index = bisect_right(size_cum, rng.random() * size_cum[-1])
        team_index = province_team.get(province)
        if team_index is None:
            rep = rng.choice(rep_ids)
        else:
            cum = team_cum[team_index]
            rep = teams[team_index].member_ids[bisect_right(cum, rng.random() * cum[-1])]
        company = Company(
            name=name,
            normalized_name=key,
            industry=industry,
            size=data.COMPANY_SIZES[size_index][0],
            region=province,
        )
        domain = _unique_domain(domain, city_py, domains)
        info = CompanyInfo(
            0, name, size_index, industry, province, domain, english, team_index, rep
        )
        rows.append((company, info))
    Company.objects.bulk_create([row[0] for row in rows], batch_size=batch_size)
    return [dataclasses.replace(info, id=company.pk) for company, info in rows]


def _unique_domain(domain: str, city_py: str, taken: set[str]) -> str:
    """One mail domain per company, so company emails never collide across companies."""
    name, dot, tld = domain.partition(".")
    candidate, n = domain, 2
    if candidate in taken:
        candidate = f"{name}-{city_py}{dot}{tld}"
    while candidate in taken:
        candidate, n = f"{name}-{city_py}{n}{dot}{tld}", n + 1
    taken.add(candidate)
    return candidate


def local_day_starts(today: dt.date, days: int) -> list[dt.datetime]:
    """Aware local midnights: index 0 is today, 1 yesterday …"""
    return [
        timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=n), dt.time.min))
        for n in range(days + 1)
    ]


def lognormal_hours(rng: random.Random, median: float, sigma: float, cap: float) -> dt.timedelta:
    return dt.timedelta(hours=min(cap, rng.lognormvariate(math.log(median), sigma)))


#: How far ahead an open deal is expected to close, in days, by stage: opportunities (an
#: amount agreed) sooner than fresh SQLs; a share of opportunities closes within the rest of
#: this month (the forecast's current period). A few are left undated, as in real
#: pipelines (the forecast counts those in the current period).
CLOSE_IN_DAYS = {"opportunity": (1, 60), "sql": (10, 100)}
P_THIS_MONTH = 0.4
P_UNDATED = 0.1


def date_open_deals(*, rng: random.Random, today: dt.date, batch_size: int = 5000) -> int:
    """Give the open SQL and opportunity leads an expected close date
    (``Lead.expected_close_date``) so the forecast page has dated deals this month and
    the next ones. Its own random stream (``demo_rng(seed, "close_dates")``): the rest of
    the world stays identical. Returns how many leads got a date."""
    after = dt.date(today.year + today.month // 12, today.month % 12 + 1, 1)
    rest = (after - today).days - 1  # days left in this month after today
    dated = []
    for pk, stage in (
        Lead.objects.filter(stage__in=tuple(CLOSE_IN_DAYS), expected_close_date__isnull=True)
        .order_by("pk")
        .values_list("pk", "stage")
        .iterator(chunk_size=batch_size)
    ):
        if rng.random() < P_UNDATED:
            continue
        if stage == "opportunity" and rng.random() < P_THIS_MONTH:
            days = rng.randint(0, rest)
        else:
            days = rng.randint(*CLOSE_IN_DAYS[stage])
        dated.append(Lead(pk=pk, expected_close_date=today + dt.timedelta(days=days)))
    Lead.objects.bulk_update(dated, ["expected_close_date"], batch_size=batch_size)
    return len(dated)
