"""The sales workspace: "My leads" (a rep's next calls first) and the sales manager's team page.

Views are thin. Reads go through ``leads_visible_to`` and the SLA helpers of
``reports.sla`` (``overdue_q``, the policies, the business calendar); the only writes are
the lifecycle actions, posted to the existing ``leads:action`` endpoint, and reassignment,
through the ``assign`` action (``leads.actions.run_action``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from assignment.models import Team, TeamMembership
from assignment.selectors import team_pages_for
from leads.actions import ActionForm, action_form, allowed, run_action
from leads.bulk import bulk_bar
from leads.lifecycle import OWNABLE_STAGES
from leads.models import Lead
from leads.selectors import (
    Contact,
    contact_for,
    is_new_for_owner,
    leads_visible_to,
    new_for_owner_q,
)
from pipeline.errors import ServiceError
from pipeline.pages import page_size, safe_next_url
from pipeline.pagination import CappedPaginator
from pipeline.people import display_name
from pipeline.roles import Role, has_role
from reports.calendar import Calendar, working_duration_text, working_hours_between
from reports.forms.sla import PeriodForm
from reports.models import SlaPolicy
from reports.sla.compliance import delays, overdue_q
from reports.sla.config import load_calendar, policies
from reports.views.sla import compliance_table

User = get_user_model()

# --------------------------------------------------------------------------------------
# Reading a lead's SLA state (presentation of the clocks that reports.sla keeps)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaClock:
    """What the SLA column shows for one lead."""

    text: str
    state: str  # "late", "soon", "ok" or "plain"
    title: str = ""


def _short_date(moment: dt.datetime, now: dt.datetime) -> str:
    """Month and day within the current year, the full date otherwise."""
    local = timezone.localtime(moment)
    same_year = local.year == timezone.localtime(now).year
    return formats.date_format(local, "MONTH_DAY_FORMAT" if same_year else "SHORT_DATE_FORMAT")


def sla_clock(
    lead: Lead, *, now: dt.datetime, calendar: Calendar, follow_up_due: dt.datetime | None
) -> SlaClock:
    """First response pending: "due in 2h 10m" / "late by 3 working days 4 h" in working
    time of the business calendar (``reports.calendar.working_duration_text``). Otherwise
    when the next follow-up is due."""
    due = lead.response_due_at
    if lead.responded_at is None and due is not None:
        when = formats.date_format(timezone.localtime(due), "SHORT_DATETIME_FORMAT")
        title = _("First response due %(when)s") % {"when": when}
        if due <= now:
            late = working_duration_text(working_hours_between(calendar, due, now), calendar)
            return SlaClock(_("late by %(time)s") % {"time": late}, "late", title)
        left = working_hours_between(calendar, now, due)
        state = "soon" if left <= 1 else "ok"
        return SlaClock(
            _("due in %(time)s") % {"time": working_duration_text(left, calendar)}, state, title
        )
    if follow_up_due is None:
        return SlaClock("—", "plain")
    when = timezone.localtime(follow_up_due)
    if follow_up_due <= now:
        return SlaClock(
            _("follow-up overdue since %(date)s") % {"date": _short_date(follow_up_due, now)},
            "late",
            formats.date_format(when, "SHORT_DATETIME_FORMAT"),
        )
    if when.date() == timezone.localdate(now):
        return SlaClock(_("follow up today %(time)s") % {"time": when.strftime("%H:%M")}, "soon")
    return SlaClock(
        _("follow up by %(date)s") % {"date": _short_date(follow_up_due, now)},
        "ok",
        formats.date_format(when, "SHORT_DATETIME_FORMAT"),
    )


def follow_up_due_at(lead: Lead, by_grade: dict[str, SlaPolicy]) -> dt.datetime | None:
    """The planned next follow-up, else the grade's "at least every M days" deadline."""
    if lead.next_follow_up_at is not None:
        return lead.next_follow_up_at
    policy = by_grade.get(lead.grade or "D")
    since = lead.last_follow_up_at or lead.assigned_at
    if policy is None or since is None:
        return None
    return since + dt.timedelta(days=policy.follow_up_every_days)


