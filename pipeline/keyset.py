"""Keyset (cursor) pagination: a deep page of a long list read from the index of its
order, never ``OFFSET`` through everything before it (issue #17 item 8).

An order is one ``KeysetOrder``: a leading key (a column or an expression such as a
collated name or the lifecycle position of a stage) and ``id`` as the tiebreaker in the
same direction. A page after (or before) a row is a row comparison,
``(key, id) > (value, id)``, which a B-tree index on ``(key, id)`` answers as a range: the
page costs the same on row 20 and on row 900,000. A nullable key sorts its empty values
last in both directions; its pages are read in two segments (the rows with a value, then
the empty ones by ``id``), each an index range, so a page that crosses from one to the
other costs one more query, never more.

A queue ordered by a key and then, in the other direction, by a second key (the desk's
best score first and then the longest waiting, the pool's best score and then the longest
pooled) is a ``KeysetOrder`` with ``then``: ``(key, then, id)`` with ``then`` and ``id`` in
their own direction. Its page after a row is read in two segments as well, each an index
range of ``(key, then, id)``: the rest of the row's key value (``key = v`` and
``(then, id)`` past the row), then the key values past ``v``.

A cursor names the order it belongs to and the key of the row it continues from, signed
with the project's secret (``django.core.signing``): a client cannot forge a position in a
list it may not read past (visibility is applied to every page anyway), and an altered
or foreign cursor is refused with ``InvalidCursor`` (a 400 with a clear message).

Shared by every long list, page and API: the lead list and ``/api/v1/leads/``
(``leads.filters.LEAD_ORDERS``), the pool, "new for me", the routing page, the desk's
queue and the imports (``leads.selectors.POOL_ORDER`` and its neighbours);
pages through ``pipeline.pagination.keyset_list``, the API through
``pipeline.pagination.KeysetPagination``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core import signing
from django.db.models import BooleanField, Expression, F, Model, OrderBy, QuerySet, Value
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

#: What signs cursors (a salt of their own: a cursor is no other signed value).
SALT = "pipeline.keyset.cursor"


class InvalidCursor(ValueError):
    """A cursor that was altered, is not one, or belongs to another order."""

    message = _(
        "This page link is invalid: it was altered or belongs to another sort. "
        "Start again from the first page."
    )

    def __init__(self) -> None:
        super().__init__(str(self.message))


@dataclass(frozen=True)
class KeysetOrder:
    """One named order of a list: ``key`` then ``id``, both ascending or both descending.

    ``read`` gives a row's key value as the database compares it (for an expression key,
    e.g. the stage's position, computed from the loaded row without a query). ``nullable``:
    the key may be NULL; such rows come last in both directions."""

    name: str
    key: Expression | F
    descending: bool = False
    nullable: bool = False
    read: Callable[[Any], Any] | None = None
    #: The column ``read`` defaults to (``key``'s name for a plain column).
    attribute: str = ""
    #: A second key (a NOT NULL column in the rows listed) between ``key`` and ``id``,
    #: ordered with ``id`` in the direction ``then_descending``: ``(key, then, id)``.
    #: Not with a nullable ``key``.
    then: F | None = None
    then_descending: bool = False
    #: A nullable key whose index is built ``DESC NULLS LAST`` (not the default ``ASC``,
    #: i.e. ``DESC NULLS FIRST`` read backwards): the pages' segments are ordered to match
    #: it (``DESC NULLS LAST``, and ``ASC NULLS FIRST`` reading backwards).
    index_descending: bool = False

    def __post_init__(self) -> None:
        if self.then is not None and self.nullable:
            raise ValueError("a second key needs a NOT NULL first key")

    @property
    def tie_descending(self) -> bool:
        """The direction of ``id`` (and of ``then``)."""
        return self.then_descending if self.then is not None else self.descending

    def value_of(self, row: Model) -> Any:
        if self.read is not None:
            return self.read(row)
        return getattr(row, self.attribute or self.key.name)  # type: ignore[union-attr]

    def then_of(self, row: Model) -> Any:
        return None if self.then is None else getattr(row, self.then.name)

    def order_by(self) -> list[OrderBy]:
        """The full order of the first page: empty values last for a nullable key."""
        nulls = {"nulls_last": True} if self.nullable else {}
        key = self.key.desc(**nulls) if self.descending else self.key.asc(**nulls)
        rest = [] if self.then is None else [self.then]
        ties = [F(r.name) for r in rest] + [F("id")]
        return [key, *(t.desc() if self.tie_descending else t.asc() for t in ties)]


class RowCompare(Expression):
    """``(a, b) > (x, y)`` (or ``<``): the row comparison an index on ``(a, b)`` serves as
    a range (SQLite and PostgreSQL both have row values)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, left: Sequence[Any], right: Sequence[Any], *, greater: bool):
        super().__init__(output_field=BooleanField())
        self.left = list(left)
        self.right = list(right)
        self.greater = greater

    def get_source_expressions(self) -> list[Any]:
        return [*self.left, *self.right]

    def set_source_expressions(self, expressions: Sequence[Any]) -> None:
        self.left = list(expressions[: len(self.left)])
        self.right = list(expressions[len(self.left) :])

    def resolve_expression(self, query: Any = None, allow_joins: bool = True, reuse: Any = None, summarize: bool = False, for_save: bool = False) -> RowCompare:  # fmt: skip  # noqa: E501
        clone = self.copy()
        clone.left = [
            side.resolve_expression(query, allow_joins, reuse, summarize, for_save)
            for side in self.left
        ]
        clone.right = [
            (side if hasattr(side, "resolve_expression") else Value(side)).resolve_expression(
                query, allow_joins, reuse, summarize, for_save
            )
            for side in self.right
        ]
        return clone

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        sql: list[str] = []
        params: list[Any] = []
        for side in (self.left, self.right):
            parts = []
            for expression in side:
                part, part_params = compiler.compile(expression)
                parts.append(part)
                params.extend(part_params)
            sql.append("(" + ", ".join(parts) + ")")
        return f"{sql[0]} {'>' if self.greater else '<'} {sql[1]}", params


