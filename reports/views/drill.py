"""From a figure to the leads behind it: the lead list's query for each count of the ROI
pages (the dashboard's tiles and channel rows, a channel's tiles and campaign rows) and
of the whole-lead cohort tables (the scoreboard's lead quality per source channel).

The link is built from the same definitions the figure is: the cohort is the period's
created dates (``created_after``/``created_before``, the business time zone like
``reports.periods.period_bounds``), the credited touches are
``reports.selectors.credited_touches`` (the lead list's ``credit_*`` filters), the stage
is ``reports.definitions.REACHED`` (the ``reached`` filter). Under first or last touch
one touch of a lead carries all its credit, so the list holds exactly the figure; under
the shared models the figure weights each lead by its share, and the link says that it
lists every lead with credit there.

Only for viewers who see every lead (``pipeline.roles.sees_all_leads``): the lead list
applies the viewer's visibility, so for anyone else it would show a different set.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

from pipeline.roles import sees_all_leads
from reports.definitions import REACHED

#: The figure each stage of the ``reached`` filter counts, the other way round.
FIGURE_STAGE = {figure: stage for stage, figure in REACHED.items()}
#: The counts of the ROI reports that link to their leads.
LINKED = ("leads", *FIGURE_STAGE)
#: Models under which each lead's credit sits on one touch: the figures are whole leads.
WHOLE_LEAD_MODELS = ("first_touch", "last_touch")


def can_drill(user: Any) -> bool:
    """Whether the lead list shows this viewer every lead a report figure counts."""
    return sees_all_leads(user)


def lead_list_url(params: dict[str, Any]) -> str:
    return reverse("leads:list") + "?" + urlencode(params)


def credited_leads_url(
    figure: str,
    *,
    start: dt.date,
    end: dt.date,
    model: str,
    channel_kind: str | None = None,
    channel: str | None = None,
    campaign: int | None = None,
) -> str | None:
    """The lead list of one credit-weighted count (``reports.selectors._touch_rows``):
    the period's leads with credit under ``model`` in the kind, channel or campaign,
    that reached the figure's stage. ``None`` for a figure that is not a count."""
    if figure not in LINKED:
        return None
    params: dict[str, Any] = {
        "created_after": start.isoformat(),
        "created_before": end.isoformat(),
        "credit_model": model,
    }
    if channel_kind:
        params["credit_kind"] = channel_kind
    if channel:
        params["credit_channel"] = channel
    if campaign is not None:
        params["credit_campaign"] = campaign
    if figure in FIGURE_STAGE:
        params["reached"] = FIGURE_STAGE[figure]
    return lead_list_url(params)


def link_title(model: str) -> str:
    """What the lead list behind a credit-weighted figure holds, for the link's title."""
    if model in WHOLE_LEAD_MODELS:
        return _("The leads behind this figure")
    return _("Lists every lead with credit here; the figure counts each by its share of the credit")


def row_links(user: Any, *, period: dict[str, Any], model: str, **scope: Any) -> dict[str, str]:
    """``{figure: url}`` for one row or the tiles of an ROI page; empty when this
    viewer can't drill down."""
    if not can_drill(user):
        return {}
    links = {}
    for figure in LINKED:
        url = credited_leads_url(
            figure,
            start=period["start"],
            end=period["end"],
            model=model,
            channel_kind=period.get("channel_kind") or None,
            **scope,
        )
        if url:
            links[figure] = url
    return links


#: Whole-lead cohort figures (``reports.selectors.cohort`` with
#: ``reports.definitions.funnel_counts``) and the stage each needs; ``accepted`` is SQL.
COHORT_STAGE = {**FIGURE_STAGE, "accepted": FIGURE_STAGE["sqls"]}


def cohort_leads_url(
    figure: str,
    *,
    start: dt.date,
    end: dt.date,
    channel_kind: str | None = None,
    channel: str | None = None,
    grade: str | None = None,
) -> str | None:
    """The lead list of one whole-lead count of the period's cohort by source channel
    (``reports.trends.channel_quality``): created in the period, of that source channel
    (and kind), with that grade, that reached the figure's stage."""
    if figure != "leads" and figure not in COHORT_STAGE:
        return None
    params: dict[str, Any] = {
        "created_after": start.isoformat(),
        "created_before": end.isoformat(),
    }
    if channel_kind:
        params["channel_kind"] = channel_kind
    if channel:
        params["channel"] = channel
    if grade:
        params["grade"] = grade
    if figure in COHORT_STAGE:
        params["reached"] = COHORT_STAGE[figure]
    return lead_list_url(params)


def quality_links(
    user: Any, *, period: dict[str, Any], channel: str | None, grades: tuple[str, ...]
) -> dict[str, str]:
    """``{column: url}`` for a row of the scoreboard's lead quality table: leads, MQLs,
    accepted and each grade's count. None for leads without a source campaign (no filter
    lists exactly those) or viewers who don't see every lead; ``channel`` None with
    ``grades`` is the totals row."""
    if not can_drill(user):
        return {}
    scope = {
        "start": period["start"],
        "end": period["end"],
        "channel_kind": period.get("channel_kind") or None,
        "channel": channel,
    }
    links: dict[str, str] = {}
    for figure in ("leads", "mqls", "accepted"):
        url = cohort_leads_url(figure, **scope)
        if url:
            links[figure] = url
    for grade in grades:
        if grade:
            links[f"grade_{grade}"] = cohort_leads_url("leads", grade=grade, **scope) or ""
    return links
