"""The lead desk's workspace (商机接待): the queue of new leads and the leads sales rejected.

Pages for the lead desk only. As everywhere, views are thin: a form parses the input, a
service of ``leads.services`` / ``scoring.services`` / ``assignment.services`` does the
work, and a refusal (``ServiceError``) becomes a message or a field error. Both queues are
paginated, and each page costs the same number of queries however many leads wait.

``lead_detail_extras`` adds the desk's grade forms and the "why this owner" box to the
lead detail page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from assignment.models import Assignment
from assignment.services import lead_assign_or_route
from leads import services
from leads.bulk import bulk_apply
from leads.choices import (
    DisqualifyReason,
    EventKind,
    Grade,
    GradeSource,
    RejectReason,
    Stage,
)
from leads.forms import lead_form_field, sales_users
from leads.lifecycle.fields import lead_fields
from leads.models import Lead, LeadEvent
from leads.selectors import leads_visible_to
from leads.views import contact_for, form_error_messages
from pipeline.errors import ServiceError
from pipeline.people import display_name, display_name_with_username
from pipeline.roles import Role, has_role
from scoring.services import lead_reset_grade, lead_score, lead_set_grade

User = get_user_model()

PAGE_SIZES = (25, 50, 100)
#: How many refused leads a bulk summary names before it says "and N more".
BULK_REFUSALS_SHOWN = 8


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _require_desk(request: HttpRequest):
    user = request.user
    if not has_role(user, Role.LEAD_DESK):
        raise PermissionDenied(_("Only the lead desk works in the desk workspace."))
    return user


def _next_url(request: HttpRequest, default: str) -> str:
    """The ``next`` field of a form when it points into this site, else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _page_size(request: HttpRequest) -> int:
    try:
        size = int(request.GET.get("page_size", PAGE_SIZES[0]))
    except ValueError:
        return PAGE_SIZES[0]
    return size if size in PAGE_SIZES else PAGE_SIZES[0]


def _user_name(user) -> str:
    return display_name(user)


def _choice_label(choices, code: str) -> str:
    try:
        return str(choices(code).label)
    except ValueError:
        return code or ""


@dataclass(frozen=True)
class AgeBadge:
    css: str
    label: str
    title: str