# -- cursors --------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((kind, text),) = value.items()
        if kind == "dt":
            return dt.datetime.fromisoformat(text)
        if kind == "d":
            return dt.date.fromisoformat(text)
        if kind == "n":
            return Decimal(text)
        raise ValueError(kind)
    if value is None or isinstance(value, int | str):
        return value
    raise ValueError(value)


@dataclass(frozen=True)
class Cursor:
    """A position in a named order: after (``before=False``) or before a row."""

    order: str
    value: Any
    id: int
    before: bool = False
    #: The row's ``then`` value (an order with a second key).
    then: Any = None


def cursor_for(order: KeysetOrder, row: Model, *, before: bool = False) -> str:
    """The signed cursor of the page after (or before) ``row`` in ``order``."""
    payload = {"o": order.name, "v": _encode(order.value_of(row)), "i": row.pk}
    if order.then is not None:
        payload["t"] = _encode(order.then_of(row))
    if before:
        payload["b"] = 1
    return signing.dumps(payload, salt=SALT)


def parse_cursor(token: str, order: KeysetOrder) -> Cursor:
    """``token`` read back, or ``InvalidCursor`` if it is altered, not a cursor, or a
    cursor of another order (a sort changed without starting again)."""
    try:
        payload = signing.loads(token, salt=SALT)
        if not isinstance(payload, dict) or payload.get("o") != order.name:
            raise ValueError("another order")
        if not isinstance(payload.get("i"), int) or isinstance(payload["i"], bool):
            raise ValueError("no id")
        value = _decode(payload.get("v"))
        then = _decode(payload.get("t"))
        if order.then is not None and (value is None or then is None):
            raise ValueError("no key")
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise InvalidCursor from error
    return Cursor(order.name, value, payload["i"], before=bool(payload.get("b")), then=then)


# -- pages ----------------------------------------------------------------------------


@dataclass
class KeysetPage:
    """The rows of a cursor page and the cursors of its neighbours (``None``: no page)."""

    rows: list[Any]
    next_cursor: str | None
    previous_cursor: str | None


def _column(order: KeysetOrder) -> str:
    """The column of a nullable key (a nullable key is a column, possibly collated)."""
    return order.attribute or getattr(order.key, "name", "")


