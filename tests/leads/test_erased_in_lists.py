"""A lead whose personal data was erased shows as "(erased)" in every list, as on its own
page (``Lead.__str__``), never as a blank link."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django.utils import translation

from leads.choices import Stage
from leads.privacy import erase_leads
from tests.factories import lead_in_stage

pytestmark = pytest.mark.django_db


def _erase(lead):
    with transaction.atomic():
        erase_leads(lead_ids=[lead.pk], actor=None)
    lead.refresh_from_db()
    assert lead.name == ""
    return lead


def _page(user, url: str, language: str = "en") -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_erased_leads_are_named_erased_in_the_lists(desk, rep, sales_manager, language):
    new = _erase(lead_in_stage(Stage.NEW))
    pooled = _erase(lead_in_stage(Stage.MQL, owner=rep, in_pool=True, desk=desk))
    mine = _erase(lead_in_stage(Stage.MQL, owner=rep, desk=desk))
    with translation.override(language):
        erased = translation.gettext("(erased)")
    pages = [
        (desk, "/leads/desk/", new),
        (rep, "/assignment/pool/", pooled),
        (rep, "/assignment/new-for-me/", mine),
        (rep, "/sales/", mine),
        (sales_manager, "/sales/team/", mine),
    ]
    for user, url, lead in pages:
        html = _page(user, url, language)
        link = f'href="/leads/{lead.pk}/">'
        assert f"{link}{erased}</a>" in html, url
