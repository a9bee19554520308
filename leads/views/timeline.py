"""A lead's timeline described for people: events in words, not JSON."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from assignment.choices import DecisionKind
from assignment.models import AssignmentRule
from campaigns.models import Campaign
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
    ReviewStatus,
    Timeline,
    TouchKind,
)
from leads.models import DECISION_EVENT_KINDS, LeadEvent
from leads.selectors import (
    CONTACT_MASKERS,
)
from pipeline.pages import choice_label
from pipeline.people import display_name

User = get_user_model()


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
    "decision": ReviewStatus,
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
        "expected_close_date": _("Expected close date"),
        "amount": _("Amount"),
        "signed_at": _("Signed on"),
        "method": _("Method"),
        "at": _("Contacted at"),
        "strategy": _("Decided by"),
        "rule": _("Assignment rule"),
        "source": _("Grade source"),
        "score": _("Score"),
        # data-subject requests (PIPL)
        "request_lead": _("Requested on lead"),
        "retention": _("By the retention period"),
        "import_error_rows": _("Import error rows erased"),
        # imports and the desk's contact reviews
        "import": _("Import"),
        "row": _("Row"),
        "conflict": _("Conflict on"),
        "review": _("Contact review"),
        "decision": _("Decision"),
        "fields": _("Fields updated"),
        "new_lead": _("New lead"),
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


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _instant(value: Any) -> str:
    parsed = parse_datetime(str(value)) if value else None
    if parsed is None:
        return str(value or "")
    if timezone.is_aware(parsed):
        parsed = timezone.localtime(parsed)
    return formats.date_format(parsed, "SHORT_DATETIME_FORMAT")


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
        return display_name(self.users.get(pk)) or f"#{pk}"

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
        return choice_label(_EVENT_REASON_CHOICES[kind], str(value))
    if key in _CHOICE_FIELDS:
        return choice_label(_CHOICE_FIELDS[key], str(value or "")) or "—"
    if key in ("expected_amount", "amount", "budget") and value not in (None, ""):
        return _money(value)
    if key == "at" or (isinstance(value, str) and _ISO_INSTANT.match(value)):
        return _instant(value)
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        # A date the event keeps as ISO text (signed on, next follow-up): in the page's
        # date style, as every other date of the timeline.
        day = parse_date(value)
        return formats.date_format(day, "SHORT_DATE_FORMAT") if day else value
    if key == "conflict":  # the contact an arrival matched on (a conflict to review)
        return {"phone": _("Phone"), "email": _("Email")}.get(str(value), _plain(value))
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
        actor=display_name(event.actor) or _("System"),
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
