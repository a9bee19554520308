"""The Content-Security-Policy in a real browser (issue 13, item 6).

Chromium enforces the policy pipeline/security.py sends and says in the console what it
refused. Every page of the page matrix, opened by a superuser and by a rep, Django's admin
and the API docs must refuse nothing; a customer's website may frame the public capture
form (and a visitor can send it from inside the frame), but no other page.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from leads.models import Lead
from tests.e2e.conftest import CHROMIUM, SKIP_REASON
from tests.pipeline import test_page_matrix as matrix

if not CHROMIUM.exists():  # a skip, not an import error, where Playwright is missing too
    pytest.skip(SKIP_REASON, allow_module_level=True)

from playwright.sync_api import expect

PASSWORD = "pw-test-123"  # UserFactory's

#: The page matrix's world (users of every role, a lead, a campaign …), as a fixture here.
world = matrix.world


def signed_in(browsing, user):
    page = browsing.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.locator("form[action$='/accounts/login/'] button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    return page


@contextlib.contextmanager
def customer_website(*framed: str) -> Iterator[str]:
    """A customer's website: a page framing each of ``framed``, from a server of its own
    on 127.0.0.1 (another site than the app's localhost; a local one, else Chromium's
    Private Network Access would refuse the frames whatever our policy says)."""
    frames = "".join(
        f'<iframe id="frame-{n}" src="{url}" width="600" height="900"></iframe>'
        for n, url in enumerate(framed)
    )
    body = f"<!doctype html><title>Customer</title>{frames}".encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def csp_messages_about(browsing, text: str, *, wait_s: float = 5.0) -> list[str]:
    """The console's CSP messages that mention ``text``, waiting a little for the first."""
    deadline = time.monotonic() + wait_s
    while True:
        found = [message for message in browsing.csp_messages if text in message]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


# ``browsing`` before ``world``: the browser starts before the world is built. The other
# way round, the next transactional test of the session found the database without its
# migrated rows (the channels): their serialized copy was no longer on the connection.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_no_page_breaks_the_policy(browsing, world, e2e_settings):
    pages = [
        matrix._fill(path, world)
        for method, path, _body, _spec in matrix.PAGES.values()
        # /healthz is no page; the exports (leads, targets, personal data) are downloads.
        if method == "get"
        and path != "/healthz"
        and not path.split("?")[0].endswith(("/export/", "/personal-data/"))
    ]
    admin_pages = ["/admin/", "/admin/leads/lead/", "/admin/leads/lead/add/", "/api/docs/"]
    for role in ("admin", "rep"):
        page = signed_in(browsing, world["users"][role])
        for path in pages + (admin_pages if role == "admin" else []):
            page.goto(path)
        assert browsing.csp_messages == [], role
    # The API docs do render (their start-up script is a file, /api/docs/?script=).
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("LeadLoop API")
    assert browsing.csp_messages == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_only_the_capture_form_may_be_framed_by_another_site(browsing, world, e2e_settings):
    form_url = browsing.url(f"/f/{world['key']}/")
    login_url = browsing.url("/accounts/login/")
    page = browsing.new_page()
    with customer_website(form_url, login_url) as customer_site:
        page.goto(f"{customer_site}/contact/")
    form = page.frame_locator("#frame-0")
    expect(form.locator("h1")).to_have_text("Contact us")
    # The login page refuses to be framed: frame-ancestors 'none' (and X-Frame-Options).
    refused = csp_messages_about(browsing, "frame-ancestors 'none'")
    assert refused, browsing.csp_messages
    assert page.frame_locator("#frame-1").locator("#id_username").count() == 0
    assert [m for m in browsing.csp_messages if "frame-ancestors" not in m] == []

    # A visitor sends the form from inside the frame.
    form.locator("#id_name").fill("Framed Visitor")
    form.locator("#id_phone").fill("13933330005")
    form.locator("#id_consent").check()
    form.locator("button.capture-submit").click()
    expect(form.locator(".capture-thanks h1")).to_have_text("Thank you!")
    assert Lead.objects.filter(name="Framed Visitor").count() == 1
