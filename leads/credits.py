"""Attribution credits of touches (docs/architecture.md §4), stored per touch and per model.

A lead's touches up to ``sql_at`` (all of them if it never reached SQL), in time order:
``first_touch`` gives all credit to the first, ``last_touch`` to the last, ``linear`` equal
shares, ``u_shaped`` 40 % first, 40 % last, 20 % shared by those between (two touches:
50/50; one: 100 %). Touches after ``sql_at`` get nothing. One lead's credits add up to 1.

The rule lives in one SQL statement, used for one lead and for millions alike.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from django.db import connection, transaction

from leads.models import Lead

MODELS = ("first_touch", "last_touch", "linear", "u_shaped")
CREDIT_FIELD = {model: f"credit_{model}" for model in MODELS}

_RANKED = """
    SELECT t.id AS tid,
           ROW_NUMBER() OVER (PARTITION BY t.lead_id ORDER BY t.occurred_at, t.id) AS rn,
           COUNT(*) OVER (PARTITION BY t.lead_id) AS cnt
    FROM leads_leadtouch t JOIN leads_lead l ON l.id = t.lead_id
    WHERE (l.sql_at IS NULL OR t.occurred_at <= l.sql_at) AND {where}
"""


def _credits(rn: str, cnt: str) -> str:
    """The credits of the touch ranked ``rn`` of ``cnt`` (SQL expressions), per model."""
    return f"""
        CASE WHEN {rn} = 1 THEN 1.0 ELSE 0.0 END,
        CASE WHEN {rn} = {cnt} THEN 1.0 ELSE 0.0 END,
        1.0 / {cnt},
        CASE
            WHEN {cnt} = 1 THEN 1.0
            WHEN {cnt} = 2 THEN 0.5
            WHEN {rn} = 1 OR {rn} = {cnt} THEN 0.4
            ELSE 0.2 / ({cnt} - 2) END"""


_UPDATE = (
    """
    UPDATE leads_leadtouch SET
        (credit_first_touch, credit_last_touch, credit_linear, credit_u_shaped) = ("""
    + _credits("s.rn", "s.cnt")
    + """)
    FROM ({ranked}) AS s
    WHERE leads_leadtouch.id = s.tid
"""
)
_ZERO_LATE = """
    UPDATE leads_leadtouch SET credit_first_touch = 0, credit_last_touch = 0,
        credit_linear = 0, credit_u_shaped = 0
    WHERE id IN (SELECT t.id FROM leads_leadtouch t JOIN leads_lead l ON l.id = t.lead_id
                 WHERE l.sql_at IS NOT NULL AND t.occurred_at > l.sql_at AND {where})
"""


def _run(condition: str, params: list[int] | list[list[int]]) -> None:
    """Apply the rule to the leads ``condition`` selects; it names ``{col}``, the lead id,
    and is stated on both tables so the planner can start from either one's index (never
    from a scan of all touches, whatever the statistics say)."""
    where = f"{condition.format(col='l.id')} AND {condition.format(col='t.lead_id')}"
    with connection.cursor() as cursor:
        cursor.execute(_UPDATE.format(ranked=_RANKED.format(where=where)), params * 2)
        cursor.execute(_ZERO_LATE.format(where=where), params * 2)


@transaction.atomic
def recompute_credits(lead_ids: Iterable[int]) -> None:
    """Recompute the credits of these leads' touches (after a touch or sql_at changed)."""
    ids = sorted(set(lead_ids))
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        if connection.vendor == "postgresql":
            _run("{col} = ANY(%s)", [chunk])
        else:
            _run("{col} IN (" + ", ".join(["%s"] * len(chunk)) + ")", chunk)


def recompute_all_credits(
    *, batch: int = 50_000, progress: Callable[[int, int], object] | None = None
) -> int:
    """Recompute every touch's credits, in lead-id ranges (seeding, repair). Returns leads."""
    last = Lead.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    done = 0
    for low in range(0, last + 1, batch):
        with transaction.atomic():
            _run("{col} > %s AND {col} <= %s", [low, low + batch])
        done = min(last, low + batch)
        if progress:
            progress(done, last)
    return done


def sole_touch_credits() -> dict[str, float]:
    """The credit fields of a lead's only touch (before any SQL stage), as the rule gives
    them: writers of brand-new leads (an arrival, an import batch) store these with the
    touch instead of recomputing each lead. Asked of the rule once per process."""
    return dict(_sole_touch_credits())


@functools.cache
def _sole_touch_credits() -> tuple[tuple[str, float], ...]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_credits('1', '1')}")
        row = cursor.fetchone()
    return tuple(
        (CREDIT_FIELD[model], float(value)) for model, value in zip(MODELS, row, strict=True)
    )
