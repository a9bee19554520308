"""The marketing–sales scoreboard: channel lead quality beside sales follow-up."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from pipeline.db import reading_replica
from pipeline.roles import REPORT_READERS
from reports import charts
from reports.attainment.agreement import agreement_verdict
from reports.attainment.selectors import STATUS_LABELS, cohort_first_response
from reports.charts import GRADE_COLORS, Series
from reports.definitions import DEFINITIONS
from reports.exports import Column, Table
from reports.forms.reports import PeriodForm
from reports.quality import bounce_reasons
from reports.selectors import funnel
from reports.trends import GRADES, channel_quality, follow_up_rep_ids, sales_follow_up
from reports.views.common import (
    bind_form,
    channel_names,
    display_names,
    fmt,
    preset_links,
    rate_chart,
    require,
    respond,
)
from reports.views.drill import quality_links
from reports.views.roi import why_differ


def _rep_charts(rows: list[dict[str, Any]]) -> dict[str, str]:
    if not rows:
        return {}
    ordered = sorted(rows, key=lambda r: (r["compliance"] is None, -(r["compliance"] or 0)))
    names = [r["name"] for r in ordered]
    return {
        "compliance": rate_chart(
            names,
            [r["compliance"] for r in ordered],
            label=_("First responses in time per rep"),
            empty=_("No rep had a response due."),
        ),
        "win_rate": rate_chart(
            names,
            [r["win_rate"] for r in ordered],
            label=_("Win rate per rep"),
            empty=_("No deal was closed."),
        ),
    }


def headline(marketing: str, sales: str) -> str:
    """The scoreboard's one-line verdict from each side's (``good``, ``bad`` or ``none``,
    ``reports.attainment.agreement.agreement_verdict``)."""
    if "none" in (marketing, sales):
        return _("Not enough decided leads in this period to compare the two sides.")
    if marketing == "good" and sales == "bad":
        return _("Sales accept the leads but answer too late: follow-up is the gap.")
    if marketing == "bad" and sales == "good":
        return _("Sales answer in time but turn many leads down: lead quality is the gap.")
    if marketing == "good":
        return _("Both sides are on target.")
    return _("Both sides are below target: lead quality and follow-up.")


def _against(side: dict[str, Any]) -> str:
    """Which target a side was judged against: the agreed one (and its period) or the
    default, labelled so."""
    target = charts.percent(side["target"], 0)
    if side["agreed"]:
        return _("agreed target %(target)s, %(period)s") % {
            "target": target,
            "period": side["period"],
        }
    return _("default target %(target)s: none agreed") % {"target": target}


def verdict_texts(judged: dict[str, Any]) -> dict[str, str]:
    """The two verdict lines of the scoreboard and the agreement page: each side's figure
    (of the period's cohort), its status and the target it was judged against."""
    texts = {}
    for side, text in (
        ("marketing", _("Acceptance of marketing's MQLs: %(rate)s (%(against)s)")),
        ("sales", _("First responses in time for the period's leads: %(rate)s (%(against)s)")),
    ):
        item = judged[side]
        texts[f"{side}_text"] = text % {
            "rate": charts.percent(item["actual"]),
            "against": _against(item),
        }
        texts[f"{side}_status"] = str(STATUS_LABELS[item["status"]]) if item["status"] else ""
    return texts


def _quality_table(
    quality: dict[str, Any],
    reasons: dict[str, Any],
    names,
    *,
    user: Any = None,
    period: dict[str, Any] | None = None,
) -> Table:
    top: dict[str, list[str]] = {}
    for item in reasons["rejected"]:
        source = item["source"] or ""
        if len(top.setdefault(source, [])) < 3:
            top[source].append(f"{item['reason_label'] or item['reason']} ({item['count']})")
    rows, links = [], []
    for row in sorted(quality["rows"], key=lambda r: -r["leads"]):
        links.append(
            quality_links(user, period=period, channel=row["channel"], grades=GRADES)
            if period is not None and row["channel"]
            else {}
        )
        rows.append(
            {
                **row,
                "channel_name": names.get(row["channel"], row["channel"]),
                **{f"grade_{g or 'none'}": row["grades"][g] for g in row["grades"]},
                "top_reasons": "; ".join(top.get(row["channel"] or "", [])),
            }
        )
    totals = quality["totals"]
    return Table(
        name="quality",
        title=_("Lead quality per channel"),
        columns=[
            Column("channel_name", _("Channel")),
            Column("leads", _("Leads"), "count"),
            Column("grade_A", _("Grade A"), "count", secondary=True),
            Column("grade_B", _("Grade B"), "count", secondary=True),
            Column("grade_C", _("Grade C"), "count", secondary=True),
            Column("grade_D", _("Grade D"), "count", secondary=True),
            Column("grade_none", _("No grade"), "count", secondary=True),
            Column("mqls", _("MQLs"), "count"),
            Column("qualification_rate", _("Desk qualification rate"), "pct"),
            Column("accepted", _("Accepted by sales"), "count"),
            Column("rejected", _("Rejected by sales"), "count"),
            Column("acceptance_rate", _("Sales acceptance"), "pct"),
            Column("top_reasons", _("Top rejection reasons"), "note"),
        ],
        definitions=("lead_counts", "cohort", "qualification_rate", "acceptance"),
        rows=rows,
        links=links,
        totals_links=(
            quality_links(user, period=period, channel=None, grades=GRADES)
            if period is not None
            else {}
        ),
        link_title=_("The leads behind this figure"),
        totals={
            **totals,
            "channel_name": _("Total"),
            **{f"grade_{g or 'none'}": totals["grades"][g] for g in totals["grades"]},
            "top_reasons": "",
        },
    )


@login_required
@reading_replica()
def scoreboard(request: HttpRequest) -> HttpResponse:
    """Channel lead quality beside sales follow-up for the same period, each side with a
    one-line verdict: settles "your leads are bad" against "you don't follow up"."""
    user = request.user
    require(user, REPORT_READERS)
    form = bind_form(PeriodForm, request)
    context: dict[str, Any] = {
        "form": form,
        "presets": preset_links(request, form),
        "backdate_hours": settings.FOLLOW_UP_BACKDATE_HOURS,
    }
    tables: list[Table] = []
    if form.is_valid():
        period = form.period
        start, end = period["start"], period["end"]
        names = channel_names()
        quality = channel_quality(**period)
        reasons = bounce_reasons(by="channel", **period)
        follow_up = sales_follow_up(start=start, end=end)
        sales, routing = follow_up["totals"], follow_up["routing"]
        visible = follow_up_rep_ids(user)
        totals = quality["totals"]
        shown = [r for r in follow_up["rows"] if visible is None or r["user"] in visible]
        people = display_names([r["user"] for r in shown])
        shown = [{**r, "name": people.get(r["user"], r["username"])} for r in shown]
        rep_table = Table(
            name="reps",
            title=_("Follow-up per rep"),
            columns=[
                Column("name", _("Rep")),
                Column("assigned", _("Assigned"), "count"),
                Column("due", _("Response due"), "count", secondary=True),
                Column("in_time", _("In time"), "count", secondary=True),
                Column("compliance", _("SLA compliance"), "pct"),
                Column("median_response_hours", _("Response p50"), "hours"),
                Column("p95_response_hours", _("Response p95"), "hours", secondary=True),
                Column("overdue_now", _("Overdue now"), "count"),
                Column("wasted", _("Wasted leads"), "count"),
                Column("backdated", _("Back-dated follow-ups"), "count", secondary=True),
                Column("won", _("Won"), "count"),
                Column("lost", _("Lost"), "count", secondary=True),
                Column("win_rate", _("Win rate"), "pct"),
                Column("revenue", _("Revenue"), "money"),
            ],
            rows=shown,
            definitions=(
                "first_response",
                "response_time",
                "overdue_now",
                "wasted",
                "closed_in_period",
                "signed_revenue",
            ),
        )
        tables = [
            _quality_table(quality, reasons, names, user=user, period=form.period),
            rep_table,
        ]
        ordered = sorted(quality["rows"], key=lambda r: -r["leads"])
        judged = agreement_verdict(
            start=start,
            end=end,
            acceptance=totals["acceptance_rate"],
            in_time=cohort_first_response(start=start, end=end),
        )
        texts = verdict_texts(judged)
        terms = DEFINITIONS
        cohort_totals = funnel(**period)["totals"]
        context.update(
            {
                "why": why_differ(cohort=cohort_totals, closed=sales),
                "marketing": {
                    "verdict": judged["marketing"]["verdict"],
                    "verdict_text": texts["marketing_text"],
                    "status": texts["marketing_status"],
                    "figures": [
                        (_("Leads"), fmt(totals["leads"], "count"), terms["cohort"]),
                        (_("MQLs"), fmt(totals["mqls"], "count"), terms["funnel_counts"]),
                        (
                            _("Desk qualification rate"),
                            fmt(totals["qualification_rate"], "pct"),
                            terms["qualification_rate"],
                        ),
                        (
                            _("Accepted / rejected by sales"),
                            f"{fmt(totals['accepted'], 'count')} / "
                            f"{fmt(totals['rejected'], 'count')}",
                            terms["acceptance"],
                        ),
                        (
                            _("Time to assign p50 / p95"),
                            f"{fmt(routing['median'], 'hours')} / {fmt(routing['p95'], 'hours')}",
                            terms["routing_delay"],
                        ),
                    ],
                },
                "sales": {
                    "verdict": judged["sales"]["verdict"],
                    "verdict_text": texts["sales_text"],
                    "status": texts["sales_status"],
                    "figures": [
                        (
                            _("Responses due / in time"),
                            f"{fmt(sales['due'], 'count')} / {fmt(sales['in_time'], 'count')}",
                            terms["first_response"],
                        ),
                        (
                            _("Response time p50 / p95"),
                            f"{fmt(sales['p50_response_hours'], 'hours')} / "
                            f"{fmt(sales['p95_response_hours'], 'hours')}",
                            terms["response_time"],
                        ),
                        (
                            _("Overdue now"),
                            fmt(sales["overdue_now"], "count"),
                            terms["overdue_now"],
                        ),
                        (_("Wasted leads"), fmt(sales["wasted"], "count"), terms["wasted"]),
                        (_("Back-dated follow-ups"), fmt(sales["backdated"], "count"), None),
                        (_("Win rate"), fmt(sales["win_rate"], "pct"), terms["closed_in_period"]),
                        (
                            _("Revenue signed"),
                            fmt(sales["revenue"], "money"),
                            terms["signed_revenue"],
                        ),
                    ],
                },
                "headline": headline(judged["marketing"]["verdict"], judged["sales"]["verdict"]),
                "judged": judged,
                "compliance_term": terms["agreement_compliance"],
                "reps_hidden": visible is not None and not visible,
                "rep_charts": _rep_charts(shown),
                "grade_chart": charts.share_chart(
                    [names.get(r["channel"], r["channel"]) for r in ordered],
                    [
                        Series(
                            _("Grade %(grade)s") % {"grade": g} if g else _("No grade"),
                            [r["grades"][g] for r in ordered],
                            GRADE_COLORS[g],
                        )
                        for g in ("A", "B", "C", "D", "")
                    ],
                    label=_("Grade mix per channel"),
                    empty_message=_("No leads in this period."),
                ),
                "acceptance_chart": rate_chart(
                    [names.get(r["channel"], r["channel"]) for r in ordered],
                    [r["acceptance_rate"] for r in ordered],
                    label=_("Sales acceptance per channel"),
                    empty=_("No leads in this period."),
                ),
            }
        )
    return respond(
        request, "reports/scoreboard.html", context, form=form, tables=tables, tab="scoreboard"
    )
