"""The small pieces every lifecycle write is made of: lock the row, check an argument,
append an event.

Callers are inside ``transaction.atomic``; nothing here commits or schedules work.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django.contrib.auth.models import User
from django.db import connection, models
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _

from leads.models import Lead, LeadEvent
from pipeline.errors import ServiceError

#: The longest reason a person may type (events, rejections, manual grades).
REASON_MAX_LENGTH = 2000


def lock_lead(lead: Lead | int) -> Lead:
    """Re-read the lead under a row lock (``select_for_update``).

    A lead the caller locked itself in this transaction and marked ``_row_locked`` is used
    as it is (the router does this, saving a query per routed lead).
    """
    if isinstance(lead, Lead) and getattr(lead, "_row_locked", False):
        return lead
    pk = lead.pk if isinstance(lead, Lead) else lead
    try:
        return Lead.objects.select_for_update().get(pk=pk)
    except Lead.DoesNotExist as exc:
        raise ServiceError(_("Lead not found."), code="not_found") from exc


def lock_leads(
    ids: Iterable[int], *, related: Iterable[str] = (), fields: Iterable[str] = ()
) -> list[Lead]:
    """Re-read many leads under row locks (``select_for_update``) in id order, so two
    set-based writers lock in the same order and never deadlock; ids not found are left
    out. ``related``: what to load with them (``select_related``); ``fields``: only these
    columns (``only``; the caller's transition reads no other, or it costs a query each)."""
    queryset = Lead.objects.select_for_update(of=("self",)).filter(pk__in=list(ids))
    if related:
        queryset = queryset.select_related(*related)
    elif fields:
        return _leads_of_rows(queryset.order_by("pk"), fields)
    if fields:
        queryset = queryset.only(*fields)
    return list(queryset.order_by("pk"))


def _leads_of_rows(queryset: models.QuerySet[Lead], fields: Iterable[str]) -> list[Lead]:
    """``queryset`` as leads with only ``fields`` (and the id) loaded, the others read on
    access as with ``only``. Made from plain rows: ``Model.from_db`` builds, for every row
    of an ``only`` queryset, the list of all the model's columns marking the deferred ones,
    which for a set of thousands costs more than the query. No ``post_init`` signal is
    sent: these leads are written set-based, never saved one by one."""
    opts = Lead._meta
    names = [
        "id",
        *(
            cast("models.Field[Any, Any]", opts.get_field(name)).attname
            for name in fields
            if name not in ("id", "pk")
        ),
    ]
    db = queryset.db
    leads = []
    for values in queryset.values_list(*names):
        lead = Lead.__new__(Lead)
        state = ModelState()
        state.adding, state.db = False, db
        lead.__dict__.update(zip(names, values, strict=True), _state=state)
        leads.append(lead)
    return leads


def insert_rows(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (values in the order of ``columns``, attribute names such as
    ``lead_id``) without making a model instance per row; the model's other fields get
    their default. PostgreSQL: one ``INSERT … SELECT FROM unnest(…)`` with one typed array
    per column, so the statement's size and parse time do not grow with the rows; other
    databases: ``bulk_create``. No signals are sent, as none are by ``bulk_create``."""
    if not rows:
        return
    opts = model._meta
    by_name = {f.attname: f for f in opts.concrete_fields}
    fields = [by_name[name] for name in columns]
    rest = [f for f in opts.concrete_fields if f.attname not in columns and f is not opts.pk]
    if connection.vendor != "postgresql":
        names = [*columns, *(f.attname for f in rest)]
        defaults = tuple(f.get_default() for f in rest)
        model._default_manager.bulk_create(
            [model(**dict(zip(names, (*row, *defaults), strict=True))) for row in rows]
        )
        return
    qn = connection.ops.quote_name
    columns_values = [
        *zip(*rows, strict=True),
        *(((f.get_default(),) * len(rows)) for f in rest),
    ]
    arrays: list[list[Any]] = []
    for field, values in zip([*fields, *rest], columns_values, strict=True):
        if isinstance(field, models.JSONField):
            values = tuple(None if v is None else json.dumps(v, cls=field.encoder) for v in values)
        arrays.append(list(values))
    selects = [f"%s::{f.db_type(connection)}[]" for f in [*fields, *rest]]
    into = ", ".join(qn(f.column) for f in [*fields, *rest])
    sql = f"INSERT INTO {qn(opts.db_table)} ({into}) SELECT * FROM unnest({', '.join(selects)})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)


class Arrival:
    """What happens to a new lead before its arrival inserts it (``arrival._arrive_new``
    hands the unsaved row to in-transaction subscribers first: scoring sets its score and
    may qualify it). Its writes wait for the insert: ``save_lead`` has nothing to write
    (the insert writes every field), ``record_event`` keeps its events (inserted with the
    arrival's own, in order), and ``after_insert`` what is announced once it has an id."""

    def __init__(self) -> None:
        self.events: list[LeadEvent] = []
        self.after_insert: list[tuple[Any, dict[str, Any]]] = []


def arriving(lead: Lead) -> Arrival | None:
    """The pending ``Arrival`` of a new lead not inserted yet, else None."""
    return getattr(lead, "_arrival", None)


def save_lead(lead: Lead, fields: Iterable[str]) -> None:
    """Save the named fields (and ``updated_at``) of a locked lead, with those a caller
    set on it but left to this save (``_unsaved_fields``). A new lead not inserted yet
    (``arriving``) is left as it is: its insert writes every field."""
    if arriving(lead) is not None:
        return
    unsaved = getattr(lead, "_unsaved_fields", ())
    lead.save(update_fields=[*fields, *unsaved, "updated_at"])
    if unsaved:
        lead._unsaved_fields = ()  # type: ignore[attr-defined]


def record_event(
    *,
    lead: Lead,
    kind: str,
    actor: User | None,
    at: dt.datetime | None = None,
    from_stage: str = "",
    to_stage: str = "",
    reason: str = "",
    data: Mapping[str, Any] | None = None,
) -> LeadEvent:
    """Append one event to the lead's timeline (events are never changed afterwards); a
    new lead not inserted yet (``arriving``) gets it inserted after its row."""
    values = {
        "lead": lead,
        "kind": kind,
        "actor": actor,
        "at": at or timezone.now(),
        "from_stage": from_stage,
        "to_stage": to_stage,
        "reason": reason,
        "data": dict(data or {}),
    }
    pending = arriving(lead)
    if pending is None:
        return LeadEvent.objects.create(**values)
    event = LeadEvent(**values)
    pending.events.append(event)
    return event


def require_reason(reason: str | None, field: str = "reason") -> str:
    """The typed reason, stripped; refused when empty or too long."""
    text = (reason or "").strip()
    if not text:
        raise ServiceError(_("A reason is required."), field=field)
    if len(text) > REASON_MAX_LENGTH:
        raise ServiceError(_("The reason is too long (at most 2,000 characters)."), field=field)
    return text


def checked_reason_code(
    code: str | None, choices: type[models.TextChoices], field: str = "reason_code"
) -> str:
    """A coded reason of ``choices``; none given means ``other``."""
    if not code:
        return str(choices.OTHER.value)  # type: ignore[attr-defined]  # every reason set has OTHER
    if code not in choices.values:
        raise ServiceError(
            _("Unknown reason code “%(code)s”; use one of: %(codes)s.")
            % {"code": code, "codes": ", ".join(choices.values)},
            field=field,
        )
    return code


def money(value: Any, field: str, *, positive: bool) -> Decimal:
    """An amount with two places below 10¹²; ``positive`` refuses zero too."""
    if value is None or value == "":
        raise ServiceError(_("This field is required."), field=field)
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise ServiceError(
            _("“%(value)s” is not an amount of money.") % {"value": value}, field=field
        ) from exc
    if not amount.is_finite() or abs(amount) >= Decimal("1e12"):
        raise ServiceError(_("The amount is out of range."), field=field)
    if positive and amount <= 0:
        raise ServiceError(_("The amount must be greater than zero."), field=field)
    if amount < 0:
        raise ServiceError(_("The amount cannot be negative."), field=field)
    return amount
