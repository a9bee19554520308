"""The whole loop in a real browser (issue 8, item 1).

A marketer plans a trade-show campaign with a cost line and imports its attendee list; a
visitor fills in the campaign's public form; the lead desk qualifies the visitor with
grade A and the router gives the lead to the only rep of the team; the rep accepts it,
logs two follow-ups, turns it into an opportunity and wins it; the manager sees the
trade-show channel's revenue and ROI move on the dashboard.

Every step checks what the person sees and what the database holds. Every page visited is
saved as a full-page screenshot in tests/e2e/screenshots/<test>/ (git-ignored), and the key
pages once more in Chinese, switched with the language switcher.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from assignment.models import Assignment
from assignment.services import rule_save
from campaigns.models import Campaign, CampaignCost, Channel
from leads.models import FollowUp, ImportJob, Lead, LeadTouch
from reports import selectors
from reports.views.common import fmt
from tests.e2e.conftest import CHROMIUM, SKIP_REASON
from tests.factories import TeamFactory, TeamMembershipFactory, UserFactory

if not CHROMIUM.exists():  # a skip, not an import error, where Playwright is missing too
    pytest.skip(SKIP_REASON, allow_module_level=True)

from playwright.sync_api import Page, expect

PASSWORD = "pw-test-123"  # UserFactory's
CJK = re.compile(r"[\u4e00-\u9fff]")

ATTENDEES_CSV = (
    "姓名,公司,手机,邮箱\n"
    "张伟,上海华东机械有限公司,13911110001,zhangwei@example.cn\n"
    "李娜,杭州云帆科技有限公司,13911110002,lina@example.cn\n"
    "王强,苏州精工制造有限公司,13911110003,wangqiang@example.cn\n"
).encode()

VISITOR = {
    "name": "Chen Jing",
    "title": "Head of Procurement",
    "company_name": "Ningbo Harbour Logistics",
    "phone": "13922220004",
    "email": "chen.jing@example.com",
    "product_interest": "Warehouse automation",
    "need": "Two sorting lines before the summer peak.",
}
CAMPAIGN_NAME = "Shanghai Logistics Expo"
COST = Decimal("5000.00")
EXPECTED = Decimal("90000.00")
WON = Decimal("88000.00")


# --------------------------------------------------------------------------------------
# Small helpers: what the person sees
# --------------------------------------------------------------------------------------


def login(browsing, user, *, first_page: str) -> Page:
    """A new browser (own cookies) logged in as ``user`` through the login form."""
    page = browsing.new_page()
    page.goto("/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    if first_page == "login":
        browsing.shot(page, "login")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.locator("form[action$='/accounts/login/'] button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator(".userbox .username")).to_have_text(user.get_full_name())
    return page


def success(page: Page, text: str) -> None:
    expect(page.locator(".messages .message-success")).to_contain_text(text)


def no_errors(page: Page) -> None:
    expect(page.locator(".messages .message-error")).to_have_count(0)


def open_panel(page: Page, action: str):
    """The lead page's action panel ``action`` (a <details> box), opened."""
    panel = page.locator(f"#action-{action}")
    expect(panel).to_be_visible()
    if panel.evaluate("el => el.tagName") == "DETAILS":
        panel.locator("summary").click()
        expect(panel.locator("form")).to_be_visible()
    return panel


def channel_row(page: Page, channel_name: str) -> dict[str, str]:
    """The dashboard's channel table row of ``channel_name``, as {column label: text}."""
    table = page.locator("#table-channels table")
    expect(table).to_be_visible()
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    row = table.locator("tbody tr").filter(
        has=page.locator("th", has_text=re.compile(rf"^\s*{re.escape(channel_name)}\s*$"))
    )
    expect(row).to_have_count(1)
    cells = [c.strip() for c in row.locator("th, td").all_inner_texts()]
    return dict(zip(headers, cells, strict=True))


def switch_to_chinese(page: Page) -> None:
    """Press 简体中文 in the language switcher (it posts and comes back to the page)."""
    before = page.url
    page.locator(".langswitch button[value='zh-hans']").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    assert page.url == before, f"the language switcher left {before} for {page.url}"


