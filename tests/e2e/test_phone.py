"""A rep's day on a phone (issue 15, item 1): at 390×844 the rep logs in and lands on
Today, opens the menu, accepts a new lead on "New for me", copies its WeChat id, logs a
follow-up from the lead's card on "My leads", and looks at the pool and the lead's page.
No rep page scrolls sideways (``scrollWidth <= innerWidth``), the buttons that matter are
on screen, and the Content-Security-Policy refuses nothing."""

from __future__ import annotations

import re

import pytest

from leads.choices import Stage
from leads.models import FollowUp, Lead
from tests.e2e.conftest import CHROMIUM, SKIP_REASON
from tests.factories import TeamFactory, TeamMembershipFactory, UserFactory, lead_in_stage

if not CHROMIUM.exists():  # a skip, not an import error, where Playwright is missing too
    pytest.skip(SKIP_REASON, allow_module_level=True)

from playwright.sync_api import Page, expect

PASSWORD = "pw-test-123"  # UserFactory's
WIDTH = 390


def no_sideways_scroll(page: Page, where: str) -> None:
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    if widths["inner"] != WIDTH or widths["scroll"] > widths["inner"]:
        # the innermost elements that reach past the screen's edge
        wide = page.evaluate(
            """width => Array.from(document.querySelectorAll('body *'))
                .filter(el => el.getBoundingClientRect().right > width)
                .filter(el => !Array.from(el.children).some(child =>
                    child.getBoundingClientRect().right >= el.getBoundingClientRect().right))
                .slice(0, 8)
                .map(el => el.tagName + '.' + el.className + ' ' +
                     Math.round(el.getBoundingClientRect().right))""",
            WIDTH,
        )
        raise AssertionError(f"{where} is wider than the phone: {widths}; {wide}")
    assert widths["scroll"] <= widths["inner"], f"{where} scrolls sideways: {widths}"


def on_screen(page: Page, locator, what: str) -> None:
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    assert box is not None, what
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, f"{what} is off-screen: {box}"


def open_menu_and_go(page: Page, key: str) -> None:
    toggle = page.locator("[data-nav-toggle]")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator(f'.mainnav a[data-nav="{key}"]')).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    link = page.locator(f'.mainnav a[data-nav="{key}"]')
    on_screen(page, link, f"the menu entry {key}")
    link.click()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_reps_day_on_a_phone(browsing, e2e_settings):
    e2e_settings.AUTO_ASSIGN = False  # the leads are placed by hand; routing is not tested here
    rep = UserFactory(username="ray", first_name="Ray", last_name="Ren", roles=["sales_rep"])
    team = TeamFactory(name="East")
    TeamMembershipFactory(team=team, user=rep)
    new = lead_in_stage(
        Stage.MQL,
        owner=rep,
        name="Chen Jing",
        phone="+8613922220004",
        wechat="chenjing_88",
        title="Head of Procurement of a long-named logistics company",
    )
    lead_in_stage(Stage.SQL, owner=rep, name="Li Na", phone="+8613911110002")
    pooled = lead_in_stage(Stage.MQL, in_pool=True, name="Wang Qiang", phone="+8613911110003")

    page = browsing.new_page(phone=True)
    page.goto("/accounts/login/")
    no_sideways_scroll(page, "the login page")
    page.fill("#id_username", rep.username)
    page.fill("#id_password", PASSWORD)
    page.locator("form[action$='/accounts/login/'] button[type=submit]").click()

    # ---- Today: where a rep lands ------------------------------------------------------
    expect(page).to_have_url(re.compile(r"/me/today/$"))
    expect(page.locator("h1")).to_have_text("Today")
    no_sideways_scroll(page, "Today")
    browsing.shot(page, "phone-today")
    card = page.locator("#today-waiting tr[data-lead]", has_text="Chen Jing")
    on_screen(page, card.locator("a[href^='tel:']"), "the phone link on Today")
    on_screen(page, card.locator("a[data-log-call]"), "Log call on Today")

    # ---- New for me: accept from the card --------------------------------------------
    open_menu_and_go(page, "new_for_me")
    expect(page).to_have_url(re.compile(r"/assignment/new-for-me/$"))
    no_sideways_scroll(page, "New for me")
    browsing.shot(page, "phone-new-for-me")
    row = page.locator("table.table-cards tbody tr", has_text="Chen Jing").first
    expect(row.locator("a[href='tel:+8613922220004']")).to_be_visible()
    # one tap copies the WeChat id; the button says so
    copy = row.locator("button[data-copy]")
    on_screen(page, copy, "the WeChat copy button")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == "chenjing_88"
    accept = row.locator("button", has_text="Accept")
    on_screen(page, accept, "Accept")
    accept.click()
    expect(page.locator(".messages .message-success")).to_be_visible()
    new.refresh_from_db()
    assert new.stage == Stage.SQL

    # ---- My leads: a follow-up from the lead's card ----------------------------------
    open_menu_and_go(page, "my_leads")
    expect(page).to_have_url(re.compile(r"/sales/$"))
    no_sideways_scroll(page, "My leads")
    card = page.locator(f'tr[data-lead="{new.pk}"]').first
    log = card.locator("details.sales-quick summary")
    on_screen(page, log, "Log follow-up")
    log.click()
    form = card.locator("form.sales-quick-form")
    expect(form).to_be_visible()
    no_sideways_scroll(page, "My leads with the follow-up form open")
    browsing.shot(page, "phone-my-leads-follow-up")
    form.locator("select[name=method]").select_option("call")
    form.locator("input[name=outcome]").fill("Wants a quote for two lines")
    form.locator("textarea[name=note]").fill("Call back Friday")
    on_screen(page, form.locator("button[type=submit]"), "Save follow-up")
    form.locator("button[type=submit]").click()
    expect(page.locator(".messages .message-success")).to_contain_text("Follow-up logged.")
    expect(page).to_have_url(re.compile(r"/sales/$"))
    follow_up = FollowUp.objects.get(lead=new)
    assert follow_up.author == rep
    assert follow_up.outcome == "Wants a quote for two lines"
    no_sideways_scroll(page, "My leads after the follow-up")

    # ---- the pool: masked, no tel: link, Claim on screen ------------------------------
    open_menu_and_go(page, "pool")
    expect(page).to_have_url(re.compile(r"/assignment/pool/"))
    no_sideways_scroll(page, "the pool")
    browsing.shot(page, "phone-pool")
    row = page.locator("table.table-cards tbody tr", has_text="Wang Qiang")
    expect(row.locator("a[href^='tel:']")).to_have_count(0)
    on_screen(page, row.locator("button", has_text="Claim"), "Claim")

    # ---- the lead's page at the follow-up form ----------------------------------------
    page.goto(f"/leads/{new.pk}/#action-follow_up")
    no_sideways_scroll(page, "the lead page")
    expect(page.locator("#action-follow_up form")).to_be_visible()
    on_screen(page, page.locator("a[href='tel:+8613922220004']"), "the phone on the lead page")
    browsing.shot(page, "phone-lead-detail")
    page.goto(f"/leads/{pooled.pk}/")
    no_sideways_scroll(page, "a pooled lead's page")
    expect(page.locator("a[href^='tel:']")).to_have_count(0)

    # ---- the rest of the rep's pages ---------------------------------------------------
    for path in ("/leads/", f"/leads/?owner={rep.pk}", "/me/notifications/", "/me/settings/"):
        page.goto(path)
        no_sideways_scroll(page, path)
    assert Lead.objects.get(pk=new.pk).owner == rep
    assert browsing.csp_messages == []


