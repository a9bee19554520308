"""Security headers (issue 13, item 6): a Content-Security-Policy the app's pages pass.

Every page of the page matrix (``tests/pipeline/test_page_matrix.py``: its table, world and
request helper) answers with the policy. Every HTML answer, rendered as the most
privileged user (a superuser) and as a rep, is scanned: no inline ``<script>``, no
``on*=`` handler, no ``javascript:`` address, no ``style`` attribute or ``<style>``
element (the policy has ``style-src 'self'``). Only the public capture form may be
framed by other sites; Django's admin and the API docs pass the same policy.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.template import Context, Template
from django.test import Client

from pipeline import security
from tests.pipeline import test_page_matrix as matrix

pytestmark = pytest.mark.django_db

#: The page matrix's world (users of every role, a lead, a campaign …), as a fixture here.
world = matrix.world

APP_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: The pages other sites may frame: the public capture form only.
EMBEDDABLE = {"capture-form"}
#: Who renders every page for the scan: the superuser sees every page and every action,
#: a rep the sales side; anonymous visitors see the login page and the capture form.
SCANNED_ROLES = ("admin", "rep", "anon")
DATA_BLOCKS = {"application/json", "application/ld+json"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href"}


class InlineCode(HTMLParser):
    """Everything in a page that a ``script-src 'self'; style-src 'self'`` policy refuses."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script":
            # A data block (json_script, DRF's CSRF token) is never run: no policy applies.
            self._in_script = names.get("type") not in DATA_BLOCKS
            if self._in_script and not names.get("src"):
                self.found.append(f"<script> without src at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> element at line {self.getpos()[0]}")
        for name, value in attrs:
            where = f"<{tag} {name}=…> at line {self.getpos()[0]}"
            address = "".join((value or "").split()).lower()  # browsers skip the blanks
            if name.startswith("on"):
                self.found.append(f"event handler {where}")
            elif name == "style":
                self.found.append(f"style attribute {where}")
            elif name in URL_ATTRIBUTES and address.startswith("javascript:"):
                self.found.append(f"javascript: address {where}")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self._in_script = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append(f"inline script text at line {self.getpos()[0]}")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.found


def directives(header: str) -> dict[str, str]:
    parts = (part.strip() for part in header.split(";"))
    return {name: value for name, _, value in (part.partition(" ") for part in parts if part)}


def is_html(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


# --------------------------------------------------------------------------------------
# The scanner itself
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        "<script type='module'></script>",
        '<button onclick="go()">x</button>',
        '<body onload="go()">',
        '<a href=" JavaScript:go()">x</a>',
        '<form action="javascript:go()"></form>',
        '<span style="width: 3%"></span>',
        "<style>p { color: red }</style>",
        '<img src=x onerror="go()"/>',
    ],
)
def test_the_scanner_finds_inline_code(html):
    assert inline_code(html) != []


def test_the_scanner_lets_files_and_text_pass():
    html = (
        '<script type="application/json" id="chart-data">{"a": 1}</script>'
        '<script src="/static/js/app.js" defer></script>'
        '<link rel="stylesheet" href="/static/css/app.css">'
        '<p data-confirm="Delete?">onclick=go() and javascript:go() as text</p>'
        '<a href="/leads/?q=javascript">x</a><span class="pct-3"></span>'
    )
    assert inline_code(html) == []


# --------------------------------------------------------------------------------------
# Every page
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(matrix.PAGES))
def test_every_page_sends_the_policy_and_has_no_inline_code(world, name):
    method, path, body, _spec = matrix.PAGES[name]
    path = matrix._fill(path, world)
    for role in SCANNED_ROLES:
        response = matrix._request(world, role, method, path, body)
        who = f"{name} as {role} ({response.status_code})"
        policy = directives(response.get("Content-Security-Policy", ""))
        assert policy, f"{who}: no Content-Security-Policy"
        assert response["X-Content-Type-Options"] == "nosniff", who
        assert response["Referrer-Policy"] == "same-origin", who
        assert "camera=()" in response["Permissions-Policy"], who
        if name in EMBEDDABLE:
            assert policy["frame-ancestors"] == "*", who
            assert "X-Frame-Options" not in response, who
        else:
            assert response["Content-Security-Policy"] == APP_POLICY, who
            assert response["X-Frame-Options"] == "DENY", who
        if is_html(response):
            assert inline_code(response.content.decode()) == [], who


def test_the_rendered_pages_include_bars_with_a_width_class(world):
    """The scan above is not vacuous: pages with bars render them, as classes."""
    response = matrix._request(world, "admin", "get", "/leads/", None)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="score-bar"' in html
    assert 'class="pct-' in html
    assert "<script src=" in html


@pytest.mark.parametrize("path", ["/no-such-page/", "/leads/999999/"])
def test_error_pages_send_the_policy_and_have_no_inline_code(world, path):
    response = matrix._request(world, "admin", "get", path, None)
    assert response.status_code == 404
    assert response["Content-Security-Policy"] == APP_POLICY
    assert inline_code(response.content.decode()) == []


