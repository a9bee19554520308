"""The action registry: every action a person runs on a lead, from every entry point.

Pages, the API, bulk actions and the desk all call ``run_action(lead=…, actor=…,
name=…, data=…)``. For each action the registry holds one input spec (``Param``s: the
page form and the API body are built from it), the check that refuses it (rights, then
stage: 403 before 409) and the one service call that carries it out. So an action is
refused the same way, takes the same input and does the same thing wherever it is
started; adding an action means adding one ``Action`` here (see
``docs/architecture.md``).

Order of refusals, as the API contract states: the caller resolves the lead within the
user's visibility (404), ``run_action`` checks the action (403, 409), then parses the
input (400: ``ActionInputError`` names every bad field), then the service runs (its own
400/409 for rules on the values).

This module sits above scoring and routing (it calls ``lead_assign_or_route``, the
desk's grading and the consult), below the views and the API.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, cast

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assignment.selectors import POOLED, routing_outcome
from assignment.services import lead_assign_or_route
from leads import lifecycle
from leads.choices import (
    DisqualifyReason,
    FollowUpMethod,
    Grade,
    LoseReason,
    RecycleReason,
    RejectReason,
    Stage,
)
from leads.lifecycle.fields import FIELDS_BY_NAME, LeadField
from leads.lifecycle.primitives import REASON_MAX_LENGTH
from leads.lifecycle.rules import is_desk
from leads.models import Lead
from pipeline.errors import ServiceError
from pipeline.people import display_name, display_name_with_username, people_ordering
from pipeline.roles import SALES_ROLES
from scoring.services import (
    check_desk,
    check_grading,
    lead_reset_grade,
    lead_score,
    lead_set_grade,
)

#: How an instant is written in a page's ``datetime-local`` input.
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"

ParamKind = Literal[
    "text", "long_text", "choice", "grade", "money", "date", "datetime", "user", "decision"
]


def sales_users() -> QuerySet[User]:
    """Active users who may own leads, in people order."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=SALES_ROLES)
        .distinct()
        .order_by(*people_ordering())
    )


