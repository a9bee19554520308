"""Campaign reads with their figures, without per-row queries."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    Count,
    DecimalField,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from campaigns.models import Campaign, CampaignCost
from leads.models import Lead
from pipeline.roles import Role, has_role


def campaigns_visible_to(user: User | AnonymousUser | None) -> QuerySet[Campaign]:
    """Marketing, the desk and management read every campaign; sales see none."""
    queryset = Campaign.objects.select_related("channel", "owner")
    if has_role(user, Role.MARKETER, Role.LEAD_DESK, Role.MANAGER):
        return queryset
    return queryset.none()


MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=16, decimal_places=2)


def with_figures(queryset: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """Annotate actual cost (``actual_cost_sum``), leads (``lead_count``) and MQLs
    (``mql_count``) so far: the campaign's ``CampaignFigures`` row, one join, kept equal to
    ``live_figures`` by the database (``campaigns.triggers``), so sorting a list by them
    reads no lead."""
    return queryset.annotate(
        actual_cost_sum=Coalesce(F("figures__cost"), Value(Decimal("0.00")), output_field=MONEY),
        lead_count=Coalesce(F("figures__leads"), 0),
        mql_count=Coalesce(F("figures__mqls"), 0),
    )


def rows_in_order(queryset: QuerySet[Campaign], ids: Iterable[int]) -> list[Campaign]:
    """The campaigns of ``ids`` from ``queryset`` (with whatever it annotates), in the order
    of ``ids``: a list pages its sorted ids first (a narrow query, no figure computed but
    the one it sorts by), then reads only that page's rows whole."""
    ids = list(ids)
    found = queryset.order_by().in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def live_figures(queryset: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """The definition of the figures ``with_figures`` reads: the sum of the campaign's cost
    lines, its leads (the leads whose source campaign it is) and of those the MQLs
    (``mql_at`` set), counted from the tables (correlated subqueries: no row fan-out)."""
    money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=16, decimal_places=2)
    cost = (
        CampaignCost.objects.filter(campaign=OuterRef("pk"))
        .order_by()
        .values("campaign")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    leads = (
        Lead.objects.filter(source_campaign=OuterRef("pk"))
        .order_by()
        .values("source_campaign")
        .annotate(n=Count("id"), mql=Count("id", filter=Q(mql_at__isnull=False)))
    )
    return queryset.annotate(
        actual_cost_sum=Coalesce(
            Subquery(cost, output_field=money), Value(Decimal("0.00")), output_field=money
        ),
        lead_count=Coalesce(Subquery(leads.values("n"), output_field=IntegerField()), 0),
        mql_count=Coalesce(Subquery(leads.values("mql"), output_field=IntegerField()), 0),
    )