def phone_login(browsing, user) -> Page:
    page = browsing.new_page(phone=True)
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.locator("form[action$='/accounts/login/'] button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    return page


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_team_page_and_the_desk_fit_a_phone(browsing, e2e_settings):
    """A sales manager lands on the team page, which shows one section at a time (the
    tab named in the address); the desk lands on its queue. Neither scrolls sideways."""
    e2e_settings.AUTO_ASSIGN = False
    manager = UserFactory(username="sam", roles=["sales_manager"])
    desk = UserFactory(username="dora", roles=["lead_desk"])
    rep = UserFactory(username="ray", roles=["sales_rep"])
    team = TeamFactory(name="East", manager=manager)
    TeamMembershipFactory(team=team, user=rep)
    lead_in_stage(Stage.MQL, owner=rep, name="Chen Jing", desk=desk)
    lead_in_stage(Stage.SQL, owner=rep, name="Li Na", desk=desk)
    lead_in_stage(Stage.NEW, name="Zhao Lei")

    page = phone_login(browsing, manager)
    expect(page).to_have_url(re.compile(r"/sales/team/$"))
    no_sideways_scroll(page, "the team page")
    expect(page.locator("#reps")).to_be_visible()
    expect(page.locator("#leads")).to_be_hidden()
    browsing.shot(page, "phone-team")
    page.locator('.team-tabs a[href="#waiting"]').click()
    expect(page.locator("#waiting")).to_be_visible()
    expect(page.locator("#waiting")).to_contain_text("Chen Jing")
    expect(page.locator("#reps")).to_be_hidden()
    no_sideways_scroll(page, "the team page, waiting")
    page.locator('.team-tabs a[href="#leads"]').click()
    expect(page.locator("#leads")).to_contain_text("Li Na")
    no_sideways_scroll(page, "the team page, open leads")

    page = phone_login(browsing, desk)
    expect(page).to_have_url(re.compile(r"/leads/desk/$"))
    no_sideways_scroll(page, "the desk queue")
    browsing.shot(page, "phone-desk")
    for path in ("/leads/desk/rejected/", "/leads/desk/reviews/"):
        page.goto(path)
        no_sideways_scroll(page, path)
    assert browsing.csp_messages == []