# --------------------------------------------------------------------------------------
# The input spec
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One input of an action. Whether a value is *required by the rules* (a reason to
    reject) is the service's business; ``required`` here means the input cannot be
    parsed without it."""

    name: str
    kind: ParamKind
    label: Promise
    required: bool = False
    max_length: int | None = None
    choices: type[models.TextChoices] | tuple[tuple[str, Promise], ...] | None = None
    help_text: Promise | str = ""
    #: Suggested value on the page, from the lead.
    initial: Callable[[Lead], Any] | None = None
    #: Text inputs: ``rows`` of the page's text area (0: a one-line input).
    rows: int = 0

    @classmethod
    def from_lead_field(cls, spec: LeadField, *, rows: int = 0) -> Param:
        """A lead write field as an action input (the consult edits some of them)."""
        kinds: dict[str, ParamKind] = {"money": "money", "choice": "choice"}
        return cls(
            name=spec.name,
            kind=kinds.get(spec.kind, "long_text" if rows else "text"),
            label=spec.label,
            max_length=spec.max_length,
            choices=spec.choices,
            required=spec.kind == "choice" and spec.name != "company_size",
            rows=rows,
            initial=operator.attrgetter(spec.name) if spec.on_lead else None,
        )

    def choice_list(self) -> list[tuple[str, Any]]:
        if self.choices is None:
            return []
        if isinstance(self.choices, tuple):
            return list(self.choices)
        return list(self.choices.choices)


def _reason(
    *, label: Promise | None = None, name: str = "reason", help_text: Promise | str = ""
) -> Param:
    return Param(
        name,
        "long_text",
        label or gettext_lazy("Reason"),
        max_length=REASON_MAX_LENGTH,
        help_text=help_text,
        rows=2,
    )


def _reason_code(choices: type[models.TextChoices]) -> Param:
    return Param("reason_code", "choice", gettext_lazy("Reason code"), choices=choices)


def _money(name: str, label: Promise, *, initial: Callable[[Lead], Any] | None = None) -> Param:
    return Param(name, "money", label, required=True, initial=initial)


# --------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    name: str
    title: Promise
    hint: Promise
    params: tuple[Param, ...]
    #: ``run(lead=…, actor=…, **values)``: the one service call.
    run: Callable[..., Any]
    #: ``check(lead, actor)`` raises ``ServiceError`` (403/409) when the action is refused.
    check: Callable[[Lead, User | None], None]
    #: Styled as a closing or handing-over step on pages.
    danger: bool = False
    #: The page's message after success, from the result.
    success: Callable[[Any], str] = field(default=lambda _result: _("Done."))


def _lifecycle_check(name: str) -> Callable[[Lead, User | None], None]:
    return lambda lead, actor: lifecycle.check_action(lead=lead, actor=actor, action=name)


def with_routing(text: str, lead_id: int) -> str:
    """``text`` and where routing sent the lead, worded from the coded reason of its
    decision (issue #14: no silent pool; ``assignment.selectors.routing_outcome``)."""
    outcome = routing_outcome(lead_id)
    return f"{text} {outcome.message()}" if outcome is not None else text


def _assign_message(result: Lead) -> str:
    if result.owner_id is not None:
        return _("Lead assigned to %(user)s.") % {"user": display_name(result.owner)}
    outcome = routing_outcome(result.pk)
    if outcome is not None and outcome.outcome == POOLED:
        return outcome.message()
    return _("The lead was not assigned.")


def _consult_message(result: ConsultResult) -> str:
    lead = result.lead
    if result.decision == "qualify":
        text = _("%(name)s qualified as MQL with grade %(grade)s.") % {
            "name": lead.name,
            "grade": lead.grade,
        }
        return with_routing(text, lead.pk)
    if result.decision == "disqualify":
        return _("%(name)s disqualified.") % {"name": lead.name}
    return _("Consult notes saved for %(name)s.") % {"name": lead.name}


def _qualify_blank(lead: Lead | None) -> str:
    if lead is not None and lead.grade:
        return _("Keep the rule grade (%(grade)s)") % {"grade": lead.grade}
    return _("— choose a grade —")


def _consult_blank(lead: Lead | None) -> str:
    if lead is not None and lead.grade:
        return _("Suggested grade (%(grade)s)") % {"grade": lead.grade}
    return _("— choose a grade —")


# --------------------------------------------------------------------------------------
# The desk's consult: one service over several lifecycle steps
# --------------------------------------------------------------------------------------

CONSULT_DECISIONS = (
    ("save", gettext_lazy("Save the notes")),
    ("qualify", gettext_lazy("Save and qualify")),
    ("disqualify", gettext_lazy("Save and disqualify")),
)
#: The lead fields the consulting call fills in.
CONSULT_LEAD_FIELDS = ("product_interest", "budget", "timeline", "decision_role", "need")
#: Where a refusal of a consult step points on the consult input (its field names).
_CONSULT_ERROR_FIELDS = {
    "qualify": {"grade": "grade", "reason": "grade_reason"},
    "disqualify": {"reason": "disqualify_reason", "reason_code": "reason_code"},
}


@dataclass
class ConsultResult:
    lead: Lead
    decision: str


def check_consult(lead: Lead, actor: User | None) -> None:
    """The desk consults leads; the decision's own checks (stage, grade, reason) run when
    it is carried out."""
    if not is_desk(actor, lead):
        raise ServiceError(_("Only the lead desk consults leads."), code="forbidden")


@transaction.atomic
def lead_consult(
    *,
    lead: Lead,
    actor: User,
    decision: str = "save",
    grade: str = "",
    grade_reason: str = "",
    reason_code: str = "",
    disqualify_reason: str = "",
    **fields: Any,
) -> ConsultResult:
    """Save what the consulting call found out and carry out the decision, all or nothing.

    Before qualifying, the lead is rescored in the same transaction, so the suggested
    (rule) grade already reflects the call. A refusal names the consult's own field
    (``grade_reason`` for a qualify reason, ``disqualify_reason`` for a disqualify one).
    """
    decision = decision or "save"
    try:
        lifecycle.lead_update(
            lead=lead, actor=actor, fields={k: fields[k] for k in CONSULT_LEAD_FIELDS}
        )
        if decision == "qualify":
            # Not None: lead_update above locked the lead, so it is still there.
            scored = cast(Lead, lead_score(lead=lead.pk))
            if scored.stage == Stage.NEW:
                done = lifecycle.lead_qualify(
                    lead=lead.pk, actor=actor, grade=grade or None, reason=grade_reason
                )
            elif grade and grade != scored.grade:
                # Auto-qualification (a scoring setting) already made it an MQL.
                done = lead_set_grade(lead=scored, actor=actor, grade=grade, reason=grade_reason)
            else:
                done = scored
            return ConsultResult(lead=done, decision=decision)
        if decision == "disqualify":
            done = lifecycle.lead_disqualify(
                lead=lead.pk,
                actor=actor,
                reason=disqualify_reason,
                reason_code=reason_code or None,
            )
            return ConsultResult(lead=done, decision=decision)
    except ServiceError as error:
        moved = _CONSULT_ERROR_FIELDS.get(decision, {}).get(error.field or "")
        if moved:
            raise ServiceError(error.message, code=error.code, field=moved) from error
        raise
    return ConsultResult(lead=Lead.objects.get(pk=lead.pk), decision=decision)


# --------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------


def _run_assign(*, lead: Lead, actor: User, owner: User | None = None, reason: str = "") -> Lead:
    return lead_assign_or_route(lead=lead, actor=actor, owner=owner, reason=reason)


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action(
            "qualify",
            gettext_lazy("Qualify"),
            gettext_lazy("New → MQL with a grade; routing follows."),
            (
                Param("grade", "grade", gettext_lazy("Grade"), choices=Grade),
                _reason(
                    help_text=gettext_lazy("Required when the grade differs from the rule grade.")
                ),
            ),
            run=lambda *, lead, actor, grade="", reason="": lifecycle.lead_qualify(
                lead=lead, actor=actor, grade=grade or None, reason=reason
            ),
            check=_lifecycle_check("qualify"),
            success=lambda lead: with_routing(_("Lead qualified as MQL."), lead.pk),
        ),
        Action(
            "disqualify",
            gettext_lazy("Disqualify"),
            gettext_lazy("Close the lead as not worth pursuing."),
            (_reason_code(DisqualifyReason), _reason()),
            run=lambda *, lead, actor, reason="", reason_code="": lifecycle.lead_disqualify(
                lead=lead, actor=actor, reason=reason, reason_code=reason_code or None
            ),
            check=_lifecycle_check("disqualify"),
            danger=True,
            success=lambda _lead: _("Lead disqualified."),
        ),
        Action(
            "assign",
            gettext_lazy("Assign"),
            gettext_lazy("Give the lead an owner, or let the rules decide."),
            (Param("owner", "user", gettext_lazy("Owner")), _reason()),
            run=_run_assign,
            check=_lifecycle_check("assign"),
            success=_assign_message,
        ),
        Action(
            "accept",
            gettext_lazy("Accept"),
            gettext_lazy("Take the lead: MQL → SQL."),
            (),
            run=lifecycle.lead_accept,
            check=_lifecycle_check("accept"),
            success=lambda _lead: _("Lead accepted; it is now an SQL."),
        ),
        Action(
            "reject",
            gettext_lazy("Reject"),
            gettext_lazy("Send the lead back to the lead desk with a reason."),
            (_reason_code(RejectReason), _reason()),
            run=lambda *, lead, actor, reason="", reason_code="": lifecycle.lead_reject(
                lead=lead, actor=actor, reason=reason, reason_code=reason_code or None
            ),
            check=_lifecycle_check("reject"),
            danger=True,
            success=lambda _lead: _("Lead rejected and sent back to the lead desk."),
        ),
        Action(
            "recycle",
            gettext_lazy("Recycle to pool"),
            gettext_lazy("Release the lead to the pool for other reps."),
            (_reason_code(RecycleReason), _reason()),
            run=lambda *, lead, actor, reason="", reason_code="": lifecycle.lead_recycle(
                lead=lead, actor=actor, reason=reason, reason_code=reason_code or None
            ),
            check=_lifecycle_check("recycle"),
            danger=True,
            success=lambda _lead: _("Lead recycled to the pool."),
        ),
        Action(
            "claim",
            gettext_lazy("Claim"),
            gettext_lazy("Take this lead from the pool."),
            (),
            run=lifecycle.lead_claim,
            check=_lifecycle_check("claim"),
            success=lambda _lead: _("Lead claimed; it is yours now."),
        ),
        Action(
            "to_opportunity",
            gettext_lazy("Convert to opportunity"),
            gettext_lazy("SQL → opportunity with an expected amount."),
            (_money("expected_amount", gettext_lazy("Expected amount")),),
            run=lifecycle.lead_to_opportunity,
            check=_lifecycle_check("to_opportunity"),
            success=lambda _lead: _("Lead converted to an opportunity."),
        ),
        Action(
            "win",
            gettext_lazy("Mark as won"),
            gettext_lazy("Close the deal as won."),
            (
                _money(
                    "amount",
                    gettext_lazy("Signed amount"),
                    initial=lambda lead: lead.expected_amount or None,
                ),
                Param(
                    "signed_at",
                    "date",
                    gettext_lazy("Signed on"),
                    required=True,
                    initial=lambda _lead: timezone.localdate(),
                ),
            ),
            run=lifecycle.lead_win,
            check=_lifecycle_check("win"),
            success=lambda _lead: _("Deal won. Congratulations!"),
        ),
        Action(
            "lose",
            gettext_lazy("Mark as lost"),
            gettext_lazy("Close the deal as lost."),
            (_reason_code(LoseReason), _reason()),
            run=lambda *, lead, actor, reason="", reason_code="": lifecycle.lead_lose(
                lead=lead, actor=actor, reason=reason, reason_code=reason_code or None
            ),
            check=_lifecycle_check("lose"),
            danger=True,
            success=lambda _lead: _("Deal marked as lost."),
        ),
        Action(
            "follow_up",
            gettext_lazy("Log a follow-up"),
            gettext_lazy("Record a call, visit or message."),
            (
                Param(
                    "method",
                    "choice",
                    gettext_lazy("Method"),
                    required=True,
                    choices=FollowUpMethod,
                ),
                Param("outcome", "text", gettext_lazy("Outcome"), max_length=200),
                Param("note", "long_text", gettext_lazy("Note"), rows=2),
                Param(
                    "at",
                    "datetime",
                    gettext_lazy("Contacted at"),
                    help_text=gettext_lazy("Leave empty for now."),
                ),
                Param("next_follow_up_at", "datetime", gettext_lazy("Next follow-up")),
            ),
            run=lifecycle.follow_up_log,
            check=_lifecycle_check("follow_up"),
            success=lambda _follow_up: _("Follow-up logged."),
        ),
        Action(
            "grade",
            gettext_lazy("Grade by hand"),
            gettext_lazy("Set the grade yourself, with a reason; it stays until reset."),
            (
                Param(
                    "grade",
                    "choice",
                    gettext_lazy("Grade"),
                    choices=Grade,
                    initial=lambda lead: lead.grade or None,
                ),
                _reason(),
            ),
            run=lead_set_grade,
            check=check_grading,
            success=lambda lead: (
                _("%(name)s is now graded %(grade)s by hand.")
                % {"name": lead.name, "grade": lead.grade}
            ),
        ),
        Action(
            "reset_grade",
            gettext_lazy("Reset the grade"),
            gettext_lazy("Drop the manual grade: the rule grade applies again."),
            (),
            run=lead_reset_grade,
            check=check_desk,
            success=lambda lead: (
                _("The manual grade was dropped; %(name)s has the rule grade %(grade)s again.")
                % {"name": lead.name, "grade": lead.grade or "–"}
            ),
        ),
        Action(
            "consult",
            gettext_lazy("Consult"),
            gettext_lazy("Record what the call found out, then qualify or disqualify."),
            (
                *(
                    Param.from_lead_field(FIELDS_BY_NAME[name], rows=3 if name == "need" else 0)
                    for name in CONSULT_LEAD_FIELDS
                ),
                Param("grade", "grade", gettext_lazy("Grade"), choices=Grade),
                _reason(
                    name="grade_reason",
                    label=gettext_lazy("Why this grade"),
                    help_text=gettext_lazy("Required when you override the suggested grade."),
                ),
                _reason_code(DisqualifyReason),
                _reason(name="disqualify_reason"),
                Param("decision", "decision", gettext_lazy("Decision"), choices=CONSULT_DECISIONS),
            ),
            run=lead_consult,
            check=check_consult,
            success=_consult_message,
        ),
    )
}
#: The lifecycle table's actions, in its order (the lead page's action panel).
LIFECYCLE_ACTIONS = tuple(name for name in lifecycle.ACTIONS if name in ACTIONS)


