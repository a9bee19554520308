"""The public capture contract (DESIGN §9, §13; issue #13): no lookup oracle, open campaigns
only, utm_campaign alone only when allowed, an undetectable honeypot, JSON for every
refusal, whole idempotency keys, and consent to a versioned privacy notice."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.choices import Stage
from leads.models import IdempotencyKey, Lead, LeadTouch
from tests.factories import CampaignFactory, lead_in_stage

pytestmark = pytest.mark.django_db
URL = "/api/v1/capture/"


@pytest.fixture(autouse=True)
def _clear_throttle():
    cache.clear()


@pytest.fixture
def campaign(db):
    return CampaignFactory(utm_campaign="autumn-expo")


def body_for(campaign, **extra):
    return {"campaign_key": campaign.public_key, "name": "刘洋", "phone": "13900000101",
            "consent": True, **extra}  # fmt: skip


def post(body, client=None, **headers):
    return (client or APIClient()).post(URL, body, format="json", **headers)


# --- 2. no lookup oracle ----------------------------------------------------------------


def test_new_and_known_person_get_the_same_public_answer(campaign, rep):
    known = lead_in_stage(Stage.SQL, owner=rep, phone="+8613900000202")
    new = post(body_for(campaign, phone="13900000101"))
    again = post(body_for(campaign, phone="13900000202"))

    assert new.status_code == again.status_code == 201
    assert new.json().keys() == again.json().keys() == {"received", "reference"}
    assert new.json()["received"] is again.json()["received"] is True
    references = {new.json()["reference"], again.json()["reference"]}
    assert len(references) == 2
    assert all(len(ref) == 22 and str(known.pk) != ref for ref in references)
    assert Lead.objects.count() == 2
    assert LeadTouch.objects.filter(lead=known, campaign=campaign).count() == 1


def test_an_authenticated_caller_who_sees_the_lead_gets_lead_and_duplicate(campaign, desk, rep):
    known = lead_in_stage(Stage.SQL, owner=rep, phone="+8613900000202")
    session = APIClient()
    session.force_login(desk)
    answer = post(body_for(campaign, phone="13900000202"), session)
    assert answer.status_code == 201
    assert answer.json()["lead"] == known.pk and answer.json()["duplicate"] is True

    token = Token.objects.create(user=desk)
    new = post(body_for(campaign, phone="13900000303"), HTTP_AUTHORIZATION=f"Token {token.key}")
    lead = Lead.objects.get(phone="+8613900000303")
    assert new.json()["lead"] == lead.pk and new.json()["duplicate"] is False


def test_a_caller_who_may_not_see_the_lead_gets_only_the_public_answer(campaign, rep, other_rep):
    lead_in_stage(Stage.SQL, owner=rep, phone="+8613900000202")
    client = APIClient()
    client.force_login(other_rep)
    answer = post(body_for(campaign, phone="13900000202"), client)
    assert answer.status_code == 201 and answer.json().keys() == {"received", "reference"}
    # a bad token is no refusal: the submission is public
    bad = post(body_for(campaign, phone="13900000404"), HTTP_AUTHORIZATION="Token nope")
    assert bad.status_code == 201 and bad.json().keys() == {"received", "reference"}
    assert Lead.objects.filter(phone="+8613900000404").exists()


def test_a_repeat_with_the_same_idempotency_key_gets_the_same_reference(campaign, desk):
    first = post(body_for(campaign), HTTP_IDEMPOTENCY_KEY="k-1")
    second = post(body_for(campaign), HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.json() == second.json() and first.json().keys() == {"received", "reference"}
    assert Lead.objects.count() == 1 and LeadTouch.objects.count() == 1
    session = APIClient()
    session.force_login(desk)
    third = post(body_for(campaign), session, HTTP_IDEMPOTENCY_KEY="k-1")
    lead = Lead.objects.get()
    assert third.json() == {**first.json(), "lead": lead.pk, "duplicate": False}


# --- 3. only planned or active campaigns -------------------------------------------------


@pytest.mark.parametrize("closed", ["completed", "cancelled"])
def test_a_closed_campaign_accepts_no_capture(closed, client):
    campaign = CampaignFactory(status=closed, accept_utm_only=True)
    unknown = post({**body_for(campaign), "campaign_key": "no-such-key"})
    by_key = post(body_for(campaign))
    by_utm = post({**body_for(campaign, campaign_key=""), "utm_campaign": campaign.utm_campaign})
    assert unknown.status_code == by_key.status_code == by_utm.status_code == 400
    assert by_key.json() == unknown.json()  # says no more than "unknown"
    assert by_key.json().keys() == by_utm.json().keys() == {"campaign_key", "detail", "code"}
    assert client.get(reverse("capture-form", args=[campaign.public_key])).status_code == 404
    assert not Lead.objects.exists()


@pytest.mark.parametrize("open_status", ["planned", "active"])
def test_planned_and_active_campaigns_accept_captures(open_status):
    campaign = CampaignFactory(status=open_status)
    assert post(body_for(campaign)).status_code == 201
    assert Lead.objects.get().source_campaign == campaign


# --- 4. utm_campaign alone only when the campaign allows it ------------------------------


def test_utm_campaign_alone_needs_the_campaign_to_allow_it(campaign):
    by_utm = {**body_for(campaign, campaign_key=""), "utm_campaign": "autumn-expo"}
    refused = post(by_utm)
    assert refused.status_code == 400 and "campaign_key" in refused.json()
    assert not Lead.objects.exists()

    campaign.accept_utm_only = True
    campaign.save(update_fields=["accept_utm_only"])
    accepted = post(by_utm)
    assert accepted.status_code == 201
    assert Lead.objects.get().source_campaign == campaign


def test_the_owner_sets_accept_utm_only_through_the_api(campaign):
    client = APIClient()
    client.force_authenticate(campaign.owner)
    answer = client.patch(
        f"/api/v1/campaigns/{campaign.pk}/", {"accept_utm_only": True}, format="json"
    )
    assert answer.status_code == 200 and answer.json()["accept_utm_only"] is True
    campaign.refresh_from_db()
    assert campaign.accept_utm_only is True


# --- 5. the honeypot is indistinguishable ------------------------------------------------


def test_honeypot_answers_like_a_person_stores_nothing_and_is_throttled(campaign, settings):
    settings.CAPTURE_RATE = "2/min"
    bot = post(body_for(campaign, website="http://spam"), HTTP_IDEMPOTENCY_KEY="bot-1")
    assert bot.status_code == 201 and bot.json().keys() == {"received", "reference"}
    assert len(bot.json()["reference"]) == 22
    repeat = post(body_for(campaign, website="http://spam"), HTTP_IDEMPOTENCY_KEY="bot-1")
    assert repeat.json() == bot.json()  # like a real repeat
    assert not Lead.objects.exists() and not IdempotencyKey.objects.exists()
    # the two bot submissions used the quota
    assert post(body_for(campaign)).status_code == 429
    assert not Lead.objects.exists()


# --- 7. every refusal is JSON ------------------------------------------------------------


def test_an_oversized_body_is_a_json_413(campaign):
    huge = b'{"name": "' + b"x" * (6 * 1024 * 1024) + b'"}'
    answer = APIClient().post(URL, huge, content_type="application/json")
    assert answer.status_code == 413
    assert answer["Content-Type"] == "application/json" and answer.json()["detail"]
    assert not Lead.objects.exists()


def test_malformed_json_and_too_many_fields_are_json_400(campaign):
    broken = APIClient().post(URL, b'{"name": ', content_type="application/json")
    assert broken.status_code == 400 and broken.json()["detail"]
    crowded = APIClient().post(
        URL, b"name=x&" + b"a=1&" * 2000, content_type="application/x-www-form-urlencoded"
    )
    assert crowded.status_code == 400 and crowded.json()["detail"]
    assert not Lead.objects.exists()


# --- 9. idempotency keys up to 255 characters, compared whole ----------------------------


def test_long_idempotency_keys_are_compared_whole(campaign):
    common = "k" * 250
    first = post(body_for(campaign, phone="13900000101"), HTTP_IDEMPOTENCY_KEY=common + "AAAAA")
    second = post(body_for(campaign, phone="13900000202"), HTTP_IDEMPOTENCY_KEY=common + "BBBBB")
    assert first.status_code == second.status_code == 201
    assert first.json() != second.json()
    assert Lead.objects.count() == 2
    assert set(IdempotencyKey.objects.values_list("key", flat=True)) == {
        common + "AAAAA",
        common + "BBBBB",
    }


def test_a_key_over_255_characters_is_refused(campaign):
    answer = post(body_for(campaign), HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert answer.status_code == 400
    assert "Idempotency-Key" in answer.json() and "255" in answer.json()["detail"]
    assert not Lead.objects.exists() and not IdempotencyKey.objects.exists()


# --- 10. consent to a versioned privacy notice -------------------------------------------


@pytest.mark.parametrize("consent", [None, False])
def test_without_consent_nothing_is_stored(campaign, consent):
    body = body_for(campaign)
    if consent is None:
        del body["consent"]
    else:
        body["consent"] = consent
    answer = post(body)
    assert answer.status_code == 400 and "consent" in answer.json()
    assert not Lead.objects.exists()


def test_consent_and_its_version_are_stored_and_the_latest_kept(campaign, settings, desk):
    settings.PRIVACY_NOTICE_VERSION = "2026-01"
    before = timezone.now()
    post(body_for(campaign))
    lead = Lead.objects.get()
    assert lead.consent_version == "2026-01" and lead.consent_at >= before
    first_at = lead.consent_at

    settings.PRIVACY_NOTICE_VERSION = "2026-06"
    post(body_for(campaign, name="刘洋 again"))
    lead.refresh_from_db()
    assert Lead.objects.count() == 1
    assert lead.consent_version == "2026-06" and lead.consent_at >= first_at

    client = APIClient()
    client.force_authenticate(desk)
    read = client.get(f"/api/v1/leads/{lead.pk}/").json()
    assert read["consent_version"] == "2026-06" and read["consent_at"]
    client.patch(f"/api/v1/leads/{lead.pk}/", {"consent_version": "x"}, format="json")
    lead.refresh_from_db()
    assert lead.consent_version == "2026-06"  # read-only


def test_the_form_shows_the_notice_and_requires_the_checkbox(client, campaign, settings):
    settings.PRIVACY_NOTICE_URL = "https://example.cn/privacy"
    settings.PRIVACY_NOTICE_TEXT_ZH_HANS = "我们仅将您的信息用于回复咨询。"
    url = reverse("capture-form", args=[campaign.public_key])
    page = client.get(f"{url}?lang=zh-hans").content.decode()
    assert "我们仅将您的信息用于回复咨询。" in page
    assert 'href="https://example.cn/privacy"' in page and 'name="consent"' in page
    english = client.get(f"{url}?lang=en").content.decode()
    assert "only to answer your enquiry" in english

    person = {"name": "王芳", "phone": "13900002001"}
    refused = client.post(url, person)
    assert refused.status_code == 400 and "consent" in refused.context["form"].errors
    assert not Lead.objects.exists()
    accepted = client.post(url, {**person, "consent": "on"})
    assert accepted.status_code == 302
    assert Lead.objects.get().consent_version == settings.PRIVACY_NOTICE_VERSION


def test_a_session_without_its_csrf_token_is_an_anonymous_caller(campaign, desk):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(desk)
    answer = post(body_for(campaign), client)
    assert answer.status_code == 201 and answer.json().keys() == {"received", "reference"}
    assert Lead.objects.count() == 1


def test_the_owner_sets_accept_utm_only_on_the_campaign_page(client, campaign):
    from tests.campaigns.test_views import _form_data

    client.force_login(campaign.owner)
    url = reverse("campaigns:edit", args=[campaign.pk])
    assert 'name="accept_utm_only"' in client.get(url).content.decode()
    response = client.post(url, _form_data(name=campaign.name, accept_utm_only="on"))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.accept_utm_only is True


def test_the_lead_page_shows_the_consent(client, campaign, desk, settings):
    settings.PRIVACY_NOTICE_VERSION = "2026-01"
    post(body_for(campaign))
    lead = Lead.objects.get()
    client.force_login(desk)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Privacy consent" in page and "2026-01" in page
