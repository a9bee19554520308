"""The attainment and agreement pages and the attainment API, answered from snapshots
(issue #16 item 7, docs/architecture.md "Targets and attainment").

Live, a period's attainment runs every report selector its targets need: seconds at a
million leads. So the scheduled snapshot refresh (``reports.snapshots``) stores, for every
period the pages offer (this month, the previous one, this quarter):

- ``attainment``: the actual of every target of the period, company-wide, keyed by metric
  and scope (``reports.attainment.selectors.attainment_actuals``, ``actual_key``);
- ``agreement``: the two figures the agreement's verdict judges (``agreement_figures``).

A request reads them in one query and builds its rows from the targets **its viewer may
read** (``targets.selectors.targets_visible_to``, the live page's own query), each judged
now against its current value (``attainment_report``, the live row builder): a rep sees
their own targets, a sales manager their teams', a manager all — exactly the rows of the
live page, only the actuals are as of the snapshot. Without a fresh snapshot (or when a
visible target's metric and scope is not in it: a target set since) the page computes
live, as before. A fixed number of queries either way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from reports.attainment.agreement import agreement_figures
from reports.attainment.selectors import (
    Actuals,
    actual_key,
    attainment_report,
    visible_targets,
)
from reports.choices import ReportKind
from reports.snapshots import attainment_key, attainment_periods, snapshots_fresh
from targets.choices import parse_period
from targets.selectors import targets_visible_to

__all__ = ["Served", "agreement_served", "attainment_periods", "attainment_served"]


@dataclass
class Served:
    """A viewer's attainment report (``attainment_report``'s shape), the agreement's
    verdict figures when asked for, and when the actuals were computed (``None``: live)."""

    report: dict[str, Any]
    figures: dict[str, float | None] | None = None
    computed_at: dt.datetime | None = None


def _snapshots(period: str, kinds: tuple[str, ...]) -> dict[str, Any]:
    keys = {kind: attainment_key(kind, period) for kind in kinds}
    found = snapshots_fresh(list(keys.values()))
    return {kind: found[key] for kind, key in keys.items() if key in found}


def _serve(user: User, period: str, now: dt.datetime, *, agreement: bool) -> Served:
    parse_period(period)  # a clear ValueError before any query
    kinds = (ReportKind.ATTAINMENT, ReportKind.AGREEMENT) if agreement else (ReportKind.ATTAINMENT,)
    chosen = visible_targets(targets_visible_to(user), period)
    found = _snapshots(period, kinds)
    if len(found) == len(kinds):
        actuals = found[ReportKind.ATTAINMENT].payload["actuals"]
        if all(actual_key(target) in actuals for target in chosen):
            report = attainment_report(
                chosen, period=period, now=now, actual_of=lambda t: actuals[actual_key(t)]
            )
            return Served(
                report=report,
                figures=found[ReportKind.AGREEMENT].payload if agreement else None,
                computed_at=min(snapshot.computed_at for snapshot in found.values()),
            )
    # Live: the same targets and row builder, the actuals from the report selectors.
    start, end = parse_period(period)
    live = Actuals(start, end, chosen, now)
    report = attainment_report(chosen, period=period, now=now, actual_of=live.of)
    figures = (
        agreement_figures(start=start, end=end, now=now, state=live.state) if agreement else None
    )
    return Served(report=report, figures=figures)


def attainment_served(user: User, *, period: str, now: dt.datetime | None = None) -> Served:
    """The attainment of every target ``user`` may read in ``period``: from the period's
    fresh snapshot when it holds them all, else live (``attainment_for``'s rows)."""
    return _serve(user, period, now or timezone.now(), agreement=False)


def agreement_served(user: User, *, period: str, now: dt.datetime | None = None) -> Served:
    """As ``attainment_served``, with the agreement's verdict figures (acceptance and
    first responses in time of the cohort): both from snapshots, or both live."""
    return _serve(user, period, now or timezone.now(), agreement=True)
