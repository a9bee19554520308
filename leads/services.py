"""The lead lifecycle: every write to a lead that has a rule goes through this module.

Each transition runs in one transaction, locks the lead row with ``select_for_update``,
checks the actor's right (403) and then the stage (409), then its arguments (400), sets
the timestamps, writes exactly one ``LeadEvent`` and schedules side effects with
``transaction.on_commit``. A refusal raises ``ServiceError`` and changes nothing.

``actor=None`` means the system (router, SLA jobs, capture, import).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Expression, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assignment import reasons
from assignment.reasons import DecisionReason
from assignment.selectors import manages_user
from leads.choices import (
    CLOSED_STAGES,
    DisqualifyReason,
    EventKind,
    FollowUpMethod,
    Grade,
    GradeSource,
    LoseReason,
    RecycleReason,
    RejectReason,
    Stage,
    TouchKind,
)
from leads.credits import recompute_credits
from leads.lifecycle.fields import LEAD_OWN_FIELDS, clean_lead_fields
from leads.lifecycle.primitives import (
    lock_lead,
    money,
    reason_code,
    record_event,
    require_reason,
    save_lead,
)
from leads.models import Company, FollowUp, Lead, LeadEvent, LeadTouch
from leads.normalize import normalize_company_name
from pipeline.errors import ServiceError
from pipeline.people import display_name
from pipeline.queue import enqueue_on_commit
from pipeline.roles import SALES_ROLES, Role, has_role

# --------------------------------------------------------------------------------------
# Who may do what, from which stage
# --------------------------------------------------------------------------------------


def _is_desk(actor: User | None, lead: Lead) -> bool:
    return has_role(actor, Role.LEAD_DESK)


def _acts_for_owner(actor: User | None, lead: Lead) -> bool:
    """The owner, a manager of a team the owner belongs to, or a superuser."""
    if actor is None or not actor.is_authenticated:
        return False
    if actor.is_superuser:
        return True
    if lead.owner_id is not None and lead.owner_id == actor.pk:
        return True
    return has_role(actor, Role.SALES_MANAGER) and manages_user(actor, lead.owner_id)


def _can_assign(actor: User | None, lead: Lead) -> bool:
    if has_role(actor, Role.LEAD_DESK):
        return True
    if has_role(actor, Role.SALES_MANAGER):
        # A sales manager moves leads that are unowned or owned inside their own teams.
        return lead.owner_id is None or manages_user(actor, lead.owner_id)
    return False


def _can_recycle(actor: User | None, lead: Lead) -> bool:
    return _acts_for_owner(actor, lead)


def _can_claim(actor: User | None, lead: Lead) -> bool:
    return has_role(actor, *SALES_ROLES)


@dataclass(frozen=True)
class ActionRule:
    """One row of the lifecycle table (DESIGN §4)."""

    name: str
    from_stages: frozenset[str]
    allowed: Callable[[User | None, Lead], bool]
    #: True: the lead must have an owner; False: it must have none; None: either.
    owned: bool | None = None
    pooled: bool | None = None
    system_allowed: bool = False
    who: str = ""


ACTIONS: dict[str, ActionRule] = {
    rule.name: rule
    for rule in (
        ActionRule(
            "qualify", frozenset({Stage.NEW}), _is_desk, system_allowed=True, who="lead desk"
        ),
        ActionRule("disqualify", frozenset({Stage.NEW, Stage.MQL}), _is_desk, who="lead desk"),
        ActionRule(
            "assign",
            frozenset({Stage.MQL, Stage.SQL, Stage.OPPORTUNITY}),
            _can_assign,
            system_allowed=True,
            who="lead desk or sales manager",
        ),
        ActionRule("accept", frozenset({Stage.MQL}), _acts_for_owner, owned=True, who="owner"),
        ActionRule("reject", frozenset({Stage.MQL}), _acts_for_owner, owned=True, who="owner"),
        ActionRule(
            "recycle",
            frozenset({Stage.MQL, Stage.SQL}),
            _can_recycle,
            owned=True,
            system_allowed=True,
            who="owner or team manager",
        ),
        ActionRule(
            "claim",
            frozenset({Stage.MQL, Stage.SQL, Stage.OPPORTUNITY}),
            _can_claim,
            pooled=True,
            who="sales",
        ),
        ActionRule(
            "to_opportunity", frozenset({Stage.SQL}), _acts_for_owner, owned=True, who="owner"
        ),
        ActionRule(
            "win",
            frozenset({Stage.SQL, Stage.OPPORTUNITY}),
            _acts_for_owner,
            owned=True,
            who="owner",
        ),
        ActionRule(
            "lose",
            frozenset({Stage.SQL, Stage.OPPORTUNITY}),
            _acts_for_owner,
            owned=True,
            who="owner",
        ),
        ActionRule(
            "follow_up",
            frozenset({Stage.MQL, Stage.SQL, Stage.OPPORTUNITY}),
            _acts_for_owner,
            owned=True,
            who="owner",
        ),
    )
}

_ACTION_LABELS = {
    "qualify": gettext_lazy("qualify"),
    "disqualify": gettext_lazy("disqualify"),
    "assign": gettext_lazy("assign"),
    "accept": gettext_lazy("accept"),
    "reject": gettext_lazy("reject"),
    "recycle": gettext_lazy("recycle"),
    "claim": gettext_lazy("claim"),
    "to_opportunity": gettext_lazy("convert to opportunity"),
    "win": gettext_lazy("win"),
    "lose": gettext_lazy("lose"),
    "follow_up": gettext_lazy("log a follow-up on"),
}


def _label(action: str) -> str:
    # Labels are looked up at call time so they follow the request's language.
    return str(_ACTION_LABELS.get(action, action))


def check_action(*, lead: Lead, actor: User | None, action: str) -> None:
    """Raise ``ServiceError`` unless ``actor`` may run ``action`` on ``lead`` now.

    Rights are checked before the stage (403 before 409), as the API contract orders.
    """
    rule = ACTIONS[action]
    if actor is None:
        if not rule.system_allowed:
            raise ServiceError(
                _("The system cannot %(action)s a lead.") % {"action": _label(action)},
                code="forbidden",
            )
    elif not rule.allowed(actor, lead):
        raise ServiceError(
            _("You are not allowed to %(action)s this lead.") % {"action": _label(action)},
            code="forbidden",
        )
    if lead.stage not in rule.from_stages:
        raise ServiceError(
            _("Cannot %(action)s a lead in stage “%(stage)s”.")
            % {"action": _label(action), "stage": Stage(lead.stage).label},
            code="wrong_stage",
        )
    if rule.owned is True and lead.owner_id is None:
        raise ServiceError(
            _("Cannot %(action)s a lead that has no owner.") % {"action": _label(action)},
            code="wrong_stage",
        )
    if rule.pooled is True and not lead.in_pool:
        raise ServiceError(
            _("This lead is no longer in the pool; someone may have claimed it first."),
            code="wrong_stage",
        )


def allowed_actions(*, lead: Lead, actor: User | None) -> list[str]:
    """The actions ``actor`` could run on ``lead`` now (for buttons on pages)."""
    names = []
    for name in ACTIONS:
        try:
            check_action(lead=lead, actor=actor, action=name)
        except ServiceError:
            continue
        names.append(name)
    return names


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


_lock = lock_lead
_require_reason = require_reason
_reason_code = reason_code
_money = money


def _start_sla_clock(lead: Lead, now: dt.datetime) -> None:
    """A new owner gets the grade's first-response time, in working hours (DESIGN §7)."""
    from reports.sla import response_due

    lead.response_due_at = response_due(grade=lead.grade, assigned_at=now)
    lead.responded_at = None


