"""Reads of leads, always through the user's visibility (applied here and only here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Case, F, Q, QuerySet, Value, When

from assignment.selectors import team_member_ids_managed_by
from campaigns.models import Campaign
from campaigns.selectors import campaigns_visible_to
from leads.choices import Stage
from leads.models import FollowUp, Lead, LeadEvent
from pipeline.keyset import KeysetOrder
from pipeline.people import people_ordering
from pipeline.roles import SALES_ROLES, Role, has_role, sees_all_leads

#: The orders of the long queues, pages and API alike, read page after page by keyset
#: cursor (``pipeline.keyset``; docs/architecture.md, "Lists at any size"). Each is served
#: by its index (``tests/pipeline/test_list_plans.py``).
#: The desk's new leads: best score first, then the longest waiting (``lead_desk_queue``).
DESK_QUEUE_ORDER = KeysetOrder("desk", F("score"), descending=True, then=F("created_at"))
#: The pool: best score, then the longest pooled (``lead_pool_order``; the lifecycle sets
#: ``pooled_at`` whenever it pools a lead).
POOL_ORDER = KeysetOrder("pool", F("score"), descending=True, then=F("pooled_at"))
#: "New for me": newest assignment first (``lead_owner_new``).
NEW_FOR_ME_ORDER = KeysetOrder(
    "new-for-me", F("assigned_at"), descending=True, nullable=True, index_descending=True
)
#: The routing page's unowned MQLs: longest waiting first (``lead_unowned_mql``; an MQL
#: always has ``mql_at``).
ROUTE_ORDER = KeysetOrder("route", F("mql_at"))
#: Imports, newest first (``import_job_created_id``, read backwards for the oldest first:
#: the API's ``?ordering=created_at``).
IMPORT_ORDER = KeysetOrder("imports", F("created_at"), descending=True)
IMPORT_ORDERS = {
    "-created_at": IMPORT_ORDER,
    "created_at": KeysetOrder("imports-oldest", F("created_at")),
}


def lead_visibility_q(user: User | AnonymousUser | None) -> Q | None:
    """The filter a user's lead visibility adds; ``None`` means every lead."""
    if sees_all_leads(user):
        return None
    if has_role(user, *SALES_ROLES):
        condition = Q(owner=user) | Q(in_pool=True)
        if has_role(user, Role.SALES_MANAGER):
            condition |= Q(owner__in=team_member_ids_managed_by(user))
        return condition
    return Q(pk__in=[])


def leads_visible_to(user: User | AnonymousUser | None) -> QuerySet[Lead]:
    """Every lead ``user`` may see, with what list pages and the API read."""
    queryset = Lead.objects.select_related("company", "owner", "source_campaign__channel")
    if user is None or not user.is_authenticated:
        return queryset.none()
    condition = lead_visibility_q(user)
    return queryset if condition is None else queryset.filter(condition)


def new_for_owner_q(owner_id: int) -> Q:
    """ "New for me": leads this user owns and has not accepted (or rejected) yet — still
    MQLs. The one definition behind the "New for me" page, the "New for you" count of My
    leads and the per-rep "new" column of the team page."""
    return Q(owner_id=owner_id, stage=Stage.MQL)


def is_new_for_owner(lead: Lead) -> bool:
    """``new_for_owner_q`` for a lead in hand (no query): owned and still an MQL."""
    return lead.owner_id is not None and lead.stage == Stage.MQL


def new_for_me(user: User) -> QuerySet[Lead]:
    """The leads new for ``user`` (``new_for_owner_q``) that they may see."""
    return leads_visible_to(user).filter(new_for_owner_q(user.pk))


def lead_owner_choices(user: User | AnonymousUser | None) -> QuerySet[User]:
    """The owners ``user`` may filter leads by (lists, API, exports, routing pages): every
    salesperson for those who see every lead; a sales manager themself and their teams'
    members; a rep only themself. Never an administrator, who owns no leads."""
    in_sales = User.objects.filter(groups__name__in=SALES_ROLES).values("pk")
    # A subquery, not DISTINCT: PostgreSQL refuses DISTINCT with the people ordering.
    sales = User.objects.filter(pk__in=in_sales, is_superuser=False).order_by(*people_ordering())
    if sees_all_leads(user):
        return sales
    if not has_role(user, *SALES_ROLES):
        return sales.none()
    condition = Q(pk=user.pk)
    if has_role(user, Role.SALES_MANAGER):
        condition |= Q(pk__in=team_member_ids_managed_by(user))
    return sales.filter(condition)


