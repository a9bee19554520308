"""The SSRF guard: refused at save time, and again after DNS resolution at delivery time;
the connection goes to the address that was checked."""

from __future__ import annotations

import socket

import pytest

from pipeline.errors import ServiceError
from tests.webhooks.world import occurrence
from webhooks import guard, services
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery, Webhook

pytestmark = pytest.mark.django_db

REFUSED = [
    "http://127.0.0.1/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.9/hook",
    "https://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/hook",  # shared address space (carrier NAT)
    "http://0.0.0.0/hook",
    "http://[::1]/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://224.0.0.1/hook",
    "http://localhost:8000/hook",
    "http://api.localhost/hook",
    "ftp://oapi.dingtalk.com/robot/send",
    "file:///etc/passwd",
    "gopher://example.com/",
    "https:///no-host",
]


def _save(admin, url, **extra):
    values = {"name": "x", "kind": "generic", "url": url, "events": ["lead_assigned"],
              "secret": "s3cret-s3cret"}  # fmt: skip
    values.update(extra)
    return services.webhook_save(actor=admin, **values)


@pytest.mark.parametrize("url", REFUSED)
def test_private_or_non_http_urls_are_refused_at_save(admin, url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(ServiceError) as refused:
        _save(admin, url)
    assert refused.value.field == "url"
    assert Webhook.objects.count() == 0


def test_public_robot_urls_are_accepted_without_a_dns_lookup(admin, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    hook = _save(admin, "https://oapi.dingtalk.com/robot/send?access_token=abc", kind="dingtalk")
    assert hook.pk and hook.url.endswith("access_token=abc")
    assert _save(admin, "https://8.8.8.8/x").pk  # a public literal address


def test_private_addresses_are_allowed_with_the_setting(admin, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    assert _save(admin, "http://10.0.0.5:8080/robot").pk


def _fake_dns(monkeypatch, answers: dict[str, list[str]]):
    real = socket.getaddrinfo
    asked = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            asked.append(host)
            return [
                (socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6,
                 "", (address, port))
                for address in answers[host]
            ]  # fmt: skip
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_name_resolving_to_loopback_is_refused_at_delivery(
    admin, settings, monkeypatch, receiver
):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    port = receiver.base.rsplit(":", 1)[1]
    _save(admin, f"http://robot.example.test:{port}/generic", secret="generic-secret-0123456789")
    asked = _fake_dns(monkeypatch, {"robot.example.test": ["127.0.0.1"]})
    [delivery] = services.occurrence_record(occurrence())

    result = services.delivery_attempt(delivery_id=delivery.pk)

    assert asked == ["robot.example.test"]
    assert result is not None and result.status == DeliveryStatus.GAVE_UP
    delivery.refresh_from_db()
    assert "127.0.0.1" in delivery.last_error and delivery.last_status_code is None
    assert receiver.requests == []  # nothing was sent


def test_one_private_answer_among_public_ones_refuses_the_name(admin, settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    _fake_dns(monkeypatch, {"mixed.example.test": ["8.8.8.8", "10.0.0.7"]})
    with pytest.raises(guard.UnsafeUrl, match=r"10\.0\.0\.7"):
        guard.resolve("mixed.example.test", 443, allow_private=False)


def test_the_connection_goes_to_the_checked_address(admin, monkeypatch, receiver):
    """The request reaches the address resolved once and checked (here the receiver),
    with the URL's host name in the Host header: no second look-up to rebind."""
    port = receiver.base.rsplit(":", 1)[1]
    hook = _save(admin, f"http://robot.example.test:{port}/generic",
                 secret="generic-secret-0123456789")  # fmt: skip
    asked = _fake_dns(monkeypatch, {"robot.example.test": ["127.0.0.1"]})
    [delivery] = services.occurrence_record(occurrence())

    services.delivery_attempt(delivery_id=delivery.pk)

    assert asked == ["robot.example.test"]  # resolved once
    [request] = receiver.requests
    assert request.verdict == "ok"
    assert request.headers["host"] == f"robot.example.test:{port}"
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SENT
    assert hook.deliveries.count() == 1
