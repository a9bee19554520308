"""Server-rendered lead pages: list, detail with the action panel, create and edit.

Views are thin: they parse input with a form, call one selector or service and render.
Visibility comes from ``leads_visible_to`` (a lead the user may not see is a 404), every
write goes through ``leads.lifecycle``, and a refused action (``ServiceError``) becomes a
message on the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, F, IntegerField, QuerySet, Value, When
from django.forms import CheckboxSelectMultiple
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from assignment.choices import DecisionKind
from assignment.models import AssignmentRule
from assignment.selectors import team_member_ids_managed_by
from campaigns.choices import ChannelKind
from campaigns.models import Campaign
from leads import actions, lifecycle
from leads.actions import ActionForm, sales_users
from leads.choices import (
    CompanySize,
    DecisionRole,
    DisqualifyReason,
    EventKind,
    FollowUpMethod,
    GradeSource,
    LoseReason,
    RecycleReason,
    RejectReason,
    Stage,
    Timeline,
    TouchKind,
)
from leads.filters import LeadFilterSet
from leads.forms import LeadForm
from leads.models import DECISION_EVENT_KINDS, Lead, LeadEvent
from leads.selectors import (
    CONTACT_MASKERS,
    contact_masked,
    lead_events,
    leads_visible_to,
    mask_email,
    mask_phone,
    mask_text,
)
from pipeline.errors import ServiceError
from pipeline.people import display_name, people_ordering, text_order
from pipeline.roles import Role, has_role

User = get_user_model()

# --------------------------------------------------------------------------------------
# Contact details: the only way templates get a lead's phone, email and WeChat
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    phone: str
    email: str
    wechat: str
    masked: bool


def contact_for(user, lead: Lead) -> Contact:
    """The lead's contact details as ``user`` may see them (masked in the pool for sales)."""
    if contact_masked(user, lead):
        return Contact(
            phone=mask_phone(lead.phone) if lead.phone else "",
            email=mask_email(lead.email) if lead.email else "",
            wechat=mask_text(lead.wechat),
            masked=True,
        )
    return Contact(phone=lead.phone, email=lead.email, wechat=lead.wechat, masked=False)


# --------------------------------------------------------------------------------------
# List
# --------------------------------------------------------------------------------------

#: Sortable columns (``?sort=score`` ascending, ``?sort=-score`` descending).
SORT_FIELDS = ("created_at", "name", "company", "score", "grade", "stage", "next_follow_up_at")
#: Text columns, ordered for people (pinyin for Chinese on PostgreSQL: ``text_order``).
TEXT_SORT_COLUMNS = {"name": "name", "company": "company__name"}
DEFAULT_SORT = "-created_at"
PAGE_SIZES = (25, 50, 100)

_STAGE_ORDER = Case(
    *[When(stage=code, then=Value(index)) for index, code in enumerate(Stage.values)],
    default=Value(len(Stage.values)),
    output_field=IntegerField(),
)


def _sorted(queryset: QuerySet[Lead], sort: str) -> QuerySet[Lead]:
    descending = sort.startswith("-")
    name = sort.removeprefix("-")
    if name == "stage":
        # Lifecycle order (new → … → disqualified), not alphabetical codes.
        queryset = queryset.annotate(stage_order=_STAGE_ORDER)
        name = "stage_order"
    if name in TEXT_SORT_COLUMNS:
        expression = text_order(TEXT_SORT_COLUMNS[name], descending=descending)
    else:
        expression = F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_last=True)
    tie = F("id").desc() if descending else F("id").asc()
    return queryset.order_by(expression, tie)


def _sort_param(request: HttpRequest) -> str:
    sort = request.GET.get("sort", "")
    return sort if sort.removeprefix("-") in SORT_FIELDS else DEFAULT_SORT


def _page_size(request: HttpRequest) -> int:
    try:
        size = int(request.GET.get("page_size", PAGE_SIZES[0]))
    except ValueError:
        return PAGE_SIZES[0]
    return size if size in PAGE_SIZES else PAGE_SIZES[0]


