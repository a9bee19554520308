"""SLA pages: policies per grade with the business calendar, and follow-up compliance.

Policies are saved by ``reports.sla.config.sla_policy_save``. The business calendar has no
service yet, so ``business_calendar_save`` below is the one place that writes it (rights
and validation included); move it to ``reports/services.py`` when that module takes it.
"""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from assignment.models import Team
from assignment.selectors import team_pages_for, teams_visible_to
from leads.choices import GRADES
from leads.exports import neutralise
from pipeline.db import reading_replica
from pipeline.errors import ServiceError
from pipeline.people import display_name
from pipeline.roles import Role, has_role
from reports.forms.sla import WEEKDAYS, BusinessCalendarForm, PeriodForm, SlaPolicyForm
from reports.models import BusinessCalendar, FinalAction, SlaPolicy
from reports.sla.clock import response_due
from reports.sla.compliance import compliance, compliance_scope, delays
from reports.sla.config import business_calendar_save, load_calendar, policies, sla_policy_save

User = get_user_model()

# --------------------------------------------------------------------------------------
# The business calendar (no service module has it yet: this is its only writer)
# --------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------
# Policies page
# --------------------------------------------------------------------------------------


def _apply_error(form, error: ServiceError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _policy_form(grade: str, policy: SlaPolicy, data=None) -> SlaPolicyForm:
    form = SlaPolicyForm(
        data,
        initial=SlaPolicyForm.initial_for(policy),
        prefix=f"policy-{grade}",
        auto_id=f"id_policy_{grade}_%s",
    )
    # Each table row is one form: its inputs point at a <form> element outside the table.
    for bound in form:
        bound.field.widget.attrs["form"] = f"policy-form-{grade}"
    return form


def _policy_cells(policy: SlaPolicy, form: SlaPolicyForm) -> list[dict[str, Any]]:
    """The row's cells: the input with its unit, and the read-only text."""
    hours, days = _("working h"), _("days")
    n = policy.first_response_hours
    texts = {
        "first_response_hours": ngettext("%(n)d working hour", "%(n)d working hours", n) % {"n": n},
        "follow_up_every_days": ngettext("%(n)d day", "%(n)d days", policy.follow_up_every_days)
        % {"n": policy.follow_up_every_days},
        "recycle_after_days": ngettext(
            "%(n)d day without follow-up", "%(n)d days without follow-up", policy.recycle_after_days
        )
        % {"n": policy.recycle_after_days},
        "escalate_after_hours": ngettext(
            "%(n)d working hour past due",
            "%(n)d working hours past due",
            policy.escalate_after_hours,
        )
        % {"n": policy.escalate_after_hours},
        "final_action": str(FinalAction(policy.final_action).label)
        if policy.final_action in FinalAction.values
        else policy.final_action,
        "final_after_hours": ngettext(
            "%(n)d working hour past due", "%(n)d working hours past due", policy.final_after_hours
        )
        % {"n": policy.final_after_hours},
    }
    units = {
        "first_response_hours": hours,
        "follow_up_every_days": days,
        "recycle_after_days": days,
        "escalate_after_hours": hours,
        "final_action": "",
        "final_after_hours": hours,
    }
    return [
        {"field": form[name], "text": texts[name], "unit": units[name]}
        for name in SlaPolicyForm.FIELDS
    ]


@login_required
def sla_policies(request: HttpRequest) -> HttpResponse:
    """The four grades' SLA with an edit form each, the business calendar and a preview."""
    user = request.user
    by_grade = {grade: policies().get(grade) or SlaPolicy(grade=grade) for grade in GRADES}
    can_edit = has_role(user, Role.MANAGER, Role.SALES_MANAGER)
    can_edit_calendar = has_role(user, Role.MANAGER)
    calendar_row = BusinessCalendar.current()
    forms = {grade: _policy_form(grade, policy) for grade, policy in by_grade.items()}
    calendar_form = BusinessCalendarForm(
        initial=BusinessCalendarForm.initial_for(calendar_row), prefix="calendar"
    )
    if request.method == "POST":
        kind = request.POST.get("form")
        if kind == "policy":
            if not can_edit:
                raise PermissionDenied(_("Only managers change SLA policies."))
            grade = request.POST.get("grade", "")
            if grade not in GRADES:
                return HttpResponseBadRequest(_("Unknown grade."))
            form = _policy_form(grade, by_grade[grade], data=request.POST)
            if form.is_valid():
                try:
                    sla_policy_save(actor=user, grade=grade, **form.cleaned_data)
                except ServiceError as error:
                    if error.code == "forbidden":
                        raise PermissionDenied(error.message) from error
                    _apply_error(form, error)
                else:
                    messages.success(request, _("SLA of grade %(grade)s saved.") % {"grade": grade})
                    return redirect("sla:policies")
            messages.error(
                request,
                _("The SLA of grade %(grade)s was not saved: see the marked field.")
                % {"grade": grade},
            )
            forms[grade] = form
        elif kind == "calendar":
            if not can_edit_calendar:
                raise PermissionDenied(_("Only managers change the business calendar."))
            form = BusinessCalendarForm(request.POST, prefix="calendar")
            if form.is_valid():
                try:
                    business_calendar_save(actor=user, **form.cleaned_data)
                except ServiceError as error:
                    if error.code == "forbidden":
                        raise PermissionDenied(error.message) from error
                    _apply_error(form, error)
                else:
                    messages.success(request, _("Business calendar saved."))
                    return redirect("sla:policies")
            messages.error(request, _("The business calendar was not saved: see the marked field."))
            calendar_form = form
        else:
            return HttpResponseBadRequest(_("Unknown form."))
    now = timezone.now()
    calendar = load_calendar()
    rows = [
        {
            "grade": grade,
            "policy": policy,
            "form": forms[grade],
            "cells": _policy_cells(policy, forms[grade]),
            "saved": policy.pk is not None,
            "due": response_due(grade=grade, assigned_at=now, calendar=calendar),
        }
        for grade, policy in by_grade.items()
    ]
    weekday_names = dict(WEEKDAYS)
    return render(
        request,
        "sla/policies.html",
        {
            "rows": rows,
            "can_edit": can_edit,
            "can_edit_calendar": can_edit_calendar,
            "calendar_row": calendar_row,
            "calendar_form": calendar_form,
            "working_days": [weekday_names[int(day)] for day in sorted(calendar_row.weekdays)],
            "time_zone": settings.TIME_ZONE,
            "now": now,
            "tab": "policies",
        },
    )


# --------------------------------------------------------------------------------------
# Compliance
# --------------------------------------------------------------------------------------

#: Who reads follow-up compliance (as ``reports.api.FollowUpComplianceView``).
COMPLIANCE_ROLES = (Role.MANAGER, Role.SALES_MANAGER, Role.SALES_REP, Role.LEAD_DESK)


def compliance_teams(user):
    """Teams offered in the filter (``teams_visible_to``), by name."""
    return teams_visible_to(user).order_by("name")


def compliance_user_ids(user, team: Team | None) -> list[int] | None:
    try:
        return compliance_scope(user, team=team)
    except ServiceError as exc:
        raise PermissionDenied(exc.message) from exc


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def compliance_table(
    *,
    start: dt.date,
    end: dt.date,
    user_ids: list[int] | None,
    users: list | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """``reports.sla.compliance`` rows for display: a row for every user in scope (zeros
    for those with nothing in the period), their names, and the totals.

    Medians and percentiles cannot be added up, so the totals carry only counts and the
    overall share answered in time.
    """
    rows = compliance(start=start, end=end, user_ids=user_ids, now=now)
    found = {row["user"] for row in rows}
    wanted = list(user_ids or [])
    names: dict[int, Any] = {u.pk: u for u in users or []}
    missing_names = {pk for pk in [*found, *wanted] if pk not in names}
    if missing_names:
        names.update(User.objects.in_bulk(missing_names))
    for pk in wanted:
        if pk not in found and pk in names:
            rows.append(
                {
                    "user": pk,
                    "username": names[pk].get_username(),
                    "assigned": 0,
                    "due": 0,
                    "in_time": 0,
                    "compliance": None,
                    "median_response_hours": None,
                    "p95_response_hours": None,
                    "overdue_now": 0,
                    "wasted": 0,
                    "backdated": 0,
                }
            )
    for row in rows:
        person = names.get(row["user"])
        row["name"] = display_name(person) or row["username"]
        row["compliance_pct"] = None if row["compliance"] is None else row["compliance"] * 100
    rows.sort(key=lambda row: row["username"].lower())
    totals = {
        key: sum(row[key] for row in rows)
        for key in ("assigned", "due", "in_time", "overdue_now", "wasted", "backdated")
    }
    totals["compliance"] = _share(totals["in_time"], totals["due"])
    totals["compliance_pct"] = None if totals["compliance"] is None else totals["compliance"] * 100
    return {"rows": rows, "totals": totals, "backdate_hours": settings.FOLLOW_UP_BACKDATE_HOURS}


def _hours(value) -> str:
    return "" if value is None else f"{value:.2f}"


def compliance_csv(table: dict[str, Any], *, start: dt.date, end: dt.date) -> HttpResponse:
    """The table as CSV for spreadsheets: UTF-8 with a BOM, formula-like cells neutralised."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="follow-up-compliance-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
    )
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(
        [
            _("Sales rep"),
            _("Username"),
            _("Assigned"),
            _("SLA elapsed"),
            _("Answered in time"),
            _("Compliance (%)"),
            _("Median response (working hours)"),
            _("p95 response (working hours)"),
            _("Overdue now"),
            _("Wasted (recycled for neglect)"),
            _("Back-dated follow-ups"),
        ]
    )

    def pct(value) -> str:
        return "" if value is None else f"{value * 100:.1f}"

    for row in table["rows"]:
        writer.writerow(
            [
                neutralise(str(row["name"])),
                neutralise(str(row["username"])),
                row["assigned"],
                row["due"],
                row["in_time"],
                pct(row["compliance"]),
                _hours(row["median_response_hours"]),
                _hours(row["p95_response_hours"]),
                row["overdue_now"],
                row["wasted"],
                row["backdated"],
            ]
        )
    totals = table["totals"]
    writer.writerow(
        [
            _("Total"),
            "",
            totals["assigned"],
            totals["due"],
            totals["in_time"],
            pct(totals["compliance"]),
            "",
            "",
            totals["overdue_now"],
            totals["wasted"],
            totals["backdated"],
        ]
    )
    return response


@login_required
@reading_replica()
def sla_compliance(request: HttpRequest) -> HttpResponse:
    """Per rep over a period: first-response compliance, median/p95 response, overdue now,
    wasted leads (docs/architecture.md §4), with routing vs rep delay; ``?download=csv`` for
    the table."""
    user = request.user
    if not has_role(user, *COMPLIANCE_ROLES):
        raise PermissionDenied(_("You are not allowed to read this report."))
    teams = compliance_teams(user)
    raw_team = request.GET.get("team", "")
    if (
        raw_team.isdigit()
        and not teams.filter(pk=raw_team).exists()
        and Team.objects.filter(pk=raw_team).exists()
    ):
        raise PermissionDenied(_("You may read only the teams you manage."))
    form = PeriodForm(request.GET or None, teams=teams if teams.exists() else None)
    start, end = form.period()
    team = form.cleaned_data.get("team") if form.is_bound and form.is_valid() else None
    user_ids = compliance_user_ids(user, team)
    table = compliance_table(start=start, end=end, user_ids=user_ids)
    if request.GET.get("download") == "csv":
        return compliance_csv(table, start=start, end=end)
    query = request.GET.copy()
    query["download"] = "csv"
    team_pages = team_pages_for(user)
    return render(
        request,
        "sla/compliance.html",
        {
            "form": form,
            "start": start,
            "end": end,
            "team": team,
            "compliance": table,
            "delays": delays(start=start, end=end),
            "csv_query": query.urlencode(),
            "own_only": user_ids is not None and user_ids == [user.pk],
            "team_page": team is not None
            and team_pages is not None
            and team_pages.filter(pk=team.pk).exists(),
            "tab": "compliance",
        },
    )


#: Mounted at /sla/ in ``pipeline.urls`` (namespace "sla").
urlpatterns = [
    path("", sla_policies, name="policies"),
    path("compliance/", sla_compliance, name="compliance"),
]
