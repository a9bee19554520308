"""The administrators' webhook pages: list, create, edit (secret kept), delivery log,
"Send test message"."""

from __future__ import annotations

import pytest

from tests.webhooks.world import occurrence
from webhooks import services
from webhooks.models import Delivery, Webhook

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Feishu sales",
    "kind": "feishu",
    "url": "https://open.feishu.cn/open-apis/bot/v2/hook/abc",
    "secret": "fs-secret-0123456789",
    "events": ["lead_assigned", "target_at_risk"],
    "language": "en",
    "active": "on",
}


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


def test_create_edit_keeps_the_secret_and_never_shows_it(admin_client):
    response = admin_client.post("/webhooks/new/", FORM)
    hook = Webhook.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/webhooks/{hook.pk}/"
    assert hook.secret == FORM["secret"] and hook.events == ["lead_assigned", "target_at_risk"]

    page = admin_client.get(f"/webhooks/{hook.pk}/edit/").content.decode()
    assert FORM["secret"] not in page and "fs-s••••••89" in page
    admin_client.post(f"/webhooks/{hook.pk}/edit/", {**FORM, "secret": "", "name": "Renamed"})
    hook.refresh_from_db()
    assert hook.name == "Renamed" and hook.secret == FORM["secret"]


def test_a_refused_url_is_shown_on_its_field(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    response = admin_client.post("/webhooks/new/", {**FORM, "url": "http://192.168.0.10/hook"})
    assert response.status_code == 400
    assert "192.168.0.10 is a private" in response.content.decode()
    assert Webhook.objects.count() == 0


def test_send_test_message_queues_a_delivery(
    admin_client, admin, django_capture_on_commit_callbacks
):
    hook = services.webhook_save(actor=admin, **{k: v for k, v in FORM.items() if k != "active"})
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = admin_client.post(f"/webhooks/{hook.pk}/test/")
    assert response.status_code == 302
    assert Delivery.objects.get().event == "test" and len(queued) == 1


def test_the_delivery_log_shows_status_and_error(admin_client, admin, assert_queries_flat):
    hook = services.webhook_save(actor=admin, **{k: v for k, v in FORM.items() if k != "active"})
    [delivery] = services.occurrence_record(occurrence())
    Delivery.objects.filter(pk=delivery.pk).update(
        status="failed", attempts=1, last_status_code=200, last_error="HTTP 200, code 19021: sign"
    )
    delivery.attempt_log.create(number=1, at=delivery.created_at, status_code=200,
                                latency_ms=12, error="HTTP 200, code 19021: sign")  # fmt: skip
    page = admin_client.get(f"/webhooks/{hook.pk}/").content.decode()
    assert "code 19021" in page and "12 ms" in page and "Send test message" in page

    def more():
        for _ in range(8):
            services.occurrence_record(occurrence())

    assert_queries_flat(lambda: admin_client.get(f"/webhooks/{hook.pk}/"), grow=more)
    assert_queries_flat(lambda: admin_client.get("/webhooks/"), grow=lambda: [
        services.webhook_save(actor=admin, **{**FORM, "name": f"h{i}", "active": True})
        for i in range(5)
    ])  # fmt: skip
