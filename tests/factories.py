"""factory_boy factories. Leads in later stages are built through the lifecycle service
(``lead_in_stage``) so their state is what the service would have produced."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from assignment.models import Team, TeamMembership
from campaigns.models import Campaign, CampaignCost, Channel
from leads import lifecycle
from leads.choices import Stage
from leads.models import Company, ContactReview, ImportJob, Lead, LeadTouch

User = get_user_model()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-test-123")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    channel = factory.LazyFunction(lambda: Channel.objects.get(code="website"))
    owner = factory.SubFactory(UserFactory, roles=["marketer"])
    start_date = dt.date(2026, 1, 1)
    budget = Decimal("10000.00")
    status = "active"
    utm_campaign = factory.Sequence(lambda n: f"campaign-{n}")


class CampaignCostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignCost

    campaign = factory.SubFactory(CampaignFactory)
    date = dt.date(2026, 1, 15)
    amount = Decimal("1000.00")


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company
        django_get_or_create = ["normalized_name"]

    name = factory.Sequence(lambda n: f"Company {n}")
    normalized_name = factory.LazyAttribute(lambda c: c.name.lower().replace(" ", ""))
    industry = "manufacturing"
    region = "Shanghai"


class LeadFactory(factory.django.DjangoModelFactory):
    """A ``new`` lead written directly (fast); use ``lead_in_stage`` for later stages."""

    class Meta:
        model = Lead

    name = factory.Sequence(lambda n: f"Lead {n}")
    phone = factory.Sequence(lambda n: f"+86139{n:08d}")
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    company = factory.SubFactory(CompanyFactory)
    created_at = factory.LazyFunction(timezone.now)
    grade = "B"
    grade_source = "rule"
    score = 55


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    manager = factory.SubFactory(UserFactory, roles=["sales_manager"])


class TeamMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMembership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory, roles=["sales_rep"])


def lead_in_stage(
    stage: str, *, owner=None, desk=None, in_pool: bool = False, **lead_kwargs
) -> Lead:
    """Walk a fresh lead through the real service to ``stage`` (owned by ``owner``)."""
    lead = LeadFactory(**lead_kwargs)
    if stage == Stage.NEW:
        return lead
    desk = desk or UserFactory(roles=["lead_desk"])
    if stage == Stage.DISQUALIFIED:
        return lifecycle.lead_disqualify(lead=lead, actor=desk, reason="test")
    lead = lifecycle.lead_qualify(lead=lead, actor=desk)
    if stage == Stage.MQL and owner is None:
        if in_pool:
            lead = lifecycle.lead_send_to_pool(lead=lead, actor=None, reason="test")
        return lead
    owner = owner or UserFactory(roles=["sales_rep"])
    lead = lifecycle.lead_assign(lead=lead, actor=desk, owner=owner)
    if stage == Stage.MQL:
        return _maybe_pool(lead, owner, in_pool)
    lead = lifecycle.lead_accept(lead=lead, actor=owner)
    if stage == Stage.SQL:
        return _maybe_pool(lead, owner, in_pool)
    if stage == Stage.LOST:
        return lifecycle.lead_lose(lead=lead, actor=owner, reason="test")
    lead = lifecycle.lead_to_opportunity(lead=lead, actor=owner, expected_amount="5000")
    if stage == Stage.OPPORTUNITY:
        return lead
    if stage == Stage.WON:
        return lifecycle.lead_win(
            lead=lead, actor=owner, amount="4800", signed_at=timezone.localdate()
        )
    raise ValueError(stage)


def _maybe_pool(lead: Lead, owner, in_pool: bool) -> Lead:
    if in_pool:
        return lifecycle.lead_recycle(lead=lead, actor=owner, reason="test")
    return lead


def conflict_review(
    lead: Lead,
    *,
    campaign: Campaign | None = None,
    name: str = "王大伟",
    phone: str = "",
    email: str = "other@example.com",
    company: str = "",
    job: ImportJob | None = None,
    row: int | None = None,
) -> ContactReview:
    """An open review of ``lead`` as an import writes it: a touch keeping what a
    conflicting arrival gave (``given``), flagged for the desk."""
    touch = LeadTouch.objects.create(
        lead=lead,
        campaign=campaign or CampaignFactory(),
        kind="import",
        occurred_at=timezone.now(),
        is_first=not lead.touches.exists(),
        given={"name": name, "phone": phone or lead.phone, "email": email, "company": company},
    )
    return ContactReview.objects.create(lead=lead, touch=touch, job=job, row=row)