def age_badge(since: dt.datetime, now: dt.datetime) -> AgeBadge:
    """How long a lead has waited: green under an hour, amber under a day, red after."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 3600:
        css, label = "age-fresh", _("%(n)d min") % {"n": seconds // 60}
    elif seconds < 86400:
        css, label = "age-today", _("%(n)d h") % {"n": seconds // 3600}
    else:
        css, label = "age-old", _("%(n)d d") % {"n": seconds // 86400}
    title = _("Waiting since %(when)s") % {
        "when": formats.date_format(timezone.localtime(since), "SHORT_DATETIME_FORMAT")
    }
    return AgeBadge(css=css, label=label, title=title)


def _owner_choices() -> list[tuple[str, str]]:
    """Salespeople as plain choices, read once per page (not once per row)."""
    rows = []
    for user in sales_users():
        rows.append((str(user.pk), display_name_with_username(user)))
    return rows


# --------------------------------------------------------------------------------------
# Forms (parse and type-check only; the rules are the services')
# --------------------------------------------------------------------------------------


def _reason_field(label, *, help_text=None) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=2000,
        required=False,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _grade_choices(lead: Lead | None) -> list[tuple[str, str]]:
    if lead is not None and lead.grade:
        blank = _("Suggested grade (%(grade)s)") % {"grade": lead.grade}
    else:
        blank = _("— choose a grade —")
    return [("", blank), *Grade.choices]


class ConsultForm(forms.Form):
    """What the consulting call found out, and what to do with the lead next."""

    DECISIONS = (
        ("save", gettext_lazy("Save the notes")),
        ("qualify", gettext_lazy("Save and qualify")),
        ("disqualify", gettext_lazy("Save and disqualify")),
    )
    #: The lead fields this form writes (through ``leads.services.lead_update``).
    LEAD_FIELDS = tuple(
        field.name
        for field in lead_fields(
            ("product_interest", "budget", "timeline", "decision_role", "need")
        )
    )

    product_interest = lead_form_field("product_interest")
    budget = lead_form_field("budget")
    timeline = lead_form_field("timeline", initial=None)
    decision_role = lead_form_field("decision_role", initial=None)
    need = lead_form_field("need", widget=forms.Textarea(attrs={"rows": 3}))
    grade = forms.ChoiceField(label=gettext_lazy("Grade"), required=False)
    grade_reason = _reason_field(
        gettext_lazy("Why this grade"),
        help_text=gettext_lazy("Required when you override the suggested grade."),
    )
    reason_code = forms.ChoiceField(
        label=gettext_lazy("Reason code"), choices=DisqualifyReason.choices, required=False
    )
    disqualify_reason = _reason_field(gettext_lazy("Reason"))
    # Set by the submit button that was pressed; Enter in a field means "save".
    decision = forms.ChoiceField(choices=DECISIONS, required=False, widget=forms.HiddenInput)

    #: Where the service's field names land on this form, per decision.
    ERROR_FIELDS = {
        "qualify": {"grade": "grade", "reason": "grade_reason"},
        "disqualify": {"reason": "disqualify_reason", "reason_code": "reason_code"},
    }

    def __init__(self, *args, lead: Lead | None = None, **kwargs):
        self.lead = lead
        if lead is not None:
            kwargs.setdefault("auto_id", f"id_consult{lead.pk}_%s")
            kwargs.setdefault("initial", self.initial_for(lead))
        super().__init__(*args, **kwargs)
        self.fields["grade"].choices = _grade_choices(lead)

    @classmethod
    def initial_for(cls, lead: Lead) -> dict[str, Any]:
        return {name: getattr(lead, name) for name in cls.LEAD_FIELDS}

    def lead_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.LEAD_FIELDS}

    def clean_decision(self) -> str:
        return self.cleaned_data.get("decision") or "save"

    def add_service_error(self, error: ServiceError) -> None:
        decision = self.cleaned_data.get("decision", "save")
        name = self.ERROR_FIELDS.get(decision, {}).get(error.field or "", error.field)
        self.add_error(name if name in self.fields else None, error.message)


class GradeForm(forms.Form):
    """The desk grades a lead by hand (kept until reset)."""

    grade = forms.ChoiceField(label=gettext_lazy("Grade"), choices=Grade.choices)
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class DeskAssignForm(forms.Form):
    owner = forms.ChoiceField(label=gettext_lazy("Owner"), required=False)
    reason = forms.CharField(label=gettext_lazy("Note"), max_length=2000, required=False)

    def __init__(self, *args, owner_choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [
            ("", _("Let the assignment rules decide")),
            *owner_choices,
        ]


class DeskDisqualifyForm(forms.Form):
    reason_code = forms.ChoiceField(
        label=gettext_lazy("Reason code"), choices=DisqualifyReason.choices
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


# --------------------------------------------------------------------------------------
# The queues
# --------------------------------------------------------------------------------------


def new_queue(user) -> QuerySet[Lead]:
    """New leads waiting for the desk: best score first, then the longest waiting."""
    return (
        leads_visible_to(user)
        .filter(stage=Stage.NEW)
        .order_by(F("score").desc(), "created_at", "id")
    )


def rejected_queue(user) -> QuerySet[Lead]:
    """MQLs sales sent back: no owner, not pooled, with a ``rejected`` event; latest first."""
    last_rejection = (
        LeadEvent.objects.filter(lead=OuterRef("pk"), kind=EventKind.REJECTED)
        .order_by("-at", "-id")
        .values("at")[:1]
    )
    return (
        leads_visible_to(user)
        .filter(stage=Stage.MQL, owner__isnull=True, in_pool=False)
        .annotate(rejected_at=Subquery(last_rejection))
        .filter(rejected_at__isnull=False)
        .order_by(F("rejected_at").desc(), "-id")
    )


@dataclass
class Rejection:
    code: str
    label: str
    text: str
    actor: str
    at: dt.datetime


def latest_rejections(lead_ids: list[int]) -> dict[int, Rejection]:
    """The latest ``rejected`` event of each lead, in one query."""
    latest: dict[int, Rejection] = {}
    events = (
        LeadEvent.objects.filter(lead_id__in=lead_ids, kind=EventKind.REJECTED)
        .select_related("actor")
        .order_by("lead_id", "-at", "-id")
    )
    for event in events:
        if event.lead_id in latest:
            continue
        data = event.data if isinstance(event.data, dict) else {}
        code = str(data.get("reason_code") or "")
        latest[event.lead_id] = Rejection(
            code=code,
            label=_choice_label(RejectReason, code) if code else "",
            text=event.reason,
            actor=_user_name(event.actor) or _("System"),
            at=event.at,
        )
    return latest


def _tab_counts(user) -> dict[str, int]:
    return {"new": new_queue(user).count(), "rejected": rejected_queue(user).count()}


def _paginate(request: HttpRequest, queryset: QuerySet):
    paginator = Paginator(queryset, _page_size(request))
    page = paginator.get_page(request.GET.get("page"))
    return paginator, page


@login_required
def desk_queue(request: HttpRequest) -> HttpResponse:
    """New leads to consult, qualify or disqualify, one by one or in bulk."""
    user = _require_desk(request)
    paginator, page = _paginate(request, new_queue(user))
    now = timezone.now()
    rows = [
        {
            "lead": lead,
            "contact": contact_for(user, lead),
            "age": age_badge(lead.created_at, now),
            "form": ConsultForm(lead=lead),
        }
        for lead in page.object_list
    ]
    return render(
        request,
        "desk/desk_queue.html",
        {
            "tab": "new",
            "counts": _tab_counts(user),
            "rows": rows,
            "page_obj": page,
            "paginator": paginator,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "page_sizes": PAGE_SIZES,
            "page_size": paginator.per_page,
            "bulk_disqualify_reasons": DisqualifyReason.choices,
        },
    )


@login_required
def desk_rejected(request: HttpRequest) -> HttpResponse:
    """Leads sales rejected, with why: re-grade, re-assign or disqualify them."""
    user = _require_desk(request)
    paginator, page = _paginate(request, rejected_queue(user))
    leads = list(page.object_list)
    rejections = latest_rejections([lead.pk for lead in leads])
    owner_choices = _owner_choices()
    rows = [
        {
            "lead": lead,
            "contact": contact_for(user, lead),
            "rejection": rejections.get(lead.pk),
            "grade_form": GradeForm(
                auto_id=f"id_grade{lead.pk}_%s", initial={"grade": lead.grade or None}
            ),
            "assign_form": DeskAssignForm(
                owner_choices=owner_choices, auto_id=f"id_assign{lead.pk}_%s"
            ),
            "disqualify_form": DeskDisqualifyForm(auto_id=f"id_dq{lead.pk}_%s"),
        }
        for lead in leads
    ]
    return render(
        request,
        "desk/desk_rejected.html",
        {
            "tab": "rejected",
            "counts": _tab_counts(user),
            "rows": rows,
            "page_obj": page,
            "paginator": paginator,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "page_sizes": PAGE_SIZES,
            "page_size": paginator.per_page,
        },
    )


# --------------------------------------------------------------------------------------
# Consult: record the call, then qualify or disqualify
# --------------------------------------------------------------------------------------


def _consult(lead: Lead, actor, form: ConsultForm) -> Lead:
    """Save the call's findings and carry out the decision, all or nothing.

    Before qualifying, the lead is rescored inside the same transaction, so the suggested
    (rule) grade already reflects what the call found out.
    """
    data = form.cleaned_data
    decision = data["decision"]
    with transaction.atomic():
        services.lead_update(lead=lead, actor=actor, fields=form.lead_fields())
        if decision == "qualify":
            scored = lead_score(lead=lead.pk)
            grade = data.get("grade") or None
            if scored.stage == Stage.NEW:
                return services.lead_qualify(
                    lead=lead.pk, actor=actor, grade=grade, reason=data.get("grade_reason", "")
                )
            # Auto-qualification (a scoring setting) already made it an MQL.
            if grade and grade != scored.grade:
                return lead_set_grade(
                    lead=scored, actor=actor, grade=grade, reason=data.get("grade_reason", "")
                )
            return scored
        if decision == "disqualify":
            return services.lead_disqualify(
                lead=lead.pk,
                actor=actor,
                reason=data.get("disqualify_reason", ""),
                reason_code=data.get("reason_code") or None,
            )
    return Lead.objects.get(pk=lead.pk)


def _consult_message(decision: str, lead: Lead) -> str:
    if decision == "qualify":
        return _("%(name)s qualified as MQL with grade %(grade)s.") % {
            "name": lead.name,
            "grade": lead.grade,
        }
    if decision == "disqualify":
        return _("%(name)s disqualified.") % {"name": lead.name}
    return _("Consult notes saved for %(name)s.") % {"name": lead.name}


@login_required
def desk_consult(request: HttpRequest, pk: int) -> HttpResponse:
    """One lead's consult form (the queue posts here; errors come back to this page)."""
    user = _require_desk(request)
    lead = get_object_or_404(leads_visible_to(user), pk=pk)
    form = ConsultForm(request.POST or None, lead=lead)
    if request.method == "POST" and form.is_valid():
        try:
            result = _consult(lead, user, form)
        except ServiceError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _consult_message(form.cleaned_data["decision"], result))
            return redirect(_next_url(request, reverse("leads:desk")))
    return render(
        request,
        "desk/desk_consult.html",
        {
            "lead": lead,
            "contact": contact_for(user, lead),
            "age": age_badge(lead.created_at, timezone.now()),
            "form": form,
            "next": _next_url(request, reverse("leads:desk")),
        },
    )


