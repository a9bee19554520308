"""The catalogue of "why this owner" reasons: a code and its parameters, rendered on display.

An ownership decision is stored as a message key (``reason_code``) and its data
(``reason_params``: usernames, rule and company names, numbers, dates — never translated),
and is put into words only when somebody reads it, in *their* language (issue #8: a reason
composed when the worker ran, in the worker's language, stayed English for a manager reading
the page in 简体中文).

Parts of a reason are reasons too, rendered recursively: a rule's pick lists the candidates
it skipped, each with its own code (``daily_capacity`` …); a lead sent to the pool carries
one note per rule that matched but found nobody. The strategy is stored as its code and
shown with the strategy's label.

Pure: no database access, so the router can build reasons too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_noop, pgettext

from assignment.choices import Strategy

# Codes of whole decisions (an Assignment's ``reason_code``) …
MANUAL = "manual"
CLAIMED = "claimed"
COMPANY_STICKINESS = "company_stickiness"
RULE_PICK = "rule_pick"
POOLED = "pooled"
# … of a skipped candidate (``Candidate`` → why not them) …
INACTIVE = "inactive"
UNAVAILABLE = "unavailable"
AWAY = "away"
DAILY_CAPACITY = "daily_capacity"
OPEN_LEAD_CAP = "open_lead_cap"
# … and of a pool note (a rule that matched but gave nobody).
RULE_NO_CANDIDATES = "rule_no_candidates"
RULE_NONE_ELIGIBLE = "rule_none_eligible"

#: Templates marked for translation, looked up in the active language when rendered.
_TEMPLATES: dict[str, str] = {
    MANUAL: gettext_noop("Assigned by hand by %(user)s."),
    CLAIMED: gettext_noop("Claimed from the pool by %(user)s."),
    COMPANY_STICKINESS: gettext_noop(
        "Company stickiness: %(user)s already owns an open lead of %(company)s."
    ),
    RULE_PICK: gettext_noop(
        "Rule “%(rule)s” (%(strategy)s) chose %(user)s: %(open)d open leads, "
        "%(today)d assigned today."
    ),
    POOLED: gettext_noop(
        "No assignment rule found an eligible salesperson; the lead went to the pool."
    ),
    INACTIVE: gettext_noop("inactive user"),
    UNAVAILABLE: gettext_noop("marked unavailable"),
    AWAY: gettext_noop("away until %(date)s"),
    DAILY_CAPACITY: gettext_noop("daily capacity %(n)d reached"),
    OPEN_LEAD_CAP: gettext_noop("open-lead cap %(n)d reached"),
    RULE_NO_CANDIDATES: gettext_noop("“%(rule)s”: nobody to choose from"),
    RULE_NONE_ELIGIBLE: gettext_noop("“%(rule)s”: nobody eligible (%(why)s)"),
}


#: ``POOLED`` when no rule matched at all (issue #14): its params carry ``empty``, the
#: fields the rules test that the lead left empty (decisions before it carry none).
_NO_RULE_MATCHED = gettext_noop("No assignment rule matched; the lead went to the pool.")
_NO_RULE_MATCHED_EMPTY = gettext_noop(
    "No assignment rule matched (not filled in: %(fields)s); the lead went to the pool."
)

#: Labels of the fields a rule tests, for "not filled in: Region" (the msgids of the rule
#: editor's labels, ``scoring.forms.FACT_LABELS``, so one translation serves both; that
#: module imports the models, which import this one).
_FIELD_LABELS: dict[str, str] = {
    "grade": gettext_noop("Grade"),
    "score": gettext_noop("Score"),
    "region": gettext_noop("Region"),
    "industry": gettext_noop("Industry"),
    "company_size": gettext_noop("Company size"),
    "channel": gettext_noop("Channel"),
    "channel_kind": gettext_noop("Channel kind"),
    "campaign": gettext_noop("Campaign (id)"),
    "product_interest": gettext_noop("Product interest"),
    "timeline": gettext_noop("Timeline"),
    "decision_role": gettext_noop("Decision role"),
    "budget": gettext_noop("Budget"),
    "utm_source": gettext_noop("UTM source"),
}


@dataclass(frozen=True)
class DecisionReason:
    """A reason as stored: a catalogue code and JSON-ready parameters."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        """The reason in the active language."""
        return reason_text(self.code, self.params)

    def as_data(self) -> dict[str, Any]:
        """The nested form kept inside another reason's parameters."""
        return {"code": self.code, "params": self.params}

    def stored_text(self) -> str:
        """The text kept in the ``reason`` column beside the code, for readers of the plain
        column (admin, exports, old clients): always the site language ``LANGUAGE_CODE``,
        whichever language the request or worker that made the decision was using."""
        if translation.get_language() == settings.LANGUAGE_CODE:
            return str(self)  # a set's caller switched once for all its reasons
        with translation.override(settings.LANGUAGE_CODE):
            return str(self)


