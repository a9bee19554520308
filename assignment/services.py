"""Routing of qualified leads to an owner.

Routing order (DESIGN §6): company stickiness → the first matching active assignment rule
whose team has an eligible member → the pool. A lead is never left with nobody: when no
owner can be found it goes to the pool.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from leads.choices import CLOSED_STAGES, Stage
from leads.models import Lead
from leads.services import lead_assign, lead_send_to_pool
from pipeline.errors import ServiceError
from pipeline.roles import SALES_ROLES

logger = logging.getLogger(__name__)

ROUTABLE_STAGES = frozenset({Stage.MQL, Stage.SQL, Stage.OPPORTUNITY})


def sticky_owner_for(lead: Lead) -> User | None:
    """The owner of another open, owned lead of the same company (company stickiness)."""
    if lead.company_id is None:
        return None
    other = (
        Lead.objects.filter(
            company_id=lead.company_id,
            owner__isnull=False,
            owner__is_active=True,
            owner__groups__name__in=SALES_ROLES,
        )
        .exclude(pk=lead.pk)
        .exclude(stage__in=CLOSED_STAGES)
        .select_related("owner")
        .order_by("assigned_at", "id")
        .first()
    )
    return other.owner if other else None


@transaction.atomic
def lead_route(*, lead: Lead | int, actor: User | None = None) -> Lead:
    """Decide the owner of an unowned, routable lead and write the decision.

    Safe to run twice: a lead that already has an owner or sits in the pool is left alone.
    """
    pk = lead.pk if isinstance(lead, Lead) else lead
    locked = Lead.objects.select_for_update().filter(pk=pk).first()
    if locked is None:
        raise ServiceError(_("Lead not found."), code="not_found")
    if locked.owner_id is not None or locked.in_pool or locked.stage not in ROUTABLE_STAGES:
        return locked
    owner = sticky_owner_for(locked)
    if owner is not None:
        return lead_assign(
            lead=locked,
            actor=actor,
            owner=owner,
            reason=_("Company stickiness: %(user)s already owns an open lead of %(company)s.")
            % {"user": owner.get_username(), "company": locked.company},
            data={"strategy": "company_stickiness"},
        )
    return lead_send_to_pool(
        lead=locked,
        actor=actor,
        reason=_("No assignment rule found an eligible salesperson; the lead went to the pool."),
    )
