"""Scorecards (绩效考核): a card per person and role, the previous period beside each
figure."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pipeline.db import reading_replica
from pipeline.roles import SCORECARD_READERS, Role, has_role
from reports.charts import grouped
from reports.definitions import DEFINITIONS
from reports.exports import Column, Table
from reports.forms.reports import ScorecardForm
from reports.scorecards import scorecard_user_ids, scorecards
from reports.views.common import bind_form, display_names, fmt, preset_links, require, respond

#: Per role: (metric key, label, kind, which way is better; None = neutral, "now" = a
#: current count with nothing to compare).
SCORECARD_METRICS: dict[str, list[tuple[str, Any, str, str | None]]] = {
    Role.MARKETER: [
        ("leads", gettext_lazy("Leads"), "count", "up"),
        ("mqls", gettext_lazy("MQLs"), "count", "up"),
        ("cost", gettext_lazy("Cost"), "money", None),
        ("cost_per_mql", gettext_lazy("Cost per MQL"), "unit_money", "down"),
        ("sql_acceptance", gettext_lazy("Sales acceptance"), "pct", "up"),
    ],
    Role.LEAD_DESK: [
        ("qualified", gettext_lazy("Qualified"), "count", "up"),
        ("disqualified", gettext_lazy("Disqualified"), "count", None),
        ("median_hours_to_qualify", gettext_lazy("Time to qualify (median)"), "hours", "down"),
        ("median_hours_to_assign", gettext_lazy("Time to assign (median)"), "hours", "down"),
        ("acceptance", gettext_lazy("Sales acceptance"), "pct", "up"),
    ],
    Role.SALES_REP: [
        ("assigned", gettext_lazy("Assigned"), "count", None),
        ("compliance", gettext_lazy("First responses in time"), "pct", "up"),
        ("median_response_hours", gettext_lazy("Response time (median)"), "hours", "down"),
        ("overdue_now", gettext_lazy("Overdue now"), "count", "now"),
        ("wasted", gettext_lazy("Wasted leads"), "count", "down"),
        ("backdated", gettext_lazy("Back-dated follow-ups"), "count", "down"),
        ("won", gettext_lazy("Won"), "count", "up"),
        ("win_rate", gettext_lazy("Win rate"), "pct", "up"),
        ("revenue", gettext_lazy("Revenue"), "money", "up"),
    ],
}


#: Per role: the definition (``reports.definitions``) of each metric.
METRIC_TERMS: dict[str, dict[str, str]] = {
    Role.MARKETER: {
        "leads": "marketer_cohort",
        "mqls": "marketer_cohort",
        "cost": "cost",
        "cost_per_mql": "unit_cost",
        "sql_acceptance": "acceptance",
    },
    Role.LEAD_DESK: {
        "qualified": "desk_speed",
        "disqualified": "desk_speed",
        "median_hours_to_qualify": "desk_speed",
        "median_hours_to_assign": "desk_speed",
        "acceptance": "acceptance",
    },
    Role.SALES_REP: {
        "assigned": "first_response",
        "compliance": "first_response",
        "median_response_hours": "response_time",
        "overdue_now": "overdue_now",
        "wasted": "wasted",
        "won": "closed_in_period",
        "win_rate": "closed_in_period",
        "revenue": "signed_revenue",
    },
}


def change(current: Any, previous: Any, kind: str, better: str | None) -> dict[str, str]:
    """The ▲/▼ indicator of one metric against the previous period."""
    if better == "now" or current is None or previous is None:
        return {"arrow": "", "text": "", "tone": ""}
    diff = float(current) - float(previous)
    if abs(diff) < 1e-9:
        return {"arrow": "＝", "text": _("no change"), "tone": "flat"}
    arrow = "▲" if diff > 0 else "▼"
    if kind == "pct":
        text = _("%(n)s pp") % {"n": grouped(abs(diff) * 100, 1)}
    else:
        text = fmt(abs(diff), kind)
    tone = "flat" if better is None else ("good" if (diff > 0) == (better == "up") else "bad")
    return {"arrow": arrow, "text": text, "tone": tone}


@login_required
@reading_replica()
def scorecards_page(request: HttpRequest) -> HttpResponse:
    """绩效考核: a card per person and role, the previous period beside each figure."""
    user = request.user
    require(user, SCORECARD_READERS)
    form = bind_form(ScorecardForm, request)
    context: dict[str, Any] = {
        "form": form,
        "presets": preset_links(request, form),
        "sees_all": has_role(user, Role.MANAGER),
    }
    tables: list[Table] = []
    if form.is_valid():
        data = form.cleaned_data
        report = scorecards(
            start=data["from"],
            end=data["to"],
            role=data["role"],
            user_ids=scorecard_user_ids(user),
        )
        groups: dict[str, dict[str, Any]] = {}
        export = []
        people = display_names([card["user"] for card in report["cards"]])
        for card in report["cards"]:
            role = card["role"]
            metrics = []
            for key, label, kind, better in SCORECARD_METRICS[role]:
                now, before = card["metrics"].get(key), card["previous"].get(key)
                term = METRIC_TERMS[role].get(key)
                goal = card.get("targets", {}).get(key)
                metrics.append(
                    {
                        "label": label,
                        "target": None
                        if goal is None
                        else {
                            "value": fmt(goal["value"], kind),
                            "attainment": fmt(goal["attainment"], "pct"),
                        },
                        "term": DEFINITIONS[term] if term else None,
                        "value": fmt(now, kind),
                        "previous": "" if better == "now" else fmt(before, kind),
                        "change": change(now, before, kind, better),
                    }
                )
                export.append(
                    {
                        "role": Role(role).label,
                        "username": card["username"],
                        "name": people.get(card["user"], card["username"]),
                        "metric": label,
                        "kind": kind,
                        "current": now,
                        "previous": None if better == "now" else before,
                    }
                )
            group = groups.setdefault(
                role,
                {
                    "label": Role(role).label,
                    "cards": [],
                    "terms": [DEFINITIONS[t] for t in dict.fromkeys(METRIC_TERMS[role].values())],
                },
            )
            group["cards"].append(
                {
                    "username": card["username"],
                    "name": people.get(card["user"], card["username"]),
                    "is_me": card["user"] == user.pk,
                    "metrics": metrics,
                }
            )
        # One row per metric: its kind decides how both values are shown and written.
        tables = [
            Table(
                name="scorecards",
                title=_("Scorecards"),
                columns=[
                    Column("role", _("Role")),
                    Column("name", _("Person")),
                    Column("metric", _("Metric")),
                    Column("current", _("This period"), "row"),
                    Column("previous", _("Previous period"), "row"),
                ],
                rows=export,
            )
        ]
        context.update(
            {
                "groups": list(groups.values()),
                "backdate_hours": settings.FOLLOW_UP_BACKDATE_HOURS,
                "previous_from": report["previous_from"],
                "previous_to": report["previous_to"],
            }
        )
    return respond(
        request, "reports/scorecards.html", context, form=form, tables=tables, tab="scorecards"
    )
