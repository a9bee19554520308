"""Tap to call and one-tap copy (issue 15, item 1): every phone number a user may see is a
``tel:`` link and every WeChat id has a copy button; masked contacts (pooled leads, for
sales) stay plain text, with no link that would hand out the hidden number."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from leads.choices import Stage
from tests.factories import lead_in_stage

pytestmark = pytest.mark.django_db

PHONE = "+8613912345678"
WECHAT = "wx_chen_88"


def _get(client, user, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_phone_is_a_tel_link_on_the_reps_pages(client, rep):
    sql = lead_in_stage(Stage.SQL, owner=rep, phone=PHONE, wechat=WECHAT)
    mql = lead_in_stage(Stage.MQL, owner=rep, phone="+8613900001111")
    tel = f'href="tel:{PHONE}"'
    for url in (
        reverse("sales:my_leads"),
        reverse("notifications:today"),
        reverse("leads:detail", args=[sql.pk]),
        reverse("leads:list"),
    ):
        assert tel in _get(client, rep, url), url
    new_for_me = _get(client, rep, reverse("assignment:new_for_me"))
    assert 'href="tel:+8613900001111"' in new_for_me
    assert str(mql) in new_for_me


def test_wechat_id_has_a_copy_button_without_inline_script(client, rep):
    lead = lead_in_stage(Stage.SQL, owner=rep, wechat=WECHAT)
    for url in (reverse("leads:detail", args=[lead.pk]), reverse("sales:my_leads")):
        html = _get(client, rep, url)
        button = re.search(r'<button[^>]*data-copy="([^"]*)"[^>]*>', html)
        assert button is not None, url
        assert button.group(1) == WECHAT
        assert 'type="button"' in button.group(0)
        assert "data-copied-label" in button.group(0)
        assert "onclick" not in html


def test_masked_contacts_of_pooled_leads_have_no_tel_link(client, rep, desk):
    lead = lead_in_stage(Stage.MQL, in_pool=True, phone=PHONE, wechat=WECHAT)
    for url in (reverse("assignment:pool"), reverse("leads:detail", args=[lead.pk])):
        html = _get(client, rep, url)
        assert 'href="tel:' not in html, url
        assert PHONE not in html, url
        assert "****" in html, url  # the masked number is shown as text
        assert "data-copy=" not in html, url
    # the desk sees every lead unmasked, so it may call
    html = _get(client, desk, reverse("leads:detail", args=[lead.pk]))
    assert f'href="tel:{PHONE}"' in html
    assert f'data-copy="{WECHAT}"' in html


def test_the_desk_queue_and_search_link_phones(client, desk, rep):
    lead = lead_in_stage(Stage.SQL, owner=rep, phone=PHONE)
    html = _get(client, desk, reverse("leads:search") + "?q=" + lead.name.replace(" ", "+"))
    assert f'href="tel:{PHONE}"' in html
