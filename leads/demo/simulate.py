"""Walk one demo lead through the lifecycle the way ``leads.lifecycle`` would have.

Pure Python over plain values: no queries. ``LeadSimulator.simulate(index)`` returns the
lead's field values and its touches, events, follow-ups and assignment decisions; the
seeder writes them in bulk.

The arrival rows — the new lead's columns, its touches, the ``created`` and ``duplicate``
events' data — come from the arrival rule's own value functions
(``leads.lifecycle.arrival``), as for capture and imports. What the rest of the lifecycle
would have set is set here, with the same event kinds, stages, actors and ``data`` keys,
at times that respect created ≤ mql ≤ assigned ≤ first contact ≤ sql ≤ opportunity ≤
won/lost. Scores come from the real scorer and the active scoring rules. Where the
lifecycle could produce an out-of-order history (an accepted lead recycled and claimed
again), the demo simply does not go there.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from decimal import Decimal
from itertools import accumulate
from types import SimpleNamespace

from django.contrib.auth.models import User
from django.utils import timezone

from assignment import reasons
from assignment.reasons import DecisionReason
from leads.choices import EventKind, GradeSource, Stage
from leads.demo import data
from leads.demo.world import CampaignInfo, DemoWorld, local_day_starts
from leads.facts import lead_facts
from leads.lifecycle.arrival import (
    created_event_data,
    new_lead_values,
    returned_event_data,
    touch_values,
)
from pipeline.conditions import matches
from pipeline.people import display_name
from scoring.scorer import Rule, ScoreResult, Thresholds, score_lead

# Mainland mobile prefixes that every phonenumbers release accepts as valid.
MOBILE_PREFIXES = (
    *("130", "131", "132", "133", "135", "136", "137", "138", "139"),
    *("150", "151", "152", "153", "155", "156", "157", "158", "159"),
    *("166", "176", "177", "178"),
    *("180", "181", "182", "183", "184", "185", "186", "187", "188", "189"),
    *("191", "198", "199"),
)
#: Multiplier coprime with 10**8 and 9 * 10**8: ``(k * _SPREAD + offset) % m`` is a
#: bijection, so every lead index gets its own phone and QQ number, scattered.
_SPREAD = 2_654_435_761

GRADE_ORDER = "ABCD"
#: Grades the demo routing rules send to a team; D and uncovered regions go to the pool.
ROUTED_GRADES = ("A", "B", "C")
P_DISQUALIFY_NEW = {"A": 0.03, "B": 0.1, "C": 0.28, "D": 0.55}
P_CLAIM = {"A": 0.85, "B": 0.6, "C": 0.3, "D": 0.1}
P_REJECT = {"A": 0.05, "B": 0.12, "C": 0.25, "D": 0.4}
P_OPPORTUNITY = {"A": 0.7, "B": 0.55, "C": 0.38, "D": 0.2}
P_WIN = {"A": 0.45, "B": 0.35, "C": 0.25, "D": 0.12}
#: The desk's backlog: share of leads still untouched (new), by age.
P_BACKLOG = (
    (dt.timedelta(days=3), 0.6),
    (dt.timedelta(days=10), 0.3),
    (dt.timedelta(days=30), 0.05),
)
P_MANUAL_GRADE = 0.04
P_DESK_FROM_POOL = 0.5  # a good lead from a region no team covers: the desk hands it out
P_RECYCLE_MQL = 0.08
P_LINGER_MQL = 0.05  # the owner neither accepts nor rejects: an SLA case
P_RECYCLE_SQL = 0.03
P_WIN_FROM_SQL = 0.08  # of P_OPPORTUNITY: small deals signed without an opportunity
P_EXTRA_TOUCHES = 0.3
P_FRESH_FOLLOW_UP = 0.85  # open leads whose owner keeps up; the rest are overdue
P_PERSONAL_EMAIL = 0.25
SCORING_DELAY = dt.timedelta(seconds=2)  # the scoring task runs right after the commit
CACHE_SIZE = 100_000

DISQUALIFY_WEIGHTS = {
    "low": {
        "invalid_contact": 30,
        "no_need": 28,
        "spam": 20,
        "competitor": 5,
        "duplicate": 7,
        "other": 10,
    },
    "high": {
        "no_need": 45,
        "invalid_contact": 15,
        "duplicate": 20,
        "competitor": 12,
        "other": 8,
    },
}
REJECT_WEIGHTS = {
    "not_reachable": 30,
    "no_need": 30,
    "wrong_contact": 10,
    "too_small": 15,
    "duplicate": 5,
    "other": 10,
}
REJECT_TO_DISQUALIFY = {
    "not_reachable": "invalid_contact",
    "no_need": "no_need",
    "wrong_contact": "invalid_contact",
    "too_small": "other",
    "duplicate": "duplicate",
    "other": "other",
}
LOST_WEIGHTS = {
    "price": 30,
    "competitor": 25,
    "no_budget": 15,
    "no_decision": 15,
    "timing": 10,
    "product_fit": 5,
}
LOST_FROM_SQL_WEIGHTS = {"no_budget": 30, "no_decision": 30, "timing": 25, "price": 10, "other": 5}
TIMELINE_SPEED = {"1m": 0.5, "3m": 0.8, "6m": 1.2, "later": 1.6, "unknown": 1.0}
#: Lead attributes ``lead_facts`` reads (besides company and source campaign).
_FACT_ATTRIBUTES = (
    "grade",
    "score",
    "stage",
    "title",
    "product_interest",
    "budget",
    "timeline",
    "decision_role",
    "need",
    "email",
    "phone",
    "wechat",
    "utm_source",
    "utm_medium",
)


class _Weighted:
    """``pick(rng)`` draws a key in proportion to its weight (cumulative + bisect)."""

    __slots__ = ("cum", "keys", "total")

    def __init__(self, weights: dict):
        self.keys = list(weights)
        self.cum = list(accumulate(weights.values()))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random):
        return self.keys[bisect_right(self.cum, rng.random() * self.total)]


_DISQ = {k: _Weighted(v) for k, v in DISQUALIFY_WEIGHTS.items()}
_REJECT = _Weighted(REJECT_WEIGHTS)
_LOST = _Weighted(LOST_WEIGHTS)
_LOST_SQL = _Weighted(LOST_FROM_SQL_WEIGHTS)
_SURNAMES = _Weighted({pair: 100 / (rank + 4) for rank, pair in enumerate(data.CN_SURNAMES)})


def demo_phone(index: int, seed: int) -> str:
    """A valid, unique (per index) mainland mobile number in E.164."""
    prefix = MOBILE_PREFIXES[(index + seed) % len(MOBILE_PREFIXES)]
    k = index // len(MOBILE_PREFIXES)
    body = (k * _SPREAD + seed * 7_777_777 + 12_345_678) % 100_000_000
    return f"+86{prefix}{body:08d}"


def _qq_number(index: int, seed: int) -> int:
    return 100_000_000 + (index * _SPREAD + seed * 1_000_003) % 900_000_000


class ArrivalSchedule:
    """When leads arrive and through which campaign.

    Lead ``i`` of ``n`` arrives on the day where the cumulative lead volume reaches
    ``(i + ½) / n``, so leads come in date order (ids grow with ``created_at`` as in a real
    database) and days follow the campaigns' volume, with quiet weekends. The campaign is
    drawn among those running that day, in proportion to their daily volume; each
    campaign's total stays its planned share (its costs were sized on it).
    """

    WEEKEND = 0.35

    def __init__(self, *, campaigns: Sequence[CampaignInfo], weights: Sequence[float], today):
        first = max((c.first_day_ago for c in campaigns), default=1)
        self.days = list(range(first, 0, -1))  # day_ago, oldest first
        factor = {
            day: self.WEEKEND if (today - dt.timedelta(days=day)).weekday() >= 5 else 1.0
            for day in self.days
        }
        per_day: dict[int, list[tuple[int, float]]] = {day: [] for day in self.days}
        for index, (campaign, weight) in enumerate(zip(campaigns, weights, strict=True)):
            active = range(campaign.first_day_ago, campaign.last_day_ago - 1, -1)
            total = sum(factor[day] for day in active)
            for day in active:
                per_day[day].append((index, weight * factor[day] / total))
        self.campaigns = list(campaigns)
        self.day_campaigns = {
            day: ([i for i, _ in rates], list(accumulate(r for _, r in rates)))
            for day, rates in per_day.items()
        }
        volumes = [self.day_campaigns[day][1][-1] if per_day[day] else 0.0 for day in self.days]
        self.cum_volume = list(accumulate(volumes))

    def day_for(self, index: int, total: int) -> int:
        """``day_ago`` of lead ``index`` of ``total``."""
        share = (index + 0.5) / total * self.cum_volume[-1]
        return self.days[min(len(self.days) - 1, bisect_right(self.cum_volume, share))]

    def campaign_on(self, day_ago: int, rng: random.Random) -> CampaignInfo:
        indexes, cum = self.day_campaigns[day_ago]
        return self.campaigns[indexes[bisect_right(cum, rng.random() * cum[-1])]]


class SimLead:
    """One simulated lead: field values plus its rows in other tables."""

    __slots__ = (
        "assignments",
        "campaign_view",
        "company_view",
        "events",
        "fields",
        "follow_ups",
        "size_index",
        "touches",
    )

    def __init__(self, fields: dict, size_index: int, company_view, campaign_view):
        self.fields = fields
        self.size_index = size_index  # of the company: sizes the deal
        self.company_view = company_view
        self.campaign_view = campaign_view
        #: touch columns as ``touch_values`` gives them (the seeder adds lead and credits)
        self.touches: list[dict] = []
        #: (kind, from_stage, to_stage, actor id, at, reason, data, follow-up index or -1)
        self.events: list[tuple] = []
        #: (author id, at, method, outcome, note, next_follow_up_at)
        self.follow_ups: list[tuple] = []
        #: (owner, previous owner, rule id, rule name, strategy, reason, actor, at)
        self.assignments: list[tuple] = []

    def event(self, kind, from_stage, to_stage, actor, at, reason="", payload=None, follow_up=-1):
        self.events.append(
            (kind, from_stage, to_stage, actor, at, reason, payload or {}, follow_up)
        )


class LeadSimulator:
    """Draws leads one by one from a single random stream (batch size does not matter).

    ``rules`` and ``thresholds`` are the active scoring rules; ``routing_rules`` maps a
    team index to the (id, name) of the demo assignment rule that routes to it.
    """

    def __init__(
        self,
        *,
        world: DemoWorld,
        seed: int,
        rng: random.Random,
        rules: Sequence[Rule],
        thresholds: Thresholds,
        auto_qualify_score: int | None,
        routing_rules: dict[int, tuple[int, str]],
        total: int,
        score_version: int = 0,
    ):
        self.world = world
        self.total = total
        self.schedule = ArrivalSchedule(
            campaigns=world.campaigns, weights=world.campaign_weights, today=world.today
        )
        self.seed = seed
        self.rng = rng
        self.rules = list(rules)
        self.rules_by_field: dict[str, list[Rule]] = {}
        for rule in self.rules:
            self.rules_by_field.setdefault(rule.field, []).append(rule)
        self._matched: dict[tuple, tuple[bool, ...]] = {}
        self._scores: dict[tuple, ScoreResult] = {}
        self.thresholds = thresholds
        self.auto_qualify_score = auto_qualify_score
        self.score_version = score_version  # the rule set version ``rules`` belong to
        self.routing_rules = routing_rules
        self.day_starts = local_day_starts(world.today, 370)
        self.anchor = self.day_starts[0]  # midnight today: every demo fact lies before it
        self.day_starts_ascending = self.day_starts[::-1]
        self.companies = world.companies
        self.company_views = [
            SimpleNamespace(
                name=c.name,
                industry=c.industry,
                size=data.COMPANY_SIZES[c.size_index][0],
                region=c.region,
            )
            for c in world.companies
        ]
        self.company_leads = [0] * len(world.companies)  # makes company emails unique
        self.campaign_views = {
            c.id: SimpleNamespace(
                pk=c.id, channel=SimpleNamespace(code=c.channel, kind=c.channel_kind)
            )
            for c in world.campaigns
        }
        #: what an arrival through each campaign carries: UTM parameters and landing page
        #: from an online form, nothing from a check-in, webinar, list or hand entry
        self.arrival_utm = {
            c.id: {
                "utm_source": c.utm_source,
                "utm_medium": c.utm_medium,
                "utm_campaign": c.utm_campaign,
            }
            if c.online
            else None
            for c in world.campaigns
        }
        self.landing_pages = {
            c.id: f"https://www.leadloop-demo.example/lp/{c.utm_campaign}" if c.online else ""
            for c in world.campaigns
        }
        self.reps = world.rep_ids
        self.desks = world.desk_ids
        self.usernames = {pk: name for name, pk in world.users.items()}
        #: what the lifecycle puts in a reason's parameters: the display name
        self.names = {
            world.users[username]: display_name(
                User(username=username, first_name=first, last_name=last)
            )
            for username, first, last, _roles, _superuser in data.DEMO_USERS
        }

    # -- helpers ----------------------------------------------------------------------

    def _hours(self, median: float, sigma: float, cap: float) -> dt.timedelta:
        value = self.rng.lognormvariate(math.log(median), sigma)
        return dt.timedelta(hours=min(cap, value))

    def _days(self, low: float, high: float) -> dt.timedelta:
        return dt.timedelta(days=self.rng.uniform(low, high))

    def _score(self, lead: SimLead, touch_kinds: list[str], stage: str):
        fields = {**lead.fields, "stage": stage}
        view = SimpleNamespace(
            **{name: fields.get(name, "") for name in _FACT_ATTRIBUTES},
            company=lead.company_view,
            source_campaign=lead.campaign_view,
        )
        facts = lead_facts(view, touch_count=len(touch_kinds), touch_kinds=sorted(set(touch_kinds)))
        # The score depends only on which rules match: leads with the same matches share
        # one result. Whether a fact matches is asked of the rules' own ``matches``, once
        # per distinct value.
        key = tuple(self._matches(field, facts.get(field)) for field in self.rules_by_field)
        result = self._scores.get(key)
        if result is None:
            result = score_lead(facts, self.rules, self.thresholds)
            if len(self._scores) < CACHE_SIZE:
                self._scores[key] = result
        return result

    def _matches(self, field: str, value) -> tuple[bool, ...]:
        key = (field, tuple(value) if isinstance(value, list) else value)
        found = self._matched.get(key)
        if found is None:
            found = tuple(matches(r.operator, value, r.value) for r in self.rules_by_field[field])
            if len(self._matched) < CACHE_SIZE:
                self._matched[key] = found
        return found

    # -- one lead ---------------------------------------------------------------------

    def simulate(self, index: int) -> SimLead:
        rng = self.rng
        day_ago = self.schedule.day_for(index, self.total)
        campaign = self.schedule.campaign_on(day_ago, rng)
        quality = min(1.0, max(0.0, rng.gauss(campaign.quality, 0.15)))
        position = int(rng.random() * len(self.companies))
        if rng.random() < quality * 0.6:  # good leads lean to bigger companies
            other = int(rng.random() * len(self.companies))
            if self.companies[other].size_index > self.companies[position].size_index:
                position = other
        company = self.companies[position]

        if campaign.online:
            seconds = int(rng.triangular(6, 24, 15) * 3600)
        else:
            seconds = int(rng.uniform(9, 18) * 3600)
        created_at = self.day_starts[day_ago] + dt.timedelta(seconds=min(seconds, 86_399))

        # forms, check-ins and webinars arrive through the capture API (no user); lists
        # and hand-entered leads are the campaign owner's work
        created_by = campaign.owner_id if campaign.touch_kind in ("import", "manual") else None
        utm, landing = self.arrival_utm[campaign.id], self.landing_pages[campaign.id]
        # a new lead as the arrival rule writes it; the lifecycle below adds its own fields
        fields = new_lead_values(
            self._person(index, position, quality),
            campaign_id=campaign.id,
            company_id=company.id,
            company_name=company.name,
            actor_id=created_by,
            now=created_at,
            utm=utm,
            landing_page=landing,
        )
        lead = SimLead(
            fields,
            company.size_index,
            self.company_views[position],
            self.campaign_views[campaign.id],
        )
        lead.touches.append(
            touch_values(
                campaign_id=campaign.id,
                kind=campaign.touch_kind,
                occurred_at=created_at,
                is_first=True,
                utm=utm,
                landing_page=landing,
            )
        )
        lead.event(
            EventKind.CREATED,
            "",
            Stage.NEW,
            created_by,
            created_at,
            payload=created_event_data(campaign_id=campaign.id, touch_kind=campaign.touch_kind),
        )
        self._grade(lead, [campaign.touch_kind], created_at + SCORING_DELAY, Stage.NEW)
        extra = rng.randint(1, 3) if rng.random() < P_EXTRA_TOUCHES else 0
        self._lifecycle(lead, company, campaign.quality)
        if extra:
            self._extra_touches(lead, campaign, extra)
        lead.events.sort(key=lambda event: event[4])
        return lead

    def _grade(self, lead: SimLead, touch_kinds: list[str], at: dt.datetime, stage: str) -> None:
        """What ``lead_score`` does: score, and follow with the grade unless set by hand."""
        f = lead.fields
        result = self._score(lead, touch_kinds, stage)
        f.update(
            score=result.score,
            score_detail=result.detail,
            score_version=self.score_version,
            scored_at=at,
        )
        previous = f.get("grade", "")
        if f.get("grade_source") == GradeSource.MANUAL or result.grade == previous:
            return
        f.update(grade=result.grade, grade_source=GradeSource.RULE)
        lead.event(
            EventKind.GRADED,
            stage,
            stage,
            None,
            at,
            payload={
                "grade": result.grade,
                "previous_grade": previous,
                "score": result.score,
                "source": "rule",
            },
        )

    def _person(self, index: int, position: int, quality: float) -> dict:
        rng = self.rng
        company = self.companies[position]
        english = rng.random() < (0.7 if company.english else 0.08)
        if english:
            first, last = rng.choice(data.EN_FIRST), rng.choice(data.EN_LAST)
            name = f"{first} {last}"
            local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", first)).lower()
        else:
            surname, surname_py = _SURNAMES.pick(rng)
            given, given_py = rng.choice(data.CN_GIVEN)
            name = surname + given
            local = rng.choice(
                (
                    f"{given_py}.{surname_py}",
                    f"{surname_py}{given_py}",
                    f"{surname_py}.{given_py}",
                    f"{given_py[0]}{surname_py}",
                )
            )
        if rng.random() < P_PERSONAL_EMAIL:
            email = f"{_qq_number(index, self.seed)}@{rng.choice(data.PERSONAL_MAIL_DOMAINS)}"
        else:
            # company domains are unique and the n-th lead of a company gets an n, so two
            # open leads never share an email (a database constraint)
            self.company_leads[position] += 1
            count = self.company_leads[position]
            email = f"{local}{count if count > 1 else ''}@{company.domain}"
        phone = demo_phone(index, self.seed)
        wechat = ""
        if rng.random() < 0.4:
            wechat = phone[3:] if rng.random() < 0.4 else f"{local.replace('.', '_')}_{index % 997}"

        r = rng.random()
        if r < 0.06 + 0.34 * quality:
            role = "decision_maker"
        elif r < 0.31 + 0.44 * quality:
            role = "influencer"
        elif r < 0.66 + 0.24 * quality:
            role = "user"
        else:
            role = "unknown"
        title_zh, title_en = rng.choice(data.TITLES[role])
        r = rng.random()
        if r < 0.04 + 0.26 * quality:
            timeline = "1m"
        elif r < 0.14 + 0.51 * quality:
            timeline = "3m"
        elif r < 0.32 + 0.51 * quality:
            timeline = "6m"
        elif r < 0.57 + 0.36 * quality:
            timeline = "later"
        else:
            timeline = "unknown"
        low, high = data.COMPANY_SIZES[company.size_index][2]
        budget = None
        if rng.random() < 0.15 + 0.65 * quality:
            amount = rng.uniform(low, high) * rng.uniform(0.6, 1.4)
            budget = Decimal(max(10_000, round(amount, -4)))
        product = rng.choice(data.PRODUCTS) if rng.random() < 0.45 + 0.45 * quality else ""
        need = ""
        if rng.random() < 0.2 + 0.65 * quality:
            need = rng.choice(data.NEEDS).format(
                n=rng.randint(1, 6), product=product or rng.choice(data.PRODUCTS)
            )
        return {
            "name": name,
            "title": title_en if english else title_zh,
            "phone": phone,
            "email": email,
            "wechat": wechat,
            "product_interest": product,
            "budget": budget,
            "timeline": timeline,
            "decision_role": role,
            "need": need,
        }

    # -- lifecycle --------------------------------------------------------------------

    def _lifecycle(self, lead: SimLead, company, channel_quality: float) -> None:
        rng, f, anchor = self.rng, lead.fields, self.anchor
        grade = f["grade"]
        automatic = self.auto_qualify_score is not None and f["score"] >= self.auto_qualify_score
        if automatic:
            qualified_at = f["created_at"] + SCORING_DELAY * 2
            desk = None
        else:
            age = anchor - f["created_at"]
            backlog = next((p for days, p in P_BACKLOG if age < days), 0.0)
            if rng.random() < backlog:
                return
            qualified_at = f["created_at"] + self._hours(5, 1.1, 96)
            if qualified_at >= anchor:
                return
            desk = self.desks[int(rng.random() * len(self.desks))]
            # junk channels (feed, display) bring more spam and invalid numbers
            if rng.random() < P_DISQUALIFY_NEW[grade] * (1.4 - 0.8 * channel_quality):
                code = _DISQ["low" if grade in "CD" else "high"].pick(rng)
                self._disqualify(lead, desk, qualified_at, Stage.NEW, code)
                return

        reason = ""
        if desk is not None and rng.random() < P_MANUAL_GRADE:
            position = GRADE_ORDER.index(grade) + rng.choice((-1, 1))
            new_grade = GRADE_ORDER[min(3, max(0, position))]
            if new_grade != grade:
                reason = rng.choice(data.MANUAL_GRADE_REASONS)
                f.update(grade=new_grade, grade_source=GradeSource.MANUAL, grade_reason=reason)
        f.update(stage=Stage.MQL, mql_at=qualified_at)
        lead.event(
            EventKind.QUALIFIED,
            Stage.NEW,
            Stage.MQL,
            desk,
            qualified_at,
            reason,
            {"grade": f["grade"], "previous_grade": grade, "grade_source": f["grade_source"]},
        )
        grade = f["grade"]

        routed_at = qualified_at + dt.timedelta(seconds=rng.randint(5, 600))
        if routed_at >= anchor:
            return  # the router has not run yet
        team = company.team_index
        if team is not None and grade in ROUTED_GRADES:
            owner = company.account_rep_id
            rule_id, rule_name = self.routing_rules[team]
            why = DecisionReason(  # the team's rule gives the account to its owner
                reasons.COMPANY_STICKINESS,
                {"user": self.names[owner], "company": company.name},
            )
            self._assign(lead, owner, None, routed_at, "weighted", why, rule_id, rule_name)
            self._owned_mql(lead, owner, routed_at, grade, channel_quality, first_owner=True)
            return

        f.update(in_pool=True, pooled_at=routed_at)
        why = DecisionReason(reasons.POOLED, {"notes": []})
        lead.event(
            EventKind.POOLED, Stage.MQL, Stage.MQL, None, routed_at, why.stored_text(), _coded(why)
        )
        lead.assignments.append((None, None, None, "", "pool", why, None, routed_at))
        if team is None and grade in ROUTED_GRADES and rng.random() < P_DESK_FROM_POOL:
            assigned_at = routed_at + self._hours(3, 1.0, 48)
            if assigned_at < anchor:
                desk = self.desks[int(rng.random() * len(self.desks))]
                owner = company.account_rep_id
                why = reasons.manual(user=self.names[desk])
                self._assign(lead, owner, desk, assigned_at, "manual", why)
                self._owned_mql(lead, owner, assigned_at, grade, channel_quality, first_owner=True)
                return
        self._maybe_claim(lead, routed_at, grade, channel_quality, dropped_by=None)

    def _assign(self, lead, owner, actor, at, strategy, why, rule_id=None, rule_name=""):
        """``lead_assign`` on an unowned lead: owner, event, and the assignment record."""
        lead.fields.update(owner_id=owner, in_pool=False, assigned_at=at)
        lead.event(
            EventKind.ASSIGNED,
            Stage.MQL,
            Stage.MQL,
            actor,
            at,
            why.stored_text(),
            {
                "owner": owner,
                "previous_owner": None,
                "strategy": strategy,
                "rule": rule_id,
                **_coded(why),
            },
        )
        lead.assignments.append((owner, None, rule_id, rule_name, strategy, why, actor, at))

    def _disqualify(self, lead: SimLead, desk: int, at: dt.datetime, from_stage, code) -> None:
        lead.fields.update(
            stage=Stage.DISQUALIFIED,
            disqualified_at=at,
            disqualify_reason=code,
            owner_id=None,
            in_pool=False,
        )
        lead.event(
            EventKind.DISQUALIFIED,
            from_stage,
            Stage.DISQUALIFIED,
            desk,
            at,
            data.DISQUALIFY_REASONS[code],
            {"reason_code": code, "previous_owner": None},
        )

    def _maybe_claim(
        self, lead: SimLead, pooled_at, grade: str, channel_quality: float, *, dropped_by
    ) -> None:
        rng = self.rng
        if rng.random() >= P_CLAIM[grade]:
            return
        claimed_at = pooled_at + self._hours(30, 1.0, 24 * 20)
        if claimed_at >= self.anchor:
            return
        # the pool's cool-down keeps the rep who dropped it from claiming it back
        reps = [rep for rep in self.reps if rep != dropped_by]
        claimer = reps[int(rng.random() * len(reps))]
        lead.fields.update(owner_id=claimer, in_pool=False, assigned_at=claimed_at)
        lead.event(
            EventKind.CLAIMED, Stage.MQL, Stage.MQL, claimer, claimed_at, payload={"owner": claimer}
        )
        why = DecisionReason(reasons.CLAIMED, {"user": self.names[claimer]})
        lead.assignments.append((claimer, None, None, "", "claim", why, claimer, claimed_at))
        self._owned_mql(lead, claimer, claimed_at, grade, channel_quality, first_owner=False)

    def _owned_mql(
        self, lead: SimLead, owner: int, assigned_at, grade, channel_quality, *, first_owner
    ) -> None:
        """The owner accepts, rejects, or neglects the lead (then the SLA job recycles it)."""
        rng, f, anchor = self.rng, lead.fields, self.anchor
        decided_at = assigned_at + self._hours(30, 1.2, 24 * 21)
        r = rng.random()
        if first_owner and r < P_RECYCLE_MQL:
            recycled_at = assigned_at + self._days(3, 7)
            if recycled_at >= anchor:
                return  # still owned, untouched: the SLA pages will show it
            code = "no_follow_up"
            f.update(owner_id=None, in_pool=True, pooled_at=recycled_at, recycle_reason=code)
            lead.event(
                EventKind.RECYCLED,
                Stage.MQL,
                Stage.MQL,
                None,
                recycled_at,
                data.RECYCLE_REASONS[code],
                {"reason_code": code, "previous_owner": owner},
            )
            self._maybe_claim(lead, recycled_at, grade, channel_quality, dropped_by=owner)
            return
        if first_owner and r < P_RECYCLE_MQL + P_REJECT[grade]:
            if decided_at >= anchor:
                return
            self._reject(lead, owner, decided_at, grade, channel_quality)
            return
        if first_owner and r < P_RECYCLE_MQL + P_REJECT[grade] + P_LINGER_MQL:
            first_contact = assigned_at + self._hours(20, 1.0, 24 * 7)
            if first_contact < anchor and rng.random() < 0.7:
                self._follow_ups(
                    lead, owner, [first_contact], sql_at=None, opp_at=None, end_at=None
                )
            return

        first_contact = assigned_at + (decided_at - assigned_at) * rng.uniform(0.2, 0.8)
        if decided_at >= anchor:
            if first_contact < anchor and rng.random() < 0.6:
                self._follow_ups(
                    lead, owner, [first_contact], sql_at=None, opp_at=None, end_at=None
                )
            return
        f.update(stage=Stage.SQL, sql_at=decided_at)
        lead.event(
            EventKind.ACCEPTED, Stage.MQL, Stage.SQL, owner, decided_at, payload={"owner": owner}
        )
        self._sales(lead, owner, first_contact, decided_at, grade, channel_quality)

    def _reject(self, lead: SimLead, owner: int, at, grade, channel_quality) -> None:
        rng, f = self.rng, lead.fields
        code = _REJECT.pick(rng)
        f.update(owner_id=None, assigned_at=None, reject_reason=code)
        lead.event(
            EventKind.REJECTED,
            Stage.MQL,
            Stage.MQL,
            owner,
            at,
            data.REJECT_REASONS[code],
            {"reason_code": code, "previous_owner": owner},
        )
        desk_at = at + self._hours(6, 1.0, 72)
        if desk_at >= self.anchor:
            return
        desk = self.desks[int(rng.random() * len(self.desks))]
        r = rng.random()
        if r < 0.4:
            candidates = [rep for rep in self.reps if rep != owner]
            new_owner = candidates[int(rng.random() * len(candidates))]
            why = reasons.manual(user=self.names[desk])
            self._assign(lead, new_owner, desk, desk_at, "manual", why)
            self._owned_mql(lead, new_owner, desk_at, grade, channel_quality, first_owner=False)
        elif r < 0.65:
            self._disqualify(lead, desk, desk_at, Stage.MQL, REJECT_TO_DISQUALIFY[code])
        # else: it waits at the desk with its reject reason

    def _sales(self, lead: SimLead, owner, first_contact, sql_at, grade, channel_quality) -> None:
        rng, f, anchor = self.rng, lead.fields, self.anchor
        speed = TIMELINE_SPEED[f["timeline"]]
        r = rng.random()
        p_opp = P_OPPORTUNITY[grade]
        if r < P_RECYCLE_SQL:
            recycled_at = sql_at + self._days(10, 40)
            if recycled_at >= anchor:
                self._follow_ups_between(lead, owner, first_contact, sql_at, None, None)
                return
            code = "not_now" if rng.random() < 0.7 else "capacity"
            self._follow_ups_between(lead, owner, first_contact, sql_at, None, recycled_at)
            f.update(owner_id=None, in_pool=True, pooled_at=recycled_at, recycle_reason=code)
            lead.event(
                EventKind.RECYCLED,
                Stage.SQL,
                Stage.SQL,
                owner,
                recycled_at,
                data.RECYCLE_REASONS[code],
                {"reason_code": code, "previous_owner": owner},
            )
            return
        if r < P_RECYCLE_SQL + p_opp:
            opp_at = sql_at + self._hours(24 * 14 * speed, 0.8, 24 * 90)
            if opp_at >= anchor:
                self._follow_ups_between(lead, owner, first_contact, sql_at, None, None)
                return
            expected = self._deal_amount(lead)
            f.update(stage=Stage.OPPORTUNITY, opportunity_at=opp_at, expected_amount=expected)
            lead.event(
                EventKind.TO_OPPORTUNITY,
                Stage.SQL,
                Stage.OPPORTUNITY,
                owner,
                opp_at,
                payload={"expected_amount": str(expected)},
            )
            closed_at = opp_at + self._hours(24 * 45 * speed, 0.8, 24 * 240)
            if closed_at >= anchor:
                self._follow_ups_between(lead, owner, first_contact, sql_at, opp_at, None)
                return
            self._follow_ups_between(
                lead, owner, first_contact, sql_at, opp_at, closed_at, closed=True
            )
            if rng.random() < P_WIN[grade] * (0.6 + 0.8 * channel_quality):
                self._win(lead, owner, closed_at, Stage.OPPORTUNITY, expected)
            else:
                self._lose(lead, owner, closed_at, Stage.OPPORTUNITY, _LOST.pick(rng))
            return
        closed_at = sql_at + self._hours(24 * 30 * speed, 0.8, 24 * 150)
        if closed_at >= anchor:
            self._follow_ups_between(lead, owner, first_contact, sql_at, None, None)
            return
        self._follow_ups_between(lead, owner, first_contact, sql_at, None, closed_at, closed=True)
        if r < P_RECYCLE_SQL + p_opp + P_WIN_FROM_SQL * p_opp:
            self._win(lead, owner, closed_at, Stage.SQL, None)
        else:
            self._lose(lead, owner, closed_at, Stage.SQL, _LOST_SQL.pick(rng))

    def _deal_amount(self, lead: SimLead) -> Decimal:
        rng = self.rng
        budget = lead.fields["budget"]
        if budget is not None and rng.random() < 0.6:
            amount = float(budget) * rng.uniform(0.8, 1.3)
        else:
            low, high = data.COMPANY_SIZES[lead.size_index][2]
            amount = rng.uniform(low, high)
        return Decimal(max(5_000, round(amount, -3))).quantize(Decimal("0.01"))

    def _win(self, lead: SimLead, owner, won_at, from_stage, expected) -> None:
        rng = self.rng
        base = expected if expected is not None else self._deal_amount(lead)
        amount = Decimal(max(5_000, round(float(base) * rng.uniform(0.8, 1.05), -2))).quantize(
            Decimal("0.01")
        )
        signed_on = timezone.localtime(won_at).date() - dt.timedelta(days=rng.choice((0, 0, 1, 2)))
        lead.fields.update(stage=Stage.WON, won_at=won_at, won_amount=amount, signed_at=signed_on)
        lead.event(
            EventKind.WON,
            from_stage,
            Stage.WON,
            owner,
            won_at,
            payload={"amount": str(amount), "signed_at": signed_on.isoformat()},
        )

    def _lose(self, lead: SimLead, owner, lost_at, from_stage, code) -> None:
        lead.fields.update(stage=Stage.LOST, lost_at=lost_at, lost_reason=code)
        lead.event(
            EventKind.LOST,
            from_stage,
            Stage.LOST,
            owner,
            lost_at,
            data.LOST_REASONS[code],
            {"reason_code": code},
        )

    # -- follow-ups and touches -------------------------------------------------------

    def _follow_ups_between(
        self, lead, owner, first_contact, sql_at, opp_at, end_at, *, closed=False
    ) -> None:
        """Follow-ups from the first contact (before acceptance) to ``end_at`` or today.

        ``end_at`` is when the owner stopped (won, lost, recycled); ``None`` means the
        lead is still theirs. ``closed`` (won/lost) leaves no next follow-up planned.
        """
        rng, anchor = self.rng, self.anchor
        end = end_at or anchor
        if end_at is None:
            count = rng.randint(2, 5) if opp_at is not None else rng.randint(1, 3)
        elif opp_at is not None:
            count = rng.randint(3, 6)
        else:
            count = rng.randint(1, 4)
        span = (end - sql_at).total_seconds()
        later = (sql_at + dt.timedelta(seconds=rng.random() * span) for _ in range(count - 1))
        times = [first_contact, *sorted(later)]
        if end_at is None and count > 1 and rng.random() < P_FRESH_FOLLOW_UP:
            recent = anchor - dt.timedelta(hours=rng.uniform(2, 24 * 5))
            times[-1] = max(times[-1], recent, times[-2])
        self._follow_ups(
            lead, owner, times, sql_at=sql_at, opp_at=opp_at, end_at=end_at, closed=closed
        )

    def _follow_ups(self, lead, owner, times, *, sql_at, opp_at, end_at, closed=False) -> None:
        """Write follow-ups at ``times`` and the lead fields ``follow_up_log`` keeps."""
        rng, anchor = self.rng, self.anchor
        last = len(times) - 1
        for position, at in enumerate(times):
            # the stage the lead was in, and the next transition the log must precede
            if sql_at is None or at < sql_at:
                phase, stage, boundary = "contact", Stage.MQL, sql_at
            elif opp_at is None or at < opp_at:
                phase, stage, boundary = "develop", Stage.SQL, opp_at
            else:
                phase, stage, boundary = "close", Stage.OPPORTUNITY, None
            boundary = min(boundary or end_at or anchor, end_at or anchor)
            outcome, method = rng.choice(data.FOLLOW_UP_OUTCOMES[phase])
            logged_at = at + dt.timedelta(minutes=rng.uniform(1, 120))
            if logged_at >= boundary:
                logged_at = at + (boundary - at) / 2
            if position < last:
                gap = (times[position + 1] - at).total_seconds()
                next_at = at + dt.timedelta(seconds=gap * rng.uniform(0.8, 1.1))
            elif closed:
                next_at = None
            else:
                next_at = at + self._days(2, 10)
            if next_at is not None and next_at <= logged_at:
                next_at = logged_at + dt.timedelta(hours=rng.uniform(1, 48))
            lead.follow_ups.append(
                (owner, at, method, outcome, rng.choice(data.FOLLOW_UP_NOTES), next_at)
            )
            lead.event(
                EventKind.FOLLOW_UP,
                stage,
                stage,
                owner,
                logged_at,
                payload={"method": method, "at": at.isoformat()},
                follow_up=len(lead.follow_ups) - 1,
            )
        f = lead.fields
        f["first_contact_at"] = times[0]
        f["last_follow_up_at"] = times[-1]
        f["next_follow_up_at"] = lead.follow_ups[-1][5]

    def _extra_touches(self, lead: SimLead, source: CampaignInfo, count: int) -> None:
        """Later arrivals through other campaigns while the lead is open (before SQL).

        Each is a ``duplicate`` arrival through a campaign running that day; the scorer
        then runs again with the new touch facts, and a rule grade that moves writes a
        ``graded`` event.
        """
        rng, f = self.rng, lead.fields
        limit = f.get("sql_at") or f.get("disqualified_at") or self.anchor
        start = f.get("mql_at") or f["created_at"]  # after the grade the desk qualified on
        if limit - start < dt.timedelta(hours=12):
            return  # closed or accepted too soon to come back
        kinds = [source.touch_kind]
        last_at = None
        for _ in range(count):
            at = start + (limit - start) * rng.random()
            day_ago = len(self.day_starts_ascending) - bisect_right(self.day_starts_ascending, at)
            campaign = self.schedule.campaign_on(day_ago, rng)
            if campaign.id == source.id:
                continue
            lead.touches.append(
                touch_values(
                    campaign_id=campaign.id,
                    kind=campaign.touch_kind,
                    occurred_at=at,
                    is_first=False,
                    utm=self.arrival_utm[campaign.id],
                    landing_page=self.landing_pages[campaign.id],
                )
            )
            actor = campaign.owner_id if campaign.touch_kind in ("import", "manual") else None
            lead.event(
                EventKind.DUPLICATE,
                "",
                "",
                actor,
                at,
                payload=returned_event_data(
                    campaign_id=campaign.id, touch_kind=campaign.touch_kind, name=f["name"]
                ),
            )
            kinds.append(campaign.touch_kind)
            last_at = at if last_at is None else max(last_at, at)
        if last_at is not None:
            stage_then = Stage.MQL if f.get("mql_at") else Stage.NEW
            self._grade(lead, kinds, min(last_at + SCORING_DELAY, limit), stage_then)


def _coded(why: DecisionReason) -> dict:
    """What a decision's event keeps of its reason (as ``leads.lifecycle.ownership`` writes
    it)."""
    return {"reason_code": why.code, "reason_params": why.params}
