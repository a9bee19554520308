"""The lead lifecycle core: every write to a lead that has a rule goes through here.

Modules, low to high (each imports only those before it):

- ``primitives`` — lock the row, append an event, check a reason or an amount;
- ``fields`` — the write fields of a lead (one spec) and ``clean_lead_fields``;
- ``announcements`` — what the core announces and who subscribed (side effects);
- ``rules`` — the action table: who may run which action from which stage;
- ``arrival`` — a person arrives: a new lead, or a touch on their open lead;
- ``editing`` — contact, company and need fields;
- ``ownership`` — assign, pool, recycle, claim; the assignment record and its SLA clock;
- ``transitions`` — qualify, disqualify, accept, reject, to opportunity, win, lose;
- ``followups`` — calls, visits and messages, and the first response they record.

Above this package, ``leads.actions`` is the action registry every entry point (pages,
API, bulk, desk) calls; it is not a module of the core.

The core imports nothing above it (no scoring, routing, notifications, reports): it
announces what happened and those apps subscribe (``announcements``). Import what you
need from this package: ``from leads import lifecycle`` then ``lifecycle.lead_qualify(…)``.
See ``docs/architecture.md``.
"""

from leads.lifecycle.announcements import Announcement, announce, subscribe, subscriptions
from leads.lifecycle.arrival import (
    LeadCreateResult,
    company_for,
    find_open_duplicate,
    lead_create,
)
from leads.lifecycle.editing import lead_update, may_set_expected_close
from leads.lifecycle.fields import (
    LEAD_FIELDS,
    LEAD_OWN_FIELDS,
    WRITABLE_FIELDS,
    clean_lead_fields,
)
from leads.lifecycle.followups import follow_up_log
from leads.lifecycle.ownership import (
    ASSIGN_COLUMNS,
    OwnerDecision,
    OwnershipResult,
    claims_today,
    lead_assign,
    lead_claim,
    lead_recycle,
    lead_send_to_pool,
    leads_assign_bulk,
    leads_recycle_bulk,
)
from leads.lifecycle.primitives import arriving, lock_lead, lock_leads, record_event, require_reason
from leads.lifecycle.rules import (
    ACTIONS,
    OWNABLE_STAGES,
    RECYCLE_STAGES,
    allowed_actions,
    campaigns_usable_by,
    can_create_lead,
    can_edit_lead,
    can_use_campaign,
    check_action,
)
from leads.lifecycle.transitions import (
    lead_accept,
    lead_disqualify,
    lead_lose,
    lead_qualify,
    lead_reject,
    lead_to_opportunity,
    lead_win,
    leads_qualify_automatically,
)

__all__ = [
    "ACTIONS",
    "ASSIGN_COLUMNS",
    "LEAD_FIELDS",
    "LEAD_OWN_FIELDS",
    "OWNABLE_STAGES",
    "RECYCLE_STAGES",
    "WRITABLE_FIELDS",
    "Announcement",
    "LeadCreateResult",
    "OwnerDecision",
    "OwnershipResult",
    "allowed_actions",
    "announce",
    "arriving",
    "campaigns_usable_by",
    "can_create_lead",
    "can_edit_lead",
    "can_use_campaign",
    "check_action",
    "claims_today",
    "clean_lead_fields",
    "company_for",
    "find_open_duplicate",
    "follow_up_log",
    "lead_accept",
    "lead_assign",
    "lead_claim",
    "lead_create",
    "lead_disqualify",
    "lead_lose",
    "lead_qualify",
    "lead_recycle",
    "lead_reject",
    "lead_send_to_pool",
    "lead_to_opportunity",
    "lead_update",
    "lead_win",
    "leads_assign_bulk",
    "leads_qualify_automatically",
    "leads_recycle_bulk",
    "lock_lead",
    "lock_leads",
    "may_set_expected_close",
    "record_event",
    "require_reason",
    "subscribe",
    "subscriptions",
]
