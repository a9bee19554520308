"""Report queries: cohort funnels and ROI with attribution, by SQL aggregation (see
docs/architecture.md).

Period reports are cohort reports: leads created in [from, to], and how far they have got
now; cost is campaign costs dated in [from, to]. Per channel or campaign, counts and
revenue are credit-weighted sums over touches, using the credit stored on each touch for
the chosen attribution model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db import connections
from django.db.models import (
    Case,
    Count,
    F,
    FilteredRelation,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, TruncDate

from campaigns.models import Campaign, CampaignCost, Channel
from leads.credits import CREDIT_FIELD
from leads.models import Lead, LeadTouch
from pipeline.db import read_alias
from reports.definitions import (
    FUNNEL,
    MQL,
    OPPORTUNITY,
    SQL,
    WON,
    funnel_counts,
    lost_between,
    through,
    won_between,
)
from reports.metrics import COUNTS, add_up, figures
from reports.metrics_sql import figure_sql, order_sql, sort_key
from reports.periods import period_bounds
from reports.rollups import read as rollups
from reports.rollups.read import ROI_FIELDS


def _credited(model: str, condition: Q | None = None) -> Sum:
    credit = F(f"{CREDIT_FIELD[model]}")
    if condition is None:
        return Sum(credit)
    return Sum(Case(When(condition, then=credit), default=Value(0.0), output_field=FloatField()))


def credited_touches(
    *,
    model: str,
    channel_kind: str | None = None,
    channel: str | None = None,
    campaign: int | None = None,
) -> QuerySet[LeadTouch]:
    """The touches that carry credit under ``model`` (of a campaign, credit above 0),
    optionally of one channel kind, channel or campaign: what every credit-weighted
    figure sums over, and what the lead list's ``credit_*`` filters list the leads of."""
    touches = LeadTouch.objects.filter(campaign__isnull=False, **{f"{CREDIT_FIELD[model]}__gt": 0})
    if channel_kind:
        touches = touches.filter(campaign__channel__kind=channel_kind)
    if channel:
        touches = touches.filter(campaign__channel__code=channel)
    if campaign is not None:
        touches = touches.filter(campaign_id=campaign)
    return touches


def credited_revenue(model: str) -> Sum:
    """Sum over touches: each won lead's amount times the touch's credit under ``model``
    (the credit-weighted revenue of the ROI reports)."""
    credit_field = CREDIT_FIELD[model]
    return Sum(
        Case(
            When(
                through(WON, "lead"),
                then=F(credit_field) * Cast("lead__won_amount", FloatField()),
            ),
            default=Value(0.0),
            output_field=FloatField(),
        )
    )


def _add(
    into: dict[Any, dict[str, Any]], rows: dict[Any, dict[str, Any]], names: tuple[str, ...]
) -> None:
    """Add ``rows`` (per key) into ``into``, figure by figure."""
    for key, row in rows.items():
        if key not in into:
            into[key] = {name: row[name] or 0 for name in names}
        else:
            into[key] = {name: (into[key][name] or 0) + (row[name] or 0) for name in names}


def _touch_rows(
    *,
    start: dt.date,
    end: dt.date,
    model: str,
    key: str,
    channel_kind: str | None,
    extra: Q | None = None,
    live: bool = False,
) -> dict[Any, dict[str, float]]:
    """The credit-weighted sums per ``key``: from the daily rollups (``reports.rollups``)
    where they are current, the stale days and everything with ``live`` by
    ``_live_touch_rows``, the definition the rollups are computed by."""
    plan = None if live else rollups.plan(start, end)
    if plan is None:
        return _live_touch_rows(
            start=start, end=end, model=model, key=key, channel_kind=channel_kind, extra=extra
        )
    rows: dict[Any, dict[str, Any]] = {}
    _add(
        rows,
        rollups.roi_rows(
            start=start,
            end=end,
            model=model,
            key=key,
            channel_kind=channel_kind,
            extra=extra,
            skip=plan.stale,
        ),
        rollups.ROI_FIELDS,
    )
    for low, high in plan.stretches():
        stale = _live_touch_rows(
            start=low, end=high, model=model, key=key, channel_kind=channel_kind, extra=extra
        )
        _add(rows, stale, rollups.ROI_FIELDS)
    return rows