def manual(*, user: str, text: str = "") -> DecisionReason:
    """Assigned by hand: ``user`` is who did it ("" for the system), ``text`` what they
    typed, shown exactly as typed."""
    return DecisionReason(MANUAL, {"user": user, "text": text})


class Named(Protocol):
    """Whom a reason names: a ``router.Candidate``."""

    @property
    def name(self) -> str: ...

    @property
    def username(self) -> str: ...


def skipped_data(skipped: Iterable[tuple[Named, DecisionReason]]) -> list[dict[str, Any]]:
    """``(candidate, why)`` pairs as parameters: who (their name) and the nested reason."""
    return [
        {"user": candidate.name or candidate.username, **why.as_data()}
        for candidate, why in skipped
    ]


# --------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------


def _join(parts: Iterable[str]) -> str:
    return pgettext("separator between the items of a reason", "; ").join(parts)


def _nested(item: Mapping[str, Any]) -> str:
    return reason_text(str(item.get("code") or ""), item.get("params"), fallback="")


def _strategy_label(code: str) -> str:
    try:
        return str(Strategy(code).label)
    except ValueError:
        return code


def _skipped(items: Sequence[Mapping[str, Any]], template: str) -> str:
    """Each skipped candidate worded with ``template`` (translated) and its own reason."""
    return _join(template % {"user": item["user"], "why": _nested(item)} for item in items)


def _render_manual(params: Mapping[str, Any]) -> str:
    by = params.get("user") or gettext("the system")
    text = gettext(_TEMPLATES[MANUAL]) % {"user": by}
    typed = params.get("text") or ""
    return f"{text} {typed}" if typed else text


@lru_cache(maxsize=64)
def _rule_pick_words(language: str | None, strategy: str) -> tuple[str, str]:
    """The rule pick's template and the strategy's label in ``language``, looked up once
    per language and strategy (a routed set words one reason per lead, each with its own
    counts)."""
    return gettext(_TEMPLATES[RULE_PICK]), _strategy_label(strategy)


def _render_rule_pick(params: Mapping[str, Any]) -> str:
    template, label = _rule_pick_words(translation.get_language(), str(params.get("strategy", "")))
    text = template % {**params, "strategy": label}
    skipped = params.get("skipped") or []
    if skipped:
        listed = _skipped(skipped, pgettext("a skipped candidate", "%(user)s (%(why)s)"))
        text += " " + gettext("Skipped: %(list)s.") % {"list": listed}
    return text


def _render_none_eligible(params: Mapping[str, Any]) -> str:
    template = pgettext("an ineligible candidate", "%(user)s: %(why)s")
    why = _skipped(params.get("skipped") or [], template)
    return gettext(_TEMPLATES[RULE_NONE_ELIGIBLE]) % {"rule": params["rule"], "why": why}


def _render_pooled(params: Mapping[str, Any]) -> str:
    if "empty" in params and not params.get("notes"):  # no rule matched (issue #14)
        empty = [gettext(_FIELD_LABELS.get(name, name)) for name in params["empty"]]
        if empty:
            joined = pgettext("between field names", ", ").join(empty)
            return gettext(_NO_RULE_MATCHED_EMPTY) % {"fields": joined}
        return gettext(_NO_RULE_MATCHED)
    text = gettext(_TEMPLATES[POOLED])
    notes = [_nested(note) for note in params.get("notes") or []]
    if notes:
        text += " " + pgettext("notes after a reason", "%(notes)s.") % {"notes": _join(notes)}
    return text


_RENDERERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    MANUAL: _render_manual,
    RULE_PICK: _render_rule_pick,
    RULE_NONE_ELIGIBLE: _render_none_eligible,
    POOLED: _render_pooled,
}

#: Every code the catalogue knows.
REASON_CODES = frozenset(_TEMPLATES)


def reason_text(code: str, params: Mapping[str, Any] | None = None, *, fallback: str = "") -> str:
    """The reason ``code`` with ``params`` in the active language.

    ``fallback`` (the stored text) is returned for a row without a code (written before
    codes existed), a code this catalogue does not know, or parameters that do not fit.
    """
    if not code or code not in _TEMPLATES:
        return fallback
    params = params if isinstance(params, Mapping) else {}
    try:
        renderer = _RENDERERS.get(code)
        if renderer is not None:
            return renderer(params)
        return gettext(_TEMPLATES[code]) % params
    except (AttributeError, KeyError, TypeError, ValueError):  # parameters that do not fit
        return fallback
