"""Conditions over plain values: the operators shared by scoring rules and assignment rules.

Pure functions, no database: ``check_condition`` validates a rule's (field, operator, value)
against the fields a caller allows; ``matches`` evaluates it against a fact.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

OPERATORS = ("eq", "in", "gte", "lte", "contains", "is_set")
#: The kind of value a field holds; decides which operators and values make sense.
TEXT, NUMBER, CHOICE = "text", "number", "choice"


class ConditionError(ValueError):
    """A rule condition that cannot be evaluated; ``field`` says which part is wrong."""

    def __init__(self, message: str, field: str = "value"):
        super().__init__(message)
        self.field = field


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, str):
        return _text_number(value)
    return _parse_number(str(value))


def _parse_number(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


#: Facts repeat (titles, industries, choice codes) and rule values never change: a text's
#: number is looked up once.
_text_number = functools.lru_cache(maxsize=16384)(_parse_number)


def check_condition(
    field: str, operator: str, value: Any, fields: Mapping[str, str]
) -> tuple[str, str, Any]:
    """Validate one condition; return it normalised or raise ``ConditionError``."""
    if field not in fields:
        raise ConditionError(
            _("Unknown field “%(field)s”; use one of: %(fields)s.")
            % {"field": field, "fields": ", ".join(sorted(fields))},
            field="field",
        )
    if operator not in OPERATORS:
        raise ConditionError(
            _("Unknown operator “%(op)s”; use one of: %(ops)s.")
            % {"op": operator, "ops": ", ".join(OPERATORS)},
            field="operator",
        )
    kind = fields[field]
    if operator in ("gte", "lte"):
        if kind != NUMBER:
            raise ConditionError(
                _("“%(op)s” compares numbers, but “%(field)s” is not a number.")
                % {"op": operator, "field": field},
                field="operator",
            )
        number = _number(value)
        if number is None:
            raise ConditionError(_("“%(op)s” needs a number as value.") % {"op": operator})
        return field, operator, float(number)
    if operator == "in":
        if not isinstance(value, list) or not value:
            raise ConditionError(_("“in” needs a non-empty list as value."))
        if not all(isinstance(item, str | int | float) for item in value):
            raise ConditionError(_("“in” needs a list of texts or numbers."))
        return field, operator, [str(item) for item in value]
    if operator == "is_set":
        if not isinstance(value, bool):
            raise ConditionError(_("“is_set” needs true or false as value."))
        return field, operator, value
    if operator == "contains" and kind == NUMBER:
        raise ConditionError(
            _("“contains” searches text, but “%(field)s” is a number.") % {"field": field},
            field="operator",
        )
    if not isinstance(value, str | int | float) or isinstance(value, bool) or value == "":
        raise ConditionError(_("“%(op)s” needs a text as value.") % {"op": operator})
    return field, operator, str(value)


def matches(operator: str, actual: Any, expected: Any) -> bool:
    """Evaluate one validated condition against the fact ``actual``."""
    return compile_condition(operator, expected)(actual)


def _blank(actual: Any) -> bool:
    return actual is None or (isinstance(actual, str) and actual == "")


def compile_condition(operator: str, expected: Any) -> Callable[[Any], bool]:
    """One validated condition as a test of a fact: the rule's value is read once, so a
    rule applied to many leads (scoring an import, rescoring all) costs one call per lead.
    A missing fact (``None`` or ``""``) matches nothing but ``is_set``."""
    if operator == "is_set":

        def test(actual: Any) -> bool:
            present = actual not in (None, "", [], 0) if not isinstance(actual, bool) else actual
            return present is expected

        return test
    if operator == "eq":
        wanted, folded = _number(expected), str(expected).casefold()

        def test(actual: Any) -> bool:
            if _blank(actual):
                return False
            if wanted is not None and (number := _number(actual)) is not None:
                return number == wanted
            return str(actual).casefold() == folded

        return test
    if operator == "in":
        allowed = frozenset(str(item).casefold() for item in expected)

        def test(actual: Any) -> bool:
            if _blank(actual):
                return False
            if isinstance(actual, list | tuple | set):
                return any(str(item).casefold() in allowed for item in actual)
            return str(actual).casefold() in allowed

        return test
    if operator == "contains":
        needle = str(expected).casefold()
        return lambda actual: not _blank(actual) and needle in str(actual).casefold()
    if operator in ("gte", "lte"):
        bound = _number(expected)
        if bound is None:  # check_condition refuses such a rule; never compare with None
            raise ConditionError(_("“%(op)s” needs a number as value.") % {"op": operator})
        at_least = operator == "gte"

        def test(actual: Any) -> bool:
            number = None if _blank(actual) else _number(actual)
            if number is None:
                return False
            return number >= bound if at_least else number <= bound

        return test
    raise ConditionError(_("Unknown operator “%(op)s”.") % {"op": operator}, field="operator")
