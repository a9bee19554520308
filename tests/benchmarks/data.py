"""Fast synthetic data for benchmarks (PostgreSQL, execute_values)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import connection
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
                    company_name=companies_[i % len(companies_)].name,
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


def owned_leads(
    n: int,
    *,
    owners: list[int],
    campaigns_: list[Campaign],
    companies_: list[Company],
    batch: int = 20_000,
    seed: int = 11,
    offset: int = 0,
    progress=None,
) -> list[int]:
    """``n`` leads spread over the funnel, owned by ``owners``, with SLA clocks set."""
    rng = random.Random(seed)
    now = timezone.now()
    ids: list[int] = []
    for start in range(offset, offset + n, batch):
        rows = []
        for i in range(start, min(offset + n, start + batch)):
            created = now - dt.timedelta(minutes=rng.randint(60, 60 * 24 * 360))
            stage = rng.choices(
                ["new", "mql", "sql", "opportunity", "won", "lost", "disqualified"],
                [20, 15, 25, 10, 8, 12, 10],
            )[0]
            lead = Lead(
                name=f"O{i}",
                phone=f"+86138{i:08d}",
                email=f"o{i}@bench.cn",
                company_id=companies_[i % len(companies_)].pk,
                company_name=companies_[i % len(companies_)].name,
                source_campaign_id=campaigns_[rng.randrange(len(campaigns_))].pk,
                stage=stage,
                grade=rng.choice("ABCD"),
                grade_source="rule",
                score=rng.randint(0, 100),
                created_at=created,
            )
            if stage not in ("new", "disqualified"):
                lead.mql_at = created + dt.timedelta(hours=rng.randint(1, 48))
                lead.assigned_at = lead.mql_at + dt.timedelta(minutes=rng.randint(5, 600))
                lead.owner_id = owners[i % len(owners)]
                lead.response_due_at = lead.assigned_at + dt.timedelta(hours=4)
                if rng.random() < 0.8:
                    lead.first_contact_at = lead.assigned_at + dt.timedelta(
                        hours=rng.randint(0, 30)
                    )
                    lead.responded_at = lead.first_contact_at
                    lead.last_follow_up_at = lead.first_contact_at + dt.timedelta(
                        days=rng.randint(0, 40)
                    )
                    lead.next_follow_up_at = lead.last_follow_up_at + dt.timedelta(days=7)
            if stage in ("sql", "opportunity", "won", "lost"):
                lead.sql_at = lead.assigned_at + dt.timedelta(days=1)
            if stage in ("opportunity", "won"):
                lead.opportunity_at = lead.sql_at + dt.timedelta(days=3)
                lead.expected_amount = Decimal(rng.randint(10, 500) * 1000)
            if stage == "won":
                lead.won_at = lead.sql_at + dt.timedelta(days=20)
                lead.won_amount = Decimal(rng.randint(10, 500) * 1000)
                lead.signed_at = lead.won_at.date()
            if stage == "lost":
                lead.lost_at = lead.sql_at + dt.timedelta(days=15)
                lead.lost_reason = "price"
            if stage == "disqualified":
                lead.disqualified_at = created + dt.timedelta(hours=5)
                lead.disqualify_reason = "no_need"
            rows.append(lead)
        fast_bulk_insert(Lead, rows)
        ids += [lead.pk for lead in rows]
        if progress:
            progress(len(ids), n)
    return ids


def touches(
    lead_rows: list[tuple[int, int, dt.datetime]],
    *,
    campaigns_: list[Campaign],
    extra_per_lead: float = 2.0,
    batch: int = 50_000,
    seed: int = 5,
) -> int:
    """A first touch per lead plus on average ``extra_per_lead`` more on other campaigns."""
    rng = random.Random(seed)
    made, pending = 0, []
    for lead_id, campaign_id, created in lead_rows:
        pending.append(
            LeadTouch(
                lead_id=lead_id,
                campaign_id=campaign_id,
                kind="form",
                occurred_at=created,
                is_first=True,
            )
        )
        for k in range(int(extra_per_lead) + (rng.random() < extra_per_lead % 1)):
            pending.append(
                LeadTouch(
                    lead_id=lead_id,
                    campaign_id=campaigns_[rng.randrange(len(campaigns_))].pk,
                    kind=rng.choice(["webinar", "event_checkin", "form"]),
                    occurred_at=created + dt.timedelta(hours=1 + k * 24),
                )
            )
        if len(pending) >= batch:
            fast_bulk_insert(LeadTouch, pending)
            made += len(pending)
            pending = []
    fast_bulk_insert(LeadTouch, pending)
    return made + len(pending)


def follow_ups(
    lead_rows: list[tuple[int, int, dt.datetime]], *, per_lead: int = 3, batch: int = 50_000
) -> int:
    """``per_lead`` follow-ups by the owner for each (lead, owner, first contact) row."""
    from leads.models import FollowUp

    made, pending = 0, []
    for lead_id, owner_id, first in lead_rows:
        for k in range(per_lead):
            at = first + dt.timedelta(days=2 * k)
            pending.append(
                FollowUp(
                    lead_id=lead_id,
                    author_id=owner_id,
                    method="call",
                    at=at,
                    recorded_at=at,  # logged as it happened
                    outcome="ok",
                )
            )
        if len(pending) >= batch:
            fast_bulk_insert(FollowUp, pending)
            made += len(pending)
            pending = []
    fast_bulk_insert(FollowUp, pending)
    return made + len(pending)


# One row per lead number ``i``: random draws r1..r10 (setseed makes them repeatable), then
# every column of leads_lead. Funnel shares as in ``owned_leads``: new 20, mql 15,
# sql 25, opportunity 10, won 8, lost 12, disqualified 10 (%). Owned stages carry the SLA
# clock; 80% of them were contacted, with a last follow-up 0–40 days after that.
OWNED_LEADS_SQL = """
WITH drawn AS (
    SELECT i, random() r1, random() r2, random() r3, random() r4, random() r5,
           random() r6, random() r7, random() r8, random() r9, random() r10
    FROM generate_series(%(lo)s::int, %(hi)s::int) AS i
), staged AS (
    SELECT d.*,
        CASE WHEN r1 < .20 THEN 'new' WHEN r1 < .35 THEN 'mql' WHEN r1 < .60 THEN 'sql'
             WHEN r1 < .70 THEN 'opportunity' WHEN r1 < .78 THEN 'won'
             WHEN r1 < .90 THEN 'lost' ELSE 'disqualified' END AS stage,
        %(now)s::timestamptz
            - make_interval(mins => (%(min_age)s + r4 * (518400 - %(min_age)s))::int) AS created
    FROM drawn d
), timed AS (
    SELECT s.*,
        s.stage NOT IN ('new', 'disqualified') AS owned,
        s.created + make_interval(hours => 1 + (r5 * 47)::int) AS mql,
        s.created + make_interval(hours => 1 + (r5 * 47)::int)
                  + make_interval(mins => 5 + (r6 * 595)::int) AS assigned,
        s.r7 < .8 AS contacted
    FROM staged s
), contact AS (
    SELECT t.*,
        CASE WHEN owned AND contacted
             THEN LEAST(t.assigned + make_interval(hours => (r8 * 30)::int), %(now)s) END
             AS first_contact
    FROM timed t
)
INSERT INTO leads_lead ({columns})
SELECT {values} FROM contact c
"""

OWNED_LEAD_VALUES = {
    "name": "'O' || i",
    "title": "''",
    "phone": "'+86138' || lpad(i::text, 8, '0')",
    "email": "'o' || i || '@bench.cn'",
    "wechat": "''",
    "company_id": "%(company0)s + i %% %(companies)s",
    "company_name": "'公司' || (i %% %(companies)s)",
    "product_interest": "''",
    "budget": "NULL",
    "timeline": "'unknown'",
    "decision_role": "'unknown'",
    "need": "''",
    "source_campaign_id": "%(campaign0)s + floor(r10 * %(campaigns)s)::int",
    "utm_source": "''",
    "utm_medium": "''",
    "utm_campaign": "''",
    "utm_term": "''",
    "utm_content": "''",
    "landing_page": "''",
    "consent_at": "NULL",
    "consent_version": "''",
    "stage": "stage",
    "grade": "(ARRAY['A', 'B', 'C', 'D'])[1 + floor(r2 * 4)::int]",
    "grade_source": "'rule'",
    "grade_reason": "''",
    "score": "(r3 * 100)::int",
    "score_detail": "'[]'::jsonb",
    "score_version": "0",
    "owner_id": "CASE WHEN owned THEN (%(owners)s::int[])[1 + i %% %(n_owners)s] END",
    "in_pool": "false",
    "created_by_id": "NULL",
    "created_at": "created",
    "updated_at": "%(now)s",
    "scored_at": "%(now)s",
    "mql_at": "CASE WHEN owned THEN mql END",
    "sql_at": "CASE WHEN stage IN ('sql', 'opportunity', 'won', 'lost') "
    "THEN assigned + interval '1 day' END",
    "opportunity_at": "CASE WHEN stage IN ('opportunity', 'won') "
    "THEN assigned + interval '4 days' END",
    "won_at": "CASE WHEN stage = 'won' THEN assigned + interval '21 days' END",
    "lost_at": "CASE WHEN stage = 'lost' THEN assigned + interval '16 days' END",
    "disqualified_at": "CASE WHEN stage = 'disqualified' THEN created + interval '5 hours' END",
    "assigned_at": "CASE WHEN owned THEN assigned END",
    "pooled_at": "NULL",
    "first_contact_at": "first_contact",
    "response_due_at": "CASE WHEN owned THEN assigned + interval '4 hours' END",
    "responded_at": "first_contact",
    "last_follow_up_at": "LEAST(first_contact + make_interval(days => (r9 * 40)::int), %(now)s)",
    "next_follow_up_at": "first_contact + make_interval(days => 7 + (r9 * 40)::int)",
    "expected_amount": "CASE WHEN stage IN ('opportunity', 'won') "
    "THEN 10000 + (r6 * 490)::int * 1000 END",
    "won_amount": "CASE WHEN stage = 'won' THEN 10000 + (r8 * 490)::int * 1000 END",
    "signed_at": "CASE WHEN stage = 'won' THEN (assigned + interval '21 days')::date END",
    "disqualify_reason": "CASE WHEN stage = 'disqualified' THEN 'no_need' ELSE '' END",
    "reject_reason": "''",
    "lost_reason": "CASE WHEN stage = 'lost' THEN 'price' ELSE '' END",
    "recycle_reason": "''",
    "expected_close_date": "NULL",
    "erased_at": "NULL",
}


def contiguous(objs) -> tuple[int, int]:
    """The first id and the count of ``objs``, whose ids must be contiguous."""
    ids = sorted(o.pk for o in objs)
    assert ids[-1] - ids[0] + 1 == len(ids), "bench rows need contiguous ids"
    return ids[0], len(ids)


def owned_leads_sql(
    *,
    first: int,
    n: int,
    owners: list[int],
    campaigns_: list[Campaign],
    companies_: list[Company],
    min_age_minutes: int = 60,
    now: dt.datetime | None = None,
) -> int:
    """``owned_leads`` set-based: leads numbered ``first`` … ``first + n - 1`` written by the
    database in one ``INSERT … SELECT`` over ``generate_series`` (``OWNED_LEADS_SQL``, the
    same funnel shares and clocks, created ``min_age_minutes`` up to 360 days ago); about
    50× faster than building them in Python. Returns the largest lead id before them."""
    fields = [f for f in Lead._meta.concrete_fields if not f.primary_key]
    assert {f.column for f in fields} == set(OWNED_LEAD_VALUES), "a column is missing"
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    values = ", ".join(OWNED_LEAD_VALUES[f.column] for f in fields)
    campaign0, n_campaigns = contiguous(campaigns_)
    company0, n_companies = contiguous(companies_)
    params = {
        "lo": first,
        "hi": first + n - 1,
        "now": now or timezone.now(),
        "min_age": min_age_minutes,
        "owners": owners,
        "n_owners": len(owners),
        "campaign0": campaign0,
        "campaigns": n_campaigns,
        "company0": company0,
        "companies": n_companies,
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM leads_lead")
        (before,) = cursor.fetchone()
        cursor.execute("SELECT setseed(%s)", [first / (first + n + 1)])
        cursor.execute(OWNED_LEADS_SQL.format(columns=columns, values=values), params)
    return int(before)
