"""How a person (a user of the app) is named and ordered, in every page, export and email.

Django's ``get_full_name()`` is "first last" with a space, which reads "伟 张" for the
Chinese users of LeadLoop. Chinese (and Japanese, Korean) names are written family name
first with no space: "张伟". ``display_name`` is the one place that knows this.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import F, OrderBy
from django.db.models.functions import Collate

#: Han ideographs (with extension A, compatibility and the supplementary planes), kana and
#: hangul: names in these scripts are written family name first, without a space.
_CJK = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]"
)


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text or ""))


def display_name(user: AbstractBaseUser | AnonymousUser | None) -> str:
    """ "张伟" (family + given, no space) for CJK names, "Cindy Lin" otherwise, else the
    username; "" for no user."""
    if user is None:
        return ""
    first = (getattr(user, "first_name", "") or "").strip()
    last = (getattr(user, "last_name", "") or "").strip()
    # CJK: family name first, no space; otherwise "given family".
    name = f"{last}{first}" if has_cjk(first + last) else f"{first} {last}".strip()
    return name or user.get_username()


def display_name_with_username(user: AbstractBaseUser | AnonymousUser) -> str:
    """For pickers, where two people may share a name: "张伟 (rep1)", or just "rep1"."""
    name = display_name(user)
    username = user.get_username()
    return f"{name} ({username})" if name and name != username else username


def text_collation() -> str | None:
    """The collation that orders names and companies for people, or ``None``.

    The database's own collation is ``C`` in our deployments (byte order), which puts
    Chinese text in code-point order, not the pinyin order Chinese readers expect. On
    PostgreSQL with ICU, ``zh-x-icu`` orders Chinese by pinyin (李 before 张), then Latin
    text alphabetically. No index serves a collated sort, which only matters for sorting a
    very long list by name; the default sort (newest first) is unaffected.
    ``NAME_COLLATION`` (setting) overrides; empty disables.
    """
    if connection.vendor != "postgresql":
        return None
    return settings.NAME_COLLATION or None


def collated(field: str) -> Collate | F:
    """``field`` ordered by ``text_collation()`` where there is one."""
    collation = text_collation()
    return Collate(F(field), collation) if collation else F(field)


def text_order(field: str, *, descending: bool = False, nulls_last: bool = True) -> OrderBy:
    """``field`` collated for people. ``nulls_last=False`` for a NOT NULL column reached
    without an outer join: a plain ``ASC``/``DESC``, which an index can serve."""
    expression = collated(field)
    if not nulls_last:
        return expression.desc() if descending else expression.asc()
    return expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)


def people_ordering(prefix: str = "", *, descending: bool = False) -> list[OrderBy]:
    """Order users by family name, given name, then username (``prefix`` e.g. "owner__").

    Users without a name (``""``) come first ascending, as the empty string sorts first.
    """
    username = F(f"{prefix}username")
    return [
        text_order(f"{prefix}last_name", descending=descending),
        text_order(f"{prefix}first_name", descending=descending),
        username.desc() if descending else username.asc(),
    ]
