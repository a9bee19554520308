"""Assignment pages: teams and members, routing rules, simulation, bulk routing, the pool
(公海) and the rep's "new for you" list.

Who may do what is the services' business (``assignment.services``, ``leads.lifecycle``);
the pages only hide what a role cannot use and show a refusal (``ServiceError``) as a
message or on the field it names. Lists cost the same number of queries whatever their
length.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, QuerySet
from django.forms import CheckboxSelectMultiple
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assignment import bulk, services
from assignment.choices import DecisionKind
from assignment.forms import (
    AssignmentRuleForm,
    MembershipForm,
    PoolPolicyForm,
    SimulationForm,
    condition_formset,
    formset_conditions,
    rule_conditions_display,
    user_label,
)
from assignment.models import Assignment, AssignmentRule, PoolPolicy, Team, TeamMembership
from campaigns.choices import ChannelKind
from leads.actions import run_action, sales_users
from leads.bulk import bulk_bar
from leads.choices import OPEN_STAGES, RecycleReason, RejectReason, Stage
from leads.filters import CAMPAIGN_SEARCH_PARAM, LeadFilterSet, campaign_picker
from leads.lifecycle import claims_today
from leads.models import Lead
from leads.selectors import (
    NEW_FOR_ME_ORDER,
    POOL_ORDER,
    ROUTE_ORDER,
    contact_for,
    leads_visible_to,
)
from leads.selectors import new_for_me as leads_new_for
from pipeline.errors import ServiceError
from pipeline.pagination import keyset_list
from pipeline.roles import SALES_ROLES, Role, has_role

User = get_user_model()

PAGE_SIZE = 25
#: A simulation replays at most this many leads (it runs inside the request).
SIMULATION_LIMIT = 20_000
#: One bulk routing request routes at most this many leads (one transaction each).
ROUTE_LIMIT = 1_000
#: The lead filters the simulation and bulk routing pages offer (LeadFilterSet fields).
FILTER_FIELDS = (
    "stage",
    "grade",
    "channel",
    "channel_kind",
    "campaign",
    "created_after",
    "created_before",
    "in_pool",
    "q",
)


# --------------------------------------------------------------------------------------
# Who may see and change what
# --------------------------------------------------------------------------------------


def _reads_assignment(user) -> bool:
    return has_role(user, Role.LEAD_DESK, Role.SALES_MANAGER, Role.MANAGER)


def _edits_rules(user) -> bool:
    return services.can_manage_rules(user)


def _routes_leads(user) -> bool:
    """The routing page sends picked MQLs through the rules; each lead is still checked
    with the ``assign`` rule (``bulk.leads_route_bulk``)."""
    return has_role(user, Role.LEAD_DESK, Role.SALES_MANAGER)


def _edits_team(user, team: Team) -> bool:
    return services.can_manage_team(user, team)


def _edits_pool_policy(user) -> bool:
    return services.can_edit_pool_policy(user)


def _require(request: HttpRequest, allowed: bool, message: str):
    if not allowed:
        raise PermissionDenied(message)
    return request.user


def _require_reader(request: HttpRequest):
    return _require(
        request,
        _reads_assignment(request.user),
        _("Only the lead desk, sales managers and management see assignment."),
    )


def _require_rule_editor(request: HttpRequest):
    return _require(
        request,
        _edits_rules(request.user),
        _("You are not allowed to change assignment rules."),
    )


def _require_sales(request: HttpRequest):
    return _require(
        request, has_role(request.user, *SALES_ROLES), _("This page is for salespeople.")
    )


def _apply_service_error(form, error: ServiceError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _visible_teams(user) -> QuerySet[Team]:
    teams = Team.objects.select_related("manager").order_by("name")
    if has_role(user, Role.LEAD_DESK, Role.MANAGER):
        return teams
    return teams.filter(Q(manager=user) | Q(memberships__user=user)).distinct()


# --------------------------------------------------------------------------------------
# Index: teams, rules, pool policy
# --------------------------------------------------------------------------------------


def _member_loads(user_ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Open leads and leads routed today per user (two queries, as the router counts)."""
    if not user_ids:
        return {}, {}
    open_leads = dict(
        Lead.objects.filter(owner_id__in=user_ids, stage__in=OPEN_STAGES)
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    today = dict(
        Assignment.objects.filter(owner_id__in=user_ids, at__gte=start)
        .exclude(strategy=DecisionKind.CLAIM)
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    return open_leads, today


def _teams_context(user) -> list[dict[str, Any]]:
    members = Prefetch(
        "memberships",
        queryset=TeamMembership.objects.select_related("user").order_by("user__username"),
    )
    teams = list(_visible_teams(user).prefetch_related(members))
    user_ids = sorted({m.user_id for team in teams for m in team.memberships.all()})
    open_leads, today = _member_loads(user_ids)
    local_today = timezone.localdate()
    rows = []
    for team in teams:
        rows.append(
            {
                "team": team,
                "can_edit": _edits_team(user, team),
                "members": [
                    {
                        "membership": m,
                        "name": user_label(m.user),
                        "open": open_leads.get(m.user_id, 0),
                        "today": today.get(m.user_id, 0),
                        "away": m.away_until is not None and m.away_until >= local_today,
                        "eligible": m.available
                        and m.user.is_active
                        and not (m.away_until is not None and m.away_until >= local_today)
                        and today.get(m.user_id, 0) < m.daily_capacity
                        and open_leads.get(m.user_id, 0) < m.max_open_leads,
                    }
                    for m in team.memberships.all()
                ],
            }
        )
    return rows


def _rules_context() -> list[dict[str, Any]]:
    rules = AssignmentRule.objects.select_related("team", "user").annotate(
        decisions=Count("assignments")
    )
    return [
        {
            "rule": rule,
            "conditions": rule_conditions_display(rule.conditions),
            "target": rule.user if rule.strategy == "user" else rule.team,
        }
        for rule in rules.order_by("priority", "id")
    ]


def _index(request: HttpRequest, *, policy_form: PoolPolicyForm | None = None) -> HttpResponse:
    user = request.user
    policy = PoolPolicy.current()
    if policy_form is None and _edits_pool_policy(user):
        policy_form = PoolPolicyForm(
            initial={
                "daily_claim_limit": policy.daily_claim_limit,
                "reclaim_cooldown_days": policy.reclaim_cooldown_days,
            }
        )
    return render(
        request,
        "assignment/assignment_index.html",
        {
            "teams": _teams_context(user),
            "rules": _rules_context(),
            "policy": policy,
            "policy_form": policy_form,
            "can_edit_rules": _edits_rules(user),
            "can_route": _routes_leads(user),
        },
    )


@login_required
def assignment_index(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    return _index(request)


# --------------------------------------------------------------------------------------
# Memberships
# --------------------------------------------------------------------------------------


@login_required
def member_edit(request: HttpRequest, team_pk: int, pk: int | None = None) -> HttpResponse:
    """Add a salesperson to a team, or change their weight, capacity and availability."""
    user = _require_reader(request)
    team = get_object_or_404(_visible_teams(user), pk=team_pk)
    _require(request, _edits_team(user, team), _("You are not allowed to change this team."))
    membership = get_object_or_404(team.memberships.select_related("user"), pk=pk) if pk else None
    initial = MembershipForm.initial_for(membership) if membership else None
    held = services.users_held_elsewhere(actor=user, team=team)
    if membership is not None:
        held.discard(membership.user_id)
    form = MembershipForm(
        request.POST or None, initial=initial, users=sales_users().exclude(pk__in=held)
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.membership_save(
                actor=user, team=team, membership=membership, **form.service_kwargs()
            )
        except ServiceError as error:
            _apply_service_error(form, error)
        else:
            messages.success(
                request,
                _("%(user)s in team %(team)s saved.")
                % {"user": user_label(saved.user), "team": team.name},
            )
            return redirect(reverse("assignment:index") + f"#team-{team.pk}")
    return render(
        request,
        "assignment/member_form.html",
        {"form": form, "team": team, "membership": membership},
    )


# --------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------


@login_required
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create or change a rule; conditions are rows of field · operator · value."""
    user = _require_rule_editor(request)
    rule = get_object_or_404(AssignmentRule, pk=pk) if pk else None
    add_rows = request.method == "POST" and "add_rows" in request.POST
    if request.method == "POST":
        form = AssignmentRuleForm(request.POST)
        conditions = condition_formset(request.POST, add_rows=add_rows)
    else:
        form = AssignmentRuleForm(initial=AssignmentRuleForm.initial_for(rule) if rule else None)
        conditions = condition_formset(conditions=rule.conditions if rule else [])
    if request.method == "POST" and not add_rows and form.is_valid() and conditions.is_valid():
        try:
            saved = services.rule_save(
                actor=user, rule=rule, **form.service_kwargs(formset_conditions(conditions))
            )
        except ServiceError as error:
            if error.field == "conditions":
                conditions_error = error.message
            else:
                conditions_error = ""
                _apply_service_error(form, error)
        else:
            messages.success(request, _("Assignment rule “%(name)s” saved.") % {"name": saved.name})
            return redirect(reverse("assignment:index") + "#rules")
    else:
        conditions_error = ""
    return render(
        request,
        "assignment/rule_form.html",
        {
            "form": form,
            "conditions": conditions,
            "conditions_error": conditions_error,
            "rule": rule,
        },
    )


@login_required
@require_POST
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Activate or deactivate a rule (through ``rule_save``, so it is validated again)."""
    user = _require_rule_editor(request)
    rule = get_object_or_404(AssignmentRule.objects.select_related("team", "user"), pk=pk)
    try:
        rule = services.rule_save(
            actor=user,
            rule=rule,
            name=rule.name,
            conditions=rule.conditions,
            strategy=rule.strategy,
            team=rule.team,
            user=rule.user,
            priority=rule.priority,
            active=not rule.active,
        )
    except ServiceError as error:
        messages.error(
            request,
            _("“%(name)s” cannot be changed: %(error)s")
            % {"name": rule.name, "error": error.message},
        )
    else:
        if rule.active:
            messages.success(request, _("“%(name)s” is active.") % {"name": rule.name})
        else:
            messages.success(
                request, _("“%(name)s” is off; the router skips it.") % {"name": rule.name}
            )
    return redirect(reverse("assignment:index") + "#rules")


@login_required
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST deletes (past decisions keep the rule's name)."""
    _require_rule_editor(request)
    rule = get_object_or_404(AssignmentRule.objects.select_related("team", "user"), pk=pk)
    if request.method == "POST":
        name = rule.name
        services.rule_delete(actor=request.user, rule=rule)
        messages.success(request, _("Assignment rule “%(name)s” deleted.") % {"name": name})
        return redirect(reverse("assignment:index") + "#rules")
    return render(
        request,
        "assignment/rule_confirm_delete.html",
        {"rule": rule, "conditions": rule_conditions_display(rule.conditions)},
    )


# --------------------------------------------------------------------------------------
# Pool policy
# --------------------------------------------------------------------------------------


@login_required
def pool_policy_edit(request: HttpRequest) -> HttpResponse:
    _require(
        request,
        _edits_pool_policy(request.user),
        _("Only the lead desk and management change the pool policy."),
    )
    if request.method != "POST":
        return redirect(reverse("assignment:index") + "#pool-policy")
    form = PoolPolicyForm(request.POST)
    if not form.is_valid():
        return _index(request, policy_form=form)
    services.pool_policy_save(actor=request.user, **form.cleaned_data)
    messages.success(request, _("Pool policy saved."))
    return redirect(reverse("assignment:index") + "#pool-policy")


# --------------------------------------------------------------------------------------
# Lead filters shared by simulation and bulk routing
# --------------------------------------------------------------------------------------


def _lead_filter(data, queryset: QuerySet[Lead], request: HttpRequest) -> LeadFilterSet:
    """``LeadFilterSet`` over ``queryset``, with the filter-bar widgets of the lead list."""
    query = QueryDict(mutable=True)
    # The campaign picker's search box is no filter, but what the picker offers.
    for key in (*FILTER_FIELDS, CAMPAIGN_SEARCH_PARAM):
        for value in data.getlist(key) if hasattr(data, "getlist") else []:
            query.appendlist(key, value)
    filterset = LeadFilterSet(query, queryset=queryset, request=request)
    form = filterset.form
    for name in ("stage", "grade"):
        form.fields[name].widget = CheckboxSelectMultiple(choices=form.fields[name].choices)
    for name in ("created_after", "created_before"):
        form.fields[name].widget.input_type = "date"
    for name in ("campaign", "channel", "channel_kind", "in_pool"):
        form.fields[name].empty_label = _("Any")
    # Setting choices re-binds the choice iterator, so the new empty label is used.
    form.fields["channel_kind"].choices = ChannelKind.choices
    form.fields["in_pool"].choices = [("true", _("In pool")), ("false", _("Not in pool"))]
    campaign_picker(form, request.user)
    return filterset


def _filter_query(data) -> str:
    """The filter part of ``data`` as a query string (to carry it from GET to POST)."""
    query = QueryDict(mutable=True)
    for key in FILTER_FIELDS:
        for value in data.getlist(key):
            if value != "":
                query.appendlist(key, value)
    return query.urlencode()


# --------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------


def _draft_spec(form: AssignmentRuleForm, conditions) -> services.RuleSpec:
    kwargs = form.service_kwargs(formset_conditions(conditions))
    cleaned = services.clean_rule(
        name=kwargs["name"],
        conditions=kwargs["conditions"],
        strategy=kwargs["strategy"],
        team=kwargs["team"],
        user=kwargs["user"],
    )
    return services.RuleSpec(
        name=cleaned["name"],
        conditions=tuple((c["field"], c["operator"], c["value"]) for c in cleaned["conditions"]),
        strategy=cleaned["strategy"],
        team_id=cleaned["team"].pk if cleaned["team"] else None,
        user_id=cleaned["user"].pk if cleaned["user"] else None,
    )


def _distribution_rows(result: dict[str, Any], leads: QuerySet[Lead]) -> list[dict[str, Any]]:
    """Per rep: simulated count, what they own of these leads now, teams; 3 queries."""
    simulated = {row["user"]: row["count"] for row in result["distribution"]}
    actual = dict(
        leads.order_by()
        .filter(owner__isnull=False)
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    user_ids = set(simulated) | set(actual)
    users = User.objects.in_bulk(user_ids)
    teams: dict[int, list[str]] = defaultdict(list)
    for membership in TeamMembership.objects.filter(user_id__in=user_ids).select_related("team"):
        teams[membership.user_id].append(membership.team.name)
    top = max([*simulated.values(), *actual.values(), 1])
    rows = [
        {
            "user": users.get(uid),
            "name": user_label(users[uid]) if uid in users else f"#{uid}",
            "teams": sorted(teams.get(uid, [])),
            "count": simulated.get(uid, 0),
            "actual": actual.get(uid, 0),
            "bar": round(simulated.get(uid, 0) * 100 / top),
            "actual_bar": round(actual.get(uid, 0) * 100 / top),
            "share": round(simulated.get(uid, 0) * 100 / result["total"]) if result["total"] else 0,
        }
        for uid in user_ids
    ]
    rows.sort(key=lambda row: (-row["count"], -row["actual"], row["name"]))
    return rows


@login_required
def simulate_page(request: HttpRequest) -> HttpResponse:
    """Replay the current rules, or a draft, over a filtered set of leads. Writes nothing."""
    user = _require_reader(request)
    data = request.POST if request.method == "POST" else None
    add_rows = data is not None and "add_rows" in data
    choice = SimulationForm(data, initial={"rules": "current"})
    draft = AssignmentRuleForm(data, prefix="draft", initial={"name": _("Draft rule")})
    if data is not None:
        draft_conditions = condition_formset(data, prefix="draftcond", add_rows=add_rows)
    else:
        draft_conditions = condition_formset(prefix="draftcond")
    filterset = _lead_filter(data or request.GET, leads_visible_to(user), request)
    result = rows = None
    conditions_error = ""
    if data is not None and not add_rows and choice.is_valid() and filterset.is_valid():
        use_draft = choice.cleaned_data["rules"] == "draft"
        specs = None
        if not use_draft:
            specs = services.active_rule_specs()
        elif draft.is_valid() and draft_conditions.is_valid():
            try:
                specs = [_draft_spec(draft, draft_conditions)]
            except ServiceError as error:
                if error.field == "conditions":
                    conditions_error = error.message
                else:
                    _apply_service_error(draft, error)
        if specs is not None:
            leads = filterset.qs
            matching = leads.count()
            if matching > SIMULATION_LIMIT:
                messages.error(
                    request,
                    _(
                        "%(n)d leads match the filter; a simulation replays at most "
                        "%(limit)d. Narrow the filter."
                    )
                    % {"n": matching, "limit": SIMULATION_LIMIT},
                )
            else:
                result = services.simulate(leads=leads, rules=specs)
                rows = _distribution_rows(result, leads)
    return render(
        request,
        "assignment/simulate.html",
        {
            "choice": choice,
            "draft": draft,
            "draft_conditions": draft_conditions,
            "conditions_error": conditions_error,
            "filter": filterset,
            "result": result,
            "rows": rows,
            "active_rules": _rules_context() if data is None or result is not None else None,
        },
    )


# --------------------------------------------------------------------------------------
# Bulk routing of unowned MQLs
# --------------------------------------------------------------------------------------


def _routable(user) -> QuerySet[Lead]:
    return leads_visible_to(user).filter(stage=Stage.MQL, owner__isnull=True)


@login_required
def route_page(request: HttpRequest) -> HttpResponse:
    """Pick unowned MQLs with the lead filters, then route them all through the rules."""
    user = _require(request, _routes_leads(request.user), _("You are not allowed to route leads."))
    data = request.POST if request.method == "POST" else request.GET
    filterset = _lead_filter(data, _routable(user), request)
    query = _filter_query(data)
    back = reverse("assignment:route") + (f"?{query}" if query else "")
    if request.method == "POST":
        if not filterset.is_valid():
            messages.error(request, _("Some filters were not understood; nothing was routed."))
            return redirect(back)
        routable = filterset.qs.order_by(*ROUTE_ORDER.order_by())
        ids = list(routable.values_list("pk", flat=True)[:ROUTE_LIMIT])
        if not ids:
            messages.warning(request, _("No unowned MQL matches the filter."))
            return redirect(back)
        outcome = bulk.leads_route_bulk(lead_ids=ids, actor=user)
        text = _(
            "%(total)d leads routed: %(assigned)d assigned, %(pooled)d sent to the pool, "
            "%(skipped)d skipped, %(refused)d refused."
        ) % {
            "total": outcome.total,
            "assigned": outcome.assigned,
            "pooled": outcome.pooled,
            "skipped": outcome.skipped,
            "refused": len(outcome.errors),
        }
        if outcome.errors:
            text += " " + "; ".join(f"#{e['lead']}: {e['detail']}" for e in outcome.errors[:8])
            messages.warning(request, text)
        else:
            messages.success(request, text)
        return redirect(back)
    leads = filterset.qs if filterset.is_valid() else _routable(user).none()
    listed = keyset_list(request, leads, ROUTE_ORDER, PAGE_SIZE)
    return render(
        request,
        "assignment/route.html",
        {
            "filter": filterset,
            **listed.context(),
            "rows": [(lead, contact_for(user, lead)) for lead in listed.rows],
            "query": query,
            "route_limit": ROUTE_LIMIT,
        },
        status=listed.status,
    )


# --------------------------------------------------------------------------------------
# The pool (公海) and claiming
# --------------------------------------------------------------------------------------


def _days(since, now) -> int | None:
    return None if since is None else max(0, (now - since).days)


@login_required
def pool_page(request: HttpRequest) -> HttpResponse:
    """Pooled leads with masked contact details; claim within today's limit."""
    user = _require_sales(request)
    base = leads_visible_to(user).filter(in_pool=True)
    filterset = _lead_filter(request.GET, base, request)
    leads = filterset.qs if filterset.is_valid() else base
    listed = keyset_list(request, leads, POOL_ORDER, PAGE_SIZE)
    paginator = listed.paginator
    now = timezone.now()
    rows = []
    for lead in listed.rows:
        code = lead.recycle_reason
        rows.append(
            {
                "lead": lead,
                "contact": contact_for(user, lead),
                "days": _days(lead.pooled_at, now),
                "recycle_reason": str(RecycleReason(code).label)
                if code in RecycleReason.values
                else code,
            }
        )
    policy = PoolPolicy.current()
    used = claims_today(user)
    return render(
        request,
        "pool/pool_list.html",
        {
            "filter": filterset,
            "rows": rows,
            **listed.context(),
            "policy": policy,
            "claims_today": used,
            "claims_left": max(policy.daily_claim_limit - used, 0),
            "filters_active": any(request.GET.get(name) for name in FILTER_FIELDS),
            "bulk": bulk_bar(
                request,
                names=("claim", "assign"),
                matching=paginator.count,
                fixed={"in_pool": "true"},
            ),
        },
        status=listed.status,
    )


@login_required
@require_POST
def pool_claim(request: HttpRequest, pk: int) -> HttpResponse:
    """Claim one pooled lead; the daily limit and cool-down are the service's rules."""
    user = _require_sales(request)
    back = reverse("assignment:pool")
    lead = leads_visible_to(user).filter(pk=pk).first()
    if lead is None:
        # Claimed by someone else a moment ago: it left the pool and this rep's sight.
        messages.error(
            request, _("This lead is no longer in the pool; someone may have claimed it first.")
        )
        return redirect(back)
    try:
        lead = run_action(lead=lead, actor=user, name="claim")
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(back)
    messages.success(
        request,
        _("%(name)s is yours now; the contact details are no longer masked.") % {"name": str(lead)},
    )
    return redirect("leads:detail", pk=lead.pk)


# --------------------------------------------------------------------------------------
# New for you
# --------------------------------------------------------------------------------------


@login_required
def new_for_me(request: HttpRequest) -> HttpResponse:
    """Leads assigned to me that I have not accepted yet (still MQL), newest first."""
    user = _require_sales(request)
    listed = keyset_list(request, leads_new_for(user), NEW_FOR_ME_ORDER, PAGE_SIZE)
    page_leads = listed.rows
    # Why each lead came to me: its latest decision naming me (one query for the page).
    why: dict[int, Assignment] = {}
    for decision in Assignment.objects.filter(
        lead_id__in=[lead.pk for lead in page_leads], owner=user
    ).order_by("lead_id", "-at", "-id"):
        why.setdefault(decision.lead_id, decision)
    return render(
        request,
        "pool/new_for_me.html",
        {
            "rows": [
                {"lead": lead, "contact": contact_for(user, lead), "why": why.get(lead.pk)}
                for lead in page_leads
            ],
            **listed.context(),
            "reject_reasons": RejectReason.choices,
            "bulk": bulk_bar(request, names=("accept", "recycle")),
        },
        status=listed.status,
    )
