"""Plain-text hygiene shared by every app: which characters stored or mailed text may not
carry. ``leads.lifecycle.fields.clean_lead_fields`` cleans lead input with ``clean_text``;
every email subject goes through ``email_subject``."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.translation import pgettext

#: Invisible characters that can hide or reorder text: zero-width spaces and joiners, the
#: bidi marks, embeddings, overrides (U+202A–U+202E) and isolates (U+2066–U+2069), the word
#: joiner and invisible operators, the byte-order mark.
INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
#: Control characters (C0, DEL, C1) and the Unicode line/paragraph separators.
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
#: The same, except the tab and the line feed a long text keeps.
_CONTROLS_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Longer subjects are cut: mail clients show less anyway.
SUBJECT_MAX_LENGTH = 200


def clean_text(value: str, *, multiline: bool = False) -> str:
    """Text as stored: no invisible or control characters, trimmed. A single-line value's
    line breaks and tabs become a space; a multi-line one keeps its line feeds."""
    value = INVISIBLE.sub("", value)
    if multiline:
        value = re.sub(r"\r\n?|[\u2028\u2029]", "\n", value)
        value = _CONTROLS_BUT_LINES.sub("", value)
    else:
        value = CONTROLS.sub(" ", value)
    return value.strip()


def email_subject(value: str) -> str:
    """A subject safe for any mail header: one line (a user-supplied name with ``\\r\\n``
    would otherwise make Django refuse the whole message with ``BadHeaderError``), no
    invisible characters, whitespace collapsed, at most ``SUBJECT_MAX_LENGTH`` characters."""
    return " ".join(clean_text(str(value)).split())[:SUBJECT_MAX_LENGTH]


def labelled(label: object, value: object) -> str:
    """ "Label: value" with the active language's colon: "Time zone: Asia/Shanghai",
    "时区：Asia/Shanghai" (a full-width colon, no space after it)."""
    return pgettext("a label and its value", "%(label)s: %(value)s") % {
        "label": label,
        "value": value,
    }


def joined(items: Iterable[object]) -> str:
    """Items of a run-on list with the active language's separator: "a; b" or "a；b"."""
    return pgettext("between the items of a run-on list", "; ").join(str(i) for i in items)
