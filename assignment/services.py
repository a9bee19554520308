"""Routing of qualified leads, assignment rules, team memberships and simulation.

Routing order (docs/architecture.md §4): company stickiness → the first matching active rule whose
target has an eligible member → the pool. A lead is never left with nobody.

Locking: ``lead_route`` locks the lead row, then the target team's membership rows
(ordered by id, so two routers never deadlock), then the rule's rotation cursor. Every
routing decision for a team is therefore serialised: capacity counts and the rotation
position are read and advanced by one worker at a time, and parallel workers can neither
double-assign a lead nor skew the rotation.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from assignment import reasons
from assignment.choices import DecisionKind, Strategy
from assignment.models import (
    Assignment,
    AssignmentRule,
    PoolPolicy,
    RotationCursor,
    Team,
    TeamMembership,
)
from assignment.reasons import DecisionReason
from assignment.router import Candidate, Pick, describe_pick, pick, rule_matches
from leads.choices import CLOSED_STAGES, OPEN_STAGES
from leads.facts import LEAD_FACT_FIELDS, lead_facts
from leads.lifecycle import OWNABLE_STAGES, check_action, lead_assign, lead_send_to_pool
from leads.models import Lead
from pipeline.conditions import ConditionError, check_condition
from pipeline.errors import ServiceError
from pipeline.people import display_name
from pipeline.roles import SALES_ROLES, Role, has_role

logger = logging.getLogger(__name__)

#: Fields an assignment rule may test (a subset of the lead facts).
RULE_FIELDS = {
    name: LEAD_FACT_FIELDS[name]
    for name in (
        "grade",
        "score",
        "region",
        "industry",
        "company_size",
        "channel",
        "channel_kind",
        "campaign",
        "product_interest",
        "timeline",
        "decision_role",
        "budget",
        "utm_source",
    )
}


# --------------------------------------------------------------------------------------
# Rules: validation shared by the API, the pages and simulation drafts
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    """A validated rule as plain values (a saved rule or a simulation draft)."""

    name: str
    conditions: tuple[tuple[str, str, Any], ...]
    strategy: str
    team_id: int | None
    user_id: int | None
    rule_id: int | None = None

    def as_conditions(self) -> list[dict[str, Any]]:
        return [{"field": f, "operator": o, "value": v} for f, o, v in self.conditions]


def clean_conditions(conditions: Any) -> list[dict[str, Any]]:
    """Validate a list of ``{field, operator, value}``; raise ``ServiceError`` naming it."""
    if not isinstance(conditions, list):
        raise ServiceError(_("Conditions must be a list."), field="conditions")
    cleaned = []
    for index, condition in enumerate(conditions, start=1):
        if not isinstance(condition, Mapping) or set(condition) - {"field", "operator", "value"}:
            raise ServiceError(
                _("Condition %(n)d must be an object with field, operator and value.")
                % {"n": index},
                field="conditions",
            )
        try:
            field, operator, value = check_condition(
                condition.get("field", ""),
                condition.get("operator", ""),
                condition.get("value"),
                RULE_FIELDS,
            )
        except ConditionError as exc:
            raise ServiceError(
                _("Condition %(n)d: %(error)s") % {"n": index, "error": exc}, field="conditions"
            ) from exc
        cleaned.append({"field": field, "operator": operator, "value": value})
    return cleaned


def clean_rule(
    *, name: str, conditions: Any, strategy: str, team: Team | None, user: User | None
) -> dict[str, Any]:
    """Validate a rule's parts; the same checks for saved rules and drafts."""
    if not (name or "").strip():
        raise ServiceError(_("A rule needs a name."), field="name")
    if strategy not in Strategy.values:
        raise ServiceError(
            _("Unknown strategy “%(s)s”; use one of: %(all)s.")
            % {"s": strategy, "all": ", ".join(Strategy.values)},
            field="strategy",
        )
    cleaned = clean_conditions(conditions)
    if strategy == Strategy.USER:
        if user is None:
            raise ServiceError(_("The “user” strategy needs a user."), field="user")
        if not user.is_active:
            raise ServiceError(
                _("%(user)s is not an active user.") % {"user": display_name(user)}, field="user"
            )
        if not has_role(user, *SALES_ROLES):
            raise ServiceError(
                _("%(user)s is not in sales and cannot own leads.") % {"user": display_name(user)},
                field="user",
            )
        team = None
    else:
        if team is None:
            raise ServiceError(_("This strategy needs a team."), field="team")
        if not team.memberships.exists():
            raise ServiceError(
                _("Team “%(team)s” has no members to rotate over.") % {"team": team},
                field="team",
            )
        user = None
    return {
        "name": name.strip(),
        "conditions": cleaned,
        "strategy": strategy,
        "team": team,
        "user": user,
    }