_save = save_lead


def _on_commit_notify(lead: Lead, kind: str) -> None:
    if lead.owner_id is None:
        return
    from leads.tasks import notify_owner_task

    enqueue_on_commit(notify_owner_task, lead.pk, kind)


def _on_commit_score(lead: Lead) -> None:
    """Score after commit; if the broker is down the lead stays saved (the sweep rescues it)."""
    from scoring.tasks import score_lead_task

    enqueue_on_commit(score_lead_task, lead.pk)


def _on_commit_route(lead: Lead) -> None:
    from assignment.tasks import route_lead_task

    enqueue_on_commit(route_lead_task, lead.pk)


# --------------------------------------------------------------------------------------
# Creating and editing leads
# --------------------------------------------------------------------------------------


def company_for(
    *, name: str, industry: str = "", size: str = "", region: str = ""
) -> Company | None:
    """Find the company by normalised name or create it; fill blanks it did not know yet."""
    key = normalize_company_name(name)
    if not key:
        return None
    company, created = Company.objects.get_or_create(
        normalized_name=key,
        defaults={"name": name.strip()[:200], "industry": industry, "size": size, "region": region},
    )
    if not created:
        changed = []
        for attr, value in (("industry", industry), ("size", size), ("region", region)):
            if value and not getattr(company, attr):
                setattr(company, attr, value)
                changed.append(attr)
        if changed:
            company.save(update_fields=changed)
    return company


def _lock_identity(keys: Iterable[str]) -> None:
    """Serialise concurrent arrivals of the same person (PostgreSQL advisory xact locks).

    The keys are hashed and locked in sorted order in one statement, so two transactions
    locking overlapping sets cannot deadlock. SQLite runs write transactions one at a time
    (IMMEDIATE mode), so it needs nothing.
    """
    if connection.vendor != "postgresql":
        return
    ids = sorted(
        {
            int.from_bytes(hashlib.blake2b(k.encode(), digest_size=8).digest(), "big", signed=True)
            for k in keys
        }
    )
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(k) FROM "
            "(SELECT k FROM unnest(%s::bigint[]) AS k ORDER BY k) AS ordered",
            [ids],
        )


def find_open_duplicate(*, phone: str, email: str) -> Lead | None:
    """The open lead with the same normalised phone or email (撞单 guard)."""
    from django.db.models import Q

    match = Q()
    if phone:
        match |= Q(phone=phone)
    if email:
        match |= Q(email=email)
    if not match:
        return None
    return (
        Lead.objects.filter(match)
        .exclude(stage__in=CLOSED_STAGES)
        .order_by("created_at", "id")
        .first()
    )


@dataclass
class LeadCreateResult:
    lead: Lead
    duplicate: bool