def _ordered(
    queryset: QuerySet[Any], order: KeysetOrder, *, ascending: bool, ties: bool | None = None
) -> QuerySet[Any]:
    """``queryset`` by ``key`` towards ``ascending``, then (``then`` and) ``id`` towards
    ``ties`` (the same direction without a second key)."""
    ties = ascending if ties is None else ties
    tie = "asc" if ties else "desc"
    nulls = {}
    if order.index_descending:
        nulls = {"nulls_first": True} if ascending else {"nulls_last": True}
    key = order.key.asc(**nulls) if ascending else order.key.desc(**nulls)
    rest = [] if order.then is None else [F(order.then.name)]
    return queryset.order_by(key, *(getattr(t, tie)() for t in [*rest, F("id")]))


def _then_page(
    queryset: QuerySet[Any], order: KeysetOrder, cursor: Cursor, forwards: bool, limit: int
) -> list[Any]:
    """Rows past ``cursor`` in an order with a second key (``then``), nearest first: the
    rest of the cursor's key value, then the key values past it; each an index range."""
    ascending = forwards != order.descending
    ties = forwards != order.then_descending
    then = order.then if order.then is not None else F("id")
    rest = RowCompare([then, F("id")], [cursor.then, cursor.id], greater=ties)
    same = queryset.filter(Exact(order.key, cursor.value), rest)
    rows = list(_ordered(same, order, ascending=ascending, ties=ties)[:limit])
    if len(rows) < limit:
        past = queryset.filter(RowCompare([order.key], [cursor.value], greater=ascending))
        rows += list(_ordered(past, order, ascending=ascending, ties=ties)[: limit - len(rows)])
    return rows


def _values_from(
    queryset: QuerySet[Any], order: KeysetOrder, cursor: Cursor, ascending: bool
) -> QuerySet[Any]:
    """Rows with a key value past ``cursor`` (towards ``ascending``), nearest first."""
    after = RowCompare([order.key, F("id")], [cursor.value, cursor.id], greater=ascending)
    return _ordered(queryset.filter(after), order, ascending=ascending)


def _all_values(queryset: QuerySet[Any], order: KeysetOrder, ascending: bool) -> QuerySet[Any]:
    """Every row with a key value, from the end ``ascending`` starts at."""
    rows = queryset.filter(**{f"{_column(order)}__isnull": False})
    return _ordered(rows, order, ascending=ascending)


def _empties(
    queryset: QuerySet[Any], order: KeysetOrder, ascending: bool, after: int | None
) -> QuerySet[Any]:
    """Rows without a key value (by ``id``), past ``after`` towards ``ascending``."""
    rows = queryset.filter(**{f"{_column(order)}__isnull": True})
    if after is not None:
        rows = rows.filter(**{"id__gt" if ascending else "id__lt": after})
    # Ordered by (key, id), not by id alone: the key is empty on every row, so the order
    # is the same, and the planner sees the ``(key, id)`` index's order (``IS NULL`` is
    # no equality it could drop the key from the order with).
    return _ordered(rows, order, ascending=ascending)


def keyset_page(
    queryset: QuerySet[Any], order: KeysetOrder, *, size: int, cursor: Cursor
) -> KeysetPage:
    """The ``size`` rows after (or before) ``cursor`` in ``order``, in the list's order.

    One query of ``size + 1`` rows (the extra one says whether there is more); two where
    a nullable key's page crosses between the rows with a value and the empty ones (which
    come last in both directions), or a page of an order with a second key crosses from
    one value of the first key to the next."""
    forwards = not cursor.before
    # Reading backwards is reading the reversed order forwards.
    ascending = forwards != order.descending
    limit = size + 1
    empty = order.nullable and cursor.value is None
    if order.then is not None:
        rows = _then_page(queryset, order, cursor, forwards, limit)
    elif empty:
        rows = list(_empties(queryset, order, ascending, cursor.id)[:limit])
        if not forwards and len(rows) < limit:
            rows += list(_all_values(queryset, order, ascending)[: limit - len(rows)])
    else:
        rows = list(_values_from(queryset, order, cursor, ascending)[:limit])
        if order.nullable and forwards and len(rows) < limit:
            rows += list(_empties(queryset, order, ascending, None)[: limit - len(rows)])
    more = len(rows) > size
    rows = rows[:size]
    if not forwards:
        rows.reverse()
    if not rows:
        return KeysetPage([], None, None)
    return KeysetPage(
        rows,
        next_cursor=cursor_for(order, rows[-1]) if more or not forwards else None,
        previous_cursor=cursor_for(order, rows[0], before=True) if more or forwards else None,
    )