def lead_campaign_choices(user: User | AnonymousUser | None) -> QuerySet[Campaign]:
    """The campaigns ``user`` may filter leads by: every campaign for those who read the
    campaigns (``campaigns_visible_to``); for sales only the source campaigns of the leads
    they (or their teams) own — never a list of everybody's campaigns."""
    if sees_all_leads(user):
        return campaigns_visible_to(user)
    if user is None or not has_role(user, *SALES_ROLES):
        return Campaign.objects.none()
    # The owners they see, spelled out (not "visible and not pooled", an OR the planner
    # cannot narrow): an index look-up per owner instead of a scan of every lead.
    owners = Q(owner_id=user.pk)
    if has_role(user, Role.SALES_MANAGER):
        owners |= Q(owner_id__in=team_member_ids_managed_by(user))
    owned = Lead.objects.filter(owners, in_pool=False, source_campaign__isnull=False).order_by()
    return Campaign.objects.filter(pk__in=owned.values("source_campaign_id"))


#: How many campaigns a campaign picker offers for one search.
CAMPAIGN_SEARCH_LIMIT = 20


def campaign_search(
    campaigns: QuerySet[Campaign], *, text: str, limit: int = CAMPAIGN_SEARCH_LIMIT
) -> QuerySet[Campaign]:
    """Up to ``limit`` of ``campaigns`` (a scope: who may pick which) whose name contains
    ``text`` in any case: names starting with it first, then by name. Empty ``text``: the
    first by name.

    Every campaign picker (``pipeline.widgets.SearchSelect``) asks this as the person types,
    never a drop-down of every campaign. On PostgreSQL the trigram index on the upper-cased
    name (``campaign_name_trgm``, campaigns migration 0006) serves the match."""
    text = (text or "").strip()[:100]
    campaigns = campaigns.select_related(None).only("pk", "name")
    if not text:
        return campaigns.order_by("name", "pk")[:limit]
    starts = Case(When(name__istartswith=text, then=Value(0)), default=Value(1))
    return campaigns.filter(name__icontains=text).order_by(starts, "name", "pk")[:limit]


def lead_campaign_search(
    user: User | AnonymousUser | None, *, text: str, limit: int = CAMPAIGN_SEARCH_LIMIT
) -> QuerySet[Campaign]:
    """``campaign_search`` among the campaigns ``user`` may filter leads by
    (``lead_campaign_choices``, the one scope): the lead filters' campaign picker."""
    return campaign_search(lead_campaign_choices(user), text=text, limit=limit)


def pool_contacts_masked(user: User | AnonymousUser | None) -> bool:
    """Whether ``user`` sees the contact details of pooled leads masked (``contact_masked``
    for a lead in hand; exports ask once per file)."""
    return not sees_all_leads(user)


def contact_masked(user: User | AnonymousUser | None, lead: Lead) -> bool:
    """Contact details of a pooled lead are hidden from sales until someone claims it."""
    return lead.in_pool and pool_contacts_masked(user)


def mask_phone(phone: str) -> str:
    if len(phone) <= 7:
        return "*" * len(phone)
    return f"{phone[:-8]}****{phone[-4:]}"


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    if not domain:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_text(text: str) -> str:
    return f"{text[:1]}***" if text else ""


def lead_events(lead: Lead) -> QuerySet[LeadEvent]:
    """The timeline, oldest first (unmasked: for code that writes or computes)."""
    return lead.events.select_related("actor").order_by("at", "id")


_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
#: A run of at least 7 digits, optionally with +, spaces, dashes, dots or brackets inside.
_PHONE_RE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().-]{5,}\d(?!\w)")
_DATE_RE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?!\d)")
#: ``wxid_…`` ids, and an id written after the word WeChat (微信, wx, vx …).
_WECHAT_RE = re.compile(
    r"\bwxid_[A-Za-z0-9_-]+"
    r"|(?P<label>(?:wechat|weixin|微信号?|威信|wx|vx|v信)\s*(?:id|号)?\s*[:：是为]?\s*)"
    r"(?P<id>[A-Za-z][A-Za-z0-9_-]{5,19})",
    re.IGNORECASE,
)