def can_create_lead(actor: User | None) -> bool:
    return actor is None or has_role(actor, Role.MARKETER, Role.LEAD_DESK)


@transaction.atomic
def lead_create(
    *,
    actor: User | None,
    fields: Mapping[str, Any],
    campaign=None,
    touch_kind: str = TouchKind.MANUAL,
    occurred_at: dt.datetime | None = None,
    utm: Mapping[str, str] | None = None,
    landing_page: str = "",
) -> LeadCreateResult:
    """Create a lead, or add a touch to the open lead of the same person.

    Arrivals of one phone/email are serialised with an advisory lock so two parallel
    captures of one new person make one lead and one touch, not two leads. Bulk imports do
    not take those locks (thousands per batch would fill PostgreSQL's lock table); if one
    wrote this person after the check, the unique index refuses the new lead and the
    arrival becomes a touch on the imported lead.
    """
    if not can_create_lead(actor):
        raise ServiceError(_("You are not allowed to create leads."), code="forbidden")
    data = clean_lead_fields(fields)
    if not data.get("phone") and not data.get("email") and not data.get("wechat"):
        raise ServiceError(
            _("Give at least one way to reach the person: phone, email or WeChat."), field="phone"
        )
    now = timezone.now()
    occurred_at = occurred_at or now
    utm = {k: (v or "")[:100] for k, v in (utm or {}).items()}
    identity = [k for k in (data.get("phone"), data.get("email")) if k]
    _lock_identity(identity)
    existing = find_open_duplicate(phone=data.get("phone", ""), email=data.get("email", ""))
    if existing is None:
        try:
            with transaction.atomic():  # a savepoint, so a refused insert can be redone
                return _lead_create_new(
                    actor=actor,
                    data=dict(data),
                    campaign=campaign,
                    touch_kind=touch_kind,
                    occurred_at=occurred_at,
                    now=now,
                    utm=utm,
                    landing_page=landing_page,
                )
        except IntegrityError:
            existing = find_open_duplicate(phone=data.get("phone", ""), email=data.get("email", ""))
            if existing is None:
                raise
    lead = _lock(existing)
    LeadTouch.objects.create(
        lead=lead,
        campaign=campaign,
        kind=touch_kind,
        occurred_at=occurred_at,
        is_first=not lead.touches.exists(),
        utm_source=utm.get("utm_source", ""),
        utm_medium=utm.get("utm_medium", ""),
        landing_page=landing_page[:500],
    )
    if lead.source_campaign_id is None and campaign is not None:
        lead.source_campaign = campaign
        _save(lead, ["source_campaign"])
    recompute_credits([lead.pk])
    record_event(
        lead=lead,
        kind=EventKind.DUPLICATE,
        actor=actor,
        at=now,
        data={
            "campaign": getattr(campaign, "pk", None),
            "touch_kind": touch_kind,
            "name": data.get("name", ""),
        },
    )
    _on_commit_notify(lead, "duplicate")
    _on_commit_score(lead)
    return LeadCreateResult(lead=lead, duplicate=True)


def _lead_create_new(
    *,
    actor: User | None,
    data: dict[str, Any],
    campaign,
    touch_kind: str,
    occurred_at: dt.datetime,
    now: dt.datetime,
    utm: Mapping[str, str],
    landing_page: str,
) -> LeadCreateResult:
    company = company_for(
        name=data.pop("company_name", "") or "",
        industry=data.pop("industry", "") or "",
        size=data.pop("company_size", "") or "",
        region=data.pop("region", "") or "",
    )
    lead = Lead.objects.create(
        **{k: v for k, v in data.items() if k in LEAD_OWN_FIELDS},
        company=company,
        source_campaign=campaign,
        created_by=actor,
        created_at=now,
        utm_source=utm.get("utm_source", ""),
        utm_medium=utm.get("utm_medium", ""),
        utm_campaign=utm.get("utm_campaign", ""),
        utm_term=utm.get("utm_term", ""),
        utm_content=utm.get("utm_content", ""),
        landing_page=landing_page[:500],
    )
    LeadTouch.objects.create(
        lead=lead,
        campaign=campaign,
        kind=touch_kind,
        occurred_at=occurred_at,
        is_first=True,
        utm_source=lead.utm_source,
        utm_medium=lead.utm_medium,
        landing_page=lead.landing_page,
    )
    recompute_credits([lead.pk])
    record_event(
        lead=lead,
        kind=EventKind.CREATED,
        actor=actor,
        at=now,
        to_stage=Stage.NEW,
        data={"campaign": getattr(campaign, "pk", None), "touch_kind": touch_kind},
    )
    _on_commit_score(lead)
    return LeadCreateResult(lead=lead, duplicate=False)


def can_edit_lead(actor: User | None, lead: Lead) -> bool:
    return has_role(actor, Role.LEAD_DESK, Role.MARKETER) or _acts_for_owner(actor, lead)