def in_chinese(page: Page, browsing, path: str, name: str) -> None:
    """Open ``path`` in the (already switched) browser, check it is Chinese, screenshot."""
    page.goto(path)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    nav = page.locator(".mainnav").inner_text()
    assert CJK.search(nav), f"the navigation of {path} is not in Chinese: {nav!r}"
    browsing.shot(page, f"zh-{name}")


# --------------------------------------------------------------------------------------
# The journey
# --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_campaign_to_signed_deal(browsing, e2e_settings):
    today = timezone.localdate()
    month_start = today.replace(day=1)
    period = f"?from={month_start.isoformat()}&to={today.isoformat()}"
    trade_show = Channel.objects.get(code="trade_show")

    # People, the team and its round-robin rule (set up like an admin would).
    marketer = UserFactory(username="mia", first_name="Mia", last_name="Ma", roles=["marketer"])
    desk = UserFactory(username="dora", first_name="Dora", last_name="Du", roles=["lead_desk"])
    rep = UserFactory(username="ray", first_name="Ray", last_name="Ren", roles=["sales_rep"])
    sales_manager = UserFactory(
        username="sam", first_name="Sam", last_name="Shi", roles=["sales_manager"]
    )
    manager = UserFactory(username="max", first_name="Max", last_name="Mo", roles=["manager"])
    team = TeamFactory(name="East", manager=sales_manager)
    TeamMembershipFactory(team=team, user=rep)
    rule = rule_save(
        actor=desk, name="Everything to East", conditions=[], strategy="round_robin", team=team
    )

    # ---- a. The marketer: campaign, cost line, attendee list -------------------------
    page = login(browsing, marketer, first_page="login")
    browsing.shot(page, "marketer-home-lead-list")
    page.goto("/campaigns/")
    expect(page.locator("h1")).to_be_visible()
    browsing.shot(page, "campaign-list")
    page.locator("a[href$='/campaigns/new/']").first.click()
    expect(page).to_have_url(re.compile(r"/campaigns/new/$"))
    page.fill("#id_name", CAMPAIGN_NAME)
    page.select_option("#id_channel", value=str(trade_show.pk))
    page.select_option("#id_status", value="active")
    page.fill("#id_start_date", month_start.isoformat())
    page.fill("#id_budget", "20000")
    page.fill("#id_description", "Booth B12, three days.")
    browsing.shot(page, "campaign-form")
    page.locator("form.form-card button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+/$"))
    no_errors(page)
    expect(page.locator("h1")).to_have_text(CAMPAIGN_NAME)
    campaign = Campaign.objects.get(name=CAMPAIGN_NAME)
    assert campaign.channel.code == "trade_show"
    assert campaign.owner == marketer
    assert campaign.status == "active"
    assert campaign.public_key

    # A cost line, dated today (the form's default).
    expect(page.locator("#id_cost_date")).to_have_value(today.isoformat())
    page.fill("#id_cost_amount", "5000")
    page.fill("#id_cost_note", "Booth and travel")
    page.locator("form.cost-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.pk}/"))
    no_errors(page)
    costs = page.locator("#costs table")
    expect(costs.locator("tbody")).to_contain_text("Booth and travel")
    expect(costs.locator("tbody")).to_contain_text("5,000.00")
    assert list(CampaignCost.objects.filter(campaign=campaign).values_list("amount", "date")) == [
        (COST, today)
    ]
    browsing.shot(page, "campaign-detail-with-cost")

    # The attendee list: upload, check the recognised Chinese headers, import.
    page.locator(".page-actions a[href*='/imports/new/']").click()
    expect(page).to_have_url(re.compile(rf"/imports/new/\?campaign={campaign.pk}$"))
    expect(page.locator("#id_campaign")).to_have_value(str(campaign.pk))
    # The campaign picker searches the server (scope=lead: the marketer's own campaigns);
    # with the script its box is never sent with the form.
    expect(page.locator("#id_campaign option")).to_have_count(2)  # the blank and the chosen
    expect(page.locator("#id_campaign_search")).not_to_have_attribute("name", re.compile(".*"))
    page.locator("#id_campaign_search").fill("logistics")
    expect(page.locator("#id_campaign option", has_text=CAMPAIGN_NAME)).to_have_count(1)
    expect(page.locator("#id_campaign")).to_have_value(str(campaign.pk))
    page.select_option("#id_touch_kind", value="event_checkin")
    page.select_option("#id_legal_basis", value="event_registration")  # PIPL: required
    expect(page.locator("#id_legal_basis_date")).to_have_value(today.isoformat())
    page.set_input_files(
        "#id_file",
        files=[{"name": "expo-attendees.csv", "mimeType": "text/csv", "buffer": ATTENDEES_CSV}],
    )
    browsing.shot(page, "import-upload")
    page.locator("form[data-upload-form] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/imports/new/\d+/$"))  # the job awaiting its mapping
    expect(page.locator(".mapping-table")).to_be_visible()
    rows = page.locator(".mapping-table tbody tr").all()
    mapping = {
        row.locator("label.column-name").inner_text().strip(): row.locator("select").input_value()
        for row in rows
    }
    assert mapping == {"姓名": "name", "公司": "company_name", "手机": "phone", "邮箱": "email"}
    expect(page.locator(".preview-table tbody tr")).to_have_count(3)
    browsing.shot(page, "import-mapping")
    page.locator("main form .form-footer button.btn-primary[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+/$"))
    expect(page.locator("[data-job-status]")).to_have_text("Done")
    expect(page.locator("[data-job-created]")).to_have_text("3")
    expect(page.locator("[data-job-duplicates]")).to_have_text("0")
    expect(page.locator("[data-job-failed]")).to_have_text("0")
    expect(page.locator("[data-job-processed]")).to_have_text("3")
    job = ImportJob.objects.get()
    assert (job.campaign_id, job.status, job.created, job.failed) == (campaign.pk, "done", 3, 0)
    assert (job.legal_basis, job.legal_basis_date) == ("event_registration", today)
    imported = Lead.objects.filter(source_campaign=campaign).order_by("name")
    assert sorted(lead.name for lead in imported) == ["张伟", "李娜", "王强"]
    assert {lead.phone for lead in imported} == {
        "+8613911110001",
        "+8613911110002",
        "+8613911110003",
    }
    assert {lead.stage for lead in imported} == {"new"}
    assert LeadTouch.objects.filter(campaign=campaign, kind="event_checkin").count() == 3
    browsing.shot(page, "import-job-done")

    page.goto(f"/campaigns/{campaign.pk}/")
    expect(page.locator(".figures-strip")).to_contain_text("5,000.00")
    expect(page.locator("#capture-url")).to_have_value(re.compile(rf"/f/{campaign.public_key}/$"))
    browsing.shot(page, "campaign-detail-after-import")
    marketer_page = page

    # ---- b. A visitor fills in the public form (no login) ---------------------------
    page = browsing.new_page()
    page.goto(f"/f/{campaign.public_key}/")
    expect(page.locator("h1")).to_have_text("Contact us")
    browsing.shot(page, "public-form")
    for field, value in VISITOR.items():
        page.fill(f"#id_{field}", value)
    page.check("#id_consent")
    page.locator("button.capture-submit").click()
    expect(page).to_have_url(re.compile(r"[?&]sent=1"))
    expect(page.locator(".capture-thanks h1")).to_have_text("Thank you!")
    browsing.shot(page, "public-form-thanks")
    visitor = Lead.objects.get(email=VISITOR["email"])
    assert visitor.name == VISITOR["name"]
    assert visitor.phone == "+8613922220004"
    assert visitor.stage == "new" and visitor.owner is None
    assert visitor.source_campaign_id == campaign.pk
    assert visitor.company.name == VISITOR["company_name"]
    assert list(visitor.touches.values_list("campaign_id", "kind")) == [(campaign.pk, "form")]

    # ---- c. The lead desk qualifies the visitor with grade A; the router assigns ----
    page = login(browsing, desk, first_page="")
    page.goto("/assignment/")
    expect(page.locator("body")).to_contain_text(rule.name)
    browsing.shot(page, "assignment-rules")
    page.goto("/leads/desk/")
    row = page.locator(f"tr.queue-row[data-lead='{visitor.pk}']")
    expect(row).to_contain_text(VISITOR["name"])
    expect(row).to_contain_text(CAMPAIGN_NAME)
    expect(page.locator("tr.queue-row")).to_have_count(4)  # three attendees and the visitor
    browsing.shot(page, "desk-queue")
    row.locator(f"[data-row-toggle='consult-{visitor.pk}']").click()
    consult = page.locator(f"#consult-{visitor.pk}")
    expect(consult.locator("form.consult-form")).to_be_visible()
    prefix = f"#id_consult{visitor.pk}_"
    page.fill(prefix + "budget", "200000")
    page.select_option(prefix + "timeline", value="1m")
    page.select_option(prefix + "decision_role", value="decision_maker")
    page.select_option(prefix + "grade", value="A")
    page.fill(prefix + "grade_reason", "Decision maker with budget, buying this month.")
    browsing.shot(page, "desk-consult-open")
    consult.locator("button[name=decision][value=qualify]").click()
    expect(page).to_have_url(re.compile(r"/leads/desk/"))
    success(page, f"{VISITOR['name']} qualified as MQL with grade A.")
    expect(page.locator(f"tr.queue-row[data-lead='{visitor.pk}']")).to_have_count(0)
    browsing.shot(page, "desk-after-qualify")

    visitor.refresh_from_db()
    assert (visitor.stage, visitor.grade) == ("mql", "A")
    assert visitor.owner == rep, f"routed to {visitor.owner} instead of the rep"
    assert visitor.mql_at is not None and visitor.assigned_at is not None
    decision = Assignment.objects.filter(lead=visitor).latest("id")
    assert (decision.owner, decision.strategy, decision.rule_name) == (
        rep,
        "round_robin",
        rule.name,
    )

    page.goto(f"/leads/{visitor.pk}/")
    why = page.locator("#why-this-owner")
    expect(why.locator(".decision-owner").first).to_have_text(rep.get_full_name())
    expect(why).to_contain_text(rule.name)
    expect(why).to_contain_text("Round robin")
    with translation.override("en"):  # the reason is worded in the page's language
        expect(why.locator(".decision-reason").first).to_have_text(decision.reason_display)
    browsing.shot(page, "lead-detail-why-this-owner")
    desk_page = page

    # ---- d. The rep accepts, follows up, converts and wins ---------------------------
    page = login(browsing, rep, first_page="")
    browsing.shot(page, "rep-home-my-lead-list")
    page.goto("/sales/")
    expect(page.locator("main")).to_contain_text(VISITOR["name"])
    browsing.shot(page, "sales-workspace")
    page.goto(f"/leads/{visitor.pk}/")
    expect(page.locator("h1")).to_have_text(VISITOR["name"])
    expect(page.locator("#action-accept")).to_be_visible()
    browsing.shot(page, "lead-detail-rep-before-accept")
    page.locator("#action-accept button[type=submit]").click()
    success(page, "Lead accepted; it is now an SQL.")
    visitor.refresh_from_db()
    assert (visitor.stage, visitor.owner) == ("sql", rep)
    assert visitor.sql_at is not None

    for method, outcome, note in (
        ("call", "Reached her", "Wants a quote for two lines."),
        ("visit", "Site visit done", "Measured the warehouse; quote sent."),
    ):
        panel = open_panel(page, "follow_up")
        panel.locator("#id_follow_up_method").select_option(method)
        panel.locator("#id_follow_up_outcome").fill(outcome)
        panel.locator("#id_follow_up_note").fill(note)
        panel.locator("button[type=submit]").click()
        success(page, "Follow-up logged.")
        expect(page.locator("#follow-ups tbody")).to_contain_text(outcome)
    expect(page.locator("#follow-ups tbody tr")).to_have_count(2)
    assert list(
        FollowUp.objects.filter(lead=visitor).order_by("id").values_list("method", "author")
    ) == [("call", rep.pk), ("visit", rep.pk)]
    visitor.refresh_from_db()
    assert visitor.first_contact_at is not None and visitor.last_follow_up_at is not None
    browsing.shot(page, "lead-detail-follow-ups")

    panel = open_panel(page, "to_opportunity")
    panel.locator("#id_to_opportunity_expected_amount").fill(str(EXPECTED))
    panel.locator("button[type=submit]").click()
    success(page, "Lead converted to an opportunity.")
    visitor.refresh_from_db()
    assert (visitor.stage, visitor.expected_amount) == ("opportunity", EXPECTED)
    browsing.shot(page, "lead-detail-opportunity")
    rep_page = page

    # ---- e. (first visit) The manager reads the dashboard before the deal is won ----
    page = login(browsing, manager, first_page="")
    page.goto("/reports/" + period)
    expect(page.locator("h1")).to_be_visible()
    before = channel_row(page, trade_show.name)
    browsing.shot(page, "reports-before-win")
    roi_before = row_in_db(month_start, today, "trade_show")
    assert roi_before["revenue"] == 0 and roi_before["cost"] == COST
    assert before["Revenue"] == fmt(roi_before["revenue"], "money") == "0.00"
    assert before["Cost"] == fmt(COST, "money")
    assert before["ROI"] == fmt(roi_before["roi"], "roi")
    assert before["Leads"] == "4"
    manager_page = page

    # ---- d (end). The rep wins the deal ----------------------------------------------
    page = rep_page
    panel = open_panel(page, "win")
    expect(panel.locator("#id_win_amount")).to_have_value(re.compile(r"^90000(\.00)?$"))
    panel.locator("#id_win_amount").fill(str(WON))
    panel.locator("#id_win_signed_at").fill(today.isoformat())
    panel.locator("button[type=submit]").click()
    success(page, "Deal won. Congratulations!")
    expect(page.locator(".summary-strip")).to_contain_text("Won")
    expect(page.locator("main")).to_contain_text("88,000.00")
    visitor.refresh_from_db()
    assert visitor.stage == "won"
    assert (visitor.won_amount, visitor.signed_at) == (WON, today)
    assert visitor.won_at is not None
    browsing.shot(page, "lead-detail-won")

    # ---- e. The manager sees the trade-show channel's revenue and ROI move -----------
    page = manager_page
    page.reload()
    after = channel_row(page, trade_show.name)
    browsing.shot(page, "reports-after-win")
    roi_after = row_in_db(month_start, today, "trade_show")
    assert roi_after["revenue"] == WON
    assert after["Revenue"] == fmt(WON, "money") == "88,000.00"
    assert after["Won"] == "1"
    assert after["ROI"] == fmt(roi_after["roi"], "roi")
    assert roi_after["roi"] == pytest.approx(float((WON - COST) / COST))
    assert (before["Revenue"], before["ROI"]) != (after["Revenue"], after["ROI"])
    assert roi_after["roi"] > roi_before["roi"]
    page.goto("/leads/")
    expect(page.locator("main")).to_contain_text(VISITOR["name"])
    browsing.shot(page, "lead-list-manager")

    # ---- The key pages once more, in Chinese -----------------------------------------
    switch_to_chinese(page)  # on the manager's lead list
    browsing.shot(page, "zh-lead-list")
    in_chinese(page, browsing, "/reports/" + period, "reports")
    in_chinese(page, browsing, f"/leads/{visitor.pk}/", "lead-detail")
    latest = Assignment.objects.filter(lead=visitor).order_by("-at", "-id").first()
    with translation.override("zh-hans"):  # decided in English, read in Chinese (issue #8)
        expect(page.locator(".decision-reason").first).to_have_text(latest.reason_display)

    switch_to_chinese(desk_page)
    in_chinese(desk_page, browsing, "/leads/desk/", "desk")

    switch_to_chinese(marketer_page)
    in_chinese(marketer_page, browsing, f"/campaigns/{campaign.pk}/", "campaign-detail")

    switch_to_chinese(rep_page)
    in_chinese(rep_page, browsing, "/sales/", "sales-workspace")

    page = browsing.new_page(locale="zh-CN")  # a visitor whose browser asks for Chinese
    page.goto(f"/f/{campaign.public_key}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator(".capture-lang a.current")).to_have_text("中文")
    browsing.shot(page, "zh-public-form")

    assert len(browsing.taken) >= 30
    # The Content-Security-Policy (pipeline/security.py) refused nothing on any page.
    assert browsing.csp_messages == []


def row_in_db(start: dt.date, end: dt.date, code: str) -> dict:
    """The channel's row as the report selector computes it (first-touch, the default)."""
    report = selectors.channel_roi(start=start, end=end, model="first_touch")
    rows = [row for row in report["rows"] if row["channel"] == code]
    assert len(rows) == 1, report["rows"]
    return rows[0]
