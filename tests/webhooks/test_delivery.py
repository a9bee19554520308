"""From a notification event to a message each platform accepts, end to end against the
local receiver (tests/webhooks/receiver.py), retries included."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from urllib.parse import quote_plus

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from leads.choices import Stage
from leads.privacy import person_erase
from notifications.outlets import publish
from tests.factories import TeamFactory, UserFactory, lead_in_stage
from tests.webhooks.world import SECRETS, occurrence
from webhooks import formats, services
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery, DeliveryAttempt
from webhooks.tasks import deliver_task, sweep_deliveries_task

pytestmark = pytest.mark.django_db

NASTY = (
    'Eve **bold** `x` [click](javascript:alert(1))\n# Boss <at user_id="all">所有人</at> "q" \\ |a|'
)


def test_one_delivery_per_subscribed_active_hook_of_the_team_in_its_language(make_hook, send):
    east, west = TeamFactory(name="East"), TeamFactory(name="West")
    everyone = make_hook("generic", name="all teams")
    east_zh = make_hook("wecom", name="east", team=east, language="zh-hans")
    make_hook("dingtalk", name="west", team=west)
    make_hook("feishu", name="other events", events=["import_done"])
    make_hook("generic", name="off", active=False)

    send(team_id=east.pk)

    deliveries = {d.webhook.name: d for d in Delivery.objects.select_related("webhook")}
    assert set(deliveries) == {"all teams", "east"}
    assert deliveries["all teams"].webhook == everyone
    assert deliveries["all teams"].text == "New lead assigned to you"
    assert deliveries["east"].webhook == east_zh
    assert deliveries["east"].text == "有新线索分配给你"
    assert "有新线索分配给你" in deliveries["east"].payload["markdown"]["content"]
    content = deliveries["east"].payload["markdown"]["content"]
    assert content.startswith("**LeadLoop · 线索已分配**")  # the title in the hook's language

    Delivery.objects.all().delete()
    send(team_id=None)
    assert list(Delivery.objects.values_list("webhook__name", flat=True)) == ["all teams"]


def test_a_rolled_back_event_leaves_no_delivery_and_sends_nothing(make_hook, receiver):
    make_hook("generic")
    with transaction.atomic():
        publish(occurrence())
        transaction.set_rollback(True)
    assert Delivery.objects.count() == 0
    assert receiver.requests == []


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu", "generic"])
def test_each_platform_accepts_the_signed_message(kind, make_hook, send, receiver, desk):
    lead = lead_in_stage(Stage.SQL, desk=desk, name="张伟")
    hook = make_hook(kind)

    send(lead_id=lead.pk)

    [request] = receiver.of(kind)
    assert request.verdict == "ok", request
    delivery = Delivery.objects.get(webhook=hook)
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 1
    assert delivery.last_status_code == 200 and delivery.last_error == ""
    assert delivery.sent_at is not None
    [attempt] = DeliveryAttempt.objects.filter(delivery=delivery)
    assert attempt.ok and attempt.status_code == 200 and attempt.latency_ms is not None
    if kind == "generic":
        assert request.body == {
            "id": delivery.pk,
            "event": "lead_assigned",
            "at": "2026-12-02T09:30:00+00:00",
            "lead": {
                "id": lead.pk, "name": "张伟", "stage": "sql", "grade": lead.grade,
                "owner": lead.owner_id,
            },
            "text": "New lead assigned to you",
        }  # fmt: skip
        assert request.headers["idempotency-key"] == str(delivery.idempotency_key)
        assert request.headers["x-leadloop-event"] == "lead_assigned"
    if kind == "dingtalk":
        assert request.query["timestamp"] and request.query["sign"]
        assert "张伟" in request.body["markdown"]["text"]
    if kind == "feishu":
        assert request.body["timestamp"] and request.body["sign"]
        link = request.body["content"]["post"]["en_us"]["content"][-1][0]
        assert link["tag"] == "a" and link["href"].endswith(f"/leads/{lead.pk}/")


def test_a_wrong_secret_is_refused_by_the_platform_and_logged(make_hook, send, receiver):
    hook = make_hook("dingtalk", secret="SECwrong")
    send()
    [request] = receiver.of("dingtalk")
    assert request.verdict == "310000 sign not match"
    delivery = Delivery.objects.get(webhook=hook)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_status_code == 200  # the platform answers 200 with an error code
    assert "310000" in delivery.last_error and "sign not match" in delivery.last_error


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu", "generic"])
def test_nasty_names_never_break_the_message(kind, make_hook, send, receiver, desk):
    lead = lead_in_stage(Stage.SQL, desk=desk)
    type(lead).objects.filter(pk=lead.pk).update(name=NASTY)  # as an old or imported row
    make_hook(kind)

    send(lead_id=lead.pk, render=lambda language: f"New lead {NASTY} for you\u2028fake line")

    [request] = receiver.of(kind)
    assert request.verdict == "ok"
    if kind in ("wecom", "dingtalk"):
        text = (
            request.body["markdown"]["content"]
            if kind == "wecom"
            else request.body["markdown"]["text"]
        )
        lines = [line for line in text.split("\n") if line]
        assert lines[0] == "**LeadLoop · Lead assigned**"  # our title, our markup
        assert lines[-1].startswith("[Open the lead](http")  # our link, our markup
        for line in lines[1:-1]:  # everything the data could reach
            for markup in ("*", "`", "[", "]", "<", ">", "#", "|", "\\", "_"):
                assert markup not in line, (markup, line)
        assert "＊＊bold＊＊" in text and "＜at user＿id=" in text
        assert "＃ Boss" in text
        # the lead line is one line whatever the name holds
        lead_lines = [line for line in text.split("\n") if line.startswith("Lead:")]
        assert len(lead_lines) == 1 and "Boss" in lead_lines[0]
    if kind == "feishu":
        post = request.body["content"]["post"]["en_us"]
        texts = [element["text"] for paragraph in post["content"] for element in paragraph]
        assert any('<at user_id="all">' in text for text in texts)  # plain text tag: inert
        assert all(element["tag"] in ("text", "a") for p in post["content"] for element in p)
        assert not any("\u2028" in text or "\n" in text for text in texts)
    if kind == "generic":
        assert request.body["lead"]["name"] == NASTY  # JSON carries it exactly
        # the line separator became a line feed; nothing else changed
        assert request.body["text"] == f"New lead {NASTY} for you\nfake line"
        assert json.loads(request.raw) == request.body


def test_failures_retry_with_exponential_backoff_then_succeed(make_hook, send, receiver):
    hook = make_hook("wecom")
    receiver.fail_next("wecom", 2)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        send()
        delivery = Delivery.objects.get(webhook=hook)
        assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
        assert "45009" in delivery.last_error
        first_wait = (delivery.next_attempt_at - start).total_seconds()
        assert 24 <= first_wait <= 36  # 30 s ± 20 % jitter

        assert sweep_deliveries_task() == 0  # not due yet
        clock.shift(dt.timedelta(seconds=first_wait + 1))
        assert sweep_deliveries_task() == 1
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 2
        second_wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
        assert 48 <= second_wait <= 72  # 60 s ± 20 %

        clock.shift(dt.timedelta(seconds=second_wait + 1))
        sweep_deliveries_task()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3
    assert [r.verdict for r in receiver.of("wecom")] == ["forced failure", "forced failure", "ok"]
    log = list(delivery.attempt_log.values_list("number", "ok", "status_code"))
    assert log == [(1, False, 200), (2, False, 200), (3, True, 200)]


def test_gives_up_after_the_maximum_attempts(make_hook, send, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    hook = make_hook("generic")
    receiver.fail_next("generic", 10)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        send()
        for _ in range(5):
            clock.shift(dt.timedelta(hours=7))
            sweep_deliveries_task()
    delivery = Delivery.objects.get(webhook=hook)
    assert delivery.status == DeliveryStatus.GAVE_UP
    assert delivery.attempts == 3
    assert delivery.last_status_code == 503 and delivery.last_error.startswith("HTTP 503")
    assert len(receiver.of("generic")) == 3
    assert delivery.attempt_log.count() == 3


def test_a_delivery_runs_twice_but_is_sent_once(make_hook, send, receiver):
    hook = make_hook("feishu")
    send()
    delivery = Delivery.objects.get(webhook=hook)
    assert deliver_task(delivery.pk) is None  # already sent: the claim refuses
    assert sweep_deliveries_task() == 0
    assert len(receiver.of("feishu")) == 1


def test_a_claimed_delivery_is_not_sent_by_a_second_worker(make_hook, receiver, admin):
    hook = make_hook("generic")
    delivery = services.delivery_test(actor=admin, webhook=hook)  # queued on commit: not run
    now = timezone.now()
    assert services._claim(delivery.pk, now)
    assert services.delivery_attempt(delivery_id=delivery.pk) is None
    assert services.deliveries_due() == []
    assert receiver.requests == []
    # a worker that died keeps the claim only until it expires
    with time_machine.travel(now + dt.timedelta(seconds=services.claim_seconds() + 1)):
        assert services.deliveries_due() == [delivery.pk]


def test_a_redirect_is_not_followed(make_hook, send, receiver):
    hook = make_hook("generic", url=receiver.url("redirect"))
    send()
    delivery = Delivery.objects.get(webhook=hook)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_status_code == 302
    assert [r.kind for r in receiver.requests] == ["redirect"]


def test_a_switched_off_hook_gives_up_its_pending_deliveries(make_hook, receiver, admin):
    hook = make_hook("generic")
    [delivery] = services.occurrence_record(occurrence())
    hook.active = False
    hook.save()
    result = services.delivery_attempt(delivery_id=delivery.pk)
    assert result is not None and result.status == DeliveryStatus.GAVE_UP
    assert receiver.requests == []


def test_the_test_message_is_sent_in_the_hook_language(
    make_hook, receiver, admin, django_capture_on_commit_callbacks
):
    hook = make_hook("dingtalk", language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        delivery = services.delivery_test(actor=admin, webhook=hook)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.event == "test"
    [request] = receiver.of("dingtalk")
    assert request.verdict == "ok"
    assert request.body["markdown"]["title"] == "LeadLoop 测试消息"


def test_mentions_name_the_recipients(make_hook, send, receiver):
    user = UserFactory(username="zw", first_name="伟", last_name="张")
    make_hook("wecom")
    send(mention_user_ids=(user.pk,))
    assert "@张伟" in receiver.of("wecom")[0].body["markdown"]["content"]


def test_secret_is_signed_with_the_platform_algorithm():
    # DingTalk's documented example: sign = urlencode(base64(HmacSHA256(secret, ts\nsecret)))

    secret, timestamp = SECRETS["dingtalk"], "1764667800000"
    expected = quote_plus(
        base64.b64encode(
            hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
        )
    )
    assert formats.dingtalk_sign(secret, timestamp) == expected
    feishu = base64.b64encode(
        hmac.new(f"1764667800\n{SECRETS['feishu']}".encode(), b"", hashlib.sha256).digest()
    ).decode()
    assert formats.feishu_sign(SECRETS["feishu"], "1764667800") == feishu


def test_erasing_a_person_wipes_the_robot_messages_about_them_and_stops_unsent_ones(
    make_hook, send, receiver, desk
):
    lead = lead_in_stage(Stage.SQL, desk=desk, name="张伟")
    other = lead_in_stage(Stage.SQL, desk=desk, name="李娜")
    make_hook("generic")
    send(lead_id=lead.pk, render=lambda language: f"Lead {lead.name} assigned")
    sent = Delivery.objects.get(lead_id=lead.pk)
    assert sent.status == DeliveryStatus.SENT and "张伟" in sent.text
    receiver.fail_next("generic", 100)  # the next messages wait for a retry
    send(lead_id=lead.pk, render=lambda language: f"Lead {lead.name} again")
    receiver.fail_next("generic", 0)
    send(lead_id=other.pk, render=lambda language: f"Lead {other.name} assigned")
    waiting = Delivery.objects.filter(lead_id=lead.pk).exclude(pk=sent.pk).get()
    assert waiting.status == DeliveryStatus.FAILED

    person_erase(lead=lead, actor=desk, confirm=True)

    for delivery in Delivery.objects.filter(lead_id=lead.pk):
        assert (delivery.text, delivery.payload) == ("", {})
        assert "张伟" not in json.dumps(delivery.payload, ensure_ascii=False)
    assert Delivery.objects.get(pk=sent.pk).status == DeliveryStatus.SENT  # the log stays
    assert Delivery.objects.get(pk=waiting.pk).status == DeliveryStatus.GAVE_UP  # never sent
    kept = Delivery.objects.get(lead_id=other.pk)
    assert "李娜" in kept.text  # someone else's message is untouched
