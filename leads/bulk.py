"""Bulk actions on a selection of leads, for every list page, the desk and the API.

One path: the selection is narrowed to the leads the actor may see (any other id is
refused as "not found" and never touched), then each lead goes through
``leads.actions.run_bulk`` — the registry's check, input and service, one transaction
per lead — except ``assign``, which runs set-based (``bulk_assign``: the lifecycle's
set-based transition, or the set-based router) — and the result names every refused
lead with its reason. Only the actions
the actor's role may run at all are offered (``offered_actions``: the lifecycle rules'
own check, no copy of them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assignment.bulk import leads_route_set
from assignment.selectors import POOLED, routing_outcome
from leads import lifecycle
from leads.actions import BulkResult, get_action, parse_input, run_bulk
from leads.actions import check as check_action
from leads.choices import DisqualifyReason, RecycleReason
from leads.models import Lead
from leads.selectors import lead_owner_choices, leads_visible_to
from pipeline.errors import ServiceError
from pipeline.people import display_name_with_username
from pipeline.roles import SALES_ROLES, has_role
from pipeline.text import joined, labelled

#: The actions lists offer for a selection, in the order of the bulk bar.
BULK_ACTIONS = ("assign", "qualify", "disqualify", "recycle", "claim", "accept")
#: Each action's inputs on a bulk form (the registry parses them).
BULK_PARAMS: dict[str, tuple[str, ...]] = {
    "assign": ("owner", "reason"),
    "qualify": (),
    "disqualify": ("reason_code", "reason"),
    "recycle": ("reason_code", "reason"),
    "claim": (),
    "accept": (),
}
#: The most leads one bulk run (or one export of a selection) takes.
BULK_CAP = 500
#: Not an action of the registry: a file of the selection, offered to every reader.
BULK_EXPORT = "export"
#: How many refused leads a summary names before it says "and N more".
BULK_REFUSALS_SHOWN = 8

_DONE = {
    "assign": gettext_lazy("%(done)d assigned, %(refused)d refused"),
    "qualify": gettext_lazy("%(done)d qualified, %(refused)d refused"),
    "disqualify": gettext_lazy("%(done)d disqualified, %(refused)d refused"),
    "recycle": gettext_lazy("%(done)d recycled to the pool, %(refused)d refused"),
    "claim": gettext_lazy("%(done)d claimed, %(refused)d refused"),
    "accept": gettext_lazy("%(done)d accepted, %(refused)d refused"),
}


def offered_actions(
    user: User | AnonymousUser | None, names: Iterable[str] = BULK_ACTIONS
) -> list[str]:
    """The actions of ``names`` the user's role may run on some lead.

    The registry's check on a probe lead in a stage the action starts from (the user's
    own lead when they may own leads, else an unowned one; pooled for ``claim``), so
    the rules stay in ``leads.lifecycle.rules``. No query.
    """
    if user is None or not user.is_authenticated:
        return []
    owns = has_role(user, *SALES_ROLES)
    found = []
    for name in names:
        rule = lifecycle.ACTIONS[name]
        probe = Lead(
            stage=sorted(rule.from_stages)[0],
            owner_id=user.pk if owns and rule.owned is True else None,
            in_pool=rule.pooled is True,
        )
        try:
            check_action(lead=probe, actor=user, name=name)
        except ServiceError as error:
            if error.code == "forbidden":
                continue
        found.append(name)
    return found


def bulk_data(name: str, post: Mapping[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """The action's inputs from a form (``assign-owner``, or plain ``owner``)."""
    data = {}
    for param in BULK_PARAMS.get(name, ()):
        value = post.get(f"{prefix}{param}") if prefix else None
        data[param] = value if value is not None else post.get(param, "")
    return data


def bulk_run(
    *, actor: User, name: str, lead_ids: Iterable[int], data: Mapping[str, Any] | None = None
) -> BulkResult:
    """Run ``name`` on each of ``lead_ids`` the actor may see; the rest are refused.

    Ids outside the actor's visibility are refused as not found and never read further.
    Reassigning an owned lead needs a reason (it is stored on the assignment record
    like the single-lead assign's). ``ServiceError`` when the whole run is refused: an
    action that is not a bulk action or not the role's (403), more than ``BULK_CAP``
    leads, or input no lead could be run with (``ActionInputError``).
    """
    if name not in BULK_ACTIONS:
        raise ServiceError(
            _("“%(action)s” is not a bulk action.") % {"action": name}, field="action"
        )
    if name not in offered_actions(actor, (name,)):
        raise ServiceError(
            _("Your role may not run “%(action)s” on leads.") % {"action": get_action(name).title},
            code="forbidden",
        )
    ids = list(dict.fromkeys(lead_ids))
    if not ids:
        raise ServiceError(_("Select at least one lead first."), field="ids")
    if len(ids) > BULK_CAP:
        raise ServiceError(
            _("At most %(cap)d leads at once; narrow the selection.") % {"cap": BULK_CAP},
            field="ids",
        )
    data = dict(data or {})
    owners = dict(
        leads_visible_to(actor).filter(pk__in=ids).values_list("pk", "owner_id").order_by()
    )
    refused: dict[int, str] = {pk: _("Lead not found.") for pk in ids if pk not in owners}
    if name == "assign" and not str(data.get("reason") or "").strip():
        for pk, owner_id in owners.items():
            if owner_id is not None:
                refused[pk] = _("Give a reason to reassign a lead that already has an owner.")
    runnable = [pk for pk in ids if pk not in refused]
    if not runnable:
        result = BulkResult()
    elif name == "assign":
        result = bulk_assign(lead_ids=runnable, actor=actor, data=data)
    else:
        result = run_bulk(name=name, lead_ids=runnable, actor=actor, data=data)
    refused.update(result.refused)
    return BulkResult(done=result.done, refused=[(pk, refused[pk]) for pk in ids if pk in refused])