def get_action(name: str) -> Action:
    try:
        return ACTIONS[name]
    except KeyError:
        raise ServiceError(
            _("Unknown action “%(action)s”.") % {"action": name}, code="not_found"
        ) from None


# --------------------------------------------------------------------------------------
# Parsing input: one form per action, built from its spec
# --------------------------------------------------------------------------------------


class ActionInputError(ServiceError):
    """Input an action cannot be run with: every bad field with its messages (HTTP 400)."""

    def __init__(self, errors: Mapping[str, Iterable[object]], labels: Mapping[str, str]):
        self.errors = {name: [str(m) for m in messages] for name, messages in errors.items()}
        self.field_lines = [
            _("%(field)s: %(errors)s") % {"field": labels[name], "errors": " ".join(messages)}
            if name in labels
            else " ".join(messages)
            for name, messages in self.errors.items()
        ]
        first = next(iter(self.errors), None)
        super().__init__(
            self.field_lines[0] if self.field_lines else _("Invalid input."), field=first
        )

    @property
    def lines(self) -> list[str]:
        return self.field_lines

    def as_dict(self) -> dict[str, Any]:
        return {**self.errors, "detail": self.message, "code": self.code}


# Generic only in the stubs (no django_stubs_ext monkeypatch at run time), so unparametrised.
class UserChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: User) -> str:
        return display_name_with_username(obj)


