"""Pagination for every list, page and API: counts capped so that a list of a million
leads answers its first page without counting them all, and "Next" by keyset cursor
(``pipeline.keyset``): ``KeysetPagination`` for the API, ``keyset_list`` for pages."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend, OrderingFilter
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from pipeline.keyset import (
    InvalidCursor,
    KeysetOrder,
    KeysetPage,
    cursor_for,
    keyset_page,
    parse_cursor,
)

#: Lists count their rows up to this many; past it they say "10,000+" (the API: ``count``
#: 10000 with ``count_exact: false``). Counting stops at the cap, so it reads at most
#: this many index entries however long the list is.
COUNT_CAP = 10_000
#: The cap of a count that is only a hint beside a short answer: the global search (50
#: rows shown, the rest in the lead list) and the desk's tab badges say "1,000+" past it.
#: A common word among a million leads then reads a tenth of the rows to count.
SHORT_COUNT_CAP = 1_000


class CappedPage(Page):
    """A page of a list longer than the cap: whether a next page exists comes from one
    extra row fetched with the page, not from the count."""

    def __init__(self, object_list: Any, number: int, paginator: Paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more

    def end_index(self) -> int:
        return self.start_index() + len(self.object_list) - 1 if self.object_list else 0


class CappedPaginator(Paginator):
    """Django's paginator with the count capped at ``COUNT_CAP``.

    Up to the cap everything is as usual (exact count, last page). Past it ``count`` is
    the cap and ``count_exact`` is False: any page number may be asked for (it is read
    with ``LIMIT``/``OFFSET`` from the ordered index), ``has_next`` comes from one extra
    row, and the page links end at the cap."""

    count_cap = COUNT_CAP

    def __init__(self, *args: Any, count_cap: int | None = None, **kwargs: Any):
        """``count_cap``: a lower cap than ``COUNT_CAP`` (e.g. ``SHORT_COUNT_CAP``)."""
        super().__init__(*args, **kwargs)
        if count_cap is not None:
            self.count_cap = min(type(self).count_cap, count_cap)

    @cached_property
    def _counted(self) -> int:
        rows = self.object_list
        if isinstance(rows, QuerySet):
            # SELECT COUNT(*) FROM (SELECT id … LIMIT cap + 1): stops at the cap.
            return rows.order_by().values("pk")[: self.count_cap + 1].count()
        return len(rows)

    @cached_property
    def count_exact(self) -> bool:
        return self._counted <= self.count_cap

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.count_cap)

    @property
    def count_label(self) -> str:
        """The count for people: "1,234", or "10,000+" past the cap."""
        return str(intcomma(self.count)) + ("" if self.count_exact else "+")

    @cached_property
    def num_pages(self) -> int:
        if self.count_exact:
            return super().num_pages
        return math.ceil(self.count / self.per_page)

    def validate_number(self, number: Any) -> int:
        if self.count_exact:
            return super().validate_number(number)
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError) as error:
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from error
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number

    def get_page(self, number: Any) -> Page:
        """Like Django's: a page past the end (known only once read, past the cap) gives
        the last page of the count."""
        try:
            return super().get_page(number)
        except EmptyPage:
            return self.page(self.num_pages)

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        if self.count_exact:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        return CappedPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)


class Pagination(PageNumberPagination):
    """Page-number pagination: ``count``, ``count_exact``, ``next``, ``previous``,
    ``results``; up to 500 a page. ``count`` is exact up to ``COUNT_CAP``; past it,
    ``count`` is the cap and ``count_exact`` false (follow ``next`` to the end)."""

    django_paginator_class = CappedPaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_paginated_response(self, data: Any) -> Response:
        paginator = self.page.paginator
        return Response(
            OrderedDict(
                [
                    ("count", paginator.count),
                    ("count_exact", paginator.count_exact),
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("results", data),
                ]
            )
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["count_exact"] = {
            "type": "boolean",
            "example": True,
            "description": f"False when the list is longer than {COUNT_CAP}: count is then "
            f"{COUNT_CAP}.",
        }
        answer["required"] = ["count", "count_exact", "results"]
        return answer


class StableOrderingFilter(OrderingFilter):
    """DRF's ``?ordering=`` with ``id`` as the tiebreaker in the direction of the first
    field: a stable order across pages, and the one the ``(column, id)`` indexes serve."""

    def get_ordering(self, request: Any, queryset: QuerySet, view: Any) -> list[str]:
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if ordering and not any(field.lstrip("-") in ("id", "pk") for field in ordering):
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        return ordering


class KeysetOrderingFilter(BaseFilterBackend):
    """``?ordering=`` as one of the view's named orders (``view.keyset_orders``, a dict of
    ``pipeline.keyset.KeysetOrder``; ``view.keyset_default`` without the parameter). Any
    other value is a 400 naming the orders offered: each of them is index-served and can
    be continued with a cursor, a combination of columns could be neither."""

    ordering_param = "ordering"

    @classmethod
    def order_for(cls, request: Any, view: Any) -> KeysetOrder:
        orders: dict[str, KeysetOrder] = view.keyset_orders
        name = request.query_params.get(cls.ordering_param, "") or view.keyset_default
        if name not in orders:
            raise ValidationError(
                {
                    cls.ordering_param: [
                        _("Unknown ordering “%(name)s”. Offered: %(names)s.")
                        % {"name": name, "names": ", ".join(orders)}
                    ]
                }
            )
        return orders[name]

    def filter_queryset(self, request: Any, queryset: QuerySet, view: Any) -> QuerySet:
        return queryset.order_by(*self.order_for(request, view).order_by())

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "One of the named orders (`-` for descending), then `id` in "
                f"the same direction; empty values last. Default `{view.keyset_default}`.",
                "schema": {"type": "string", "enum": list(view.keyset_orders)},
            }
        ]


class KeysetPagination(Pagination):
    """``Pagination`` whose ``next`` and ``previous`` links follow signed cursors
    (``?cursor=``, ``pipeline.keyset``): page numbers still open any page up to the cap,
    and following ``next`` reads each page from the index of the order however deep it is
    (no ``OFFSET``). A cursor page answers the same fields; an altered cursor, or one of
    another ordering, is a 400. The view uses ``KeysetOrderingFilter``."""

    cursor_query_param = "cursor"

    def paginate_queryset(self, queryset: QuerySet, request: Any, view: Any = None) -> Any:
        self.order = KeysetOrderingFilter.order_for(request, view)
        token = request.query_params.get(self.cursor_query_param)
        self.keyset = None
        if not token:
            rows = super().paginate_queryset(queryset, request, view)
            self.rows = list(rows or [])
            return rows
        try:
            cursor = parse_cursor(token, self.order)
        except InvalidCursor as error:
            raise ValidationError({self.cursor_query_param: [str(error)]}) from error
        self.request = request
        self.page = None  # type: ignore[assignment]
        self.paginator = CappedPaginator(queryset, self.get_page_size(request) or self.page_size)
        self.keyset = keyset_page(queryset, self.order, size=self.paginator.per_page, cursor=cursor)
        return self.keyset.rows

    def _cursor_link(self, token: str | None) -> str | None:
        if token is None:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, token)

    def get_next_link(self) -> str | None:
        if self.keyset is not None:
            return self._cursor_link(self.keyset.next_cursor)
        if not self.page.has_next() or not self.rows:
            return None
        return self._cursor_link(cursor_for(self.order, self.rows[-1]))

    def get_previous_link(self) -> str | None:
        if self.keyset is not None:
            return self._cursor_link(self.keyset.previous_cursor)
        return super().get_previous_link()

    def get_paginated_response(self, data: Any) -> Response:
        if self.keyset is None:
            return super().get_paginated_response(data)
        return Response(
            OrderedDict(
                [
                    ("count", self.paginator.count),
                    ("count_exact", self.paginator.count_exact),
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("results", data),
                ]
            )
        )

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "A position in the list, as the `next` and `previous` links "
                "carry it (signed; it belongs to the ordering it was made with).",
                "schema": {"type": "string"},
            },
        ]


@dataclass
class ListPage:
    """A page of a long list for a template: page numbers up to the count's cap, "Next" and
    "Previous" by signed cursor (``pipeline.keyset``). ``page`` is None on a cursor page;
    ``status`` is 400 when the cursor was refused (the first page is shown instead)."""

    paginator: CappedPaginator
    page: Page | None
    rows: list[Any]
    keyset: KeysetPage | None
    next_url: str | None
    previous_url: str | None
    first_url: str
    status: int = 200

    def context(self) -> dict[str, Any]:
        """What ``includes/pagination.html`` and the page footers read."""
        page, paginator = self.page, self.paginator
        return {
            "page_obj": page,
            "paginator": paginator,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
            if page is not None
            else [],
            "keyset": self.keyset,
            "page_next_url": self.next_url,
            "page_previous_url": self.previous_url,
            "page_first_url": self.first_url,
        }


def cursor_url(request: Any, cursor: str | None) -> str | None:
    """This list (filters, sort, page size kept) at ``cursor``; ``""``: its first page."""
    if cursor is None:
        return None
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("cursor", None)
    if cursor:
        params["cursor"] = cursor
    return f"?{params.urlencode()}"


def keyset_list(
    request: Any,
    rows: QuerySet,
    order: KeysetOrder,
    per_page: int,
    *,
    paginator: CappedPaginator | None = None,
    count_cap: int | None = None,
) -> ListPage:
    """The page of ``rows`` (unordered: ``order`` orders them) that ``request`` asks for:
    ``?cursor=`` (a keyset page, read as an index range however deep), else ``?page=``.
    An altered cursor, or one of another order, gives the first page with an error
    message and status 400. ``paginator``: one over ``rows`` in ``order`` already made
    (its count reused); ``count_cap``: a lower cap of the count (``SHORT_COUNT_CAP``)."""
    paginator = paginator or CappedPaginator(
        rows.order_by(*order.order_by()), per_page, count_cap=count_cap
    )
    token = request.GET.get("cursor", "")
    status = 200
    if token:
        try:
            cursor = parse_cursor(token, order)
        except InvalidCursor as error:
            messages.error(request, str(error))
            status = 400
        else:
            keyset = keyset_page(rows, order, size=paginator.per_page, cursor=cursor)
            return ListPage(
                paginator,
                None,
                keyset.rows,
                keyset,
                cursor_url(request, keyset.next_cursor),
                cursor_url(request, keyset.previous_cursor),
                cursor_url(request, "") or "",
            )
    page = paginator.get_page(request.GET.get("page") if not token else 1)
    objects = list(page.object_list)
    following = cursor_for(order, objects[-1]) if page.has_next() and objects else None
    return ListPage(
        paginator,
        page,
        objects,
        None,
        cursor_url(request, following),
        None,
        cursor_url(request, "") or "",
        status,
    )