@transaction.atomic
def lead_update(*, lead: Lead, actor: User, fields: Mapping[str, Any], source_campaign=...) -> Lead:
    """Edit contact, company and need fields; one ``updated`` event lists what changed."""
    lead = _lock(lead)
    if not can_edit_lead(actor, lead):
        raise ServiceError(_("You are not allowed to edit this lead."), code="forbidden")
    data = clean_lead_fields(fields, partial=True)
    changed: dict[str, list] = {}
    company_keys = {"company_name", "industry", "company_size", "region"}
    if company_keys & set(data):
        current = lead.company
        name = data.get("company_name", current.name if current else "")
        company = company_for(
            name=name or "",
            industry=data.get("industry", current.industry if current else ""),
            size=data.get("company_size", current.size if current else ""),
            region=data.get("region", current.region if current else ""),
        )
        if company is not None and current is not None and company.pk == current.pk:
            for attr, key in (
                ("industry", "industry"),
                ("size", "company_size"),
                ("region", "region"),
            ):
                if key in data and getattr(company, attr) != data[key]:
                    changed[key] = [getattr(company, attr), data[key]]
                    setattr(company, attr, data[key])
            company.save()
        if (company.pk if company else None) != lead.company_id:
            changed["company"] = [current.name if current else "", company.name if company else ""]
            lead.company = company
    for key in LEAD_OWN_FIELDS:
        if key in data and getattr(lead, key) != data[key]:
            changed[key] = [str(getattr(lead, key) or ""), str(data[key] or "")]
            setattr(lead, key, data[key])
    if source_campaign is not ... and source_campaign != lead.source_campaign:
        changed["source_campaign"] = [lead.source_campaign_id, getattr(source_campaign, "pk", None)]
        lead.source_campaign = source_campaign
    if not changed:
        return lead
    lead.save()
    record_event(lead=lead, kind=EventKind.UPDATED, actor=actor, data={"changed": changed})
    if lead.is_open:
        _on_commit_score(lead)
    return lead


# --------------------------------------------------------------------------------------
# Transitions (DESIGN §4)
# --------------------------------------------------------------------------------------


@transaction.atomic
def lead_qualify(
    *, lead: Lead | int, actor: User | None, grade: str | None = None, reason: str = ""
) -> Lead:
    """new → mql with a grade: the rule grade, or a manual grade with a reason."""
    lead = _lock(lead)
    check_action(lead=lead, actor=actor, action="qualify")
    reason = (reason or "").strip()
    if grade in (None, ""):
        if not lead.grade:
            raise ServiceError(
                _("This lead has no rule grade yet: choose a grade and give a reason."),
                field="grade",
            )
        grade = lead.grade
    if grade not in Grade.values:
        raise ServiceError(
            _("“%(grade)s” is not a grade; use A, B, C or D.") % {"grade": grade}, field="grade"
        )
    now, previous_grade = timezone.now(), lead.grade
    if grade != previous_grade:
        # Overriding (or supplying) the rule grade is a manual grade: it must say why.
        reason = _require_reason(reason)
        lead.grade_source, lead.grade_reason = GradeSource.MANUAL, reason[:500]
    lead.stage, lead.mql_at, lead.grade = Stage.MQL, now, grade
    _save(lead, ["stage", "mql_at", "grade", "grade_source", "grade_reason"])
    record_event(
        lead=lead,
        kind=EventKind.QUALIFIED,
        actor=actor,
        at=now,
        from_stage=Stage.NEW,
        to_stage=Stage.MQL,
        reason=reason,
        data={"grade": grade, "previous_grade": previous_grade, "grade_source": lead.grade_source},
    )
    if settings.AUTO_ASSIGN:
        _on_commit_route(lead)
    return lead


@transaction.atomic
def lead_disqualify(
    *, lead: Lead | int, actor: User | None, reason: str, reason_code: str | None = None
) -> Lead:
    """new/mql → disqualified, with a reason; an owner or pool place is released."""
    lead = _lock(lead)
    check_action(lead=lead, actor=actor, action="disqualify")
    reason = _require_reason(reason)
    code = _reason_code(reason_code, DisqualifyReason)
    now, from_stage, previous_owner = timezone.now(), lead.stage, lead.owner_id
    lead.stage, lead.disqualified_at, lead.disqualify_reason = Stage.DISQUALIFIED, now, code
    lead.owner, lead.in_pool = None, False
    _save(lead, ["stage", "disqualified_at", "disqualify_reason", "owner", "in_pool"])
    record_event(
        lead=lead,
        kind=EventKind.DISQUALIFIED,
        actor=actor,
        at=now,
        from_stage=from_stage,
        to_stage=Stage.DISQUALIFIED,
        reason=reason,
        data={"reason_code": code, "previous_owner": previous_owner},
    )
    return lead


def _check_owner_candidate(*, actor: User | None, owner: User) -> None:
    if not owner.is_active:
        raise ServiceError(
            _("%(user)s is not an active user.") % {"user": display_name(owner)}, field="owner"
        )
    if not has_role(owner, *SALES_ROLES):
        raise ServiceError(
            _("%(user)s is not in sales and cannot own leads.") % {"user": display_name(owner)},
            field="owner",
        )
    if (
        actor is not None
        and not actor.is_superuser
        and not has_role(actor, Role.LEAD_DESK)
        and not manages_user(actor, owner.pk)
    ):
        raise ServiceError(
            _("Sales managers can assign only to members of their own teams."), code="forbidden"
        )


