"""The lead list's filters apply as they change (issue #15 item 4, progressive enhancement):
ticking a stage reloads the list filtered, without pressing "Apply"; a searchable picker
narrows its options as one types; the Content-Security-Policy refuses nothing."""

from __future__ import annotations

import re

import pytest

from leads.choices import Stage
from tests.e2e.conftest import CHROMIUM, SKIP_REASON
from tests.factories import CampaignFactory, LeadFactory, UserFactory, lead_in_stage

if not CHROMIUM.exists():  # a skip, not an import error, where Playwright is missing too
    pytest.skip(SKIP_REASON, allow_module_level=True)

from playwright.sync_api import expect

PASSWORD = "pw-test-123"  # UserFactory's


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_stage_filter_applies_without_the_apply_button(browsing, e2e_settings):
    desk = UserFactory(username="desk_e2e", roles=["lead_desk"])
    LeadFactory(name="Still new")
    lead_in_stage(Stage.DISQUALIFIED, name="Closed one", desk=desk)
    CampaignFactory(name="Spring webinar")
    CampaignFactory(name="Autumn expo")

    page = browsing.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", desk.username)
    page.fill("#id_password", PASSWORD)
    page.locator("form[action$='/accounts/login/'] button[type=submit]").click()
    page.goto("/leads/")
    expect(page.locator("a.lead-name", has_text="Closed one")).to_be_visible()

    # Ticking "New" reloads the list with ?stage=new: no click on "Apply filters".
    # click, not check(): check() re-reads the box after the click, when the reloaded page
    # may already be there (its forms carry stage=new in hidden inputs too).
    page.locator("input[type=checkbox][name=stage][value=new]").click()
    page.wait_for_url(re.compile(r"stage=new"))
    expect(page.locator("a.lead-name", has_text="Still new")).to_be_visible()
    expect(page.locator("a.lead-name", has_text="Closed one")).to_have_count(0)
    browsing.shot(page, "lead list filtered by stage")

    # The owner picker has a text box that hides the options not matching.
    owner_box = page.locator("#id_owner").locator("xpath=preceding-sibling::input[1]")
    owner_box.fill("zzz-nobody")
    visible = page.eval_on_selector_all(
        "#id_owner option", "options => options.filter(o => !o.hidden).map(o => o.value)"
    )
    assert visible == [""]

    # The campaign picker renders no campaign; typing asks the server for the matches,
    # and choosing one applies the filter.
    expect(page.locator("#id_campaign option")).to_have_count(1)
    page.locator("#id_campaign_search").fill("webinar")
    expect(page.locator("#id_campaign option", has_text="Spring webinar")).to_have_count(1)
    expect(page.locator("#id_campaign option", has_text="Autumn expo")).to_have_count(0)
    page.locator("#id_campaign_search").press("Enter")
    page.wait_for_url(re.compile(r"campaign=\d+"))
    expect(page.locator("#id_campaign option:checked")).to_have_text("Spring webinar")
    assert browsing.csp_messages == []
