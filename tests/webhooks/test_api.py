"""``/api/v1/webhooks/``: administrators only, the secret write-only and masked, the
delivery log newest first, the test message queued."""

from __future__ import annotations

import pytest

from tests.factories import TeamFactory, UserFactory
from tests.webhooks.world import occurrence
from webhooks import services
from webhooks.models import Delivery, Webhook

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/"
BODY = {
    "name": "Sales East DingTalk",
    "kind": "dingtalk",
    "url": "https://oapi.dingtalk.com/robot/send?access_token=abc",
    "secret": "SEC0123456789abcdef",
    "events": ["lead_assigned", "sla_escalation"],
    "language": "zh-hans",
}


def test_admin_creates_a_webhook_and_never_reads_the_secret_back(api, admin):
    team = TeamFactory()
    response = api(admin).post(URL, {**BODY, "team": team.pk}, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert "secret" not in data
    assert data["secret_masked"] == "SEC0••••••ef"
    assert data["events"] == ["lead_assigned", "sla_escalation"]
    hook = Webhook.objects.get()
    assert hook.secret == "SEC0123456789abcdef" and hook.team == team
    assert hook.language == "zh-hans"
    assert "SEC0123456789abcdef" not in api(admin).get(f"{URL}{hook.pk}/").content.decode()


def test_an_update_without_a_secret_keeps_it(api, admin):
    hook_id = api(admin).post(URL, BODY, format="json").json()["id"]
    response = api(admin).patch(f"{URL}{hook_id}/", {"name": "Renamed"}, format="json")
    assert response.status_code == 200
    hook = Webhook.objects.get()
    assert hook.name == "Renamed" and hook.secret == BODY["secret"]


def test_language_defaults_to_the_site_language(api, admin, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    body = {key: value for key, value in BODY.items() if key != "language"}
    assert api(admin).post(URL, body, format="json").json()["language"] == "zh-hans"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"events": ["lead_assigned", "nonsense"]}, "events"),
        ({"events": []}, "events"),
        ({"url": "http://10.0.0.1/robot"}, "url"),
        ({"url": "ftp://oapi.dingtalk.com/robot"}, "url"),
        ({"kind": "slack"}, "kind"),
        ({"kind": "generic", "secret": ""}, "secret"),
        ({"kind": "wecom"}, "secret"),  # WeCom has no signing secret
    ],
)
def test_bad_input_is_refused_with_a_field_error(api, admin, settings, change, field):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    response = api(admin).post(URL, {**BODY, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json() and response.json()["detail"]
    assert Webhook.objects.count() == 0


@pytest.mark.parametrize("roles", [["lead_desk"], ["manager"], ["sales_manager"], ["marketer"]])
def test_only_administrators_use_the_webhooks_api(api, roles):
    user = UserFactory(roles=roles, is_staff=True)
    assert api(user).get(URL).status_code == 403
    assert api(user).post(URL, BODY, format="json").status_code == 403
    assert Webhook.objects.count() == 0


def test_deliveries_are_listed_newest_first_and_paginated(api, admin, assert_queries_flat):
    hook = services.webhook_save(actor=admin, **dict(BODY.items()))

    def more(n=3):
        for _ in range(n):
            services.occurrence_record(occurrence())

    more()
    url = f"{URL}{hook.pk}/deliveries/"
    data = api(admin).get(url, {"page_size": 2}).json()
    assert data["count"] == 3 and len(data["results"]) == 2 and data["next"]
    ids = [row["id"] for row in api(admin).get(url).json()["results"]]
    assert ids == sorted(ids, reverse=True)
    first = api(admin).get(url).json()["results"][0]
    assert first["status"] == "pending" and first["attempt_log"] == []
    assert first["payload"]["msgtype"] == "markdown"
    assert_queries_flat(lambda: api(admin).get(url), grow=lambda: more(10))


def test_the_test_endpoint_queues_a_delivery_and_answers_its_id(
    api, admin, django_capture_on_commit_callbacks
):
    hook = services.webhook_save(actor=admin, **BODY)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api(admin).post(f"{URL}{hook.pk}/test/")
    assert response.status_code == 202
    delivery = Delivery.objects.get(pk=response.json()["delivery"])
    assert delivery.webhook == hook and delivery.event == "test" and delivery.status == "pending"
    assert len(queued) == 1  # nothing sent in the request: the task is queued on commit


def test_delete_removes_the_webhook_and_its_log(api, admin):
    hook = services.webhook_save(actor=admin, **BODY)
    services.occurrence_record(occurrence())
    assert api(admin).delete(f"{URL}{hook.pk}/").status_code == 204
    assert Webhook.objects.count() == 0 and Delivery.objects.count() == 0