def _record_assignment(
    *,
    lead: Lead,
    owner: User | None,
    previous_owner_id: int | None,
    actor: User | None,
    strategy: str,
    why: DecisionReason | None,
    reason: str,
    rule=None,
    at: dt.datetime,
) -> None:
    """The decision's record: ``why`` as code and parameters (worded in the reader's
    language when shown), ``reason`` as text in the site language (or as given, for a
    decision without a code)."""
    from assignment.models import Assignment
    from reports.sla import working_seconds

    clock = {}
    if owner is not None:
        # The decision keeps its SLA figures; compliance only aggregates them (DESIGN §8).
        clock = {
            "response_due_at": lead.response_due_at,
            "routing_work_seconds": working_seconds(lead.created_at, at),
        }
    Assignment.objects.create(
        lead=lead,
        owner=owner,
        previous_owner_id=previous_owner_id,
        actor=actor,
        strategy=strategy,
        reason=reason,
        reason_code=why.code if why else "",
        reason_params=why.params if why else {},
        rule=rule,
        rule_name=getattr(rule, "name", ""),
        at=at,
        **clock,
    )


def _reason_data(why: DecisionReason | None) -> dict[str, Any]:
    """What the decision's event keeps of ``why`` (events are append-only: written once)."""
    return {"reason_code": why.code, "reason_params": why.params} if why else {}


def _record_first_response(lead: Lead, *, author_id: int, at: dt.datetime) -> None:
    """The owner's earliest follow-up at or after their assignment stops that assignment's
    clock: ``first_response_at`` and the working seconds it took (a follow-up dated earlier
    than one already counted replaces it). Follow-ups by anyone else do not count."""
    from assignment.models import Assignment
    from reports.sla import working_seconds

    if author_id != lead.owner_id:
        return
    current = (
        Assignment.objects.filter(lead_id=lead.pk, owner_id=author_id, at__lte=at)
        .order_by("-at", "-id")
        .values("pk", "at", "first_response_at")
        .first()
    )
    if current is None or (current["first_response_at"] or at) < at:
        return
    Assignment.objects.filter(pk=current["pk"]).update(
        first_response_at=at, response_work_seconds=working_seconds(current["at"], at)
    )


@transaction.atomic
def lead_assign(
    *,
    lead: Lead | int,
    actor: User | None,
    owner: User,
    reason: str = "",
    strategy: str = "manual",
    rule=None,
    data: Mapping | None = None,
    why: DecisionReason | None = None,
) -> Lead:
    """Give the lead an owner (mql/sql/opportunity stay in their stage).

    Used by people (desk, sales managers; ``strategy="manual"``, ``reason`` is what they
    typed) and by the router (``actor=None``, with the rule and strategy that decided and
    ``why``); an owned lead is reassigned. Writes one ``LeadEvent`` and one ``Assignment``
    ("why this owner"), both with the reason as code and parameters plus its text.
    """
    lead = _lock(lead)
    check_action(lead=lead, actor=actor, action="assign")
    _check_owner_candidate(actor=actor, owner=owner)
    if lead.owner_id == owner.pk:
        raise ServiceError(
            _("%(user)s already owns this lead.") % {"user": display_name(owner)}, field="owner"
        )
    now, previous_owner = timezone.now(), lead.owner_id
    reason = (reason or "").strip()[:2000]
    if strategy == "manual":
        why = reasons.manual(user=display_name(actor), text=reason)
    if why is not None:
        reason = why.stored_text()
    lead.owner, lead.in_pool, lead.assigned_at = owner, False, now
    _start_sla_clock(lead, now)
    _save(lead, ["owner", "in_pool", "assigned_at", "response_due_at", "responded_at"])
    record_event(
        lead=lead,
        kind=EventKind.REASSIGNED if previous_owner else EventKind.ASSIGNED,
        actor=actor,
        at=now,
        from_stage=lead.stage,
        to_stage=lead.stage,
        reason=reason,
        data={
            "owner": owner.pk,
            "previous_owner": previous_owner,
            "strategy": strategy,
            "rule": getattr(rule, "pk", None),
            **_reason_data(why),
            **dict(data or {}),
        },
    )
    _record_assignment(
        lead=lead,
        owner=owner,
        previous_owner_id=previous_owner,
        actor=actor,
        strategy=strategy,
        why=why,
        reason=reason,
        rule=rule,
        at=now,
    )
    _on_commit_notify(lead, "assigned")
    return lead


@transaction.atomic
def lead_send_to_pool(
    *, lead: Lead | int, actor: User | None, reason: str = "", why: DecisionReason | None = None
) -> Lead:
    """Put an unowned lead in the pool (the router's answer when nobody is eligible).

    ``why`` (code and parameters) is the router's; ``reason`` is plain text for callers
    without a code."""
    lead = _lock(lead)
    check_action(lead=lead, actor=actor, action="assign")
    if lead.owner_id is not None or lead.in_pool:
        raise ServiceError(
            _("Only an unowned lead outside the pool can be sent to the pool."), code="wrong_stage"
        )
    if why is not None:
        reason = why.stored_text()
    now = timezone.now()
    lead.in_pool, lead.pooled_at = True, now
    _save(lead, ["in_pool", "pooled_at"])
    record_event(
        lead=lead,
        kind=EventKind.POOLED,
        actor=actor,
        at=now,
        from_stage=lead.stage,
        to_stage=lead.stage,
        reason=reason,
        data=_reason_data(why),
    )
    _record_assignment(
        lead=lead,
        owner=None,
        previous_owner_id=None,
        actor=actor,
        strategy="pool",
        why=why,
        reason=reason,
        at=now,
    )
    return lead