def day_touch_rows(*, start: dt.date, end: dt.date, model: str, key: str) -> QuerySet[Any]:
    """The credit-weighted sums of each cohort day in [start, end] per ``key``
    (``campaign_id`` or ``campaign__channel_id``), live, in one grouped query: values
    ``cohort_day``, ``group_key`` and the figures of ``_live_touch_rows`` (the same
    queryset with the cohort day as one more dimension): the ROI rollups' rows."""
    return _touch_sums(start=start, end=end, model=model, key=key, channel_kind=None, by_day=True)


def _touch_sums(
    *,
    start: dt.date,
    end: dt.date,
    model: str,
    key: str,
    channel_kind: str | None,
    extra: Q | None = None,
    by_day: bool = False,
) -> QuerySet[Any]:
    """The credit-weighted sums over the touches of the leads created in [start, end],
    grouped by ``key`` (with ``by_day``: by the lead's cohort day, ``cohort_day``, and the
    key as ``group_key``): the one definition of the ROI figures, live and rollups."""
    low, high = period_bounds(start, end)
    touches = credited_touches(model=model, channel_kind=channel_kind).filter(
        lead__created_at__gte=low, lead__created_at__lt=high
    )
    if extra is not None:
        touches = touches.filter(extra)
    if by_day:
        # The cohort day in the business time zone (the current one, as ``period_bounds``).
        grouped: QuerySet[Any] = touches.annotate(
            cohort_day=TruncDate("lead__created_at"), group_key=F(key)
        ).values("cohort_day", "group_key")
    else:
        grouped = touches.values(key)
    won = through(WON, "lead")
    summed: QuerySet[Any] = grouped.annotate(
        leads=_credited(model),
        mqls=_credited(model, through(MQL, "lead")),
        sqls=_credited(model, through(SQL, "lead")),
        opportunities=_credited(model, through(OPPORTUNITY, "lead")),
        won=_credited(model, won),
        revenue=credited_revenue(model),
    ).order_by()
    return summed


def _live_touch_rows(
    *,
    start: dt.date,
    end: dt.date,
    model: str,
    key: str,
    channel_kind: str | None,
    extra: Q | None = None,
) -> dict[Any, dict[str, float]]:
    rows = _touch_sums(
        start=start, end=end, model=model, key=key, channel_kind=channel_kind, extra=extra
    )
    return {row[key]: row for row in rows}


def _cost_rows(
    *, start: dt.date, end: dt.date, key: str, channel_kind: str | None, extra: Q | None = None
) -> dict[Any, Decimal]:
    costs = CampaignCost.objects.filter(date__gte=start, date__lte=end)
    if channel_kind:
        costs = costs.filter(campaign__channel__kind=channel_kind)
    if extra is not None:
        costs = costs.filter(extra)
    return {
        row[key]: row["cost"] for row in costs.values(key).annotate(cost=Sum("amount")).order_by()
    }


_EMPTY = {"leads": 0.0, "mqls": 0.0, "sqls": 0.0, "opportunities": 0.0, "won": 0.0, "revenue": 0.0}


def _rows(
    touch: dict[Any, dict[str, float]], cost: dict[Any, Decimal]
) -> dict[Any, dict[str, Any]]:
    return {
        key: figures(
            cost=cost.get(key, Decimal("0")),
            **{k: (touch.get(key) or _EMPTY)[k] or 0 for k in _EMPTY},
        )
        for key in set(touch) | set(cost)
    }


def channel_roi(
    *,
    start: dt.date,
    end: dt.date,
    model: str = "first_touch",
    channel_kind: str | None = None,
    live: bool = False,
) -> dict[str, Any]:
    """One row per channel with cost or leads in the period, and totals (``live``: never
    from the rollups)."""
    key = "campaign__channel__code"
    rows = _rows(
        _touch_rows(
            start=start, end=end, model=model, key=key, channel_kind=channel_kind, live=live
        ),
        _cost_rows(start=start, end=end, key=key, channel_kind=channel_kind),
    )
    channels = {c.code: c for c in Channel.objects.filter(code__in=rows)}
    ordered = sorted(rows.items(), key=lambda kv: (channels[kv[0]].sort_order, kv[0]))
    table = [
        {
            "channel": code,
            "channel_name": str(channels[code]),
            "kind": channels[code].kind,
            **values,
        }
        for code, values in ordered
    ]
    return {"from": start, "to": end, "model": model, "rows": table, "totals": add_up(table)}


def campaign_roi(
    *,
    start: dt.date,
    end: dt.date,
    model: str = "first_touch",
    channel_kind: str | None = None,
    channel: str | None = None,
    live: bool = False,
) -> dict[str, Any]:
    """One row per campaign with cost or leads in the period, and totals (``live``: never
    from the rollups)."""
    key = "campaign_id"
    touch_extra = Q(campaign__channel__code=channel) if channel else None
    cost_extra = Q(campaign__channel__code=channel) if channel else None
    rows = _rows(
        _touch_rows(
            start=start,
            end=end,
            model=model,
            key=key,
            channel_kind=channel_kind,
            extra=touch_extra,
            live=live,
        ),
        _cost_rows(start=start, end=end, key=key, channel_kind=channel_kind, extra=cost_extra),
    )
    # Names as plain values: 10,000 campaigns as model instances cost seconds (benchmark
    # figures in docs/architecture.md).
    names = {
        pk: (name, code, kind)
        for pk, name, code, kind in Campaign.objects.filter(pk__in=list(rows))
        .order_by()
        .values_list("pk", "name", "channel__code", "channel__kind")
    }
    table = [
        {
            "campaign": pk,
            "campaign_name": names[pk][0],
            "channel": names[pk][1],
            "kind": names[pk][2],
            **values,
        }
        for pk, values in rows.items()
    ]
    table.sort(key=sort_key(DEFAULT_CAMPAIGN_SORT, "campaign"))
    return {"from": start, "to": end, "model": model, "rows": table, "totals": add_up(table)}


#: The campaign ROI report's order unless asked otherwise: revenue, highest first.
DEFAULT_CAMPAIGN_SORT = "-revenue"


def _campaign_sources(
    *,
    start: dt.date,
    end: dt.date,
    model: str,
    channel_kind: str | None,
    channel: str | None,
    live: bool,
) -> tuple[list[QuerySet[Any]], QuerySet[Any], str]:
    """The grouped querysets whose rows, added up per campaign, are ``campaign_roi``'s
    sums: the rollup rows of the period (``reports.rollups``) and its stale days live, or
    the whole period live (``live``, or the rollups cannot serve); the costs; and the
    database alias to read them on."""
    extra = Q(campaign__channel__code=channel) if channel else None
    plan = None if live else rollups.plan(start, end)

    def live_sums(low: dt.date, high: dt.date) -> QuerySet[Any]:
        return _touch_sums(
            start=low,
            end=high,
            model=model,
            key="campaign_id",
            channel_kind=channel_kind,
            extra=extra,
        )

    if plan is None:
        sources = [live_sums(start, end)]
    else:
        sources = [
            rollups.campaign_sums(
                start=start,
                end=end,
                model=model,
                channel_kind=channel_kind,
                extra=extra,
                skip=plan.stale,
            )
        ]
        for low, high in plan.stretches():
            sources.append(live_sums(low, high))
    costs = CampaignCost.objects.filter(date__gte=start, date__lte=end)
    if channel_kind:
        costs = costs.filter(campaign__channel__kind=channel_kind)
    if extra is not None:
        costs = costs.filter(extra)
    summed: QuerySet[Any] = costs.values("campaign_id").annotate(cost=Sum("amount")).order_by()
    return sources, summed, read_alias(CampaignCost)


def _campaign_sums_sql(
    sources: list[QuerySet[Any]], costs: QuerySet[Any], alias: str
) -> tuple[str, list[Any]]:
    """One SELECT of the raw sums per campaign (``campaign_id``, ``reports.metrics_sql.RAW``):
    the union of the sources' rows and the costs', grouped by campaign."""
    parts, params = [], []
    figures_ = ", ".join(ROI_FIELDS)
    for source in sources:
        sql, args = source.query.get_compiler(using=alias).as_sql()
        parts.append(f"SELECT campaign_id, {figures_}, NULL AS cost FROM ({sql}) AS s")  # noqa: S608
        params.extend(args)
    sql, args = costs.query.get_compiler(using=alias).as_sql()
    zeros = ", ".join("0.0" for _ in ROI_FIELDS)
    parts.append(f"SELECT campaign_id, {zeros}, cost FROM ({sql}) AS c")  # noqa: S608
    params.extend(args)
    sums = ", ".join(f"SUM({name}) AS {name}" for name in ROI_FIELDS)
    union = " UNION ALL ".join(parts)
    return (
        f"SELECT campaign_id, {sums}, SUM(cost) AS cost FROM ({union}) AS u "  # noqa: S608
        "GROUP BY campaign_id",
        params,
    )


