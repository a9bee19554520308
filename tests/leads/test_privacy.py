"""Data-subject requests (PIPL): export, erasure (reports unchanged) and the retention job."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import TestCase
from django.utils import timezone

from campaigns.models import Channel
from leads import lifecycle
from leads.capture import capture_submit
from leads.choices import EventKind, Stage
from leads.credits import MODELS
from leads.models import FollowUp, IdempotencyKey, ImportJob, Lead, LeadEvent, LeadTouch
from leads.privacy import erase_leads, person_erase, personal_data_export, retention_erase
from leads.tasks import retention_erase_task
from pipeline.errors import ServiceError
from reports import quality, scorecards, selectors, trends
from reports.sla import compliance
from tests.factories import CampaignCostFactory, CampaignFactory, UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db


def campaign_on(code: str, name: str, **kwargs):
    campaign = CampaignFactory(name=name, **kwargs)
    campaign.channel = Channel.objects.get(code=code)
    campaign.save()
    return campaign


def arrive(actor, campaign, phone, name="Zhang San", email="", **extra):
    fields = {"name": name, "phone": phone, "email": email, "title": "CTO", **extra}
    with TestCase.captureOnCommitCallbacks(execute=True):
        return lifecycle.lead_create(
            actor=actor,
            fields=fields,
            campaign=campaign,
            landing_page=f"https://example.com/?email={email}",
        ).lead


@pytest.fixture
def person(desk, marketer, rep):
    """Zhang San: a lost lead last year and an open one now, edited, followed up, captured
    with an idempotency key and mentioned in an import's errors."""
    web = campaign_on("website", "Web", owner=marketer)
    old = arrive(marketer, web, "13900001111", email="zhang@example.com")
    lifecycle.lead_update(lead=old, actor=desk, fields={"name": "Zhang San (CEO)"})
    lifecycle.lead_qualify(lead=old, actor=desk, grade="A", reason="called Zhang San")
    lifecycle.lead_assign(lead=old, actor=desk, owner=rep)
    lifecycle.lead_accept(lead=old, actor=rep)
    lifecycle.follow_up_log(
        lead=old, actor=rep, method="call", note="Zhang's wife answered", outcome="call back"
    )
    lifecycle.lead_lose(lead=old, actor=rep, reason="Zhang San chose Huawei")
    answer = capture_submit(
        idempotency_key="k-1",
        data={
            "campaign_key": str(web.public_key),
            "name": "Zhang San",
            "phone": "13900001111",
            "email": "zhang@example.com",
            "consent": True,
        },
    )
    new = Lead.objects.get(pk=answer.record["lead"])
    ImportJob.objects.create(
        campaign=web,
        original_name="list.csv",
        file_kind="csv",
        created_by=marketer,
        errors=[
            {"row": 2, "column": "email", "message": "zhang@example.com is bad"},
            {"row": 3, "column": "phone", "message": "someone else"},
        ],
    )
    other = arrive(marketer, web, "13900002222", name="Li Si")
    return {"old": old, "new": new, "other": other, "web": web}


# --------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------


def test_export_holds_every_lead_of_the_person_and_is_logged(api, desk, person):
    response = api(desk).get(f"/api/v1/leads/{person['new'].pk}/personal-data/")
    assert response.status_code == 200
    body = response.json()
    assert [lead["id"] for lead in body["leads"]] == [person["old"].pk, person["new"].pk]
    old = body["leads"][0]
    assert old["name"] == "Zhang San (CEO)" and old["phone"] == "+8613900001111"
    assert old["company"] is None and old["stage"] == Stage.LOST
    assert old["follow_ups"][0]["note"] == "Zhang's wife answered"
    assert old["assignments"][0]["owner"] == "rep"
    assert {e["kind"] for e in old["events"]} >= {"created", "updated", "lost"}
    assert old["touches"][0]["campaign"] == "Web"
    assert set(old["consent"]) == {"consent_at", "consent_version"}
    assert [e["row"] for e in body["import_errors"]] == [2]
    # logged on each of the person's leads, not on anyone else's
    for lead in (person["old"], person["new"]):
        event = LeadEvent.objects.get(lead=lead, kind=EventKind.DATA_EXPORTED)
        assert event.actor == desk
    assert not LeadEvent.objects.filter(lead=person["other"], kind=EventKind.DATA_EXPORTED)