@transaction.atomic
def lead_accept(*, lead: Lead | int, actor: User) -> Lead:
    """Owned mql → sql: sales takes the lead."""
    lead = _lock(lead)
    check_action(lead=lead, actor=actor, action="accept")
    now = timezone.now()
    lead.stage, lead.sql_at = Stage.SQL, now
    _save(lead, ["stage", "sql_at"])
    recompute_credits([lead.pk])  # touches after sql_at stop earning credit
    record_event(
        lead=lead,
        kind=EventKind.ACCEPTED,
        actor=actor,
        at=now,
        from_stage=Stage.MQL,
        to_stage=Stage.SQL,
        data={"owner": lead.owner_id},
    )
    return lead


@transaction.atomic
def lead_reject(
    *, lead: Lead | int, actor: User, reason: str, reason_code: str | None = None
) -> Lead:
    """Owned mql → mql without owner, back to the lead desk, with a reason."""
    lead = _lock(lead)
    check_action(lead=lead, actor=actor, action="reject")
    reason = _require_reason(reason)
    code = _reason_code(reason_code, RejectReason)
    now, previous_owner = timezone.now(), lead.owner_id
    lead.owner, lead.assigned_at, lead.reject_reason = None, None, code
    _save(lead, ["owner", "assigned_at", "reject_reason"])
    record_event(
        lead=lead,
        kind=EventKind.REJECTED,
        actor=actor,
        at=now,
        from_stage=Stage.MQL,
        to_stage=Stage.MQL,
        reason=reason,
        data={"reason_code": code, "previous_owner": previous_owner},
    )
    return lead


@transaction.atomic
def lead_recycle(
    *, lead: Lead | int, actor: User | None, reason: str, reason_code: str | None = None
) -> Lead:
    """Owned mql/sql → same stage, no owner, in the pool (公海)."""
    lead = _lock(lead)
    check_action(lead=lead, actor=actor, action="recycle")
    reason = _require_reason(reason)
    code = _reason_code(reason_code, RecycleReason)
    now, previous_owner = timezone.now(), lead.owner_id
    changes = _recycled(now=now, code=code)
    for name, value in changes.items():
        setattr(lead, name, value)
    _save(lead, changes)
    record_event(
        lead=lead,
        kind=EventKind.RECYCLED,
        actor=actor,
        at=now,
        from_stage=lead.stage,
        to_stage=lead.stage,
        reason=reason,
        data=_recycle_event_data(code=code, previous_owner=previous_owner),
    )
    return lead


# The recycle transition, written once for ``lead_recycle`` and ``leads_recycle_bulk``:
# which leads qualify, what changes on the lead, and what its event records.
RECYCLE_STAGES = ACTIONS["recycle"].from_stages


def _recycled(*, now: dt.datetime, code: str) -> dict[str, Any]:
    """The lead's fields after recycling: no owner, in the pool, the SLA clock stopped."""
    return {
        "owner_id": None,
        "in_pool": True,
        "pooled_at": now,
        "recycle_reason": code,
        "response_due_at": None,
        "responded_at": None,
    }


def _recycle_event_data(*, code: Any, previous_owner: Any) -> dict[str, Any]:
    """The ``recycled`` event's data; the bulk path passes SQL expressions as values."""
    return {"reason_code": code, "previous_owner": previous_owner}


def claims_today(actor: User) -> int:
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return LeadEvent.objects.filter(kind=EventKind.CLAIMED, actor=actor, at__gte=start).count()


@transaction.atomic
def lead_claim(*, lead: Lead | int, actor: User) -> Lead:
    """A pooled lead becomes the claimer's; the row lock makes one of two racers win."""
    lead = _lock(lead)
    check_action(lead=lead, actor=actor, action="claim")
    from assignment.models import PoolPolicy

    policy = PoolPolicy.current()
    if claims_today(actor) >= policy.daily_claim_limit:
        raise ServiceError(
            _("You have reached today's limit of %(limit)d claims from the pool.")
            % {"limit": policy.daily_claim_limit},
            code="forbidden",
        )
    if policy.reclaim_cooldown_days:
        since = timezone.now() - dt.timedelta(days=policy.reclaim_cooldown_days)
        dropped = (
            LeadEvent.objects.filter(
                lead=lead,
                kind__in=[EventKind.RECYCLED, EventKind.REJECTED],
                at__gte=since,
                data__previous_owner=actor.pk,
            )
            .order_by("-at")
            .first()
        )
        if dropped is not None:
            until = timezone.localtime(dropped.at + dt.timedelta(days=policy.reclaim_cooldown_days))
            raise ServiceError(
                _("You dropped this lead on %(date)s; you may claim it again after %(until)s.")
                % {
                    "date": timezone.localtime(dropped.at).strftime("%Y-%m-%d"),
                    "until": until.strftime("%Y-%m-%d %H:%M"),
                },
                code="forbidden",
            )
    now = timezone.now()
    lead.owner, lead.in_pool, lead.assigned_at = actor, False, now
    _start_sla_clock(lead, now)
    _save(lead, ["owner", "in_pool", "assigned_at", "response_due_at", "responded_at"])
    record_event(
        lead=lead,
        kind=EventKind.CLAIMED,
        actor=actor,
        at=now,
        from_stage=lead.stage,
        to_stage=lead.stage,
        data={"owner": actor.pk},
    )
    why = DecisionReason(reasons.CLAIMED, {"user": display_name(actor)})
    _record_assignment(
        lead=lead,
        owner=actor,
        previous_owner_id=None,
        actor=actor,
        strategy="claim",
        why=why,
        reason=why.stored_text(),
        at=now,
    )
    return lead


