"""``assert_queries_flat``: a page (or a function) takes as many queries for 3 rows as for 30.

Used through the fixture of the same name in ``tests/conftest.py``::

    def test_list_does_not_grow(client, assert_queries_flat):
        make_leads(3)
        assert_queries_flat(lambda: client.get(url), grow=lambda: make_leads(20), max_queries=15)

It runs ``run`` once, calls ``grow``, runs ``then`` (``run`` again by default) and fails when
the number of queries changed, listing the statements that were added or went away with
numbers and parameters replaced by ``?`` so that 20 look-ups read as one line "× 20". Two
setups prepared in advance compare with ``then=`` alone; ``max_queries`` is a budget both
runs must keep.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
_PLACEHOLDER = re.compile(r"%s|\?")
_IN_LIST = re.compile(r"\(\?(?:\s*,\s*\?)+\)")
_SPACE = re.compile(r"\s+")
_SAVEPOINT = re.compile(r'"s\d+_x\d+"')


def normalize(sql: str) -> str:
    """One statement with its values gone: ``WHERE id = 7`` and ``WHERE id = 8`` read the same,
    and the select list is shortened to ``…`` (the FROM and WHERE tell statements apart)."""
    sql = _SPACE.sub(" ", sql).strip()
    sql = _SAVEPOINT.sub('"s…"', sql)
    sql = _STRING.sub("?", sql)
    sql = _NUMBER.sub("?", sql)
    sql = _PLACEHOLDER.sub("?", sql)
    sql = _IN_LIST.sub("(?, …)", sql)
    return _shorten_select_list(sql)


def _shorten_select_list(sql: str) -> str:
    if not sql.upper().startswith("SELECT "):
        return sql
    depth = 0
    for index, char in enumerate(sql):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and sql.startswith(" FROM ", index):
            distinct = "SELECT DISTINCT" if sql.upper().startswith("SELECT DISTINCT") else "SELECT"
            return f"{distinct} …{sql[index:]}"
    return sql


def _capture(run: Callable[[], Any]) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        result = run()
    status = getattr(result, "status_code", 200)
    assert status == 200, f"the measured request answered {status}; an error page proves nothing"
    return result, [query["sql"] for query in captured.captured_queries]


def _lines(counts: Counter, sign: str) -> list[str]:
    return [f"  {sign} {n:>3} × {sql}" for sql, n in sorted(counts.items(), key=lambda i: -i[1])]


def assert_queries_flat(
    run: Callable[[], Any],
    *,
    grow: Callable[[], Any] | None = None,
    then: Callable[[], Any] | None = None,
    max_queries: int | None = None,
) -> Any:
    """Run ``run``, call ``grow``, run ``then`` (default: ``run`` again); fail unless both runs
    took the same number of queries, and no more than ``max_queries`` when given.

    Returns what the second run returned (the response, to check it showed all the rows). A
    response must be a 200: an error page is flat for the wrong reason.
    """
    if grow is None and then is None:
        raise TypeError("assert_queries_flat needs grow= or then=: something must change")
    _, before = _capture(run)
    if grow is not None:
        grow()
    result, after = _capture(then or run)
    if len(after) != len(before):
        old, new = Counter(map(normalize, before)), Counter(map(normalize, after))
        raise AssertionError(
            f"query count changed from {len(before)} to {len(after)} "
            f"({len(after) - len(before):+d}); statements added (+) and gone (-):\n"
            + "\n".join(_lines(new - old, "+") + _lines(old - new, "-"))
        )
    if max_queries is not None and len(after) > max_queries:
        raise AssertionError(
            f"{len(after)} queries, over the budget of {max_queries}:\n"
            + "\n".join(_lines(Counter(map(normalize, after)), " "))
        )
    return result
