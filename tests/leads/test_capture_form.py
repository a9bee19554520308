"""The public capture form /f/<public_key>/: language, attribution, honeypot, duplicates,
throttle, embedding — what the visitor sees and what the database keeps."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from leads.choices import EventKind
from leads.models import Lead, LeadEvent, LeadTouch
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_throttle():
    cache.clear()


@pytest.fixture
def campaign(db):
    return CampaignFactory(utm_campaign="spring-expo")


def url_for(campaign, query: str = "") -> str:
    url = reverse("capture-form", args=[campaign.public_key])
    return f"{url}?{query}" if query else url


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    return match.group(1) if match else ""


PERSON = {
    "name": "王芳",
    "company_name": "苏州精密机械有限公司",
    "title": "采购经理",
    "phone": "139 0000 2001",
    "email": "Wang.Fang@Example.cn",
    "product_interest": "MES",
    "need": "Replace the paper travellers on two lines.",
    "consent": "on",
    "website": "",
}


def test_form_renders_in_chinese_with_the_lang_parameter(client, campaign):
    response = client.get(url_for(campaign, "lang=zh-hans"))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "姓名" in html and "公司" in html and "邮箱" in html
    assert 'name="website"' in html and 'tabindex="-1"' in html  # the honeypot


def test_form_follows_the_browser_language(client, campaign):
    html = client.get(url_for(campaign), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in html
    assert "姓名" in html

    html = client.get(url_for(campaign), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="en">' in html
    assert "Name" in html


def test_form_can_be_embedded_in_an_iframe_and_needs_no_login(client, campaign):
    response = client.get(url_for(campaign))
    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    # Other pages still refuse framing.
    assert client.get(reverse("login")).headers["X-Frame-Options"] == "DENY"


def test_submission_creates_a_lead_with_utm_from_the_query_string(campaign):
    # A cross-site iframe gets no CSRF cookie, so the form must work without one.
    client = Client(enforce_csrf_checks=True)
    url = url_for(campaign, "utm_source=baidu&utm_medium=cpc&utm_term=mes&lang=zh-hans")
    page = client.get(url, HTTP_REFERER="https://www.example.cn/mes/?from=ad")
    html = page.content.decode()
    hidden = {name: _hidden(html, name) for name in ("utm_source", "utm_medium", "utm_term")}
    assert hidden == {"utm_source": "baidu", "utm_medium": "cpc", "utm_term": "mes"}
    assert _hidden(html, "landing_page") == "https://www.example.cn/mes/?from=ad"

    response = client.post(url, {**PERSON, **hidden, "landing_page": _hidden(html, "landing_page")})

    assert response.status_code == 302
    assert "sent=1" in response["Location"]
    lead = Lead.objects.get()
    assert (lead.name, lead.phone, lead.email) == ("王芳", "+8613900002001", "wang.fang@example.cn")
    assert (lead.utm_source, lead.utm_medium, lead.utm_term, lead.utm_campaign) == (
        "baidu",
        "cpc",
        "mes",
        "spring-expo",
    )
    assert lead.landing_page == "https://www.example.cn/mes/?from=ad"
    assert lead.source_campaign == campaign
    assert lead.company.name == "苏州精密机械有限公司"
    assert lead.touches.get().kind == "form"
    thanks = client.get(response["Location"]).content.decode()
    assert '<html lang="zh-hans">' in thanks
    assert 'name="name"' not in thanks  # the thanks page, not the form


def test_utm_of_the_embedding_page_is_used_when_the_form_url_has_none(client, campaign):
    html = client.get(
        url_for(campaign), HTTP_REFERER="https://www.example.cn/lp?utm_source=wechat"
    ).content.decode()
    assert _hidden(html, "utm_source") == "wechat"


def test_filled_honeypot_is_thanked_like_a_person_and_stores_nothing(client, campaign):
    person = client.post(url_for(campaign), {**PERSON, "email": "p@example.cn", "phone": ""})
    Lead.objects.all().delete()
    bot = client.post(url_for(campaign), {**PERSON, "website": "http://spam.example"})

    assert bot.status_code == person.status_code == 302
    assert bot["Location"] == person["Location"]
    assert not Lead.objects.exists() and not LeadTouch.objects.exists()


def test_unknown_public_key_is_404(client, campaign):
    assert client.get("/f/no-such-key/").status_code == 404
    assert client.post("/f/no-such-key/", PERSON).status_code == 404
    assert not Lead.objects.exists()


def test_a_known_person_sees_the_same_thanks(client, campaign):
    first = client.post(url_for(campaign), PERSON)
    second = client.post(url_for(campaign), {**PERSON, "name": "王芳 (again)"})

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert client.get(second["Location"]).content == client.get(first["Location"]).content
    lead = Lead.objects.get()
    assert LeadTouch.objects.filter(lead=lead).count() == 2
    assert LeadEvent.objects.filter(lead=lead, kind=EventKind.DUPLICATE).count() == 1


def test_service_errors_are_shown_on_the_fields(client, campaign):
    no_contact = {**PERSON, "phone": "", "email": ""}
    response = client.post(url_for(campaign), no_contact)
    assert response.status_code == 400
    assert "phone" in response.context["form"].errors

    response = client.post(url_for(campaign), {**PERSON, "phone": "", "email": "not-an-email"})
    assert response.status_code == 400
    assert "email" in response.context["form"].errors

    response = client.post(url_for(campaign), {**PERSON, "name": ""})
    assert "name" in response.context["form"].errors
    assert 'value="苏州精密机械有限公司"' in response.content.decode()  # input kept
    assert not Lead.objects.exists()


def test_too_long_hidden_values_are_cut_not_refused(client, campaign):
    response = client.post(
        url_for(campaign), {**PERSON, "utm_source": "x" * 300, "landing_page": "javascript:1"}
    )
    assert response.status_code == 302
    lead = Lead.objects.get()
    assert lead.utm_source == "x" * 100
    assert lead.landing_page == ""


def test_too_many_submissions_get_a_friendly_429(client, campaign, settings):
    settings.CAPTURE_RATE = "2/min"
    codes = [
        client.post(
            url_for(campaign), {**PERSON, "email": f"p{i}@example.cn", "phone": ""}
        ).status_code
        for i in range(3)
    ]
    assert codes == [302, 302, 429]
    response = client.post(url_for(campaign, "lang=zh-hans"), PERSON)
    assert response.status_code == 429
    assert Lead.objects.count() == 2
    # Reading the form is never throttled.
    assert client.get(url_for(campaign)).status_code == 200
    response = client.post(url_for(campaign), PERSON)
    assert "Too many submissions" in response.content.decode()
