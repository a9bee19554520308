"""Who may run which lifecycle action on a lead, from which stage: the action table.

``ACTIONS`` is the lifecycle table of ``docs/architecture.md`` as data. ``check_action``
applies it — rights before stage (403 before 409), as the API contract orders — and every
transition calls it first, so a page, the API, a bulk action and a job are refused alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assignment.selectors import manages_user
from campaigns.models import Campaign
from leads.choices import Stage
from leads.models import Lead
from pipeline.errors import ServiceError
from pipeline.roles import SALES_ROLES, Role, has_role


def is_desk(actor: User | None, lead: Lead) -> bool:
    return has_role(actor, Role.LEAD_DESK)


def acts_for_owner(actor: User | None, lead: Lead) -> bool:
    """The owner, a manager of a team the owner belongs to, or a superuser."""
    if actor is None or not actor.is_authenticated:
        return False
    if actor.is_superuser:
        return True
    if lead.owner_id is not None and lead.owner_id == actor.pk:
        return True
    return has_role(actor, Role.SALES_MANAGER) and manages_user(actor, lead.owner_id)


def can_assign(actor: User | None, lead: Lead) -> bool:
    if has_role(actor, Role.LEAD_DESK):
        return True
    if has_role(actor, Role.SALES_MANAGER):
        # A sales manager moves leads that are unowned or owned inside their own teams.
        return lead.owner_id is None or manages_user(actor, lead.owner_id)
    return False


def can_recycle(actor: User | None, lead: Lead) -> bool:
    return acts_for_owner(actor, lead)


def can_claim(actor: User | None, lead: Lead) -> bool:
    return has_role(actor, *SALES_ROLES)


@dataclass(frozen=True)
class ActionRule:
    """One row of the lifecycle table."""

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
            "qualify", frozenset({Stage.NEW}), is_desk, system_allowed=True, who="lead desk"
        ),
        ActionRule("disqualify", frozenset({Stage.NEW, Stage.MQL}), is_desk, who="lead desk"),
        ActionRule(
            "assign",
            frozenset({Stage.MQL, Stage.SQL, Stage.OPPORTUNITY}),
            can_assign,
            system_allowed=True,
            who="lead desk or sales manager",
        ),
        ActionRule("accept", frozenset({Stage.MQL}), acts_for_owner, owned=True, who="owner"),
        ActionRule("reject", frozenset({Stage.MQL}), acts_for_owner, owned=True, who="owner"),
        ActionRule(
            "recycle",
            frozenset({Stage.MQL, Stage.SQL}),
            can_recycle,
            owned=True,
            system_allowed=True,
            who="owner or team manager",
        ),
        ActionRule(
            "claim",
            frozenset({Stage.MQL, Stage.SQL, Stage.OPPORTUNITY}),
            can_claim,
            pooled=True,
            who="sales",
        ),
        ActionRule(
            "to_opportunity", frozenset({Stage.SQL}), acts_for_owner, owned=True, who="owner"
        ),
        ActionRule(
            "win",
            frozenset({Stage.SQL, Stage.OPPORTUNITY}),
            acts_for_owner,
            owned=True,
            who="owner",
        ),
        ActionRule(
            "lose",
            frozenset({Stage.SQL, Stage.OPPORTUNITY}),
            acts_for_owner,
            owned=True,
            who="owner",
        ),
        ActionRule(
            "follow_up",
            frozenset({Stage.MQL, Stage.SQL, Stage.OPPORTUNITY}),
            acts_for_owner,
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


def can_use_campaign(actor: User | None, campaign: Campaign | None) -> bool:
    """Whether ``actor`` may enter a lead in ``campaign`` or move a lead to it (DESIGN §1).

    The system (capture, import), the desk and administrators use any campaign; a marketer
    only their own (or none); nobody else sets a lead's source campaign, because it moves
    that campaign's figures.
    """
    if actor is None or has_role(actor, Role.LEAD_DESK):
        return True
    if not has_role(actor, Role.MARKETER):
        return False
    return campaign is None or campaign.owner_id == actor.pk


def campaigns_usable_by(actor: User | None) -> QuerySet[Campaign]:
    """The campaigns a lead form offers ``actor`` (``can_use_campaign`` as a query)."""
    campaigns = Campaign.objects.select_related("channel").order_by("-start_date", "-id")
    if actor is None or has_role(actor, Role.LEAD_DESK):
        return campaigns
    if has_role(actor, Role.MARKETER):
        return campaigns.filter(owner=actor)
    return campaigns.none()


def can_create_lead(actor: User | None, campaign: Campaign | None = None) -> bool:
    """Marketers and the desk enter leads; ``None`` is the system (capture, import).

    A marketer enters leads only in their own campaigns (``can_use_campaign``); without a
    campaign the answer says whether ``actor`` may enter leads at all.
    """
    if actor is not None and not has_role(actor, Role.MARKETER, Role.LEAD_DESK):
        return False
    return can_use_campaign(actor, campaign)


def marketer_may_edit(actor: User | None, lead: Lead) -> bool:
    """A marketer edits a lead of their own campaign that sales has not had yet: open,
    with no owner and never sent to the pool (DESIGN §1)."""
    if not has_role(actor, Role.MARKETER) or lead.source_campaign_id is None:
        return False
    if lead.owner_id is not None or lead.in_pool or not lead.is_open:
        return False
    return lead.source_campaign is not None and lead.source_campaign.owner_id == actor.pk


def can_edit_lead(actor: User | None, lead: Lead) -> bool:
    """The desk and administrators edit any lead; the owner and their managers their own
    leads; a marketer only as ``marketer_may_edit`` says. Nobody edits an erased lead: its
    person asked to be forgotten (``leads.privacy``), so no contact may be typed back."""
    if lead.erased_at is not None:
        return False
    return (
        has_role(actor, Role.LEAD_DESK)
        or acts_for_owner(actor, lead)
        or marketer_may_edit(actor, lead)
    )


#: Stages in which a lead may have an owner (assign, claim and routing act on these).
OWNABLE_STAGES = ACTIONS["assign"].from_stages
#: Stages from which a lead can be recycled to the pool.
RECYCLE_STAGES = ACTIONS["recycle"].from_stages