def can_manage_rules(actor: User | None) -> bool:
    """Who writes routing rules: the desk and administrators (DESIGN §1).

    A rule decides for every team (a catch-all rule takes every team's leads), so sales
    managers, who manage only their own teams, read the rules but never write them.
    """
    return has_role(actor, Role.LEAD_DESK)


@transaction.atomic
def rule_save(
    *,
    actor: User,
    rule: AssignmentRule | None = None,
    name: str,
    conditions: Any,
    strategy: str,
    team: Team | None = None,
    user: User | None = None,
    priority: int = 100,
    active: bool = True,
) -> AssignmentRule:
    """Create or update a rule (the desk and administrators: ``can_manage_rules``)."""
    if not can_manage_rules(actor):
        raise ServiceError(_("You are not allowed to change assignment rules."), code="forbidden")
    data = clean_rule(name=name, conditions=conditions, strategy=strategy, team=team, user=user)
    rule = rule or AssignmentRule()
    for key, value in data.items():
        setattr(rule, key, value)
    rule.priority, rule.active = priority, active
    rule.save()
    RotationCursor.objects.get_or_create(rule=rule)
    return rule


@transaction.atomic
def rule_delete(*, actor: User, rule: AssignmentRule) -> None:
    """Delete a rule; past Assignment records keep its name (``rule_name``)."""
    if not can_manage_rules(actor):
        raise ServiceError(_("You are not allowed to change assignment rules."), code="forbidden")
    rule.delete()


def can_edit_pool_policy(actor: User) -> bool:
    """The pool policy binds every rep: the desk and management set it."""
    return has_role(actor, Role.LEAD_DESK, Role.MANAGER)