# --------------------------------------------------------------------------------------
# Bulk qualify / disqualify
# --------------------------------------------------------------------------------------


def _selected_ids(request: HttpRequest) -> list[int]:
    ids = []
    for value in request.POST.getlist("lead"):
        try:
            ids.append(int(value))
        except ValueError:
            continue
    return list(dict.fromkeys(ids))


def bulk_summary(action: str, done: int, refused: list[tuple[int, str]], names: dict) -> str:
    """The summary message: "12 qualified, 2 refused: Lead A (#5): …; Lead B (#9): …"."""
    if action == "qualify":
        text = _("%(done)d qualified, %(refused)d refused") % {
            "done": done,
            "refused": len(refused),
        }
    else:
        text = _("%(done)d disqualified, %(refused)d refused") % {
            "done": done,
            "refused": len(refused),
        }
    if not refused:
        return text + "."
    shown = [
        f"{names.get(pk, '')} (#{pk}): {message}" for pk, message in refused[:BULK_REFUSALS_SHOWN]
    ]
    details = "; ".join(shown)
    if len(refused) > BULK_REFUSALS_SHOWN:
        details += " " + _("… and %(n)d more.") % {"n": len(refused) - BULK_REFUSALS_SHOWN}
    return f"{text}: {details}"


@login_required
@require_POST
def desk_bulk(request: HttpRequest) -> HttpResponse:
    """Qualify (with each lead's rule grade) or disqualify the checked leads."""
    user = _require_desk(request)
    back = _next_url(request, reverse("leads:desk"))
    action = request.POST.get("action", "")
    if action not in ("qualify", "disqualify"):
        messages.error(request, _("Choose what to do with the selected leads."))
        return redirect(back)
    ids = _selected_ids(request)
    if not ids:
        messages.warning(request, _("Select at least one lead first."))
        return redirect(back)
    visible = set(leads_visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))
    kwargs = {}
    if action == "disqualify":
        kwargs = {
            "reason_code": request.POST.get("reason_code", ""),
            "reason": request.POST.get("reason", ""),
        }
    result = bulk_apply(
        action=action, lead_ids=[pk for pk in ids if pk in visible], actor=user, **kwargs
    )
    refused = [(pk, _("Lead not found.")) for pk in ids if pk not in visible] + result.refused
    names = dict(Lead.objects.filter(pk__in=[pk for pk, _m in refused]).values_list("pk", "name"))
    text = bulk_summary(action, len(result.done), refused, names)
    if not refused:
        messages.success(request, text)
    elif result.done:
        messages.warning(request, text)
    else:
        messages.error(request, text)
    return redirect(back)


