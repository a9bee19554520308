"""Contact normalisation: the Chinese mobile fast path gives phonenumbers' own answers."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from leads.normalize import normalize_company_name, normalize_phone


def library(text: str, region: str) -> str | None:
    """What phonenumbers alone says: the E.164 form, or None when not a valid number."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def ours(text: str, region: str) -> str | None:
    try:
        return normalize_phone(text, region)
    except ValueError:
        return None


def test_fast_path_agrees_with_phonenumbers_on_every_mobile_prefix():
    """Every five-digit prefix 13000–19999, with random endings, in the spellings lists use."""
    rng = random.Random(20261127)
    checked = 0
    for prefix in range(13000, 20000):
        for _ in range(2):
            number = f"{prefix}{rng.randrange(1_000_000):06d}"
            for text in (number, f"{number[:3]} {number[3:7]} {number[7:]}", f"+86-{number}"):
                assert ours(text, "CN") == library(text, "CN"), text
                checked += 1
    assert checked == 42_000


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("13900001001", "CN", "+8613900001001"),
        ("0086 139 0000 1001", "CN", "+8613900001001"),
        ("+86 139 0000 1001", "US", "+8613900001001"),
        ("13900001001", "US", None),  # not a US number: the library decides
        ("14000001001", "CN", None),  # 140 is not a mobile block
        ("010 1234 5678", "CN", "+861012345678"),  # landlines take the library path
        ("１３９００００１００１", "CN", "+8613900001001"),  # full-width digits too
    ],
)
def test_spellings(text, region, expected):
    assert ours(text, region) == expected == library(text, region)


def test_bad_numbers_say_what_is_wrong():
    with pytest.raises(ValueError, match="not a valid phone number"):
        normalize_phone("14000001001", "CN")
    with pytest.raises(ValueError, match="not a phone number"):
        normalize_phone("call me", "CN")


def test_company_names_match_across_spellings():
    assert normalize_company_name("华为技术有限公司") == normalize_company_name("华为技术")
    assert normalize_company_name("ACME Co., Ltd.") == normalize_company_name("acme")
