"""What the reports count: the funnel figures of a set of leads, defined once.

Every report that counts leads (the funnel and ROI in ``reports.selectors``, the monthly
trend and channel quality in ``reports.trends``, grade calibration in ``reports.quality``,
the marketers' scorecards in ``reports.scorecards``) builds its aggregates from here, so
"an MQL" or "accepted by sales" means the same thing on every page and endpoint:

- ``leads``: every lead of the set;
- ``mqls``, ``sqls``, ``opportunities``: leads that ever reached that stage (its
  timestamp is set), wherever they are now;
- ``won``, ``lost``, ``disqualified``: leads in that stage now;
- ``revenue``: the won amount of the won leads (0 when none);
- ``accepted``: leads sales accepted, i.e. that reached SQL;
- ``rejected``: leads sales sent back (a ``rejected`` event) that never reached SQL; the
  leads must be annotated with ``with_rejected`` first.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django.db.models import Aggregate, Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from leads.choices import EventKind, Stage
from leads.models import Lead, LeadEvent

MQL = Q(mql_at__isnull=False)
SQL = Q(sql_at__isnull=False)
OPPORTUNITY = Q(opportunity_at__isnull=False)
WON = Q(stage=Stage.WON)
LOST = Q(stage=Stage.LOST)
DISQUALIFIED = Q(stage=Stage.DISQUALIFIED)
#: Sales accepted the lead: it reached SQL.
ACCEPTED = SQL
#: Sales sent the lead back and it never reached SQL (needs ``with_rejected``).
REJECTED = Q(was_rejected=True, sql_at__isnull=True)

#: The condition a lead meets to count in each figure (``leads`` and ``revenue`` aside).
CONDITIONS: dict[str, Q] = {
    "mqls": MQL,
    "sqls": SQL,
    "opportunities": OPPORTUNITY,
    "won": WON,
    "lost": LOST,
    "disqualified": DISQUALIFIED,
    "accepted": ACCEPTED,
    "rejected": REJECTED,
}
#: The figures of the funnel and ROI reports, in their order.
FUNNEL = ("leads", "mqls", "sqls", "opportunities", "won", "revenue")


def with_rejected(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """The leads annotated with ``was_rejected`` (sales sent them back at least once),
    which ``REJECTED`` reads."""
    rejected = LeadEvent.objects.filter(lead_id=OuterRef("pk"), kind=EventKind.REJECTED)
    return leads.annotate(was_rejected=Exists(rejected))


def revenue() -> Coalesce:
    """The won amount of the won leads; 0 when there are none."""
    return Coalesce(Sum("won_amount", filter=WON), Decimal("0"))


def funnel_counts(*names: str) -> dict[str, Aggregate | Coalesce]:
    """Aggregates over a lead queryset for the named figures (default: ``FUNNEL``), for
    ``aggregate(**funnel_counts(...))`` or ``values(...).annotate(**funnel_counts(...))``."""
    counts: dict[str, Aggregate | Coalesce] = {}
    for name in names or FUNNEL:
        if name == "leads":
            counts[name] = Count("id")
        elif name == "revenue":
            counts[name] = revenue()
        else:
            counts[name] = Count("id", filter=CONDITIONS[name])
    return counts


def through(condition: Q, relation: str) -> Q:
    """The same condition on the lead behind a relation: ``through(MQL, "lead")`` is
    ``Q(lead__mql_at__isnull=False)``, for counting touches by their lead."""
    # A Q's children are Qs or (lookup, value) pairs; the stubs type them as any Node.
    pairs = cast("list[Q | tuple[str, Any]]", condition.children)
    children = [
        through(child, relation) if isinstance(child, Q) else (f"{relation}__{child[0]}", child[1])
        for child in pairs
    ]
    return Q(*children, _connector=condition.connector, _negated=condition.negated)