def bulk_assign(*, lead_ids: list[int], actor: User, data: Mapping[str, Any]) -> BulkResult:
    """The ``assign`` action on a selection, set-based: to the named owner (a reassignment
    of owned leads included) through ``lifecycle.leads_assign_bulk``, or without one by the
    rules through ``assignment.bulk.leads_route_set`` — the same checks and records as the
    action one lead at a time, in a number of queries that does not grow with the leads."""
    values = parse_input("assign", data)  # bad input refuses the whole run, as run_bulk
    owner, reason = values.get("owner"), values.get("reason") or ""
    result = BulkResult()
    refused: dict[int, str] = {}
    if owner is not None:
        with transaction.atomic():
            locked = {
                lead.pk: lead
                for lead in lifecycle.lock_leads(lead_ids, fields=lifecycle.ASSIGN_COLUMNS)
            }
            decisions = [
                lifecycle.OwnerDecision(lead=locked[pk], owner_id=owner.pk, reason=reason)
                for pk in lead_ids
                if pk in locked
            ]
            done = lifecycle.leads_assign_bulk(decisions=decisions, actor=actor)
        refused.update(done.refused)
        result.done = done.done
    else:
        leads = Lead.objects.in_bulk(lead_ids)
        routable = []
        for pk in lead_ids:
            lead = leads.get(pk)
            try:
                if lead is None:
                    raise ServiceError(_("Lead not found."), code="not_found")
                check_action(lead=lead, actor=actor, name="assign")
                if lead.owner_id is not None:
                    raise ServiceError(
                        _("This lead already has an owner; name the new owner to reassign it."),
                        code="wrong_stage",
                    )
            except ServiceError as error:
                refused[pk] = error.message
                continue
            routable.append(pk)
        routed = leads_route_set(lead_ids=routable, actor=actor, include_pooled=True)
        refused.update({error["lead"]: error["detail"] for error in routed.errors})
        result.done = routed.done
    result.refused = [(pk, refused[pk]) for pk in lead_ids if pk in refused]
    return result


def bulk_summary(name: str, result: BulkResult, names: Mapping[int, str]) -> str:
    """ "12 qualified, 2 refused: Lead A (#5): …; Lead B (#9): …"."""
    refused = result.refused
    text = _DONE[name] % {"done": len(result.done), "refused": len(refused)}
    if not refused:
        return text + "."
    shown = [
        labelled(f"{names[pk]} (#{pk})", message) if names.get(pk) else labelled(f"#{pk}", message)
        for pk, message in refused[:BULK_REFUSALS_SHOWN]
    ]
    details = joined(shown)
    if len(refused) > BULK_REFUSALS_SHOWN:
        details += " " + _("… and %(n)d more.") % {"n": len(refused) - BULK_REFUSALS_SHOWN}
    return labelled(text, details)


def bulk_pooled(lead_ids: list[int]) -> list[str]:
    """One sentence per lead routing sent to the pool, or none (issue #14):
    "Lead A (#5) went to the pool: No assignment rule matched (not filled in: Region) …"."""
    pooled = Lead.objects.filter(pk__in=lead_ids, in_pool=True).order_by("pk")
    lines = []
    for pk, name in pooled.values_list("pk", "name"):
        outcome = routing_outcome(pk)
        if outcome is not None and outcome.outcome == POOLED:
            lines.append(
                _("%(name)s (#%(pk)d) went to the pool: %(reason)s")
                % {"name": name, "pk": pk, "reason": outcome.message()}
            )
    return lines


def selection_names(user: User, result: BulkResult) -> dict[int, str]:
    """Names of the refused leads the user may see (a hidden id stays a bare number)."""
    ids = [pk for pk, _message in result.refused]
    return dict(leads_visible_to(user).filter(pk__in=ids).values_list("pk", "name").order_by())


def bulk_bar(
    request: HttpRequest,
    *,
    names: Iterable[str] = BULK_ACTIONS,
    matching: int | None = None,
    export: bool = True,
    fixed: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The context of ``leads/_bulk_bar.html``: the actions of ``names`` the role may run,
    their inputs and, for a filtered list, how many leads "all matching" would take."""
    user = request.user
    actions = offered_actions(user, names)
    owners: list[tuple[str, str]] = []
    if "assign" in actions:
        owners = [
            (str(owner.pk), display_name_with_username(owner)) for owner in lead_owner_choices(user)
        ]
    query = request.GET.copy()
    for key in ("page", "view", "cols"):
        query.pop(key, None)
    for key, value in (fixed or {}).items():
        # The page's own scope (the pool: in_pool=true) as a filter "all matching" keeps.
        query[key] = value
    return {
        "actions": actions,
        "export": export,
        "owners": owners,
        "disqualify_reasons": DisqualifyReason.choices,
        "recycle_reasons": RecycleReason.choices,
        "next": request.get_full_path(),
        "query": query.urlencode(),
        "matching": matching,
        "cap": BULK_CAP,
        "all_allowed": matching is not None and 0 < matching <= BULK_CAP,
        "active": bool(actions) or export,
    }