def _prepare_filter_form(form) -> None:
    """Widgets and wording of the filter bar (the filters themselves are the API's)."""
    for name in ("stage", "grade"):
        form.fields[name].widget = CheckboxSelectMultiple(choices=form.fields[name].choices)
    for name in ("created_after", "created_before"):
        form.fields[name].widget.input_type = "date"
    form.fields["q"].widget.input_type = "search"
    form.fields["q"].widget.attrs["placeholder"] = _("Name, company, phone or email")
    for name in ("owner", "campaign", "channel", "channel_kind", "in_pool"):
        form.fields[name].empty_label = _("Any")
    # Setting choices re-binds the choice iterator, so the new empty label is used.
    form.fields["channel_kind"].choices = ChannelKind.choices
    form.fields["in_pool"].choices = [("true", _("In pool")), ("false", _("Not in pool"))]
    form.fields["owner"].queryset = form.fields["owner"].queryset.order_by(*people_ordering())
    form.fields["owner"].label_from_instance = _user_name
    form.fields["campaign"].queryset = form.fields["campaign"].queryset.order_by("name")


def _list_title(request: HttpRequest) -> str:
    if request.GET.get("in_pool") == "true":
        return _("Pool")
    if request.GET.get("owner") == str(request.user.pk):
        return _("My leads")
    return _("Leads")


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    """The lead list with the API's filters, sortable columns and pagination.

    Query count does not depend on the number of leads: related rows come with
    ``select_related`` (``leads_visible_to``) and the paginator counts once.
    """
    user = request.user
    filterset = LeadFilterSet(request.GET, queryset=leads_visible_to(user), request=request)
    _prepare_filter_form(filterset.form)
    sort = _sort_param(request)
    paginator = Paginator(_sorted(filterset.qs, sort), _page_size(request))
    page = paginator.get_page(request.GET.get("page"))
    rows = [(lead, contact_for(user, lead)) for lead in page.object_list]
    return render(
        request,
        "leads/lead_list.html",
        {
            "title": _list_title(request),
            "filter": filterset,
            "page_obj": page,
            "paginator": paginator,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "rows": rows,
            "sort": sort,
            "page_sizes": PAGE_SIZES,
            "page_size": paginator.per_page,
            "can_create": lifecycle.can_create_lead(user),
            "filters_active": any(request.GET.get(name, "") != "" for name in filterset.filters),
        },
    )


# --------------------------------------------------------------------------------------
# Detail: fields, score, follow-ups, timeline and the action panel
# --------------------------------------------------------------------------------------

DIMENSION_LABELS = {"fit": gettext_lazy("Fit"), "engagement": gettext_lazy("Engagement")}

REASON_CHOICES = {
    "disqualify_reason": DisqualifyReason,
    "reject_reason": RejectReason,
    "lost_reason": LoseReason,
    "recycle_reason": RecycleReason,
}


@dataclass
class ActionPanel:
    name: str
    title: str
    hint: str
    form: ActionForm
    danger: bool


def assign_owners(user) -> QuerySet:
    """Owners to offer: every salesperson, or a sales manager's own team members."""
    owners = sales_users()
    if user.is_superuser or has_role(user, Role.LEAD_DESK):
        return owners
    return owners.filter(pk__in=team_member_ids_managed_by(user))


def _panel(name: str, user, lead: Lead) -> ActionPanel:
    action = actions.get_action(name)
    return ActionPanel(
        name=name,
        title=str(action.title),
        hint=str(action.hint),
        form=actions.action_form(
            name, lead=lead, owners=assign_owners(user), auto_id=f"id_{name}_%s"
        ),
        danger=action.danger,
    )


def _choice_label(choices, code: str) -> str:
    if not code:
        return ""
    try:
        return str(choices(code).label)
    except ValueError:
        return code


def _reasons(lead: Lead) -> list[tuple[str, str]]:
    labels = {
        "disqualify_reason": _("Disqualify reason"),
        "reject_reason": _("Last reject reason"),
        "lost_reason": _("Lost reason"),
        "recycle_reason": _("Last recycle reason"),
    }
    return [
        (labels[name], _choice_label(choices, getattr(lead, name)))
        for name, choices in REASON_CHOICES.items()
        if getattr(lead, name)
    ]