# --------------------------------------------------------------------------------------
# One-lead desk actions: grade by hand, reset, re-assign, disqualify
# --------------------------------------------------------------------------------------


def _lead_for_desk(request: HttpRequest, pk: int) -> tuple[Any, Lead]:
    user = _require_desk(request)
    return user, get_object_or_404(leads_visible_to(user), pk=pk)


@login_required
@require_POST
def desk_set_grade(request: HttpRequest, pk: int) -> HttpResponse:
    user, lead = _lead_for_desk(request, pk)
    back = _next_url(request, reverse("leads:detail", args=[lead.pk]))
    form = GradeForm(request.POST)
    if not form.is_valid():
        for line in form_error_messages(form):
            messages.error(request, line)
        return redirect(back)
    try:
        lead = lead_set_grade(
            lead=lead,
            actor=user,
            grade=form.cleaned_data["grade"],
            reason=form.cleaned_data["reason"],
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(name)s is now graded %(grade)s by hand.")
            % {"name": lead.name, "grade": lead.grade},
        )
    return redirect(back)


@login_required
@require_POST
def desk_reset_grade(request: HttpRequest, pk: int) -> HttpResponse:
    user, lead = _lead_for_desk(request, pk)
    back = _next_url(request, reverse("leads:detail", args=[lead.pk]))
    try:
        lead = lead_reset_grade(lead=lead, actor=user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The manual grade was dropped; %(name)s has the rule grade %(grade)s again.")
            % {"name": lead.name, "grade": lead.grade or "–"},
        )
    return redirect(back)


