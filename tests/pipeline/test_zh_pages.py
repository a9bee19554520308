"""Every page read in Chinese shows Chinese: no English word left untranslated.

Walks the GET pages of the page matrix (its world and URL table) as each role with the
language set to zh-hans, parses the HTML with the standard library, and fails on visible
text (and ``title``/``placeholder``/``aria-label`` attributes) holding a Latin-only word
that is not a brand or an agreed abbreviation (``ALLOWED``), a code, a URL, an email, or
data a person entered (the names the factories give, read back from the database).
The fix for a failure is a translation, not a wider allow-list.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.test import Client

from tests.pipeline.test_page_matrix import PAGES, _fill, world  # noqa: F401  (fixture)
from tests.pipeline.test_permission_matrix import ROLES

pytestmark = pytest.mark.django_db

#: Latin words a Chinese page keeps: the product, file formats, agreed abbreviations
#: (docs/glossary.md), protocols and platform names.
ALLOWED = {
    "LeadLoop", "English", "ROI", "CPL", "CAC", "MQL", "SQL", "SLA", "UTM", "SEO", "SEM",
    "CSV", "XLSX", "Excel", "WPS", "UTF", "GBK", "BOM", "MB", "API", "ID", "URL", "HTTP",
    "HTTPS", "JSON", "HMAC", "SEC", "OpenAPI", "Webhook", "PIPL", "CNY", "iframe",
    "A", "B", "C", "D", "U", "true", "false",
}  # fmt: skip

#: Data and codes a page shows as they are: addresses first (before the entered names, which
#: they contain), then the rest.
ADDRESSES = [
    re.compile(r"https?://\S+"),
    re.compile(r"[\w.+*-]+@[\w-]+(\.[\w-]+)+"),  # masked too: l***@example.com
    re.compile(r"\b(Africa|America|Asia|Atlantic|Australia|Europe|Indian|Pacific)/\w+"),  # zones
]
CODE_LIKE = [
    re.compile(r"\b[\w-]+\.(csv|xlsx|json|html)\b", re.I),
    re.compile(r"\butm_(source|medium|campaign|content|term)\b"),  # URL parameters to type
    re.compile(r"\bp\d{2}\b"),  # percentiles: p50, p95
    re.compile(r"\b\d{4}-Q[1-4]\b"),  # a quarter as targets are typed: 2026-Q4
    re.compile(r"\+?\d[\d\s-]{6,}"),
    re.compile(r"/[\w/.{}<>?=&-]*"),  # paths
]

SKIPPED_TAGS = {"script", "style", "code", "pre", "kbd", "samp", "textarea"}
CHECKED_ATTRIBUTES = {"title", "placeholder", "aria-label"}
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")


class _Text(HTMLParser):
    """Visible text nodes and the checked attributes of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip_depth = 0
        self.skipped: list[str] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        # Code-like elements, and what the page marks as not to translate (the brand mark,
        # literal column headers), are not wording.
        if tag in SKIPPED_TAGS or dict(attrs).get("translate") == "no":
            self.skip_depth += 1
            self.skipped.append(tag)
            return
        for name, value in attrs:
            if name in CHECKED_ATTRIBUTES and value:
                self.texts.append(value)

    def handle_endtag(self, tag):
        if self.skipped and tag == self.skipped[-1]:
            self.skipped.pop()
            self.skip_depth -= 1

    def handle_data(self, data):
        if not self.skip_depth and data.strip():
            self.texts.append(data.strip())


def _entered_data() -> list[str]:
    """Everything the world's factories and fixtures typed in: shown as entered."""
    from assignment.models import AssignmentRule, Team
    from campaigns.models import Campaign, Channel
    from leads.models import Company, ImportJob, Lead, LeadEvent, SavedView
    from scoring.models import ScoringRule
    from webhooks.models import Webhook

    values: set[str] = set()
    for user in get_user_model().objects.all():
        values |= {user.username, user.first_name, user.last_name, user.get_full_name()}
    for model, fields in [
        (Campaign, ["name", "utm_campaign", "utm_source", "utm_medium"]),
        (Company, ["name", "industry", "region"]),
        (Lead, ["name", "title", "product_interest", "need"]),
        (Team, ["name"]),
        (Channel, ["name", "name_zh"]),
        (SavedView, ["name", "query"]),
        (Webhook, ["name"]),
        (AssignmentRule, ["name"]),
        (ScoringRule, ["name"]),
        (ImportJob, ["original_name", "headers"]),
        (LeadEvent, ["reason"]),
    ]:
        names = [f.name for f in model._meta.get_fields()]
        for row in model.objects.values(*[f for f in fields if f in names]):
            for value in row.values():
                values |= {str(v) for v in (value if isinstance(value, list) else [value]) if v}
    # Rule values compared with what people typed (titles, industries), not choice codes.
    for value in ScoringRule.objects.exclude(
        field__in=[
            "decision_role",
            "timeline",
            "company_size",
            "stage",
            "channel_kind",
            "touch_kinds",
            "grade",
        ]
    ).values_list("value", flat=True):
        values |= {str(v) for v in (value if isinstance(value, list) else [value])}
    # The page matrix's fixtures: reasons, a saved view, a webhook, a rule, a search.
    values |= {"test", "Mine", "robot", "r", "x", "s3cret", "Lead"}
    return sorted((v for v in values if re.search("[A-Za-z]", v)), key=len, reverse=True)


def latin_words(html: str, entered: list[str], verbose: bool = False) -> set[str]:
    parser = _Text()
    parser.feed(html)
    found = set()
    for text in parser.texts:
        for pattern in ADDRESSES:
            text = pattern.sub(" ", text)
        for value in entered:
            if value in text:
                text = re.sub(rf"(?<![A-Za-z]){re.escape(value)}(?![A-Za-z])", " ", text)
        for pattern in CODE_LIKE:
            text = pattern.sub(" ", text)
        for word in LATIN_WORD.findall(text):
            if word not in ALLOWED:
                found.add(f"{word} ‹{text[:60]}›" if verbose else word)
    return found


def test_the_parser_finds_english_and_skips_code():
    html = (
        '<p title="Edit lead">主管：陈强 <code>is_set</code></p><script>var x="Hello";</script>'
        '<a href="/leads/">线索 Back</a> <span>lead1@example.com ROI</span>'
    )
    assert latin_words(html, []) == {"Edit", "lead", "Back"}


GET_PAGES = [name for name, (method, *_rest) in PAGES.items() if method == "get"]


@pytest.mark.parametrize("name", GET_PAGES)
def test_chinese_pages_have_no_english_words(world, name):  # noqa: F811
    path = _fill(PAGES[name][1], world)
    entered = _entered_data()
    english: dict[str, set[str]] = {}
    for role in ROLES:
        client = Client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
        user = world["users"][role]
        if user is not None:
            client.force_login(user)
        cache.clear()
        with transaction.atomic():
            response = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans")
            transaction.set_rollback(True)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for word in latin_words(response.content.decode(), entered, verbose=True):
            english.setdefault(word, set()).add(role)
    report = "\n".join(f"  {word}  ({', '.join(sorted(roles))})" for word, roles in english.items())
    assert not english, f"{name}: English words on the Chinese page:\n{report}"
