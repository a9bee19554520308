"""Pure normalisation of contact data: phones to E.164, emails, company names."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from django.utils.translation import gettext as _

_COMPANY_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "集团公司",
    "集团",
    "公司",
    "co., ltd.",
    "co.,ltd.",
    "co. ltd.",
    "co ltd",
    "co., ltd",
    "company limited",
    "limited",
    "ltd.",
    "ltd",
    "inc.",
    "inc",
    "llc",
    "corporation",
    "corp.",
    "corp",
    "gmbh",
    "plc",
)
_SPACE_PUNCT = re.compile(r"[\s\.,，。·()（）\[\]【】\-_/&'\"]+")


def normalize_phone(raw: str, region: str) -> str:
    """``139 0000 0001`` → ``+8613900000001``; raise ``ValueError`` with a readable message."""
    text = (raw or "").strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(_("“%(phone)s” is not a phone number.") % {"phone": text}) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(_("“%(phone)s” is not a valid phone number.") % {"phone": text})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    return (raw or "").strip().lower()


def normalize_company_name(raw: str) -> str:
    """A key that matches spellings of one company: width, case, spaces and legal suffixes."""
    text = unicodedata.normalize("NFKC", raw or "").strip().lower()
    changed = True
    while changed and text:
        changed = False
        stripped = _SPACE_PUNCT.sub(" ", text).strip()
        for suffix in _COMPANY_SUFFIXES:
            key = _SPACE_PUNCT.sub(" ", suffix).strip()
            if stripped.endswith(key) and len(stripped) > len(key):
                text = stripped[: -len(key)].strip()
                changed = True
                break
    return _SPACE_PUNCT.sub("", text)[:200]