def _form_field(param: Param) -> forms.Field:
    common: dict[str, Any] = {
        "label": param.label,
        "required": param.required,
        "help_text": param.help_text,
    }
    kind = param.kind
    if kind in ("text", "long_text"):
        widget: forms.Widget | type[forms.Widget] | None = (
            forms.Textarea(attrs={"rows": param.rows}) if param.rows else None
        )
        return forms.CharField(max_length=param.max_length, widget=widget, **common)
    if kind in ("choice", "grade", "decision"):
        field_class = forms.TypedChoiceField if kind != "decision" else forms.ChoiceField
        widget = forms.HiddenInput if kind == "decision" else None
        return field_class(choices=param.choice_list(), widget=widget, **common)
    if kind == "money":
        return forms.DecimalField(
            max_digits=14,
            decimal_places=2,
            min_value=Decimal("0.01") if param.required else Decimal("0"),
            **common,
        )
    if kind == "date":
        return forms.DateField(
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **common
        )
    if kind == "datetime":
        return forms.DateTimeField(
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
            **common,
        )
    if kind == "user":
        return UserChoiceField(
            queryset=get_user_model().objects.all(),
            # People pickers get a text box that narrows the options (static/js/app.js).
            widget=forms.Select(attrs={"data-searchable": ""}),
            empty_label=gettext_lazy("Let the assignment rules decide"),
            **common,
        )
    raise ValueError(f"Unknown parameter kind {kind!r}")