def _score_rows(lead: Lead) -> list[dict]:
    rows = []
    for item in lead.score_detail or []:
        if not isinstance(item, dict):
            continue
        dimension = str(item.get("dimension", ""))
        rows.append(
            {
                "rule": item.get("rule", ""),
                "dimension": DIMENSION_LABELS.get(dimension, dimension),
                "points": item.get("points", 0),
            }
        )
    return rows


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from leads.desk_views import lead_detail_extras  # the desk module imports this one

    user = request.user
    lead = get_object_or_404(leads_visible_to(user), pk=pk)
    contact = contact_for(user, lead)
    events = list(lead_events(lead))
    panels = [_panel(name, user, lead) for name in actions.allowed(lead=lead, actor=user)]
    return render(
        request,
        "leads/lead_detail.html",
        {
            "lead": lead,
            "contact": contact,
            "touches": list(lead.touches.select_related("campaign__channel")),
            "follow_ups": list(lead.follow_ups.select_related("author").order_by("-at", "-id")),
            "timeline": describe_events(events, masked=contact.masked),
            "score_rows": _score_rows(lead),
            "reasons": _reasons(lead),
            "panels": panels,
            "can_edit": lifecycle.can_edit_lead(user, lead) and not contact.masked,
            # "Why this owner" and the desk's grade forms (one query).
            **lead_detail_extras(user, lead),
        },
    )


# --------------------------------------------------------------------------------------
# Timeline: events described for people, not as JSON
# --------------------------------------------------------------------------------------

_EVENT_REASON_CHOICES = {
    EventKind.DISQUALIFIED: DisqualifyReason,
    EventKind.REJECTED: RejectReason,
    EventKind.RECYCLED: RecycleReason,
    EventKind.LOST: LoseReason,
}
_CONTACT_KEYS = CONTACT_MASKERS
_CHOICE_FIELDS = {
    "timeline": Timeline,
    "decision_role": DecisionRole,
    "company_size": CompanySize,
    "touch_kind": TouchKind,
    "method": FollowUpMethod,
    "grade_source": GradeSource,
    "source": GradeSource,
    "strategy": DecisionKind,
}
_SKIPPED_KEYS = {"follow_up"}
_DECISION_REASON_KEYS = {"reason_code", "reason_params"}


def _data_labels() -> dict[str, str]:
    return {
        "grade": _("Grade"),
        "previous_grade": _("Previous grade"),
        "grade_source": _("Grade source"),
        "reason_code": _("Reason"),
        "owner": _("Owner"),
        "previous_owner": _("Previous owner"),
        "campaign": _("Campaign"),
        "touch_kind": _("Arrived by"),
        "name": _("Name given"),
        "expected_amount": _("Expected amount"),
        "amount": _("Amount"),
        "signed_at": _("Signed on"),
        "method": _("Method"),
        "at": _("Contacted at"),
        "strategy": _("Decided by"),
        "rule": _("Assignment rule"),
        "source": _("Grade source"),
        "score": _("Score"),
        # lead fields, for "updated" events
        "title": _("Job title"),
        "phone": _("Phone"),
        "email": _("Email"),
        "wechat": _("WeChat"),
        "company": _("Company"),
        "industry": _("Industry"),
        "company_size": _("Company size"),
        "region": _("Region"),
        "product_interest": _("Product interest"),
        "budget": _("Budget"),
        "timeline": _("Timeline"),
        "decision_role": _("Decision role"),
        "need": _("Need"),
        "source_campaign": _("Source campaign"),
    }


@dataclass
class TimelineEntry:
    event: LeadEvent
    title: str
    actor: str
    from_stage: str = ""
    to_stage: str = ""
    details: list[tuple[str, str]] = field(default_factory=list)
    changes: list[tuple[str, str, str]] = field(default_factory=list)


def _money(value: Any) -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{formats.number_format(amount, 2, force_grouping=True)} {settings.CURRENCY}"


def _instant(value: Any) -> str:
    parsed = parse_datetime(str(value)) if value else None
    if parsed is None:
        return str(value or "")
    if timezone.is_aware(parsed):
        parsed = timezone.localtime(parsed)
    return formats.date_format(parsed, "SHORT_DATETIME_FORMAT")