@pytest.mark.parametrize("role", ["marketer", "rep", "manager"])
def test_export_and_erase_are_refused_outside_desk_and_admin(api, request, person, role, rep):
    user = request.getfixturevalue(role)
    lead = person["old"]  # owned by the rep: visible to every one of them
    assert api(user).get(f"/api/v1/leads/{lead.pk}/personal-data/").status_code == 403
    answer = api(user).post(f"/api/v1/leads/{lead.pk}/erase/", {"confirm": True}, format="json")
    assert answer.status_code == 403
    assert "detail" in answer.json()
    lead.refresh_from_db()
    assert lead.erased_at is None and lead.name
    assert not LeadEvent.objects.filter(kind=EventKind.DATA_EXPORTED).exists()


def test_export_is_404_for_a_lead_out_of_sight(api, person, outsider_rep):
    url = f"/api/v1/leads/{person['old'].pk}/personal-data/"
    assert api(outsider_rep).get(url).status_code == 404


# --------------------------------------------------------------------------------------
# Erasure
# --------------------------------------------------------------------------------------


def test_erase_wipes_the_person_everywhere_and_keeps_the_numbers(api, desk, person):
    old, new, other = person["old"], person["new"], person["other"]
    before = {
        pk: Lead.objects.values(
            "stage", "grade", "score", "mql_at", "sql_at", "lost_at", "owner", "source_campaign"
        ).get(pk=pk)
        for pk in (old.pk, new.pk)
    }
    credits_before = list(
        LeadTouch.objects.order_by("pk").values_list(*[f"credit_{m}" for m in MODELS])
    )
    response = api(desk).post(f"/api/v1/leads/{new.pk}/erase/", {"confirm": True}, format="json")
    assert response.status_code == 200
    assert sorted(response.json()["lead_ids"]) == [old.pk, new.pk]
    for lead in (old, new):
        lead.refresh_from_db()
        assert lead.erased_at is not None
        assert (lead.name, lead.title, lead.phone, lead.email, lead.wechat, lead.need) == (
            ("",) * 6
        )
        assert lead.landing_page == "" and str(lead) == "(erased)"
        assert Lead.objects.values(*before[lead.pk]).get(pk=lead.pk) == before[lead.pk]
        erased = LeadEvent.objects.get(lead=lead, kind=EventKind.DATA_ERASED)
        assert erased.actor == desk
    assert (
        list(LeadTouch.objects.order_by("pk").values_list(*[f"credit_{m}" for m in MODELS]))
        == credits_before
    )
    assert not LeadTouch.objects.filter(lead=old).exclude(landing_page="").exists()
    follow_up = FollowUp.objects.get(lead=old)
    assert (follow_up.note, follow_up.outcome, follow_up.method) == ("", "", "call")
    texts = " ".join(f"{e.reason} {e.data}" for e in LeadEvent.objects.filter(lead__in=[old, new]))
    assert "Zhang" not in texts and "13900001111" not in texts and "zhang@" not in texts
    updated = LeadEvent.objects.get(lead=old, kind=EventKind.UPDATED)
    assert updated.data == {"changed": {"name": ["", ""]}}
    lost = LeadEvent.objects.get(lead=old, kind=EventKind.LOST)
    assert lost.reason == "" and lost.data["reason_code"] == "other"
    assert not IdempotencyKey.objects.exists()
    job = ImportJob.objects.get()
    assert [e["message"] for e in job.errors] == ["[erased]", "someone else"]
    # somebody else is untouched
    other.refresh_from_db()
    assert other.name == "Li Si" and other.erased_at is None


def test_erased_person_is_not_found_again_a_new_arrival_makes_a_new_lead(desk, marketer, person):
    person_erase(lead=person["new"], actor=desk, confirm=True)
    again = arrive(marketer, person["web"], "13900001111", email="zhang@example.com")
    assert again.pk not in (person["old"].pk, person["new"].pk)
    assert again.erased_at is None and again.name == "Zhang San"
    assert lifecycle.find_open_duplicate(phone="", email="") is None


def test_erase_twice_is_409_and_without_confirmation_is_400(api, desk, person):
    url = f"/api/v1/leads/{person['new'].pk}/erase/"
    refused = api(desk).post(url, {}, format="json")
    assert refused.status_code == 400 and "confirm" in refused.json()
    person["new"].refresh_from_db()
    assert person["new"].erased_at is None
    assert api(desk).post(url, {"confirm": True}, format="json").status_code == 200
    again = api(desk).post(url, {"confirm": True}, format="json")
    assert again.status_code == 409 and again.json()["detail"]
    assert LeadEvent.objects.filter(lead=person["new"], kind=EventKind.DATA_ERASED).count() == 1