@login_required
@require_POST
def desk_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Give a rejected lead to a named salesperson, or let the rules route it again."""
    user, lead = _lead_for_desk(request, pk)
    back = _next_url(request, reverse("leads:desk_rejected"))
    form = DeskAssignForm(request.POST, owner_choices=_owner_choices())
    if not form.is_valid():
        for line in form_error_messages(form):
            messages.error(request, line)
        return redirect(back)
    owner_id = form.cleaned_data["owner"]
    owner = sales_users().filter(pk=owner_id).first() if owner_id else None
    try:
        lead = lead_assign_or_route(
            lead=lead, actor=user, owner=owner, reason=form.cleaned_data["reason"]
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(back)
    if lead.owner_id is not None:
        messages.success(
            request,
            _("%(name)s assigned to %(user)s.")
            % {"name": lead.name, "user": _user_name(lead.owner)},
        )
    elif lead.in_pool:
        messages.warning(
            request,
            _("No eligible salesperson was found for %(name)s; it went to the pool.")
            % {"name": lead.name},
        )
    else:
        messages.warning(request, _("%(name)s was not assigned.") % {"name": lead.name})
    return redirect(back)


@login_required
@require_POST
def desk_disqualify(request: HttpRequest, pk: int) -> HttpResponse:
    user, lead = _lead_for_desk(request, pk)
    back = _next_url(request, reverse("leads:desk_rejected"))
    form = DeskDisqualifyForm(request.POST)
    if not form.is_valid():
        for line in form_error_messages(form):
            messages.error(request, line)
        return redirect(back)
    try:
        lead = services.lead_disqualify(
            lead=lead,
            actor=user,
            reason=form.cleaned_data["reason"],
            reason_code=form.cleaned_data["reason_code"],
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(name)s disqualified.") % {"name": lead.name})
    return redirect(back)


# --------------------------------------------------------------------------------------
# The lead detail page: "why this owner" and the desk's grade forms
# --------------------------------------------------------------------------------------


def lead_assignments(lead: Lead) -> list[Assignment]:
    """Every ownership decision on the lead, newest first (one query)."""
    return list(
        Assignment.objects.filter(lead=lead)
        .select_related("owner", "actor", "rule")
        .order_by("-at", "-id")
    )


def lead_detail_extras(user, lead: Lead) -> dict[str, Any]:
    """Context the lead detail page adds: assignments, and the desk's grade forms.

    Costs one query (the assignments) whatever the lead's history.
    """
    desk_grades = has_role(user, Role.LEAD_DESK) and lead.is_open
    return {
        "assignments": lead_assignments(lead),
        "grade_form": (
            GradeForm(auto_id="id_setgrade_%s", initial={"grade": lead.grade or None})
            if desk_grades
            else None
        ),
        "can_reset_grade": desk_grades and lead.grade_source == GradeSource.MANUAL,
    }