@transaction.atomic
def pool_policy_save(
    *, actor: User, daily_claim_limit: int, reclaim_cooldown_days: int
) -> PoolPolicy:
    """Set the daily claim cap and the re-claim cool-down of the pool (公海)."""
    if not can_edit_pool_policy(actor):
        raise ServiceError(
            _("Only the lead desk and management change the pool policy."), code="forbidden"
        )
    for field, value, top in (
        ("daily_claim_limit", daily_claim_limit, 1000),
        ("reclaim_cooldown_days", reclaim_cooldown_days, 365),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            raise ServiceError(
                _("Enter a whole number from 0 to %(top)d.") % {"top": top}, field=field
            )
    PoolPolicy.current()
    policy = PoolPolicy.objects.select_for_update().get(pk=1)
    policy.daily_claim_limit, policy.reclaim_cooldown_days = (
        daily_claim_limit,
        reclaim_cooldown_days,
    )
    policy.save(update_fields=["daily_claim_limit", "reclaim_cooldown_days", "updated_at"])
    return policy


def rule_specs(rules: Iterable[AssignmentRule]) -> list[RuleSpec]:
    """Saved rules as specs; a rule whose stored conditions no longer validate is skipped."""
    specs = []
    for rule in rules:
        try:
            conditions = clean_conditions(rule.conditions)
        except ServiceError as exc:
            logger.warning("Assignment rule %s (%s) skipped: %s", rule.pk, rule.name, exc)
            continue
        specs.append(
            RuleSpec(
                name=rule.name,
                conditions=tuple((c["field"], c["operator"], c["value"]) for c in conditions),
                strategy=rule.strategy,
                team_id=rule.team_id,
                user_id=rule.user_id,
                rule_id=rule.pk,
            )
        )
    return specs


def active_rule_specs() -> list[RuleSpec]:
    return rule_specs(AssignmentRule.objects.filter(active=True).order_by("priority", "id"))


# --------------------------------------------------------------------------------------
# Memberships
# --------------------------------------------------------------------------------------


def can_manage_team(actor: User | None, team: Team) -> bool:
    """The desk and administrators manage every team; a sales manager only the teams they
    manage (their memberships and each member's weight, capacity and availability)."""
    return has_role(actor, Role.LEAD_DESK) or (
        has_role(actor, Role.SALES_MANAGER) and team.manager_id == actor.pk
    )


def _memberships_elsewhere(*, actor: User, team: Team) -> QuerySet[TeamMembership]:
    """Memberships in teams other than ``team`` that ``actor`` does not manage; ``none()``
    for the desk and administrators, who may add anyone anywhere."""
    if has_role(actor, Role.LEAD_DESK):
        return TeamMembership.objects.none()
    return TeamMembership.objects.exclude(team=team).exclude(team__manager=actor)


def users_held_elsewhere(*, actor: User, team: Team) -> set[int]:
    """Ids of the salespeople ``actor`` may not add to ``team``: they belong to a team whose
    manager is someone else, and only that manager or the desk may share them (DESIGN §1).
    Pickers leave them out; ``membership_save`` refuses them."""
    return set(_memberships_elsewhere(actor=actor, team=team).values_list("user_id", flat=True))


@transaction.atomic
def membership_save(
    *,
    actor: User,
    team: Team,
    user: User,
    membership: TeamMembership | None = None,
    weight: int = 1,
    daily_capacity: int = 20,
    max_open_leads: int = 200,
    available: bool = True,
    away_until: dt.date | None = None,
) -> TeamMembership:
    """Add a salesperson to a team or change what the router may give them.

    A sales manager changes only the teams they manage, and cannot add a salesperson who
    already belongs to a team managed by someone else (that would hand them that rep and
    their leads); the desk or that team's manager can. Settings of a member already in the
    team stay editable even if the member also belongs to another team.
    """
    if not can_manage_team(actor, team):
        raise ServiceError(_("You are not allowed to change this team."), code="forbidden")
    joining = membership is None or membership.user_id != user.pk
    if joining:
        elsewhere = (
            _memberships_elsewhere(actor=actor, team=team)
            .filter(user=user)
            .select_related("team")
            .order_by("team__name")
            .first()
        )
        if elsewhere is not None:
            raise ServiceError(
                _(
                    "%(user)s already belongs to team %(team)s; only that team's manager "
                    "or the lead desk can add them to another team."
                )
                % {"user": display_name(user), "team": elsewhere.team.name},
                code="forbidden",
                field="user",
            )
    if weight is None or weight <= 0:
        raise ServiceError(_("The weight must be a whole number above zero."), field="weight")
    if daily_capacity is None or daily_capacity < 0:
        raise ServiceError(_("The daily capacity cannot be negative."), field="daily_capacity")
    if max_open_leads is None or max_open_leads < 0:
        raise ServiceError(_("The open-lead cap cannot be negative."), field="max_open_leads")
    if not user.is_active or not has_role(user, *SALES_ROLES):
        raise ServiceError(
            _("%(user)s is not an active salesperson.") % {"user": display_name(user)}, field="user"
        )
    duplicate = TeamMembership.objects.filter(team=team, user=user)
    if membership is not None:
        duplicate = duplicate.exclude(pk=membership.pk)
    if duplicate.exists():
        raise ServiceError(
            _("%(user)s is already in this team.") % {"user": display_name(user)}, field="user"
        )
    membership = membership or TeamMembership(team=team)
    membership.user, membership.weight = user, weight
    membership.daily_capacity, membership.max_open_leads = daily_capacity, max_open_leads
    membership.available, membership.away_until = available, away_until
    membership.save()
    return membership


# --------------------------------------------------------------------------------------
# Candidates (database → plain values)
# --------------------------------------------------------------------------------------


def _start_of_today() -> dt.datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def load_candidates(
    user_ids: Sequence[int], rows: Mapping[int, Mapping[str, Any]]
) -> list[Candidate]:
    """Candidates for ``user_ids`` with today's assignment and open-lead counts (2 queries)."""
    if not user_ids:
        return []
    today = (
        Assignment.objects.filter(owner_id__in=user_ids, at__gte=_start_of_today())
        .exclude(strategy=DecisionKind.CLAIM)
        .values("owner_id")
        .annotate(n=Count("id"))
    )
    assigned_today = {row["owner_id"]: row["n"] for row in today}
    open_counts = {
        row["owner_id"]: row["n"]
        for row in Lead.objects.filter(owner_id__in=user_ids, stage__in=OPEN_STAGES)
        .values("owner_id")
        .annotate(n=Count("id"))
    }
    return [
        Candidate(
            user_id=uid,
            username=rows[uid]["username"],
            name=rows[uid].get("name", ""),
            weight=rows[uid].get("weight", 1),
            available=rows[uid].get("available", True),
            active=rows[uid]["active"],
            away_until=rows[uid].get("away_until"),
            daily_capacity=rows[uid].get("daily_capacity", 10**9),
            max_open_leads=rows[uid].get("max_open_leads", 10**9),
            assigned_today=assigned_today.get(uid, 0),
            open_leads=open_counts.get(uid, 0),
        )
        for uid in user_ids
    ]


def _name(username: str, first_name: str, last_name: str) -> str:
    return display_name(User(username=username, first_name=first_name, last_name=last_name))


def _team_rows(team_id: int, *, lock: bool) -> dict[int, dict[str, Any]]:
    memberships = TeamMembership.objects.filter(team_id=team_id).order_by("id")
    if lock:
        memberships = memberships.select_for_update(of=("self",))
    return {
        m["user_id"]: {
            "username": m["user__username"],
            "name": _name(m["user__username"], m["user__first_name"], m["user__last_name"]),
            "active": m["user__is_active"],
            "weight": m["weight"],
            "available": m["available"],
            "away_until": m["away_until"],
            "daily_capacity": m["daily_capacity"],
            "max_open_leads": m["max_open_leads"],
        }
        for m in memberships.values(
            "user_id",
            "user__username",
            "user__first_name",
            "user__last_name",
            "user__is_active",
            "weight",
            "available",
            "away_until",
            "daily_capacity",
            "max_open_leads",
        )
    }


def _user_rows(user_id: int) -> dict[int, dict[str, Any]]:
    """A named user's row; their first membership's limits apply if they have one."""
    user = (
        User.objects.filter(pk=user_id)
        .values("username", "first_name", "last_name", "is_active")
        .first()
    )
    if user is None:
        return {}
    row = {
        "username": user["username"],
        "name": _name(user["username"], user["first_name"], user["last_name"]),
        "active": user["is_active"],
    }
    membership = (
        TeamMembership.objects.filter(user_id=user_id)
        .order_by("id")
        .values("available", "away_until", "daily_capacity", "max_open_leads")
        .first()
    )
    row.update(membership or {})
    return {user_id: row}


def rule_members(
    spec: RuleSpec, *, lock: bool = True
) -> tuple[dict[int, dict[str, Any]], list[Candidate]]:
    """The rule's members as rows and as candidates with today's counts, for one lead
    (``lead_route``) or a batch (``assignment.bulk``): a user rule's one user, or the
    rule's team, its membership rows locked (``lock``) in id order so that two routers of
    one team never deadlock."""
    if spec.strategy == Strategy.USER:
        rows = _user_rows(cast(int, spec.user_id))  # a user rule names its user (rule_save)
    else:
        rows = _team_rows(cast(int, spec.team_id), lock=lock)  # the others name a team
    return rows, load_candidates(list(rows), rows)


def pick_for_rule(
    spec: RuleSpec,
    candidates: Sequence[Candidate],
    *,
    position: int,
    today: dt.date,
    exclude: Iterable[int] | None,
    notes: list[DecisionReason],
    in_order: bool = False,
) -> Pick | None:
    """The rule's pick among ``candidates`` (``exclude`` left out), for one lead or a
    batch; None when it gives nobody, with why added to ``notes`` (no candidates, or none
    eligible with each one's reason). ``in_order``: the candidates are in user id order
    already (``router.pick``)."""
    if exclude:
        excluded = set(exclude)
        candidates = [c for c in candidates if c.user_id not in excluded]
    if not candidates:
        notes.append(DecisionReason(reasons.RULE_NO_CANDIDATES, {"rule": spec.name}))
        logger.warning("Assignment rule %s has no candidates; skipped", spec.name)
        return None
    result = pick(spec.strategy, candidates, position=position, today=today, in_order=in_order)
    if result.candidate is None:
        notes.append(
            DecisionReason(
                reasons.RULE_NONE_ELIGIBLE,
                {"rule": spec.name, "skipped": reasons.skipped_data(result.skipped)},
            )
        )
        return None
    return result


def lock_cursor(rule_id: int) -> RotationCursor:
    """The rule's rotation cursor, locked (``SELECT … FOR UPDATE``); made if missing."""
    cursor = RotationCursor.objects.select_for_update().filter(rule_id=rule_id).first()
    if cursor is None:  # rules saved through rule_save already have one
        RotationCursor.objects.get_or_create(rule_id=rule_id)
        cursor = RotationCursor.objects.select_for_update().get(rule_id=rule_id)
    return cursor


# --------------------------------------------------------------------------------------
# Routing
# --------------------------------------------------------------------------------------


def sticky_owners() -> QuerySet[User]:
    """Who a company's new leads may stick to: active salespeople and administrators.
    ``sticky_owner_leads`` and a batch's new owners (``assignment.bulk``) read the same."""
    return User.objects.filter(is_active=True).filter(
        Q(groups__name__in=SALES_ROLES) | Q(is_superuser=True)
    )


def sticky_owner_leads() -> QuerySet[Lead]:
    """Leads whose owner a company's new leads stick to: open, owned by one of
    ``sticky_owners``, earliest assigned first. One lead's stickiness (``sticky_owner_for``)
    and a batch's (``assignment.bulk``) read the same set."""
    return (
        Lead.objects.filter(owner__in=sticky_owners())
        .exclude(stage__in=CLOSED_STAGES)
        .order_by("assigned_at", "id")
    )


def sticky_owner_for(lead: Lead) -> User | None:
    """The owner of another open, owned lead of the same company (company stickiness)."""
    if lead.company_id is None:
        return None
    other = (
        sticky_owner_leads()
        .filter(company_id=lead.company_id)
        .exclude(pk=lead.pk)
        .select_related("owner")
        .first()
    )
    return other.owner if other else None


@transaction.atomic
def lead_route(
    *,
    lead: Lead | int,
    actor: User | None = None,
    rules: Sequence[RuleSpec] | None = None,
    include_pooled: bool = False,
    exclude: set[int] | None = None,
) -> Lead:
    """Decide the owner of an unowned, routable lead and write the decision.

    The decision's "why" is a ``DecisionReason`` (a code and parameters, see
    ``assignment.reasons``), worded in each reader's language when shown.

    Safe to run twice: a lead that already has an owner (or sits in the pool, unless
    ``include_pooled``) is left alone.
    """
    pk = lead.pk if isinstance(lead, Lead) else lead
    locked = (
        Lead.objects.select_for_update(of=("self",))
        .select_related("company", "source_campaign__channel")
        .filter(pk=pk)
        .first()
    )
    if locked is None:
        raise ServiceError(_("Lead not found."), code="not_found")
    if locked.owner_id is not None or locked.stage not in OWNABLE_STAGES:
        return locked
    if locked.in_pool and not include_pooled:
        return locked
    if actor is not None:
        check_action(lead=locked, actor=actor, action="assign")

    sticky = sticky_owner_for(locked)
    if sticky is not None and sticky.pk not in (exclude or ()):
        return lead_assign(
            lead=locked,
            actor=actor,
            owner=sticky,
            strategy=DecisionKind.COMPANY_STICKINESS,
            why=DecisionReason(
                reasons.COMPANY_STICKINESS,
                {"user": display_name(sticky), "company": str(locked.company)},
            ),
        )

    facts = lead_facts(locked)
    today = timezone.localdate()
    notes: list[DecisionReason] = []  # why each matching rule gave nobody
    specs = active_rule_specs() if rules is None else rules
    for spec in specs:
        if not rule_matches(spec.as_conditions(), facts):
            continue
        _rows, candidates = rule_members(spec)
        cursor, position = None, 0
        if spec.strategy in (Strategy.ROUND_ROBIN, Strategy.WEIGHTED) and spec.rule_id:
            cursor = lock_cursor(spec.rule_id)
            position = cursor.position
        result = pick_for_rule(
            spec, candidates, position=position, today=today, exclude=exclude, notes=notes
        )
        if result is None or result.candidate is None:
            continue
        if cursor is not None:
            cursor.position = result.position
            cursor.save(update_fields=["position"])
        owner = User.objects.get(pk=result.candidate.user_id)
        # The decision names its rule; an unsaved stand-in avoids reading the row again.
        rule = AssignmentRule(pk=spec.rule_id, name=spec.name) if spec.rule_id else None
        # Locked above, in this transaction: a marker for lock_lead, not a model field.
        locked._row_locked = True  # type: ignore[attr-defined]
        return lead_assign(
            lead=locked,
            actor=actor,
            owner=owner,
            strategy=spec.strategy,
            rule=rule,
            why=describe_pick(spec.name, spec.strategy, result.candidate, result.skipped),
        )

    if locked.in_pool:
        return locked
    why = DecisionReason(
        reasons.POOLED,
        {"notes": [note.as_data() for note in notes], "empty": _empty_rule_fields(specs, facts)},
    )
    return lead_send_to_pool(lead=locked, actor=actor, why=why)


def _empty_rule_fields(specs: Sequence[RuleSpec], facts: Mapping[str, Any]) -> list[str]:
    """The fields some rule tests that the lead left empty: why no rule matched (issue #14:
    the public form asks no region, and the demo rules route by region)."""
    fields = dict.fromkeys(
        condition["field"] for spec in specs for condition in spec.as_conditions()
    )
    return [name for name in fields if facts.get(name) in (None, "", [])]


def lead_assign_or_route(
    *, lead: Lead, actor: User, owner: User | None = None, reason: str = ""
) -> Lead:
    """Assign to ``owner``, or without one let the router decide (unowned leads only)."""
    if owner is not None:
        return lead_assign(lead=lead, actor=actor, owner=owner, reason=reason)
    if lead.owner_id is not None:
        raise ServiceError(
            _("This lead already has an owner; name the new owner to reassign it."),
            code="wrong_stage",
        )
    return lead_route(lead=lead, actor=actor, include_pooled=True)


# --------------------------------------------------------------------------------------
# Simulation: replay rules over leads without writing
# --------------------------------------------------------------------------------------


def simulate(*, leads: QuerySet[Lead], rules: Sequence[RuleSpec]) -> dict[str, Any]:
    """What the rules would do with ``leads`` now, in creation order. Writes nothing.

    Counters (assigned today, open leads) and rotation positions evolve in memory as the
    replay assigns, so the distribution is what routing these leads one by one would give.
    """
    team_ids = {s.team_id for s in rules if s.team_id}
    user_ids = {s.user_id for s in rules if s.user_id}
    team_rows = {tid: _team_rows(tid, lock=False) for tid in team_ids}
    all_rows: dict[int, dict[str, Any]] = {}
    for rows in team_rows.values():
        all_rows.update(rows)
    for uid in user_ids:
        all_rows.setdefault(uid, {}).update(_user_rows(uid).get(uid, {}))
    base = {c.user_id: c for c in load_candidates(list(all_rows), all_rows)}
    assigned_today = Counter({uid: c.assigned_today for uid, c in base.items()})
    open_leads = Counter({uid: c.open_leads for uid, c in base.items()})
    positions = {
        s.rule_id: RotationCursor.objects.filter(rule_id=s.rule_id)
        .values_list("position", flat=True)
        .first()
        or 0
        for s in rules
        if s.rule_id
    }
    draft_positions: dict[int, int] = {}
    today = timezone.localdate()
    distribution: Counter[int] = Counter()
    total = unmatched = changed = 0
    queryset = (
        leads.select_related("company", "source_campaign__channel")
        .annotate(n_touches=Count("touches"))
        .order_by("created_at", "id")
    )
    for lead in queryset.iterator(chunk_size=2000):
        total += 1
        facts = lead_facts(lead)
        chosen = None
        for index, spec in enumerate(rules):
            if not rule_matches(spec.as_conditions(), facts):
                continue
            ids = (
                [spec.user_id]
                if spec.strategy == Strategy.USER
                else list(team_rows[cast(int, spec.team_id)])
            )
            candidates = [
                Candidate(
                    **{
                        **base[uid].__dict__,
                        "assigned_today": assigned_today[uid],
                        "open_leads": open_leads[uid],
                    }
                )
                for uid in ids
                if uid in base
            ]
            key = spec.rule_id if spec.rule_id else -(index + 1)
            store = positions if spec.rule_id else draft_positions
            result = pick(spec.strategy, candidates, position=store.get(key, 0), today=today)
            if result.candidate is None:
                continue
            store[key] = result.position
            chosen = result.candidate.user_id
            break
        if chosen is None:
            unmatched += 1
        else:
            distribution[chosen] += 1
            assigned_today[chosen] += 1
            open_leads[chosen] += 1
        if chosen != lead.owner_id:
            changed += 1
    usernames = {uid: row.get("username", "") for uid, row in all_rows.items()}
    return {
        "total": total,
        "unmatched": unmatched,
        "changed": changed,
        "distribution": [
            {"user": uid, "username": usernames.get(uid, ""), "count": count}
            for uid, count in sorted(distribution.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }
