"""Fast synthetic data for benchmarks (PostgreSQL, execute_values)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from campaigns.models import Campaign, Channel
from leads.models import Company, Lead, LeadTouch
from pipeline.db import fast_bulk_insert

TIMELINES = ["1m", "3m", "6m", "later", "unknown"]
ROLES = ["decision_maker", "influencer", "user", "unknown"]
SIZES = ["", "1-49", "50-199", "200-999", "1000-4999", "5000+"]
INDUSTRIES = ["制造业", "汽车", "医疗", "零售", "金融", "能源", "物流", "SaaS"]
REGIONS = ["上海", "北京", "广东", "江苏", "浙江", "四川"]


def campaigns(n: int = 50, *, owner=None) -> list[Campaign]:
    channels = list(Channel.objects.all())
    objs = [
        Campaign(
            name=f"Bench {i}",
            channel=channels[i % len(channels)],
            owner=owner,
            utm_campaign=f"bench-{i}",
            public_key=f"bench-key-{i}",
            budget=Decimal("10000"),
            status="active",
            start_date=dt.date(2026, 1, 1),
        )
        for i in range(n)
    ]
    fast_bulk_insert(Campaign, objs)
    return objs


def companies(n: int) -> list[Company]:
    objs = [
        Company(
            name=f"公司{i}",
            normalized_name=f"bench{i}",
            industry=INDUSTRIES[i % len(INDUSTRIES)],
            size=SIZES[i % len(SIZES)],
            region=REGIONS[i % len(REGIONS)],
        )
        for i in range(n)
    ]
    fast_bulk_insert(Company, objs)
    return objs


def leads(
    n: int,
    *,
    stage: str = "new",
    campaigns_: list[Campaign],
    companies_: list[Company],
    batch: int = 20_000,
    seed: int = 7,
    touches: bool = True,
    progress=None,
) -> list[int]:
    """``n`` leads (and one first touch each) in ``stage``; returns their ids."""
    rng = random.Random(seed)
    now = timezone.now()
    ids: list[int] = []
    for start in range(0, n, batch):
        rows = []
        for i in range(start, min(n, start + batch)):
            grade = rng.choice("ABCD")
            rows.append(
                Lead(
                    name=f"Bench {i}",
                    phone=f"+86139{i:08d}",
                    email=f"b{i}@bench.cn",
                    company_id=companies_[i % len(companies_)].pk,
                    source_campaign_id=campaigns_[i % len(campaigns_)].pk,
                    title=rng.choice(["采购经理", "总经理", "Engineer", "IT Director"]),
                    budget=Decimal(rng.choice([0, 50_000, 200_000, 800_000])),
                    timeline=rng.choice(TIMELINES),
                    decision_role=rng.choice(ROLES),
                    need="MES" if rng.random() < 0.5 else "",
                    stage=stage,
                    grade=grade,
                    grade_source="rule",
                    score=rng.randint(0, 100),
                    created_at=now - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 300)),
                    mql_at=now if stage != "new" else None,
                )
            )
        fast_bulk_insert(Lead, rows)
        if touches:
            fast_bulk_insert(
                LeadTouch,
                [
                    LeadTouch(
                        lead_id=lead.pk,
                        campaign_id=lead.source_campaign_id,
                        kind="form",
                        occurred_at=lead.created_at,
                        is_first=True,
                        credit_first_touch=1,
                        credit_last_touch=1,
                        credit_linear=1,
                        credit_u_shaped=1,
                    )
                    for lead in rows
                ],
            )
        ids += [lead.pk for lead in rows]
        if progress:
            progress(len(ids), n)
    return ids