def test_events_stay_append_only_for_everyone_else(person):
    events = LeadEvent.objects.filter(lead=person["old"])
    with pytest.raises(TypeError):
        events.update(reason="")
    event = events.first()
    event.reason = "x"
    with pytest.raises(TypeError):
        event.save()


# --------------------------------------------------------------------------------------
# Reports do not change
# --------------------------------------------------------------------------------------


def every_report(start, end, now):
    reports = {
        "funnel": selectors.funnel(start=start, end=end),
        "calibration": quality.grade_calibration(start=start, end=end),
        "bounces": quality.bounce_reasons(start=start, end=end),
        "scorecards": scorecards.scorecards(start=start, end=end),
        "compliance": compliance.compliance(start=start, end=end, now=now),
        "delays": compliance.delays(start=start, end=end),
        "channel_quality": trends.channel_quality(start=start, end=end),
    }
    for model in MODELS:
        reports[f"channel_roi_{model}"] = selectors.channel_roi(start=start, end=end, model=model)
        reports[f"campaign_roi_{model}"] = selectors.campaign_roi(start=start, end=end, model=model)
    return reports


def test_reports_are_the_same_before_and_after_erasing_people(desk, marketer, rep):
    web = campaign_on("website", "Web", owner=marketer)
    show = campaign_on("trade_show", "Show", owner=marketer)
    today = timezone.localdate()
    CampaignCostFactory(campaign=web, date=today, amount=Decimal("1000"))
    CampaignCostFactory(campaign=show, date=today, amount=Decimal("3000"))
    people = []
    for n in range(6):
        campaign = web if n % 2 else show
        lead = arrive(marketer, campaign, f"1390000{n:04d}", name=f"Person {n}")
        arrive(marketer, show if n % 2 else web, f"1390000{n:04d}", name=f"Person {n}")
        people.append(lead)
    for n, lead in enumerate(people[:5]):
        lifecycle.lead_qualify(lead=lead, actor=desk, grade="ABCD"[n % 4], reason="call")
        lifecycle.lead_assign(lead=lead, actor=desk, owner=rep)
    for lead in people[:4]:
        lifecycle.lead_accept(lead=lead, actor=rep)
        lifecycle.follow_up_log(lead=lead, actor=rep, method="call", note="spoke")
    lifecycle.lead_win(lead=people[0], actor=rep, amount="10000", signed_at=today)
    lifecycle.lead_win(lead=people[1], actor=rep, amount="2500", signed_at=today)
    lifecycle.lead_lose(lead=people[2], actor=rep, reason="price")
    lifecycle.lead_reject(lead=people[4], actor=rep, reason="wrong number", reason_code="other")
    lifecycle.lead_disqualify(lead=people[5], actor=desk, reason="spam by Person 5")
    start, end = today - dt.timedelta(days=30), today
    now = timezone.now() + dt.timedelta(days=3)
    before = every_report(start, end, now)
    assert before["funnel"]  # the world is not empty
    for lead in (people[0], people[2], people[4], people[5]):
        person_erase(lead=lead, actor=desk, confirm=True)
    assert Lead.objects.filter(erased_at__isnull=False).count() == 4
    assert every_report(start, end, now) == before


# --------------------------------------------------------------------------------------
# Retention
# --------------------------------------------------------------------------------------


@pytest.fixture
def closed_world(desk, rep):
    with time_machine.travel(timezone.now() - dt.timedelta(days=40), tick=False):
        old_lost = lead_in_stage(Stage.LOST, owner=rep, desk=desk)
        old_dq = lead_in_stage(Stage.DISQUALIFIED, desk=desk)
        old_won = lead_in_stage(Stage.WON, owner=rep, desk=desk)
        old_open = lead_in_stage(Stage.SQL, owner=rep, desk=desk)
    with time_machine.travel(timezone.now() - dt.timedelta(days=10), tick=False):
        recent_lost = lead_in_stage(Stage.LOST, owner=rep, desk=desk)
    return {
        "erased": [old_lost.pk, old_dq.pk],
        "kept": [old_won.pk, old_open.pk, recent_lost.pk],
    }


def test_retention_erases_exactly_the_old_closed_leads(settings, closed_world):
    settings.RETENTION_DAYS = 30
    assert retention_erase(batch_size=1) == 2  # two batches
    erased = set(Lead.objects.filter(erased_at__isnull=False).values_list("pk", flat=True))
    assert erased == set(closed_world["erased"])
    for pk in closed_world["erased"]:
        event = LeadEvent.objects.get(lead_id=pk, kind=EventKind.DATA_ERASED)
        assert event.actor is None and event.data["retention"] is True
        assert Lead.objects.get(pk=pk).phone == ""
    assert all(Lead.objects.get(pk=pk).phone for pk in closed_world["kept"])