class ActionForm(forms.Form):
    """The input of one action, built from its ``Param``s (``action_form``)."""

    action: Action

    def __init__(self, *args: Any, lead: Lead | None = None, **kwargs: Any):
        self.lead = lead
        super().__init__(*args, **kwargs)
        for param in self.action.params:
            form_field = self.fields[param.name]
            if param.kind == "grade":
                blank = (_consult_blank if self.action.name == "consult" else _qualify_blank)(lead)
                cast(forms.ChoiceField, form_field).choices = [("", blank), *param.choice_list()]
            if param.initial is not None and lead is not None and not self.is_bound:
                form_field.initial = param.initial(lead)

    def values(self) -> dict[str, Any]:
        """The parsed input as the service takes it."""
        return {param.name: self.cleaned_data.get(param.name) for param in self.action.params}


@functools.cache
def action_form_class(name: str) -> type[ActionForm]:
    action = get_action(name)
    attrs: dict[str, Any] = {param.name: _form_field(param) for param in action.params}
    attrs["action"] = action
    return type(f"{name.title().replace('_', '')}ActionForm", (ActionForm,), attrs)


def action_form(
    name: str,
    *,
    lead: Lead | None = None,
    data: Mapping[str, Any] | None = None,
    owners: QuerySet[User] | None = None,
    owner_choices: list[tuple[str, str]] | None = None,
    **kwargs: Any,
) -> ActionForm:
    """The action's form, bound to ``data`` when given.

    For a page, ``owners`` narrows the owners offered, or ``owner_choices`` gives them
    read once for many forms (no query per form). Parsing accepts any user: whether this
    one may own the lead is the service's rule.
    """
    form = action_form_class(name)(data, lead=lead, **kwargs)
    if "owner" in form.fields and data is None:
        owner = cast(UserChoiceField, form.fields["owner"])
        if owner_choices is not None:
            owner.choices = [("", owner.empty_label), *owner_choices]
        else:
            owner.queryset = owners if owners is not None else sales_users()
    return form