def _user_name(user) -> str:
    return display_name(user)


def _plain(value: Any) -> str:
    if value in (None, ""):
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_plain(item)}" for key, item in value.items())
    return str(value)


class _Resolver:
    """Looks up every user, campaign and rule the events mention, with one query each."""

    USER_KEYS = ("owner", "previous_owner")
    CAMPAIGN_KEYS = ("campaign",)

    def __init__(self, events: Iterable[LeadEvent]):
        user_ids, campaign_ids, rule_ids = set(), set(), set()
        for event in events:
            data = event.data if isinstance(event.data, dict) else {}
            user_ids.update(data.get(key) for key in self.USER_KEYS)
            campaign_ids.update(data.get(key) for key in self.CAMPAIGN_KEYS)
            rule_ids.add(data.get("rule"))
            changed = data.get("changed")
            if isinstance(changed, dict) and isinstance(changed.get("source_campaign"), list):
                campaign_ids.update(changed["source_campaign"])
        user_ids = {pk for pk in user_ids if isinstance(pk, int)}
        campaign_ids = {pk for pk in campaign_ids if isinstance(pk, int)}
        self.users = User.objects.in_bulk(user_ids) if user_ids else {}
        self.campaigns = Campaign.objects.in_bulk(campaign_ids) if campaign_ids else {}
        rule_ids = {pk for pk in rule_ids if isinstance(pk, int)}
        self.rules = AssignmentRule.objects.in_bulk(rule_ids) if rule_ids else {}

    def user(self, pk) -> str:
        if pk in (None, ""):
            return "—"
        return _user_name(self.users.get(pk)) or f"#{pk}"

    def rule(self, pk) -> str:
        rule = self.rules.get(pk)
        return rule.name if rule else f"#{pk}"

    def campaign(self, pk) -> str:
        if pk in (None, ""):
            return "—"
        campaign = self.campaigns.get(pk)
        return campaign.name if campaign else f"#{pk}"


def _format_value(key: str, value: Any, *, kind: str, resolver: _Resolver, masked: bool) -> str:
    if key in _Resolver.USER_KEYS:
        return resolver.user(value)
    if key in ("campaign", "source_campaign"):
        return resolver.campaign(value)
    if key == "rule" and kind in (EventKind.ASSIGNED, EventKind.REASSIGNED):
        return resolver.rule(value)
    if key in _CONTACT_KEYS and masked and value:
        return _CONTACT_KEYS[key](str(value))
    if key == "reason_code" and kind in _EVENT_REASON_CHOICES:
        return _choice_label(_EVENT_REASON_CHOICES[kind], str(value))
    if key in _CHOICE_FIELDS:
        return _choice_label(_CHOICE_FIELDS[key], str(value or "")) or "—"
    if key in ("expected_amount", "amount", "budget") and value not in (None, ""):
        return _money(value)
    if key == "at":
        return _instant(value)
    return _plain(value)


def describe_event(
    event: LeadEvent, *, resolver: _Resolver, masked: bool, labels: dict[str, str]
) -> TimelineEntry:
    kind = event.kind
    try:
        title = str(EventKind(kind).label)
    except ValueError:
        title = kind
    entry = TimelineEntry(
        event=event,
        title=title,
        actor=_user_name(event.actor) or _("System"),
        from_stage=event.from_stage if event.from_stage != event.to_stage else "",
        to_stage=event.to_stage if event.from_stage != event.to_stage else "",
    )
    data = event.data if isinstance(event.data, dict) else {}
    for key, value in data.items():
        if key in _SKIPPED_KEYS:
            continue
        if key in _DECISION_REASON_KEYS and kind in DECISION_EVENT_KINDS:
            continue  # the reason itself, worded below the entry (``reason_display``)
        if key == "changed" and isinstance(value, dict):
            for name, change in value.items():
                old, new = change if isinstance(change, list) and len(change) == 2 else ("", change)
                entry.changes.append(
                    (
                        labels.get(name, name.replace("_", " ").capitalize()),
                        _format_value(name, old, kind=kind, resolver=resolver, masked=masked),
                        _format_value(name, new, kind=kind, resolver=resolver, masked=masked),
                    )
                )
            continue
        if key == "previous_grade" and (not value or value == data.get("grade")):
            continue
        if key in ("previous_owner", "rule") and value is None:
            continue
        entry.details.append(
            (
                labels.get(key, key.replace("_", " ").capitalize()),
                _format_value(key, value, kind=kind, resolver=resolver, masked=masked),
            )
        )
    return entry