@transaction.atomic
def lead_to_opportunity(*, lead: Lead | int, actor: User, expected_amount: Any) -> Lead:
    """sql → opportunity with an expected amount."""
    lead = _lock(lead)
    check_action(lead=lead, actor=actor, action="to_opportunity")
    amount = _money(expected_amount, "expected_amount", positive=True)
    now = timezone.now()
    lead.stage, lead.opportunity_at, lead.expected_amount = Stage.OPPORTUNITY, now, amount
    _save(lead, ["stage", "opportunity_at", "expected_amount"])
    record_event(
        lead=lead,
        kind=EventKind.TO_OPPORTUNITY,
        actor=actor,
        at=now,
        from_stage=Stage.SQL,
        to_stage=Stage.OPPORTUNITY,
        data={"expected_amount": str(amount)},
    )
    return lead


@transaction.atomic
def lead_win(*, lead: Lead | int, actor: User, amount: Any, signed_at: dt.date | None) -> Lead:
    """sql/opportunity → won with the signed amount and date."""
    lead = _lock(lead)
    check_action(lead=lead, actor=actor, action="win")
    won = _money(amount, "amount", positive=True)
    if signed_at is None:
        raise ServiceError(_("The signing date is required."), field="signed_at")
    if signed_at > timezone.localdate():
        raise ServiceError(_("The signing date cannot be in the future."), field="signed_at")
    now, from_stage = timezone.now(), lead.stage
    lead.stage, lead.won_at, lead.won_amount, lead.signed_at = Stage.WON, now, won, signed_at
    _save(lead, ["stage", "won_at", "won_amount", "signed_at"])
    record_event(
        lead=lead,
        kind=EventKind.WON,
        actor=actor,
        at=now,
        from_stage=from_stage,
        to_stage=Stage.WON,
        data={"amount": str(won), "signed_at": signed_at.isoformat()},
    )
    return lead


@transaction.atomic
def lead_lose(
    *, lead: Lead | int, actor: User, reason: str, reason_code: str | None = None
) -> Lead:
    """sql/opportunity → lost with a reason."""
    lead = _lock(lead)
    check_action(lead=lead, actor=actor, action="lose")
    reason = _require_reason(reason)
    code = _reason_code(reason_code, LoseReason)
    now, from_stage = timezone.now(), lead.stage
    lead.stage, lead.lost_at, lead.lost_reason = Stage.LOST, now, code
    _save(lead, ["stage", "lost_at", "lost_reason"])
    record_event(
        lead=lead,
        kind=EventKind.LOST,
        actor=actor,
        at=now,
        from_stage=from_stage,
        to_stage=Stage.LOST,
        reason=reason,
        data={"reason_code": code},
    )
    return lead


@transaction.atomic
def follow_up_log(
    *,
    lead: Lead | int,
    actor: User,
    method: str,
    outcome: str = "",
    note: str = "",
    at: dt.datetime | None = None,
    next_follow_up_at: dt.datetime | None = None,
) -> FollowUp:
    """Log a contact: dated now or in the past, never in the future; next one in the future."""
    lead = _lock(lead)
    check_action(lead=lead, actor=actor, action="follow_up")
    now = timezone.now()
    at = at or now
    if method not in FollowUpMethod.values:
        raise ServiceError(
            _("“%(value)s” is not a valid choice.") % {"value": method}, field="method"
        )
    if at > now + dt.timedelta(minutes=1):
        raise ServiceError(_("A follow-up cannot be dated in the future."), field="at")
    if next_follow_up_at is not None and next_follow_up_at <= now:
        raise ServiceError(
            _("The next follow-up must be in the future."), field="next_follow_up_at"
        )
    follow_up = FollowUp.objects.create(
        lead=lead,
        author=actor,
        at=at,
        method=method,
        outcome=(outcome or "")[:200],
        note=note or "",
        next_follow_up_at=next_follow_up_at,
    )
    if lead.first_contact_at is None or at < lead.first_contact_at:
        lead.first_contact_at = at
    if lead.responded_at is None and lead.assigned_at is not None and at >= lead.assigned_at:
        lead.responded_at = at  # the current owner's first response stops the SLA clock
    _record_first_response(lead, author_id=actor.pk, at=at)
    if lead.last_follow_up_at is None or at >= lead.last_follow_up_at:
        lead.last_follow_up_at = at
        lead.next_follow_up_at = next_follow_up_at
    _save(lead, ["first_contact_at", "responded_at", "last_follow_up_at", "next_follow_up_at"])
    record_event(
        lead=lead,
        kind=EventKind.FOLLOW_UP,
        actor=actor,
        at=now,
        from_stage=lead.stage,
        to_stage=lead.stage,
        data={"follow_up": follow_up.pk, "method": method, "at": at.isoformat()},
    )
    return follow_up


