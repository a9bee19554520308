"""Each campaign's all-time revenue per attribution model (``RollupCampaignTotal``): the sum
of its daily rollup rows, recomputed in the transaction that rewrites them, for just the
campaigns those days had or have rows of (docs/architecture.md "Report rollups").

``reports.selectors.with_revenue`` reads a campaign's total, less its rollup rows of the days
marked stale plus those days live, so the campaign list sorts by revenue or ROI over one
small row per campaign without reading a touch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import Sum

from reports.rollups.models import RollupCampaignTotal, RollupDay

#: The advisory lock serialising the totals' recomputation: two transactions rewriting
#: different days of one campaign each sum the other's committed rows.
_TOTALS_LOCK = (7218, 0)


def _campaigns(low: dt.date, high: dt.date) -> set[int]:
    return set(
        RollupDay.objects.filter(day__gte=low, day__lte=high)
        .order_by()
        .values_list("campaign_id", flat=True)
        .distinct()
    )


@contextmanager
def recomputed(
    low: dt.date, high: dt.date, *, lock: Callable[[dt.date, dt.date], None]
) -> Iterator[None]:
    """Around rewriting the rollup rows of [low, high] (inside its transaction, ``lock``
    taking the days' locks first): afterwards, the totals of the campaigns the days had rows
    of before or have now are summed again."""
    lock(low, high)
    before = _campaigns(low, high)
    yield
    recompute(before | _campaigns(low, high))


def recompute(campaign_ids: Iterable[int]) -> None:
    """Sum the totals of ``campaign_ids`` again from their rollup rows (one ``DELETE`` and
    one ``INSERT … SELECT``)."""
    ids = sorted(set(campaign_ids))
    if not ids:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(_TOTALS_LOCK))
    RollupCampaignTotal.objects.filter(campaign_id__in=ids).delete()
    rows = (
        RollupDay.objects.filter(campaign_id__in=ids)
        .order_by()
        .values("campaign_id", "model")
        .annotate(total=Sum("revenue"))
        .values_list("campaign_id", "model", "total")
    )
    sql, params = rows.query.sql_with_params()
    quote = connection.ops.quote_name
    table = quote(RollupCampaignTotal._meta.db_table)
    # Names from the model's metadata; every value is a parameter.
    statement = (
        f"INSERT INTO {table} ({quote('campaign_id')}, {quote('model')}, {quote('revenue')}) "  # noqa: S608
        f"SELECT * FROM ({sql}) totals"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def recompute_all() -> None:
    """Sum every campaign's totals again (the rebuild, after dropping rows outside its days),
    in one transaction."""
    with transaction.atomic():
        recompute(
            [
                *RollupCampaignTotal.objects.values_list("campaign_id", flat=True),
                *RollupDay.objects.order_by().values_list("campaign_id", flat=True).distinct(),
            ]
        )