def test_static_files_send_the_policy_too(client):
    response = client.get("/static/img/favicon.svg")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == APP_POLICY


# --------------------------------------------------------------------------------------
# Django's admin and the API docs
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/leads/lead/",
        "/admin/leads/lead/add/",
        "/admin/campaigns/campaign/",
        "/admin/auth/user/",
        "/admin/auth/user/add/",
        "/api/docs/",
    ],
)
def test_admin_and_api_docs_pages_pass_the_policy(world, path):
    response = matrix._request(world, "admin", "get", path, None)
    assert response.status_code == 200, path
    assert response["Content-Security-Policy"] == APP_POLICY
    assert inline_code(response.content.decode()) == [], path


def test_the_browsable_api_may_use_inline_styles_but_no_inline_script(world):
    client = Client()
    client.force_login(world["users"]["admin"])
    response = client.get("/api/v1/leads/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert is_html(response)
    policy = directives(response["Content-Security-Policy"])
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    scripts = [found for found in inline_code(response.content.decode()) if "script" in found]
    assert scripts == []
    # The same address as JSON keeps the strict policy, as every page of the app.
    response = client.get("/api/v1/leads/")
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Security-Policy"] == APP_POLICY


def test_the_api_docs_load_their_start_up_script_as_a_file(world):
    page = matrix._request(world, "anon", "get", "/api/docs/", None).content.decode()
    assert "/api/docs/?script=" in page
    script = matrix._request(world, "anon", "get", "/api/docs/?script=", None)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


# --------------------------------------------------------------------------------------
# Framing: the capture form only
# --------------------------------------------------------------------------------------


def test_the_capture_form_may_be_framed_by_the_configured_sites(world, settings):
    settings.CAPTURE_FRAME_ANCESTORS = ["https://www.example.com", "https://*.example.cn"]
    client = Client()  # loads the middleware, so it reads the setting
    for path in (f"/f/{world['key']}/", f"/f/{world['key']}/?sent=1&lang=zh-hans"):
        response = client.get(path)
        assert response.status_code == 200
        policy = directives(response["Content-Security-Policy"])
        assert policy["frame-ancestors"] == "https://www.example.com https://*.example.cn"
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
        assert "X-Frame-Options" not in response
    # A refused submission is re-rendered in the frame too.
    response = client.post(f"/f/{world['key']}/", {"website": "spam"})
    assert response.status_code == 400
    assert "X-Frame-Options" not in response
    assert "https://www.example.com" in response["Content-Security-Policy"]


def test_other_pages_may_not_be_framed_whatever_the_capture_setting(world, settings):
    settings.CAPTURE_FRAME_ANCESTORS = ["*"]
    response = Client().get("/accounts/login/")
    assert directives(response["Content-Security-Policy"])["frame-ancestors"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    ("sources", "header"),
    [
        (["*"], "*"),
        ([], "*"),
        (["'self'", "https:"], "'self' https:"),
        (["https://www.example.com:8443/forms/"], "https://www.example.com:8443/forms/"),
        (["example.com", "http://*.example.cn"], "example.com http://*.example.cn"),
    ],
)
def test_frame_ancestors_takes_sources(sources, header):
    assert security.frame_ancestors(sources) == header


@pytest.mark.parametrize(
    "source",
    [
        "https://a.example; script-src *",
        "https://a.example script-src",
        "'unsafe-inline'",
        "https://a.example/'x'",
        "",
    ],
)
def test_frame_ancestors_refuses_anything_else(source):
    with pytest.raises(ImproperlyConfigured, match="CAPTURE_FRAME_ANCESTORS"):
        security.frame_ancestors([source])


def test_a_debug_error_page_gets_the_policy_as_report_only(world, settings):
    settings.DEBUG = True
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert "Content-Security-Policy" not in response
    assert response["Content-Security-Policy-Report-Only"] == APP_POLICY


# --------------------------------------------------------------------------------------
# Bar widths as classes
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "css_class"),
    [(0, "pct-0"), (37, "pct-37"), (12.6, "pct-13"), ("55", "pct-55"), (140, "pct-100"),
     (-3, "pct-0"), (None, "pct-0"), ("", "pct-0"), ("n/a", "pct-0"), (float("nan"), "pct-0"),
     (float("inf"), "pct-0")],
)  # fmt: skip
def test_pct_gives_the_width_class_of_a_bar(value, css_class):
    rendered = Template("{% load bars %}{{ value|pct }}").render(Context({"value": value}))
    assert rendered == css_class


def test_app_css_defines_every_width_class():
    from django.contrib.staticfiles import finders

    css = open(finders.find("css/app.css"), encoding="utf-8").read()  # noqa: SIM115
    for n in range(101):
        assert f".pct-{n} {{ --pct: {n}; }}" in css
