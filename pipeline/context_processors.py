"""Template context shared by every page: the user's roles and the role-aware navigation.

The one place that says what each role sees: ``NAVIGATION`` (the menu, one list of entries
with their role predicates) and ``LANDINGS`` (the page each role starts on after login and
at ``/``). A new page adds one ``NavEntry`` here, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from leads.models import Lead
from pipeline.roles import (
    FORECAST_READERS,
    REPORT_READERS,
    SALES_ROLES,
    SCORECARD_READERS,
    Role,
    has_role,
    user_roles,
)

#: Anyone who is signed in.
EVERYONE: frozenset[str] = frozenset()


@dataclass(frozen=True)
class NavEntry:
    """One slot of the top navigation.

    ``url_name`` is reversed at render time; a slot whose URL does not exist yet (a later
    issue adds it) is simply not shown, so the menu never holds a broken link.
    ``roles`` empty means every signed-in user; ``staff`` restricts the slot to staff,
    ``superuser`` to administrators. ``when`` is a further predicate on the user (e.g.
    ``owns_leads``: a rep's own pages are not shown to a manager who owns no lead).
    """

    key: str
    label: str | Promise
    url_name: str
    roles: frozenset[str] = EVERYONE
    query: tuple[tuple[str, str], ...] = ()
    staff: bool = False
    superuser: bool = False
    when: Callable[..., bool] | None = None


SALES = frozenset(SALES_ROLES)


def owns_leads(user) -> bool:
    """Whether the rep's own pages (Today, My leads, New for me) have anything for ``user``:
    always for a sales rep; for a sales manager or an administrator only once they own a
    lead. One query per request at most, cached on the user object."""
    if Role.SALES_REP in user_roles(user):
        return True
    cached = getattr(user, "_leadloop_owns_leads", None)
    if cached is None:
        cached = Lead.objects.filter(owner_id=user.pk).exists()
        # A per-request cache on the user object, not a model field.
        user._leadloop_owns_leads = cached
    return cached


#: The menu, in display order: a rep's day first (Today, My leads, New for me, Pool), then
#: the team and the lead list, then the roles' own workspaces and the reports. Slots marked
#: "later" are filled by the issues that build those pages: they only have to register the
#: named URL.
NAVIGATION: tuple[NavEntry, ...] = (
    # A rep's tasks for today: follow-ups due, first-response clocks, leads to accept.
    NavEntry("today", _("Today"), "notifications:today", roles=SALES, when=owns_leads),
    # A rep's workspace: overdue and due-today leads first, SLA countdowns, quick follow-ups.
    NavEntry("my_leads", _("My leads"), "sales:my_leads", roles=SALES, when=owns_leads),
    # Leads assigned to me that I have not accepted yet.
    NavEntry("new_for_me", _("New for me"), "assignment:new_for_me", roles=SALES, when=owns_leads),
    # The pool (公海) page: masked contacts, claiming within the daily limit.
    NavEntry("pool", _("Pool"), "assignment:pool", roles=SALES),
    NavEntry("team", _("Team"), "sales:team", roles=frozenset({Role.SALES_MANAGER})),
    # the lead desk's work queue (商机接待): consult, qualify, rejected leads
    NavEntry("desk", _("Desk"), "leads:desk", roles=frozenset({Role.LEAD_DESK})),
    NavEntry("leads", _("Leads"), "leads:list"),
    # later: campaigns and costs (marketing)
    NavEntry(
        "campaigns",
        _("Campaigns"),
        "campaigns:list",
        roles=frozenset({Role.MARKETER, Role.LEAD_DESK, Role.MANAGER}),
    ),
    # teams, assignment rules, simulation, bulk routing, pool policy
    NavEntry(
        "assignment",
        _("Assignment"),
        "assignment:index",
        roles=frozenset({Role.LEAD_DESK, Role.SALES_MANAGER, Role.MANAGER}),
    ),
    # scoring rules and grade thresholds (the desk edits, the others read)
    NavEntry(
        "scoring",
        _("Scoring"),
        "scoring:index",
        roles=frozenset({Role.LEAD_DESK, Role.MARKETER, Role.MANAGER}),
    ),
    # SLA policies per grade, the business calendar and follow-up compliance
    NavEntry("sla", _("SLA"), "sla:policies", roles=frozenset({Role.MANAGER, Role.SALES_MANAGER})),
    # Report pages (reports/urls.py): who sees them mirrors the report endpoints.
    NavEntry("reports", _("Reports"), "reports:index", roles=REPORT_READERS),
    NavEntry("scoreboard", _("Scoreboard"), "reports:scoreboard", roles=REPORT_READERS),
    NavEntry(
        "scorecards",
        _("Scorecards"),
        "reports:scorecards",
        roles=SCORECARD_READERS,
    ),
    NavEntry("forecast", _("Forecast"), "reports:forecast", roles=FORECAST_READERS),
    # Targets and their attainment (绩效考核 against targets): everyone reads their own.
    NavEntry("attainment", _("Targets"), "reports:attainment"),
)
#: Shown on the right of the menu.
SECONDARY_NAVIGATION: tuple[NavEntry, ...] = (
    NavEntry("my_settings", _("My settings"), "notifications:settings"),
    NavEntry("api_docs", _("API docs"), "api-docs"),
    # outgoing webhooks (chat robots): configuration, administrators only
    NavEntry("webhooks", _("Webhooks"), "webhooks:list", superuser=True),
    NavEntry("admin", _("Admin"), "admin:index", staff=True),
)


@dataclass(frozen=True)
class Landing:
    """Where users holding one of ``roles`` (or administrators, ``superuser``) start."""

    url_name: str
    roles: frozenset[str] = EVERYONE
    superuser: bool = False


#: The page each role lands on after login and at ``/``: the first that applies wins, so a
#: user with several roles starts on the widest workspace. Everyone else: the lead list.
LANDINGS: tuple[Landing, ...] = (
    Landing("reports:index", superuser=True),  # administrators: the dashboard
    Landing("reports:index", roles=frozenset({Role.MANAGER})),  # managers: the dashboard
    Landing("sales:team", roles=frozenset({Role.SALES_MANAGER})),  # the team page
    Landing("leads:desk", roles=frozenset({Role.LEAD_DESK})),  # the desk queue
    Landing("campaigns:list", roles=frozenset({Role.MARKETER})),  # campaigns and costs
    Landing("notifications:today", roles=frozenset({Role.SALES_REP})),  # Today
)
FALLBACK_LANDING = "leads:list"


def landing_url(user) -> str:
    """The URL of ``user``'s own workspace (see ``LANDINGS``)."""
    roles = user_roles(user)
    for landing in LANDINGS:
        if landing.superuser:
            applies = bool(user.is_active and user.is_superuser)
        else:
            applies = bool(roles & landing.roles)
        url = url_or_none(landing.url_name) if applies else None
        if url is not None:
            return url
    return reverse(FALLBACK_LANDING)


def url_or_none(name: str, *args, **kwargs) -> str | None:
    """``reverse(name)``, or ``None`` when no such URL is registered (yet)."""
    try:
        return reverse(name, args=args or None, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


def _visible(entry: NavEntry, user) -> bool:
    if entry.superuser:
        return bool(user.is_active and user.is_superuser)
    if entry.staff:
        return bool(user.is_active and user.is_staff)
    if entry.roles and not has_role(user, *entry.roles):
        return False
    return entry.when is None or entry.when(user)


def _entry_url(entry: NavEntry, user) -> str | None:
    url = url_or_none(entry.url_name)
    if url is None:
        return None
    if entry.query:
        url += "?" + urlencode([(k, v.format(me=user.pk)) for k, v in entry.query])
    return url


def _matches(entry: NavEntry, request: HttpRequest, url: str, user) -> bool:
    path = url.partition("?")[0]
    if not request.path.startswith(path):
        return False
    return all(request.GET.get(k) == v.format(me=user.pk) for k, v in entry.query)


def build_navigation(request: HttpRequest, entries: tuple[NavEntry, ...]) -> list[dict]:
    """The entries this user may see, with their URL and whether they are the current page.

    When several entries match the current page, the most specific one is marked active:
    the longest path, then the most query parameters.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    items = []
    for entry in entries:
        if not _visible(entry, user):
            continue
        url = _entry_url(entry, user)
        if url is None:
            continue
        matches = _matches(entry, request, url, user)
        items.append(
            {
                "key": entry.key,
                "label": entry.label,
                "url": url,
                "active": matches,
                # The longest matching path wins, then the most query parameters:
                # /leads/desk/ beats /leads/, /sales/team/ beats /sales/.
                "specificity": (len(url.partition("?")[0]), len(entry.query))
                if matches
                else (-1, -1),
            }
        )
    best = max((item["specificity"] for item in items), default=(-1, -1))
    for item in items:
        item["active"] = item["active"] and item["specificity"] == best
    return items


def role_labels(user) -> list[str]:
    """Readable role names of a user, for the header."""
    if user is None or not user.is_authenticated:
        return []
    labels = [str(Role(name).label) for name in Role.values if name in user_roles(user)]
    if user.is_superuser:
        labels.insert(0, str(_("Administrator")))
    return labels


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    return {
        "user_roles": user_roles(user),
        "user_role_labels": role_labels(user),
        "nav_items": build_navigation(request, NAVIGATION),
        "nav_secondary": build_navigation(request, SECONDARY_NAVIGATION),
        "CURRENCY": settings.CURRENCY,
    }
