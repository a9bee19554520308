"""Pure normalisation of contact data: phones to E.164, emails, company names."""

from __future__ import annotations

import functools
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


#: A Chinese mobile number as lists usually hold it: 11 digits from 13x to 19x, maybe after
#: +86 / 0086, maybe with spaces or dashes.
_CN_MOBILE = re.compile(r"(?:\+86|0086)?(1[3-9]\d{9})")
_PHONE_SEPARATORS = str.maketrans("", "", " -")


@functools.lru_cache(maxsize=8192)
def _cn_mobile_block_valid(first7: str) -> bool:
    """phonenumbers' verdict on a Chinese mobile number block (its first seven digits).

    In the library's CN metadata, whether an 11-digit number starting 13–19 is valid
    depends on its first five digits at most, so one verdict per block serves all 10,000
    numbers in it; tests compare this against phonenumbers across every prefix.
    """
    return phonenumbers.is_valid_number(phonenumbers.parse(first7 + "0000", "CN"))


def normalize_phone(raw: str, region: str) -> str:
    """``139 0000 0001`` → ``+8613900000001``; raise ``ValueError`` with a readable message."""
    text = (raw or "").strip()
    if not text:
        return ""
    mobile = _CN_MOBILE.fullmatch(text.translate(_PHONE_SEPARATORS))
    if mobile and (region == "CN" or text.startswith("+86")):
        # The common case of imports, answered without parsing (same result as below).
        national = mobile.group(1)
        if _cn_mobile_block_valid(national[:7]):
            return "+86" + national
        raise ValueError(_("“%(phone)s” is not a valid phone number.") % {"phone": text})
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(_("“%(phone)s” is not a phone number.") % {"phone": text}) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(_("“%(phone)s” is not a valid phone number.") % {"phone": text})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    return (raw or "").strip().lower()


@functools.lru_cache(maxsize=65536)  # lists repeat companies; the function is pure
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


#: What a typed phone number may hold besides digits: ``+86 139-1234 (0001)``.
_PHONE_TYPED = re.compile(r"[+\d\s\-().]{6,30}")
_PHONE_TYPED_NOISE = str.maketrans("", "", " -().\u3000")


def phone_search_key(raw: str, region: str) -> str | None:
    """The stored (E.164) form of a phone number typed into a search box, or ``None``
    when the text is not a whole phone number.

    The same normalisation as capture (``normalize_phone``), so ``139 1234 0001``,
    ``139-1234-0001`` and ``+86 139 1234 0001`` all give ``+8613912340001``; searches
    then match it exactly (an index look-up, never a scan of every phone).
    """
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not _PHONE_TYPED.fullmatch(text):
        return None
    compact = text.translate(_PHONE_TYPED_NOISE)
    if sum(char.isdigit() for char in compact) < 6:
        return None
    try:
        return normalize_phone(compact, region) or None
    except ValueError:
        return None
