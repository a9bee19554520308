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
  leads must be annotated with ``with_rejected`` first. Every count of rejections (the
  calibration and scoreboard tables, the reasons breakdown, the scorecards) counts these
  leads, each once — by reason, under its latest rejection's (``with_rejection_reason``).

Below the conditions, ``DEFINITIONS`` says in words what each figure shown on a page
counts (which set: the cohort, events of the period or the state now; credit-weighted or
whole leads; working or calendar time), for the templates (``reports.templatetags``) and
the API answers (``definitions_for``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.db.models import Aggregate, Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

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


def won_between(low: Any, high: Any) -> Q:
    """Won, and marked won in [low, high): the deals "signed in the period" of the sales
    side (scoreboard, scorecards), as opposed to the cohort's ``WON``."""
    return WON & Q(won_at__gte=low, won_at__lt=high)


def lost_between(low: Any, high: Any) -> Q:
    """Lost, and marked lost in [low, high)."""
    return LOST & Q(lost_at__gte=low, lost_at__lt=high)


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
#: The stages a lead can have reached, as the lead list's ``reached`` filter names them,
#: and the figure each one is the condition of (``CONDITIONS``): the drill-down from a
#: figure to its leads (``reports.views.drill``) and the filter read this one table.
REACHED: dict[str, str] = {
    "mql": "mqls",
    "sql": "sqls",
    "opportunity": "opportunities",
    "won": "won",
}
#: The figures of the funnel and ROI reports, in their order.
FUNNEL = ("leads", "mqls", "sqls", "opportunities", "won", "revenue")


def with_rejected(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """The leads annotated with ``was_rejected`` (sales sent them back at least once),
    which ``REJECTED`` reads."""
    rejected = LeadEvent.objects.filter(lead_id=OuterRef("pk"), kind=EventKind.REJECTED)
    return leads.annotate(was_rejected=Exists(rejected))


def with_rejection_reason(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """The leads annotated with ``rejection_reason``: the reason code of their latest
    rejection (``None`` when never rejected), under which a ``REJECTED`` lead is counted."""
    latest = (
        LeadEvent.objects.filter(lead_id=OuterRef("pk"), kind=EventKind.REJECTED)
        .order_by("-at", "-id")
        .values(code=KT("data__reason_code"))[:1]
    )
    return leads.annotate(rejection_reason=Subquery(latest))


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


# --------------------------------------------------------------------------------------
# What each figure means, in words: one registry for pages and the API
# --------------------------------------------------------------------------------------

#: Which set of leads or events a figure counts.
COHORT = "cohort"  # leads created in the period, and how far they have got now
EVENTS = "events"  # things that happened in the period (signed, assigned, qualified …)
NOW = "now"  # the state right now, whatever the period


@dataclass(frozen=True)
class Definition:
    """One figure's definition: a short ``label`` shown next to it and the longer
    ``text`` behind it; ``basis`` is the set it counts (``COHORT``, ``EVENTS`` or ``NOW``)."""

    key: str
    label: str | Promise
    text: str | Promise
    basis: str

    def as_dict(self) -> dict[str, str]:
        return {"label": str(self.label), "text": str(self.text), "basis": self.basis}


_DEFINITIONS = (
    Definition(
        "cohort",
        _("Cohort: leads created in the period"),
        _(
            "Counts the leads created in the period (business time zone) and how far each "
            "has got now, whenever that happened: a lead created in the period and signed "
            "after it counts as won here. Figures of an old period can still grow."
        ),
        COHORT,
    ),
    Definition(
        "cost",
        _("Cost dated in the period"),
        _(
            "The campaign costs whose date falls in the period, whatever leads they "
            "brought. Budgets are plans and are not counted."
        ),
        EVENTS,
    ),
    Definition(
        "funnel_counts",
        _("Reached the stage, counted once"),
        _(
            "MQLs, SQLs and opportunities are leads of the cohort that ever reached that "
            "stage (even if they moved on or were lost later); won counts those in stage "
            "won now. Each lead counts once."
        ),
        COHORT,
    ),
    Definition(
        "cohort_revenue",
        _("Revenue of the cohort"),
        _(
            "The won amount of the leads created in the period that are won now, whenever "
            "the deal was signed. It is not the revenue signed in the period."
        ),
        COHORT,
    ),
    Definition(
        "signed_revenue",
        _("Revenue signed in the period"),
        _(
            "The won amount of the deals marked won in the period, whenever the lead was "
            "created, credited to the lead's owner. It is not the revenue of the period's "
            "leads."
        ),
        EVENTS,
    ),
    Definition(
        "credit_weighted",
        _("Credit-weighted by the attribution model"),
        _(
            "Per channel or campaign, each lead counts with the share of credit the chosen "
            "attribution model gives that channel or campaign among the lead's touches up "
            "to SQL (first touch: all to the first; last touch: all to the last; linear: "
            "equal shares; U-shaped: 40 % first, 40 % last, 20 % between). A lead's "
            "credits add up to 1, so totals equal lead counts, but a channel's figure can "
            "be a fraction."
        ),
        COHORT,
    ),
    Definition(
        "lead_counts",
        _("Whole leads by source channel"),
        _(
            "Each lead counts once, under the channel of its source campaign (its first "
            "touch), whatever attribution model the dashboard uses."
        ),
        COHORT,
    ),
    Definition(
        "unit_cost",
        _("Cost per cohort lead, MQL, SQL or deal"),
        _(
            "The cost dated in the period divided by the cohort's leads (CPL), MQLs, SQLs "
            "or won deals (CAC); “—” when that count is 0."
        ),
        COHORT,
    ),
    Definition(
        "cohort_rates",
        _("Conversion rates of the cohort"),
        _(
            "MQL rate = MQLs / leads, SQL rate = SQLs / MQLs, win rate = won / SQLs, over "
            "the same cohort. ROI = (revenue − cost) / cost, “—” without cost."
        ),
        COHORT,
    ),
    Definition(
        "acceptance",
        _("Sales acceptance: each lead once"),
        _(
            "Accepted = leads that reached SQL. Rejected = leads sales sent back to the desk "
            "and that never reached SQL since, each counted once under the reason of its "
            "latest rejection. Acceptance = accepted / (accepted + rejected)."
        ),
        COHORT,
    ),
    Definition(
        "qualification_rate",
        _("Desk qualification rate"),
        _("MQLs / leads of the cohort: the share the desk qualified (or will have)."),
        COHORT,
    ),
    Definition(
        "first_response",
        _("First responses in time: assignments of the period"),
        _(
            "Of the leads assigned in the period whose first-response due time has passed, "
            "the share the owner contacted before it. The due time is stored when the lead "
            "is assigned (the grade's SLA in working hours of the business calendar); later "
            "policy changes do not move it."
        ),
        EVENTS,
    ),
    Definition(
        "agreement_compliance",
        _("Sales' side of the agreement: the period's leads"),
        _(
            "First responses in time and follow-up compliance of the marketing–sales "
            "agreement (company targets) count the leads created in the period — the same "
            "leads as marketing's MQLs, SQLs and acceptance — whenever they were assigned: "
            "of their assignments whose first-response due time has passed, the share "
            "answered before it; of those still open and owned, the share not overdue now. "
            "The scoreboard's verdict judges sales on the same figure."
        ),
        COHORT,
    ),
    Definition(
        "response_time",
        _("Working hours, assignment to first contact"),
        _(
            "Median and 95th percentile (nearest rank) of the time from assignment to the "
            "owner's first follow-up, in working hours of the business calendar: nights, "
            "weekends and holidays do not count."
        ),
        EVENTS,
    ),
    Definition(
        "routing_delay",
        _("Working hours, creation to assignment"),
        _(
            "Median and 95th percentile of the time from a lead's creation to its first "
            "assignment, in working hours of the business calendar, over the leads created "
            "in the period."
        ),
        COHORT,
    ),
    Definition(
        "overdue_now",
        _("Overdue now, whatever the period"),
        _(
            "Open owned leads whose next follow-up date has passed, or with no follow-up "
            "for their grade's interval, at this moment. The period does not change it."
        ),
        NOW,
    ),
    Definition(
        "wasted",
        _("Recycled for neglect in the period"),
        _("Leads taken back to the pool in the period because nobody followed them up."),
        EVENTS,
    ),
    Definition(
        "closed_in_period",
        _("Deals closed in the period"),
        _(
            "Won and lost count the deals marked won or lost in the period by their owner; "
            "win rate = won / (won + lost). The cohort's win rate (won / SQLs of the leads "
            "created in the period) is a different figure."
        ),
        EVENTS,
    ),
    Definition(
        "desk_speed",
        _("Calendar hours, qualified in the period"),
        _(
            "Leads the person qualified or disqualified in the period. Time to qualify "
            "(creation → qualification) and to assign (qualification → first assignment) "
            "are medians in calendar hours, nights and weekends included."
        ),
        EVENTS,
    ),
    Definition(
        "calendar_days",
        _("Calendar days from creation"),
        _("Median calendar days from a lead's creation to SQL and to won, per grade."),
        COHORT,
    ),
    Definition(
        "marketer_cohort",
        _("Cohort of the marketer's campaigns"),
        _(
            "Leads created in the period whose source campaign the marketer owns (whole "
            "leads, by first touch), and the costs of those campaigns dated in the period."
        ),
        COHORT,
    ),
    Definition(
        "campaign_lifetime",
        _("All time, whole leads of this source campaign"),
        _(
            "Leads whose source campaign (first touch) this is, since it began, each counted "
            "once, and how far they have got now; cost is all its costs to date. The "
            "dashboard's campaign figures cover a period and are credit-weighted by the "
            "attribution model, so they can differ."
        ),
        COHORT,
    ),
    Definition(
        "open_deals",
        _("Open deals expected to close in the period"),
        _(
            "Leads in stage SQL or opportunity now that have an expected amount and whose "
            "expected close date falls in the period. Open deals without a close date count "
            "only towards the current period (the one holding today), shown as “no close "
            "date”."
        ),
        NOW,
    ),
    Definition(
        "stage_win_rate",
        _("Win rate of the stage, last 180 days"),
        _(
            "Of the leads that reached the stage (SQL or opportunity) and were won, lost or "
            "disqualified in the last 180 days, the share won: won / (won + lost + "
            "disqualified), company-wide. “—” when none closed; such deals then weigh 0."
        ),
        EVENTS,
    ),
    Definition(
        "forecast",
        _("Best case, weighted, committed"),
        _(
            "Best case = revenue signed in the period + every open deal's expected amount. "
            "Weighted = signed + each open deal's expected amount × its stage's win rate. "
            "Committed = signed + the open deals of stages whose win rate is at least 50 %."
        ),
        NOW,
    ),
    Definition(
        "forecast_gap",
        _("Target and gap"),
        _(
            "The revenue target of the rep, team or company for the period; gap = target − "
            "weighted forecast (negative: ahead of the target). “—” without a target."
        ),
        EVENTS,
    ),
    Definition(
        "campaign_revenue",
        _("Revenue and ROI: all time, first-touch credit"),
        _(
            "Revenue is the won amount of every lead this campaign touched, since it began, "
            "times the campaign's first-touch credit: the campaign ROI report over all time. "
            "ROI is (revenue − cost) / cost over all its costs to date; “—” without cost."
        ),
        COHORT,
    ),
    Definition(
        "new_for_me",
        _("Assigned to you, not accepted yet"),
        _(
            "Leads you own that are still MQLs: you have not accepted or rejected them. "
            "The same leads as on the “New for me” page, however urgent."
        ),
        NOW,
    ),
)

#: Every definition by key: the one source the templates (``reports.templatetags``), the
#: API (``definitions_for``) and the documentation read.
DEFINITIONS: dict[str, Definition] = {item.key: item for item in _DEFINITIONS}

#: The definitions each report answers with (the API's ``definitions`` key).
REPORT_DEFINITIONS: dict[str, tuple[str, ...]] = {
    "funnel": ("cohort", "cost", "funnel_counts", "cohort_revenue", "cohort_rates"),
    "channel_roi": ("cohort", "cost", "credit_weighted", "cohort_revenue", "cohort_rates"),
    "campaign_roi": ("cohort", "cost", "credit_weighted", "cohort_revenue", "cohort_rates"),
    "grade_calibration": ("cohort", "acceptance", "calendar_days", "cohort_revenue"),
    "follow_up_compliance": (
        "first_response",
        "response_time",
        "routing_delay",
        "overdue_now",
        "wasted",
    ),
    "scorecards": (
        "marketer_cohort",
        "acceptance",
        "desk_speed",
        "first_response",
        "response_time",
        "overdue_now",
        "wasted",
        "closed_in_period",
        "signed_revenue",
    ),
    "forecast": ("signed_revenue", "open_deals", "stage_win_rate", "forecast", "forecast_gap"),
}


def definitions_for(*keys: str) -> dict[str, dict[str, str]]:
    """The named definitions in the active language, for an API answer."""
    return {key: DEFINITIONS[key].as_dict() for key in keys}
