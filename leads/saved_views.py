"""Saved views of the lead list: a name, the list's filter querystring and chosen columns.

A view is private to its owner, shared with one of the owner's sales teams, or (for
managers) shared company-wide. A shared view is only filters: whoever opens it applies
them to the leads *they* may see (``leads_visible_to``), so sharing never widens
anyone's visibility. Only the owner deletes a view.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assignment.models import Team
from leads.choices import ViewScope
from leads.models import SavedView
from pipeline.errors import ServiceError
from pipeline.roles import Role, has_role

#: The lead list's columns, in display order; ``name`` is always shown.
LEAD_LIST_COLUMNS: tuple[tuple[str, Promise], ...] = (
    ("name", gettext_lazy("Name")),
    ("company", gettext_lazy("Company")),
    ("contact", gettext_lazy("Contact details")),
    ("stage", gettext_lazy("Stage")),
    ("grade", gettext_lazy("Grade")),
    ("score", gettext_lazy("Score")),
    ("owner", gettext_lazy("Owner")),
    ("source", gettext_lazy("Source")),
    ("next_follow_up_at", gettext_lazy("Next follow-up")),
    ("created_at", gettext_lazy("Created")),
)
COLUMN_KEYS = tuple(key for key, _label in LEAD_LIST_COLUMNS)
#: Query parameters that are not filters: never stored in a view.
_NOT_FILTERS = frozenset({"page", "cursor", "view", "cols", "csrfmiddlewaretoken"})
QUERY_MAX_LENGTH = 2000
#: Who may share a view with the whole company.
COMPANY_SHARERS = (Role.MANAGER, Role.SALES_MANAGER)


def clean_columns(columns: Iterable[str] | None) -> list[str]:
    """Known columns in display order, ``name`` always first; empty: every column."""
    chosen = {str(key) for key in columns or ()}
    if not chosen & set(COLUMN_KEYS):
        return list(COLUMN_KEYS)
    return [key for key in COLUMN_KEYS if key in chosen or key == "name"]


def clean_query(query: str) -> str:
    """The filter part of a list querystring (no page, cursor, view or column parameters)."""
    pairs = parse_qsl((query or "").lstrip("?"), keep_blank_values=False)
    return urlencode([(key, value) for key, value in pairs if key not in _NOT_FILTERS])


def user_team_ids(user: User | AnonymousUser | None) -> set[int]:
    """The sales teams ``user`` belongs to or manages."""
    if user is None or not user.is_authenticated:
        return set()
    return set(
        Team.objects.filter(Q(memberships__user=user) | Q(manager=user)).values_list(
            "pk", flat=True
        )
    )


def saved_views_for(user: User | AnonymousUser | None) -> QuerySet[SavedView]:
    """The views ``user`` may pick: their own, their teams' and the company-wide ones."""
    if user is None or not user.is_authenticated:
        return SavedView.objects.none()
    teams = Team.objects.filter(Q(memberships__user=user) | Q(manager=user)).values("pk")
    return (
        SavedView.objects.filter(
            Q(owner=user) | Q(scope=ViewScope.COMPANY) | Q(scope=ViewScope.TEAM, team__in=teams)
        )
        .select_related("owner", "team")
        .order_by("name", "id")
    )


def shareable_teams(user: User | AnonymousUser | None) -> QuerySet[Team]:
    """The teams ``user`` may share a view with (their own teams)."""
    if user is None or not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(pk__in=user_team_ids(user)).order_by("name")


def can_share_company_wide(user: User | AnonymousUser | None) -> bool:
    return has_role(user, *COMPANY_SHARERS)


@transaction.atomic
def saved_view_create(
    *,
    actor: User,
    name: str,
    query: str = "",
    columns: Iterable[str] | None = None,
    scope: str = ViewScope.PRIVATE,
    team: Team | None = None,
) -> SavedView:
    """Save a view for ``actor``; refusals name the field (``ServiceError``)."""
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("Give the view a name."), field="name")
    if len(name) > 80:
        raise ServiceError(_("The name is too long (80 characters at most)."), field="name")
    scope = scope or ViewScope.PRIVATE
    if scope not in ViewScope.values:
        raise ServiceError(_("Choose who sees the view."), field="scope")
    if scope == ViewScope.TEAM:
        if team is None:
            raise ServiceError(_("Choose the team to share the view with."), field="team")
        if team.pk not in user_team_ids(actor):
            raise ServiceError(
                _("You can share a view only with a team you belong to."),
                code="forbidden",
                field="team",
            )
    else:
        team = None
    if scope == ViewScope.COMPANY and not can_share_company_wide(actor):
        raise ServiceError(
            _("Only managers share views with everyone."), code="forbidden", field="scope"
        )
    cleaned = clean_query(query)
    if len(cleaned) > QUERY_MAX_LENGTH:
        raise ServiceError(_("These filters are too long to save."), field="query")
    unknown = [key for key in columns or () if key not in COLUMN_KEYS]
    if unknown:
        raise ServiceError(
            _("Unknown column “%(column)s”.") % {"column": unknown[0]}, field="columns"
        )
    try:
        with transaction.atomic():
            return SavedView.objects.create(
                owner=actor,
                name=name,
                query=cleaned,
                columns=clean_columns(columns) if columns else [],
                scope=scope,
                team=team,
            )
    except IntegrityError:
        raise ServiceError(
            _("You already have a view named “%(name)s”.") % {"name": name}, field="name"
        ) from None


@transaction.atomic
def saved_view_delete(*, actor: User, view: SavedView) -> None:
    """Delete ``view``; only its owner may."""
    if view.owner_id != actor.pk:
        raise ServiceError(_("Only the owner deletes a saved view."), code="forbidden")
    view.delete()
