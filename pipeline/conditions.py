"""Conditions over plain values: the operators shared by scoring rules and assignment rules.

Pure functions, no database: ``check_condition`` validates a rule's (field, operator, value)
against the fields a caller allows; ``matches`` evaluates it against a fact.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


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
        if _number(value) is None:
            raise ConditionError(_("“%(op)s” needs a number as value.") % {"op": operator})
        return field, operator, float(_number(value))
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
    if operator == "is_set":
        present = actual not in (None, "", [], 0) if not isinstance(actual, bool) else actual
        return present is expected
    if actual is None or actual == "":
        return False
    if operator == "eq":
        number = _number(actual)
        if number is not None and _number(expected) is not None:
            return number == _number(expected)
        return str(actual).casefold() == str(expected).casefold()
    if operator == "in":
        if isinstance(actual, list | tuple | set):
            return any(str(item).casefold() in {e.casefold() for e in expected} for item in actual)
        return str(actual).casefold() in {str(e).casefold() for e in expected}
    if operator == "contains":
        return str(expected).casefold() in str(actual).casefold()
    number = _number(actual)
    if number is None:
        return False
    if operator == "gte":
        return number >= Decimal(str(expected))
    if operator == "lte":
        return number <= Decimal(str(expected))
    raise ConditionError(_("Unknown operator “%(op)s”.") % {"op": operator}, field="operator")
