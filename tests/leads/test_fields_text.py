"""Text cleaning in the one rule (``leads.lifecycle.fields.clean_lead_fields``): no control,
zero-width or bidi-override characters in stored text, and a name needs a letter — on every
path (API, capture, pages, imports) because every path cleans through it."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from leads.lifecycle.fields import clean_lead_fields
from leads.models import Lead
from pipeline.errors import ServiceError
from tests.factories import CampaignFactory

RLO, PDF, LRI, PDI, ZWSP, ZWJ = "\u202e", "\u202c", "\u2066", "\u2069", "\u200b", "\u200d"


@pytest.mark.parametrize(
    "name",
    [ZWSP * 3, f"{ZWSP}{ZWJ}\ufeff", f"{RLO}{PDF}", "123", "  --  ", f"\x00\x07{ZWSP}"],
)
def test_a_name_without_any_letter_is_refused(name):
    with pytest.raises(ServiceError) as refused:
        clean_lead_fields({"name": name, "phone": "13900000001"})
    assert refused.value.field == "name"


@pytest.mark.parametrize("name", ["刘洋", "Ann", "さくら", "김민준", f"{ZWSP}王{ZWSP}芳", "A1"])
def test_names_in_any_script_are_accepted(name):
    assert clean_lead_fields({"name": name})["name"] == name.replace(ZWSP, "")


def test_controls_and_bidi_characters_are_removed_from_text_fields():
    cleaned = clean_lead_fields(
        {
            "name": f"Evil{RLO}gpj.exe{PDF}\r\nBcc: x@y.cn",
            "company_name": f"{LRI}苏州{ZWSP}精密{PDI}\x00",
            "title": "CTO\tand\x1bfounder",
            "need": f"line one\r\nline two\rline three\x07{RLO}\n\ttabbed",
        }
    )
    assert cleaned["name"] == "Evilgpj.exe Bcc: x@y.cn"
    assert cleaned["company_name"] == "苏州精密"
    assert cleaned["title"] == "CTO and founder"
    assert cleaned["need"] == "line one\nline two\nline three\n\ttabbed"


@pytest.mark.django_db
def test_the_capture_api_refuses_an_invisible_name_and_cleans_what_it_stores():
    cache.clear()
    campaign = CampaignFactory()
    body = {"campaign_key": campaign.public_key, "phone": "13900000001", "consent": True}
    client = APIClient()
    refused = client.post("/api/v1/capture/", {**body, "name": ZWSP * 5}, format="json")
    assert refused.status_code == 400 and "name" in refused.json()
    assert not Lead.objects.exists()

    accepted = client.post(
        "/api/v1/capture/",
        {**body, "name": f"刘{RLO}洋\r\n", "utm_source": f"bai{ZWSP}du\n"},
        format="json",
    )
    assert accepted.status_code == 201
    lead = Lead.objects.get()
    assert (lead.name, lead.utm_source) == ("刘洋", "baidu")


@pytest.mark.django_db
def test_the_lead_api_cleans_through_the_same_rule(desk):
    client = APIClient()
    client.force_authenticate(desk)
    refused = client.post("/api/v1/leads/", {"name": ZWSP, "phone": "139 0000 0002"})
    assert refused.status_code == 400 and "name" in refused.json()
    created = client.post("/api/v1/leads/", {"name": f"{LRI}Ann{PDI}", "phone": "13900000002"})
    assert created.status_code == 201, created.json()
    assert Lead.objects.get().name == "Ann"