def with_overdue_flag(queryset: QuerySet[Lead], *, now, by_grade) -> QuerySet[Lead]:
    """Annotate ``is_overdue`` (overdue for follow-up: ``reports.sla.compliance.overdue_q``)."""
    return queryset.annotate(
        is_overdue=Case(
            When(overdue_q(now=now, by_grade=by_grade), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def _day_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + dt.timedelta(days=1)


# --------------------------------------------------------------------------------------
# My leads
# --------------------------------------------------------------------------------------

SECTIONS = (
    (
        "overdue",
        gettext_lazy("Overdue"),
        gettext_lazy("The next follow-up date has passed, or nothing was logged for too long."),
    ),
    (
        "today",
        gettext_lazy("Due today"),
        gettext_lazy("Follow-ups planned for today and first responses due by tonight."),
    ),
    (
        "new",
        gettext_lazy("New for you"),
        gettext_lazy("Assigned to you and not accepted yet: call, then accept or reject."),
    ),
    ("rest", gettext_lazy("Other open leads"), gettext_lazy("Everything else you own.")),
)

#: Buttons of a row: one-click accept, and links that open the lead's own action panel.
QUICK_LINKS = (
    ("reject", gettext_lazy("Reject")),
    ("to_opportunity", gettext_lazy("Opportunity")),
    ("win", gettext_lazy("Won")),
    ("lose", gettext_lazy("Lost")),
)


@dataclass
class LeadRow:
    lead: Lead
    section: str
    clock: SlaClock
    follow_up_due: dt.datetime | None
    actions: frozenset[str]
    follow_up_form: ActionForm | None = None
    links: list[tuple[str, str]] = field(default_factory=list)
    #: The contact details as the viewer may see them (tap to call, copy the WeChat id).
    contact: Contact | None = None


#: Most urgent first; leads with no due date last; then by id.
URGENCY_ORDER = (F("urgency").asc(nulls_last=True), F("pk").asc())


def with_urgency(queryset: QuerySet[Lead], *, by_grade: dict[str, SlaPolicy]) -> QuerySet[Lead]:
    """Annotate ``urgency``: the earlier of the first response due (while none was logged)
    and the follow-up due (``follow_up_due_at``: the planned one, else the grade's
    cadence since the last follow-up or the assignment); ``None`` when neither is due."""
    since = Coalesce(F("last_follow_up_at"), F("assigned_at"))
    cadence = [
        When(
            grade__in=[grade, ""] if grade == "D" else [grade],
            then=ExpressionWrapper(
                since + dt.timedelta(days=policy.follow_up_every_days),
                output_field=DateTimeField(),
            ),
        )
        for grade, policy in by_grade.items()
    ]
    follow_up_due = Coalesce(
        F("next_follow_up_at"),
        Case(*cadence, default=Value(None), output_field=DateTimeField())
        if cadence
        else Value(None, output_field=DateTimeField()),
        output_field=DateTimeField(),
    )
    first_due = Case(
        When(responded_at__isnull=True, then=F("response_due_at")),
        default=Value(None),
        output_field=DateTimeField(),
    )
    return queryset.annotate(first_due=first_due, follow_up_due=follow_up_due).annotate(
        urgency=Case(
            When(first_due__isnull=True, then=F("follow_up_due")),
            When(follow_up_due__isnull=True, then=F("first_due")),
            When(first_due__lt=F("follow_up_due"), then=F("first_due")),
            default=F("follow_up_due"),
            output_field=DateTimeField(),
        )
    )


def _section_and_urgency(
    queryset: QuerySet[Lead], *, now: dt.datetime, by_grade: dict[str, SlaPolicy]
) -> QuerySet[Lead]:
    """Annotate ``section`` (overdue, today, new, rest — the first that applies) and
    ``urgency`` (the earlier of the first response due, while none was logged, and the
    follow-up due: ``follow_up_due_at``), and order by section, urgency, then id — in the
    database, so a page of the list reads only its rows."""
    today_start, today_end = _day_bounds(now)
    section = Case(
        When(is_overdue=True, then=Value("overdue")),
        When(
            Q(next_follow_up_at__gte=today_start, next_follow_up_at__lt=today_end)
            | Q(responded_at__isnull=True, response_due_at__lt=today_end),
            then=Value("today"),
        ),
        When(new_for_owner_q(F("owner_id")), then=Value("new")),
        default=Value("rest"),
        output_field=CharField(),
    )
    rank = Case(
        *[When(section=key, then=Value(index)) for index, (key, *_rest) in enumerate(SECTIONS)],
        output_field=IntegerField(),
    )
    return (
        with_urgency(queryset, by_grade=by_grade)
        .annotate(section=section)
        .annotate(section_rank=rank)
        .order_by("section_rank", *URGENCY_ORDER)
    )


def _allowed(lead: Lead, user, names) -> frozenset[str]:
    """Owner actions the rules would accept now (no query: the owner is the user)."""
    return frozenset(allowed(lead=lead, actor=user, names=names))


def my_open_leads(user, *, now: dt.datetime) -> QuerySet[Lead]:
    """The user's open owned leads, by section (overdue, due today, new for them, the
    rest), most urgent first in each."""
    by_grade = policies()
    leads = with_overdue_flag(
        leads_visible_to(user).filter(owner=user, stage__in=OWNABLE_STAGES),
        now=now,
        by_grade=by_grade,
    )
    return _section_and_urgency(leads, now=now, by_grade=by_grade)


def lead_rows_for(user, leads, *, now: dt.datetime) -> list[LeadRow]:
    """``leads`` (from ``my_open_leads``) as rows with their SLA clocks and actions. A
    constant number of queries: the policies and the calendar."""
    by_grade = policies()
    calendar = load_calendar()
    names = ("accept", "follow_up", *(name for name, _label in QUICK_LINKS))
    rows = []
    for lead in leads:
        due = follow_up_due_at(lead, by_grade)
        actions = _allowed(lead, user, names)
        row = LeadRow(
            lead=lead,
            section=lead.section,
            clock=sla_clock(lead, now=now, calendar=calendar, follow_up_due=due),
            follow_up_due=due,
            actions=actions,
            links=[(name, str(label)) for name, label in QUICK_LINKS if name in actions],
            contact=contact_for(user, lead),
        )
        if "follow_up" in actions:
            row.follow_up_form = action_form("follow_up", lead=lead, auto_id=f"id_fu{lead.pk}_%s")
        rows.append(row)
    return rows


def my_lead_rows(user, *, now: dt.datetime) -> list[LeadRow]:
    """Every open owned lead of the user as rows, by section, most urgent first (the
    Today page's sections)."""
    return lead_rows_for(user, my_open_leads(user, now=now), now=now)


@login_required
def my_leads(request: HttpRequest) -> HttpResponse:
    """A rep's open leads: overdue, due today, new for them, then the rest — a page at a
    time (``CappedPaginator``), the sections' counts from one query."""
    user = request.user
    now = timezone.now()
    leads = my_open_leads(user, now=now)
    counts = leads.order_by().aggregate(
        total=Count("pk"),
        new_total=Count("pk", filter=new_for_owner_q(user.pk)),
        **{key: Count("pk", filter=Q(section=key)) for key, *_rest in SECTIONS},
    )
    paginator = CappedPaginator(leads, page_size(request))
    page = paginator.get_page(request.GET.get("page"))
    rows = lead_rows_for(user, page.object_list, now=now)
    sections = [
        {
            "key": key,
            "title": title,
            "hint": hint,
            "rows": [row for row in rows if row.section == key],
        }
        for key, title, hint in SECTIONS
    ]
    # "New for you" counts every lead new for the user (``leads.selectors.new_for_owner_q``,
    # the "New for me" page's set), also those listed higher up because they are urgent.
    for section in sections:
        key = section["key"]
        section["count"] = counts["new_total"] if key == "new" else counts[key]
        if key == "new":
            section["elsewhere"] = counts["new_total"] - counts["new"]
    return render(
        request,
        "sales/my_leads.html",
        {
            "sections": sections,
            "total": counts["total"],
            "new_total": counts["new_total"],
            "now": now,
            "is_sales": has_role(user, Role.SALES_REP, Role.SALES_MANAGER),
            "bulk": bulk_bar(request, names=("accept", "recycle")),
            "page_obj": page,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=2),
        },
    )


# --------------------------------------------------------------------------------------
# Team page (sales managers; managers and the lead desk see every team)
# --------------------------------------------------------------------------------------


def _teams_or_403(user) -> QuerySet[Team]:
    teams = team_pages_for(user)
    if teams is None:
        raise PermissionDenied(_("The team page is for sales managers."))
    return teams


def can_reassign(user) -> bool:
    """The desk and sales managers move team leads; management only reads."""
    return has_role(user, Role.LEAD_DESK, Role.SALES_MANAGER)


def _selected_team(teams: QuerySet[Team], raw: str | None) -> Team | None:
    if raw in (None, ""):
        return teams.first()
    if not str(raw).isdigit():
        raise Http404
    team = teams.filter(pk=raw).first()
    if team is None:
        if Team.objects.filter(pk=raw).exists():
            raise PermissionDenied(_("You may open only the teams you manage."))
        raise Http404
    return team


def _member_users(team: Team) -> list:
    memberships = (
        TeamMembership.objects.filter(team=team).select_related("user").order_by("user__username")
    )
    return [m.user for m in memberships]


@dataclass
class RepSummary:
    user: object
    open: int = 0
    new: int = 0
    overdue: int = 0
    compliance: dict | None = None


@login_required
def team_page(request: HttpRequest) -> HttpResponse:
    """The team's open leads by rep, the overdue list, reassignment and per-rep compliance."""
    user = request.user
    teams = _teams_or_403(user)
    team = _selected_team(teams, request.GET.get("team"))
    period_form = PeriodForm(request.GET or None, teams=teams, team_required=True)
    start, end = period_form.period()
    context = {
        "teams": teams,
        "team": team,
        "period_form": period_form,
        "start": start,
        "end": end,
        "can_reassign": can_reassign(user),
    }
    if team is None:
        return render(request, "sales/team.html", context)
    now = timezone.now()
    members = _member_users(team)
    member_ids = [member.pk for member in members]
    by_grade = policies()
    calendar = load_calendar()
    leads = with_overdue_flag(
        leads_visible_to(user).filter(owner_id__in=member_ids, stage__in=OWNABLE_STAGES),
        now=now,
        by_grade=by_grade,
    )
    rows = []
    for lead in with_urgency(leads, by_grade=by_grade).order_by(*URGENCY_ORDER):
        due = follow_up_due_at(lead, by_grade)
        rows.append(
            LeadRow(
                lead=lead,
                section="overdue" if lead.is_overdue else "open",
                clock=sla_clock(lead, now=now, calendar=calendar, follow_up_due=due),
                follow_up_due=due,
                actions=frozenset(),
            )
        )
    position = {pk: index for index, pk in enumerate(member_ids)}
    by_rep = sorted(rows, key=lambda row: position.get(row.lead.owner_id, len(position)))
    table = compliance_table(start=start, end=end, user_ids=member_ids, users=members, now=now)
    summaries = {member.pk: RepSummary(user=member) for member in members}
    for row in rows:
        summary = summaries.get(row.lead.owner_id)
        if summary is None:
            continue
        summary.open += 1
        summary.new += is_new_for_owner(row.lead)
        summary.overdue += row.lead.is_overdue
    for item in table["rows"]:
        if item["user"] in summaries:
            summaries[item["user"]].compliance = item
    context.update(
        {
            "members": members,
            "summaries": list(summaries.values()),
            "overdue_rows": [row for row in rows if row.lead.is_overdue],
            "waiting_rows": [row for row in rows if is_new_for_owner(row.lead)],
            "rows": by_rep,
            "compliance": table,
            "delays": delays(start=start, end=end),
            "next_url": request.get_full_path(),
            "bulk": bulk_bar(request, names=("assign", "recycle")),
        }
    )
    return render(request, "sales/team.html", context)


@login_required
@require_POST
def team_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    """Give one of the team's leads to another member (the ``assign`` action)."""
    user = request.user
    teams = _teams_or_403(user)
    lead = get_object_or_404(leads_visible_to(user), pk=pk)
    if not can_reassign(user):
        raise PermissionDenied(_("Only the lead desk and sales managers reassign leads."))
    team = _selected_team(teams, request.POST.get("team") or "x")
    back = safe_next_url(request, f"{reverse('sales:team')}?team={team.pk}")
    members = {str(member) for member in team.memberships.values_list("user_id", flat=True)}
    if request.POST.get("owner") not in members:
        messages.error(request, _("Choose the team member who takes the lead over."))
        return redirect(back)
    try:
        lead = run_action(lead=lead, actor=user, name="assign", data=request.POST)
    except ServiceError as error:
        for line in error.lines:
            messages.error(request, line)
        return redirect(back)
    messages.success(
        request,
        _("%(name)s reassigned to %(user)s.")
        % {"name": str(lead), "user": display_name(lead.owner)},
    )
    return redirect(back)


#: Mounted at /sales/ in ``pipeline.urls`` (namespace "sales").
urlpatterns = [
    path("", my_leads, name="my_leads"),
    path("team/", team_page, name="team"),
    path("team/leads/<int:pk>/reassign/", team_reassign, name="reassign"),
]