def test_retention_task_run_twice_has_one_effect(settings, closed_world):
    settings.RETENTION_DAYS = 30
    assert retention_erase_task.delay().get() == 2
    assert retention_erase_task.delay().get() == 0
    assert LeadEvent.objects.filter(kind=EventKind.DATA_ERASED).count() == 2


def test_retention_is_off_by_default(settings, closed_world):
    settings.RETENTION_DAYS = 0
    assert retention_erase() == 0
    assert not Lead.objects.filter(erased_at__isnull=False).exists()


def test_erase_leads_skips_erased_ones(desk, closed_world):
    first = erase_leads(lead_ids=closed_world["erased"], actor=desk)
    second = erase_leads(lead_ids=closed_world["erased"], actor=desk)
    assert sorted(first.lead_ids) == sorted(closed_world["erased"]) and second.lead_ids == []


# --------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------


def test_lead_page_offers_download_and_erase_to_the_desk_only(client, desk, marketer, person):
    lead = person["new"]
    client.force_login(desk)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert f"/leads/{lead.pk}/personal-data/" in page and f"/leads/{lead.pk}/erase/" in page
    client.force_login(marketer)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "/personal-data/" not in page


def test_page_download_and_erase(client, desk, person):
    lead = person["new"]
    client.force_login(desk)
    download = client.get(f"/leads/{lead.pk}/personal-data/")
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    assert b"Zhang San" in download.content
    unconfirmed = client.post(f"/leads/{lead.pk}/erase/", {})
    assert unconfirmed.status_code == 302
    lead.refresh_from_db()
    assert lead.erased_at is None
    done = client.post(f"/leads/{lead.pk}/erase/", {"confirm": "true"})
    assert done.status_code == 302 and done["Location"] == f"/leads/{lead.pk}/"
    lead.refresh_from_db()
    assert lead.erased_at is not None
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "(erased)" in page and "13900001111" not in page and "Zhang" not in page


def test_page_erase_is_forbidden_to_a_marketer(client, marketer, person):
    client.force_login(marketer)
    assert client.post(f"/leads/{person['new'].pk}/erase/", {"confirm": "true"}).status_code == 403
    assert client.get(f"/leads/{person['new'].pk}/personal-data/").status_code == 403
    assert not Lead.objects.filter(erased_at__isnull=False).exists()


def test_unknown_user_cannot_erase(desk):
    lead = lead_in_stage(Stage.NEW)
    with pytest.raises(ServiceError) as refused:
        personal_data_export(lead=lead, actor=UserFactory(roles=["sales_rep"]))
    assert refused.value.code == "forbidden"


def test_an_erased_lead_keeps_its_score_and_grade(desk):
    from scoring.models import RescoreJob
    from scoring.services import lead_score, rescore_job_start

    lead = lead_in_stage(Stage.MQL, desk=desk)
    Lead.objects.filter(pk=lead.pk).update(score=99, grade="A", grade_source="rule")
    person_erase(lead=lead, actor=desk, confirm=True)
    assert lead_score(lead=lead.pk).score == 99
    with TestCase.captureOnCommitCallbacks(execute=True):
        rescore_job_start(actor=desk, reason="rules changed")
    assert RescoreJob.objects.get().total == 0
    lead.refresh_from_db()
    assert (lead.score, lead.grade) == (99, "A")
    assert not LeadEvent.objects.filter(lead=lead, kind=EventKind.GRADED).exists()


def test_lead_list_shows_an_erased_lead_as_erased(client, desk, person):
    person_erase(lead=person["new"], actor=desk, confirm=True)
    client.force_login(desk)
    page = client.get("/leads/").content.decode()
    assert f'href="/leads/{person["new"].pk}/">(erased)</a>' in page
    assert "Zhang" not in page and "Li Si" in page


def test_nobody_types_contacts_back_into_an_erased_lead(api, desk, person):
    lead = person["new"]
    person_erase(lead=lead, actor=desk, confirm=True)
    response = api(desk).patch(
        f"/api/v1/leads/{lead.pk}/", {"phone": "13900001111", "name": "Zhang"}, format="json"
    )
    assert response.status_code == 403
    lead.refresh_from_db()
    assert (lead.phone, lead.name) == ("", "")