def describe_events(events: list[LeadEvent], *, masked: bool) -> list[TimelineEntry]:
    """The timeline as readable entries; ``masked`` hides contact values in edits."""
    resolver = _Resolver(events)
    labels = _data_labels()
    return [describe_event(e, resolver=resolver, masked=masked, labels=labels) for e in events]


# --------------------------------------------------------------------------------------
# Actions: one POST endpoint per lifecycle action, through the action registry
# --------------------------------------------------------------------------------------


def form_error_messages(form) -> list[str]:
    """One readable line per invalid field: "Label: problem"."""
    lines = []
    for name, errors in form.errors.items():
        text = " ".join(str(error) for error in errors)
        if name == "__all__":
            lines.append(text)
        else:
            lines.append(
                _("%(field)s: %(errors)s") % {"field": form.fields[name].label, "errors": text}
            )
    return lines


@login_required
@require_POST
def lead_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Run one lifecycle action (``leads.actions.run_action``: refused 403/409 → bad input
    → the service call); a refusal or bad input becomes messages on the page."""
    user = request.user
    lead = get_object_or_404(leads_visible_to(user), pk=pk)
    if action not in actions.LIFECYCLE_ACTIONS:
        raise Http404
    detail_url = reverse("leads:detail", args=[lead.pk])
    # On a refusal the page reopens the action's panel (see static/js/app.js).
    retry_url = f"{detail_url}#action-{action}"
    try:
        result = actions.run_action(lead=lead, actor=user, name=action, data=request.POST)
    except actions.ActionInputError as error:
        for line in error.lines:
            messages.error(request, line)
        return redirect(retry_url)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(retry_url)
    messages.success(request, actions.get_action(action).success(result))
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)  # e.g. a quick follow-up from "my leads" returns there
    if not leads_visible_to(user).filter(pk=lead.pk).exists():
        # e.g. a rejected lead goes back to the desk and out of the rep's sight.
        return redirect("leads:list")
    return redirect(detail_url)


# --------------------------------------------------------------------------------------
# Create and edit
# --------------------------------------------------------------------------------------


def _apply_service_error(form: LeadForm, error: ServiceError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


@login_required
def lead_create(request: HttpRequest) -> HttpResponse:
    """Enter a lead by hand (marketers and the lead desk); a known person gets a touch."""
    user = request.user
    if not lifecycle.can_create_lead(user):
        raise PermissionDenied(_("You are not allowed to create leads."))
    form = LeadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields, campaign = form.service_fields()
        try:
            result = lifecycle.lead_create(actor=user, fields=fields, campaign=campaign)
        except ServiceError as error:
            _apply_service_error(form, error)
        else:
            if result.duplicate:
                messages.warning(
                    request,
                    _(
                        "%(name)s is already known — added a touch to the existing lead "
                        "instead of creating a new one."
                    )
                    % {"name": result.lead.name},
                )
            else:
                messages.success(request, _("Lead created."))
            return redirect("leads:detail", pk=result.lead.pk)
    return render(request, "leads/lead_form.html", {"form": form, "lead": None})


@login_required
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    lead = get_object_or_404(leads_visible_to(user), pk=pk)
    if not lifecycle.can_edit_lead(user, lead) or contact_masked(user, lead):
        raise PermissionDenied(_("You are not allowed to edit this lead."))
    form = LeadForm(request.POST or None, initial=LeadForm.initial_for(lead))
    if request.method == "POST" and form.is_valid():
        fields, campaign = form.service_fields()
        try:
            lifecycle.lead_update(lead=lead, actor=user, fields=fields, source_campaign=campaign)
        except ServiceError as error:
            _apply_service_error(form, error)
        else:
            messages.success(request, _("Lead saved."))
            return redirect("leads:detail", pk=lead.pk)
    return render(request, "leads/lead_form.html", {"form": form, "lead": lead})
