"""Free text on pooled leads is masked like the contact fields (issue #13 finding 7): event
reasons, event data texts and follow-up notes/outcomes, on the API and the lead page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from leads import lifecycle
from leads.choices import EventKind, Stage
from leads.models import FollowUp, LeadEvent
from leads.selectors import mask_free_text, masked_event_data
from tests.factories import UserFactory, lead_in_stage

PHONE, EMAIL, WECHAT = "13912345678", "li.si@corp.cn", "lisi_2026"
SECRETS = (PHONE, "139 1234 5678", EMAIL, WECHAT)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("call 139 1234 5678 back", "call 139****5678 back"),
        ("+86-139-1234-5678", "+86139****5678"),
        ("tel 021-12345678", "tel 021****5678"),
        ("mail Li.Si@Corp.cn now", "mail L***@Corp.cn now"),
        ("微信号：lisi_2026 加我", "微信号：l*** 加我"),
        ("WeChat: lisi_2026", "WeChat: l***"),
        ("wxid_abc123xyz", "w***"),
        ("met 2026-12-02 14:30, budget 500000", "met 2026-12-02 14:30, budget 500000"),
        ("", ""),
    ],
)  # fmt: skip
def test_mask_free_text(text, expected):
    assert mask_free_text(text) == expected


def test_masked_event_data_masks_texts_and_contacts():
    data = {"note": f"ring {PHONE}", "changed": {"need": ["", f"mail {EMAIL}"],
                                                  "phone": ["", "+8613912345678"]}}  # fmt: skip
    masked = masked_event_data(data)
    assert masked["note"] == "ring 139****5678"
    assert masked["changed"]["need"] == ["", "mail l***@corp.cn"]
    assert masked["changed"]["phone"] == ["", "+86139****5678"]


@pytest.fixture
def pooled(db, desk):
    first = UserFactory(roles=["sales_rep"])
    lead = lead_in_stage(Stage.SQL, owner=first, desk=desk)
    lifecycle.follow_up_log(
        lead=lead,
        actor=first,
        method="call",
        outcome=f"asked to use {PHONE}",
        note=f"private mobile 139 1234 5678, mail {EMAIL}, 微信号：{WECHAT}",
    )
    return lifecycle.lead_recycle(lead=lead, actor=first, reason=f"wrong number, try {PHONE}")


def _no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


@pytest.mark.django_db
def test_a_rep_reads_pool_lead_events_and_follow_ups_masked_on_the_api(api, pooled, rep):
    events = api(rep).get(f"/api/v1/leads/{pooled.pk}/events/")
    assert events.status_code == 200
    _no_secret(events.content.decode())
    recycled = [e for e in events.json() if e["kind"] == EventKind.RECYCLED]
    assert recycled[0]["reason"] == "wrong number, try 139****5678"
    follow_ups = api(rep).get(f"/api/v1/leads/{pooled.pk}/follow-ups/")
    assert follow_ups.status_code == 200
    _no_secret(follow_ups.content.decode())
    assert follow_ups.json()[0]["outcome"] == "asked to use 139****5678"
    # the stored rows are untouched
    assert LeadEvent.objects.get(lead=pooled, kind=EventKind.RECYCLED).reason.endswith(PHONE)
    assert EMAIL in FollowUp.objects.get(lead=pooled).note


@pytest.mark.django_db
def test_a_rep_reads_the_pool_lead_page_masked(client, pooled, rep):
    client.force_login(rep)
    page = client.get(reverse("leads:detail", args=[pooled.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    _no_secret(html)
    assert "wrong number, try 139****5678" in html


@pytest.mark.django_db
def test_the_desk_and_the_claimer_read_the_texts_in_full(api, pooled, desk, rep):
    assert PHONE in api(desk).get(f"/api/v1/leads/{pooled.pk}/events/").content.decode()
    lifecycle.lead_claim(lead=pooled.pk, actor=rep)
    notes = api(rep).get(f"/api/v1/leads/{pooled.pk}/follow-ups/").content.decode()
    assert EMAIL in notes and WECHAT in notes