def _mask_phone_match(match: re.Match[str]) -> str:
    text = match.group(0)
    date = _DATE_RE.match(text)
    if date:  # a date is not a phone number; what follows it may still be one
        return date.group(0) + _PHONE_RE.sub(_mask_phone_match, text[date.end() :])
    digits = re.sub(r"\D", "", text)
    if len(digits) < 7:
        return text
    return mask_phone(("+" if text.startswith("+") else "") + digits)


def _mask_wechat_match(match: re.Match[str]) -> str:
    if match.group("id"):
        return match.group("label") + mask_text(match.group("id"))
    return mask_text(match.group(0))


def mask_free_text(text: str) -> str:
    """Free text (a reason, a note) with anything that looks like a phone number, an email
    address or a WeChat id masked as the contact fields are. The one masking of free text:
    the API, the timeline page and the follow-up lists all get it through
    ``lead_events_for`` and ``lead_follow_ups_for``."""
    if not text:
        return text
    text = _EMAIL_RE.sub(lambda m: mask_email(m.group(0)), text)
    text = _WECHAT_RE.sub(_mask_wechat_match, text)
    return _PHONE_RE.sub(_mask_phone_match, text)


def _mask_texts(value: Any) -> Any:
    if isinstance(value, str):
        return mask_free_text(value)
    if isinstance(value, list):
        return [_mask_texts(item) for item in value]
    if isinstance(value, dict):
        return {key: _mask_texts(item) for key, item in value.items()}
    return value


def lead_events_for(user: User | AnonymousUser | None, lead: Lead) -> list[LeadEvent]:
    """The timeline as ``user`` may read it: for a user who sees the lead masked, contact
    values in the event data and phone numbers, emails and WeChat ids in reasons and data
    texts are masked. The events are in-memory copies for display; never save them."""
    events = list(lead_events(lead))
    if contact_masked(user, lead):
        for event in events:
            event.reason = mask_free_text(event.reason)
            if isinstance(event.data, dict):
                event.data = masked_event_data(event.data)
    return events


def lead_follow_ups_for(user: User | AnonymousUser | None, lead: Lead) -> list[FollowUp]:
    """The follow-ups, newest first, as ``user`` may read them: outcome and note masked with
    ``mask_free_text`` when the lead's contacts are masked for them (an earlier owner's
    note often carries the number they called). In-memory rows for display; never save."""
    rows = list(lead.follow_ups.select_related("author").order_by("-at", "-id"))
    if contact_masked(user, lead):
        for row in rows:
            row.outcome, row.note = mask_free_text(row.outcome), mask_free_text(row.note)
    return rows


#: How each contact field is masked for users who may not see it.
CONTACT_MASKERS = {"phone": mask_phone, "email": mask_email, "wechat": mask_text}


def mask_contact(key: str, value: Any) -> Any:
    if not value or key not in CONTACT_MASKERS:
        return value
    return CONTACT_MASKERS[key](str(value))


def masked_event_data(data: dict[str, Any]) -> dict[str, Any]:
    """An event's data with contact values masked (edits record old and new values), and
    every other text with ``mask_free_text``."""
    masked = {
        key: mask_contact(key, value) if key in CONTACT_MASKERS else _mask_texts(value)
        for key, value in data.items()
    }
    changed = data.get("changed")
    if isinstance(changed, dict):
        masked["changed"] = {
            key: [
                mask_contact(key, v) if key in CONTACT_MASKERS else _mask_texts(v) for v in values
            ]
            if isinstance(values, list)
            else _mask_texts(values)
            for key, values in changed.items()
        }
    return masked


@dataclass(frozen=True)
class Contact:
    """A lead's contact details as one user may see them."""

    phone: str
    email: str
    wechat: str
    masked: bool


def contact_for(user: User | AnonymousUser | None, lead: Lead) -> Contact:
    """The lead's contact details as ``user`` may see them (masked in the pool for sales):
    the only way pages get a lead's phone, email and WeChat."""
    if contact_masked(user, lead):
        return Contact(
            phone=mask_phone(lead.phone) if lead.phone else "",
            email=mask_email(lead.email) if lead.email else "",
            wechat=mask_text(lead.wechat),
            masked=True,
        )
    return Contact(phone=lead.phone, email=lead.email, wechat=lead.wechat, masked=False)