def _campaign_rows(raw: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Report rows (``figures`` and the campaign's name, channel and kind, one query) of
    raw sums ``(campaign_id, *ROI_FIELDS, cost)``, in their order."""
    names = {
        pk: (name, code, kind)
        for pk, name, code, kind in Campaign.objects.filter(pk__in=[row[0] for row in raw])
        .order_by()
        .values_list("pk", "name", "channel__code", "channel__kind")
    }
    table = []
    for pk, *sums, cost in raw:
        values = figures(
            cost=cost or Decimal("0"), **{k: v or 0 for k, v in zip(ROI_FIELDS, sums, strict=True)}
        )
        table.append(
            {
                "campaign": pk,
                "campaign_name": names[pk][0],
                "channel": names[pk][1],
                "kind": names[pk][2],
                **values,
            }
        )
    return table


def campaign_roi_page(
    *,
    start: dt.date,
    end: dt.date,
    model: str = "first_touch",
    channel_kind: str | None = None,
    channel: str | None = None,
    sort: str = DEFAULT_CAMPAIGN_SORT,
    offset: int = 0,
    limit: int = 50,
    live: bool = False,
) -> dict[str, Any]:
    """``campaign_roi`` sorted by ``sort`` (``reports.metrics_sql.SORTABLE``, ``-`` for
    descending; undefined values last, then by campaign) and cut to ``limit`` rows from
    ``offset``, in the database: the sums per campaign (from the rollups where they serve)
    are sorted and cut by SQL computing the sort figure as ``figures`` does
    (``reports.metrics_sql``); ``figures`` runs only for the rows returned. ``count`` is
    the number of rows of the whole report and ``totals`` its totals (``add_up`` of every
    row, summed by the same query). Three queries (the rollups' plan, the page, the names)
    whatever the number of campaigns; four past the last page."""
    sources, costs, alias = _campaign_sources(
        start=start, end=end, model=model, channel_kind=channel_kind, channel=channel, live=live
    )
    connection = connections[alias]
    vendor = connection.vendor
    summed, params = _campaign_sums_sql(sources, costs, alias)
    columns = ", ".join(("campaign_id", *ROI_FIELDS, "cost"))
    # The totals add up the rows as shown (counts to four decimals, amounts to the cent),
    # as ``add_up`` does: window sums over every row, computed before the cut, so the
    # sums per campaign are computed once.
    added = (*COUNTS, "revenue", "cost")
    shown = ", ".join(f"SUM({figure_sql(name, vendor)}) OVER ()" for name in added)
    page_sql = (
        f"SELECT {columns}, COUNT(*) OVER (), {shown} FROM ({summed}) AS g "  # noqa: S608
        f"ORDER BY {order_sql(sort, vendor, 'campaign_id')} LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(page_sql, [*params, max(limit, 1), offset])
        fetched = cursor.fetchall()
        if fetched:
            totals_row = fetched[0][len(ROI_FIELDS) + 2 :]
        else:  # past the last row (or none at all): the totals alone
            plain = ", ".join(f"SUM({figure_sql(name, vendor)})" for name in added)
            cursor.execute(f"SELECT COUNT(*), {plain} FROM ({summed}) AS g", params)  # noqa: S608
            totals_row = cursor.fetchone()
    raw = [row[: len(ROI_FIELDS) + 2] for row in fetched[:limit]]
    count, *sums, revenue, cost = totals_row
    totals = figures(
        cost=Decimal(str(cost or 0)),
        revenue=Decimal(str(revenue or 0)),
        **{name: float(value or 0) for name, value in zip(COUNTS, sums, strict=True)},
    )
    return {
        "from": start,
        "to": end,
        "model": model,
        "sort": sort,
        "count": count,
        "rows": _campaign_rows(raw),
        "totals": totals,
    }


def campaign_roi_stream(
    *,
    start: dt.date,
    end: dt.date,
    model: str = "first_touch",
    channel_kind: str | None = None,
    channel: str | None = None,
    sort: str = DEFAULT_CAMPAIGN_SORT,
    live: bool = False,
    chunk: int = 1000,
) -> Iterator[dict[str, Any]]:
    """Every row of ``campaign_roi_page``'s report in its order, ``chunk`` rows at a time
    (an export: one sorted query read in chunks, ``figures`` and names per chunk)."""
    sources, costs, alias = _campaign_sources(
        start=start, end=end, model=model, channel_kind=channel_kind, channel=channel, live=live
    )
    connection = connections[alias]
    summed, params = _campaign_sums_sql(sources, costs, alias)
    columns = ", ".join(("campaign_id", *ROI_FIELDS, "cost"))
    sql = (
        f"SELECT {columns} FROM ({summed}) AS g "  # noqa: S608
        f"ORDER BY {order_sql(sort, connection.vendor, 'campaign_id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while raw := cursor.fetchmany(chunk):
            yield from _campaign_rows(raw)


def cohort(
    *, start: dt.date, end: dt.date, channel_kind: str | None = None, channel: str | None = None
) -> QuerySet[Lead]:
    low, high = period_bounds(start, end)
    leads = Lead.objects.filter(created_at__gte=low, created_at__lt=high)
    if channel_kind:
        leads = leads.filter(source_campaign__channel__kind=channel_kind)
    if channel:
        leads = leads.filter(source_campaign__channel__code=channel)
    return leads


_FUNNEL_FIGURES = (*FUNNEL, "lost", "disqualified")


def day_funnel_rows(*, start: dt.date, end: dt.date) -> QuerySet[Any]:
    """The funnel counts of each cohort day in [start, end] per source channel, live, in
    one grouped query (the period funnel's ``cohort`` + ``funnel_counts`` with the cohort
    day, ``cohort_day``, and the channel, ``group_key``, as dimensions): the funnel
    rollups' rows."""
    return (
        cohort(start=start, end=end)
        .annotate(cohort_day=TruncDate("created_at"), group_key=F("source_campaign__channel_id"))
        .values("cohort_day", "group_key")
        .annotate(**funnel_counts(*_FUNNEL_FIGURES))
        .order_by()
    )


def _funnel_counts(
    *, start: dt.date, end: dt.date, channel_kind: str | None, channel: str | None, live: bool
) -> dict[str, Any]:
    """The funnel counts of the period: from the daily rollups where current, the stale
    days (and everything with ``live``) counted live."""
    plan = None if live else rollups.plan(start, end)
    if plan is None:
        return cohort(start=start, end=end, channel_kind=channel_kind, channel=channel).aggregate(
            **funnel_counts(*_FUNNEL_FIGURES)
        )
    counts = rollups.funnel_sums(
        start=start, end=end, channel_kind=channel_kind, channel=channel, skip=plan.stale
    )
    for low, high in plan.stretches():
        stale = cohort(start=low, end=high, channel_kind=channel_kind, channel=channel).aggregate(
            **funnel_counts(*_FUNNEL_FIGURES)
        )
        counts = {name: counts[name] + (stale[name] or 0) for name in _FUNNEL_FIGURES}
    return counts


def funnel(
    *,
    start: dt.date,
    end: dt.date,
    channel_kind: str | None = None,
    channel: str | None = None,
    live: bool = False,
) -> dict[str, Any]:
    """How far the period's leads have got, stage by stage, with cost (``live``: never
    from the rollups)."""
    counts = _funnel_counts(
        start=start, end=end, channel_kind=channel_kind, channel=channel, live=live
    )
    costs = CampaignCost.objects.filter(date__gte=start, date__lte=end)
    if channel_kind:
        costs = costs.filter(campaign__channel__kind=channel_kind)
    if channel:
        costs = costs.filter(campaign__channel__code=channel)
    cost = costs.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    lost, disqualified = counts.pop("lost"), counts.pop("disqualified")
    return {
        "from": start,
        "to": end,
        "totals": {**figures(cost=cost, **counts), "lost": lost, "disqualified": disqualified},
        "stages": [
            {"stage": "leads", "count": counts["leads"]},
            {"stage": "mql", "count": counts["mqls"]},
            {"stage": "sql", "count": counts["sqls"]},
            {"stage": "opportunity", "count": counts["opportunities"]},
            {"stage": "won", "count": counts["won"]},
        ],
    }


def closed_in_period(
    *, start: dt.date, end: dt.date, channel_kind: str | None = None
) -> dict[str, Any]:
    """Deals closed in [start, end], whenever their lead was created (two queries): won and
    revenue signed in the period, lost, and won / (won + lost) — the sales side's figures
    (``reports.scorecards.rep_metrics``), set beside the cohort's on the dashboard.

    Each an index range of its own (the partial indexes ``lead_won_at`` and
    ``lead_lost_at``, covering what is read: index-only once vacuumed), not a read of every
    won and lost lead (docs/architecture.md)."""
    low, high = period_bounds(start, end)
    leads = Lead.objects.order_by()
    if channel_kind:
        leads = leads.filter(source_campaign__channel__kind=channel_kind)
    row = leads.filter(won_between(low, high)).aggregate(
        won=Count("*"), revenue=Coalesce(Sum("won_amount"), Decimal("0"))
    )
    row["lost"] = leads.filter(lost_between(low, high)).count()
    decided = row["won"] + row["lost"]
    return {**row, "win_rate": round(row["won"] / decided, 4) if decided else None}


def _live_revenue(model: str, where: Q | None = None) -> Subquery:
    per_campaign = credited_touches(model=model).filter(campaign=OuterRef("pk"))
    if where is not None:
        per_campaign = per_campaign.filter(where)
    return Subquery(
        per_campaign.order_by()
        .values("campaign")
        .annotate(total=credited_revenue(model))
        .values("total"),
        output_field=FloatField(),
    )


def _revenue(model: str, live: bool) -> tuple[dict[str, Any], Any]:
    """Each campaign's all-time credit-weighted revenue, and the relation it needs: its
    total under ``model`` (``reports.rollups.totals``, one joined row), less its rollup rows
    of the days marked stale plus those days live; or all live when the rollups cannot serve
    (``reports.rollups``)."""
    plan = None if live else rollups.plan()
    if plan is None:
        return {}, Coalesce(_live_revenue(model), Value(0.0))
    joined = {
        "model_total": FilteredRelation("revenue_totals", condition=Q(revenue_totals__model=model))
    }
    revenue = Coalesce(F("model_total__revenue"), Value(0.0))
    if not plan.stale:
        return joined, revenue
    rolled_stale = (
        rollups.stale_revenue_rows(model, plan.stale)
        .filter(campaign=OuterRef("pk"))
        .order_by()
        .values("campaign")
        .annotate(total=Sum("revenue"))
        .values("total")
    )
    stale = Q()
    for start, end in plan.stretches():
        low, high = period_bounds(start, end)
        stale |= Q(lead__created_at__gte=low, lead__created_at__lt=high)
    return joined, (
        revenue
        - Coalesce(Subquery(rolled_stale, output_field=FloatField()), Value(0.0))
        + Coalesce(_live_revenue(model, stale), Value(0.0))
    )


def with_revenue(
    campaigns: QuerySet[Campaign], *, model: str = "first_touch", live: bool = False
) -> QuerySet[Campaign]:
    """Each campaign annotated with ``revenue``: the credit-weighted revenue of every lead
    it touched, whenever created (``campaign_roi`` over all time, same sum), from its
    rollup total (one joined row; ``_revenue``) so the list sorts by it without reading a
    touch and its query count does not grow with its length; and,
    for sorting, ``roi`` over ``actual_cost_sum`` (``campaigns.selectors.with_figures``),
    null without cost. Shown figures come from ``reports.metrics.figures``. From the
    daily rollups where they are current (``live``: never)."""
    joined, revenue = _revenue(model, live)
    cost = Cast("actual_cost_sum", FloatField())
    return (
        campaigns.annotate(**joined)
        .annotate(revenue=revenue)
        .annotate(
            roi=Case(
                When(actual_cost_sum__gt=0, then=(F("revenue") - cost) / cost),
                default=None,
                output_field=FloatField(),
            )
        )
    )