def owner_choices(owners: QuerySet[User] | None = None) -> list[tuple[str, str]]:
    """Salespeople as plain choices, read once for a page of forms."""
    return [
        (str(user.pk), display_name_with_username(user))
        for user in (owners if owners is not None else sales_users())
    ]


def parse_input(name: str, data: Any, *, lead: Lead | None = None) -> dict[str, Any]:
    """The action's input, parsed; ``ActionInputError`` names every bad field."""
    if data is None:
        data = {}
    if not hasattr(data, "get") or not hasattr(data, "__contains__"):
        raise ActionInputError({"detail": [_("Send the action's fields as an object.")]}, {})
    form = action_form(name, lead=lead, data=data)
    if not form.is_valid():
        labels = {name: str(form.fields[name].label) for name in form.errors if name in form.fields}
        raise ActionInputError(form.errors, labels)
    return form.values()


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------


def check(*, lead: Lead, actor: User | None, name: str) -> None:
    """Raise ``ServiceError`` (403, 409) unless ``actor`` may run ``name`` on ``lead`` now."""
    get_action(name).check(lead, actor)


def allowed(*, lead: Lead, actor: User | None, names: Iterable[str] | None = None) -> list[str]:
    """The actions of ``names`` (default: the lifecycle's) that ``actor`` may run now."""
    found = []
    for name in LIFECYCLE_ACTIONS if names is None else names:
        try:
            check(lead=lead, actor=actor, name=name)
        except ServiceError:
            continue
        found.append(name)
    return found


def run_action(*, lead: Lead, actor: User | None, name: str, data: Any = None) -> Any:
    """Check, parse, run: the one way an action on a lead is carried out.

    ``lead`` is a lead the actor may see (the caller answers 404 otherwise). Returns what
    the service returns (the lead, or the follow-up for ``follow_up``).
    """
    action = get_action(name)
    action.check(lead, actor)
    values = parse_input(name, data, lead=lead)
    return action.run(lead=lead, actor=actor, **values)


@dataclass
class BulkResult:
    """What a bulk run did: ids changed, and (id, message) of each refused lead."""

    done: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.done) + len(self.refused)


def run_bulk(
    *, name: str, lead_ids: Iterable[int], actor: User | None, data: Any = None
) -> BulkResult:
    """``run_action`` on each lead of ``lead_ids`` (in order, duplicates once), one
    transaction each, so a refused lead never undoes the others; refusals are collected
    with their message instead of stopping the run. The caller passes only leads the
    actor may see. Bad input refuses the whole run before any lead is touched
    (``ActionInputError``); an unknown action is a programming error (``ValueError``).
    """
    if name not in ACTIONS:
        raise ValueError(f"Unknown action {name!r}")
    parse_input(name, data)
    ids = list(dict.fromkeys(lead_ids))
    leads = Lead.objects.in_bulk(ids)
    result = BulkResult()
    for pk in ids:
        lead = leads.get(pk)
        try:
            if lead is None:
                raise ServiceError(_("Lead not found."), code="not_found")
            with transaction.atomic():
                run_action(lead=lead, actor=actor, name=name, data=data)
        except ServiceError as error:
            result.refused.append((pk, error.message))
        else:
            result.done.append(pk)
    return result
