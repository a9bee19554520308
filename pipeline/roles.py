"""Role names (Django groups) and cheap role checks shared by every app."""

from __future__ import annotations

from typing import TypeGuard

from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    MARKETER = "marketer", _("Marketer")
    LEAD_DESK = "lead_desk", _("Lead desk")
    SALES_REP = "sales_rep", _("Sales rep")
    SALES_MANAGER = "sales_manager", _("Sales manager")
    MANAGER = "manager", _("Manager")


SALES_ROLES = frozenset({Role.SALES_REP, Role.SALES_MANAGER})
#: Roles that see every lead (with contact details): the desk, marketing, management.
SEE_ALL_ROLES = frozenset({Role.LEAD_DESK, Role.MARKETER, Role.MANAGER})
#: Who reads the period reports (the dashboard, scoreboard and calibration pages and their
#: endpoints) and follows their jobs; a rep has only their scorecard.
REPORT_READERS = frozenset({Role.MANAGER, Role.MARKETER, Role.LEAD_DESK, Role.SALES_MANAGER})
#: Who reads the scorecards: the report readers, and reps (their own card).
SCORECARD_READERS = REPORT_READERS | {Role.SALES_REP}
#: Who reads the pipeline forecast: sales (reps their own, sales managers their teams) and
#: managers (everyone); marketing and the desk own no deals.
FORECAST_READERS = frozenset({Role.SALES_REP, Role.SALES_MANAGER, Role.MANAGER})
#: Who may ask for a recompute of stored reports.
REPORT_REFRESHERS = frozenset({Role.MANAGER})


def user_roles(user: User | AnonymousUser | None) -> frozenset[str]:
    """The role names a user holds, cached on the user object for the request."""
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_leadloop_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        # A per-request cache on the user object, not a model field.
        user._leadloop_roles = cached  # type: ignore[attr-defined]
    return cached


def has_role(user: User | AnonymousUser | None, *roles: str) -> TypeGuard[User]:
    """True if the user is a superuser or holds any of ``roles`` (then a signed-in ``User``)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or bool(user_roles(user) & set(roles))


def sees_all_leads(user: User | AnonymousUser | None) -> bool:
    return has_role(user, *SEE_ALL_ROLES)