@dataclass
class SweepResult:
    scored: int
    routed: int


def sweep_missed_side_effects(
    *, older_than: dt.timedelta = dt.timedelta(minutes=2), limit: int = 1000
) -> SweepResult:
    """Redo scoring and routing that never ran (the broker was down when they were queued).

    Scoring is missed when ``scored_at`` is still empty; routing when a qualified lead has
    no owner, is not pooled and has no assignment decision at all (a lead rejected back to
    the desk has one, so it is left alone). Both steps are idempotent.
    """
    from assignment.services import lead_route
    from scoring.services import lead_score

    cutoff = timezone.now() - older_than
    unscored = list(
        Lead.objects.filter(scored_at__isnull=True, created_at__lt=cutoff)
        .exclude(stage__in=CLOSED_STAGES)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in unscored:
        lead_score(lead=pk)
    routed = 0
    if settings.AUTO_ASSIGN:
        unrouted = list(
            Lead.objects.filter(
                stage=Stage.MQL,
                owner__isnull=True,
                in_pool=False,
                mql_at__lt=cutoff,
                assignments__isnull=True,
            )
            .order_by("mql_at")
            .values_list("pk", flat=True)[:limit]
        )
        for pk in unrouted:
            lead_route(lead=pk)
            routed += 1
    return SweepResult(scored=len(unscored), routed=routed)


def leads_recycle_bulk(
    *, where: Q, reason: str | Expression, reason_code: str, now: dt.datetime
) -> list[tuple[int, int]]:
    """The recycle transition for every lead matching ``where`` (the SLA job), in a number
    of SQL statements that does not depend on how many leads match.

    Same rule as ``lead_recycle``: owned leads in ``RECYCLE_STAGES`` go to the pool with
    the same field values and one ``recycled`` event each (actor: the system). ``reason``
    may be an expression over the lead (e.g. a text per grade). Returns (lead id, previous
    owner) of the leads recycled.

    Concurrency: on PostgreSQL one statement locks the matching rows ``FOR UPDATE SKIP
    LOCKED`` (rows changed meanwhile are re-checked against ``where``), updates them and
    inserts their events, so a lead a rep is working on right now is left for the next
    run and two jobs never recycle one lead twice. SQLite has one writer at a time: the
    events are inserted, then the same leads updated, inside one transaction.
    """
    from django.db.models import F, IntegerField, Value
    from django.db.models.functions import Cast, JSONObject

    code = _reason_code(reason_code, RecycleReason)
    if isinstance(reason, str):
        reason = Value(reason)
    event = {
        "lead_id": F("pk"),
        "kind": Value(EventKind.RECYCLED.value),
        "from_stage": F("stage"),
        "to_stage": F("stage"),
        "actor_id": Cast(Value(None), IntegerField()),
        "at": Value(now),
        "reason": reason,
        "data": JSONObject(**_recycle_event_data(code=Value(code), previous_owner=F("owner_id"))),
    }
    picked = Lead.objects.filter(where, stage__in=RECYCLE_STAGES, owner__isnull=False)
    picked = picked.order_by("pk")
    qn = connection.ops.quote_name
    event_table = qn(LeadEvent._meta.db_table)
    event_columns = ", ".join(qn(LeadEvent._meta.get_field(n).column) for n in event)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            select_sql, select_params = (
                picked.select_for_update(skip_locked=True, of=("self",))
                .annotate(**{f"ev_{n}": e for n, e in event.items()})
                .values_list(*[f"ev_{n}" for n in event], "owner_id")
                .query.sql_with_params()
            )
            changes = {**_recycled(now=now, code=code), "updated_at": now}
            assignments, change_params = [], []
            for name, value in changes.items():
                field = Lead._meta.get_field(name)
                assignments.append(f"{qn(field.column)} = %s")
                change_params.append(field.get_db_prep_save(value, connection))
            names = [f"ev_{n}" for n in event]
            sql = (
                f"WITH picked ({', '.join(names)}, prev_owner) AS ({select_sql}), "  # noqa: S608
                f"moved AS (UPDATE {qn(Lead._meta.db_table)} AS l SET {', '.join(assignments)} "
                f"FROM picked WHERE l.id = picked.ev_lead_id RETURNING picked.*), "
                f"logged AS (INSERT INTO {event_table} ({event_columns}) "
                f"SELECT {', '.join(names)} FROM moved) "
                "SELECT ev_lead_id, prev_owner FROM moved"
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, [*select_params, *change_params])
                return [(pk, owner) for pk, owner in cursor.fetchall()]
        rows = picked.annotate(**{f"ev_{n}": e for n, e in event.items()})
        select_sql, select_params = rows.values_list(
            *[f"ev_{n}" for n in event]
        ).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {event_table} ({event_columns}) {select_sql} "
                "RETURNING lead_id, json_extract(data, '$.previous_owner')",
                select_params,
            )
            done = [(pk, owner) for pk, owner in cursor.fetchall()]
        changes = {**_recycled(now=now, code=code), "updated_at": now}
        Lead.objects.filter(pk__in=picked.values("pk")).update(**changes)
        return done
